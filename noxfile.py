# /// script
# dependencies = ["nox>=2025.02.09", "antsibull-nox"]
# ///
"""Every test session of entra.provisioning: antsibull-nox.toml's sessions plus the ones defined here.

    nox -l                                   # list the sessions
    nox -s ansible-test-sanity-2.21          # one suite on one ansible-core line (every Python of the line)
    nox -t ansible-core-2.21                 # sanity, units and integration of one line
    nox -s ansible-test-integration-2.21-3.13 -- entra_sync_acquire_token   # one integration target

Plain `nox` runs every default session: the whole matrix and the once-only sessions. `make test` runs the same
sessions, one nox call each, times them, and prints the matrix and the closing line (tests/tooling/tasks.py); a
session tagged non-blocking (the release candidate) is reported there but does not fail the run.

antsibull-nox.toml defines what antsibull-nox does for any collection (docs-check, ansible-lint,
build-import-check); this file adds what it does not: the ansible-test matrix on the Pythons these machines have,
changelog-lint, and the suites against the emulator (emulator, functional, awx, benchmark-analysis). What these
machines force (no container engine, Python 3.11 only) is in one section below.
"""

import glob
import os
import sys

import nox

try:
    import antsibull_nox
    from antsibull_nox.sessions import install_packages, prepare_collections
except ImportError:
    print("You need to install antsibull-nox in the same Python environment as nox (make setup does).")
    sys.exit(1)

antsibull_nox.load_antsibull_nox_toml()

REPO_ROOT = os.path.dirname(os.path.abspath(__file__))
TOOLING_DIR = os.path.join(REPO_ROOT, "tests", "tooling")
ALL_SUITES = ("sanity", "units", "integration")

# The matrix: ansible-core line -> (exact package, {controller Python: suites}, blocking). The lowest and highest
# controller Python each line supports that these machines can get: 3.11 (the machine), 3.13 (Debian 13), 3.14
# (Debian 14). Integration, the long suite, runs on 2.19's lowest Python, on 3.13 for the newer lines and on the
# newest blocking line's highest Python (3.14), which covers each Python and each line once.
CORE_LINES = {
    "2.19": ("ansible-core==2.19.14", {"3.11": ALL_SUITES, "3.13": ("sanity", "units")}, True),
    "2.20": ("ansible-core==2.20.10", {"3.13": ALL_SUITES, "3.14": ("sanity", "units")}, True),
    "2.21": ("ansible-core==2.21.5", {"3.13": ALL_SUITES, "3.14": ALL_SUITES}, True),
    # Release candidate: run, reported, never fails the run.
    "2.22": ("ansible-core==2.22.0rc1", {"3.13": ALL_SUITES}, False),
}
# Tools of the sessions that run once (exact pins: the versions the sessions were proven with).
TOOLS_CORE = "ansible-core==2.19.14"
ANTSIBULL_CHANGELOG = "antsibull-changelog==0.36.0"
NO_COLOR = {"NO_COLOR": "1", "ANSIBLE_NOCOLOR": "1", "PY_COLORS": "0", "ANSIBLE_FORCE_COLOR": "0"}


def requirements(path):
    """pip arguments for a requirement file of the clone."""
    return ["-r", os.path.join(REPO_ROOT, path)]


# The emulator and the helpers the test suites share (tests/emulator/pyproject.toml), with their exact pins.
# Editable, so a re-run with -R tests the code as it is now; in a Debian root the clone is mounted at the same path.
EMULATOR = ["-e", os.path.join(REPO_ROOT, "tests", "emulator")] + requirements("tests/emulator/requirements.txt")


# -- What these machines force -------------------------------------------------------------------------------------
# No container engine, and Debian 12's Python 3.11 only. Everything here goes away on a machine with docker/podman
# (ansible-test --docker, galaxy-importer's own ansible-test) and the Pythons ansible-core asks for:
# - Sessions on Python 3.13 and 3.14 run in a Debian 13 or 14 root (tests/tooling/debian_root.py): on the machine
#   such a session re-runs `nox -s <same name>` inside the root (register below), where it is defined for real.
# - ansible-test's pip bootstrap downloads a script from a host these machines do not reach: a local stand-in
#   (tests/tooling/ansible_test_pip_bootstrap.py) is written before each ansible-test run.
# - galaxy-importer's own ansible-test step needs a container engine (tests/tooling/galaxy-importer.cfg turns it
#   off; the ansible-test sessions run sanity themselves).
# - ansible-test 2.22.0rc1 pins its pylint's dill to a GitHub archive, and these machines reach only package
#   registries: SANITY_SKIPS.
# - Integration runs on the controller (`--python`, not `--docker`), the emulator beside it
#   (tests/tooling/run_integration.py).

# Inside a Debian root, the Python version it is for (tests/tooling/debian_root.py sets it); "" on the machine.
IN_DEBIAN_ROOT = os.environ.get("ENTRA_IN_DEBIAN_ROOT", "")
# The machine's Python, and the Pythons of the Debian roots (13 trixie: 3.13, 14 forky: 3.14).
MACHINE_PYTHON = "3.11"
ROOT_PYTHONS = ("3.13", "3.14")
# Inside the root, session venvs live in the root itself (cached with it), not in the clone's .nox.
ROOT_ENVDIR = "/opt/entra-provisioning/nox-envs"
SANITY_SKIPS = {"2.22": ("pylint",)}


def register(name, python, body, packages, description, tags=(), default=True):
    """Define a session where its Python is, or on the machine as a hop into the Debian root of its Python."""
    if python in ROOT_PYTHONS and not IN_DEBIAN_ROOT:
        def hop(session):
            session.run(sys.executable, os.path.join(TOOLING_DIR, "debian_root.py"), "--python", python, "run", "--",
                        "nox", "--envdir", ROOT_ENVDIR, "--reuse-venv", "yes", "--no-color",
                        "-f", os.path.join(REPO_ROOT, "noxfile.py"), "-s", name,
                        *(["--"] + session.posargs if session.posargs else []), external=True)
        hop.__doc__ = description + " (in a Debian root)"
        nox.session(name=name, python=False, default=default, tags=list(tags))(hop)
    elif python == (IN_DEBIAN_ROOT or MACHINE_PYTHON):
        body.__doc__ = description
        nox.session(name=name, python=python, default=default, tags=list(tags))(
            install_packages(packages=packages)(body))


# -- The ansible-test matrix ----------------------------------------------------------------------------------------


def sanity_ignore_entries():
    """Entries in tests/sanity/ignore-*.txt; the bar is none."""
    entries = []
    for path in sorted(glob.glob(os.path.join(REPO_ROOT, "tests", "sanity", "ignore-*.txt"))):
        with open(path) as ignore_file:
            entries += ["%s: %s" % (os.path.basename(path), line.strip()) for line in ignore_file
                        if line.strip() and not line.startswith("#")]
    return entries


def session_name(suite, core, python):
    """ansible-test-<suite>-<core>-<python>, antsibull-nox's naming with the Python added."""
    return "ansible-test-%s-%s-%s" % (suite, core, python)


def run_ansible_test(session, suite, python, core):
    """Stage the collection under ansible_collections/entra/provisioning and run one ansible-test suite."""
    if suite == "sanity":
        entries = sanity_ignore_entries()
        if entries:
            session.error("tests/sanity/ignore-*.txt has entries; fix the code instead:\n" + "\n".join(entries))
    prepared = prepare_collections(session, install_in_site_packages=False, install_out_of_tree=True)
    if not prepared:
        session.error("could not stage the collection")
    # ansible-test bootstraps pip in its venvs with a script it downloads; this writes a local stand-in.
    session.run("python", os.path.join(TOOLING_DIR, "ansible_test_pip_bootstrap.py"), silent=True)
    with session.chdir(prepared.current_path):
        if suite == "sanity":
            skips = [argument for test in SANITY_SKIPS.get(core, ()) for argument in ("--skip-test", test)]
            session.run("ansible-test", "sanity", "--python", python, "--color", "no", "-v", *skips, *session.posargs,
                        env=NO_COLOR)
        elif suite == "units":
            session.run("ansible-test", "units", "--venv", "--python", python, "--requirements", "--color", "no",
                        *session.posargs, env=NO_COLOR)
        else:
            # Starts the emulator with this Python, writes integration_config.yml, runs ansible-test integration.
            session.run("python", os.path.join(TOOLING_DIR, "run_integration.py"), "-v", *session.posargs,
                        env=NO_COLOR)


def add_ansible_test_session(suite, core, python):
    """Register one ansible-test session of the matrix."""
    package, _pythons, blocking = CORE_LINES[core]
    packages = [package]
    if suite == "integration":
        # The modules' own dependencies (msal, requests) and the emulator's, which runs on this Python too.
        packages += EMULATOR + requirements("tests/integration/requirements-targets.txt")

    def test(session):
        run_ansible_test(session, suite, python, core)
    register(session_name(suite, core, python), python, test, packages,
             "ansible-test %s with %s on Python %s" % (suite, package, python),
             tags=["ansible-test", suite, "ansible-core-" + core, "py" + python] + ([] if blocking else ["non-blocking"]))


def add_functional_session(name, python):
    """The Graph client against the real emulator, and the emulator's TLS under strict verification."""
    def functional(session):
        session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/functional", "tests/tooling/tests",
                    *session.posargs, env=NO_COLOR)
    # ansible-core 2.19 stops at Python 3.13; the Debian roots use the newest blocking line instead.
    line = "2.19" if python == MACHINE_PYTHON else "2.21"
    core = CORE_LINES[line][0]
    register(name, python, functional, EMULATOR + [core],
             "The Graph client against the real emulator from Python (real msal, requests and HTTPS) and strict TLS "
             "verification of the emulator's CA, on Python %s" % python,
             tags=["functional", "py" + python, "ansible-core-" + line])


def add_line_group(suite, core):
    """ansible-test-<suite>-<core>: every Python of the line, as contributors type it."""
    pythons = [python for python, suites in CORE_LINES[core][1].items() if suite in suites]

    def group(session):
        for python in pythons:
            session.notify(session_name(suite, core, python))
    group.__doc__ = "ansible-test %s on ansible-core %s, Python %s" % (suite, core, ", ".join(pythons))
    nox.session(name="ansible-test-%s-%s" % (suite, core), python=False, default=False)(group)


for _core, (_package, _pythons, _blocking) in CORE_LINES.items():
    for _suite in ALL_SUITES:
        for _python, _suites in _pythons.items():
            if _suite in _suites:
                add_ansible_test_session(_suite, _core, _python)
        if not IN_DEBIAN_ROOT:
            add_line_group(_suite, _core)


# The sessions that run once, on the machine's Python.
if not IN_DEBIAN_ROOT:

    # antsibull-nox (1.10) has no changelog session.
    @nox.session(name="changelog-lint", python=MACHINE_PYTHON)
    @install_packages(packages=[ANTSIBULL_CHANGELOG])
    def changelog_lint(session):
        """antsibull-changelog lint: fragments and config are well formed."""
        session.run("antsibull-changelog", "lint")

    @nox.session(name="emulator", python=MACHINE_PYTHON)
    @install_packages(packages=EMULATOR + requirements("tests/emulator/requirements-sdk.txt"))
    def emulator(session):
        """The emulator's own pytest suite, through real HTTPS."""
        session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/emulator/tests",
                    *session.posargs, env=NO_COLOR)

    @nox.session(name="awx", python=MACHINE_PYTHON)
    @install_packages(packages=EMULATOR + requirements("tests/awx/requirements.txt") + [TOOLS_CORE])
    def awx(session):
        """Jobs run the AWX way (ansible-runner, credential injection, slicing) and the ansible-builder context."""
        # The jobs run ansible-playbook and ansible-runner from this session's venv (the Python running pytest).
        session.run("python", "-m", "pytest", "-q", "-rP", "-p", "no:cacheprovider", "tests/awx", *session.posargs,
                    env=NO_COLOR)

    @nox.session(name="benchmark-analysis", python=MACHINE_PYTHON)
    @install_packages(packages=requirements("tests/benchmark/requirements.txt") + ["pytest==9.2.0", "PyYAML==6.0.3"])
    def benchmark_analysis(session):
        """The benchmark's own arithmetic (floor, extrapolation, targets); the benchmark itself is `make bench`."""
        session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/benchmark/tests",
                    *session.posargs, env=NO_COLOR)


# Once on each Python: from 3.13 on, TLS is verified strictly, which the emulator's CA must pass for msal and
# requests.
add_functional_session("functional", MACHINE_PYTHON)
for _python in ROOT_PYTHONS:
    add_functional_session("functional-" + _python, _python)


if __name__ == "__main__":
    nox.main()
