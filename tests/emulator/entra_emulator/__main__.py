"""Command line: `python -m entra_emulator start|stop|serve ...` (see tests/emulator/README.md)."""

import argparse
import asyncio
import json
import logging
import sys

from .faults import FaultError, normalize_faults
from .process import EmulatorError, start_detached, stop_detached


def _faults_from_arguments(arguments):
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
    serve = commands.add_parser("serve", help="run in the foreground")
    _add_server_options(serve)
    stop = commands.add_parser("stop", help="stop the emulator of a state directory")
    stop.add_argument("--state-dir", required=True)
    arguments = parser.parse_args(argv)

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
        print(json.dumps(info, indent=2, sort_keys=True))
        return 0
    from .server import run  # imported late: start/stop must not need aiohttp

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(run(arguments.seed, arguments.state_dir, port_base=arguments.port_base, faults=faults,
                        log_limit=arguments.log_limit))
    except (OSError, ValueError) as error:
        logging.getLogger("entra_emulator").error("cannot serve: %s", error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
