"""Measure the emulator's Graph throughput on loopback (issue 3 asks for >= 1,000 requests/s).

Starts its own emulator (a child process, no added latency) with a generated tenant of token-connector
apps, then drives it from this process with concurrent aiohttp clients for a bounded time per mode:

* direct: each worker alternates GET servicePrincipals/{id} and POST .../acquireAccessToken
* batch:  each worker sends $batch envelopes of 20 acquireAccessToken items (each item counts)

Graph requests are counted by the emulator itself (counters.graph_requests: direct requests plus batch
items). Besides the wall-clock rate it reports the rate per CPU-second the emulator process used (Linux
/proc), which stays meaningful when other processes share the machine. Prints one JSON summary. Usage:

    .venv/tools/bin/python tests/emulator/bench_throughput.py [--seconds 5] [--workers 16]
"""

import argparse
import asyncio
import json
import os
import ssl
import sys
import tempfile
import time

import aiohttp
from entra_emulator import EmulatorProcess, load_seed

TENANT_ID = "0b5e7c1d-2f3a-4b6c-8d9e-0f1a2b3c4d5e"
CLIENT_ID = "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"
CLIENT_SECRET = "emulator-secret-bench"
APP_COUNT = 1000


def bench_seed():
    """A global tenant with one Synchronization.ReadWrite.All client and APP_COUNT token-connector apps."""
    return {"tenants": [{
        "id": TENANT_ID, "cloud": "global", "display_name": "Benchmark",
        "clients": [{"client_id": CLIENT_ID, "secrets": [CLIENT_SECRET],
                     "permissions": ["Synchronization.ReadWrite.All", "Application.Read.All"]}],
        "generate": {"count": APP_COUNT, "name_prefix": "bench-", "template": {
            "jobs": [{"templateId": "scim"}],
            "accepted_credentials": {"BaseAddress": "https://{name}.example.invalid/scim",
                                     "SecretToken": "emulator-secret-{name}"}}},
    }]}


def server_cpu_seconds(pid):
    """CPU time (user + system) the emulator process has used so far, from /proc; None where unavailable."""
    try:
        with open("/proc/%d/stat" % pid, "r", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # utime and stime are fields 14 and 15 of stat(5); fields[0] here is field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _acquire_body(app):
    return {"credentials": [{"key": key, "value": value} for key, value in app["accepted_credentials"].items()]}


async def _worker(session, base, headers, apps, offset, mode, deadline, tally):
    index = offset
    while time.monotonic() < deadline:
        if mode == "direct":
            app = apps[index % len(apps)]
            index += 1
            if index % 2:
                request = session.get("%s/v1.0/servicePrincipals/%s" % (base, app["service_principal_id"]),
                                      headers=headers)
            else:
                request = session.post("%s/v1.0/servicePrincipals/%s/synchronization/acquireAccessToken"
                                       % (base, app["service_principal_id"]), json=_acquire_body(app),
                                       headers=headers)
            async with request as response:
                await response.read()
                tally["sent"] += 1
                tally["errors"] += response.status >= 400
        else:
            items = []
            for position in range(20):
                app = apps[(index + position) % len(apps)]
                items.append({"id": str(position), "method": "POST",
                              "url": "/servicePrincipals/%s/synchronization/acquireAccessToken"
                                     % app["service_principal_id"],
                              "headers": {"Content-Type": "application/json"}, "body": _acquire_body(app)})
            index += 20
            async with session.post("%s/v1.0/$batch" % base, json={"requests": items}, headers=headers) as response:
                body = await response.json()
                tally["sent"] += 20
                tally["errors"] += sum(item["status"] >= 400 for item in body.get("responses", [])) \
                    if response.status == 200 else 20


async def _run_mode(info, apps, mode, seconds, workers):
    base = info["clouds"]["global"]["graph_endpoint"]
    context = ssl.create_default_context(cafile=info["ca_path"])
    connector = aiohttp.TCPConnector(ssl=context, limit=workers)
    async with aiohttp.ClientSession(connector=connector, trust_env=False) as session:
        async with session.post("%s/%s/oauth2/v2.0/token" % (info["clouds"]["global"]["authority_host"], TENANT_ID),
                                data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
                                      "client_secret": CLIENT_SECRET,
                                      "scope": "https://graph.microsoft.com/.default"}) as response:
            token = (await response.json())["access_token"]
        headers = {"Authorization": "Bearer " + token}
        tally = {"sent": 0, "errors": 0}
        started = time.monotonic()
        deadline = started + seconds
        await asyncio.gather(*(_worker(session, base, headers, apps, number * 37, mode, deadline, tally)
                               for number in range(workers)))
        elapsed = time.monotonic() - started
    return tally, elapsed


def main(argv=None):
    """Run both modes and print the summary; exit status 1 when any request failed."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each mode (max 120)")
    parser.add_argument("--workers", type=int, default=16, help="concurrent client connections")
    parser.add_argument("--modes", default="direct,batch")
    arguments = parser.parse_args(argv)
    seconds = min(max(arguments.seconds, 0.5), 120.0)
    seed = bench_seed()
    apps = load_seed(seed)["tenants"][0]["applications"]
    summary = {"cpus": os.cpu_count(), "workers": arguments.workers, "seconds_per_mode": seconds, "modes": {}}
    with tempfile.TemporaryDirectory(prefix="emulator-bench-") as state_dir:
        # A small log: the benchmark does not read it and a big one would only cost memory.
        with EmulatorProcess(seed=seed, state_dir=state_dir, latency_ms=0, log_limit=10000) as emulator:
            for mode in arguments.modes.split(","):
                emulator.reset()
                cpu_before = server_cpu_seconds(emulator.info["pid"])
                tally, elapsed = asyncio.run(_run_mode(emulator.info, apps, mode, seconds, arguments.workers))
                cpu_after = server_cpu_seconds(emulator.info["pid"])
                counted = emulator.counters()["graph_requests"]
                figures = {
                    "graph_requests_counted_by_emulator": counted,
                    "client_requests": tally["sent"],
                    "errors": tally["errors"],
                    "elapsed_seconds": round(elapsed, 3),
                    "graph_requests_per_second": round(counted / elapsed, 1),
                }
                if cpu_before is not None and cpu_after is not None and cpu_after > cpu_before:
                    # What one core of emulator time serves: unlike the wall-clock rate it does not drop
                    # when other processes share the machine.
                    figures["server_cpu_seconds"] = round(cpu_after - cpu_before, 3)
                    figures["graph_requests_per_server_cpu_second"] = round(counted / (cpu_after - cpu_before), 1)
                summary["modes"][mode] = figures
    print(json.dumps(summary, indent=2))
    return 1 if any(mode["errors"] for mode in summary["modes"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
