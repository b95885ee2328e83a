"""Command line: `python -m entra_emulator start|stop|serve ...` (see tests/emulator/README.md).

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
    stop = "PYTHONPATH=tests/emulator %s -m entra_emulator stop --state-dir %s" % (TOOLS_PYTHON, state_dir)
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
    parser.add_argument("--port-base", type=int, help="global=N, usgov=N+1, usgov_dod=N+2, china=N+3 (default: free)")
    parser.add_argument("--faults", help="start-up faults as JSON, or @file")
    parser.add_argument("--log-limit", type=int, help="request log entries kept (oldest dropped first)")


def main(argv=None):
    """Entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m entra_emulator", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="start in the background and print emulator.json")
    _add_server_options(start)
    start.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for start-up")
    start.add_argument("--print", dest="print_format", choices=("json", "inventory"), default="json",
                       help="print emulator.json (default), or an inventory of the seed's tenants pointed at the "
                            "emulator: the variables to use in your own inventory")
    serve = commands.add_parser("serve", help="run in the foreground")
    _add_server_options(serve)
    stop = commands.add_parser("stop", help="stop the emulator of a state directory")
    stop.add_argument("--state-dir", required=True)
    arguments = parser.parse_args(argv)

    missing = missing_requirements()
    if missing:
        print("cannot %s the emulator: %s" % (arguments.command, _wrong_interpreter_message(missing)),
              file=sys.stderr)
        return 2
    # imported late: a wrong interpreter must get the sentence above, not an ImportError
    from .faults import FaultError
    from .process import EmulatorError, start_detached, stop_detached
    from .seed import load_seed

    if arguments.command == "stop":
        stopped = stop_detached(arguments.state_dir)
        print("stopped" if stopped else "not running")
        return 0
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
