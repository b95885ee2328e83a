"""The authorize role as Ansible users and AWX meet it (issue 25): its ansible-doc page, module_defaults, play-level
settings, the clash check on resolved names, the summary report, progress and a name that does not resolve.

Called by run_scenarios.py with the same emulator, over a small inventory of tenant one (global cloud). Every
expectation is read from ansible-doc, the PLAY RECAP, the registered outcomes and the emulator's request log.
"""

import json
import os
import re
import subprocess
import time

import yaml

import edge_scenarios
from edge_scenarios import CLIENT_ID, CLIENT_SECRET, TENANT_ID, operations, run, touched


def check_ansible_doc(checks):
    """ansible-doc -t role documents every variable of the role's page, with its type, default and choices."""
    # stderr apart: ansible-core 2.20 and newer warn there about their own internal collection.
    listed = subprocess.run(["ansible-doc", "-t", "role", "--json", "entra.provisioning.authorize"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
    completed = subprocess.run(["ansible-doc", "-t", "role", "entra.provisioning.authorize"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, check=False)
    # Without colours and line wrapping, so a sentence reads as one.
    page = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", completed.stdout).split())
    try:
        options = json.loads(listed.stdout)["entra.provisioning.authorize"]["entry_points"]["authorize"]["options"]
    except (ValueError, KeyError) as error:
        options = {}
        print("ansible-doc --json: %r: %s %s" % (error, listed.stdout[:500], listed.stderr[-500:]))
    wanted = ("authorize_timeout", "authorize_max_retries", "authorize_credentials", "authorize_max_concurrency",
              "authorize_report", "authorize_applications")
    missing = [name for name in options if name not in page] + [name for name in wanted if name not in options]
    checks.expect(completed.returncode == 0 and "ENTRY POINT: authorize" in page and len(options) >= 30
                  and not missing,
                  "ansible-doc -t role: the page lists all %d variables (exit %d, missing %s)"
                  % (len(options), completed.returncode, missing))
    shown = ("default: 30", "default: 5000", "choices: [per_host, summary]", "Must be 1 or more", "From 1 to 5000")
    absent = [text for text in shown if text not in page]
    checks.expect(not absent, "ansible-doc -t role: defaults, choices and bounds are shown (absent: %s)" % absent)


def connection(emulator_info):
    """The connection options of tenant one's client at the emulator, as module options."""
    cloud = emulator_info["clouds"]["global"]
    return {"tenant_id": TENANT_ID, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "cloud": "global",
            "graph_endpoint": cloud["graph_endpoint"], "authority_host": cloud["authority_host"],
            "ca_path": emulator_info["ca_path"]}


def application_hosts(applications, numbers):
    """Hosts that name an application and its credentials, nothing else: {host: variables}, {host: sp id}."""
    hosts, sp_ids = {}, {}
    for number in numbers:
        application = applications["one-app-%04d" % number]
        name = "fd-%04d" % number
        hosts[name] = {"authorize_service_principal_id": application["service_principal_id"],
                       "authorize_credentials": dict(application["accepted_credentials"])}
        sp_ids[name] = application["service_principal_id"]
    return hosts, sp_ids


def write_files(output_dir, label, inventory, extra_vars=None):
    """Write an inventory (and extra vars) for one scenario; return the ansible-playbook arguments for them."""
    inventory_path = os.path.join(output_dir, "front-door-%s-inventory.yml" % label)
    edge_scenarios.write_inventory(inventory_path, inventory)
    arguments = ["-i", inventory_path]
    if extra_vars is not None:
        vars_path = os.path.join(output_dir, "front-door-%s-vars.yml" % label)
        with open(vars_path, "w") as vars_file:
            yaml.safe_dump(extra_vars, vars_file)
        arguments += ["-e", "@" + vars_path]
    return arguments


def run_role(emulator, output_dir, label, inventory, passthrough, extra=(), faults=None):
    """Reset the emulator (then set ``faults``) and run the role over ``inventory``; return (exit code, output,
    recap, outcomes, log)."""
    arguments = write_files(output_dir, label, inventory)
    outcomes_path = os.path.join(output_dir, "front-door-%s.json" % label)
    if os.path.exists(outcomes_path):
        os.remove(outcomes_path)
    emulator.reset()
    if faults:
        emulator.set_faults(**faults)
    code, stdout, recap = run(["ansible-playbook", "authorize.yml", "-e", "outcomes_path=" + outcomes_path]
                              + list(extra) + arguments + passthrough, output_dir, "front-door-%s" % label)
    outcomes = {}
    if os.path.exists(outcomes_path):
        with open(outcomes_path) as outcomes_file:
            outcomes = json.load(outcomes_file)
    return code, stdout, recap, outcomes, emulator.log()


def acquired_ids(entries):
    """The service principal ids acquireAccessToken was sent for."""
    return sorted(entry["path"].split("/")[-3] for entry in operations(entries, "acquireAccessToken"))


def check_module_defaults(checks, emulator, applications, emulator_info, output_dir, passthrough):
    """Connection settings from module_defaults only: no authorize_* connection variable anywhere."""
    hosts, sp_ids = application_hosts(applications, range(60, 63))
    arguments = write_files(output_dir, "module-defaults", {"all": {"hosts": hosts}},
                            {"md_connection": connection(emulator_info)})
    emulator.reset()
    code, stdout, recap = run(["ansible-playbook", "authorize_module_defaults.yml"] + arguments + passthrough,
                              output_dir, "front-door-module-defaults")
    entries = emulator.log()
    tokens = operations(entries, "token")
    checks.expect(code == 0 and all(recap.get(host, (0, 0, 1))[1:] == (1, 0) for host in hosts)
                  and acquired_ids(entries) == sorted(sp_ids.values()),
                  "module_defaults only: every application authorized with the group's connection settings "
                  "(exit %d, recap %s)" % (code, recap))
    checks.expect(len(tokens) == 1 and tokens[0].get("client_id") == CLIENT_ID,
                  "module_defaults only: one sign-in, as module_defaults' client (%s)"
                  % [entry.get("client_id") for entry in tokens])
    checks.expect("module_defaults for group/entra.provisioning.entra sets force, which the authorize role does not "
                  "take from there" in " ".join(stdout.split()),
                  "module_defaults only: an option that is not a connection option is ignored with a warning")


def check_play_level_on_hosts(checks, emulator, applications, emulator_info, output_dir, passthrough):
    """A bad play-level value on the first host (and another on a later host) is ignored with a warning."""
    hosts, sp_ids = application_hosts(applications, range(63, 66))
    names = sorted(hosts)
    hosts[names[0]]["authorize_max_concurrency"] = 0
    hosts[names[2]]["authorize_report"] = "summary"
    group_vars = {"authorize_" + option: value for option, value in connection(emulator_info).items()}
    code, stdout, recap, _outcomes, entries = run_role(emulator, output_dir, "play-level",
                                                       {"all": {"hosts": hosts, "vars": group_vars}}, passthrough)
    flat = " ".join(stdout.split())
    checks.expect(code == 0 and sorted(recap) == names
                  and all(recap[host][1:] == (1, 0) for host in names)
                  and acquired_ids(entries) == sorted(sp_ids.values()),
                  "play-level on hosts: every application is authorized and reported per host (exit %d, recap %s)"
                  % (code, recap))
    checks.expect("authorize_max_concurrency is set for host '%s', but it is read from the play only" % names[0] in flat
                  and "authorize_report is set for host '%s', but it is read from the play only" % names[2] in flat,
                  "play-level on hosts: a warning names each variable and its host")


def check_one_application_two_names(checks, emulator, applications, emulator_info, output_dir, passthrough):
    """One application named by id on one host and by display name on another, with another sign-in (a timeout of
    its own splits the sign-in group): one write, and the refusal names both hosts; then AzureCloud and global."""
    application = applications["one-app-0066"]
    credentials = dict(application["accepted_credentials"])
    group_vars = {"authorize_" + option: value for option, value in connection(emulator_info).items()}
    hosts = {"fd-by-id": {"authorize_service_principal_id": application["service_principal_id"],
                          "authorize_credentials": credentials},
             "fd-by-name": {"authorize_display_name": application["display_name"], "authorize_credentials": credentials,
                            "authorize_timeout": 31}}
    code, _stdout, recap, outcomes, entries = run_role(emulator, output_dir, "two-names",
                                                       {"all": {"hosts": hosts, "vars": group_vars}}, passthrough)
    message = outcomes.get("fd-by-name", {}).get("msg") or ""
    checks.expect(acquired_ids(entries) == [application["service_principal_id"]]
                  and len(operations(entries, "token")) == 2
                  and recap.get("fd-by-id", (0, 0, 1))[1:] == (1, 0) and recap.get("fd-by-name", (0, 0, 0))[2] == 1,
                  "one application by id and by display name, two sign-ins: acquireAccessToken once, the second host "
                  "fails (exit %d, recap %s)" % (code, recap))
    checks.expect("authorize_display_name of host 'fd-by-name' resolves to the same application" in message
                  and "as host 'fd-by-id'" in message,
                  "one application by id and by display name: the refusal names both hosts: %s" % message)

    # AzureCloud and global are one cloud: the same target with another sign-in is refused before anything is sent.
    hosts = {"fd-azurecloud": {"authorize_service_principal_id": application["service_principal_id"],
                               "authorize_credentials": credentials, "authorize_cloud": "AzureCloud"},
             "fd-global": {"authorize_service_principal_id": application["service_principal_id"],
                           "authorize_credentials": credentials, "authorize_cloud": "global",
                           "authorize_timeout": 31}}
    code, _stdout, recap, outcomes, entries = run_role(emulator, output_dir, "two-clouds",
                                                       {"all": {"hosts": hosts, "vars": group_vars}}, passthrough)
    message = outcomes.get("fd-global", {}).get("msg") or ""
    checks.expect(acquired_ids(entries) == [application["service_principal_id"]]
                  and len(operations(entries, "token")) == 1 and "host 'fd-azurecloud' names too" in message,
                  "AzureCloud and global on one tenant: one sign-in, one write, the second host refused naming the "
                  "first (exit %d, recap %s): %s" % (code, recap, message))


def check_summary_with_a_failure(checks, emulator, applications, emulator_info, output_dir, passthrough):
    """A summary run with one failed application: its reason in a table of text, the play fails, the PLAY RECAP
    fails that application alone, and the counts are published with set_stats (shown by show_custom_stats)."""
    hosts, _sp_ids = application_hosts(applications, range(67, 69))
    hosts["fd-missing"] = {"authorize_service_principal_id": "5a000000-0000-4000-8000-0000000000e9",
                           "authorize_credentials": {"SecretToken": "emulator-secret-missing"}}
    group_vars = {"authorize_" + option: value for option, value in connection(emulator_info).items()}
    arguments = write_files(output_dir, "summary", {"all": {"hosts": hosts, "vars": group_vars}})
    emulator.reset()
    completed = subprocess.run(["ansible-playbook", "authorize.yml", "-e", "authorize_report=summary", "-e",
                                "outcomes_path=" + os.path.join(output_dir, "front-door-summary.json")]
                               + arguments + passthrough, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, check=False, env=dict(os.environ, ANSIBLE_SHOW_CUSTOM_STATS="1"))
    stdout = completed.stdout
    with open(os.path.join(output_dir, "authorize_role-front-door-summary.log"), "w") as transcript:
        transcript.write(stdout)
    recap = {}
    for line in stdout.splitlines():
        match = edge_scenarios.RECAP_LINE.match(line)
        if match:
            recap[match.group("host")] = (int(match.group("changed")), int(match.group("failed")))
    table = stdout.partition("failed application  reason\n")[2].splitlines()
    checks.expect(completed.returncode != 0 and table and table[0].startswith("fd-missing ")
                  and "404" in table[0] and "1 of 3 applications failed: fd-missing." in stdout,
                  "summary with a failure: the play fails and the reason is a line of a text table: %s"
                  % (table[:1] or stdout[-300:]))
    # (The first host also counts the action's own task, changed with the summary report.)
    checks.expect(recap.get("fd-missing") == (0, 1) and all(recap.get(host, (0, 1))[0] >= 1 and recap[host][1] == 0
                                                            for host in hosts if host != "fd-missing"),
                  "summary with a failure: PLAY RECAP fails the failed application alone (%s)" % recap)
    stats = " ".join(stdout.partition("CUSTOM STATS")[2].split())
    checks.expect('"authorize_failed": 1' in stats and '"authorize_changed": 2' in stats
                  and '"authorize_failed_applications": [ "fd-missing" ]' in stats,
                  "summary with a failure: the counts and the failed application are published with set_stats: %s"
                  % stats[:300])


def check_long_runs_and_pipes(checks, emulator, applications, emulator_info, output_dir, passthrough):
    """A slow run says where it is at default verbosity; the role piped into head ends; a name that does not resolve
    fails at once, naming it."""
    hosts, sp_ids = application_hosts(applications, range(70, 72))
    group_vars = {"authorize_" + option: value for option, value in connection(emulator_info).items()}
    inventory = {"all": {"hosts": hosts, "vars": group_vars}}
    # Every Graph answer takes 4 s: the three reads are quiet for about 12 s.
    code, stdout, _recap, _outcomes, _entries = run_role(emulator, output_dir, "slow", inventory, passthrough,
                                                         faults={"latency_ms": 4000})
    still = [line for line in stdout.splitlines() if line.startswith("authorize: still ")]
    checks.expect(code == 0 and still and "phases 1 to 3 of 5" in still[0]
                  and "2 of 2 host(s) read, 0 application(s) done" in still[0],
                  "a slow run: at default verbosity a line says which phase and how many are done (%s)" % still)

    # Piped into head: the play ends (no hang) and does its work.
    arguments = write_files(output_dir, "pipe", inventory)
    playbook = ["ansible-playbook", "authorize.yml", "-e", "outcomes_path=" + os.path.join(output_dir, "fd.json")]
    for lines in (3, 8):
        emulator.reset()
        command = " ".join(["timeout", "120"] + playbook + arguments + passthrough) + " | head -%d" % lines
        completed = subprocess.run(["bash", "-o", "pipefail", "-c", command + "; exit ${PIPESTATUS[0]}"],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, check=False)
        # timeout's 124 (or 137) is a hang; ansible-playbook itself ends with 120 when its last flush finds no reader.
        checks.expect(completed.returncode not in (124, 137)
                      and acquired_ids(emulator.log()) == sorted(sp_ids.values()),
                      "piped into head -%d: ansible-playbook ends (exit %d, 124 is a hang) and authorizes both "
                      "applications" % (lines, completed.returncode))

    # A Graph host name that does not resolve (on one host, its own sign-in group): that group fails at once, and
    # nothing is retried or sent for it; the other host is authorized.
    bad, good = sorted(hosts)
    hosts[bad]["authorize_graph_endpoint"] = "https://graph.no-such-cloud.invalid"
    started = time.monotonic()
    code, _stdout, recap, outcomes, entries = run_role(emulator, output_dir, "dns",
                                                       {"all": {"hosts": hosts, "vars": group_vars}}, passthrough)
    seconds = time.monotonic() - started
    message = outcomes.get(bad, {}).get("msg") or ""
    checks.expect(code != 0 and recap.get(bad, (0, 0, 0))[2] == 1 and recap.get(good, (0, 0, 1))[2] == 0
                  and "the host name graph.no-such-cloud.invalid of Graph" in message
                  and not touched(entries, sp_ids[bad]) and len(operations(entries, "token")) == 1 and seconds < 30,
                  "a name that does not resolve: its host fails at once (the run took %.1f s), naming it, nothing "
                  "sent for it, the other host authorized: %s" % (seconds, message))


def main(checks, emulator, config, output_dir, passthrough):
    """Run the front-door scenarios; expectations go to ``checks``."""
    from entra_emulator.seed import load_seed  # pylint: disable=import-outside-toplevel
    applications = edge_scenarios.seed_applications(load_seed(config["emulator_seed_path"]))
    emulator_info = config["emulator"]
    check_ansible_doc(checks)
    check_module_defaults(checks, emulator, applications, emulator_info, output_dir, passthrough)
    check_play_level_on_hosts(checks, emulator, applications, emulator_info, output_dir, passthrough)
    check_one_application_two_names(checks, emulator, applications, emulator_info, output_dir, passthrough)
    check_summary_with_a_failure(checks, emulator, applications, emulator_info, output_dir, passthrough)
    check_long_runs_and_pipes(checks, emulator, applications, emulator_info, output_dir, passthrough)


def no_validation_task(stdout):
    """True when ansible-core ran no per-host validate_argument_spec task for the role."""
    return "Validating arguments against arg spec" not in stdout
