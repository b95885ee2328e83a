"""Control API, reset, counters, and the start/stop command line."""

import json
import os
import socket
import subprocess
import sys

import pytest

from conftest import OAUTH_APP, SEED, TENANTS, Graph, credentials, seed_app
from entra_emulator import EmulatorError, EmulatorProcess
from entra_emulator.process import process_alive

EMULATOR_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE_SEED = os.path.join(EMULATOR_DIR, "seeds", "example.yml")
OAUTH_CREDENTIALS = {
    "Oauth2AuthorizationCode": "code-obrien-1",
    "Oauth2RedirectUri": "https://portal.example.invalid/callback",
    "Oauth2ClientId": "payroll-client",
    "Oauth2ClientSecret": "emulator-secret-payroll",
}


def test_reset_restores_seed_state(emulator, graph):
    app = seed_app("global", OAUTH_APP["display_name"])
    path = "/servicePrincipals/%s/synchronization/acquireAccessToken" % app["service_principal_id"]
    assert graph.post(path, json={"credentials": credentials(OAUTH_CREDENTIALS)}).status_code == 204
    created = emulator.create_application(TENANTS["global"], display_name="Temporary", visible_after_seconds=0)
    emulator.set_faults(latency_ms=1)
    emulator.reset()
    state = emulator.application(app["service_principal_id"])
    assert state["authorized"] is False
    assert state["used_authorization_codes"] == 0
    assert emulator.faults()["latency_ms"] == 0
    assert emulator.log() == []
    assert emulator.counters()["graph_requests"] == 0
    with pytest.raises(EmulatorError, match="404"):
        emulator.application(created["service_principal_id"])
    assert graph.post(path, json={"credentials": credentials(OAUTH_CREDENTIALS)}).status_code == 204


def test_log_entries_and_since(emulator, graph):
    graph.get("/servicePrincipals?$top=1", headers={"client-request-id": "11111111-aaaa-4aaa-8aaa-111111111111"})
    entries = emulator.log()
    token_entry, graph_entry = entries
    assert token_entry["kind"] == "token"
    assert graph_entry["method"] == "GET"
    assert graph_entry["path"] == "/v1.0/servicePrincipals"
    assert graph_entry["query"] == {"$top": "1"}
    assert graph_entry["status"] == 200
    assert graph_entry["cloud"] == "global"
    assert graph_entry["client-request-id"] == "11111111-aaaa-4aaa-8aaa-111111111111"
    assert graph_entry["request-id"]
    assert graph_entry["in_batch"] is False
    assert graph_entry["tenant_id"] == TENANTS["global"]
    assert emulator.log(since=token_entry["seq"]) == [graph_entry]
    emulator.clear_log()
    assert emulator.log() == []


def test_counters_by_endpoint_kind(emulator, http):
    graph = Graph(emulator, http)
    graph.get("/servicePrincipals?$top=1")
    graph.post("/$batch", json={"requests": [{"id": "1", "method": "GET", "url": "/servicePrincipals?$top=1"},
                                             {"id": "2", "method": "GET", "url": "/applications?$top=1"}]})
    counters = emulator.counters()
    assert counters["requests"] == {"token": 1, "graph": 1, "batch": 1, "batch_item": 2}
    assert counters["graph_requests"] == 3
    assert counters["tokens_issued"] == 1
    assert counters["operations"]["servicePrincipals.list"] == 2
    assert counters["operations"]["applications.list"] == 1
    assert counters["per_tenant"][TENANTS["global"]] == {"graph_requests": 3, "tokens_issued": 1, "throttled": 0}


def test_clear_faults_and_unknown_route(emulator):
    emulator.set_faults(latency_ms=5, rate_limit={"requests_per_second": 1})
    assert emulator.faults()["rate_limit"]["requests_per_second"] == 1
    cleared = emulator.clear_faults()
    assert cleared["latency_ms"] == 0 and cleared["rate_limit"] is None
    with pytest.raises(EmulatorError, match="404"):
        emulator.call("GET", "nothing-here")


def test_federation_token_needs_subject(emulator):
    with pytest.raises(EmulatorError, match="subject"):
        emulator.call("POST", "federation/token", {})


def test_application_state_listing(emulator):
    states = emulator.applications(TENANTS["usgov"])
    assert [state["display_name"] for state in states] == ["Scim Directory", "Fresh Scim", "Quarantined Scim",
                                                           "OAuth Client Credentials", "Portal Configured Scim"]
    # Only the app seeded as authorized (what an admin set up in the portal) is.
    assert [state["authorized"] for state in states] == [False, False, False, False, True]


def _free_port_base():
    for base in range(41000, 60000, 37):
        sockets = []
        try:
            for offset in range(4):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", base + offset))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no four free consecutive ports")


def _cli(*arguments, timeout=90):
    environment = dict(os.environ, PYTHONPATH=EMULATOR_DIR)
    return subprocess.run([sys.executable, "-m", "entra_emulator", *arguments], capture_output=True, text=True,
                          timeout=timeout, env=environment, check=False)


def test_cli_start_stop_with_port_base_and_startup_faults(tmp_path):
    state_dir = str(tmp_path / "state")
    base = _free_port_base()
    started = _cli("start", "--seed", EXAMPLE_SEED, "--state-dir", state_dir, "--port-base", str(base),
                   "--latency-ms", "5", "--token-lifetime", "120",
                   "--faults", json.dumps({"error_bursts": {"status": 503, "count": 1}}))
    assert started.returncode == 0, started.stderr
    info = json.loads(started.stdout)
    try:
        with open(os.path.join(state_dir, "emulator.json"), encoding="utf-8") as handle:
            assert json.load(handle) == info
        assert info["clouds"]["global"]["authority_host"] == "https://127.0.0.1:%d" % base
        assert info["clouds"]["china"]["graph_endpoint"] == "https://127.0.0.1:%d" % (base + 3)
        assert info["ca_path"] == os.path.join(state_dir, "ca.pem")
        assert process_alive(info["pid"])
        from entra_emulator import ControlClient
        control = ControlClient(info["control_url"], info["ca_path"])
        faults = control.faults()
        assert faults["latency_ms"] == 5 and faults["token_lifetime"] == 120
        assert faults["error_bursts"][0]["count"] == 1
        # Start-up faults are the baseline that clear_faults returns to.
        control.set_faults(latency_ms=0)
        assert control.clear_faults()["latency_ms"] == 5
        again = _cli("start", "--seed", EXAMPLE_SEED, "--state-dir", state_dir)
        assert again.returncode == 1
        assert "already runs" in again.stderr
    finally:
        stopped = _cli("stop", "--state-dir", state_dir)
    assert stopped.returncode == 0
    assert not process_alive(info["pid"])
    assert not os.path.exists(os.path.join(state_dir, "emulator.json"))
    repeated = _cli("stop", "--state-dir", state_dir)
    assert repeated.returncode == 0
    assert "not running" in repeated.stdout


def test_cli_start_fails_cleanly_on_bad_seed(tmp_path):
    seed = tmp_path / "bad.yml"
    seed.write_text("tenants:\n  - id: not-a-guid\n", encoding="utf-8")
    result = _cli("start", "--seed", str(seed), "--state-dir", str(tmp_path / "state"), timeout=60)
    assert result.returncode == 1
    assert "GUID" in result.stderr


def test_emulator_process_leaves_no_process(tmp_path):
    seed = {"tenants": [{"id": TENANTS["china"], "cloud": "china"}]}
    with EmulatorProcess(seed=seed, state_dir=str(tmp_path)) as emu:
        pid = emu.info["pid"]
        assert emu.health()["pid"] == pid
        assert emu.info["clouds"]["china"]["graph_root"] == "https://microsoftgraph.chinacloudapi.cn"
    assert emu.process.returncode is not None
    assert not process_alive(pid)


def test_session_seed_is_the_one_served(emulator):
    assert sorted(emulator.info["tenants"]) == sorted(tenant["id"] for tenant in SEED["tenants"])


def test_control_api_answers_on_every_listener(emulator):
    from entra_emulator import ControlClient

    emulator.set_faults(latency_ms=7)
    for cloud in ("usgov", "usgov_dod", "china"):
        control = ControlClient(emulator.info["clouds"][cloud]["authority_host"], emulator.ca_path)
        assert control.faults()["latency_ms"] == 7
