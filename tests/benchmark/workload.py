"""What the benchmark authorizes and how: the emulator seed, the inventories, the playbooks and the floor.

One tenant in the Global cloud, one automation client with a secret, and a generated block of OAuth
authorization-code applications (single-use codes, one synchronization job each), so that every contender does
real, non-repeatable work and a scenario that ran twice or skipped an application shows up in the emulator's state.
"""

import json
import math
import os

BENCHMARK_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(BENCHMARK_DIR))
EMULATOR_DIR = os.path.join(REPO_ROOT, "tests", "emulator")
PLAYBOOK_DIR = os.path.join(BENCHMARK_DIR, "playbooks")

TENANT_ID = "3a7e1c52-9b4d-4f0e-8c61-2d5b7a9e0f13"
CLIENT_ID = "b1c2d3e4-5f60-4a7b-8c9d-0e1f2a3b4c5d"
# A fake value only the local emulator knows; the benchmark never talks to anything else.
CLIENT_SECRET = "emulator-secret-benchmark-automation"
CLOUD = "global"
APP_PREFIX = "bench-app-"
APP_PAD = 4
GROUP_NAME = "bench_tenant"

# The phases the module runs for an application that is not authorized yet and has one job: resolve the target,
# list its jobs, check the saved credentials, acquireAccessToken, verify. Each phase is one round of requests.
MODULE_PHASES = ("resolve", "jobs", "check", "acquire", "verify")
BATCH_LIMIT = 20

PLAYBOOKS = {
    "role": os.path.join(PLAYBOOK_DIR, "role.yml"),
    "role_summary": os.path.join(PLAYBOOK_DIR, "role_summary.yml"),
    "playbook_summary": os.path.join(PLAYBOOK_DIR, "playbook_summary.yml"),
    "debug_per_host": os.path.join(PLAYBOOK_DIR, "debug_per_host.yml"),
    "module_per_host": os.path.join(PLAYBOOK_DIR, "module_per_host.yml"),
    "uri_per_host": os.path.join(PLAYBOOK_DIR, "uri_per_host.yml"),
    "empty": os.path.join(PLAYBOOK_DIR, "empty.yml"),
    "run_once_role": os.path.join(PLAYBOOK_DIR, "run_once_role.yml"),
    "module_bulk": os.path.join(PLAYBOOK_DIR, "module_bulk.yml"),
}


def app_name(index):
    """The inventory host name (and emulator app name) of the index-th benchmark application, from 1."""
    return APP_PREFIX + str(index).zfill(APP_PAD)


def seed(application_count):
    """The emulator seed: one tenant with one automation client and `application_count` OAuth-code applications."""
    return {
        "tenants": [{
            "id": TENANT_ID,
            "cloud": CLOUD,
            "display_name": "Benchmark tenant (emulated)",
            "clients": [{
                "client_id": CLIENT_ID,
                "display_name": "benchmark automation",
                "secrets": [CLIENT_SECRET],
                "permissions": ["Synchronization.ReadWrite.All", "Application.Read.All"],
            }],
            "generate": [{
                "count": application_count,
                "name_prefix": APP_PREFIX,
                "pad": APP_PAD,
                "template": {
                    "jobs": [{"templateId": "oauthConnector"}],
                    "accepted_credentials": {
                        "Oauth2AuthorizationCode": "code-{name}",
                        "Oauth2RedirectUri": "https://portal.azure.com/TokenAuthorize",
                        "Oauth2ClientId": "client-{name}",
                        "Oauth2ClientSecret": "emulator-secret-{name}",
                    },
                },
            }],
        }],
    }


def applications_of(expanded_seed):
    """The benchmark tenant's expanded application records, in generation order (app-0001 first)."""
    tenant = next(tenant for tenant in expanded_seed["tenants"] if tenant["id"] == TENANT_ID)
    return [application for application in tenant["applications"] if application["name"].startswith(APP_PREFIX)]


def inventory(applications, emulator_info):
    """An inventory (dict) in the role's model: each host an application, the group the tenant and its endpoints.

    Every contender runs over this same inventory, so they differ only in how they use it.
    """
    cloud = emulator_info["clouds"][CLOUD]
    hosts = {}
    for application in applications:
        hosts[application["name"]] = {
            "authorize_service_principal_id": application["service_principal_id"],
            "authorize_credentials": dict(application["accepted_credentials"]),
        }
    group_vars = {
        "authorize_cloud": CLOUD,
        "authorize_tenant_id": TENANT_ID,
        "authorize_client_id": CLIENT_ID,
        "authorize_client_secret": CLIENT_SECRET,
        "authorize_graph_endpoint": cloud["graph_endpoint"],
        "authorize_authority_host": cloud["authority_host"],
        "authorize_ca_path": emulator_info["ca_path"],
    }
    return {"all": {"children": {GROUP_NAME: {"hosts": hosts, "vars": group_vars}}}}


def write_inventory(path, applications, emulator_info):
    """Write the inventory as JSON (a YAML inventory source reads it) and return its path."""
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(inventory(applications, emulator_info), handle)
    return path


def bulk_variables(applications, emulator_info):
    """Extra variables for the module_bulk playbook: the applications list and the connection settings."""
    cloud = emulator_info["clouds"][CLOUD]
    return {
        "bench_applications": [{
            "name": application["name"],
            "service_principal_id": application["service_principal_id"],
            "credentials": [{"key": key, "value": value}
                            for key, value in sorted(application["accepted_credentials"].items())],
        } for application in applications],
        "bench_settings": {
            "tenant_id": TENANT_ID, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "cloud": CLOUD,
            "graph_endpoint": cloud["graph_endpoint"], "authority_host": cloud["authority_host"],
            "ca_path": emulator_info["ca_path"],
        },
    }


def collections_dir(scratch_dir):
    """Make this checkout importable as entra.provisioning without installing it; return the collections path."""
    namespace_dir = os.path.join(scratch_dir, "ansible_collections", "entra")
    os.makedirs(namespace_dir, exist_ok=True)
    link = os.path.join(namespace_dir, "provisioning")
    if not os.path.islink(link):
        os.symlink(REPO_ROOT, link)
    return scratch_dir


def floor(application_count, graph_latency_ms, token_latency_ms, max_concurrency, phases=len(MODULE_PHASES)):
    """The least work authorizing `application_count` applications needs, as round trips and seconds of latency.

    One token request, then per phase ceil(N/20) $batch envelopes (a single request when N is 1) sent
    `max_concurrency` at a time, each waiting one Graph latency. Client and server compute time are left out on
    purpose: this is what the network alone would cost. The empty ansible-playbook run is added by the caller.
    """
    envelopes_per_phase = math.ceil(application_count / BATCH_LIMIT)
    waves_per_phase = math.ceil(envelopes_per_phase / max_concurrency)
    round_trips = 1 + phases * envelopes_per_phase
    seconds = token_latency_ms / 1000.0 + phases * waves_per_phase * graph_latency_ms / 1000.0
    return {"round_trips": round_trips, "graph_requests": phases * application_count, "token_requests": 1,
            "latency_seconds": seconds, "phases": phases, "envelopes_per_phase": envelopes_per_phase,
            "waves_per_phase": waves_per_phase}
