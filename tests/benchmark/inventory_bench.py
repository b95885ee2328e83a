"""Benchmark: build the entra_sync inventory of 100 and 2,000 applications against the emulator, beside the floor.

Run with the tools venv's python: ``python tests/benchmark/inventory_bench.py [--sizes 100,2000]``. For each size it
starts the local emulator with a generated one-tenant seed (every application with one job, in rotating states)
and a fixed added latency, runs a real ``ansible-inventory --list`` with this checkout as the collection, counts the
round trips in the emulator's request log, and sets them beside the floor: the listing pages (999 a page) plus the
``$batch`` envelopes of job reads (20 to an envelope) plus one token. It also times a run served from the inventory
cache and ``ansible-inventory`` on an empty static inventory (the fixed cost of the command). The table goes to
stdout and to ``results/inventory.md``.
"""

import argparse
import datetime
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from entra_emulator import EmulatorProcess
from entra_test_helpers.inventory import plain

# This folder's modules: Python puts a script's own folder first on sys.path.
import probes
import workload

BENCHMARK_DIR = os.path.dirname(os.path.abspath(__file__))

RESULTS_PATH = os.path.join(BENCHMARK_DIR, "results", "inventory.md")
PAGE_SIZE = 999
BATCH_LIMIT = 20
# The plugin's default number of $batch envelopes in flight.
MAX_CONCURRENCY = 4
STATES = ("Active", "Active", "Active", "Paused", "Quarantine", "NotRun", "NotConfigured")
APP_PREFIX = "inv-bench-"


def parse_arguments(argv=None):
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,2000", help="application counts (default 100,2000)")
    parser.add_argument("--latency-ms", type=float, default=25, help="added latency per Graph request (25)")
    parser.add_argument("--token-latency-ms", type=float, default=50, help="added latency per token request (50)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per size; the median counts (3)")
    parser.add_argument("--results", default=RESULTS_PATH, help="where the markdown table goes")
    return parser.parse_args(argv)


def seed(application_count):
    """One tenant, a read-only automation client, and applications with one job each in rotating states."""
    return {"tenants": [{
        "id": workload.TENANT_ID, "cloud": workload.CLOUD, "display_name": "Inventory benchmark tenant (emulated)",
        "clients": [{"client_id": workload.CLIENT_ID, "display_name": "inventory reader",
                     "secrets": [workload.CLIENT_SECRET],
                     "permissions": ["Synchronization.Read.All", "Application.Read.All"]}],
        "generate": [{"count": count, "name_prefix": "%s%s-" % (APP_PREFIX, state.lower()), "pad": 4,
                      "template": {"jobs": [{"templateId": "scim", "status": state}]}}
                     for state, count in _counts_by_state(application_count).items()],
    }]}


def _counts_by_state(application_count):
    counts = dict((state, 0) for state in STATES)
    for index in range(application_count):
        counts[STATES[index % len(STATES)]] += 1
    return dict((state, count) for state, count in counts.items() if count)


def inventory_file(directory, emulator_info, cache_dir=None):
    """Write the entra_sync inventory file for the benchmark tenant; return its path."""
    cloud = emulator_info["clouds"][workload.CLOUD]
    config = {"plugin": "entra.provisioning.entra_sync", "tenant_id": workload.TENANT_ID,
              "client_id": workload.CLIENT_ID, "client_secret": workload.CLIENT_SECRET,
              "graph_endpoint": cloud["graph_endpoint"], "authority_host": cloud["authority_host"],
              "ca_path": emulator_info["ca_path"]}
    name = "bench.entra_sync.yml"
    if cache_dir:
        config.update({"cache": True, "cache_plugin": "ansible.builtin.jsonfile", "cache_connection": cache_dir})
        name = "cached.entra_sync.yml"
    path = os.path.join(directory, name)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(config, handle)
    return path


def run_inventory(path, collections_path, peaks=None):
    """Run ansible-inventory --list; return (seconds, host variables by host name). ``peaks``, a list, gets the
    command's peak resident memory in KiB (the largest of its process tree)."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_INVENTORY_UNPARSED_FAILED="true")
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as output, tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "ansible-inventory"), "-i", path,
                                    "--list"], stdout=output, stderr=errors, text=True, env=env)
        sampler = probes.ProcessTreeSampler(process.pid).start()
        returncode = process.wait()
        seconds = time.monotonic() - started
        sampler.stop()
        output.seek(0)
        errors.seek(0)
        if returncode != 0:
            raise SystemExit("ansible-inventory failed:\n" + errors.read()[-2000:])
        text = output.read()
    if peaks is not None:
        peaks.append(max(sampler.controller_peak_kib, sampler.worker_peak_kib))
    return seconds, json.loads(text).get("_meta", {}).get("hostvars", {})


def static_copy_seconds(directory, host_vars, collections_path, repeats):
    """The median time of ansible-inventory --list over a static file holding the same hosts and variables."""
    path = os.path.join(directory, "static-%d.yml" % len(host_vars))
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({"all": {"hosts": plain(host_vars)}}, handle)  # JSON is YAML
    return statistics.median(run_inventory(path, collections_path)[0] for _repeat in range(repeats))


def floor(application_count, latency_ms, token_latency_ms):
    """(round trips, seconds) of the least any client could do: one token, the pages, the job envelopes."""
    pages = max(1, math.ceil(application_count / float(PAGE_SIZE)))
    envelopes = math.ceil(application_count / float(BATCH_LIMIT))
    # Pages follow one another (each names the next); envelopes go MAX_CONCURRENCY at a time.
    seconds = (token_latency_ms + pages * latency_ms + math.ceil(envelopes / float(MAX_CONCURRENCY)) * latency_ms) / 1000
    return pages, envelopes, seconds


def measure(application_count, arguments, scratch_dir, collections_path):
    """Run one size; return a dict of figures."""
    state_dir = os.path.join(scratch_dir, "emulator-%d" % application_count)
    with EmulatorProcess(seed=seed(application_count), state_dir=state_dir, latency_ms=arguments.latency_ms,
                         token_latency_ms=arguments.token_latency_ms) as emulator:
        path = inventory_file(scratch_dir, emulator.info)
        timings = []
        peaks = []
        for _repeat in range(arguments.repeats):
            emulator.clear_log()
            seconds, host_vars = run_inventory(path, collections_path, peaks)
            timings.append(seconds)
            entries = emulator.log()
        hosts = len(host_vars)
        if hosts != application_count:
            raise SystemExit("expected %d hosts, got %d" % (application_count, hosts))
        static_seconds = static_copy_seconds(scratch_dir, host_vars, collections_path, arguments.repeats)
        cache_dir = os.path.join(scratch_dir, "cache-%d" % application_count)
        cached_path = inventory_file(scratch_dir, emulator.info, cache_dir=cache_dir)
        run_inventory(cached_path, collections_path)
        emulator.clear_log()
        cached_seconds, cached_host_vars = run_inventory(cached_path, collections_path)
        cached_requests = len(emulator.log())
    pages, envelopes, floor_seconds = floor(application_count, arguments.latency_ms, arguments.token_latency_ms)
    return {
        "applications": application_count, "seconds": statistics.median(timings), "hosts": hosts,
        "round_trips": sum(1 for entry in entries if not entry.get("in_batch")),
        "tokens": sum(1 for entry in entries if entry.get("kind") == "token"),
        "pages": sum(1 for entry in entries if entry.get("operation") == "servicePrincipals.list"),
        "envelopes": sum(1 for entry in entries if entry.get("operation") == "$batch"),
        "job_reads": sum(1 for entry in entries if entry.get("operation") == "jobs.list"),
        "graph_span_seconds": log_span(entries),
        "floor_round_trips": 1 + pages + envelopes, "floor_pages": pages, "floor_envelopes": envelopes,
        "floor_seconds": floor_seconds, "cached_seconds": cached_seconds, "cached_requests": cached_requests,
        "cached_hosts": len(cached_host_vars), "static_seconds": static_seconds,
        "peak_rss_mib": round(max(peaks) / 1024.0, 1) if peaks and max(peaks) else None,
    }


def as_record(figures):
    """One size's figures as a row of the main benchmark's table (contender ``inventory``)."""
    size = figures["applications"]
    return {
        "name": "inventory-%d" % size, "contender": "inventory", "n": size, "forks": None, "measured": True,
        "wall_seconds": figures["seconds"], "floor_seconds": figures["floor_seconds"],
        "round_trips": figures["round_trips"], "token_requests": figures["tokens"],
        "graph_requests": figures["pages"] + figures["job_reads"], "throttled": 0,
        "controller_peak_rss_mib": figures["peak_rss_mib"], "cached_seconds": figures["cached_seconds"],
        "static_seconds": figures["static_seconds"], "expect": "inventory",
        "correct": figures["hosts"] == size and figures["cached_hosts"] == size,
        "failed_checks": [] if figures["hosts"] == size else ["%d hosts for %d service principals"
                                                              % (figures["hosts"], size)],
    }


def log_span(entries):
    """Seconds from the first request's arrival to the last one's, plus its latency: the plugin's network phase."""
    moments = [datetime.datetime.strptime(entry["time"], "%Y-%m-%dT%H:%M:%S.%fZ") for entry in entries
               if not entry.get("in_batch")]
    return (max(moments) - min(moments)).total_seconds() if moments else 0.0


def empty_inventory_seconds(scratch_dir, collections_path, repeats):
    """The median time of ansible-inventory --list over a one-host static inventory: the command's fixed cost."""
    path = os.path.join(scratch_dir, "static.yml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("all:\n  hosts:\n    one:\n")
    return statistics.median(run_inventory(path, collections_path)[0] for _repeat in range(repeats))


def table(rows, baseline_seconds, arguments):
    """The results as markdown."""
    lines = [
        "| applications | build time | Graph phase | round trips (token + pages + $batch) | floor round trips | "
        "floor time | job reads | from cache | requests from cache | same hosts from a static file |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append("| %s | %.2f s | %.2f s | %d (%d + %d + %d) | %d (1 + %d + %d) | %.2f s | %d | %.2f s | %d | %.2f s |" % (
            "{:,}".format(row["applications"]), row["seconds"], row["graph_span_seconds"], row["round_trips"], row["tokens"], row["pages"],
            row["envelopes"], row["floor_round_trips"], row["floor_pages"], row["floor_envelopes"],
            row["floor_seconds"], row["job_reads"], row["cached_seconds"], row["cached_requests"],
            row["static_seconds"]))
    lines.append("")
    lines.append("Graph phase: from the first request the emulator logged (the token) to the arrival of the last "
                 "one, so it leaves out the latency of the last answer. `ansible-inventory --list` of a one-host static "
                 "inventory takes %.2f s here (the command's own cost, included in the build and cache times); the last "
                 "column is ansible-inventory reading the hosts and variables the plugin made from a static YAML "
                 "file, i.e. what the hosts cost Ansible itself. Latency: %g ms per Graph request (a `$batch` envelope "
                 "once), %g ms per token request; median of %d runs; %d envelopes in flight."
                 % (baseline_seconds, arguments.latency_ms, arguments.token_latency_ms, arguments.repeats,
                    MAX_CONCURRENCY))
    return "\n".join(lines)


def main(argv=None):
    """Run every size, print the table and write it to the results file."""
    arguments = parse_arguments(argv)
    sizes = [int(size) for size in arguments.sizes.split(",") if size.strip()]
    scratch_dir = tempfile.mkdtemp(prefix="entra-inventory-bench-")
    try:
        collections_path = workload.collections_dir(scratch_dir)
        baseline = empty_inventory_seconds(scratch_dir, collections_path, arguments.repeats)
        rows = [measure(size, arguments, scratch_dir, collections_path) for size in sizes]
    finally:
        shutil.rmtree(scratch_dir, ignore_errors=True)
    text = table(rows, baseline, arguments)
    print(text)
    written = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    header = ("# Inventory build time (entra.provisioning.entra_sync)\n\n"
              "Written by `tests/benchmark/inventory_bench.py` on %s (%s, Python %s, %d cores).\n\n"
              "The floor is what any client must do: one token, the listing pages (999 service principals a page) "
              "and the `$batch` envelopes of job reads (20 to an envelope, %d in flight); its time counts only the "
              "added latency. Round trips are counted from the emulator's request log and do not vary; times on a "
              "shared 2-core machine move with its load, so compare within a row: the Graph phase is the plugin's "
              "network work, and the rest of the build time is ansible-inventory handling the hosts, as reading the "
              "same hosts from a static file shows.\n\n"
              % (written, platform.platform(terse=True), platform.python_version(), os.cpu_count(), MAX_CONCURRENCY))
    with open(arguments.results, "w", encoding="utf-8") as handle:
        handle.write(header + text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
