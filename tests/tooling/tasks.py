"""Set up, run the demo, and run every test session of entra.provisioning from a fresh clone.

Only the standard library is used here, because this script is what creates the virtual environments. The
sessions themselves are nox sessions (noxfile.py, antsibull-nox.toml); this runs each with its own `nox -s` call,
times it, and prints the matrix and the closing line.

    python3 tests/tooling/tasks.py setup              # create/refresh .venv/nox (nox, antsibull-nox) and .venv/tools
    python3 tests/tooling/tasks.py demo               # the README's first command
    python3 tests/tooling/tasks.py test [SESSION..]   # the README's second command (every session, or the named ones)
"""

import argparse
import hashlib
import os
import signal
import subprocess
import sys
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOLING_DIR = os.path.join(REPO_ROOT, "tests", "tooling")
EMULATOR_DIR = os.path.join(REPO_ROOT, "tests", "emulator")
VENV_ROOT = os.path.join(REPO_ROOT, ".venv")
LOG_DIR = os.path.join(REPO_ROOT, "tests", "output", "sessions")
# A session that takes longer than this is stopped and counted as failed, so a hang cannot eat CI's 90 minutes.
SESSION_TIMEOUT = int(os.environ.get("ENTRA_SESSION_TIMEOUT", "1500"))

# Each venv: its requirement files (missing optional ones are skipped, so the order of landing does not matter).
VENVS = {
    # nox and antsibull-nox: they run every test session, each in a venv of its own (.nox/, or in the Debian root).
    "nox": [os.path.join(TOOLING_DIR, "requirements-nox.txt")],
    # The demo's and the benchmark's controller (make demo, make bench), and plain pytest on one unit test file.
    "tools": [
        os.path.join(TOOLING_DIR, "requirements-tools.txt"),
        os.path.join(EMULATOR_DIR, "requirements.txt"),
        os.path.join(REPO_ROOT, "tests", "benchmark", "requirements.txt"),
        os.path.join(REPO_ROOT, "tests", "awx", "requirements.txt"),
        os.path.join(REPO_ROOT, "tests", "unit", "requirements.txt"),
    ],
}

# What make test runs, in order: (nox session, ansible-core line, Python, suite, blocking). The sessions that need
# no repetition run once, with ansible-core 2.19 on the machine's Python 3.11 (functional on 3.13 too); sanity,
# units and integration run on every line of the matrix (noxfile.py CORE_LINES). 2.22 is a release candidate:
# reported, never blocking.
ONCE = [
    ("changelog-lint", "changelog", "3.11"),
    ("docs-check", "docs", "3.11"),
    ("ansible-lint", "lint", "3.11"),
    ("build-import-check", "build", "3.11"),
    ("emulator", "emulator", "3.11"),
    ("functional", "functional", "3.11"),
    # The same on Python 3.13, whose strict TLS verification the emulator's CA must pass (msal, requests).
    ("functional-3.13", "functional", "3.13"),
    ("benchmark-analysis", "benchmark", "3.11"),
    ("awx", "awx", "3.11"),
]
MATRIX = [
    ("2.19", "3.11", True),
    ("2.19", "3.13", True),
    ("2.20", "3.13", True),
    ("2.21", "3.13", True),
    ("2.22", "3.13", False),
]
SUITES = ("sanity", "units", "integration")
# Arguments make test adds to a session (the bar for lint is the production profile).
SESSION_ARGUMENTS = {"ansible-lint": ["--profile", "production"]}


def plan():
    """Every session of make test as (name, core, python, suite, blocking)."""
    sessions = [(name, "2.19", python, suite, True) for name, suite, python in ONCE]
    for core, python, blocking in MATRIX:
        for suite in SUITES:
            sessions.append(("ansible-test-%s-%s-%s" % (suite, core, python), core, python, suite, blocking))
    return sessions


def say(message):
    """Print a progress line at once, so a long run shows where it is."""
    print(message, flush=True)


def venv_bin(venv_name, program):
    """Return the path of a program inside one of our virtual environments."""
    return os.path.join(VENV_ROOT, venv_name, "bin", program)


def requirement_files(venv_name):
    """Return the requirement files of a venv that exist in this checkout."""
    return [path for path in VENVS[venv_name] if os.path.exists(path)]


def requirements_digest(paths):
    """Hash the requirement files, so a venv is rebuilt only when what it should hold changed."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as requirement_file:
            digest.update(requirement_file.read())
    return digest.hexdigest()


def ensure_venv(venv_name):
    """Create or refresh one virtual environment from its pinned requirement files."""
    venv_dir = os.path.join(VENV_ROOT, venv_name)
    paths = requirement_files(venv_name)
    stamp_path = os.path.join(venv_dir, ".requirements.sha256")
    wanted = requirements_digest(paths)
    if os.path.exists(stamp_path):
        with open(stamp_path) as stamp:
            if stamp.read().strip() == wanted:
                return
    say("setup: installing .venv/%s (first run takes a minute or two)" % venv_name)
    if not os.path.exists(venv_bin(venv_name, "python")):
        subprocess.check_call([sys.executable, "-m", "venv", venv_dir])
    command = [venv_bin(venv_name, "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    for path in paths:
        command += ["-r", path]
    subprocess.check_call(command)
    with open(stamp_path, "w") as stamp:
        stamp.write(wanted + "\n")


def setup(venv_names=tuple(VENVS)):
    """Create the venvs and make ansible-test's pip bootstrap work without its download host."""
    if sys.version_info < (3, 11):
        raise SystemExit("Python 3.11 or newer is needed to set up; found %s" % sys.version.split()[0])
    for venv_name in venv_names:
        ensure_venv(venv_name)
    subprocess.check_call([sys.executable, os.path.join(TOOLING_DIR, "ansible_test_pip_bootstrap.py")])


def tool_environment(venv_name="tools", **extra):
    """Return the environment for running a venv's tools: its bin first on PATH."""
    environment = dict(os.environ)
    environment["PATH"] = os.path.join(VENV_ROOT, venv_name, "bin") + os.pathsep + environment.get("PATH", "")
    environment.pop("PYTHONPATH", None)
    # Logs are read as plain text; colour codes only get in the way there.
    environment.update(NO_COLOR="1", ANSIBLE_NOCOLOR="1", PY_COLORS="0", ANSIBLE_FORCE_COLOR="0")
    environment.update(extra)
    return environment


def run_session(name, log_path):
    """Run one nox session with its output in a log file; return (exit code, note)."""
    command = [venv_bin("nox", "nox"), "--no-color", "--reuse-venv", "yes", "-f", os.path.join(REPO_ROOT, "noxfile.py"),
               "-s", name]
    if SESSION_ARGUMENTS.get(name):
        command += ["--"] + SESSION_ARGUMENTS[name]
    with open(log_path, "w") as log:
        log.write("$ %s\n" % " ".join(command))
        log.flush()
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=tool_environment("nox"), stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            return process.wait(timeout=SESSION_TIMEOUT), ""
        except subprocess.TimeoutExpired:
            # SIGTERM first: the Debian root's runner unmounts what it mounted on its way out.
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            return 1, "timed out after %d s" % SESSION_TIMEOUT


def run_sessions(selected):
    """Run the selected sessions, print the matrix and the closing line; return the exit code."""
    os.makedirs(LOG_DIR, exist_ok=True)
    outcomes = []
    for name, core, python, suite, blocking in selected:
        log_path = os.path.join(LOG_DIR, name + ".log")
        say("test: %-36s running (log: %s)" % (name, os.path.relpath(log_path, REPO_ROOT)))
        started = time.monotonic()
        exit_code, note = run_session(name, log_path)
        elapsed = time.monotonic() - started
        ok = exit_code == 0
        outcomes.append((name, core, python, suite, blocking, ok, elapsed))
        say("test: %-36s %s in %.0f s%s" % (name, result_word(ok, blocking), elapsed, " (%s)" % note if note else ""))
        if not ok:
            with open(log_path, errors="replace") as log:
                say("".join(log.readlines()[-40:]))
    print_matrix(outcomes)
    blocking_outcomes = [outcome for outcome in outcomes if outcome[4]]
    passed = sum(1 for outcome in blocking_outcomes if outcome[5])
    failed = len(blocking_outcomes) - passed
    optional = [outcome for outcome in outcomes if not outcome[4]]
    if optional:
        optional_failed = [outcome[0] for outcome in optional if not outcome[5]]
        say("non-blocking sessions (not counted below): %d of %d passed%s" % (
            len(optional) - len(optional_failed), len(optional),
            "; failed: " + ", ".join(optional_failed) if optional_failed else ""))
    say("sessions: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


def result_word(ok, blocking):
    """passed / FAILED / failed (non-blocking)."""
    if ok:
        return "passed"
    return "FAILED" if blocking else "failed (non-blocking)"


def print_matrix(outcomes):
    """The matrix that ran: ansible-core line x Python x suite, with result and wall seconds."""
    say("\nmatrix (ansible-core x Python x suite; the once-only sessions use ansible-core 2.19.14):")
    say("%-36s %-13s %-7s %-12s %-22s %s" % ("session", "ansible-core", "python", "suite", "result", "seconds"))
    total = 0.0
    for name, core, python, suite, blocking, ok, elapsed in outcomes:
        total += elapsed
        say("%-36s %-13s %-7s %-12s %-22s %.0f" % (name, core, python, suite, result_word(ok, blocking), elapsed))
    say("%-36s %-13s %-7s %-12s %-22s %.0f" % ("total", "", "", "", "", total))


def demo():
    """Run the example playbook against the local emulator, twice, as the README's first command promises."""
    playbook = os.path.join(REPO_ROOT, "docs", "examples", "authorize.yml")
    if not os.path.exists(playbook):
        say("demo: set-up done (.venv/tools ready). The example playbook docs/examples/authorize.yml does not exist "
            "yet, so no playbook was run. Nothing was authorized.")
        return 0
    return subprocess.call([venv_bin("tools", "python"), os.path.join(TOOLING_DIR, "demo.py")],
                           env=tool_environment())


def main():
    """Parse the command line and run the asked-for task."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=("setup", "demo", "test"))
    parser.add_argument("sessions", nargs="*", help="with test: only these sessions (see `nox -l`)")
    arguments = parser.parse_args()
    sessions = plan()
    if arguments.task == "setup":
        setup()
        say("setup: done")
        return 0
    if arguments.task == "demo":
        setup(("tools",))
        return demo()
    known = {session[0]: session for session in sessions}
    unknown = [name for name in arguments.sessions if name not in known]
    if unknown:
        parser.error("unknown session(s) %s; choose from %s" % (", ".join(unknown), ", ".join(known)))
    setup(("nox",))
    return run_sessions([known[name] for name in arguments.sessions] if arguments.sessions else sessions)


if __name__ == "__main__":
    sys.exit(main())
