"""Run ``ansible-test integration`` against a freshly started local emulator, then stop it.

Run from the staged collection root with the Python of the session (it has the emulator's dependencies, and
ansible-test runs its targets on that same Python: the emulator and the modules share the interpreter). The
emulator's endpoints, CA file and generated certificates reach every target as the variable ``emulator`` through
``tests/integration/integration_config.yml``, which ansible-test loads as extra variables; the emulator's state
directory and a command to reach its control API are passed too, so targets can set faults and read the request log.
"""

import json
import os
import subprocess
import sys
import tempfile

SEED_PATH = os.path.join("tests", "integration", "emulator-seed.yml")
CONFIG_PATH = os.path.join("tests", "integration", "integration_config.yml")


def main(ansible_test_arguments):
    """Start the emulator, write the integration config, run ansible-test, stop the emulator; return its code."""
    sys.path.insert(0, os.path.abspath(os.path.join("tests", "emulator")))
    from entra_emulator import EmulatorProcess  # pylint: disable=import-outside-toplevel

    state_dir = tempfile.mkdtemp(prefix="entra-emulator-")
    with EmulatorProcess(seed=os.path.abspath(SEED_PATH), state_dir=state_dir) as emulator:
        config = {
            "emulator": emulator.info,
            "emulator_state_dir": state_dir,
            "emulator_seed_path": os.path.abspath(SEED_PATH),
            # runme.sh targets import entra_emulator (seed reading, control client) from here.
            "emulator_pythonpath": os.path.abspath(os.path.join("tests", "emulator")),
        }
        with open(CONFIG_PATH, "w") as config_file:
            # JSON is YAML, and keeps the file free of YAML quoting surprises.
            json.dump(config, config_file, indent=2)
        python_version = "%d.%d" % sys.version_info[:2]
        command = ["ansible-test", "integration", "--python", python_version, "--color", "no"] + ansible_test_arguments
        return subprocess.call(command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
