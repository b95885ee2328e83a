"""The README's main job: authorize the example inventory's applications against the local emulator, twice.

Runs with the tools venv's python (``make demo``). It starts the emulator with its example seed, points each tenant
group of ``docs/examples/inventory`` at that cloud's emulated endpoints through a second inventory source (so the
example inventory itself stays what a user would write for the real clouds), runs ``docs/examples/authorize.yml``
once to authorize and once more to show that a re-run changes nothing, and stops the emulator.
"""

import json
import os
import re
import subprocess
import sys
import tempfile

from entra_emulator import EmulatorProcess

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEED_PATH = os.path.join(REPO_ROOT, "tests", "emulator", "seeds", "example.yml")
INVENTORY_PATH = os.path.join(REPO_ROOT, "docs", "examples", "inventory")
PLAYBOOK_PATH = os.path.join(REPO_ROOT, "docs", "examples", "authorize.yml")
# Which emulated cloud serves each tenant group of the example inventory.
GROUP_CLOUDS = {"contoso": "global", "fabrikam_dod": "usgov_dod"}
RECAP_LINE = re.compile(r"^(?P<host>\S+)\s+: ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=\d+"
                        r"\s+failed=(?P<failed>\d+)")


def write_emulator_inventory(emulator_info, path):
    """Write an inventory source that sends each tenant group to its emulated cloud and trusts the emulator's CA."""
    groups = {}
    for group, cloud in GROUP_CLOUDS.items():
        groups[group] = {"vars": {
            "authorize_graph_endpoint": emulator_info["clouds"][cloud]["graph_endpoint"],
            "authorize_authority_host": emulator_info["clouds"][cloud]["authority_host"],
            "authorize_ca_path": emulator_info["ca_path"],
        }}
    with open(path, "w") as inventory_file:
        json.dump({"all": {"children": groups}}, inventory_file, indent=2)


def collections_path(scratch_dir):
    """Make this checkout importable as entra.provisioning without installing it."""
    namespace_dir = os.path.join(scratch_dir, "ansible_collections", "entra")
    os.makedirs(namespace_dir)
    os.symlink(REPO_ROOT, os.path.join(namespace_dir, "provisioning"))
    return scratch_dir


def run_playbook(title, emulator_inventory, collections_dir):
    """Run the example playbook, echo its output, and return {host: (changed, failed)} from the PLAY RECAP."""
    print("\n=== %s ===" % title, flush=True)
    environment = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_dir,
                       ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_RETRY_FILES_ENABLED="False")
    command = ["ansible-playbook", "-i", INVENTORY_PATH, "-i", emulator_inventory, PLAYBOOK_PATH]
    process = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    recap = {}
    for line in process.stdout:
        sys.stdout.write(line)
        match = RECAP_LINE.match(line)
        if match:
            recap[match.group("host")] = (int(match.group("changed")), int(match.group("failed")))
    process.wait()
    return recap


def describe(recap):
    """Count the applications of a PLAY RECAP by outcome."""
    changed = sum(1 for value in recap.values() if value[0] and not value[1])
    failed = sum(1 for value in recap.values() if value[1])
    return changed, len(recap) - changed - failed, failed


def main():
    """Start the emulator, run the playbook twice, stop the emulator, and say plainly what happened."""

    # Removed on the way out, however the runs end: each demo used to leave one behind in the system temp folder.
    with tempfile.TemporaryDirectory(prefix="entra-demo-") as scratch_dir:
        collections_dir = collections_path(scratch_dir)
        emulator_inventory = os.path.join(scratch_dir, "emulator-endpoints.json")
        print("demo: starting the local Entra + Graph emulator with %s" % os.path.relpath(SEED_PATH, REPO_ROOT))
        with EmulatorProcess(seed=SEED_PATH, state_dir=os.path.join(scratch_dir, "emulator")) as emulator:
            write_emulator_inventory(emulator.info, emulator_inventory)
            first = run_playbook("first run: authorize every application", emulator_inventory, collections_dir)
            second = run_playbook("second run: nothing left to do", emulator_inventory, collections_dir)
            graph_requests = emulator.counters().get("graph_requests")

    first_changed, first_ok, first_failed = describe(first)
    second_changed, second_ok, second_failed = describe(second)
    print("\ndemo: ran docs/examples/authorize.yml twice on docs/examples/inventory against the local emulator.")
    print("demo: first run:  %d applications changed, %d ok, %d failed" % (first_changed, first_ok, first_failed))
    print("demo: second run: %d applications changed, %d ok, %d failed" % (second_changed, second_ok, second_failed))
    print("demo: the emulator answered %s Graph requests in all" % graph_requests)
    healthy = (first and first_failed == 0 and first_changed == len(first)
               and second_failed == 0 and second_changed == 0 and len(second) == len(first))
    print("demo: %s" % ("every application was authorized once; the re-run changed nothing." if healthy
                        else "the runs did not go as expected; see the output above."))
    print("demo: to use the collection in your own project, see README.md, 'Use it in your project'.")
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
