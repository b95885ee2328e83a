"""Debian roots with newer Pythons, for the ansible-core lines that need a controller Python 3.12+.

These machines run Debian 12 (Python 3.11). ansible-core 2.20 and newer refuse Python 3.11, so the sessions of
those lines run inside a Debian root built with ``debootstrap`` from the Debian package registry: Debian 13
(trixie) for Python 3.13, Debian 14 (forky, testing) for Python 3.14. Only the standard library is used here.

The root is cached outside the clone, under ``$ENTRA_DEBIAN_ROOT_CACHE`` (default
``/var/cache/entra-provisioning`` as root, else ``${XDG_CACHE_HOME:-~/.cache}/entra-provisioning``), in a folder
named after a hash of what it is built from (suite, package list, this file's build steps), so a second run reuses
it and a change of the package list builds a new one.

    python3 tests/tooling/debian_root.py [--python 3.13] ensure             # build the root if missing; print its path
    python3 tests/tooling/debian_root.py [--python 3.13] run -- CMD [ARG..]  # run CMD inside (clone, /tmp mounted)
    python3 tests/tooling/debian_root.py [--python 3.13] path               # where the root is (or would be)

``run`` bind-mounts the clone (and its git directory) at the same absolute path, /tmp, /proc, /dev (with /dev/pts and /dev/shm), so every
path in the clone, in ansible-test's temporary trees and in the emulator's state directory means the same inside
and out. The root shares the machine's network namespace: a server on 127.0.0.1 is reachable from both sides.
"""

import fcntl
import glob
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Python version -> Debian suite whose python3 it is. forky is Debian's testing: it moves, so a cached root is
# checked for the Python it was built for and rebuilt under a new name when the package list changes.
SUITES = {"3.13": "trixie", "3.14": "forky"}
DEFAULT_PYTHON = "3.13"
# debootstrap of Debian 12 has no script for forky yet; testing is built like unstable.
SCRIPT_FALLBACK = "/usr/share/debootstrap/scripts/sid"
# What ansible-test needs on the controller: python3 with venv (ensurepip, for its own virtual environments),
# git (antsibull-nox copies the collection by `git ls-files`), CA certificates for pip, ssh-keygen (ansible-test
# integration makes a key pair at start even for local targets).
PACKAGES = ("python3", "python3-venv", "ca-certificates", "git", "openssh-client")
# nox and antsibull-nox inside the root; they create each session's venv (ansible-core, test requirements).
NOX_REQUIREMENTS = os.path.join(REPO_ROOT, "tests", "tooling", "requirements-nox.txt")
NOX_VENV = "/opt/entra-provisioning/nox"
# Build steps version: bump when the way the root is made changes, so old roots are not reused.
BUILD_STEPS = "1"
# Files copied from the machine into the root at every run, so pip and TLS inside behave as outside.
HOST_FILES = ("/etc/resolv.conf", "/etc/pip.conf", "/etc/ssl/certs/ca-certificates.crt")
HOST_DIRS = ("/root/.config/pip", "/etc/xdg/pip")


def say(message):
    """Progress on stderr, so `ensure`'s stdout stays the path alone."""
    print("debian-root: " + message, file=sys.stderr, flush=True)


def cache_base():
    """Where roots are kept: outside the clone, so a fresh clone reuses the machine's root."""
    configured = os.environ.get("ENTRA_DEBIAN_ROOT_CACHE")
    if configured:
        return configured
    if os.geteuid() == 0:
        return "/var/cache/entra-provisioning"
    return os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "entra-provisioning")


def root_key(suite):
    """A short hash of everything the root is built from."""
    digest = hashlib.sha256()
    digest.update(("%s\n%s\n%s\n" % (suite, " ".join(sorted(PACKAGES)), BUILD_STEPS)).encode())
    with open(NOX_REQUIREMENTS, "rb") as requirements:
        digest.update(requirements.read())
    return digest.hexdigest()[:12]


def root_path(python):
    """The root's folder for the current key."""
    suite = SUITES[python]
    return os.path.join(cache_base(), "debian-%s-%s" % (suite, root_key(suite)))


def debian_mirror():
    """The Debian archive the machine's apt uses (its sources), or $ENTRA_DEBIAN_MIRROR."""
    if os.environ.get("ENTRA_DEBIAN_MIRROR"):
        return os.environ["ENTRA_DEBIAN_MIRROR"]
    candidates = []
    source_files = glob.glob("/etc/apt/sources.list.d/*.sources") + glob.glob("/etc/apt/sources.list.d/*.list")
    for path in ["/etc/apt/sources.list"] + sorted(source_files):
        if not os.path.exists(path):
            continue
        with open(path) as sources:
            for line in sources:
                words = line.split()
                if words[:1] == ["URIs:"]:
                    candidates += words[1:]
                elif words[:1] == ["deb"]:
                    candidates += [word for word in words[1:] if "://" in word][:1]
    for uri in candidates:
        # The main archive, not the security one.
        if uri.rstrip("/").endswith("/debian"):
            return uri
    raise SystemExit("debian-root: no Debian archive in the apt sources; set ENTRA_DEBIAN_MIRROR to one")


def ensure_debootstrap():
    """Install debootstrap from the Debian package registry when the machine lacks it."""
    if shutil.which("debootstrap"):
        return
    if os.geteuid() != 0:
        raise SystemExit("debian-root: debootstrap is missing; install it (apt-get install debootstrap) as root")
    say("installing debootstrap with apt-get")
    quiet = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.check_call(["apt-get", "update", "-q"], env=quiet, stdout=subprocess.DEVNULL)
    subprocess.check_call(["apt-get", "install", "-y", "-q", "debootstrap"], env=quiet, stdout=subprocess.DEVNULL)


def copy_host_config(root):
    """Give the root the machine's resolver, pip configuration and CA bundle (pip inside reads the same index)."""
    for path in HOST_FILES:
        if os.path.exists(path):
            target = root + path
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy2(path, target)
    for path in HOST_DIRS:
        if os.path.isdir(path):
            target = root + path
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(path, target)
    # Local wheel folders named by the pip configuration: bind-mounted at run time if they exist.


def pip_local_dirs():
    """Local folders the machine's pip configuration points at (find-links, file:// indexes)."""
    folders = []
    for path in ("/etc/pip.conf", os.path.expanduser("~/.config/pip/pip.conf")):
        if not os.path.exists(path):
            continue
        with open(path) as config:
            for word in config.read().split():
                if word.startswith("file://"):
                    word = word[len("file://"):]
                if word.startswith("/opt/") or word.startswith("/srv/"):
                    folder = word.rstrip("/")
                    # An index's simple/ folder: mount its parent so relative links keep working.
                    if os.path.basename(folder) == "simple":
                        folder = os.path.dirname(folder)
                    if os.path.isdir(folder) and folder not in folders:
                        folders.append(folder)
    return folders


def build(root, python):
    """debootstrap a minimal root with PACKAGES and a venv holding nox and antsibull-nox."""
    suite = SUITES[python]
    ensure_debootstrap()
    os.makedirs(os.path.dirname(root), exist_ok=True)
    scratch = tempfile.mkdtemp(prefix=os.path.basename(root) + ".building-", dir=os.path.dirname(root))
    say("building a Debian %s root at %s (about a minute, once)" % (suite, root))
    script = [] if os.path.exists("/usr/share/debootstrap/scripts/" + suite) else [SCRIPT_FALLBACK]
    log_path = scratch + ".log"
    with open(log_path, "w") as log:
        code = subprocess.call(["debootstrap", "--variant=minbase", "--include=" + ",".join(PACKAGES), suite,
                                scratch, debian_mirror()] + script, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    if code != 0:
        with open(log_path) as log:
            sys.stderr.write("".join(log.readlines()[-30:]))
        raise SystemExit("debian-root: debootstrap failed (exit %d); log: %s" % (code, log_path))
    copy_host_config(scratch)
    requirements_inside = os.path.dirname(NOX_VENV) + "/requirements-nox.txt"
    os.makedirs(scratch + os.path.dirname(NOX_VENV), exist_ok=True)
    shutil.copy2(NOX_REQUIREMENTS, scratch + requirements_inside)
    with mounted(scratch):
        found = subprocess.check_output(["chroot", scratch, "/usr/bin/python3", "-c",
                                         "import sys; print('%d.%d' % sys.version_info[:2])"], text=True).strip()
        if found != python:
            raise SystemExit("debian-root: Debian %s's python3 is %s, not %s; change SUITES in %s"
                             % (suite, found, python, __file__))
        subprocess.check_call(["chroot", scratch, "/usr/bin/python3", "-m", "venv", NOX_VENV])
        subprocess.check_call(["chroot", scratch, NOX_VENV + "/bin/pip", "install", "-q",
                               "--disable-pip-version-check", "-r", requirements_inside], env=chroot_env(python))
    os.rename(scratch, root)
    os.remove(log_path)
    say("root ready: %s" % root)


def chroot_env(python, extra=None):
    """A clean environment for commands inside the root (the machine's PATH means nothing there)."""
    environment = {
        "PATH": NOX_VENV + "/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/root",
        "LANG": "C.UTF-8",
    }
    for name, value in os.environ.items():
        # Pass on what tells tools how to run (CI detection, colours, pip and TLS settings, our own knobs).
        if name in ("CI", "TERM", "NO_COLOR", "FORCE_COLOR") or name.startswith(("PIP_", "ENTRA_", "ANTSIBULL_NOX_")) \
                or name in ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            environment.setdefault(name, value)
    # Tells noxfile.py it runs inside the root of this Python.
    environment["ENTRA_IN_DEBIAN_ROOT"] = python
    environment.update(extra or {})
    return environment


class mounted:  # pylint: disable=invalid-name
    """Bind-mount what the root must share with the machine, and unmount it all on exit."""

    def __init__(self, root, with_repo=False):
        self.root = root
        self.with_repo = with_repo
        self.mounts = []

    def _bind(self, source, read_only=False):
        target = self.root + source
        if os.path.isdir(source):
            os.makedirs(target, exist_ok=True)
        if subprocess.call(["mountpoint", "-q", target]) == 0:
            # Left by a run that was killed: unmount, so this run's mount is the only one and is undone at exit.
            subprocess.call(["umount", "-l", target])
        subprocess.check_call(["mount", "--bind", source, target])
        self.mounts.append(target)
        if read_only:
            subprocess.check_call(["mount", "-o", "remount,bind,ro", target])

    def __enter__(self):
        try:
            os.makedirs(self.root + "/proc", exist_ok=True)
            if subprocess.call(["mountpoint", "-q", self.root + "/proc"]) == 0:
                subprocess.call(["umount", "-l", self.root + "/proc"])
            subprocess.check_call(["mount", "-t", "proc", "proc", self.root + "/proc"])
            self.mounts.append(self.root + "/proc")
            self._bind("/dev")
            # A plain bind does not carry the mounts under /dev: pseudo-terminals (ansible-runner's pexpect, as AWX
            # runs jobs) and shared memory (multiprocessing) must be bound on their own.
            for device_mount in ("/dev/pts", "/dev/shm"):
                if os.path.ismount(device_mount):
                    self._bind(device_mount)
            self._bind("/tmp")
            for folder in pip_local_dirs():
                self._bind(folder, read_only=True)
            if self.with_repo:
                self._bind(REPO_ROOT)
                git_dir = git_common_dir()
                if git_dir and not git_dir.startswith(REPO_ROOT + os.sep):
                    self._bind(git_dir, read_only=True)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc_info):
        for target in reversed(self.mounts):
            subprocess.call(["umount", "-l", target])
        self.mounts = []


def git_common_dir():
    """The clone's git directory (a worktree's lives elsewhere); None outside git."""
    try:
        output = subprocess.check_output(["git", "rev-parse", "--path-format=absolute", "--git-common-dir"],
                                         cwd=REPO_ROOT, stderr=subprocess.DEVNULL, text=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return output.strip() or None


def ensure(python):
    """Return the root's path, building it first if needed."""
    if sys.platform != "linux":
        raise SystemExit("debian-root: needs Linux (chroot and bind mounts)")
    root = root_path(python)
    if not os.path.isdir(root):
        build(root, python)
    return root


def run(python, command):
    """Run a command inside the root with the clone mounted at its own path; return its exit code."""
    root = ensure(python)
    # One run at a time per root: a second one would share, then undo, the first one's mounts.
    with open(root + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        copy_host_config(root)
        with mounted(root, with_repo=True):
            return subprocess.call(["chroot", root, "/usr/bin/env", "-C", os.getcwd()] + command,
                                   env=chroot_env(python), stdin=subprocess.DEVNULL)


def stop_on_signal(signum, _frame):
    """SIGTERM (a timeout of make test) unwinds like an exception, so the mounts are undone."""
    raise SystemExit(128 + signum)


def main(arguments):
    """Command line: [--python X.Y] ensure | path | run -- CMD."""
    signal.signal(signal.SIGTERM, stop_on_signal)
    python = DEFAULT_PYTHON
    if arguments[:1] == ["--python"] and len(arguments) > 1:
        python, arguments = arguments[1], arguments[2:]
    if python not in SUITES:
        raise SystemExit("debian-root: no Debian root for Python %s; known: %s" % (python, ", ".join(SUITES)))
    if not arguments or arguments[0] not in ("ensure", "path", "run"):
        raise SystemExit(__doc__)
    if arguments[0] == "path":
        print(root_path(python))
        return 0
    if arguments[0] == "ensure":
        print(ensure(python))
        return 0
    command = arguments[1:]
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        raise SystemExit("debian-root: run needs a command")
    return run(python, command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
