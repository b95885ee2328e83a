"""Run ``ansible-test integration`` against a freshly started local emulator, then stop it.

Run from the staged collection root with the Python of the session (the emulator and its shared test helpers are
installed there, and ansible-test runs its targets on that same Python, so targets import them too). The
emulator's endpoints, CA file and generated certificates reach every target as the variable ``emulator`` through
``tests/integration/integration_config.yml``, which ansible-test loads as extra variables; the emulator's state
directory, its seed and the staged collection's root are passed too, so targets can set faults and read the request
log through entra_emulator's control client.
"""

import json
import os
import subprocess
import sys
import tempfile

from entra_emulator import EmulatorProcess

SEED_PATH = os.path.join("tests", "integration", "emulator-seed.yml")
CONFIG_PATH = os.path.join("tests", "integration", "integration_config.yml")


def main(ansible_test_arguments):
    """Start the emulator, write the integration config, run ansible-test, stop the emulator; return its code."""
    state_dir = tempfile.mkdtemp(prefix="entra-emulator-")
    with EmulatorProcess(seed=os.path.abspath(SEED_PATH), state_dir=state_dir) as emulator:
        config = {
            "emulator": emulator.info,
            "emulator_state_dir": state_dir,
            "emulator_seed_path": os.path.abspath(SEED_PATH),
            # The staged collection ansible-test runs from (readme_use_in_project clones it).
            "collection_root": os.path.abspath("."),
        }
        with open(CONFIG_PATH, "w") as config_file:
            # JSON is YAML, and keeps the file free of YAML quoting surprises.
            json.dump(config, config_file, indent=2)
        python_version = "%d.%d" % sys.version_info[:2]
        command = ["ansible-test", "integration", "--python", python_version, "--color", "no"] + ansible_test_arguments
        return subprocess.call(command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
