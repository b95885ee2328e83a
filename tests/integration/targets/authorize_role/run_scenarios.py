"""Drive the authorize role through ansible-playbook against the emulator and check what it did.

Usage (from runme.sh): python run_scenarios.py INTEGRATION_CONFIG OUTPUT_DIR [ansible-playbook args...]

The inventory is built from the emulator's seed (tests/integration/emulator-seed.yml, tenants 5, 6 and 7): 200
applications, of which six must fail for a reason of their own: two ids that do not exist, two applications the
least-privileged client does not own, two with a wrong secret token.
"""

import collections
import json
import os
import re
import subprocess
import sys
import time

from entra_test_helpers.checks import Checks

import edge_scenarios
import front_door_scenarios
import job_scenarios

TENANT_GROUPS = {
    "50000000-0000-4000-8000-000000000005": ("tenant_one", "50000000-0000-4000-8000-0000000000c1",
                                             "emulator-secret-role-one"),
    "60000000-0000-4000-8000-000000000006": ("tenant_two", "60000000-0000-4000-8000-0000000000c2",
                                             "emulator-secret-role-two"),
    "70000000-0000-4000-8000-000000000007": ("tenant_three", "70000000-0000-4000-8000-0000000000c1",
                                             "emulator-secret-role-three"),
}
MISSING_IDS = {"one-missing-1": "5a000000-0000-4000-8000-0000000000e1",
               "one-missing-2": "5a000000-0000-4000-8000-0000000000e2"}
NOT_OWNED = ("two-not-owned-1", "two-not-owned-2")
WRONG_CREDENTIALS = ("three-app-0001", "three-app-0002")
PlaybookRun = collections.namedtuple("PlaybookRun", "code stdout recap outcomes seconds")
RECAP_LINE = re.compile(r"^(?P<host>\S+)\s+: ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=\d+"
                        r"\s+failed=(?P<failed>\d+)")


def build_inventory(seed, emulator_info):
    """Return (inventory dict, expected failures {host: reason word}) for the role's 200 applications."""
    groups = {}
    expected_failures = {}
    for tenant in seed["tenants"]:
        if tenant["id"] not in TENANT_GROUPS:
            continue
        group, client_id, secret = TENANT_GROUPS[tenant["id"]]
        cloud = emulator_info["clouds"][tenant["cloud"]]
        hosts = {}
        for position, application in enumerate(tenant["applications"]):
            name = application["name"]
            credentials = dict(application["accepted_credentials"])
            if "Oauth2AuthorizationCode" in credentials:
                credentials["Oauth2AuthorizationCode"] = application["authorization_codes"][0]
            if name in WRONG_CREDENTIALS:
                credentials["SecretToken"] = "emulator-secret-wrong-value"
                expected_failures[name] = "rejected"
            if name in NOT_OWNED:
                expected_failures[name] = "403"
            # Name the applications in every way the role supports, so each target kind goes through bulk runs.
            target_option = ("service_principal_id", "app_id", "display_name", "application_id")[position % 4]
            host = {"authorize_" + target_option: application[target_option], "authorize_credentials": credentials}
            hosts[name] = host
        if group == "tenant_one":
            for name, missing_id in MISSING_IDS.items():
                hosts[name] = {"authorize_service_principal_id": missing_id,
                               "authorize_credentials": {"SecretToken": "emulator-secret-missing"}}
                expected_failures[name] = "404"
        groups[group] = {"hosts": hosts, "vars": {
            "authorize_tenant_id": tenant["id"], "authorize_client_id": client_id, "authorize_client_secret": secret,
            "authorize_cloud": tenant["cloud"], "authorize_graph_endpoint": cloud["graph_endpoint"],
            "authorize_authority_host": cloud["authority_host"], "authorize_ca_path": emulator_info["ca_path"]}}
    return {"all": {"children": groups}}, expected_failures


def run_playbook(output_dir, inventory_path, outcomes_path, extra_arguments):
    """Run the test playbook; return a PlaybookRun (recap is {host: (changed, failed)}, outcomes may be None)."""
    if os.path.exists(outcomes_path):
        os.remove(outcomes_path)
    # Small parts so the 90-application tenant is split, as a long run would be; a play-level setting, so not a
    # group variable.
    command = ["ansible-playbook", "authorize.yml", "-i", inventory_path, "-e", "outcomes_path=" + outcomes_path,
               "-e", "authorize_applications_per_run=40"]
    started = time.monotonic()
    completed = subprocess.run(command + extra_arguments, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, check=False)
    seconds = time.monotonic() - started
    transcript_path = os.path.join(output_dir, "authorize_role-%d.log" % int(started * 1000))
    with open(transcript_path, "w") as transcript:
        transcript.write(completed.stdout)
    recap = {}
    for line in completed.stdout.splitlines():
        match = RECAP_LINE.match(line)
        if match:
            recap[match.group("host")] = (int(match.group("changed")), int(match.group("failed")))
    outcomes = None
    if os.path.exists(outcomes_path):
        with open(outcomes_path) as outcomes_file:
            outcomes = json.load(outcomes_file)
    print("ran %s in %.1f s (exit %d, transcript %s)"
          % (" ".join(command[1:] + extra_arguments), seconds, completed.returncode, transcript_path), flush=True)
    return PlaybookRun(completed.returncode, completed.stdout, recap, outcomes, seconds)


def operations(entries, name):
    """The log entries of one Graph operation (in or out of $batch)."""
    return [entry for entry in entries if entry.get("operation") == name]


def round_trips(entries):
    """HTTP exchanges the client made: token requests and Graph requests outside $batch (an envelope is one)."""
    return sum(1 for entry in entries if not entry.get("in_batch"))


def main(config_path, output_dir, passthrough):
    """Run every scenario; exit non-zero when any expectation failed."""
    with open(config_path) as config_file:
        config = json.load(config_file)
    from entra_emulator import ControlClient  # pylint: disable=import-outside-toplevel
    from entra_emulator.seed import load_seed  # pylint: disable=import-outside-toplevel

    emulator_info = config["emulator"]
    emulator = ControlClient(emulator_info["control_url"], emulator_info["ca_path"])
    inventory, expected_failures = build_inventory(load_seed(config["emulator_seed_path"]), emulator_info)
    inventory_path = os.path.join(output_dir, "authorize_role_inventory.json")
    with open(inventory_path, "w") as inventory_file:
        json.dump(inventory, inventory_file)
    outcomes_path = os.path.join(output_dir, "authorize_role_outcomes.json")
    all_hosts = sorted(host for group in inventory["all"]["children"].values() for host in group["hosts"])
    good_hosts = [host for host in all_hosts if host not in expected_failures]
    checks = Checks()
    checks.expect(len(all_hosts) == 200 and len(expected_failures) == 6,
                  "inventory has 200 applications, 6 of them bad (got %d, %d)"
                  % (len(all_hosts), len(expected_failures)))

    # Check mode: the read-only phases run for real, nothing is written.
    emulator.reset()
    code, _stdout, recap, outcomes, _seconds = run_playbook(output_dir, inventory_path, outcomes_path,
                                                            ["--check"] + passthrough)
    entries = emulator.log()
    checks.expect(code != 0, "check mode: the run reports failures (exit %d)" % code)
    checks.expect(not operations(entries, "acquireAccessToken") and not operations(entries, "secrets.put"),
                  "check mode: no acquireAccessToken and no secrets write reached Graph")
    not_found_or_denied = [host for host, reason in expected_failures.items() if reason in ("404", "403")]
    checks.expect(all(recap.get(host, (0, 0))[1] for host in not_found_or_denied),
                  "check mode: missing and not-owned applications fail on their own hosts")
    would_change = [host for host in all_hosts if host not in not_found_or_denied]
    checks.expect(all(recap.get(host) == (1, 0) for host in would_change),
                  "check mode: all %d other applications report changed (would authorize)" % len(would_change))

    # --limit: only the named applications are touched.
    emulator.reset()
    limited = ["one-app-0001", "three-app-0010"]
    code, _stdout, recap, outcomes, _seconds = run_playbook(output_dir, inventory_path, outcomes_path,
                                                            ["--limit", ",".join(limited)] + passthrough)
    acquired_paths = [entry["path"] for entry in operations(emulator.log(), "acquireAccessToken")]
    # The outcomes are written through delegate_to: localhost, so only the two applications appear in the recap.
    checks.expect(code == 0 and sorted(recap) == sorted(limited),
                  "--limit: only %s ran (recap hosts: %s)" % (", ".join(limited), ", ".join(sorted(recap))))
    checks.expect(len(acquired_paths) == 2, "--limit: exactly two acquireAccessToken calls (got %d)"
                  % len(acquired_paths))

    # Full run: every good application authorized, every bad one failed on its own host with its reason.
    emulator.clear_log()
    code, stdout, recap, outcomes, seconds = run_playbook(output_dir, inventory_path, outcomes_path, passthrough)
    entries = emulator.log()
    checks.expect(code != 0, "full run: the play reports the six failures (exit %d)" % code)
    checks.expect(all(recap.get(host, (0, 0)) == (1, 0) for host in good_hosts if host not in limited),
                  "full run: every good application not yet authorized is changed")
    checks.expect(all(recap.get(host) == (0, 0) for host in limited),
                  "full run: the two applications authorized under --limit are ok, not changed")
    for host, reason in sorted(expected_failures.items()):
        outcome = (outcomes or {}).get(host, {})
        checks.expect(recap.get(host, (0, 0))[1] == 1 and outcome.get("failed") and reason in outcome.get("msg", ""),
                      "full run: %s failed on its own host with a message naming %r: %s"
                      % (host, reason, outcome.get("msg")))
    authorized = [application for application in emulator.applications()
                  if application.get("tenant_id") in TENANT_GROUPS and application.get("authorized")]
    checks.expect(len(authorized) == len(good_hosts),
                  "full run: the emulator holds %d authorized applications (expected %d)"
                  % (len(authorized), len(good_hosts)))
    checks.expect("total 200, changed %d, ok 2, failed 6" % (len(good_hosts) - 2) in stdout,
                  "full run: the summary table counts every application")
    checks.expect(front_door_scenarios.no_validation_task(stdout),
                  "full run: ansible-core added no per-host validation task (the role's page has no main entry point)")
    checks.expect(", part 3: phases 1 to 3 of 5, as the applications come: resolving the targets" in stdout
                  and ", part 3: phase 5 of 5, verifying (" in stdout,
                  "full run: progress names each part of the split tenant and each phase as it starts")
    print("figures: full run of 200 applications in %.1f s: %d round trips (%d token requests, %d $batch envelopes, "
          "%d single Graph requests), %d Graph calls inside $batch"
          % (seconds, round_trips(entries), len([e for e in entries if e.get("kind") == "token"]),
             len(operations(entries, "$batch")),
             len([e for e in entries if e.get("kind") == "graph" and not e.get("in_batch")
                  and e.get("operation") != "$batch"]),
             len([e for e in entries if e.get("in_batch")])), flush=True)

    # Re-run: nothing changes and no authorization code is sent again.
    emulator.clear_log()
    code, _stdout, recap, outcomes, _seconds = run_playbook(output_dir, inventory_path, outcomes_path, passthrough)
    # The two applications with a wrong token are still not authorized, so they are rightly tried (and fail) again.
    retried = sorted(entry["path"].split("/")[-3] for entry in operations(emulator.log(), "acquireAccessToken"))
    wrong_ids = sorted(application["service_principal_id"] for tenant in load_seed(config["emulator_seed_path"])["tenants"]
                       for application in tenant["applications"] if application["name"] in WRONG_CREDENTIALS)
    checks.expect(retried == wrong_ids,
                  "re-run: acquireAccessToken sent only for the two applications still unauthorized (got %d)"
                  % len(retried))
    checks.expect(sum(recap[host][0] for host in recap if host in all_hosts) == 0,
                  "re-run: 0 applications changed")
    checks.expect(sorted(host for host in recap if recap[host][1]) == sorted(expected_failures),
                  "re-run: only the six bad applications fail")

    # serial: the play in batches of 70 still authorizes each application exactly once.
    emulator.reset()
    code, _stdout, recap, outcomes, _seconds = run_playbook(output_dir, inventory_path, outcomes_path,
                                                            ["-e", "play_serial=70"] + passthrough)
    acquired_paths = [entry["path"] for entry in operations(emulator.log(), "acquireAccessToken")]
    checks.expect(len(set(acquired_paths)) == len(acquired_paths),
                  "serial: no application was sent acquireAccessToken twice")
    checks.expect(all(recap.get(host, (0, 0)) == (1, 0) for host in good_hosts),
                  "serial: every good application changed across the batches")

    # The collection's playbook: the role's tasks as a play of their own (no end-of-role step per host), run by
    # name as a user or an AWX project's import_playbook would.
    emulator.reset()
    command = ["ansible-playbook", "entra.provisioning.authorize", "-i", inventory_path,
               "-e", "authorize_applications_per_run=40"] + passthrough
    completed = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    recap = dict((match.group("host"), (int(match.group("changed")), int(match.group("failed"))))
                 for match in (RECAP_LINE.match(line) for line in completed.stdout.splitlines()) if match)
    acquired_paths = [entry["path"] for entry in operations(emulator.log(), "acquireAccessToken")]
    checks.expect(completed.returncode != 0 and sorted(host for host in recap if recap[host][1])
                  == sorted(expected_failures),
                  "collection playbook: the play fails on the six bad applications alone (exit %d)"
                  % completed.returncode)
    checks.expect(all(recap.get(host) == (1, 0) for host in good_hosts)
                  and len(set(acquired_paths)) == len(acquired_paths) == len(good_hosts) + 2,
                  "collection playbook: every good application changed, one acquireAccessToken each (got %d calls)"
                  % len(acquired_paths))
    checks.expect("total 200, changed %d, ok 0, failed 6" % len(good_hosts) in completed.stdout,
                  "collection playbook: the summary table counts every application")

    # authorize_applications: one variable lists the applications; hosts are not read.
    emulator.reset()
    tenant_one = inventory["all"]["children"]["tenant_one"]
    listed = [{"name": name, "credentials": tenant_one["hosts"][name]["authorize_credentials"],
               **{key[len("authorize_"):]: value for key, value in tenant_one["hosts"][name].items()
                  if key != "authorize_credentials"}}
              for name in ("one-app-0001", "one-app-0002", "one-missing-1")]
    list_vars_path = os.path.join(output_dir, "authorize_list_vars.json")
    with open(list_vars_path, "w") as list_vars_file:
        json.dump(dict(tenant_one["vars"], authorize_applications=listed), list_vars_file)
    for attempt, expected_summary in ((1, "total 3, changed 2, ok 0, failed 1"),
                                      (2, "total 3, changed 0, ok 2, failed 1")):
        command = ["ansible-playbook", "authorize_list.yml", "-e", "@" + list_vars_path] + passthrough
        completed = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
        checks.expect(completed.returncode != 0 and expected_summary in completed.stdout
                      and "1 of 3 applications failed: one-missing-1" in completed.stdout,
                      "authorize_applications run %d: %s, and the play fails naming one-missing-1"
                      % (attempt, expected_summary))

    edge_scenarios.main(checks, emulator, config, output_dir, passthrough)
    job_scenarios.main(checks, emulator, config, output_dir, passthrough)
    front_door_scenarios.main(checks, emulator, config, output_dir, passthrough)

    if checks.failures:
        print("%d expectation(s) failed" % len(checks.failures))
        return 1
    print("all expectations met")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
