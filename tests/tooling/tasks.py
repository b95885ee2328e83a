"""Set up, run the demo and run every gate of entra.provisioning from a fresh clone.

Only the standard library is used here, because this script is what creates the virtual environments.

    python3 tests/tooling/tasks.py setup          # create/refresh .venv/tools and .venv/ansible-2.18
    python3 tests/tooling/tasks.py demo           # the README's first command
    python3 tests/tooling/tasks.py test [GATE..]  # the README's second command (every gate, or the named ones)
"""

import argparse
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOLING_DIR = os.path.join(REPO_ROOT, "tests", "tooling")
EMULATOR_DIR = os.path.join(REPO_ROOT, "tests", "emulator")
VENV_ROOT = os.path.join(REPO_ROOT, ".venv")
LOG_DIR = os.path.join(REPO_ROOT, "tests", "output", "gates")
COLLECTION_PATH_PARTS = ("ansible_collections", "entra", "provisioning")
# One interpreter for every ansible-test run: it is the one every machine of ours has.
PYTHON_VERSION = "3.11"

# Each venv: its requirement files (missing optional ones are skipped, so the order of landing does not matter).
VENVS = {
    "tools": [
        os.path.join(TOOLING_DIR, "requirements-tools.txt"),
        os.path.join(EMULATOR_DIR, "requirements.txt"),
        os.path.join(REPO_ROOT, "tests", "benchmark", "requirements.txt"),
        os.path.join(REPO_ROOT, "tests", "awx", "requirements.txt"),
        # So one unit test file can run with plain pytest (docs/contributing.md); the units gate uses its own venv.
        os.path.join(REPO_ROOT, "tests", "unit", "requirements.txt"),
    ],
    "ansible-2.18": [os.path.join(TOOLING_DIR, "requirements-ansible-2.18.txt")],
}


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


def setup():
    """Create every venv and make ansible-test's pip bootstrap work without its download host."""
    if sys.version_info < (3, 11):
        raise SystemExit("Python 3.11 or newer is needed to set up; found %s" % sys.version.split()[0])
    for venv_name in VENVS:
        ensure_venv(venv_name)
    subprocess.check_call([sys.executable, os.path.join(TOOLING_DIR, "ansible_test_pip_bootstrap.py")])


def tracked_files():
    """List the files of the checkout that git tracks or would track (untracked but not ignored)."""
    if os.path.isdir(os.path.join(REPO_ROOT, ".git")):
        output = subprocess.check_output(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=REPO_ROOT)
        return [name for name in output.decode().split("\0") if name and os.path.isfile(os.path.join(REPO_ROOT, name))]
    skipped = {".venv", ".git", "tests/output", "build", ".cache"}
    listing = []
    for directory, subdirectories, files in os.walk(REPO_ROOT):
        relative_dir = os.path.relpath(directory, REPO_ROOT)
        subdirectories[:] = [name for name in subdirectories
                             if os.path.normpath(os.path.join(relative_dir, name)) not in skipped]
        listing += [os.path.normpath(os.path.join(relative_dir, name)) for name in files]
    return listing


def stage_collection(parent_dir):
    """Copy the collection under ``parent_dir/ansible_collections/entra/provisioning`` (ansible-test needs that path)."""
    collection_dir = os.path.join(parent_dir, *COLLECTION_PATH_PARTS)
    for relative_path in tracked_files():
        target = os.path.join(collection_dir, relative_path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(os.path.join(REPO_ROOT, relative_path), target)
    return collection_dir


def tool_environment(venv_name="tools", **extra):
    """Return the environment for running a venv's tools: its bin first on PATH."""
    environment = dict(os.environ)
    environment["PATH"] = os.path.join(VENV_ROOT, venv_name, "bin") + os.pathsep + environment.get("PATH", "")
    environment.pop("PYTHONPATH", None)
    # Logs are read as plain text; colour codes only get in the way there.
    environment.update(NO_COLOR="1", ANSIBLE_NOCOLOR="1", PY_COLORS="0", ANSIBLE_FORCE_COLOR="0")
    environment.update(extra)
    return environment


def run_logged(command, log_path, cwd, environment):
    """Run a command with its output in a log file; return its exit code."""
    with open(log_path, "a") as log:
        log.write("$ %s\n(in %s)\n" % (" ".join(command), cwd))
        log.flush()
        return subprocess.call(command, cwd=cwd, env=environment, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL)


def module_names(collection_dir):
    """List the collection's modules by file name."""
    pattern = os.path.join(collection_dir, "plugins", "modules", "*.py")
    return sorted(os.path.splitext(os.path.basename(path))[0] for path in glob.glob(pattern)
                  if not os.path.basename(path).startswith("_"))


class Gates:
    """Every gate of the test command; each method returns a list of (command, cwd, environment) steps."""

    def __init__(self, collection_dir, scratch_dir):
        self.collection_dir = collection_dir
        self.scratch_dir = scratch_dir

    def changelog_lint(self):
        """antsibull-changelog lint: fragments and config are well formed."""
        return [(["antsibull-changelog", "lint"], self.collection_dir, tool_environment())]

    def sanity_2_19(self):
        """ansible-test sanity on ansible-core 2.19, no ignore entries allowed."""
        return self._sanity("tools")

    def sanity_2_18(self):
        """ansible-test sanity on ansible-core 2.18, no ignore entries allowed."""
        return self._sanity("ansible-2.18")

    def _sanity(self, venv_name):
        ignore_entries = self._sanity_ignore_entries()
        if ignore_entries:
            # The bar is zero ignore entries: fail loudly instead of letting ansible-test honour them.
            raise GateError("tests/sanity/ignore-*.txt has entries; fix the code instead:\n%s" % ignore_entries)
        command = [venv_bin(venv_name, "ansible-test"), "sanity", "--python", PYTHON_VERSION, "--color", "no"]
        return [(command, self.collection_dir, tool_environment(venv_name))]

    def _sanity_ignore_entries(self):
        entries = []
        for path in glob.glob(os.path.join(self.collection_dir, "tests", "sanity", "ignore-*.txt")):
            with open(path) as ignore_file:
                entries += [line.strip() for line in ignore_file if line.strip() and not line.startswith("#")]
        return "\n".join(entries)

    def units(self):
        """ansible-test units (pytest) in a venv with tests/unit/requirements.txt."""
        command = [venv_bin("tools", "ansible-test"), "units", "--venv", "--python", PYTHON_VERSION,
                   "--color", "no", "--requirements"]
        return [(command, self.collection_dir, tool_environment())]

    def emulator(self):
        """The emulator's own pytest suite, through real HTTPS."""
        if not os.path.isdir(os.path.join(self.collection_dir, "tests", "emulator", "tests")):
            raise GateError("tests/emulator/tests is missing")
        command = [venv_bin("tools", "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/emulator/tests"]
        environment = tool_environment(PYTHONPATH=os.path.join(self.collection_dir, "tests", "emulator"))
        return [(command, self.collection_dir, environment)]

    def functional(self):
        """The Graph client against the real emulator from Python (real msal, requests and HTTPS; no ansible-playbook)."""
        command = [venv_bin("tools", "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/functional"]
        return [(command, self.collection_dir, tool_environment())]

    def benchmark_analysis(self):
        """The benchmark's own arithmetic (floor, extrapolation, targets); the benchmark itself is `make bench`."""
        command = [venv_bin("tools", "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/benchmark/tests"]
        return [(command, self.collection_dir, tool_environment())]

    def integration(self):
        """ansible-test integration: every target under tests/integration/targets against the local emulator."""
        command = [venv_bin("tools", "python"), os.path.join(TOOLING_DIR, "run_integration.py"), "-v"]
        return [(command, self.collection_dir, tool_environment())]

    def awx(self):
        """Jobs run the AWX way (ansible-runner, credential injection, slicing) and the ansible-builder context."""
        command = [venv_bin("tools", "python"), "-m", "pytest", "-q", "-rP", "-p", "no:cacheprovider", "tests/awx"]
        environment = tool_environment(PYTHONPATH=os.path.join(self.collection_dir, "tests", "emulator"))
        return [(command, self.collection_dir, environment)]

    def ansible_lint(self):
        """ansible-lint, production profile, on roles, playbooks and every module's EXAMPLES."""
        # The staged tree is already an ansible_collections/entra/provisioning layout: pointing the collections path
        # at it lets playbooks and roles resolve entra.provisioning.* as they would once installed.
        environment = tool_environment(ANSIBLE_COLLECTIONS_PATH=self.scratch_dir)
        return [(["ansible-lint", "--profile", "production", "--offline"], self.collection_dir, environment)]

    def docs_lint(self):
        """antsibull-docs lint-collection-docs with plugin docs."""
        command = ["antsibull-docs", "lint-collection-docs", "--plugin-docs", "."]
        return [(command, self.collection_dir, tool_environment())]

    def build(self):
        """Build the tarball, install it, render every module with ansible-doc, and run galaxy-importer on it."""
        build_dir = os.path.join(self.scratch_dir, "build")
        install_dir = os.path.join(self.scratch_dir, "installed")
        os.makedirs(build_dir, exist_ok=True)
        steps = [
            (["ansible-galaxy", "collection", "build", "--force", "--output-path", build_dir],
             self.collection_dir, tool_environment()),
            (["sh", "-c", "ansible-galaxy collection install --force -p %s %s/*.tar.gz" % (install_dir, build_dir)],
             self.collection_dir, tool_environment()),
        ]
        doc_environment = tool_environment(ANSIBLE_COLLECTIONS_PATH=install_dir)
        for name in module_names(self.collection_dir):
            steps.append((["ansible-doc", "-t", "module", "entra.provisioning." + name], self.scratch_dir,
                          doc_environment))
        importer_config = os.path.join(TOOLING_DIR, "galaxy-importer.cfg")
        steps.append((["sh", "-c", "%s %s %s/*.tar.gz" % (
            venv_bin("tools", "python"), os.path.join(TOOLING_DIR, "run_galaxy_importer.py"), build_dir)],
            self.scratch_dir, tool_environment(GALAXY_IMPORTER_CONFIG=importer_config)))
        return steps


class GateError(Exception):
    """A gate could not even be started; the message says why."""


GATE_ORDER = ("changelog_lint", "docs_lint", "ansible_lint", "build", "sanity_2_19", "sanity_2_18", "units",
              "emulator", "functional", "benchmark_analysis", "integration", "awx")


def run_gates(selected):
    """Run the selected gates on a staged copy of the checkout and print a summary table."""
    os.makedirs(LOG_DIR, exist_ok=True)
    scratch_dir = tempfile.mkdtemp(prefix="entra-provisioning-")
    collection_dir = stage_collection(scratch_dir)
    say("test: staged the collection at %s" % collection_dir)
    gates = Gates(collection_dir, scratch_dir)
    outcomes = []
    for gate_name in selected:
        log_path = os.path.join(LOG_DIR, gate_name + ".log")
        if os.path.exists(log_path):
            os.remove(log_path)
        say("test: %-15s running (log: %s)" % (gate_name, os.path.relpath(log_path, REPO_ROOT)))
        started = time.monotonic()
        try:
            exit_code = 0
            for command, cwd, environment in getattr(gates, gate_name)():
                exit_code = run_logged(command, log_path, cwd, environment)
                if exit_code != 0:
                    break
        except GateError as error:
            with open(log_path, "a") as log:
                log.write(str(error) + "\n")
            exit_code = 1
        elapsed = time.monotonic() - started
        outcomes.append((gate_name, exit_code == 0, elapsed))
        say("test: %-15s %s in %.0f s" % (gate_name, "passed" if exit_code == 0 else "FAILED", elapsed))
        if exit_code != 0:
            with open(log_path) as log:
                say("".join(log.readlines()[-40:]))
    passed = sum(1 for outcome in outcomes if outcome[1])
    failed = len(outcomes) - passed
    say("\n%-16s %-8s %s" % ("gate", "result", "seconds"))
    for gate_name, ok, elapsed in outcomes:
        say("%-16s %-8s %.0f" % (gate_name, "passed" if ok else "FAILED", elapsed))
    if failed == 0:
        shutil.rmtree(scratch_dir, ignore_errors=True)
    else:
        say("the staged copy is kept for inspection: %s" % collection_dir)
    say("gates: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


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
    parser.add_argument("gates", nargs="*", help="with test: only these gates (%s)" % ", ".join(GATE_ORDER))
    arguments = parser.parse_args()
    unknown = [name for name in arguments.gates if name not in GATE_ORDER]
    if unknown:
        parser.error("unknown gate(s) %s; choose from %s" % (", ".join(unknown), ", ".join(GATE_ORDER)))
    setup()
    if arguments.task == "setup":
        say("setup: done")
        return 0
    if arguments.task == "demo":
        return demo()
    return run_gates(arguments.gates or list(GATE_ORDER))


if __name__ == "__main__":
    sys.exit(main())
