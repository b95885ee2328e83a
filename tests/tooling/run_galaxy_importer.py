"""Run galaxy-importer on a built tarball and fail on any warning or error it reports.

galaxy-importer exits 0 even when it warns (for example when ansible-doc or ansible-lint cannot run, which makes
it skip a whole check); the bar is an import with no warnings, so its log lines are checked here.
"""

import subprocess
import sys

COMPLAINT_PREFIXES = ("WARNING", "ERROR")


def main(tarball_path):
    """Import the tarball, echo galaxy-importer's log, and return non-zero on a warning, an error or a failure."""
    completed = subprocess.run([sys.executable, "-m", "galaxy_importer.main", tarball_path],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    print(completed.stdout)
    complaints = [line for line in completed.stdout.splitlines() if line.startswith(COMPLAINT_PREFIXES)]
    if completed.returncode != 0 or complaints:
        print("galaxy-importer: exit code %d, %d warning/error line(s)" % (completed.returncode, len(complaints)))
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: run_galaxy_importer.py COLLECTION_TARBALL")
    sys.exit(main(sys.argv[1]))
