"""Run README.md's "Use it in your project" section word for word on a fresh clone, as a newcomer would.

The section's ``sh`` blocks run in order in one bash session (``set -euo pipefail``) and its ``yaml file=NAME``
blocks are written where they appear, in a scratch directory with its own HOME and TMPDIR and none of the ANSIBLE_*
variables ansible-test sets, so nothing but what the README says makes the collection found. Two things stand in
for what this machine cannot do, and nothing else is changed:

- GitHub: the clone (and requirements.yml's git source) come from a git repository made of this checkout, through
  git's ``url.<local>.insteadOf`` in the scratch HOME, so the README's URL is typed as written.
- ``make setup``: it builds the tools environment from the package registry, which the runner's own gate does; here
  it links the tools environment this test already runs in (the one with the emulator installed).

Step 1 (a new venv and pip install) runs for real. At the end the PLAY RECAP must show every example application
authorized and ``ansible-doc -l`` must have listed the module.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

SECTION_TITLE = "## Use it in your project"
REPOSITORY_URL_BASE = "https://github.com/entra-provisioning/"
MODULE = "entra.provisioning.entra_sync_acquire_token"
RECAP_LINE = re.compile(r"^(?P<host>\S+)\s+: ok=\d+\s+changed=(?P<changed>\d+)\s+unreachable=0\s+failed=(?P<failed>\d+)")
FENCE = re.compile(r"^(?P<indent> *)```(?P<info>.*)$")
IGNORED_IN_COPY = shutil.ignore_patterns(".git", ".venv", "output", "__pycache__", "*.pyc", ".pytest_cache",
                                         "integration_config.yml")


def section(readme_text):
    """Return the text of the README section, up to the next second-level heading."""
    start = readme_text.index(SECTION_TITLE)
    end = readme_text.find("\n## ", start + len(SECTION_TITLE))
    return readme_text[start:end if end != -1 else None]


def blocks(text):
    """Yield (info string, content) for every fenced block, its indentation removed."""
    lines = text.splitlines()
    position = 0
    while position < len(lines):
        opening = FENCE.match(lines[position])
        position += 1
        if not opening or not opening.group("info").strip():
            continue
        indent = len(opening.group("indent"))
        content = []
        while not lines[position].strip().startswith("```"):
            content.append(lines[position][indent:])
            position += 1
        position += 1
        yield opening.group("info").strip(), "\n".join(content) + "\n"


def script(text, tools_venv):
    """Turn the section into one bash script: sh blocks as they are, file= blocks as heredocs."""
    parts = []
    for info, content in blocks(text):
        words = info.split()
        if words[0] == "sh":
            parts.append(content)
        elif len(words) > 1 and words[1].startswith("file="):
            parts.append("cat > %s <<'README_BLOCK_END'\n%sREADME_BLOCK_END\n" % (words[1][len("file="):], content))
    body = "".join(parts)
    if body.count("make setup") != 1:
        raise SystemExit("the section should run make setup exactly once; found %d" % body.count("make setup"))
    body = body.replace("make setup", 'mkdir -p .venv && ln -sfn "%s" .venv/tools' % tools_venv)
    return "set -euo pipefail\n" + body


def tools_venv():
    """The environment with the emulator installed: this interpreter's, else a python on PATH that has it."""
    candidates = [sys.executable] + [os.path.join(entry, "python") for entry in os.environ["PATH"].split(os.pathsep)]
    for candidate in candidates:
        if os.path.exists(candidate) and subprocess.call([candidate, "-c", "import entra_emulator"],
                                                         stderr=subprocess.DEVNULL) == 0:
            return subprocess.check_output([candidate, "-c", "import sys; print(sys.prefix)"], text=True).strip()
    raise SystemExit("no python with the emulator installed on PATH: run with the tools venv")


def git(*arguments, cwd=None, env=None):
    subprocess.check_call(("git",) + arguments, cwd=cwd, env=env, stdout=subprocess.DEVNULL)


def make_origin(checkout, scratch, environment):
    """A bare git repository holding this checkout on branch main, where the README's URL will lead."""
    source = os.path.join(scratch, "source")
    shutil.copytree(checkout, source, ignore=IGNORED_IN_COPY, symlinks=True)
    git("init", "-q", "-b", "main", cwd=source, env=environment)
    git("add", "-A", cwd=source, env=environment)
    git("commit", "-q", "-m", "checkout under test", cwd=source, env=environment)
    origin = os.path.join(scratch, "origin")
    os.makedirs(origin)
    git("clone", "-q", "--bare", source, os.path.join(origin, "entra.provisioning.git"), env=environment)
    return origin


def newcomer_environment(scratch):
    """A shell as a newcomer has it: own HOME and TMPDIR, no ansible-test settings, no inherited venv."""
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith("ANSIBLE_") and name not in ("PYTHONPATH", "VIRTUAL_ENV", "OUTPUT_DIR")}
    environment.update(HOME=os.path.join(scratch, "home"), TMPDIR=os.path.join(scratch, "tmp"),
                       GIT_CONFIG_NOSYSTEM="1")
    os.makedirs(environment["HOME"])
    os.makedirs(environment["TMPDIR"])
    return environment


def checkout_under_test(config_path):
    """The collection checkout ansible-test runs from, as tests/tooling/run_integration.py wrote it (ansible-test
    copies only tests/ next to this script)."""
    with open(config_path, encoding="utf-8") as config_file:
        return json.load(config_file)["collection_root"]


def main(config_path):
    """Follow the section; return 0 when every step worked and every example application was authorized."""
    checkout = checkout_under_test(config_path)
    with open(os.path.join(checkout, "README.md"), encoding="utf-8") as readme:
        steps = script(section(readme.read()), tools_venv())
    scratch = tempfile.mkdtemp(prefix="entra-readme-")
    environment = newcomer_environment(scratch)
    try:
        git("config", "--global", "user.name", "README test", env=environment)
        git("config", "--global", "user.email", "readme-test@example.invalid", env=environment)
        origin = make_origin(checkout, scratch, environment)
        git("config", "--global", "url.file://%s/.insteadOf" % origin, REPOSITORY_URL_BASE, env=environment)
        workspace = os.path.join(scratch, "workspace")
        os.makedirs(workspace)
        print(steps, flush=True)
        run = subprocess.run(["bash", "-c", steps], cwd=workspace, env=environment, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, check=False)
        print(run.stdout, flush=True)
        recap = {match.group("host"): (int(match.group("changed")), int(match.group("failed")))
                 for match in map(RECAP_LINE.match, run.stdout.splitlines()) if match}
        problems = []
        if run.returncode != 0:
            problems.append("the steps stopped with exit status %d" % run.returncode)
        listed = run.stdout.count(MODULE + " ")
        if listed != 2:
            problems.append("ansible-doc -l listed %s %d times, not once in the project and once in the clone"
                            % (MODULE, listed))
        if len(recap) < 2 or any(value != (1, 0) for value in recap.values()):
            problems.append("the playbook did not authorize every example application once: %s" % recap)
        for problem in problems:
            print("README step failed: " + problem, flush=True)
        return 1 if problems else 0
    finally:
        state_dir = os.path.join(environment["TMPDIR"], "entra-emulator")
        if os.path.exists(os.path.join(state_dir, "emulator.json")):
            subprocess.call([os.path.join(tools_venv(), "bin", "python"), "-m", "entra_emulator", "stop",
                             "--state-dir", state_dir], env=environment)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
