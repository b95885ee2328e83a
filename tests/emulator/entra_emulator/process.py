"""Starting, stopping and talking to an emulator that runs in its own process."""

import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from .constants import CLOUDS
from .seed import SeedError, load_seed

INFO_FILE = "emulator.json"
LOG_FILE = "emulator.log"
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class EmulatorError(RuntimeError):
    """The emulator could not be started, stopped or reached."""


class ControlClient:
    """A small client of the control API (`/_emulator/...`), standard library only."""

    def __init__(self, control_url=None, ca_path=None, timeout=30.0):
        self.control_url = control_url
        self.ca_path = ca_path
        self.timeout = timeout
        self._ssl_context = None

    def _context(self):
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context(cafile=self.ca_path)
        return self._ssl_context

    def call(self, method, route, body=None, query=None):
        """Send one control request and return the decoded JSON answer; raises EmulatorError on errors."""
        if not self.control_url:
            raise EmulatorError("the emulator is not running")
        url = "%s/_emulator/%s" % (self.control_url, route)
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = json.dumps(body).encode("utf-8") if body is not None else None
        request = urllib.request.Request(url, data=data, method=method,
                                         headers={"Content-Type": "application/json"} if data else {})
        try:
            with urllib.request.urlopen(request, context=self._context(), timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace")
            raise EmulatorError("control API %s %s answered %d: %s" % (method, route, error.code, detail)) from None

    def faults(self):
        """The faults in force now (count-based ones show what is left)."""
        return self.call("GET", "faults")

    def set_faults(self, **faults):
        """Change some faults (other faults stay as they are); returns the faults in force."""
        return self.call("PUT", "faults", faults)

    def clear_faults(self):
        """Back to the start-up faults (command-line options and the seed's `faults`)."""
        return self.call("DELETE", "faults")

    def log(self, since=0, limit=None):
        """Request log entries with seq > since, oldest first."""
        query = {"since": since}
        if limit:
            query["limit"] = limit
        return self.call("GET", "log", query=query)["entries"]

    def clear_log(self):
        """Forget the request log."""
        self.call("DELETE", "log")

    def counters(self):
        """Request and token counters."""
        return self.call("GET", "counters")

    def reset(self):
        """Back to the seed: authorizations, used codes, run-time objects, faults, log and counters."""
        self.call("POST", "reset")

    def expire_tokens(self):
        """Make every access token issued so far expired."""
        self.call("POST", "expire-tokens")

    def federation_token(self, subject, audience=None, lifetime=None, issued_at=None):
        """A token of the emulator's external issuer, for a client's federated credential."""
        body = {"subject": subject}
        if audience is not None:
            body["audience"] = audience
        if lifetime is not None:
            body["lifetime"] = lifetime
        if issued_at is not None:
            body["issued_at"] = issued_at
        return self.call("POST", "federation/token", body)["token"]

    def create_application(self, tenant_id, visible_after_seconds=None, **fields):
        """Create an application + service principal at run time; returns its expanded record and state."""
        body = dict(fields, tenant_id=tenant_id)
        if visible_after_seconds is not None:
            body["visible_after_seconds"] = visible_after_seconds
        return self.call("POST", "applications", body)

    def application(self, identifier):
        """State of one app (by service principal id, application id or appId)."""
        return self.call("GET", "applications/" + identifier)

    def applications(self, tenant_id=None):
        """State of every app, optionally of one tenant."""
        return self.call("GET", "applications", query={"tenant_id": tenant_id} if tenant_id else None)["value"]

    def health(self):
        """Whether the emulator answers."""
        return self.call("GET", "health")


def _serve_command(seed_path, state_dir, options):
    command = [sys.executable, "-m", "entra_emulator", "serve", "--seed", seed_path, "--state-dir", state_dir]
    for flag, value in options.items():
        if value is not None:
            command += ["--" + flag.replace("_", "-"), str(value)]
    return command


def _environment():
    environment = dict(os.environ)
    paths = [PACKAGE_PARENT] + [item for item in environment.get("PYTHONPATH", "").split(os.pathsep) if item]
    environment["PYTHONPATH"] = os.pathsep.join(paths)
    return environment


def read_info(state_dir):
    """The emulator.json of a state directory, or None."""
    try:
        with open(os.path.join(state_dir, INFO_FILE), "r", encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def process_alive(pid):
    """True if `pid` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid, "r", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _is_emulator(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return b"entra_emulator" in handle.read()
    except OSError:
        return True  # no /proc: trust the pid file


def _log_tail(state_dir):
    try:
        with open(os.path.join(state_dir, LOG_FILE), "r", encoding="utf-8", errors="replace") as handle:
            return handle.read()[-4000:]
    except OSError:
        return ""


def wait_until_ready(state_dir, pid, exited, timeout):
    """Wait for emulator.json of `pid` and a healthy control API; returns the info dict."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if exited():
            raise EmulatorError("the emulator exited during start-up:\n" + _log_tail(state_dir))
        info = read_info(state_dir)
        if info and info.get("pid") == pid:
            try:
                ControlClient(info["control_url"], info["ca_path"], timeout=5).health()
                return info
            except (OSError, EmulatorError):
                pass
        time.sleep(0.05)
    raise EmulatorError("the emulator did not answer within %s s:\n%s" % (timeout, _log_tail(state_dir)))


def check_ports_free(port_base):
    """With fixed ports (``port_base``), refuse to start when one of them is taken, naming it and its cloud: the
    child would otherwise fail to bind and start-up would end with its log instead of this sentence."""
    if not port_base:
        return
    for offset, cloud in enumerate(CLOUDS):
        port = port_base + offset
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
            try:
                probe.bind(("127.0.0.1", port))
            except OSError as error:
                raise EmulatorError("port %d (the %s cloud's, port base %d + %d) is not free on 127.0.0.1: %s; "
                                    "choose another --port-base, or stop what holds it"
                                    % (port, cloud, port_base, offset, error.strerror or error)) from None


def _prepare_state_dir(state_dir, seed):
    state_dir = os.path.abspath(state_dir)
    os.makedirs(state_dir, exist_ok=True)
    existing = read_info(state_dir)
    if existing and process_alive(existing.get("pid", -1)) and _is_emulator(existing["pid"]):
        raise EmulatorError("an emulator (pid %s) already runs with state directory %s; stop it first"
                            % (existing["pid"], state_dir))
    with contextlib.suppress(FileNotFoundError):
        os.remove(os.path.join(state_dir, INFO_FILE))
    if isinstance(seed, dict):
        seed_path = os.path.join(state_dir, "seed.json")
        with open(seed_path, "w", encoding="utf-8") as handle:
            json.dump(seed, handle)
    else:
        seed_path = os.path.abspath(seed)
        try:
            load_seed(seed_path)  # fail here, with a clear message, rather than in the child
        except (OSError, SeedError) as error:
            raise EmulatorError("cannot use seed %s: %s" % (seed_path, error)) from None
    return state_dir, seed_path


def start_detached(seed, state_dir, timeout=60.0, **options):
    """Start `serve` as a detached background process and return its info once it answers."""
    state_dir, seed_path = _prepare_state_dir(state_dir, seed)
    check_ports_free(options.get("port_base"))
    with open(os.path.join(state_dir, LOG_FILE), "ab") as log_file:
        process = subprocess.Popen(_serve_command(seed_path, state_dir, options), stdin=subprocess.DEVNULL,
                                   stdout=log_file, stderr=subprocess.STDOUT, env=_environment(),
                                   start_new_session=True, close_fds=True)
    try:
        return wait_until_ready(state_dir, process.pid, lambda: process.poll() is not None, timeout)
    except EmulatorError:
        if process.poll() is None:
            process.kill()
            process.wait()
        raise


def stop_detached(state_dir, timeout=15.0):
    """Stop the emulator of a state directory; returns False if none was running."""
    info = read_info(state_dir)
    if not info:
        return False
    pid = info.get("pid")
    stopped = False
    if isinstance(pid, int) and process_alive(pid) and _is_emulator(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while process_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if process_alive(pid):
            os.kill(pid, signal.SIGKILL)
            while process_alive(pid):
                time.sleep(0.05)
        stopped = True
    with contextlib.suppress(FileNotFoundError):
        os.remove(os.path.join(state_dir, INFO_FILE))
    return stopped


class EmulatorProcess(ControlClient):
    """An emulator in a child process for the length of a `with` block.

    `with EmulatorProcess(seed=path_or_dict, state_dir=tmp, latency_ms=0) as emu:` gives `emu.info` (the
    emulator.json dict) and the control API methods (set_faults, log, counters, reset, ...).
    """

    def __init__(self, seed, state_dir, latency_ms=None, token_latency_ms=None, token_lifetime=None,
                 port_base=None, faults=None, log_limit=None, startup_timeout=60.0):
        super().__init__()
        self.seed = seed
        self.state_dir = os.path.abspath(state_dir)
        self.options = {"latency_ms": latency_ms, "token_latency_ms": token_latency_ms,
                        "token_lifetime": token_lifetime, "port_base": port_base,
                        "faults": json.dumps(faults) if faults else None, "log_limit": log_limit}
        self.startup_timeout = startup_timeout
        self.process = None
        self.info = None

    def start(self):
        """Spawn the server and wait until it answers; returns self."""
        state_dir, seed_path = _prepare_state_dir(self.state_dir, self.seed)
        check_ports_free(self.options["port_base"])
        self._log_file = open(os.path.join(state_dir, LOG_FILE), "ab")
        self.process = subprocess.Popen(_serve_command(seed_path, state_dir, self.options), stdin=subprocess.DEVNULL,
                                        stdout=self._log_file, stderr=subprocess.STDOUT, env=_environment())
        try:
            self.info = wait_until_ready(state_dir, self.process.pid, lambda: self.process.poll() is not None,
                                         self.startup_timeout)
        except BaseException:
            self.stop()
            raise
        self.control_url = self.info["control_url"]
        self.ca_path = self.info["ca_path"]
        return self

    def stop(self):
        """Terminate the server and wait for it (kill after 15 s)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "_log_file", None):
            self._log_file.close()
            self._log_file = None
        self.control_url = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    # ---- conveniences ------------------------------------------------------------------------------------

    def authority(self, tenant_id):
        """The msal authority URL of a seed tenant (on its cloud's listener)."""
        return self.info["tenants"][tenant_id]["authority"]

    def graph_endpoint(self, cloud):
        """The Graph base URL (no version) of a cloud's listener."""
        return self.info["clouds"][cloud]["graph_endpoint"]

    def managed_identity_environment(self, tenant_id=None):
        """IDENTITY_ENDPOINT/IDENTITY_HEADER as App Service sets them (optionally for one tenant's identity)."""
        managed_identity = self.info["managed_identity"]
        endpoint = managed_identity["endpoints_by_tenant"][tenant_id] if tenant_id else managed_identity["endpoint"]
        return {"IDENTITY_ENDPOINT": endpoint, "IDENTITY_HEADER": managed_identity["header"]}


@contextlib.contextmanager
def running(seed, state_dir, **options):
    """Context manager form of EmulatorProcess."""
    with EmulatorProcess(seed, state_dir, **options) as emulator:
        yield emulator
