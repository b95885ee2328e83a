"""Faults on demand: latency, rate limits, 5xx bursts, dropped connections, 409s, eventual consistency."""

import asyncio
import selectors
import time

import pytest
import requests

from conftest import OAUTH_APP, SYNC_CLIENTS, SYNC_SECRET, TENANTS, TOKEN_APP, Graph, assert_graph_error, credentials
from conftest import seed_app, token_for
from entra_emulator import EmulatorError, __main__, server

OAUTH_CREDENTIALS = {
    "Oauth2AuthorizationCode": "code-obrien-1",
    "Oauth2RedirectUri": "https://portal.example.invalid/callback",
    "Oauth2ClientId": "payroll-client",
    "Oauth2ClientSecret": "emulator-secret-payroll",
}


def _acquire(graph, app, mapping):
    return graph.post("/servicePrincipals/%s/synchronization/acquireAccessToken" % app["service_principal_id"],
                      json={"credentials": credentials(mapping)})


def _timed(function, *args, **kwargs):
    started = time.monotonic()
    result = function(*args, **kwargs)
    return result, time.monotonic() - started


def test_graph_latency_is_added_per_request(emulator, graph):
    graph.get("/servicePrincipals?$top=1")  # warm the connection
    emulator.set_faults(latency_ms=300)
    answer, elapsed = _timed(graph.get, "/servicePrincipals?$top=1")
    assert answer.status_code == 200
    assert elapsed >= 0.3
    emulator.clear_faults()
    _answer, elapsed = _timed(graph.get, "/servicePrincipals?$top=1")
    assert elapsed < 0.25


def test_token_latency_is_added_per_token_request(emulator, http):
    token_for(emulator, http)
    emulator.set_faults(token_latency_ms=300)
    _token, elapsed = _timed(token_for, emulator, http)
    assert elapsed >= 0.3


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_rate_limit_is_per_tenant_with_retry_after(emulator, http, form):
    global_graph = Graph(emulator, http)
    china_graph = Graph(emulator, http, "china")
    emulator.set_faults(rate_limit={"requests_per_second": 0.2, "burst": 2, "retry_after": form})
    assert global_graph.get("/servicePrincipals?$top=1").status_code == 200
    assert global_graph.get("/servicePrincipals?$top=1").status_code == 200
    throttled = global_graph.get("/servicePrincipals?$top=1")
    assert_graph_error(throttled, 429, "TooManyRequests")
    retry_after = throttled.headers["Retry-After"]
    if form == "seconds":
        assert 1 <= int(retry_after) <= 5
    else:
        assert retry_after.endswith(" GMT")
    assert china_graph.get("/servicePrincipals?$top=1").status_code == 200
    counters = emulator.counters()
    assert counters["throttled"] == 1
    assert counters["per_tenant"][TENANTS["global"]]["throttled"] == 1


def test_rate_limit_refills(emulator, graph):
    emulator.set_faults(rate_limit={"requests_per_second": 5, "burst": 1})
    assert graph.get("/servicePrincipals?$top=1").status_code == 200
    assert graph.get("/servicePrincipals?$top=1").status_code == 429
    time.sleep(0.3)
    assert graph.get("/servicePrincipals?$top=1").status_code == 200


def test_error_burst_matching_a_path(emulator, graph):
    app = seed_app("global", TOKEN_APP["display_name"])
    emulator.set_faults(error_bursts=[{"status": 503, "count": 2, "path_regex": "acquireAccessToken$",
                                       "retry_after": 1}])
    assert graph.get("/servicePrincipals/" + app["service_principal_id"]).status_code == 200
    for _attempt in range(2):
        answer = _acquire(graph, app, TOKEN_APP["accepted_credentials"])
        assert_graph_error(answer, 503, "ServiceNotAvailable")
        assert answer.headers["Retry-After"] == "1"
    assert emulator.application(app["service_principal_id"])["authorized"] is False
    assert _acquire(graph, app, TOKEN_APP["accepted_credentials"]).status_code == 204
    assert emulator.faults()["error_bursts"][0]["count"] == 0


def test_error_burst_504_for_next_request(emulator, graph):
    emulator.set_faults(error_bursts={"status": 504, "count": 1})
    assert_graph_error(graph.get("/servicePrincipals?$top=1"), 504, "GatewayTimeout")
    assert graph.get("/servicePrincipals?$top=1").status_code == 200


def test_dropped_connection_before_processing_changes_nothing(emulator, graph):
    app = seed_app("global", OAUTH_APP["display_name"])
    emulator.set_faults(drop_connections=[{"when": "before", "count": 1, "path_regex": "acquireAccessToken"}])
    with pytest.raises(requests.ConnectionError):
        _acquire(graph, app, OAUTH_CREDENTIALS)
    assert emulator.application(app["service_principal_id"])["authorized"] is False
    assert _acquire(graph, app, OAUTH_CREDENTIALS).status_code == 204
    entries = [entry for entry in emulator.log() if entry.get("operation") == "acquireAccessToken"
               or entry.get("dropped")]
    assert entries[0]["dropped"] == "before"
    assert emulator.counters()["dropped_connections"] == 1


def test_dropped_connection_after_processing_keeps_the_change(emulator, graph):
    app = seed_app("global", OAUTH_APP["display_name"])
    emulator.set_faults(drop_connections=[{"when": "after", "count": 1, "path_regex": "acquireAccessToken"}])
    with pytest.raises(requests.ConnectionError):
        _acquire(graph, app, OAUTH_CREDENTIALS)
    assert emulator.application(app["service_principal_id"])["authorized"] is True
    # The code was redeemed although the client never saw the 204: a blind retry fails.
    retry = _acquire(graph, app, OAUTH_CREDENTIALS)
    assert "already redeemed" in assert_graph_error(retry, 400, "InvalidCredentials")["message"]
    entry = next(entry for entry in emulator.log() if entry.get("dropped"))
    assert entry["dropped"] == "after"
    assert entry["status"] == 204


def test_dropped_token_request(emulator, http):
    emulator.set_faults(drop_connections={"when": "before", "count": 1, "target": "token"})
    with pytest.raises(requests.ConnectionError):
        token_for(emulator, http)
    assert token_for(emulator, http)


def test_token_endpoint_error_burst(emulator, http):
    emulator.set_faults(error_bursts={"status": 503, "count": 1, "target": "token", "retry_after": 2})
    answer = http.post("%s/oauth2/v2.0/token" % emulator.authority(TENANTS["global"]), data={
        "grant_type": "client_credentials", "client_id": SYNC_CLIENTS["global"], "client_secret": SYNC_SECRET,
        "scope": "https://graph.microsoft.com/.default"})
    assert answer.status_code == 503
    assert answer.json()["error"] == "temporarily_unavailable"
    assert answer.headers["Retry-After"] == "2"
    assert token_for(emulator, http)


def test_concurrency_violation_for_next_writes(emulator, graph):
    app = seed_app("global", TOKEN_APP["display_name"])
    emulator.set_faults(concurrency_violations={"count": 1})
    assert graph.get("/servicePrincipals/" + app["service_principal_id"]).status_code == 200
    assert_graph_error(_acquire(graph, app, TOKEN_APP["accepted_credentials"]), 409, "Directory_ConcurrencyViolation")
    assert emulator.application(app["service_principal_id"])["authorized"] is False
    assert _acquire(graph, app, TOKEN_APP["accepted_credentials"]).status_code == 204


def test_new_application_answers_404_during_consistency_window(emulator, graph):
    created = emulator.create_application(
        TENANTS["global"], visible_after_seconds=1.0, display_name="Fresh Connector",
        jobs=[{"templateId": "scim"}],
        accepted_credentials={"BaseAddress": "https://fresh.example.invalid", "SecretToken": "emulator-secret-fresh"})
    path = "/servicePrincipals/" + created["service_principal_id"]
    assert_graph_error(graph.get(path), 404, "Request_ResourceNotFound")
    assert graph.get("/servicePrincipals", params={"$filter": "displayName eq 'Fresh Connector'"}).json()["value"] \
        == []
    assert _acquire(graph, created, created["accepted_credentials"]).status_code == 404
    time.sleep(1.1)
    assert graph.get(path).status_code == 200
    assert _acquire(graph, created, created["accepted_credentials"]).status_code == 204


def test_consistency_window_from_faults(emulator, graph):
    emulator.set_faults(eventual_consistency_seconds=30)
    created = emulator.create_application(TENANTS["global"], display_name="Slow Connector")
    assert graph.get("/applications/" + created["application_id"]).status_code == 404
    assert emulator.application(created["service_principal_id"])["visible"] is False


def test_invalid_faults_are_refused(emulator):
    with pytest.raises(EmulatorError, match="unknown fault"):
        emulator.set_faults(explode=True)
    with pytest.raises(EmulatorError, match="status"):
        emulator.set_faults(error_bursts={"status": 418})
    assert emulator.faults()["error_bursts"] == []


@pytest.mark.parametrize("status", [307, 308])
def test_redirect_answers_before_processing_and_names_the_location(emulator, graph, status):
    app = seed_app("global", OAUTH_APP["display_name"])
    emulator.set_faults(redirects={"status": status, "location": "http://127.0.0.1:9/collect",
                                   "path_regex": "acquireAccessToken"})
    answer = graph.request("POST", "/servicePrincipals/%s/synchronization/acquireAccessToken"
                           % app["service_principal_id"], json={"credentials": credentials(OAUTH_CREDENTIALS)},
                           allow_redirects=False)
    assert answer.status_code == status
    assert answer.headers["Location"] == "http://127.0.0.1:9/collect"
    assert emulator.application(app["service_principal_id"])["authorized"] is False
    assert [entry["operation"] for entry in emulator.log() if entry.get("status") == status] == ["redirect"]
    assert _acquire(graph, app, OAUTH_CREDENTIALS).status_code == 204


def test_token_endpoint_redirect(emulator, http):
    emulator.set_faults(redirects={"status": 307, "location": "http://127.0.0.1:9/token", "target": "token"})
    answer = http.post("%s/oauth2/v2.0/token" % emulator.authority(TENANTS["global"]), allow_redirects=False, data={
        "grant_type": "client_credentials", "client_id": SYNC_CLIENTS["global"], "client_secret": SYNC_SECRET,
        "scope": "https://graph.microsoft.com/.default"})
    assert answer.status_code == 307 and answer.headers["Location"] == "http://127.0.0.1:9/token"
    assert token_for(emulator, http)


def test_a_redirect_needs_a_location(emulator):
    with pytest.raises(EmulatorError):
        emulator.set_faults(redirects={"status": 307})


def test_the_event_loop_ends_a_wait_on_time_not_at_the_next_whole_millisecond():
    # epoll would round each 2.3 ms wait up to 3 ms: 0.7 ms late every time
    async def lateness():
        late = []
        for _attempt in range(30):
            due = time.monotonic() + 0.0023
            await asyncio.sleep(0.0023)
            late.append(time.monotonic() - due)
        return sorted(late)[len(late) // 2]

    loop = __main__.punctual_loop()
    try:
        assert isinstance(loop._selector, selectors.SelectSelector)
        assert loop.run_until_complete(lateness()) < 0.0005
    finally:
        loop.close()


def test_latency_counts_from_the_request_arrival():
    # The wait is what is left of the latency once the work is done, so the emulator's own CPU is not added on top.
    started = time.monotonic()
    asyncio.run(server._wait_until_due(started - 0.2, 300))
    assert 0.08 <= time.monotonic() - started < 0.25
    started = time.monotonic()
    asyncio.run(server._wait_until_due(started - 0.5, 300))
    assert time.monotonic() - started < 0.05


def test_malformed_answer_replaces_the_next_matching_read_only(emulator, graph):
    app = seed_app("global", TOKEN_APP["display_name"])
    path = "/servicePrincipals/%s" % app["service_principal_id"]
    emulator.set_faults(malformed_answers={"count": 1, "path_regex": "/synchronization/jobs$",
                                           "body": {"value": "not a list"}})
    assert graph.get(path).json()["id"] == app["service_principal_id"]
    answer = graph.get(path + "/synchronization/jobs")
    assert answer.status_code == 200 and answer.json() == {"value": "not a list"}
    assert isinstance(graph.get(path + "/synchronization/jobs").json()["value"], list)
    assert emulator.faults()["malformed_answers"][0]["count"] == 0
