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
import json
import os
import signal
import subprocess
import sys
import threading
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOLING_DIR = os.path.join(REPO_ROOT, "tests", "tooling")
EMULATOR_DIR = os.path.join(REPO_ROOT, "tests", "emulator")
VENV_ROOT = os.path.join(REPO_ROOT, ".venv")
LOG_DIR = os.path.join(REPO_ROOT, "tests", "output", "sessions")
# A session that takes longer than this is stopped and counted as failed, so a hang cannot eat CI's 90 minutes.
SESSION_TIMEOUT = int(os.environ.get("ENTRA_SESSION_TIMEOUT", "1500"))

# Each venv: its requirement files (missing optional ones are skipped, so the order of landing does not matter),
# and the local projects it installs in editable mode.
VENVS = {
    # nox and antsibull-nox: they run every test session, each in a venv of its own (.nox/, or in the Debian root).
    "nox": [os.path.join(TOOLING_DIR, "requirements-nox.txt")],
    # The demo's and the benchmark's controller (make demo, make bench), and plain pytest on one unit test file.
    "tools": [
        os.path.join(TOOLING_DIR, "requirements-tools.txt"),
        os.path.join(EMULATOR_DIR, "requirements.txt"),
        os.path.join(EMULATOR_DIR, "requirements-sdk.txt"),
        os.path.join(REPO_ROOT, "tests", "benchmark", "requirements.txt"),
        os.path.join(REPO_ROOT, "tests", "awx", "requirements.txt"),
        os.path.join(REPO_ROOT, "tests", "unit", "requirements.txt"),
    ],
}
# The emulator and the helpers the test suites share (tests/emulator/pyproject.toml), editable: the tools venv runs
# the code of the clone as it is, and `python -m entra_emulator` works from any folder.
EDITABLE = {"tools": [EMULATOR_DIR]}

# What make test runs: every default session of noxfile.py (what plain `nox` runs), as `nox -l --json` lists
# them; the once-only sessions first, then the ansible-test matrix. Their tags say the ansible-core line, the
# Python, the suite and whether a failure blocks (noxfile.py CORE_LINES).
ONCE_CORE = "2.19"
SUITE_ORDER = ("sanity", "units", "integration")
# The suite column for the once-only sessions whose name does not say it plainly.
ONCE_SUITES = {"ansible-lint": "lint", "docs-check": "docs", "changelog-lint": "changelog",
               "build-import-check": "build", "benchmark-analysis": "benchmark"}
# Arguments make test adds to a session (the bar for lint is the production profile).
SESSION_ARGUMENTS = {"ansible-lint": ["--profile", "production"]}


def plan():
    """Every session of make test as (name, core, python, suite, blocking)."""
    listing = subprocess.run([venv_bin("nox", "nox"), "-f", os.path.join(REPO_ROOT, "noxfile.py"), "-l", "--json"],
                             cwd=REPO_ROOT, env=tool_environment("nox"), check=True, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
    once, matrix = [], []
    for session in json.loads(listing.stdout):
        tags = session.get("tags") or []
        core = next((tag[len("ansible-core-"):] for tag in tags if tag.startswith("ansible-core-")), ONCE_CORE)
        python = next((tag[len("py"):] for tag in tags if tag.startswith("py")), session.get("python") or "3.11")
        if "ansible-test" in tags:
            suite = next(tag for tag in tags if tag in SUITE_ORDER)
            matrix.append((session["name"], core, python, suite, "non-blocking" not in tags))
        else:
            name = session["name"]
            once.append((name, core, python, ONCE_SUITES.get(name, name.split("-")[0]), True))
    # By line, then Python, then suite: a line's results read together.
    matrix.sort(key=lambda entry: (tuple(int(part) for part in entry[1].split(".")),
                                   tuple(int(part) for part in entry[2].split(".")), SUITE_ORDER.index(entry[3])))
    return once + matrix


def say(message):
    """Print a progress line at once, so a long run shows where it is."""
    print(message, flush=True)


def venv_bin(venv_name, program):
    """Return the path of a program inside one of our virtual environments."""
    return os.path.join(VENV_ROOT, venv_name, "bin", program)


def requirement_files(venv_name):
    """Return the requirement files of a venv that exist in this checkout."""
    return [path for path in VENVS[venv_name] if os.path.exists(path)]


def editable_projects(venv_name):
    """Return the local projects installed editable into a venv (the folders that hold a pyproject.toml)."""
    return [path for path in EDITABLE.get(venv_name, ()) if os.path.exists(os.path.join(path, "pyproject.toml"))]


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
    projects = editable_projects(venv_name)
    stamp_path = os.path.join(venv_dir, ".requirements.sha256")
    # An editable project's code is read where it is; only its pyproject.toml calls for installing it again.
    wanted = requirements_digest(paths + [os.path.join(project, "pyproject.toml") for project in projects])
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
    for project in projects:
        command += ["-e", project]
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
            exit_code = process.wait(timeout=SESSION_TIMEOUT)
        except subprocess.TimeoutExpired:
            # SIGTERM first: the Debian root's runner unmounts what it mounted on its way out.
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            return 1, "timed out after %d s" % SESSION_TIMEOUT
    return exit_code or _log_complaints(name, log_path), ""


# Lines a session's tool prints without failing that the bar counts as failures. galaxy-importer exits 0 when it
# warns or errs (a check it could not run is skipped with a WARNING), and antsibull-nox only echoes them.
LOG_COMPLAINTS = {"build-import-check": ("WARNING", "ERROR")}


def _log_complaints(name, log_path):
    """1 when the session's log holds a line its tool should not have printed (named in the log), else 0."""
    prefixes = LOG_COMPLAINTS.get(name)
    if not prefixes:
        return 0
    with open(log_path) as log:
        complaints = [line for line in log if line.startswith(prefixes)]
    if not complaints:
        return 0
    with open(log_path, "a") as log:
        log.write("\n%s: %d line(s) starting with %s: the session fails\n"
                  % (name, len(complaints), " or ".join(prefixes)))
    return 1


def place(python):
    """Where a session runs: the machine, or the Debian root of its Python (one session at a time in each)."""
    return "machine" if python == "3.11" else "debian-root-" + python


# Rough relative cost, to start the longest queue first.
SUITE_WEIGHT = {"integration": 6, "sanity": 2, "awx": 2}


def run_one(entry, outcomes, lock):
    """Run one planned session and record its outcome."""
    name, core, python, suite, blocking = entry
    log_path = os.path.join(LOG_DIR, name + ".log")
    say("test: %-36s running (log: %s)" % (name, os.path.relpath(log_path, REPO_ROOT)))
    started = time.monotonic()
    exit_code, note = run_session(name, log_path)
    elapsed = time.monotonic() - started
    ok = exit_code == 0
    with lock:
        outcomes[name] = (name, core, python, suite, blocking, ok, elapsed)
        say("test: %-36s %s in %.0f s%s" % (name, result_word(ok, blocking), elapsed, " (%s)" % note if note else ""))
        if not ok:
            with open(log_path, errors="replace") as log:
                say("".join(log.readlines()[-40:]))


def run_sessions(selected):
    """Run the selected sessions, print the matrix and the closing line; return the exit code.

    Sessions in different places (the machine, each Debian root) run side by side, up to ENTRA_TEST_JOBS (default
    2, the cores of these machines) at once; within one place they run one after the other.
    """
    os.makedirs(LOG_DIR, exist_ok=True)
    run_started = time.monotonic()
    jobs = max(1, int(os.environ.get("ENTRA_TEST_JOBS", "2")))
    queues = {}
    for entry in selected:
        queues.setdefault(place(entry[2]), []).append(entry)
    outcomes, lock, busy, running = {}, threading.Lock(), set(), []
    while queues or running:
        for thread, where in list(running):
            if not thread.is_alive():
                running.remove((thread, where))
                busy.discard(where)
        free = [where for where in queues if where not in busy]
        if free and len(running) < jobs:
            where = max(free, key=lambda key: sum(SUITE_WEIGHT.get(entry[3], 1) for entry in queues[key]))
            entry = queues[where].pop(0)
            if not queues[where]:
                del queues[where]
            busy.add(where)
            thread = threading.Thread(target=run_one, args=(entry, outcomes, lock))
            thread.start()
            running.append((thread, where))
            continue
        time.sleep(0.5)
    outcomes = [outcomes[entry[0]] for entry in selected]
    print_matrix(outcomes, time.monotonic() - run_started, jobs)
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


def print_matrix(outcomes, wall_seconds, jobs):
    """The matrix that ran: ansible-core line x Python x suite, with result and wall seconds."""
    say("\nmatrix (ansible-core x Python x suite; the once-only sessions use ansible-core %s):" % ONCE_CORE)
    say("%-36s %-13s %-7s %-12s %-22s %s" % ("session", "ansible-core", "python", "suite", "result", "seconds"))
    total = 0.0
    for name, core, python, suite, blocking, ok, elapsed in outcomes:
        total += elapsed
        say("%-36s %-13s %-7s %-12s %-22s %.0f" % (name, core, python, suite, result_word(ok, blocking), elapsed))
    say("%-36s %-13s %-7s %-12s %-22s %.0f" % ("sum of the sessions", "", "", "", "", total))
    say("wall time: %.0f s (%.1f min), up to %d sessions at once" % (wall_seconds, wall_seconds / 60, jobs))


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
    if arguments.task == "setup":
        setup()
        say("setup: done")
        return 0
    if arguments.task == "demo":
        setup(("tools",))
        return demo()
    setup(("nox",))
    sessions = plan()
    known = {session[0]: session for session in sessions}
    unknown = [name for name in arguments.sessions if name not in known]
    if unknown:
        parser.error("unknown session(s) %s; choose from %s" % (", ".join(unknown), ", ".join(known)))
    return run_sessions([known[name] for name in arguments.sessions] if arguments.sessions else sessions)


if __name__ == "__main__":
    sys.exit(main())
