"""Benchmark: authorize 1, 100 and 1,000 applications with the role, the module per host and plain uri, against the floor.

Run with the tools venv's python (``make bench``). It starts the local emulator with a generated one-tenant seed and a
fixed added latency, runs every scenario through a real ansible-playbook with this checkout as the collection,
resets the emulator before each one, checks each run's outcome against the emulator's state, and writes a table
(stdout and ``results/benchmark.md``), ``results/benchmark.json`` and ``results/benchmark.png``.

The per-host contenders cost one module process per application; they run at the sizes that fit the time budget
and are extrapolated (and labelled so) beyond that.
"""

import argparse
import datetime
import math
import os
import platform
import shutil
import sys
import tempfile
import time

from entra_emulator import EmulatorProcess, load_seed

# This folder's modules: Python puts a script's own folder first on sys.path.
import inventory_bench
import probes
import report
import scenarios
import workload

BENCHMARK_DIR = os.path.dirname(os.path.abspath(__file__))

RESULTS_DIR = os.path.join(BENCHMARK_DIR, "results")
# The role's default; the floor assumes the same number of $batch envelopes in flight.
ROLE_MAX_CONCURRENCY = 4
# Safety margin on predicted run times when deciding whether a scenario still fits the budget.
PREDICTION_MARGIN = 1.25


def parse_arguments(argv=None):
    """The command line; every default is what `make bench` runs."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,100,1000", help="application counts (default 1,100,1000)")
    parser.add_argument("--latency-ms", type=float, default=25, help="added latency per Graph request (25)")
    parser.add_argument("--token-latency-ms", type=float, default=50, help="added latency per token request (50)")
    parser.add_argument("--module-forks", default="5,20", help="forks for contender (b) (default 5,20)")
    parser.add_argument("--uri-forks", type=int, default=5, help="forks for contender (c) (default 5, Ansible's)")
    parser.add_argument("--per-host-min-n", type=int, default=10,
                        help="size every per-host contender is measured at besides N=1, whatever the budget (10)")
    parser.add_argument("--small-repeats", type=int, default=3,
                        help="runs of each smallest-size scenario; the median counts (3)")
    parser.add_argument("--rerun-n", type=int, default=100, help="size of the role re-run scenario (100; 0 = skip)")
    parser.add_argument("--throttle-n", type=int, default=100, help="applications in the throttled scenario (100)")
    parser.add_argument("--throttle-rps", type=float, default=40, help="tenant cap in requests/s (40)")
    parser.add_argument("--throttle-burst", type=int, default=None, help="token bucket size (default: the rate)")
    parser.add_argument("--harsh-n", type=int, default=200, help="applications in the harsh scenario (200; 0 = skip)")
    parser.add_argument("--harsh-rps", type=float, default=20, help="tenant cap of the harsh scenario, burst the same (20)")
    parser.add_argument("--harsh-latency-ms", type=float, default=200, help="latency per request when harsh (200)")
    parser.add_argument("--harsh-runs", type=int, default=5, help="runs of the harsh scenario (5)")
    parser.add_argument("--large-n", type=int, default=10000,
                        help="applications (and service principals for the inventory plugin) of the large scenarios: "
                             "the role with the summary report, the module's bulk mode, the inventory plugin, each "
                             "beside its floor and the empty play's memory (10000; 0 = skip)")
    parser.add_argument("--plan", choices=("full", "throttled", "large"), default="full",
                        help="full: everything (make bench); throttled: only the throttled and harsh scenarios; "
                             "large: only the large ones")
    parser.add_argument("--budget-seconds", type=float, default=300,
                        help="time the benchmark may take (setup excluded); larger per-host runs are skipped when "
                             "they would not fit (300)")
    parser.add_argument("--results-dir", default=RESULTS_DIR, help="where the outputs go (tests/benchmark/results)")
    parser.add_argument("--keep-scratch", action="store_true", help="keep the temporary inventories and emulator dir")
    arguments = parser.parse_args(argv)
    arguments.sizes = sorted({int(item) for item in arguments.sizes.split(",") if item.strip()})
    arguments.module_forks = [int(item) for item in arguments.module_forks.split(",") if item.strip()]
    if arguments.throttle_burst is None:
        arguments.throttle_burst = max(1, int(math.ceil(arguments.throttle_rps)))
    return arguments


def say(message):
    """Print a progress line at once."""
    print(message, flush=True)


def ansible_core_version():
    """The ansible-core version of the interpreter running the benchmark (the one ansible-playbook uses)."""
    try:
        from ansible.release import __version__  # pylint: disable=import-outside-toplevel
        return __version__
    except ImportError:
        return "unknown"


class Benchmark(object):
    """Runs the plan in order, skipping only optional runs that would overrun the budget."""

    def __init__(self, arguments, runner):
        self.arguments = arguments
        self.runner = runner
        self.records = []
        self.skipped = []
        self.started = time.monotonic()

    def elapsed(self):
        """Seconds since the benchmark started."""
        return time.monotonic() - self.started

    def run(self, scenario, **extra):
        """Run one scenario, print its line, keep its record (with `extra` fields) and return it."""
        say("bench: %-34s N=%-5d forks=%-3d ..." % (scenario.name, scenario.application_count, scenario.forks))
        record = self.runner.run(scenario)
        record.update(expect=scenario.expect, **extra)
        self.records.append(record)
        traffic = ""
        if "graph_requests" in record:
            traffic = " graph=%d round_trips=%d tokens=%d 429s=%d" % (
                record["graph_requests"], record["round_trips"], record["token_requests"], record["throttled"])
        say("bench: %-34s %7.2f s%s %s" % (scenario.name, record["wall_seconds"], traffic,
                                           "ok" if record["correct"] else "FAILED: " + "; ".join(
                                               record["failed_checks"])))
        return record

    def run_repeated(self, scenario, times):
        """Run a short scenario `times` times and keep the run with the median wall time (all times are kept in
        `wall_seconds_runs`), so one noisy second does not decide a comparison of two five-second runs."""
        runs = []
        for repetition in range(times):
            runs.append(self.run(scenario))
            if repetition:
                self.records.remove(runs[-1])
        self.records.remove(runs[0])
        median = sorted(runs, key=lambda record: record["wall_seconds"])[len(runs) // 2]
        median["wall_seconds_runs"] = [record["wall_seconds"] for record in runs]
        median["correct"] = all(record["correct"] for record in runs)
        median["failed_checks"] = [check for record in runs for check in record["failed_checks"]]
        self.records.append(median)
        return median

    def predict(self, contender, forks, size):
        """Predict the wall time of a per-host contender at `size` from its measured runs (linear in N)."""
        measured = sorted((record for record in self.records if record["contender"] == contender
                           and record["forks"] == forks and record["measured"]), key=lambda record: record["n"])
        if len(measured) >= 2:
            low, high = measured[-2], measured[-1]
            slope = (high["wall_seconds"] - low["wall_seconds"]) / float(high["n"] - low["n"])
            return high["wall_seconds"] + slope * (size - high["n"])
        return None

    def largest_size_that_fits(self, contender, forks, ceiling, allowance):
        """The largest multiple of 10 below `ceiling` whose predicted run fits in `allowance` seconds and is worth
        it (at least twice the largest size measured so far), or None."""
        measured = sorted((record for record in self.records if record["contender"] == contender
                           and record["forks"] == forks and record["measured"]), key=lambda record: record["n"])
        if len(measured) < 2:
            return None
        low, high = measured[-2], measured[-1]
        slope = max(1e-3, (high["wall_seconds"] - low["wall_seconds"]) / float(high["n"] - low["n"]))
        size = int((allowance / PREDICTION_MARGIN - high["wall_seconds"]) / slope + high["n"]) // 10 * 10
        size = min(size, ceiling - 10)
        return size if size >= 2 * high["n"] else None


def per_host_series(arguments):
    """(contender, forks) of every per-host line: (c) first, then (b) at each forks setting."""
    return [("uri_per_host", arguments.uri_forks)] + [("module_per_host", forks) for forks in arguments.module_forks]


def scenario_name(contender, forks, size):
    """A short unique scenario name, also the log file's name."""
    prefix = {"role": "role", "role_summary": "role-summary", "playbook_summary": "playbook-summary",
              "debug_per_host": "debug-per-host",
              "module_per_host": "module-forks%d" % forks, "uri_per_host": "uri-forks%d" % forks,
              "empty": "empty", "run_once_role": "run-once-role", "module_bulk": "module-bulk"}[contender]
    return "%s-%d" % (prefix, size)


def run_plan(arguments, bench):
    """The scenarios of ``--plan``; returns the throttled scenario's record (or None)."""
    throttle = None
    if arguments.plan == "full":
        throttle = run_main_plan(arguments, bench)
    elif arguments.plan == "throttled":
        throttle = run_throttled(arguments, bench)
    if arguments.plan in ("full", "throttled") and arguments.harsh_n:
        run_harsh(arguments, bench)
    if arguments.plan in ("full", "large") and arguments.large_n:
        run_large(arguments, bench)
    return throttle


def run_main_plan(arguments, bench):
    """Essential runs first (the floors' plays and the role at every size, each role run next to its floor's play;
    one application each way, the re-run, the throttled run), then the per-host contenders at the largest sizes the
    budget leaves room for."""
    sizes = arguments.sizes
    smallest = sizes[0]
    bench.run(scenarios.Scenario(scenario_name("empty", 5, smallest), "empty", smallest, expect="nothing"))
    bench.run(scenarios.Scenario(scenario_name("debug_per_host", 5, smallest), "debug_per_host", smallest,
                                 expect="nothing"))
    # The one-application target compares the role with (c): those two get the median of a few runs.
    bench.run_repeated(scenarios.Scenario(scenario_name("role", 5, smallest), "role", smallest),
                       arguments.small_repeats)
    for contender, forks in per_host_series(arguments):
        repeats = arguments.small_repeats if contender == "uri_per_host" else 1
        bench.run_repeated(scenarios.Scenario(scenario_name(contender, forks, smallest), contender, smallest,
                                              forks=forks), repeats)
    bench.run(scenarios.Scenario(scenario_name("module_bulk", 5, smallest), "module_bulk", smallest))
    for size in sizes[1:]:
        bench.run(scenarios.Scenario(scenario_name("module_bulk", 5, size), "module_bulk", size))
        # Each role run straight after its floor's play, so both meet the same load on a shared machine.
        bench.run(scenarios.Scenario(scenario_name("debug_per_host", 5, size), "debug_per_host", size,
                                     expect="nothing"))
        bench.run(scenarios.Scenario(scenario_name("role", 5, size), "role", size))
        bench.run(scenarios.Scenario(scenario_name("empty", 5, size), "empty", size, expect="nothing"))
        # What ansible-core charges any role of run-once tasks beyond the empty play (not part of the floor).
        bench.run(scenarios.Scenario(scenario_name("run_once_role", 5, size), "run_once_role", size,
                                     expect="nothing"))
        bench.run(scenarios.Scenario(scenario_name("role_summary", 5, size), "role_summary", size))
        bench.run(scenarios.Scenario(scenario_name("playbook_summary", 5, size), "playbook_summary", size))
        if size == arguments.rerun_n:
            # Straight after the first run over the same applications: everything is authorized already.
            bench.run(scenarios.Scenario("role-rerun-%d" % size, "role", size, expect="unchanged", fresh_state=False))
    if arguments.rerun_n and arguments.rerun_n not in sizes[1:]:
        bench.run(scenarios.Scenario(scenario_name("role", 5, arguments.rerun_n) + "-first", "role",
                                     arguments.rerun_n))
        bench.run(scenarios.Scenario("role-rerun-%d" % arguments.rerun_n, "role", arguments.rerun_n,
                                     expect="unchanged", fresh_state=False))
    throttle = run_throttled(arguments, bench)
    for contender, forks in per_host_series(arguments):
        if arguments.per_host_min_n > smallest:
            bench.run(scenarios.Scenario(scenario_name(contender, forks, arguments.per_host_min_n), contender,
                                         arguments.per_host_min_n, forks=forks))
    finished = set()
    for size in sizes[1:]:
        series = [item for item in per_host_series(arguments) if item not in finished]
        for position, (contender, forks) in enumerate(series):
            measured = max(record["n"] for record in bench.records
                           if record["contender"] == contender and record["forks"] == forks)
            if size <= measured:
                continue
            # Share what is left fairly among the series still to run at this size.
            allowance = (arguments.budget_seconds - bench.elapsed()) / (len(series) - position)
            predicted = bench.predict(contender, forks, size)
            if predicted is not None and PREDICTION_MARGIN * predicted <= allowance:
                bench.run(scenarios.Scenario(scenario_name(contender, forks, size), contender, size, forks=forks))
                continue
            finished.add((contender, forks))
            bench.skipped.append({"contender": contender, "forks": forks, "n": size,
                                  "predicted_seconds": predicted, "reason": "would not fit the time budget"})
            fitting = bench.largest_size_that_fits(contender, forks, size, allowance)
            say("bench: %s forks=%d N=%d would take about %.0f s, more than its share of the budget (%.0f s); %s"
                % (contender, forks, size, predicted or -1, allowance,
                   "measuring N=%d instead" % fitting if fitting else "stopping this series here"))
            if fitting:
                bench.run(scenarios.Scenario(scenario_name(contender, forks, fitting), contender, fitting,
                                             forks=forks))
    return throttle


def run_throttled(arguments, bench):
    """The role under a per-tenant rate cap, with the request log recorded to judge how it retried."""
    rate_limit = {"requests_per_second": arguments.throttle_rps, "burst": arguments.throttle_burst,
                  "retry_after": "seconds", "tenants": [workload.TENANT_ID]}
    scenario = scenarios.Scenario("role-throttled-%d" % arguments.throttle_n, "role", arguments.throttle_n,
                                  faults={"rate_limit": rate_limit}, record_log=True)
    record = bench.run(scenario, throttled_scenario=True,
                       rate_limit={"rate": arguments.throttle_rps, "burst": arguments.throttle_burst})
    entries = record.pop("log_entries")
    analysis = probes.analyse_throttling(entries, probes.max_retry_after_seconds(arguments.throttle_rps),
                                         arguments.throttle_rps, arguments.throttle_burst)
    analysis["resolution_seconds"] = record.pop("log_bracket_widest_seconds")
    record["throttling"] = analysis
    say("bench: throttled: %.1f%% of the cap used, %d 429s, %d retries (%d early), %d failed checks"
        % (100 * (analysis["cap_share"] or 0), analysis["throttled"], analysis["retries"], analysis["retries_early"],
           len(record["failed_checks"])))
    # Back to the start-up faults at once, so nothing after this runs throttled.
    bench.runner.emulator.reset()
    return record


def tenant_cap(rate, burst):
    """The emulator's rate_limit fault for the benchmark tenant: a token bucket counting each $batch item."""
    return {"requests_per_second": rate, "burst": burst, "retry_after": "seconds", "tenants": [workload.TENANT_ID]}


def run_harsh(arguments, bench):
    """A new user's first run against a tenant at its cap: the role over 200 applications at 20 requests/s and 200 ms a
    request, several times; each run must authorize every application. Its 429 share comes from the emulator's
    counters (each $batch item counted), its floor is the time the cap itself needs."""
    rate = arguments.harsh_rps
    burst = max(1, int(math.ceil(rate)))
    for run in range(1, arguments.harsh_runs + 1):
        scenario = scenarios.Scenario("role-harsh-%d-run%d" % (arguments.harsh_n, run), "role", arguments.harsh_n,
                                      faults={"rate_limit": tenant_cap(rate, burst),
                                              "latency_ms": arguments.harsh_latency_ms})
        record = bench.run(scenario, harsh_scenario=True, rate_limit={"rate": rate, "burst": burst},
                           latency_ms=arguments.harsh_latency_ms)
        accepted = record["graph_requests"] - record["throttled"]
        record["accepted"] = accepted
        record["throttled_share"] = record["throttled"] / float(accepted) if accepted else None
        # No client can be faster than the cap: the burst at once, the rest at the rate.
        record["cap_seconds"] = max(0.0, (accepted - burst) / rate)
        say("bench: harsh run %d: %d 429s for %d accepted (%.1f%%), %.1f s against %.1f s the cap needs, %s"
            % (run, record["throttled"], accepted, 100 * (record["throttled_share"] or 0), record["wall_seconds"],
               record["cap_seconds"], "no failure" if record["correct"] else "FAILED"))
    bench.runner.emulator.reset()


def run_large(arguments, bench):
    """Ten thousand applications: the empty play (its time and memory are the floor's), the role and the collection's
    playbook with the summary report, the module's bulk mode, and the inventory plugin over as many service
    principals."""
    size = arguments.large_n
    bench.run(scenarios.Scenario(scenario_name("empty", 5, size), "empty", size, expect="nothing"), large_scenario=True)
    # What ansible-core alone charges a role over these hosts (its end-of-role step runs for every host).
    bench.run(scenarios.Scenario(scenario_name("run_once_role", 5, size), "run_once_role", size, expect="nothing"),
              large_scenario=True)
    bench.run(scenarios.Scenario(scenario_name("role_summary", 5, size), "role_summary", size), large_scenario=True)
    bench.run(scenarios.Scenario(scenario_name("playbook_summary", 5, size), "playbook_summary", size),
              large_scenario=True)
    bench.run(scenarios.Scenario(scenario_name("module_bulk", 5, size), "module_bulk", size), large_scenario=True)
    options = argparse.Namespace(latency_ms=arguments.latency_ms, token_latency_ms=arguments.token_latency_ms,
                                 repeats=1)
    say("bench: %-34s N=%-5d ..." % ("inventory-%d" % size, size))
    figures = inventory_bench.measure(size, options, bench.runner.scratch_dir, bench.runner.collections_path)
    bench.records.append(inventory_bench.as_record(figures))
    say("bench: %-34s %7.2f s (floor %.2f s, cached %.2f s, peak %s MiB)"
        % ("inventory-%d" % size, figures["seconds"], figures["floor_seconds"], figures["cached_seconds"],
           figures.get("peak_rss_mib")))


def main(argv=None):
    """Run the benchmark and write its outputs; exit 1 when any scenario's own checks failed."""
    arguments = parse_arguments(argv)
    largest = max(arguments.sizes + [arguments.throttle_n, arguments.rerun_n, arguments.per_host_min_n,
                                     arguments.harsh_n if arguments.plan != "large" else 0,
                                     arguments.large_n if arguments.plan != "throttled" else 0])
    seed = workload.seed(largest)
    applications = workload.applications_of(load_seed(seed))
    scratch_dir = tempfile.mkdtemp(prefix="entra-bench-")
    logs_dir = os.path.join(arguments.results_dir, "logs")
    shutil.rmtree(logs_dir, ignore_errors=True)
    os.makedirs(logs_dir)
    started_at = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load_before = os.getloadavg()
    say("bench: emulator with %d applications, %d ms per Graph request, %d ms per token request; budget %d s"
        % (largest, arguments.latency_ms, arguments.token_latency_ms, arguments.budget_seconds))
    try:
        with EmulatorProcess(seed=seed, state_dir=os.path.join(scratch_dir, "emulator"),
                             latency_ms=arguments.latency_ms, token_latency_ms=arguments.token_latency_ms) as emulator:
            runner = scenarios.Runner(emulator, applications, scratch_dir, logs_dir, say=say)
            bench = Benchmark(arguments, runner)
            throttle = run_plan(arguments, bench)
    finally:
        if not arguments.keep_scratch:
            shutil.rmtree(scratch_dir, ignore_errors=True)
    records = bench.records
    floor_sizes = sorted(set(arguments.sizes + ([arguments.large_n] if arguments.large_n else [])))
    records += report.floor_records(records, floor_sizes, arguments.latency_ms, arguments.token_latency_ms,
                                    ROLE_MAX_CONCURRENCY)
    records += report.extrapolations(records, arguments.sizes)
    summary = {
        "started_at": started_at,
        "elapsed_seconds": bench.elapsed(),
        "load_before": list(load_before),
        "load_after": list(os.getloadavg()),
        "settings": {
            "cpus": os.cpu_count(), "python": platform.python_version(), "ansible_core": ansible_core_version(),
            "graph_latency_ms": arguments.latency_ms, "token_latency_ms": arguments.token_latency_ms,
            "max_concurrency": ROLE_MAX_CONCURRENCY, "budget_seconds": arguments.budget_seconds,
            "headline_n": max(arguments.sizes), "uri_forks": arguments.uri_forks,
            "module_forks": arguments.module_forks,
        },
        "records": records,
        "skipped": bench.skipped,
        "throttle": throttle,
    }
    summary["targets"] = report.targets(records, throttle, max(arguments.sizes), arguments.uri_forks)
    paths = report.write_outputs(summary, arguments.results_dir)
    print()
    print(report.markdown(summary))
    say("bench: wrote %s" % ", ".join(os.path.relpath(path, workload.REPO_ROOT) for path in paths))
    wrong = [record["name"] for record in records if record["measured"] and record.get("correct") is False]
    if wrong:
        say("bench: scenarios whose own checks failed: %s" % ", ".join(wrong))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
