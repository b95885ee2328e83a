"""Shared set-up of the AWX-way tests: the built collection in a stand-in execution environment, the emulator,
the AWX projects and their inventories, and helpers that read the emulator's record of what a job did."""

import itertools
import os
import shutil
import subprocess
import sys

import pytest
import yaml
from entra_emulator import EmulatorProcess

import awx_emulation

COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES_DIR = os.path.join(COLLECTION_ROOT, "docs", "examples")
EXAMPLE_SEED = os.path.join(COLLECTION_ROOT, "tests", "emulator", "seeds", "example.yml")
CREDENTIAL_TYPE_FILE = os.path.join(COLLECTION_ROOT, "extensions", "awx", "credential_type_entra.yml")
# Which emulated cloud serves each tenant group of the example inventory.
GROUP_CLOUDS = {"contoso": "global", "fabrikam_dod": "usgov_dod"}
TENANT_IDS = {"contoso": "6f1d2c4e-8a3b-4c5d-9e7f-0a1b2c3d4e5f", "fabrikam_dod": "9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e"}
PLAYBOOK = "authorize.yml"
# The role's task whose runner_on_ok / runner_on_failed event carries each application's own outcome.
REPORT_TASK = "Report this application's outcome"

_job_ids = itertools.count(101)


def next_job_id():
    """A fresh AWX job id (also the runner ident and the artifacts directory name)."""
    return next(_job_ids)


def _tools_program(name):
    return os.path.join(awx_emulation.python_executable_dir(), name)


@pytest.fixture(scope="session")
def awx_root(tmp_path_factory):
    """AWX_ISOLATION_BASE_PATH: where private data directories are made."""
    return str(tmp_path_factory.mktemp("awx"))


@pytest.fixture(scope="session")
def collection_tarball(tmp_path_factory):
    """The collection built with ansible-galaxy, exactly what an execution environment would install."""
    output_dir = str(tmp_path_factory.mktemp("build"))
    subprocess.run([_tools_program("ansible-galaxy"), "collection", "build", "--output-path", output_dir],
                   cwd=COLLECTION_ROOT, check=True, stdout=subprocess.DEVNULL)
    (tarball,) = [os.path.join(output_dir, name) for name in os.listdir(output_dir) if name.endswith(".tar.gz")]
    return tarball


@pytest.fixture(scope="session")
def execution_environment(tmp_path_factory, collection_tarball):
    """A stand-in for an execution environment image with the built collection installed.

    Its programs (ansible-playbook, ansible-runner, the Python with msal and requests) are the tools venv's, or those
    of the venv whose bin directory ENTRA_AWX_EE_BIN names, to try the jobs with other versions of the packages.
    """
    ee_dir = str(tmp_path_factory.mktemp("ee"))
    collections_dir = os.path.join(ee_dir, "usr-share-ansible-collections")
    subprocess.run([_tools_program("ansible-galaxy"), "collection", "install", "--offline", "-p", collections_dir,
                    collection_tarball], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                   env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_dir))
    bin_dir = os.environ.get("ENTRA_AWX_EE_BIN") or awx_emulation.python_executable_dir()
    return awx_emulation.ExecutionEnvironment(bin_dir, collections_dir, os.path.join(ee_dir, "home", "runner"))


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    """The local Entra and Graph emulator with the example seed, shared by every test; tests reset it first."""
    with EmulatorProcess(seed=EXAMPLE_SEED, state_dir=str(tmp_path_factory.mktemp("emulator"))) as running:
        yield running


@pytest.fixture(scope="session")
def credential_type():
    """The credential type definition the collection ships."""
    with open(CREDENTIAL_TYPE_FILE) as definition_file:
        return yaml.safe_load(definition_file)


@pytest.fixture(scope="session")
def credential_project(tmp_path_factory):
    """An AWX project for jobs that take the tenant and identity from an AWX credential.

    It is the example playbook and the example inventory's applications (hosts, grouped by tenant), without the
    example's group_vars: the identity that group_vars would give comes from the job's credential instead.
    """
    project_dir = str(tmp_path_factory.mktemp("project-credential"))
    shutil.copy(os.path.join(EXAMPLES_DIR, "authorize.yml"), os.path.join(project_dir, PLAYBOOK))
    os.mkdir(os.path.join(project_dir, "inventory"))
    shutil.copy(os.path.join(EXAMPLES_DIR, "inventory", "hosts.yml"), os.path.join(project_dir, "inventory"))
    return project_dir


VAULT_PASSWORD = "awx-vault-credential-3f9a"
VAULTED_HOSTS = ("contoso-oauth-0002", "contoso-scim-0002")


@pytest.fixture(scope="session")
def vaulted_project(tmp_path_factory, credential_project):
    """credential_project with two applications' secret credential values encrypted inline (``!vault``) in
    host_vars, as a project keeps them when its inventory is sourced by AWX and a Vault credential decrypts them."""
    from ansible.parsing.vault import VaultLib, VaultSecret  # pylint: disable=import-outside-toplevel
    project_dir = os.path.join(str(tmp_path_factory.mktemp("project-vaulted")), "project")
    shutil.copytree(credential_project, project_dir)
    with open(os.path.join(project_dir, "inventory", "hosts.yml")) as hosts_file:
        inventory = yaml.safe_load(hosts_file)
    vault = VaultLib([("default", VaultSecret(VAULT_PASSWORD.encode()))])
    host_vars_dir = os.path.join(project_dir, "inventory", "host_vars")
    os.mkdir(host_vars_dir)
    for host_name in VAULTED_HOSTS:
        credentials = inventory["all"]["children"]["contoso"]["hosts"][host_name]["authorize_credentials"]
        lines = ["authorize_credentials:"]
        for key, value in credentials.items():
            if key in ("SecretToken", "Oauth2ClientSecret", "Oauth2AuthorizationCode"):
                ciphertext = vault.encrypt(value).decode()
                lines.append("  %s: !vault |" % key)
                lines.extend("    " + line for line in ciphertext.splitlines())
            else:
                lines.append("  %s: %s" % (key, value))
        with open(os.path.join(host_vars_dir, host_name + ".yml"), "w") as host_vars_file:
            host_vars_file.write("\n".join(lines) + "\n")
    return project_dir


@pytest.fixture(scope="session")
def vaulted_inventory(vaulted_project, awx_root, execution_environment):
    """The AWX inventory sourced from vaulted_project (no vault password is needed to import it)."""
    inventory = awx_emulation.Inventory()
    exported, _update_dir = awx_emulation.run_inventory_update(vaulted_project, "inventory", awx_root,
                                                               execution_environment, next_job_id())
    inventory.import_source(exported)
    return inventory


@pytest.fixture(scope="session")
def example_project(tmp_path_factory, emulator):
    """An AWX project that is the example as shipped (playbook, inventory with group_vars), plus a second
    inventory file that sends each tenant group to its emulated cloud, as a second inventory source would."""
    project_dir = str(tmp_path_factory.mktemp("project-example"))
    shutil.copy(os.path.join(EXAMPLES_DIR, "authorize.yml"), os.path.join(project_dir, PLAYBOOK))
    shutil.copytree(os.path.join(EXAMPLES_DIR, "inventory"), os.path.join(project_dir, "inventory"))
    endpoints = {}
    for group, cloud in GROUP_CLOUDS.items():
        endpoints[group] = {"vars": {
            "authorize_graph_endpoint": emulator.info["clouds"][cloud]["graph_endpoint"],
            "authorize_authority_host": emulator.info["clouds"][cloud]["authority_host"],
            "authorize_ca_path": emulator.info["ca_path"],
        }}
    os.mkdir(os.path.join(project_dir, "emulator"))
    with open(os.path.join(project_dir, "emulator", "endpoints.yml"), "w") as endpoints_file:
        yaml.safe_dump({"all": {"children": endpoints}}, endpoints_file)
    return project_dir


@pytest.fixture(scope="session")
def credential_inventory(credential_project, awx_root, execution_environment):
    """The AWX inventory "sourced from the project" credential_project (source path inventory/)."""
    inventory = awx_emulation.Inventory()
    exported, _update_dir = awx_emulation.run_inventory_update(credential_project, "inventory", awx_root,
                                                               execution_environment, next_job_id())
    inventory.import_source(exported)
    return inventory


@pytest.fixture(scope="session")
def example_inventory(example_project, awx_root, execution_environment):
    """The AWX inventory with two sources from example_project: inventory/ and emulator/endpoints.yml."""
    inventory = awx_emulation.Inventory()
    for source_path in ("inventory", os.path.join("emulator", "endpoints.yml")):
        exported, _update_dir = awx_emulation.run_inventory_update(example_project, source_path, awx_root,
                                                                   execution_environment, next_job_id())
        inventory.import_source(exported)
    return inventory


def application_records(emulator, inventory, host_names):
    """{host: the emulator's record of the application that host names}."""
    records = []
    for tenant_id in TENANT_IDS.values():
        records.extend(emulator.applications(tenant_id))
    matched = {}
    for host_name in host_names:
        host_vars = inventory.hosts[host_name]
        for record in records:
            if (host_vars.get("authorize_service_principal_id") == record["service_principal_id"]
                    or host_vars.get("authorize_application_id") == record["application_id"]
                    or host_vars.get("authorize_app_id") == record["app_id"]
                    or host_vars.get("authorize_display_name") == record["display_name"]):
                matched[host_name] = record
                break
    assert sorted(matched) == sorted(host_names), "the emulator does not know every application of the inventory"
    return matched


def acquire_counts(emulator, records):
    """{host: how many acquireAccessToken calls for its application the emulator answered 204}, from the log."""
    counts = dict.fromkeys(records, 0)
    for entry in emulator.log():
        if entry.get("operation") != "acquireAccessToken" or entry.get("status") != 204:
            continue
        for host_name, record in records.items():
            if any(identifier in entry["path"] for identifier in
                   (record["service_principal_id"], record["application_id"], record["app_id"])):
                counts[host_name] += 1
    return counts


def write_requests(emulator):
    """The emulator's log entries of requests that change something (acquireAccessToken, secrets, start, ...)."""
    return [entry for entry in emulator.log()
            if entry.get("kind") in ("graph", "batch_item") and entry.get("method") in ("POST", "PUT", "PATCH")
            and entry.get("operation") not in ("validateCredentials",)]


def group_hosts(inventory, group):
    """The hosts of one tenant group, by name."""
    return sorted(inventory.groups[group]["hosts"])


def awx_task_env(emulator):
    """AWX's "Extra Environment Variables" for these jobs: trust the emulator's CA, as a proxy's CA would be."""
    return {"REQUESTS_CA_BUNDLE": emulator.info["ca_path"]}


@pytest.fixture
def fresh_emulator(emulator):
    """The shared emulator, back at its seed (no application authorized, no code redeemed, empty log)."""
    emulator.reset()
    return emulator


def pytest_report_header():
    """Say which Python runs the tests (the worker uses the same bin directory)."""
    return "awx tests: worker programs from %s" % os.path.dirname(sys.executable)
