"""$batch: limits, per-item answers in any order, per-item throttling, dependsOn, logging."""

import pytest

from conftest import OAUTH_APP, TOKEN_APP, Graph, assert_graph_error, credentials, seed_app

TOKEN_CREDENTIALS = dict(TOKEN_APP["accepted_credentials"])


def _bulk(count):
    return [seed_app("global", "bulk-%04d" % index) for index in range(1, count + 1)]


def _acquire_item(item_id, app):
    return {"id": item_id, "method": "POST",
            "url": "/servicePrincipals/%s/synchronization/acquireAccessToken" % app["service_principal_id"],
            "headers": {"Content-Type": "application/json"},
            "body": {"credentials": credentials(app["accepted_credentials"])}}


def _batch(graph, requests):
    return graph.post("/$batch", json={"requests": requests})


def test_batch_of_twenty_acquire_calls_answers_each_item(emulator, graph):
    apps = _bulk(20)
    answer = _batch(graph, [_acquire_item(str(index), app) for index, app in enumerate(apps)])
    assert answer.status_code == 200
    responses = answer.json()["responses"]
    assert sorted(int(item["id"]) for item in responses) == list(range(20))
    assert all(item["status"] == 204 and "body" not in item for item in responses)
    assert all(emulator.application(app["service_principal_id"])["authorized"] for app in apps)
    counters = emulator.counters()
    assert counters["batch_envelopes"] == 1
    assert counters["batch_items"] == 20
    assert counters["graph_requests"] == 20


def test_batch_answers_come_in_shuffled_order(graph):
    apps = _bulk(20)
    requests = [{"id": str(index), "method": "GET", "url": "/servicePrincipals/" + app["service_principal_id"]}
                for index, app in enumerate(apps)]
    orders = {tuple(item["id"] for item in _batch(graph, requests).json()["responses"]) for _attempt in range(3)}
    # 20 items in request order three times in a row has probability (1/20!)^3.
    assert orders != {tuple(str(index) for index in range(20))}


def test_more_than_twenty_requests_is_400(graph):
    requests = [{"id": str(index), "method": "GET", "url": "/servicePrincipals?$top=1"} for index in range(21)]
    error = assert_graph_error(_batch(graph, requests), 400, "BadRequest")
    assert "20" in error["message"]


def test_item_statuses_and_bodies_are_independent(graph):
    token_app = seed_app("global", TOKEN_APP["display_name"])
    requests = [
        {"id": "found", "method": "GET", "url": "/servicePrincipals/" + token_app["service_principal_id"]},
        {"id": "missing", "method": "GET", "url": "/servicePrincipals/00000000-0000-4000-8000-0000000000aa"},
        {"id": "filter", "method": "GET", "url": "servicePrincipals?$filter=displayName%20eq%20'O''Brien%20Payroll'"},
        {"id": "bad", "method": "POST", "url": "/servicePrincipals/%s/synchronization/acquireAccessToken"
         % token_app["service_principal_id"],
         "headers": {"Content-Type": "application/json"}, "body": {"credentials": [{"key": "Nope", "value": "x"}]}},
        {"id": "absolute", "method": "GET", "url": graph.base + "/servicePrincipals"},
    ]
    responses = {item["id"]: item for item in _batch(graph, requests).json()["responses"]}
    assert responses["found"]["status"] == 200
    assert responses["found"]["body"]["id"] == token_app["service_principal_id"]
    assert responses["missing"]["status"] == 404
    assert responses["missing"]["body"]["error"]["code"] == "Request_ResourceNotFound"
    assert responses["missing"]["body"]["error"]["innerError"]["request-id"]
    assert responses["filter"]["status"] == 200
    assert [item["displayName"] for item in responses["filter"]["body"]["value"]] == [OAUTH_APP["display_name"]]
    assert responses["bad"]["status"] == 400
    assert responses["absolute"]["status"] == 400
    assert responses["found"]["headers"]["Content-Type"].startswith("application/json")


def test_item_with_body_needs_content_type(graph):
    app = _bulk(1)[0]
    item = _acquire_item("1", app)
    del item["headers"]
    assert_graph_error(_batch(graph, [item]), 400, "BadRequest")


def test_depends_on_failure_gives_424(emulator, graph):
    apps = _bulk(2)
    failing = _acquire_item("first", apps[0])
    failing["body"] = {"credentials": credentials({"SecretToken": "emulator-secret-wrong"})}
    dependent = dict(_acquire_item("second", apps[1]), dependsOn=["first"])
    responses = {item["id"]: item for item in _batch(graph, [dependent, failing]).json()["responses"]}
    assert responses["first"]["status"] == 400
    assert responses["second"]["status"] == 424
    assert emulator.application(apps[1]["service_principal_id"])["authorized"] is False


def test_depends_on_success_runs_in_order(emulator, graph):
    apps = _bulk(2)
    requests = [dict(_acquire_item("b", apps[1]), dependsOn=["a"]), _acquire_item("a", apps[0])]
    responses = {item["id"]: item["status"] for item in _batch(graph, requests).json()["responses"]}
    assert responses == {"a": 204, "b": 204}
    items = [entry for entry in emulator.log() if entry["in_batch"]]
    assert [entry["path"].split("/")[3] for entry in items] == [apps[0]["service_principal_id"],
                                                                apps[1]["service_principal_id"]]


def test_unknown_depends_on_is_400(graph):
    requests = [{"id": "1", "method": "GET", "url": "/servicePrincipals?$top=1", "dependsOn": ["9"]}]
    assert_graph_error(_batch(graph, requests), 400, "BadRequest")


def test_duplicate_ids_are_400(graph):
    requests = [{"id": "1", "method": "GET", "url": "/servicePrincipals?$top=1"}] * 2
    assert_graph_error(_batch(graph, requests), 400, "BadRequest")


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_items_are_throttled_one_by_one_with_retry_after(emulator, graph, form):
    emulator.set_faults(rate_limit={"requests_per_second": 0.5, "burst": 5, "retry_after": form})
    apps = _bulk(10)
    responses = _batch(graph, [_acquire_item(str(index), app) for index, app in enumerate(apps)]).json()["responses"]
    statuses = sorted(item["status"] for item in responses)
    assert statuses == [204] * 5 + [429] * 5
    for item in responses:
        if item["status"] == 429:
            assert item["body"]["error"]["code"] == "TooManyRequests"
            retry_after = item["headers"]["Retry-After"]
            if form == "seconds":
                assert int(retry_after) >= 1
            else:
                assert retry_after.endswith("GMT")
    authorized = [emulator.application(app["service_principal_id"])["authorized"] for app in apps]
    assert authorized.count(True) == 5
    assert emulator.counters()["throttled"] == 5


def test_batch_items_are_logged_with_envelope_seq_and_redacted(emulator, graph):
    apps = _bulk(3)
    _batch(graph, [_acquire_item(str(index), app) for index, app in enumerate(apps)])
    log = emulator.log()
    envelope = next(entry for entry in log if entry["kind"] == "batch")
    items = [entry for entry in log if entry["in_batch"]]
    assert len(items) == 3
    assert all(entry["batch_seq"] == envelope["seq"] for entry in items)
    assert all(entry["status"] == 204 and entry["operation"] == "acquireAccessToken" for entry in items)
    for entry in items:
        assert [pair["value"] for pair in entry["body"]["credentials"]] == ["***", "***"]
        assert [pair["key"] for pair in entry["body"]["credentials"]] == ["BaseAddress", "SecretToken"]
    assert "emulator-secret-bulk" not in repr(log)


def test_beta_batch_uses_beta_for_items(emulator, http):
    graph = Graph(emulator, http, version="beta")
    app = _bulk(1)[0]
    answer = _batch(graph, [_acquire_item("1", app)])
    assert answer.json()["responses"][0]["status"] == 204
    assert [entry["path"] for entry in emulator.log() if entry["in_batch"]][0].startswith("/beta/")
