"""Drive the role and the module's bulk mode against a throttled tenant and check what the emulator saw.

Usage (from runme.sh): python run_throttled.py INTEGRATION_CONFIG OUTPUT_DIR [ansible-playbook args...]

The emulator caps tenant one of tests/integration/emulator-seed.yml at 20 requests a second (burst 20), counting
each $batch item as Graph does. The role authorizes 40 of its applications, the module's bulk mode 40 others; each
run must end with every application authorized exactly once, the cap must have been reached (429s counted by the
emulator) and the run must have slowed down to it (few 429s against the requests it took).
"""

import json
import os
import subprocess
import sys
import time

TENANT_ID = "50000000-0000-4000-8000-000000000005"
CLIENT_ID = "50000000-0000-4000-8000-0000000000c1"
CLIENT_SECRET = "emulator-secret-role-one"
RATE = 20
APPLICATIONS = 40
# The first envelopes go before anything is known about the cap (four of 20 items against a burst of 20); after
# that the senders should pace. A run that kept knocking (each sender waiting only its own Retry-After) took more
# 429s than accepted requests.
MOST_THROTTLED_SHARE = 0.5


FAILURES = []


def expect(condition, description):
    """Print the expectation as met or failed; a failed one is kept, and the run fails at the end."""
    print("%s %s" % ("ok  " if condition else "FAIL", description), flush=True)
    if not condition:
        FAILURES.append(description)


def run_playbook(output_dir, name, arguments):
    """Run one playbook; return (exit code, output, seconds)."""
    started = time.monotonic()
    completed = subprocess.run(["ansible-playbook", name] + arguments, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, check=False)
    seconds = time.monotonic() - started
    with open(os.path.join(output_dir, "entra_throttled-%s.log" % name), "w") as transcript:
        transcript.write(completed.stdout)
    print("ran %s in %.1f s (exit %d)" % (name, seconds, completed.returncode), flush=True)
    return completed.returncode, completed.stdout, seconds


def tenant_traffic(emulator):
    """(requests the tenant accepted, 429s it answered): each $batch item counts as one request."""
    tenant = emulator.counters()["per_tenant"].get(TENANT_ID, {})
    throttled = tenant.get("throttled", 0)
    return tenant.get("graph_requests", 0) - throttled, throttled


def check_run(emulator, what, code, seconds, applications):
    """The checks every throttled run must pass."""
    accepted, throttled = tenant_traffic(emulator)
    states = {state["name"]: state for state in emulator.applications(TENANT_ID)}
    names = [application["name"] for application in applications]
    expect(code == 0, "%s: the run succeeded (exit %d)" % (what, code))
    authorized = all(states[name]["authorized"] and states[name]["used_authorization_codes"] in (0, 1)
                     for name in names)
    expect(authorized, "%s: all %d applications are authorized" % (what, len(names)))
    acquired = [entry["path"] for entry in emulator.log()
                if entry.get("operation") == "acquireAccessToken" and (entry.get("status") or 500) < 300]
    expect(len(acquired) == len(set(acquired)) == len(names),
           "%s: acquireAccessToken was taken once per application (%d for %d)"
           % (what, len(acquired), len(names)))
    expect(throttled > 0, "%s: the tenant's cap was reached (%d 429s)" % (what, throttled))
    expect(throttled <= MOST_THROTTLED_SHARE * accepted,
           "%s: %d 429s for %d accepted requests (at most %d%%)"
           % (what, throttled, accepted, 100 * MOST_THROTTLED_SHARE))
    # 5 requests per application at 20 a second, the first 20 at once
    expect(seconds >= (accepted - RATE) / float(RATE) * 0.9,
           "%s: %d accepted requests took %.1f s, no faster than the cap allows" % (what, accepted, seconds))
    print("figures: %s: %d applications, %d accepted requests, %d 429s (%.0f%%), %.1f s"
          % (what, len(names), accepted, throttled, 100.0 * throttled / max(1, accepted), seconds), flush=True)


def main(config_path, output_dir, passthrough):
    """Run both scenarios; exit non-zero when any expectation failed."""
    with open(config_path) as config_file:
        config = json.load(config_file)
    from entra_emulator import ControlClient  # pylint: disable=import-outside-toplevel

    emulator_info = config["emulator"]
    cloud = emulator_info["clouds"]["global"]
    emulator = ControlClient(emulator_info["control_url"], emulator_info["ca_path"])
    emulator.reset()
    applications = sorted((state for state in emulator.applications(TENANT_ID)
                           if state["name"].startswith("one-app-")), key=lambda state: state["name"])
    expect(len(applications) >= 2 * APPLICATIONS, "tenant one has %d applications (need %d)"
           % (len(applications), 2 * APPLICATIONS))
    connection = {"tenant_id": TENANT_ID, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "cloud": "global",
                  "graph_endpoint": cloud["graph_endpoint"], "authority_host": cloud["authority_host"],
                  "ca_path": emulator_info["ca_path"]}
    rate_limit = {"requests_per_second": RATE, "burst": RATE, "retry_after": "seconds", "tenants": [TENANT_ID]}

    # The role, summary report: four $batch senders of one sign-in group.
    role_applications = applications[:APPLICATIONS]
    hosts = {state["name"]: {"authorize_service_principal_id": state["service_principal_id"],
                             "authorize_credentials": {"BaseAddress": "https://%s.example.invalid/scim" % state["name"],
                                                       "SecretToken": "emulator-secret-%s" % state["name"]}}
             for state in role_applications}
    inventory = {"all": {"children": {"tenant_one": {
        "hosts": hosts, "vars": dict(("authorize_" + key, value) for key, value in connection.items())}}}}
    inventory_path = os.path.join(output_dir, "entra_throttled_inventory.json")
    with open(inventory_path, "w") as inventory_file:
        json.dump(inventory, inventory_file)
    emulator.set_faults(rate_limit=rate_limit)
    code, stdout, seconds = run_playbook(output_dir, "authorize.yml", ["-i", inventory_path] + passthrough)
    check_run(emulator, "role", code, seconds, role_applications)
    expect("Graph answered 429 for tenant %s" % TENANT_ID in stdout and "every request to it waits" in stdout,
           "role: the progress says when the run waits for the tenant, and why")

    # The module's bulk mode over the other applications.
    emulator.reset()
    emulator.set_faults(rate_limit=rate_limit)
    bulk_applications = applications[APPLICATIONS:2 * APPLICATIONS]
    variables = {"throttled_settings": connection, "throttled_applications": [{
        "name": state["name"], "service_principal_id": state["service_principal_id"],
        "credentials": [{"key": "BaseAddress", "value": "https://%s.example.invalid/scim" % state["name"]},
                        {"key": "SecretToken", "value": "emulator-secret-%s" % state["name"]}],
    } for state in bulk_applications]}
    variables_path = os.path.join(output_dir, "entra_throttled_bulk.json")
    with open(variables_path, "w") as variables_file:
        json.dump(variables, variables_file)
    code, _stdout, seconds = run_playbook(output_dir, "bulk.yml", ["-e", "@" + variables_path] + passthrough)
    check_run(emulator, "bulk module", code, seconds, bulk_applications)
    emulator.reset()

    if FAILURES:
        print("%d expectation(s) failed" % len(FAILURES))
        return 1
    print("all expectations met")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
