"""The authorize role with authorize_start_job: which jobs get a start, checked against the emulator's request log.

Called by run_scenarios.py after the edge scenarios, with the same emulator. The inventory is the seed's tenant four
(tests/integration/emulator-seed.yml): one application per job state, each asking for its job to be started, and
two that must see no start: one that does not ask (authorize_start_job left at the role default) and one whose
authorization fails (a wrong token).

- check mode: the jobs are read, the outcomes say what would be started, no start (and no other write) is sent;
- a run: exactly one start for the paused, quarantined (the quarantine is cleared) and never-run jobs, none for
  the running one; one start answered 500 fails that application alone, which stays authorized;
- a re-run: no start, except for the application whose start failed, which is started now;
- ``-e authorize_start_job=false``: no start at all.
"""

import json
import os
import re

from edge_scenarios import operations, run

TENANT_ID = "80000000-0000-4000-8000-000000000008"
CLIENT_ID = "80000000-0000-4000-8000-0000000000c1"
CLIENT_SECRET = "emulator-secret-role-four"
# Hosts asking for their job to be started, with the status code their job has in the seed.
STARTED = {"job-paused": "Paused", "job-quarantined": "Quarantine", "job-never-run": "NotRun"}
RUNNING = "job-active"
START_REFUSED = "job-start-refused"
NOT_ASKED = "job-not-asked"
WRONG_TOKEN = "job-wrong-token"


def build_inventory(applications, emulator_info):
    """The job inventory: every application of tenant four, all but one asking for its job to be started."""
    cloud = emulator_info["clouds"]["global"]
    hosts = {}
    for name, application in applications.items():
        credentials = dict(application["accepted_credentials"])
        if name == WRONG_TOKEN:
            credentials["SecretToken"] = "emulator-secret-wrong-value"
        hosts[name] = {"authorize_service_principal_id": application["service_principal_id"],
                       "authorize_credentials": credentials}
        if name != NOT_ASKED:
            hosts[name]["authorize_start_job"] = True
    return {"all": {"children": {"jobs": {"hosts": hosts, "vars": {
        "authorize_tenant_id": TENANT_ID, "authorize_client_id": CLIENT_ID, "authorize_client_secret": CLIENT_SECRET,
        "authorize_cloud": "global", "authorize_graph_endpoint": cloud["graph_endpoint"],
        "authorize_authority_host": cloud["authority_host"], "authorize_ca_path": emulator_info["ca_path"]}}}}}


def started_hosts(entries, sp_ids):
    """The hosts whose job got a start request (direct or in $batch, answered or refused), one name per request.

    Read from the method and path: a request a fault refused carries no operation name in the log.
    """
    by_id = dict((sp_id, host) for host, sp_id in sp_ids.items())
    return sorted(by_id.get(entry["path"].split("/")[3], entry["path"]) for entry in entries
                  if entry.get("kind") in ("graph", "batch_item") and entry.get("method") == "POST"
                  and re.search(r"/synchronization/jobs/[^/]+/start$", entry.get("path") or ""))


def jobs_of(emulator, sp_ids):
    """Each host's job state in the emulator: {host: (code, quarantined, redundant_starts)}."""
    states = {}
    for host, sp_id in sp_ids.items():
        job = emulator.application(sp_id)["jobs"][0]
        states[host] = (job["code"], job["quarantined"], job["redundant_starts"])
    return states


def read_outcomes(path):
    """The registered outcomes the playbook wrote, or {} when it wrote none."""
    if not os.path.exists(path):
        return {}
    with open(path) as outcomes_file:
        return json.load(outcomes_file)


def main(checks, emulator, config, output_dir, passthrough):
    """Run the job scenarios; expectations go to ``checks``."""
    from entra_emulator.seed import load_seed  # pylint: disable=import-outside-toplevel
    tenant = next(tenant for tenant in load_seed(config["emulator_seed_path"])["tenants"] if tenant["id"] == TENANT_ID)
    applications = dict((application["name"], application) for application in tenant["applications"])
    sp_ids = dict((name, application["service_principal_id"]) for name, application in applications.items())
    inventory_path = os.path.join(output_dir, "authorize_jobs_inventory.json")
    with open(inventory_path, "w") as inventory_file:
        json.dump(build_inventory(applications, config["emulator"]), inventory_file)
    outcomes_path = os.path.join(output_dir, "authorize_jobs_outcomes.json")
    playbook = ["ansible-playbook", "authorize.yml", "-i", inventory_path, "-e", "outcomes_path=" + outcomes_path]
    asked = sorted(STARTED) + [RUNNING, START_REFUSED]

    # Check mode: the jobs are read, nothing is started.
    emulator.reset()
    if os.path.exists(outcomes_path):
        os.remove(outcomes_path)
    code, stdout, recap = run(playbook + ["--check"] + passthrough, output_dir, "jobs-check")
    entries = emulator.log()
    outcomes = read_outcomes(outcomes_path)
    checks.expect(not started_hosts(entries, sp_ids) and not operations(entries, "acquireAccessToken"),
                  "jobs, check mode: no start and no acquireAccessToken reached Graph")
    checks.expect(all(outcomes.get(host, {}).get("job_started") is True
                      and outcomes[host].get("job_status_before") == status
                      for host, status in dict(STARTED, **{START_REFUSED: "Paused"}).items()),
                  "jobs, check mode: the paused, quarantined and never-run jobs are reported as would be started")
    checks.expect(outcomes.get(RUNNING, {}).get("job_started") is False
                  and outcomes[RUNNING].get("job_status_before") == "Active",
                  "jobs, check mode: the running job is reported running, not to be started")
    checks.expect("job would be started (Quarantine)" in stdout,
                  "jobs, check mode: the summary says which jobs would be started")
    # A wrong token only shows when acquireAccessToken is sent, so in check mode it too would be authorized.
    checks.expect(code == 0 and outcomes.get(WRONG_TOKEN, {}).get("job_started") is True
                  and outcomes.get(NOT_ASKED, {}).get("job_status_before") is None,
                  "jobs, check mode: the run succeeds; the application that did not ask has no job forecast "
                  "(exit %d)" % code)

    # A run: one start per job that is not running; a refused start fails its application alone.
    emulator.reset()
    emulator.set_faults(error_bursts=[{"status": 500, "count": 1, "path_regex": sp_ids[START_REFUSED] + "/.*/start$"}])
    if os.path.exists(outcomes_path):
        os.remove(outcomes_path)
    code, stdout, recap = run(playbook + passthrough, output_dir, "jobs-run")
    entries = emulator.log()
    outcomes = read_outcomes(outcomes_path)
    states = jobs_of(emulator, sp_ids)
    checks.expect(started_hosts(entries, sp_ids) == sorted(list(STARTED) + [START_REFUSED]),
                  "jobs, run: exactly one start for each paused, quarantined and never-run job and the refused one, "
                  "none for the running, not-asked and unauthorized ones (got %s)" % started_hosts(entries, sp_ids))
    checks.expect(all(states[host][0] == "Active" for host in STARTED) and not states["job-quarantined"][1],
                  "jobs, run: the started jobs are Active and the quarantine is cleared (%s)" % states)
    checks.expect(states[RUNNING] == ("Active", False, 0) and states[NOT_ASKED][0] == "Paused"
                  and states[WRONG_TOKEN][0] == "Paused",
                  "jobs, run: the running job was not started again, the others were left alone (%s)" % states)
    checks.expect(all(outcomes.get(host, {}).get("job_status") == "Active" and outcomes[host]["job_started"]
                      for host in STARTED) and outcomes.get(RUNNING, {}).get("job_status") == "Active",
                  "jobs, run: the outcomes show each job's status after the run")
    refused = outcomes.get(START_REFUSED, {})
    checks.expect(recap.get(START_REFUSED, (0, 0, 0))[2] == 1 and refused.get("authorized") is True
                  and "start of job" in (refused.get("msg") or "")
                  and emulator.application(sp_ids[START_REFUSED])["authorized"],
                  "jobs, run: the refused start fails its application alone, which stays authorized: %s"
                  % refused.get("msg"))
    checks.expect(code != 0 and sorted(host for host in recap if recap[host][2]) == [START_REFUSED, WRONG_TOKEN],
                  "jobs, run: only the refused start and the wrong token fail (exit %d)" % code)
    checks.expect(all(recap.get(host, (0, 0, 0))[1:] == (1, 0) for host in asked if host != START_REFUSED),
                  "jobs, run: every authorized application is changed")
    secrets = [CLIENT_SECRET] + [value for application in applications.values()
                                 for value in application["accepted_credentials"].values()]
    with open(outcomes_path) as outcomes_file:
        outcomes_text = outcomes_file.read()
    checks.expect(not [secret for secret in secrets if secret in stdout or secret in outcomes_text],
                  "jobs, run: no client secret or credential value (%d searched) in the output or the outcomes"
                  % len(secrets))

    # A re-run: nothing is started again but the job whose start was refused.
    emulator.clear_log()
    code, stdout, recap = run(playbook + passthrough, output_dir, "jobs-rerun")
    entries = emulator.log()
    outcomes = read_outcomes(outcomes_path)
    checks.expect(started_hosts(entries, sp_ids) == [START_REFUSED],
                  "jobs, re-run: the only start is the one refused before (got %s)" % started_hosts(entries, sp_ids))
    checks.expect(all(recap.get(host, (0, 0, 0))[1:] == (0, 0) for host in list(STARTED) + [RUNNING])
                  and recap.get(START_REFUSED, (0, 0, 1))[1:] == (1, 0),
                  "jobs, re-run: the started applications are ok, the one started now is changed")
    checks.expect(all(state[2] == 0 for state in jobs_of(emulator, sp_ids).values()),
                  "jobs, re-run: no start reached a running job")

    # authorize_start_job false (as an extra var, over every host's true): no start at all.
    emulator.reset()
    code, stdout, recap = run(playbook + ["-e", "authorize_start_job=false"] + passthrough, output_dir, "jobs-off")
    entries = emulator.log()
    checks.expect(not started_hosts(entries, sp_ids) and len(operations(entries, "acquireAccessToken")) == 7,
                  "jobs, authorize_start_job=false: every application is authorized and no start is sent")
