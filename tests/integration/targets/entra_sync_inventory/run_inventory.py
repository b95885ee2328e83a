"""Drive the entra_sync inventory plugin and the authorize role against the emulator and check what they did.

Usage (from runme.sh): python run_inventory.py INTEGRATION_CONFIG OUTPUT_DIR

The tenant is tests/integration/emulator-seed.yml's 15000000-...-015: eleven applications with jobs in every state
(two of them named "Inventory Twin", one with an active and a quarantined job, one whose display name holds a Jinja
template), one without a job, and a thousand single sign-on applications without provisioning, so the listing takes
two pages of 999. Answers of the wrong shape come from a small HTTPS proxy of this script's own (TamperingGraph),
between the plugin and the emulator's Graph.
"""

import http.server
import json
import math
import os
import re
import ssl
import subprocess
import sys
import threading
import urllib.error
import urllib.request

from entra_test_helpers.checks import Checks
from entra_test_helpers.inventory import plain

TENANT_ID = "15000000-0000-4000-8000-000000000015"
READER = ("15000000-0000-4000-8000-0000000000c1", "emulator-secret-inventory-reader")
AUTOMATION = ("15000000-0000-4000-8000-0000000000c2", "emulator-secret-inventory-automation")
NO_SYNC_READ = ("15000000-0000-4000-8000-0000000000c3", "emulator-secret-inventory-no-sync")
NO_OBJECT_READ = ("15000000-0000-4000-8000-0000000000c4", "emulator-secret-inventory-no-read")
SECRETS = [READER[1], AUTOMATION[1], NO_SYNC_READ[1], NO_OBJECT_READ[1]]
RECAP_LINE = re.compile(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", re.MULTILINE)
VAULT_PASSWORD = "canary-vault-password-inventory"
BRACES_HOST = "inventory-braces-7-6"
BRACES_NAME = "Inventory Braces {{ 7 * 6 }}"
NOT_SHOWN = "canary-not-shown-in-a-parse-failure"
STATUS_GROUPS = {"Active": "entra_sync_active", "Paused": "entra_sync_paused", "Quarantine": "entra_sync_quarantine",
                 "NotRun": "entra_sync_not_run", "NotConfigured": "entra_sync_not_configured"}


class Scenario:
    """Writes inventory files and runs ansible-inventory / ansible-playbook with them."""

    def __init__(self, output_dir, emulator_info):
        self.raw = None
        self.output_dir = output_dir
        self.cloud = emulator_info["clouds"]["global"]
        self.ca_path = emulator_info["ca_path"]
        self.transcripts = []

    def inventory_file(self, name, client=READER, with_secret=True, extra_lines=(), file_name=None,
                       graph_endpoint=None, ca_path=None):
        """Write ``<name>.entra_sync.yml`` (or ``file_name``) for the inventory tenant; return its path."""
        lines = ["plugin: entra.provisioning.entra_sync",
                 "tenant_id: " + TENANT_ID,
                 "client_id: " + client[0],
                 "graph_endpoint: " + (graph_endpoint or self.cloud["graph_endpoint"]),
                 "authority_host: " + self.cloud["authority_host"],
                 "ca_path: " + (ca_path or self.ca_path)]
        if with_secret:
            lines.append("client_secret: " + client[1])
        path = os.path.join(self.output_dir, file_name or name + ".entra_sync.yml")
        with open(path, "w") as inventory:
            inventory.write("\n".join(lines + list(extra_lines)) + "\n")
        return path

    def run(self, command, environ=None):
        """Run a command; return (exit code, stdout, stderr) and keep a transcript."""
        env = dict(os.environ)
        # A source that fails must fail the command, as in CI and AWX, not only warn.
        env["ANSIBLE_INVENTORY_UNPARSED_FAILED"] = "true"
        env.update(environ or {})
        completed = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                   check=False)
        self.transcripts.append(completed.stdout + completed.stderr)
        return completed.returncode, completed.stdout, completed.stderr

    def inventory(self, path, environ=None, extra=()):
        """Run ansible-inventory --list; return (exit code, parsed JSON or None, stderr)."""
        code, stdout, stderr = self.run(["ansible-inventory", "-i", path, "--list"] + list(extra), environ)
        try:
            self.raw = json.loads(stdout)
            return code, plain(self.raw), stderr
        except ValueError:
            return code, None, stderr


def flat(text):
    """Text with every run of white space as one space: warnings are wrapped to the terminal's width."""
    return " ".join(text.split())


def operations(entries, name):
    """The log entries of one Graph operation (in or out of $batch)."""
    return [entry for entry in entries if entry.get("operation") == name]


def expected_hosts(seed):
    """{host name: seed application} for the applications with jobs, by the documented naming rule."""
    tenant = next(tenant for tenant in seed["tenants"] if tenant["id"] == TENANT_ID)
    with_jobs = [application for application in tenant["applications"] if application["jobs"]]
    hosts = {}
    for application in with_jobs:
        name = re.sub("[^a-z0-9]+", "-", application["display_name"].lower()).strip("-")
        if application["display_name"] == "Inventory Twin":
            name += "-" + application["app_id"].replace("-", "")[:8]
        hosts[name] = application
    return hosts, len(tenant["applications"])


def members(inventory, group):
    """The hosts of a group in ansible-inventory --list output."""
    return sorted((inventory or {}).get(group, {}).get("hosts", []))


def check_listing(checks, scenario, emulator, hosts, listed_count):
    """The plain inventory: hosts, groups, variables, and the round trips it took."""
    emulator.clear_log()
    code, inventory, stderr = scenario.inventory(scenario.inventory_file("plain"))
    entries = emulator.log()
    host_vars = (inventory or {}).get("_meta", {}).get("hostvars", {})
    checks.expect(code == 0 and sorted(host_vars) == sorted(hosts),
                  "--list: the %d applications with a job are the hosts (exit %d, got %s) %s"
                  % (len(hosts), code, ", ".join(sorted(host_vars)), stderr[-300:]))
    for code_name, group in STATUS_GROUPS.items():
        wanted = sorted(name for name, application in hosts.items()
                        if any(job["code"] == code_name for job in application["jobs"]))
        checks.expect(members(inventory, group) == wanted,
                      "group %s is %s (got %s)" % (group, wanted, members(inventory, group)))
    checks.expect(members(inventory, "entra_sync_template_scimgroups") == ["inventory-two-jobs"]
                  and members(inventory, "entra_sync_template_servicenow") == ["inventory-quarantined-servicenow"],
                  "one group per template, sanitized (entra_sync_template_scimgroups, ..._servicenow)")
    for name, application in hosts.items():
        variables = host_vars.get(name, {})
        checks.expect(variables.get("authorize_service_principal_id") == application["service_principal_id"]
                      and variables.get("entra_sync_app_id") == application["app_id"]
                      and variables.get("entra_sync_display_name") == application["display_name"]
                      and variables.get("entra_sync_job_ids") == sorted(job["id"] for job in application["jobs"])
                      and variables.get("authorize_tenant_id") == TENANT_ID,
                      "%s carries its service principal id, app id, display name, job ids and tenant" % name)
    raw_vars = scenario.raw["_meta"]["hostvars"] if inventory else {}
    checks.expect(raw_vars.get("o-brien-co-hr", {}).get("entra_sync_display_name") == "O'Brien & Co. (HR)"
                  and all(isinstance(variables.get(name), str) for variables in raw_vars.values()
                          for name in ("authorize_service_principal_id", "authorize_job_id", "entra_sync_app_id")),
                  "ids and names without { or } are written as plain strings, never {\"__ansible_unsafe\": ...}")
    checks.expect(raw_vars.get(BRACES_HOST, {}).get("entra_sync_display_name") == {"__ansible_unsafe": BRACES_NAME},
                  "a display name holding {{ }} stays marked unsafe (%r)"
                  % (raw_vars.get(BRACES_HOST, {}).get("entra_sync_display_name"),))
    checks.expect("is not the Graph of the global cloud" in flat(stderr),
                  "the emulator's graph_endpoint gets the modules' warning: not the cloud's Graph")
    two_jobs = host_vars.get("inventory-two-jobs", {})
    quarantined_job = next(job for job in hosts["inventory-two-jobs"]["jobs"] if job["code"] == "Quarantine")
    checks.expect(two_jobs.get("authorize_job_id") == quarantined_job["id"]
                  and two_jobs.get("entra_sync_status") == "Quarantine",
                  "a host with an active and a quarantined job points the role at the quarantined one")
    quarantine = next((job.get("quarantine") for job in two_jobs.get("entra_sync_jobs", [])
                       if job.get("status", {}).get("code") == "Quarantine"), None) or {}
    checks.expect(quarantine.get("reason") == "EncounteredQuarantineException" and quarantine.get("current_began")
                  and quarantine.get("next_attempt"), "a quarantined job shows its reason, since when, next attempt")
    quarantine_error = quarantine.get("error") or {}
    checks.expect(quarantine_error.get("code") and quarantine_error.get("message")
                  and isinstance(quarantine_error.get("tenant_actionable"), bool),
                  "a quarantined job shows why: the quarantine's error code, message and tenant_actionable (%s)"
                  % (quarantine_error,))
    servicenow = host_vars.get("inventory-quarantined-servicenow", {}).get("entra_sync_jobs", [{}])[0]
    checks.expect(servicenow.get("quarantine", {}).get("reason") == "QuarantinedOnDemand"
                  and servicenow.get("last_execution", {}).get("state") == "EntryLevelErrors"
                  and servicenow.get("last_successful_execution") is None
                  and servicenow.get("schedule", {}).get("interval") == "PT40M",
                  "job variables: quarantine reason, last execution, last successful execution, schedule")
    lists = operations(entries, "servicePrincipals.list")
    checks.expect(len(lists) == 2 and all(entry["query"].get("$top") == "999"
                                          and entry["query"].get("$select") == "id,appId,displayName,tags,"
                                                                               "applicationTemplateId"
                                          for entry in lists),
                  "the %d service principals are listed in 2 pages of 999 with $select (got %d pages)"
                  % (listed_count, len(lists)))
    envelopes = operations(entries, "$batch")
    job_reads = operations(entries, "jobs.list")
    checks.expect(len(envelopes) == math.ceil(listed_count / 20.0) and len(job_reads) == listed_count
                  and all(entry.get("in_batch") for entry in job_reads),
                  "jobs are read through $batch: %d envelopes for %d service principals (got %d, %d reads)"
                  % (math.ceil(listed_count / 20.0), listed_count, len(envelopes), len(job_reads)))
    checks.expect(all(entry["method"] in ("GET", "POST") for entry in entries)
                  and all(entry["method"] == "GET" for entry in entries if entry.get("in_batch"))
                  and not [entry for entry in entries if entry["kind"] == "graph"
                           and entry.get("operation") != "servicePrincipals.list"],
                  "the inventory only reads: listing pages and GET jobs inside $batch")
    print("figures: %d service principals -> %d round trips (%d token, %d listing pages, %d $batch envelopes)"
          % (listed_count, len([entry for entry in entries if not entry.get("in_batch")]),
             len([entry for entry in entries if entry["kind"] == "token"]), len(lists), len(envelopes)), flush=True)


def check_next_links_on_cloud_root(checks, scenario, emulator, hosts):
    """Graph writes next links on its own host: behind graph_endpoint (a proxy, here the emulator) every page is read."""
    emulator.set_faults(next_links_on_cloud_root=True)
    emulator.clear_log()
    try:
        code, inventory, stderr = scenario.inventory(scenario.inventory_file("plain"))
        entries = emulator.log()
    finally:
        emulator.set_faults(next_links_on_cloud_root=False)
    host_vars = (inventory or {}).get("_meta", {}).get("hostvars", {})
    lists = operations(entries, "servicePrincipals.list")
    checks.expect(code == 0 and sorted(host_vars) == sorted(hosts) and len(lists) == 2
                  and lists[1]["query"].get("$skiptoken"),
                  "next links on https://graph.microsoft.com are followed through graph_endpoint: every page read, "
                  "the same %d hosts (exit %d, %d listing pages, %d hosts) %s"
                  % (len(hosts), code, len(lists), len(host_vars), flat(stderr)[-300:]))


def check_filters(checks, scenario, emulator):
    """display_name_prefix and tag go to Graph; template_id is applied to the jobs that came back."""
    emulator.clear_log()
    code, inventory, _stderr = scenario.inventory(scenario.inventory_file(
        "prefix", extra_lines=["filters:", "  display_name_prefix: [inventory q, O'Brien]"]))
    lists = operations(emulator.log(), "servicePrincipals.list")
    checks.expect(code == 0 and sorted(inventory.get("_meta", {}).get("hostvars", {})) ==
                  ["inventory-quarantined-scim", "inventory-quarantined-servicenow", "o-brien-co-hr"],
                  "filters.display_name_prefix keeps the applications whose names start so")
    checks.expect(len(lists) == 1 and lists[0]["query"].get("$filter") ==
                  "startswith(displayName,'inventory q') or startswith(displayName,'O''Brien')",
                  "the prefix filter is applied by Graph, quotes escaped (%s)"
                  % [entry["query"].get("$filter") for entry in lists])
    code, inventory, _stderr = scenario.inventory(scenario.inventory_file(
        "template", extra_lines=["filters:", "  template_id: scimGroups"]))
    host_vars = inventory.get("_meta", {}).get("hostvars", {}) if inventory else {}
    checks.expect(code == 0 and sorted(host_vars) == ["inventory-two-jobs"]
                  and len(host_vars["inventory-two-jobs"]["entra_sync_jobs"]) == 1
                  and members(inventory, "entra_sync_active") == [],
                  "filters.template_id keeps only the jobs of that template (and the groups they give)")
    emulator.clear_log()
    code, inventory, _stderr = scenario.inventory(scenario.inventory_file(
        "tags", extra_lines=["filters:", "  tag: [HR, no-such-tag]"]))
    lists = operations(emulator.log(), "servicePrincipals.list")
    checks.expect(code == 0 and sorted(inventory.get("_meta", {}).get("hostvars", {}))
                  == ["inventory-quarantined-servicenow"]
                  and inventory["_meta"]["hostvars"]["inventory-quarantined-servicenow"]["entra_sync_tags"]
                  == ["WindowsAzureActiveDirectoryIntegratedApp", "hr"],
                  "filters.tag keeps the service principals carrying one of the tags")
    checks.expect([entry["query"].get("$filter") for entry in lists]
                  == ["tags/any(t:t eq 'HR') or tags/any(t:t eq 'no-such-tag')"]
                  and len(operations(emulator.log(), "jobs.list")) == 1,
                  "the tag filter is applied by Graph, so only that one service principal's jobs are read")


def check_constructable(checks, scenario):
    """compose, groups and keyed_groups work on the plugin's variables."""
    code, inventory, stderr = scenario.inventory(scenario.inventory_file("constructed", extra_lines=[
        "strict: true",
        "compose:", "  job_count: entra_sync_job_ids | length",
        "groups:", "  several_jobs: entra_sync_job_ids | length > 1",
        "keyed_groups:", "  - key: entra_sync_status", "    prefix: status"]))
    host_vars = inventory.get("_meta", {}).get("hostvars", {}) if inventory else {}
    checks.expect(code == 0 and host_vars.get("inventory-two-jobs", {}).get("job_count") == 2
                  and members(inventory, "several_jobs") == ["inventory-two-jobs"]
                  and "inventory-paused" in members(inventory, "status_Paused"),
                  "compose, groups and keyed_groups (exit %d) %s" % (code, stderr[-300:]))


def check_cache(checks, scenario, emulator, hosts):
    """A second run with cache: true is served from the cache: no request reaches the emulator."""
    cache_dir = os.path.join(scenario.output_dir, "inventory-cache")
    path = scenario.inventory_file("cached", extra_lines=[
        "cache: true", "cache_plugin: ansible.builtin.jsonfile", "cache_connection: " + cache_dir,
        "cache_timeout: 600"])
    emulator.clear_log()
    first_code, first, _stderr = scenario.inventory(path)
    first_entries = emulator.log()
    emulator.clear_log()
    second_code, second, _stderr = scenario.inventory(path)
    second_entries = emulator.log()
    checks.expect(first_code == 0 and len(operations(first_entries, "$batch")) > 0,
                  "cache: the first run reads Graph")
    checks.expect(second_code == 0 and second == first and len(second.get("_meta", {}).get("hostvars", {}))
                  == len(hosts) and second_entries == [],
                  "cache: the second run gives the same inventory with no request in the log (%d entries)"
                  % len(second_entries))
    cached_text = ""
    for name in os.listdir(cache_dir) if os.path.isdir(cache_dir) else []:
        with open(os.path.join(cache_dir, name)) as cached:
            cached_text += cached.read()
    checks.expect(cached_text and not any(secret in cached_text for secret in SECRETS),
                  "cache: the cache files exist and hold no secret")
    emulator.clear_log()
    code, _inventory, _stderr = scenario.inventory(path, extra=["--flush-cache"])
    checks.expect(code == 0 and operations(emulator.log(), "$batch"), "cache: --flush-cache reads Graph again")


def check_secret_sources(checks, scenario, hosts):
    """The client secret from the environment (what the AWX credential injects) and from Ansible Vault."""
    code, inventory, stderr = scenario.inventory(scenario.inventory_file("environment", with_secret=False),
                                                 environ={"AZURE_CLIENT_SECRET": READER[1]})
    checks.expect(code == 0 and len(inventory.get("_meta", {}).get("hostvars", {})) == len(hosts),
                  "the client secret comes from AZURE_CLIENT_SECRET when the file has none %s" % stderr[-300:])
    password_file = os.path.join(scenario.output_dir, "vault-password")
    with open(password_file, "w") as password:
        password.write(VAULT_PASSWORD)
    code, vaulted, _stderr = scenario.run(["ansible-vault", "encrypt_string", "--vault-password-file", password_file,
                                           "--name", "client_secret", READER[1]])
    path = scenario.inventory_file("vaulted", with_secret=False, extra_lines=[vaulted.strip()])
    code, inventory, stderr = scenario.inventory(path, extra=["--vault-password-file", password_file])
    checks.expect(code == 0 and len(inventory.get("_meta", {}).get("hostvars", {})) == len(hosts),
                  "a vaulted client_secret works %s" % stderr[-300:])
    path = scenario.inventory_file("unsafe", with_secret=False, extra_lines=["client_secret: !unsafe " + READER[1]])
    code, inventory, stderr = scenario.inventory(path)
    checks.expect(code == 0 and len(inventory.get("_meta", {}).get("hostvars", {})) == len(hosts),
                  "a client_secret marked !unsafe works %s" % stderr[-300:])


def check_host_vars_beside(checks, scenario):
    """host_vars/ beside the inventory file reach the plugin's hosts (how AWX imports a project source)."""
    directory = os.path.join(scenario.output_dir, "beside")
    os.makedirs(os.path.join(directory, "host_vars"), exist_ok=True)
    with open(os.path.join(directory, "host_vars", "inventory-paused.yml"), "w") as host_vars:
        host_vars.write("authorize_credentials: {SecretToken: emulator-secret-inv-paused}\n")
    path = scenario.inventory_file("beside", extra_lines=[])
    moved = os.path.join(directory, os.path.basename(path))
    os.replace(path, moved)
    code, inventory, stderr = scenario.inventory(moved, extra=["--export"])
    paused = (inventory or {}).get("_meta", {}).get("hostvars", {}).get("inventory-paused", {})
    checks.expect(code == 0 and paused.get("authorize_credentials") == {"SecretToken": "emulator-secret-inv-paused"}
                  and paused.get("authorize_service_principal_id"),
                  "host_vars/ beside the inventory file add to the plugin's hosts, --export too %s" % stderr[-300:])


def check_errors(checks, scenario):
    """Errors say what to fix, without a traceback or a secret."""
    cases = [
        ("no-sync-read", scenario.inventory_file("no-sync-read", client=NO_SYNC_READ), "Synchronization.Read.All"),
        ("no-object-read", scenario.inventory_file("no-object-read", client=NO_OBJECT_READ), "Application.Read.All"),
        ("wrong-cloud", scenario.inventory_file("wrong-cloud", extra_lines=["cloud: usgov"]), "set cloud to"),
        ("bad-filter", scenario.inventory_file("bad-filter", extra_lines=["filters: {name: x}"]),
         "filters: 'name' is not an option"),
    ]
    for name, path, advice in cases:
        code, _inventory, stderr = scenario.inventory(path)
        checks.expect(code != 0 and advice in stderr and "Traceback" not in stderr
                      and not any(secret in stderr for secret in SECRETS),
                      "%s: fails naming %r, no traceback, no secret: %s" % (name, advice, stderr.strip()[:400]))


def check_export(checks, scenario, hosts):
    """--list --export (what AWX imports) writes ids plainly and keeps the braces name marked; a play over the
    inventory shows that name as written, never templated."""
    path = scenario.inventory_file("export")
    code, _inventory, stderr = scenario.inventory(path, extra=["--export"])
    exported = (scenario.raw or {}).get("_meta", {}).get("hostvars", {}) if code == 0 else {}
    marked = sorted("%s.%s" % (host, name) for host, variables in exported.items()
                    for name, value in variables.items() if "__ansible_unsafe" in json.dumps(value))
    checks.expect(code == 0 and sorted(exported) == sorted(hosts) and marked == [BRACES_HOST + ".entra_sync_display_name"],
                  "--list --export: only the display name holding braces is marked unsafe (got %s) %s"
                  % (marked, stderr[-300:]))
    checks.expect(exported.get(BRACES_HOST, {}).get("authorize_service_principal_id")
                  == hosts.get(BRACES_HOST, {}).get("service_principal_id"),
                  "--list --export: the braces application's ids are plain strings")
    code, stdout, stderr = scenario.run(["ansible-playbook", "-i", path, "show_name.yml", "--limit", BRACES_HOST])
    checks.expect(code == 0 and '"entra_sync_display_name": "%s"' % BRACES_NAME in stdout and "Braces 42" not in stdout,
                  "a play prints the braces display name as written, never templated %s" % (stdout + stderr)[-400:])


def check_configuration(checks, scenario, emulator):
    """Every option is checked before any request: unknown names, bounds, cache settings, the file name, the host
    name prefix and secrets of the wrong shape, each refused naming the option and never showing a secret."""
    cache_file = os.path.join(scenario.output_dir, "cache-is-a-file")
    with open(cache_file, "w") as cache:
        cache.write("not a directory\n")
    cases = [
        ("misspelled", scenario.inventory_file("misspelled", extra_lines=["filter:", "  template_id: scim"]),
         "'filter' is not an option. Did you mean filters?"),
        ("cache-timeout", scenario.inventory_file("cache-timeout", extra_lines=[
            "cache: true", "cache_plugin: ansible.builtin.jsonfile", "cache_connection: " + scenario.output_dir,
            "cache_timeout: -100"]), "cache_timeout must be 0 (never expires) or a number of seconds, got -100"),
        ("cache-file", scenario.inventory_file("cache-file", extra_lines=[
            "cache: true", "cache_plugin: ansible.builtin.jsonfile", "cache_connection: " + cache_file]),
         "cache_connection %s is a file" % cache_file),
        ("file-name", scenario.inventory_file("file-name", file_name="contoso.yml"),
         "the file name must end with entra_sync.yml or entra_sync.yaml"),
        ("prefix", scenario.inventory_file("prefix", extra_lines=["host_name_prefix: contoso.apps"]),
         "host_name_prefix may hold only letters, digits, - and _"),
        ("secret-list", scenario.inventory_file("secret-list", with_secret=False, extra_lines=[
            "client_secret: [%s, %s]" % (READER[1], NOT_SHOWN)]), "client_secret must be text"),
        ("secret-mapping", scenario.inventory_file("secret-mapping", with_secret=False, extra_lines=[
            "client_secret: {value: %s}" % NOT_SHOWN]), "client_secret must be text"),
    ]
    for name, path, message in cases:
        emulator.clear_log()
        code, _inventory, stderr = scenario.inventory(path)
        checks.expect(code != 0 and message in flat(stderr) and emulator.log() == [] and "Traceback" not in stderr
                      and NOT_SHOWN not in stderr and READER[1] not in stderr,
                      "%s: refused before any request, naming %r, no secret shown: %s"
                      % (name, message, flat(stderr)[:400]))


def check_notices(checks, scenario, emulator):
    """A filter that matched nothing says what there was; validate_certs: false warns as the modules do."""
    code, inventory, stderr = scenario.inventory(scenario.inventory_file(
        "no-template", extra_lines=["filters:", "  template_id: scimx"]))
    checks.expect(code == 0 and not inventory.get("_meta", {}).get("hostvars")
                  and "filters.template_id scimx matched no job" in flat(stderr)
                  and "their jobs use the templates scim, scimGroups, serviceNow" in flat(stderr),
                  "a template_id that matched nothing warns with the templates seen: %s" % flat(stderr)[-400:])
    emulator.clear_log()
    code, inventory, stderr = scenario.inventory(scenario.inventory_file(
        "no-prefix", extra_lines=["filters:", "  display_name_prefix: Nobody"]))
    checks.expect(code == 0 and "filters.display_name_prefix Nobody matched no service principal" in flat(stderr)
                  and not operations(emulator.log(), "$batch"),
                  "a display_name_prefix that matched nothing says so, and no job is read")
    code, _inventory, stderr = scenario.inventory(scenario.inventory_file(
        "unchecked", extra_lines=["validate_certs: false"]))
    checks.expect(code == 0 and "validate_certs is false: TLS certificates of Graph and the sign-in service are not "
                  "checked" in flat(stderr), "validate_certs: false warns as the modules do")


class TamperingGraph:
    """An HTTPS proxy on loopback in front of the emulator's Graph that answers chosen service principals' jobs
    listings (inside $batch) with a body of the wrong shape: the malformed answers a test of the inventory needs
    and the emulator does not give."""

    def __init__(self, upstream, upstream_ca, state_dir, bodies):
        self.upstream = upstream
        self.bodies = bodies  # {service principal id: body}
        self.upstream_context = ssl.create_default_context(cafile=upstream_ca)
        from entra_emulator.pki import write_server_material  # pylint: disable=import-outside-toplevel
        os.makedirs(state_dir, exist_ok=True)
        own_ca, certificate, key = write_server_material(state_dir)
        self.ca_bundle = os.path.join(state_dir, "bundle.pem")
        with open(self.ca_bundle, "w") as bundle:
            for path in (own_ca, upstream_ca):
                with open(path) as pem:
                    bundle.write(pem.read())
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificate, key)
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = "https://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            """Forwards every request; rewrites the chosen items of a $batch answer."""

            def log_message(self, *_args):  # pylint: disable=arguments-differ
                pass

            def _forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) or None
                headers = dict((name, value) for name, value in self.headers.items()
                               if name.lower() not in ("host", "content-length", "accept-encoding", "connection"))
                request = urllib.request.Request(proxy.upstream + self.path, data=body, method=self.command,
                                                 headers=headers)
                try:
                    with urllib.request.urlopen(request, context=proxy.upstream_context, timeout=60) as answer:
                        status, answer_headers, payload = answer.status, answer.headers, answer.read()
                except urllib.error.HTTPError as error:
                    status, answer_headers, payload = error.code, error.headers, error.read()
                if self.path.endswith("/$batch") and status == 200:
                    payload = proxy.tampered(json.loads(body), json.loads(payload))
                # next links must lead back here (the client follows links to its own Graph endpoint only)
                payload = payload.replace(proxy.upstream.encode("utf-8"), proxy.url.encode("utf-8"))
                self.send_response(status)
                for name, value in answer_headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _forward

        return Handler

    def tampered(self, envelope, answer):
        """The $batch answer with the chosen service principals' jobs listings replaced; returns JSON bytes."""
        urls = dict((item["id"], item["url"]) for item in envelope["requests"])
        for item in answer.get("responses", []):
            service_principal_id = urls.get(item.get("id"), "").split("/")[2:3]
            if service_principal_id and service_principal_id[0] in self.bodies and item.get("status") == 200:
                item["body"] = self.bodies[service_principal_id[0]]
                if isinstance(item["body"], str):
                    item["headers"] = {"Content-Type": "text/html"}
        return json.dumps(answer).encode("utf-8")


def check_malformed_answers(checks, scenario, hosts):
    """A malformed jobs answer, a malformed job, a non-JSON body and a job without its id each leave out their one
    application, with a warning naming it and why; the inventory holds every other application."""
    broken = {"inventory-active": ({"value": "not a list"}, 'an object whose "value" is a string'),
              "inventory-paused": ({"value": [{"id": "paused-job", "status": "Paused"}]},
                                   "has a status that is a string, not an object"),
              "inventory-never-run": ("<html>Service Unavailable</html>", "text (not JSON)"),
              "inventory-not-configured": ({"value": [{"templateId": "scim"}]}, "job 1 of its jobs answer has no id")}
    proxy = TamperingGraph(scenario.cloud["graph_endpoint"], scenario.ca_path,
                           os.path.join(scenario.output_dir, "tampering-graph"),
                           dict((hosts[name]["service_principal_id"], body) for name, (body, _why) in broken.items()))
    try:
        code, inventory, stderr = scenario.inventory(scenario.inventory_file(
            "malformed", graph_endpoint=proxy.url, ca_path=proxy.ca_bundle))
    finally:
        proxy.close()
    host_vars = (inventory or {}).get("_meta", {}).get("hostvars", {})
    checks.expect(code == 0 and sorted(host_vars) == sorted(set(hosts) - set(broken)),
                  "malformed answers: every other application is in the inventory (exit %d, %d hosts) %s"
                  % (code, len(host_vars), flat(stderr)[-300:]))
    warning = flat(stderr)
    checks.expect("4 service principal(s) left out of the inventory" in warning and "Traceback" not in stderr,
                  "malformed answers: one warning counts the 4 applications left out")
    for name, (_body, why) in broken.items():
        checks.expect("%s (" % hosts[name]["display_name"] in warning and why in warning,
                      "malformed answers: the warning names %s and why (%s)" % (hosts[name]["display_name"], why))


def check_role(checks, scenario, emulator, hosts):
    """ansible-playbook -i <inventory> -i secrets.yml --limit entra_sync_quarantine re-authorizes exactly those."""
    secrets = {"all": {"vars": {"authorize_client_id": AUTOMATION[0], "authorize_client_secret": AUTOMATION[1]},
                       "hosts": {}}}
    for name, application in hosts.items():
        secrets["all"]["hosts"][name] = {"authorize_credentials": application["accepted_credentials"]}
    secrets_path = os.path.join(scenario.output_dir, "secrets.yml")
    with open(secrets_path, "w") as secrets_file:
        json.dump(secrets, secrets_file)
    quarantined = sorted(name for name, application in hosts.items()
                         if any(job["code"] == "Quarantine" for job in application["jobs"]))
    emulator.reset()
    code, stdout, stderr = scenario.run(["ansible-playbook", "-i", scenario.inventory_file("role"), "-i",
                                         secrets_path, "authorize.yml", "--limit", "entra_sync_quarantine"])
    entries = emulator.log()
    acquired = sorted(entry["path"].split("/")[3] for entry in operations(entries, "acquireAccessToken"))
    wanted = sorted(hosts[name]["service_principal_id"] for name in quarantined)
    checks.expect(code == 0 and acquired == wanted,
                  "--limit entra_sync_quarantine: acquireAccessToken for exactly the %d quarantined applications "
                  "(exit %d, got %d) %s" % (len(wanted), code, len(acquired), (stdout + stderr)[-600:]))
    checked_jobs = set(entry["path"].split("/")[6] for entry in operations(entries, "validateCredentials"))
    quarantined_job = next(job["id"] for job in hosts["inventory-two-jobs"]["jobs"] if job["code"] == "Quarantine")
    checks.expect(quarantined_job in checked_jobs,
                  "the role checked the quarantined job of the application with two jobs")
    authorized = sorted(application["service_principal_id"] for application in emulator.applications(TENANT_ID)
                        if application.get("authorized"))
    checks.expect(authorized == wanted, "the emulator holds exactly the quarantined applications as authorized")
    recap = dict((match.group(1), match.group(2)) for match in RECAP_LINE.finditer(stdout))
    checks.expect(recap == dict((name, "1") for name in quarantined),
                  "PLAY RECAP: the quarantined applications, each changed, and no other host (%s)" % recap)
    emulator.clear_log()
    code, stdout, stderr = scenario.run(["ansible-playbook", "-i", scenario.inventory_file("role"), "-i",
                                         secrets_path, "lift_quarantine.yml"])
    restarts = operations(emulator.log(), "jobs.restart")
    recap = dict((match.group(1), match.group(2)) for match in RECAP_LINE.finditer(stdout))
    checks.expect(code == 0 and recap == dict((name, "1") for name in quarantined)
                  and sorted(entry["path"].split("/")[3] for entry in restarts) == wanted
                  and all(entry.get("body") == {} for entry in restarts),
                  "docs/inventory.md step 5: a restart without reset_scope (body {}) per quarantined application, in "
                  "its own cloud and endpoints, and each job read again is no longer quarantined (exit %d, %s) %s"
                  % (code, recap, (stdout + stderr)[-600:]))


def main(config_path, output_dir):
    """Run every scenario; exit non-zero when any expectation failed."""
    with open(config_path) as config_file:
        config = json.load(config_file)
    from entra_emulator import ControlClient  # pylint: disable=import-outside-toplevel
    from entra_emulator.seed import load_seed  # pylint: disable=import-outside-toplevel

    emulator = ControlClient(config["emulator"]["control_url"], config["emulator"]["ca_path"])
    hosts, listed_count = expected_hosts(load_seed(config["emulator_seed_path"]))
    scenario = Scenario(output_dir, config["emulator"])
    checks = Checks()
    emulator.reset()
    check_listing(checks, scenario, emulator, hosts, listed_count)
    check_next_links_on_cloud_root(checks, scenario, emulator, hosts)
    check_filters(checks, scenario, emulator)
    check_constructable(checks, scenario)
    check_cache(checks, scenario, emulator, hosts)
    check_secret_sources(checks, scenario, hosts)
    check_host_vars_beside(checks, scenario)
    check_errors(checks, scenario)
    check_export(checks, scenario, hosts)
    check_configuration(checks, scenario, emulator)
    check_notices(checks, scenario, emulator)
    check_malformed_answers(checks, scenario, hosts)
    check_role(checks, scenario, emulator, hosts)
    transcripts = "\n".join(scenario.transcripts)
    checks.expect(not any(secret in transcripts for secret in SECRETS), "no client secret appears in any output")
    with open(os.path.join(output_dir, "entra_sync_inventory.log"), "w") as log:
        log.write(transcripts)
    if checks.failures:
        print("%d expectation(s) failed" % len(checks.failures))
        return 1
    print("all expectations met")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
