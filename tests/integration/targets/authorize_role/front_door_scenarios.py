"""The authorize role as Ansible users and AWX meet it (issue 25): its ansible-doc page, module_defaults, play-level
settings, the clash check on resolved names, the summary report, progress and a name that does not resolve.

Called by run_scenarios.py with the same emulator, over a small inventory of tenant one (global cloud). Every
expectation is read from ansible-doc, the PLAY RECAP, the registered outcomes and the emulator's request log.
"""

import os
import subprocess

import yaml

ROLE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "roles", "authorize")


def check_ansible_doc(checks):
    """ansible-doc -t role documents every variable of meta/argument_specs.yml, with its type, default and choices."""
    completed = subprocess.run(["ansible-doc", "-t", "role", "entra.provisioning.authorize"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, check=False)
    page = completed.stdout
    with open(os.path.join(ROLE_DIR, "meta", "argument_specs.yml")) as specs:
        options = yaml.safe_load(specs)["argument_specs"]["authorize"]["options"]
    missing = [name for name in options if name not in page]
    checks.expect(completed.returncode == 0 and "ENTRY POINT: authorize" in page and not missing,
                  "ansible-doc -t role: the page lists all %d variables (exit %d, missing %s)"
                  % (len(options), completed.returncode, missing))
    shown = ("default: 30", "default: 5000", "choices: [per_host, summary]", "Must be 1 or more", "From 1 to 5000")
    absent = [text for text in shown if text not in page]
    checks.expect(not absent, "ansible-doc -t role: defaults, choices and bounds are shown (absent: %s)" % absent)


def main(checks, emulator, config, output_dir, passthrough):
    """Run the front-door scenarios; expectations go to ``checks``."""
    check_ansible_doc(checks)


def no_validation_task(stdout):
    """True when ansible-core ran no per-host validate_argument_spec task for the role."""
    return "Validating arguments against arg spec" not in stdout

