"""Profile the authorize role's controller at one size: where does ansible-playbook's main process spend its time?

    .venv/tools/bin/python tests/benchmark/profile_role.py [--n 1000] [--interval 0.005]

Starts the emulator like the benchmark does, runs the role once under pyinstrument (which runs ansible-playbook in
its own process, so the profile is the controller's main process; forked workers and module processes are not in
it), checks the outcome like every benchmark scenario, and writes results/profile-role-N.txt and .html. It also
prints how the CPU time split between the controller's main process and everything it started.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

BENCHMARK_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCHMARK_DIR)
sys.path.insert(0, os.path.join(os.path.dirname(BENCHMARK_DIR), "emulator"))

import scenarios  # noqa: E402  pylint: disable=wrong-import-position
import workload  # noqa: E402  pylint: disable=wrong-import-position
from entra_emulator import EmulatorProcess, load_seed  # noqa: E402  pylint: disable=wrong-import-position


def main(argv=None):
    """Run the role once under pyinstrument and write the text and HTML profiles."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="applications (1000)")
    parser.add_argument("--interval", type=float, default=0.005, help="pyinstrument sampling interval, s (0.005)")
    parser.add_argument("--latency-ms", type=float, default=25)
    parser.add_argument("--token-latency-ms", type=float, default=50)
    parser.add_argument("--results-dir", default=os.path.join(BENCHMARK_DIR, "results"))
    arguments = parser.parse_args(argv)
    applications = workload.applications_of(load_seed(workload.seed(arguments.n)))
    scratch_dir = tempfile.mkdtemp(prefix="entra-bench-profile-")
    logs_dir = os.path.join(arguments.results_dir, "logs")
    os.makedirs(logs_dir, exist_ok=True)
    try:
        with EmulatorProcess(seed=workload.seed(arguments.n), state_dir=os.path.join(scratch_dir, "emulator"),
                             latency_ms=arguments.latency_ms, token_latency_ms=arguments.token_latency_ms) as emulator:
            runner = scenarios.Runner(emulator, applications, scratch_dir, logs_dir)
            session_path = os.path.join(arguments.results_dir, "profile-role-%d.pyisession" % arguments.n)
            prefix = [sys.executable, "-m", "pyinstrument", "--interval", str(arguments.interval), "-r", "pyisession",
                      "-o", session_path]
            record = runner.run(scenarios.Scenario("profile-role-%d" % arguments.n, "role", arguments.n,
                                                   command_prefix=prefix))
            print("profile: %.1f s wall, %s; CPU: controller main process %.1f s of %.1f s in all (workers and "
                  "modules are the rest)"
                  % (record["wall_seconds"], "checks passed" if record["correct"] else
                     "FAILED: " + "; ".join(record["failed_checks"]), record["cpu_seconds_controller_main"] or 0,
                     record["cpu_seconds_controller_and_modules"]), flush=True)
            for name, seconds in record["task_seconds"] or []:
                print("profile:   %7.2f s  %s" % (seconds, name))
    finally:
        shutil.rmtree(scratch_dir, ignore_errors=True)
    # ansible lives in site-packages, which pyinstrument hides by default: show everything.
    for renderer, suffix in (("text", "txt"), ("html", "html")):
        path = os.path.join(arguments.results_dir, "profile-role-%d.%s" % (arguments.n, suffix))
        subprocess.check_call([sys.executable, "-m", "pyinstrument", "--load", session_path, "-r", renderer,
                               "--show-all", "-o", path])
        print("profile: wrote %s" % os.path.relpath(path, workload.REPO_ROOT))
    return 0 if record["correct"] else 1


if __name__ == "__main__":
    sys.exit(main())
