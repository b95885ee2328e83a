"""Graph: the job lifecycle (create from a template, start, pause, restart, delete) and saving secrets."""

import pytest

from conftest import (CLIENT_CREDENTIALS_APP, FRESH_APP, QUARANTINED_APP, Graph, assert_graph_error, credentials,
                      seed_app)

SETTINGS = {"SyncNotificationSettings": '{"Enabled":false,"DeleteThresholdEnabled":false}', "SyncAll": "false"}


@pytest.fixture()
def usgov(emulator, http):
    return Graph(emulator, http, "usgov")


def _sync(app):
    return "/servicePrincipals/%s/synchronization" % app["service_principal_id"]


def _job(graph, app, job_id):
    return graph.get("%s/jobs/%s" % (_sync(app), job_id)).json()


def _create(graph, app, template_id="scim"):
    return graph.post(_sync(app) + "/jobs", json={"templateId": template_id})


def test_templates_mark_one_default():
    fresh = seed_app("usgov", FRESH_APP["display_name"])
    assert fresh["jobs"] == []
    assert fresh["templates"] == [{"id": "scim", "default": True}, {"id": "scimGroups", "default": False}]


def test_templates_list_serves_the_default_mark(usgov):
    fresh = seed_app("usgov", FRESH_APP["display_name"])
    templates = usgov.get(_sync(fresh) + "/templates").json()["value"]
    assert [(item["id"], item["default"]) for item in templates] == [("scim", True), ("scimGroups", False)]


def test_create_job_answers_201_with_a_disabled_job(emulator, usgov):
    fresh = seed_app("usgov", FRESH_APP["display_name"])
    answer = _create(usgov, fresh)
    assert answer.status_code == 201
    job = answer.json()
    assert job["templateId"] == "scim"
    assert job["schedule"]["state"] == "Disabled"
    assert job["status"]["code"] == "NotRun"
    assert [item["id"] for item in usgov.get(_sync(fresh) + "/jobs").json()["value"]] == [job["id"]]
    assert emulator.application(fresh["service_principal_id"])["jobs"][0]["id"] == job["id"]


def test_create_job_needs_a_known_template(usgov):
    fresh = seed_app("usgov", FRESH_APP["display_name"])
    assert_graph_error(usgov.post(_sync(fresh) + "/jobs", json={}), 400, "RequestMissingRequiredParameter")
    assert_graph_error(_create(usgov, fresh, "nope"), 400, "BadRequest")


def test_delete_job_answers_204_then_404(usgov):
    fresh = seed_app("usgov", FRESH_APP["display_name"])
    job_id = _create(usgov, fresh).json()["id"]
    assert usgov.request("DELETE", "%s/jobs/%s" % (_sync(fresh), job_id)).status_code == 204
    assert_graph_error(usgov.request("DELETE", "%s/jobs/%s" % (_sync(fresh), job_id)), 404,
                       "Request_ResourceNotFound")
    assert usgov.get(_sync(fresh) + "/jobs").json()["value"] == []


def test_start_then_pause_then_start_resumes(usgov):
    fresh = seed_app("usgov", FRESH_APP["display_name"])
    job_id = _create(usgov, fresh).json()["id"]
    assert usgov.post("%s/jobs/%s/start" % (_sync(fresh), job_id), json={}).status_code == 204
    assert _job(usgov, fresh, job_id)["status"]["code"] == "Active"
    assert usgov.post("%s/jobs/%s/pause" % (_sync(fresh), job_id), json={}).status_code == 204
    job = _job(usgov, fresh, job_id)
    assert (job["status"]["code"], job["schedule"]["state"]) == ("Paused", "Paused")
    assert usgov.post("%s/jobs/%s/start" % (_sync(fresh), job_id), json={}).status_code == 204
    assert _job(usgov, fresh, job_id)["schedule"]["state"] == "Active"


def test_start_on_a_running_job_stops_it(emulator, usgov):
    fresh = seed_app("usgov", FRESH_APP["display_name"])
    job_id = _create(usgov, fresh).json()["id"]
    usgov.post("%s/jobs/%s/start" % (_sync(fresh), job_id), json={})
    assert usgov.post("%s/jobs/%s/start" % (_sync(fresh), job_id), json={}).status_code == 204
    assert _job(usgov, fresh, job_id)["status"]["code"] == "Paused"
    assert emulator.application(fresh["service_principal_id"])["jobs"][0]["redundant_starts"] == 1


def test_seeded_quarantine_is_reported_and_start_clears_it(usgov):
    app = seed_app("usgov", QUARANTINED_APP["display_name"])
    job_id = app["jobs"][0]["id"]
    status = _job(usgov, app, job_id)["status"]
    assert status["code"] == "Quarantine"
    assert status["quarantine"]["reason"] == "TooManyDeletes"
    assert status["lastExecution"]["state"] == "Failed"
    assert usgov.post("%s/jobs/%s/start" % (_sync(app), job_id), json={}).status_code == 204
    status = _job(usgov, app, job_id)["status"]
    assert (status["code"], status["quarantine"]) == ("Active", None)


@pytest.mark.parametrize("scope, quarantined_after", [(None, False), ("Watermark, Escrows, QuarantineState", False),
                                                      ("Full", False), ("Watermark", True)])
def test_restart_clears_quarantine_unless_its_scope_leaves_it(emulator, usgov, scope, quarantined_after):
    # Documented: empty criteria emulate the portal's "Restart provisioning" (Watermark, Escrows, QuarantineState).
    app = seed_app("usgov", QUARANTINED_APP["display_name"])
    job_id = app["jobs"][0]["id"]
    body = {"criteria": {"resetScope": scope}} if scope else {}
    assert usgov.post("%s/jobs/%s/restart" % (_sync(app), job_id), json=body).status_code == 204
    job = emulator.application(app["service_principal_id"])["jobs"][0]
    assert job["quarantined"] is quarantined_after
    assert job["last_restart_scope"] == (", ".join(sorted(flag.strip() for flag in scope.split(","))) if scope
                                         else None)


def test_restart_refuses_an_unknown_scope_flag(usgov):
    app = seed_app("usgov", QUARANTINED_APP["display_name"])
    answer = usgov.post("%s/jobs/%s/restart" % (_sync(app), app["jobs"][0]["id"]),
                        json={"criteria": {"resetScope": "Watermark, Everything"}})
    assert "Everything" in assert_graph_error(answer, 400, "BadRequest")["message"]


def _put(graph, app, mapping):
    return graph.request("PUT", _sync(app) + "/secrets", json={"value": credentials(mapping)})


def test_put_secrets_replaces_the_whole_set(emulator, usgov):
    app = seed_app("usgov", CLIENT_CREDENTIALS_APP["display_name"])
    assert _put(usgov, app, dict(SETTINGS, BaseAddress="https://old.example.invalid", Domain="x")).status_code == 204
    assert _put(usgov, app, dict(SETTINGS, **app["accepted_credentials"])).status_code == 204
    state = emulator.application(app["service_principal_id"])
    assert "Domain" not in state["saved_credential_keys"]
    assert state["authorized"] is True


def test_put_secrets_without_notification_settings_and_sync_all_is_dropped(emulator, usgov):
    app = seed_app("usgov", FRESH_APP["display_name"])
    assert _put(usgov, app, app["accepted_credentials"]).status_code == 204
    state = emulator.application(app["service_principal_id"])
    assert state["saved_credential_keys"] == []
    assert state["authorized"] is False
    assert state["dropped_secret_payloads"] == 1


def test_put_secrets_mixing_bearer_and_client_credential_keys_is_500(emulator, usgov):
    app = seed_app("usgov", CLIENT_CREDENTIALS_APP["display_name"])
    mixed = dict(SETTINGS, SecretToken="emulator-secret-x", **app["accepted_credentials"])
    assert_graph_error(_put(usgov, app, mixed), 500, "InternalError")
    assert emulator.application(app["service_principal_id"])["saved_credential_keys"] == []


def test_put_secrets_unknown_key_is_500_requested_value_not_found(usgov):
    app = seed_app("usgov", FRESH_APP["display_name"])
    error = assert_graph_error(_put(usgov, app, dict(SETTINGS, SecretTokn="emulator-secret-x")), 500,
                               "InternalError")
    assert error["message"] == "Requested value 'SecretTokn' was not found."


def test_put_secrets_invalid_notification_settings(usgov):
    app = seed_app("usgov", FRESH_APP["display_name"])
    bad = dict(app["accepted_credentials"], SyncNotificationSettings="{not json", SyncAll="false")
    assert "InvalidNotificationSettings" in assert_graph_error(_put(usgov, app, bad), 400, "UnknownError")["message"]


def test_validate_given_values_rejected_by_the_target(usgov):
    app = seed_app("usgov", QUARANTINED_APP["display_name"])
    path = "%s/jobs/%s/validateCredentials" % (_sync(app), app["jobs"][0]["id"])
    wrong = {"useSavedCredentials": False, "templateId": "scim",
             "credentials": credentials({"SecretToken": "emulator-secret-wrong"})}
    error = assert_graph_error(usgov.post(path, json=wrong), 400, "CredentialValidationUnavailable")
    assert "emulator-secret-wrong" not in error["message"]
    right = dict(wrong, credentials=credentials(app["accepted_credentials"]))
    assert usgov.post(path, json=right).status_code == 204


def test_job_actions_and_creation_are_writes_that_need_permission(emulator, http):
    from conftest import NO_PERMISSION_CLIENT, NO_PERMISSION_SECRET, token_for
    app = seed_app("global", "Scim Directory")
    graph = Graph(emulator, http, token=token_for(emulator, http, client_id=NO_PERMISSION_CLIENT,
                                                  secret=NO_PERMISSION_SECRET))
    assert_graph_error(_create(graph, app), 403, "Authorization_RequestDenied")
    assert_graph_error(graph.post("%s/jobs/%s/start" % (_sync(app), app["jobs"][0]["id"]), json={}), 403,
                       "Authorization_RequestDenied")
