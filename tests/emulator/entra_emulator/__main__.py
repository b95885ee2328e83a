"""Command line: `python -m entra_emulator start|stop|serve|list ...` (see tests/emulator/README.md).

Run it with the tools venv's interpreter, `.venv/tools/bin/python` (`make demo` creates it): the emulator needs
aiohttp, PyJWT, cryptography and PyYAML, which the collection itself does not, so a system Python usually lacks them.
"""

import argparse
import asyncio
import importlib.util
import json
import logging
import os
import re
import selectors
import sys

# Import name -> what to install; checked before anything starts, so a wrong interpreter gets a sentence, not a
# traceback from the detached server's log.
REQUIRED_MODULES = (("aiohttp", "aiohttp"), ("jwt", "PyJWT[crypto]"), ("cryptography", "cryptography"),
                    ("yaml", "PyYAML"))
TOOLS_PYTHON = os.path.join(".venv", "tools", "bin", "python")


def missing_requirements():
    """Return the packages this interpreter lacks to run the emulator (empty when it has them all)."""
    return [package for module, package in REQUIRED_MODULES if importlib.util.find_spec(module) is None]


def _wrong_interpreter_message(missing):
    return ("this Python (%s) lacks %s, which the emulator needs. Run it with the tools venv's interpreter, "
            "%s (make demo creates it), or install tests/emulator/requirements.txt into this one."
            % (sys.executable, ", ".join(missing), TOOLS_PYTHON))


def _group_name(tenant):
    name = re.sub(r"[^a-z0-9]+", "_", tenant["display_name"].lower()).strip("_")
    return name or "tenant_" + tenant["id"].split("-")[0]


def _example_application(tenant):
    """The first application of a tenant that can be authorized as a newcomer would try it: one job, credentials."""
    for application in tenant["applications"]:
        if len(application["jobs"]) == 1 and application["accepted_credentials"] and not application["authorized"]:
            return application
    return None


def _automation_client(tenant):
    """The tenant's first client that signs in with a secret and may authorize every application."""
    for client in tenant["clients"]:
        if client["secrets"] and "Synchronization.ReadWrite.All" in client["permissions"]:
            return client
    return None


def inventory_text(info, seed, state_dir):
    """Return a YAML inventory (valid as an `-i` source) whose groups are the seed's tenants, pointed at this
    emulator: the variables to copy into one's own group_vars, and one example application per tenant."""
    stop = "%s -m entra_emulator stop --state-dir %s" % (TOOLS_PYTHON, state_dir)
    lines = [
        "# The emulator runs in the background (pid %s). Stop it with:" % info["pid"],
        "#   " + stop,
        "# Each group below is a tenant of the seed, pointed at the emulator. Copy a group's vars into the",
        "# group_vars of your own group of applications (the entra.provisioning.authorize role), or give them to",
        "# the entra_sync_acquire_token module without the authorize_ prefix. Everything here is fake and the CA",
        "# is the emulator's own: never use these values against a real tenant.",
        "all:",
        "  children:",
    ]
    for tenant in seed["tenants"]:
        cloud = info["clouds"][tenant["cloud"]]
        client = _automation_client(tenant)
        heading = "    %s:  # %s, %d applications" % (_group_name(tenant), tenant["display_name"],
                                                      len(tenant["applications"]))
        lines += [heading,
                  "      vars:",
                  "        authorize_cloud: %s" % tenant["cloud"],
                  "        authorize_tenant_id: %s" % tenant["id"]]
        if client:
            lines += ["        authorize_client_id: %s  # %s" % (client["client_id"], client["display_name"]),
                      "        authorize_client_secret: %s" % json.dumps(client["secrets"][0])]
        lines += ["        authorize_graph_endpoint: %s" % cloud["graph_endpoint"],
                  "        authorize_authority_host: %s" % cloud["authority_host"],
                  "        authorize_ca_path: %s" % json.dumps(info["ca_path"])]
        example = _example_application(tenant)
        if example:
            lines += ["      hosts:",
                      "        %s:" % re.sub(r"[^A-Za-z0-9_-]+", "-", example["name"]).strip("-").lower(),
                      "          authorize_display_name: %s" % json.dumps(example["display_name"]),
                      "          authorize_credentials:"]
            lines += ["            %s: %s" % (key, json.dumps(value))
                      for key, value in example["accepted_credentials"].items()]
    return "\n".join(lines) + "\n"


def applications_text(seed, live_applications=None, tenant_id=None):
    """Return a plain listing of the seed's tenants: cloud, clients (id, permissions, how they sign in) and every
    application (display name, service principal id, appId, jobs, credential names). ``live_applications`` (the
    control API's application states) replaces the seed's applications with what a running emulator holds now:
    those created at run time too, and whether each is authorized."""
    lines = []
    for tenant in seed["tenants"]:
        if tenant_id and tenant["id"] != tenant_id.lower():
            continue
        applications = tenant["applications"] if live_applications is None else [
            application for application in live_applications if application["tenant_id"] == tenant["id"]]
        lines.append("tenant_id %s  %s  cloud %s  %d applications"
                     % (tenant["id"], tenant["display_name"], tenant["cloud"], len(applications)))
        for client in tenant["clients"]:
            kinds = (("secret", client["secrets"]), ("certificate", client.get("certificates")),
                     ("federated", client.get("federated_credentials")))
            signs_in = ", ".join(kind for kind, present in kinds if present) or "no credential"
            lines.append("  client_id %s  %s  [%s]  signs in with: %s"
                         % (client["client_id"], client["display_name"], ", ".join(client["permissions"]), signs_in))
        for application in applications:
            # the seed says which credentials an application accepts; a running emulator, which it has saved
            credentials = (", ".join(sorted(application["accepted_credentials"])) or "none" if live_applications is None
                           else "saved " + (", ".join(application["saved_credential_keys"]) or "none"))
            state = "authorized" if application["authorized"] else "not authorized"
            lines.append("  application %s (%s)" % (json.dumps(application["display_name"]), state))
            lines.append("    service_principal_id %s  app_id %s"
                         % (application["service_principal_id"], application["app_id"]))
            lines += ["    job_id %s  template %s  status %s" % (job["id"], job["templateId"], job["code"])
                      for job in application["jobs"]] or ["    no synchronization job"]
            lines.append("    credentials: %s" % credentials)
    if tenant_id and not lines:
        raise ValueError("no tenant %s in the seed; its tenants are %s"
                         % (tenant_id, ", ".join(tenant["id"] for tenant in seed["tenants"])))
    return "\n".join(lines) + "\n"


def _list(arguments, load_seed, read_info, control_client):
    """The `list` command: from a seed file, or from the running emulator of a state directory."""
    if arguments.state_dir:
        info = read_info(arguments.state_dir)
        if not info:
            print("no emulator runs for %s (no emulator.json); start one, or list a seed with --seed"
                  % arguments.state_dir, file=sys.stderr)
            return 1
        seed = load_seed(info["seed_path"])
        live = control_client(info["control_url"], info["ca_path"]).applications()
    else:
        seed, live = load_seed(arguments.seed), None
    try:
        print(applications_text(seed, live, arguments.tenant), end="")
    except ValueError as error:
        print(str(error), file=sys.stderr)
        return 1
    return 0


def _faults_from_arguments(arguments):
    from .faults import normalize_faults  # imported late, as in main()

    faults = {}
    if arguments.faults:
        text = arguments.faults
        if text.startswith("@"):
            with open(text[1:], "r", encoding="utf-8") as handle:
                text = handle.read()
        faults.update(json.loads(text))
    for name in ("latency_ms", "token_latency_ms", "token_lifetime"):
        value = getattr(arguments, name)
        if value is not None:
            faults[name] = value
    normalize_faults(faults)  # fail early, before anything starts
    return faults


def _add_server_options(parser):
    parser.add_argument("--seed", required=True, help="seed YAML file")
    parser.add_argument("--state-dir", required=True, help="directory for emulator.json, ca.pem, certs, log")
    parser.add_argument("--latency-ms", type=float, help="added latency per Graph request")
    parser.add_argument("--token-latency-ms", type=float, help="added latency per token request")
    parser.add_argument("--token-lifetime", type=int, help="lifetime of issued access tokens in seconds")
    parser.add_argument("--port-base", type=_port_base, help="fixed ports: global=N, usgov=N+1, usgov_dod=N+2, "
                                                             "china=N+3 (default: free ones, new at every start)")
    parser.add_argument("--faults", help="start-up faults as JSON, or @file")
    parser.add_argument("--log-limit", type=int, help="request log entries kept (oldest dropped first)")


def _port_base(text):
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a port number" % text) from None
    if not 1024 <= port <= 65532:
        raise argparse.ArgumentTypeError("%d: the four ports N..N+3 must lie between 1024 and 65535, so N is "
                                         "1024 to 65532" % port)
    return port


def main(argv=None):
    """Entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m entra_emulator", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="start in the background and print emulator.json")
    _add_server_options(start)
    start.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for start-up")
    start.add_argument("--print", dest="print_format", choices=("json", "inventory", "applications"), default="json",
                       help="print emulator.json (default), an inventory of the seed's tenants pointed at the "
                            "emulator (the variables to use in your own inventory), or the list of its tenants, "
                            "clients and applications")
    serve = commands.add_parser("serve", help="run in the foreground")
    _add_server_options(serve)
    stop = commands.add_parser("stop", help="stop the emulator of a state directory")
    stop.add_argument("--state-dir", required=True)
    listing = commands.add_parser("list", help="list the tenants, clients and applications (with their ids and jobs) "
                                               "of a seed, or of the running emulator of a state directory")
    source = listing.add_mutually_exclusive_group(required=True)
    source.add_argument("--seed", help="seed YAML file")
    source.add_argument("--state-dir", help="state directory of a running emulator: what it holds now")
    listing.add_argument("--tenant", help="only this tenant id")
    arguments = parser.parse_args(argv)

    missing = missing_requirements()
    if missing:
        print("cannot %s the emulator: %s" % (arguments.command, _wrong_interpreter_message(missing)),
              file=sys.stderr)
        return 2
    # imported late: a wrong interpreter must get the sentence above, not an ImportError
    from .faults import FaultError
    from .process import ControlClient, EmulatorError, read_info, start_detached, stop_detached
    from .seed import SeedError, load_seed

    if arguments.command == "stop":
        stopped = stop_detached(arguments.state_dir)
        print("stopped" if stopped else "not running")
        return 0
    if arguments.command == "list":
        try:
            return _list(arguments, load_seed, read_info, ControlClient)
        except (SeedError, OSError, EmulatorError) as error:
            print("cannot list: %s" % error, file=sys.stderr)
            return 1
    try:
        faults = _faults_from_arguments(arguments)
    except (FaultError, ValueError, OSError) as error:
        print("invalid faults: %s" % error, file=sys.stderr)
        return 2
    if arguments.command == "start":
        try:
            info = start_detached(arguments.seed, arguments.state_dir, timeout=arguments.timeout,
                                  port_base=arguments.port_base, log_limit=arguments.log_limit,
                                  faults=json.dumps(faults) if faults else None)
        except EmulatorError as error:
            print(str(error), file=sys.stderr)
            return 1
        if arguments.print_format == "inventory":
            print(inventory_text(info, load_seed(arguments.seed), os.path.abspath(arguments.state_dir)), end="")
        elif arguments.print_format == "applications":
            print(applications_text(load_seed(arguments.seed)), end="")
        else:
            print(json.dumps(info, indent=2, sort_keys=True))
        return 0
    from .server import run  # imported late: start/stop must not need aiohttp

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        with asyncio.Runner(loop_factory=punctual_loop) as runner:
            runner.run(run(arguments.seed, arguments.state_dir, port_base=arguments.port_base, faults=faults,
                           log_limit=arguments.log_limit))
    except (OSError, ValueError) as error:
        logging.getLogger("entra_emulator").error("cannot serve: %s", error)
        return 1
    return 0


def punctual_loop():
    """The emulator's event loop, on select(): its timeout has microsecond resolution, so an answer due after a
    latency leaves on time. The default epoll selector rounds every wait up to the next millisecond: answers left
    0.7 ms late on average (measured with a plain http.client client at 25 ms: 27.06 ms a request, 26.39 ms on
    select()), which a benchmark charged to the client at every round trip. The emulator holds a few dozen
    connections, far below select()'s limit of 1024 file descriptors."""
    return asyncio.SelectorEventLoop(selectors.SelectSelector())


if __name__ == "__main__":
    sys.exit(main())
