"""The authorize role where hosts differ: own secrets, malformed variables, bounds, access tokens, summary report.

Called by run_scenarios.py after the 200-application scenarios, with the same emulator. The inventory is small
(tenant one of the seed, global cloud) and built so that each way a host can go wrong sits next to hosts that must
still work:

- own-wrong signs in with a host-level client secret that is wrong; own-right with a host-level secret that is
  right; group-secret has none of its own and uses its group's. The run is done twice, own-wrong first (it is the
  host the role's run-once action runs on) and own-wrong last: neither order may lend one host's secret to another.
- bad-* hosts each have one malformed variable; each fails alone, named, and sends nothing.
- token-* hosts sign in with authorize_access_token (auth method access_token): no token request at all. The
  token is vaulted in the inventory, and the group's client secret is a Jinja reference to another variable, so
  both are rendered (and decrypted) per host the way Ansible does.

Every expectation is read from the PLAY RECAP, the registered outcomes and the emulator's request log.
"""

import json
import os
import re
import subprocess

import requests
import yaml
from ansible.parsing.vault import VaultLib, VaultSecret

RECAP_LINE = re.compile(r"^(?P<host>\S+)\s+: ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=\d+"
                        r"\s+failed=(?P<failed>\d+)")

TENANT_ID = "50000000-0000-4000-8000-000000000005"
CLIENT_ID = "50000000-0000-4000-8000-0000000000c1"
CLIENT_SECRET = "emulator-secret-role-one"
WRONG_SECRET = "emulator-secret-wrong-client-of-own-wrong"
GOOD_HOSTS = ("own-right", "group-secret")
TOKEN_HOSTS = ("token-1", "token-2")
# host: (its malformed variables, what its message must name)
BAD_HOSTS = {
    "bad-string": ({"authorize_credentials": "SecretToken=abc"}, "authorize_credentials of host 'bad-string'"),
    "bad-novalue": ({"authorize_credentials": [{"key": "SecretToken"}]}, "authorize_credentials of host 'bad-novalue'"),
    "bad-extra": ({"authorize_credentials": [{"key": "SecretToken", "value": "emulator-secret-extra",
                                              "note": "one field too many"}]},
                  "authorize_credentials of host 'bad-extra'"),
    "bad-guid": ({"authorize_service_principal_id": "not-a-guid"}, "authorize_service_principal_id of host 'bad-guid'"),
    # The modules' own argument spec, checked by ansible-core's validator: its words, naming the role variable.
    "bad-bool": ({"authorize_force": "sometimes"},
                 "host 'bad-bool': argument 'authorize_force' is of type str and we were unable to convert to bool"),
    "bad-method": ({"authorize_auth_method": "password"},
                   "host 'bad-method': value of authorize_auth_method must be one of: auto, "),
    # Every connection option of the modules is a role variable, with the modules' bounds.
    "bad-timeout": ({"authorize_timeout": 0}, "host 'bad-timeout': authorize_timeout must be 1 or more, got 0"),
}
BOUNDS = (("authorize_applications_per_run=0", "authorize_applications_per_run must be from 1 to 5000, got 0"),
          ("authorize_applications_per_run=-1", "authorize_applications_per_run must be from 1 to 5000, got -1"),
          ("authorize_max_concurrency=0", "authorize_max_concurrency must be 1 or more, got 0"),
          ("authorize_max_concurrency=many",
           "argument 'authorize_max_concurrency' is of type str and we were unable to convert to int"),
          ("authorize_report=everything",
           "value of authorize_report must be one of: per_host, summary, got: everything"))


VAULT_PASSWORD = "emulator-secret-vault-password"


class Vaulted(str):
    """A value written to the inventory as an inline !vault string."""


def report_task_hosts(stdout):
    """The hosts the role's report task printed a result for, in order."""
    section = stdout.partition("TASK [entra.provisioning.authorize : Report this application's outcome]")[2]
    section = re.split(r"\n(?:TASK|PLAY RECAP) ", section)[0]
    return re.findall(r"^(?:ok|changed|fatal|failed|skipping): \[([^\]]+)\]", section, re.MULTILINE)


def vaulted(value):
    """Encrypt ``value`` the way ansible-vault encrypt_string does."""
    secrets = [("default", VaultSecret(VAULT_PASSWORD.encode()))]
    return Vaulted(VaultLib(secrets).encrypt(value).decode())


def write_inventory(path, inventory):
    """Write the inventory as YAML, with Vaulted values as !vault scalars."""
    dumper = type("VaultDumper", (yaml.SafeDumper,), {})
    dumper.add_representer(Vaulted, lambda self, value: self.represent_scalar("!vault", str(value), style="|"))
    with open(path, "w") as inventory_file:
        yaml.dump(inventory, inventory_file, Dumper=dumper, default_flow_style=False, sort_keys=False)


def seed_applications(seed):
    """Tenant one's generated applications by name."""
    tenant = next(tenant for tenant in seed["tenants"] if tenant["id"] == TENANT_ID)
    return {application["name"]: application for application in tenant["applications"]}


def graph_token(emulator_info):
    """A Graph token for tenant one's client, fetched by the test itself for the access_token hosts."""
    answer = requests.post("%s/%s/oauth2/v2.0/token" % (emulator_info["clouds"]["global"]["authority_host"], TENANT_ID),
                           data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
                                 "client_secret": CLIENT_SECRET, "scope": "https://graph.microsoft.com/.default"},
                           verify=emulator_info["ca_path"], timeout=30)
    answer.raise_for_status()
    return answer.json()["access_token"]


def build_inventory(applications, emulator_info, access_token, wrong_first):
    """The edge inventory; returns (inventory, {host: service principal id})."""
    cloud = emulator_info["clouds"]["global"]
    connection = {"authorize_tenant_id": TENANT_ID, "authorize_cloud": "global",
                  "authorize_graph_endpoint": cloud["graph_endpoint"], "authorize_authority_host": cloud["authority_host"],
                  "authorize_ca_path": emulator_info["ca_path"]}
    names = ["own-wrong", "own-right", "group-secret"] + sorted(BAD_HOSTS)
    if not wrong_first:
        names = names[1:] + names[:1]
    apps = dict(zip(names + list(TOKEN_HOSTS), ("one-app-%04d" % number for number in range(70, 90))))
    hosts = {}
    for name in names:
        application = applications[apps[name]]
        host = {"authorize_service_principal_id": application["service_principal_id"],
                "authorize_credentials": dict(application["accepted_credentials"])}
        if name == "own-wrong":
            host["authorize_client_secret"] = WRONG_SECRET
        if name == "own-right":
            host["authorize_client_secret"] = CLIENT_SECRET
        host.update(BAD_HOSTS.get(name, ({}, None))[0])
        hosts[name] = host
    token_hosts = {}
    for name in TOKEN_HOSTS:
        application = applications[apps[name]]
        token_hosts[name] = {"authorize_service_principal_id": application["service_principal_id"],
                             "authorize_credentials": dict(application["accepted_credentials"])}
    inventory = {"all": {"children": {
        "edge_secret": {"hosts": hosts, "vars": dict(connection, authorize_client_id=CLIENT_ID,
                                                     edge_client_secret=CLIENT_SECRET,
                                                     authorize_client_secret="{{ edge_client_secret }}")},
        "edge_token": {"hosts": token_hosts, "vars": dict(connection, authorize_auth_method="access_token",
                                                          authorize_access_token=vaulted(access_token))},
    }}}
    return inventory, {name: applications[apps[name]]["service_principal_id"] for name in apps}


def run(command, output_dir, label):
    """Run ansible-playbook; return (exit code, output, recap {host: (ok, changed, failed)})."""
    completed = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    with open(os.path.join(output_dir, "authorize_role-edge-%s.log" % label), "w") as transcript:
        transcript.write(completed.stdout)
    recap = {}
    for line in completed.stdout.splitlines():
        match = RECAP_LINE.match(line)
        if match:
            recap[match.group("host")] = (int(match.group("ok")), int(match.group("changed")),
                                          int(match.group("failed")))
    print("ran %s (exit %d)" % (" ".join(command[1:]), completed.returncode), flush=True)
    return completed.returncode, completed.stdout, recap


def operations(entries, name):
    """The log entries of one operation (in or out of $batch; sign-ins are 'token')."""
    return [entry for entry in entries if entry.get("operation") == name]


def touched(entries, service_principal_id):
    """Log entries (direct or inside $batch) whose path names the service principal."""
    return [entry for entry in entries if service_principal_id in (entry.get("path") or "")]


def main(checks, emulator, config, output_dir, passthrough):
    """Run the edge scenarios; expectations go to ``checks``."""
    from entra_emulator.seed import load_seed  # pylint: disable=import-outside-toplevel
    applications = seed_applications(load_seed(config["emulator_seed_path"]))
    emulator_info = config["emulator"]
    emulator.reset()
    access_token = graph_token(emulator_info)
    inventory_path = os.path.join(output_dir, "authorize_edge_inventory.yml")
    password_path = os.path.join(output_dir, "authorize_edge_vault_password")
    with open(password_path, "w") as password_file:
        password_file.write(VAULT_PASSWORD)
    playbook = ["ansible-playbook", "authorize.yml", "--vault-password-file", password_path]
    outcomes_path = os.path.join(output_dir, "authorize_edge_outcomes.json")
    secrets = [CLIENT_SECRET, WRONG_SECRET, access_token, VAULT_PASSWORD] + [
        value for application in applications.values() for value in application["accepted_credentials"].values()
        if value.startswith("emulator-secret-")] + ["emulator-secret-extra"]

    for wrong_first in (True, False):
        order = "own-wrong first" if wrong_first else "own-wrong last"
        inventory, sp_ids = build_inventory(applications, emulator_info, access_token, wrong_first)
        write_inventory(inventory_path, inventory)
        if os.path.exists(outcomes_path):
            os.remove(outcomes_path)
        emulator.reset()
        verbosity = ["-vvvv"] if wrong_first else []
        code, stdout, recap = run(playbook + ["-i", inventory_path, "-e", "outcomes_path=" + outcomes_path]
                                  + verbosity + passthrough, output_dir,
                                  "order-%s" % ("first" if wrong_first else "last"))
        entries = emulator.log()
        with open(outcomes_path) as outcomes_file:
            outcomes_text = outcomes_file.read()
        outcomes = json.loads(outcomes_text)
        checks.expect(code != 0, "%s: the play reports the failed hosts (exit %d)" % (order, code))
        for host in GOOD_HOSTS + TOKEN_HOSTS:
            checks.expect(recap.get(host, (0, 0, 1))[1:] == (1, 0),
                          "%s: %s is authorized and changed (recap %s)" % (order, host, recap.get(host)))
        tokens = operations(entries, "token")
        checks.expect(sorted(entry["status"] for entry in tokens) == [200, 401],
                      "%s: two sign-ins for the one client, one per secret: one accepted, one refused (got %s)"
                      % (order, sorted(entry["status"] for entry in tokens)))
        wrong = outcomes.get("own-wrong", {})
        checks.expect(recap.get("own-wrong", (0, 0, 0))[2] == 1 and "AADSTS7000215" in (wrong.get("msg") or ""),
                      "%s: own-wrong fails with its own secret's refusal: %s" % (order, wrong.get("msg")))
        checks.expect(not touched(entries, sp_ids["own-wrong"]),
                      "%s: no Graph request for own-wrong was sent with another host's sign-in" % order)
        acquired = sorted(entry["path"] for entry in operations(entries, "acquireAccessToken"))
        expected = sorted("/v1.0/servicePrincipals/%s/synchronization/acquireAccessToken" % sp_ids[host]
                          for host in GOOD_HOSTS + TOKEN_HOSTS)
        checks.expect(acquired == expected, "%s: acquireAccessToken sent for exactly the four good hosts (got %d)"
                      % (order, len(acquired)))
        for host, (_variables, named) in sorted(BAD_HOSTS.items()):
            message = outcomes.get(host, {}).get("msg") or ""
            checks.expect(recap.get(host, (0, 0, 0))[2] == 1 and named in message and not touched(entries, sp_ids[host]),
                          "%s: %s fails alone, named (%r), nothing sent for it: %s" % (order, host, named, message))
        token_clients = {entry.get("client_id") for host in TOKEN_HOSTS for entry in touched(entries, sp_ids[host])}
        checks.expect(token_clients == {CLIENT_ID},
                      "%s: the access_token hosts reached Graph with the given token's client (%s)"
                      % (order, token_clients))
        if wrong_first:
            leaks = [index for index, secret in enumerate(secrets) if secret in stdout or secret in outcomes_text]
            checks.expect("PLAY RECAP" in stdout and "task path:" in stdout and not leaks,
                          "-vvvv: no client secret, access token or credential value (%d searched) in the role's "
                          "output or registered outcomes (%d found)" % (len(secrets), len(leaks)))
            checks.expect("authorize: sign-in 2 (" in stdout and "authorize: sign-in 3 (" in stdout,
                          "progress: the action shows each sign-in group and part")

    # Summary report with failures: the table of failed applications as text, and each application reports its own
    # outcome so that the recap fails exactly the failed ones, never a healthy one.
    emulator.reset()
    code, stdout, recap = run(playbook + ["-i", inventory_path, "-e", "outcomes_path=" + outcomes_path,
                                          "-e", "authorize_report=summary"] + passthrough,
                              output_dir, "summary-failing")
    expected_failed = sorted(list(BAD_HOSTS) + ["own-wrong"])
    checks.expect(code != 0 and "total 12, changed 4, ok 0, failed 8" in stdout
                  and "8 of 12 applications failed: bad-bool, bad-extra" in stdout,
                  "summary: the play fails, naming the failed applications (exit %d)" % code)
    table = stdout.partition("failed application  reason\n")[2].splitlines()[:len(expected_failed)]
    failures = [line for line in stdout.splitlines() if line.startswith("fatal: ")]
    checks.expect([line.split()[0] for line in table] == expected_failed
                  and not [line for line in failures if "summary_lines" in line],
                  "summary: the failed applications and their reasons are a table of text, not JSON (%s)"
                  % [line.split()[0] for line in table if line.split()])
    # (The first host also counts the action's own task, changed with the summary report.)
    checks.expect(sorted(host for host in recap if recap[host][2]) == expected_failed
                  and all(recap[host][1] >= 1 and not recap[host][2] for host in GOOD_HOSTS + TOKEN_HOSTS),
                  "summary: the recap fails exactly the failed applications, every healthy one is changed (recap %s)"
                  % recap)
    good_limit = ",".join(GOOD_HOSTS + TOKEN_HOSTS)
    emulator.reset()
    if os.path.exists(outcomes_path):
        os.remove(outcomes_path)
    code, stdout, recap = run(playbook + ["-i", inventory_path, "-e", "outcomes_path=" + outcomes_path,
                                          "-e", "authorize_report=summary", "--limit", good_limit] + passthrough,
                              output_dir, "summary-good")
    outcomes = {}
    if os.path.exists(outcomes_path):
        with open(outcomes_path) as outcomes_file:
            outcomes = json.load(outcomes_file)
    checks.expect(code == 0 and sorted(outcomes) == sorted(GOOD_HOSTS + TOKEN_HOSTS)
                  and all(outcome["changed"] and not outcome["failed"] for outcome in outcomes.values()),
                  "summary: a good run succeeds and its registered result holds all four outcomes (exit %d)" % code)
    checks.expect(len(operations(emulator.log(), "acquireAccessToken")) == 4,
                  "summary: the four applications were authorized")
    reported = report_task_hosts(stdout)
    checks.expect(len(reported) == 1 and all(recap[host][0] == 0 for host in recap if host not in reported),
                  "summary: with nothing failed the report ran once, as the summary, and no other host ran a task "
                  "(report hosts %s, recap %s)" % (reported, recap))

    # Bounds: a play-level variable out of range stops the run before any request, with the variable named.
    for assignment, message in BOUNDS:
        emulator.clear_log()
        code, stdout, _recap = run(playbook + ["-i", inventory_path, "-e", "outcomes_path=" + outcomes_path,
                                               "-e", assignment] + passthrough, output_dir,
                                   "bounds-%s" % re.sub(r"\W", "_", assignment))
        checks.expect(code != 0 and message in stdout and not emulator.log() and "Traceback" not in stdout,
                      "bounds: %s is refused before any request: %r" % (assignment, message))
