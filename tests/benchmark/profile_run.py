"""Profile one run at one size, to say where the time goes when a benchmark target is missed.

    .venv/tools/bin/python tests/benchmark/profile_run.py role [--n 1000]      # ansible-playbook with the role
    .venv/tools/bin/python tests/benchmark/profile_run.py module [--n 1000]    # the module alone, bulk mode

``role`` runs ansible-playbook with the role under pyinstrument: the profile is the controller's main process (forked
workers and module processes are not in it; the CPU split between them is printed). ``module`` runs the module's
``main()`` directly under pyinstrument with the same ``applications`` list the benchmark's bulk reference sends, no
ansible-playbook around it. Both start the emulator like the benchmark, check the outcome the same way (every
application authorized once) and write ``results/profile-<what>-<N>.txt`` and ``.html``.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from entra_emulator import EmulatorProcess, load_seed

# This folder's modules: Python puts a script's own folder first on sys.path.
import probes
import scenarios
import workload

BENCHMARK_DIR = os.path.dirname(os.path.abspath(__file__))

MODULE_IMPORT_NAME = "ansible_collections.entra.provisioning.plugins.modules.entra_sync_acquire_token"


def profile_role(arguments, emulator, applications, scratch_dir, session_path):
    """Run the role once under pyinstrument; return (wall seconds, list of failed checks)."""
    logs_dir = os.path.join(arguments.results_dir, "logs")
    os.makedirs(logs_dir, exist_ok=True)
    runner = scenarios.Runner(emulator, applications, scratch_dir, logs_dir)
    prefix = [sys.executable, "-m", "pyinstrument", "--interval", str(arguments.interval), "-r", "pyisession",
              "-o", session_path]
    record = runner.run(scenarios.Scenario("profile-role-%d" % arguments.n, "role", arguments.n,
                                           command_prefix=prefix))
    print("profile: CPU: controller main process %.1f s of %.1f s in all (forked workers and modules are the rest)"
          % (record["cpu_seconds_controller_main"] or 0, record["cpu_seconds_controller_and_modules"]))
    for name, seconds in record["task_seconds"] or []:
        print("profile:   %7.2f s  %s" % (seconds, name))
    return record["wall_seconds"], record["failed_checks"]


def profile_module(arguments, emulator, applications, scratch_dir, session_path):
    """Run the module's main() once, bulk mode, under pyinstrument; return (wall seconds, list of failed checks)."""
    emulator.reset()
    variables = workload.bulk_variables(applications[:arguments.n], emulator.info)
    module_arguments = dict(variables["bench_settings"], applications=variables["bench_applications"],
                            _ansible_check_mode=False, _ansible_no_log=False)
    arguments_path = os.path.join(scratch_dir, "module-arguments.json")
    with open(arguments_path, "w", encoding="utf-8") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": module_arguments}, handle)
    environment = dict(os.environ, PYTHONPATH=workload.collections_dir(scratch_dir))
    command = [sys.executable, "-m", "pyinstrument", "--interval", str(arguments.interval), "-r", "pyisession",
               "-o", session_path, "-m", MODULE_IMPORT_NAME, arguments_path]
    started = time.monotonic()
    completed = subprocess.run(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               check=False)
    wall_seconds = time.monotonic() - started
    problems = []
    output = completed.stdout.decode("utf-8", "replace")
    try:
        result = json.loads(output[output.index("{"):output.rindex("}") + 1])
    except ValueError:
        result = {}
        problems.append("the module printed no JSON result")
    summary = result.get("summary") or {}
    if summary.get("acquired") != arguments.n or summary.get("failed"):
        problems.append("module summary %s, expected %d acquired" % (summary, arguments.n))
    states = {state["name"]: state for state in emulator.applications(workload.TENANT_ID)}
    wrong = [application["name"] for application in applications[:arguments.n]
             if not states[application["name"]]["authorized"]
             or states[application["name"]]["used_authorization_codes"] != 1]
    if wrong:
        problems.append("%d applications not authorized exactly once" % len(wrong))
    print("profile: module process CPU %.1f s (this includes pyinstrument's own sampling)"
          % probes.cpu_seconds_of_children())
    return wall_seconds, problems


def main(argv=None):
    """Profile the asked-for run and write the text and HTML reports."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("role", "module"))
    parser.add_argument("--n", type=int, default=1000, help="applications (1000)")
    parser.add_argument("--interval", type=float, default=0.005, help="pyinstrument sampling interval, s (0.005)")
    parser.add_argument("--latency-ms", type=float, default=25)
    parser.add_argument("--token-latency-ms", type=float, default=50)
    parser.add_argument("--results-dir", default=os.path.join(BENCHMARK_DIR, "results"))
    arguments = parser.parse_args(argv)
    seed = workload.seed(arguments.n)
    applications = workload.applications_of(load_seed(seed))
    scratch_dir = tempfile.mkdtemp(prefix="entra-bench-profile-")
    os.makedirs(arguments.results_dir, exist_ok=True)
    name = "profile-%s-%d" % (arguments.what, arguments.n)
    session_path = os.path.join(arguments.results_dir, name + ".pyisession")
    try:
        with EmulatorProcess(seed=seed, state_dir=os.path.join(scratch_dir, "emulator"),
                             latency_ms=arguments.latency_ms, token_latency_ms=arguments.token_latency_ms) as emulator:
            run = profile_role if arguments.what == "role" else profile_module
            wall_seconds, problems = run(arguments, emulator, applications, scratch_dir, session_path)
    finally:
        shutil.rmtree(scratch_dir, ignore_errors=True)
    print("profile: %s N=%d: %.1f s wall, %s" % (arguments.what, arguments.n, wall_seconds,
                                                 "; ".join(problems) if problems else "checks passed"))
    # ansible lives in site-packages, which pyinstrument hides by default: show everything in the text report.
    for renderer, suffix, options in (("text", "txt", ["--show-all"]), ("html", "html", [])):
        path = os.path.join(arguments.results_dir, "%s.%s" % (name, suffix))
        subprocess.check_call([sys.executable, "-m", "pyinstrument", "--load", session_path, "-r", renderer,
                               "-o", path] + options)
        print("profile: wrote %s" % os.path.relpath(path, workload.REPO_ROOT))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
