"""Make ansible-test's pip bootstrap work on machines that only reach a package index.

ansible-test creates its virtual environments without pip and then runs a "get-pip" script that it downloads
from ci-files.testing.ansible.com into ``~/.ansible/test/cache/get_pip_<version>.py``. Our CI machines reach
only package indexes, so that download fails and every sanity/units/integration run that needs a venv dies.

When the real script can be downloaded (or is cached already), this does nothing. Otherwise it writes a stand-in
to the cache path which bootstraps pip with the standard library's ``ensurepip`` and then lets that pip install
the version ansible-test asked for from the configured index. ansible-test strips ``PIP_*`` variables from the
environment, so index and certificate settings must come from a pip config file (pip.conf), which is where this
machine keeps them.
"""

import importlib.util
import os
import re
import sys
import urllib.request

# ansible-test pins the pip it bootstraps: 2.19 asks for 24.2, 2.20 to 2.22 for 25.2. The installed ansible-test's
# own pin (read from its source) is added to these.
PIP_VERSIONS = ("24.2", "25.2")
DOWNLOAD_URL = "https://ci-files.testing.ansible.com/ansible-test/get-pip-{version}.py"

STAND_IN = '''"""Stand-in for get-pip.py written by entra.provisioning tests/tooling/ansible_test_pip_bootstrap.py."""
import subprocess
import sys

# get-pip.py takes pip-install arguments plus two of its own that plain pip does not know.
OWN_FLAGS = ("--no-setuptools", "--no-wheel")

# ensurepip runs in its own process: in-process it sets PIP_CONFIG_FILE=/dev/null in os.environ, and the pip
# below would then lose pip.conf, the only place our index and certificate settings can come from.
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"])
arguments = [argument for argument in sys.argv[1:] if argument not in OWN_FLAGS]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + arguments))
'''


def cache_path(version):
    """Return where ansible-test looks for the bootstrap script of a pip version."""
    return os.path.expanduser("~/.ansible/test/cache/get_pip_%s.py" % version.replace(".", "_"))


def real_script_reachable(version):
    """Tell whether the real bootstrap script can be downloaded right now (short timeout)."""
    try:
        with urllib.request.urlopen(DOWNLOAD_URL.format(version=version), timeout=5):
            return True
    except Exception:  # any failure means ansible-test's own download would fail too
        return False


def installed_pip_pin():
    """The pip version the ansible-test importable by this Python bootstraps, or None."""
    spec = importlib.util.find_spec("ansible_test")
    if not spec or not spec.submodule_search_locations:
        return None
    path = os.path.join(list(spec.submodule_search_locations)[0], "_internal", "python_requirements.py")
    if not os.path.exists(path):
        return None
    with open(path) as source:
        match = re.search(r"pip='([0-9.]+)'", source.read())
    return match.group(1) if match else None


def main():
    """Install the stand-in for every pinned pip version whose real script is neither cached nor reachable."""
    versions = list(PIP_VERSIONS)
    pin = installed_pip_pin()
    if pin and pin not in versions:
        versions.append(pin)
    for version in versions:
        path = cache_path(version)
        if os.path.exists(path):
            continue
        if real_script_reachable(version):
            print("ansible-test can download get-pip %s itself; no stand-in needed" % version)
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as stand_in:
            stand_in.write(STAND_IN)
        print("installed the ensurepip stand-in for get-pip %s at %s" % (version, path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
