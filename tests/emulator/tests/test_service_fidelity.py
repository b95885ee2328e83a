"""Graph as the real service answers (issue 23): reading secrets, 401 UnknownError, bodies of actions, restart,
quarantine and run errors, the job shape of the v1.0 CSDL, validateCredentials on the jobs collection, a target
outage and the NotInAllowList switch."""

import json

import pytest

from conftest import (CLIENT_CREDENTIALS_APP, FRESH_APP, NO_PERMISSION_CLIENT, NO_PERMISSION_SECRET, PORTAL_APP,
                      PORTAL_NOTIFICATION_SETTINGS, QUARANTINED_APP, READ_ONLY_CLIENT, READ_ONLY_SECRET,
                      UNKNOWN_ERROR_CLIENT, UNKNOWN_ERROR_SECRET, Graph, assert_graph_error, credentials, seed_app,
                      token_for)
from entra_emulator import load_seed
from entra_emulator.seed import SeedError

SETTINGS = {"SyncNotificationSettings": '{"Enabled":false,"DeleteThresholdEnabled":false}', "SyncAll": "false"}
# The v1.0 CSDL (schemas/v1.0-Prod.csdl of msgraph-metadata): synchronizationStatus and synchronizationTaskExecution.
STATUS_PROPERTIES = {"code", "countSuccessiveCompleteFailures", "escrowsPruned", "lastExecution",
                     "lastSuccessfulExecution", "lastSuccessfulExecutionWithExports", "progress", "quarantine",
                     "steadyStateFirstAchievedTime", "steadyStateLastAchievedTime", "synchronizedEntryCountByType",
                     "troubleshootingUrl"}
EXECUTION_PROPERTIES = {"activityIdentifier", "countEntitled", "countEntitledForProvisioning", "countEscrowed",
                        "countEscrowedRaw", "countExported", "countExports", "countImported", "countImportedDeltas",
                        "countImportedReferenceDeltas", "error", "state", "timeBegan", "timeEnded"}
QUARANTINE_PROPERTIES = {"currentBegan", "error", "nextAttempt", "reason", "seriesBegan", "seriesCount"}
QUARANTINE_REASONS = {"EncounteredBaseEscrowThreshold", "EncounteredTotalEscrowThreshold",
                      "EncounteredEscrowProportionThreshold", "EncounteredQuarantineException", "Unknown",
                      "QuarantinedOnDemand", "TooManyDeletes", "IngestionInterrupted"}


@pytest.fixture()
def usgov(emulator, http):
    return Graph(emulator, http, "usgov")


def _as(emulator, http, client_id, secret, version="v1.0"):
    return Graph(emulator, http, "usgov", token=token_for(emulator, http, "usgov", client_id=client_id, secret=secret),
                 version=version)


def _sync(app):
    return "/servicePrincipals/%s/synchronization" % app["service_principal_id"]


def _job_path(app, suffix=""):
    return "%s/jobs/%s%s" % (_sync(app), app["jobs"][0]["id"], suffix)


def _put(graph, app, mapping):
    return graph.request("PUT", _sync(app) + "/secrets", json={"value": credentials(mapping)})


# ---- GET secrets -----------------------------------------------------------------------------------------------

def test_get_secrets_lists_the_saved_set_with_sensitive_values_masked(usgov):
    app = seed_app("usgov", PORTAL_APP["display_name"])
    answer = usgov.get(_sync(app) + "/secrets")
    assert answer.status_code == 200
    saved = {pair["key"]: pair["value"] for pair in answer.json()["value"]}
    assert saved["SecretToken"] == "*"
    assert saved["BaseAddress"] == "https://portal.example.invalid/scim"
    assert json.loads(saved["SyncNotificationSettings"]) == PORTAL_NOTIFICATION_SETTINGS
    assert saved["SyncAll"] == "false"
    assert "emulator-secret-portal" not in answer.text


def test_get_secrets_of_an_app_with_nothing_saved_is_an_empty_list(usgov):
    answer = usgov.get(_sync(seed_app("usgov", FRESH_APP["display_name"])) + "/secrets")
    assert (answer.status_code, answer.json()["value"]) == (200, [])


def test_put_secrets_replaces_the_portal_settings_it_does_not_name(emulator, usgov):
    app = seed_app("usgov", PORTAL_APP["display_name"])
    assert emulator.application(app["service_principal_id"])["saved_notification_settings"] == \
        PORTAL_NOTIFICATION_SETTINGS
    assert _put(usgov, app, dict(SETTINGS, **app["accepted_credentials"])).status_code == 204
    saved = {pair["key"]: pair["value"] for pair in usgov.get(_sync(app) + "/secrets").json()["value"]}
    assert json.loads(saved["SyncNotificationSettings"]) == {"Enabled": False, "DeleteThresholdEnabled": False}
    assert emulator.application(app["service_principal_id"])["saved_notification_settings"]["Enabled"] is False


def test_reset_brings_the_seeded_secrets_back(emulator, usgov):
    app = seed_app("usgov", PORTAL_APP["display_name"])
    _put(usgov, app, dict(SETTINGS, **app["accepted_credentials"]))
    emulator.reset()
    assert emulator.application(app["service_principal_id"])["saved_notification_settings"] == \
        PORTAL_NOTIFICATION_SETTINGS


def test_a_read_only_client_reads_secrets_but_may_not_write_them(emulator, http):
    app = seed_app("usgov", PORTAL_APP["display_name"])
    reader = _as(emulator, http, READ_ONLY_CLIENT, READ_ONLY_SECRET)
    assert reader.get(_sync(app) + "/secrets").status_code == 200
    # A read-only permission that writes is 403, even for a client whose missing permissions answer 401.
    assert_graph_error(_put(reader, app, dict(SETTINGS, **app["accepted_credentials"])), 403,
                       "Authorization_RequestDenied")
    assert_graph_error(reader.post(_job_path(app, "/start"), json={}), 403, "Authorization_RequestDenied")


# ---- 401 UnknownError ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method, suffix, body", [
    ("GET", "/jobs", None), ("GET", "/templates", None), ("GET", "/secrets", None),
    ("POST", "/acquireAccessToken", {"credentials": []}), ("POST", "/jobs/{job}/restart", {}),
    ("PUT", "/secrets", {"value": credentials(SETTINGS)}),
])
def test_a_client_without_synchronization_permissions_gets_401_unknown_error(emulator, http, method, suffix, body):
    app = seed_app("usgov", PORTAL_APP["display_name"])
    graph = _as(emulator, http, UNKNOWN_ERROR_CLIENT, UNKNOWN_ERROR_SECRET)
    answer = graph.request(method, _sync(app) + suffix.format(job=app["jobs"][0]["id"]), json=body)
    assert answer.status_code == 401
    error = answer.json()["error"]
    assert (error["code"], error["message"]) == ("UnknownError", "")
    assert error["innerError"]["request-id"] == answer.headers["request-id"]
    assert "WWW-Authenticate" not in answer.headers
    # Objects stay readable: Application.Read.All is what reads them.
    assert graph.get("/servicePrincipals/%s" % app["service_principal_id"]).status_code == 200


def test_a_client_seeded_without_the_401_switch_gets_403(emulator, http):
    graph = Graph(emulator, http, token=token_for(emulator, http, client_id=NO_PERMISSION_CLIENT,
                                                  secret=NO_PERMISSION_SECRET))
    app = seed_app("global", "Scim Directory")
    assert_graph_error(graph.get(_sync(app) + "/jobs"), 403, "Authorization_RequestDenied")


# ---- bodies of actions ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("method, suffix", [
    ("POST", "/acquireAccessToken"), ("POST", "/jobs/{job}/validateCredentials"), ("POST", "/jobs/validateCredentials"),
    ("POST", "/jobs/{job}/restart"), ("PUT", "/secrets"),
])
def test_an_action_without_a_json_body_is_400_empty_payload(emulator, usgov, method, suffix):
    app = seed_app("usgov", QUARANTINED_APP["display_name"])
    answer = usgov.request(method, _sync(app) + suffix.format(job=app["jobs"][0]["id"]))
    assert assert_graph_error(answer, 400, "BadRequest")["message"] == "Empty Payload. JSON content expected."
    state = emulator.application(app["service_principal_id"])
    assert state["jobs"][0]["quarantined"] is True and state["saved_credential_keys"] == []


def test_an_action_without_a_body_inside_batch_is_400_empty_payload(emulator, http):
    app = seed_app("usgov", QUARANTINED_APP["display_name"])
    graph = Graph(emulator, http, "usgov")
    envelope = graph.post("/$batch", json={"requests": [
        {"id": "1", "method": "POST", "url": _job_path(app, "/restart")},
        {"id": "2", "method": "POST", "url": _job_path(app, "/pause"), "body": {},
         "headers": {"Content-Type": "application/json"}}]}).json()
    statuses = {item["id"]: item["status"] for item in envelope["responses"]}
    assert statuses == {"1": 400, "2": 204}


def test_start_and_pause_take_no_body_as_their_pages_say(emulator, usgov):
    app = seed_app("usgov", QUARANTINED_APP["display_name"])
    assert usgov.post(_job_path(app, "/start")).status_code == 204
    assert usgov.post(_job_path(app, "/pause")).status_code == 204
    assert emulator.application(app["service_principal_id"])["jobs"][0]["code"] == "Paused"


def test_start_and_pause_take_no_parameter(usgov):
    app = seed_app("usgov", QUARANTINED_APP["display_name"])
    answer = usgov.post(_job_path(app, "/start"), json={"criteria": {"resetScope": "Full"}})
    assert "'criteria'" in assert_graph_error(answer, 400, "BadRequest")["message"]


# ---- restart ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("body", [{}, {"criteria": None}, {"criteria": {}}, {"criteria": {"resetScope": None}}])
def test_restart_with_empty_criteria_lifts_the_quarantine_as_the_portal_does(emulator, usgov, body):
    app = seed_app("usgov", QUARANTINED_APP["display_name"])
    assert usgov.post(_job_path(app, "/restart"), json=body).status_code == 204
    status = usgov.get(_job_path(app)).json()["status"]
    assert (status["code"], status["quarantine"]) == ("Active", None)


# ---- job shape, quarantine and run errors --------------------------------------------------------------------

def test_the_job_carries_the_status_of_the_csdl(usgov):
    app = seed_app("usgov", PORTAL_APP["display_name"])
    status = usgov.get(_job_path(app)).json()["status"]
    assert set(status) == STATUS_PROPERTIES
    assert status["progress"] == []
    assert set(status["lastExecution"]) == EXECUTION_PROPERTIES
    assert set(status["quarantine"]) == QUARANTINE_PROPERTIES
    assert status["countSuccessiveCompleteFailures"] == 1


def test_a_seeded_quarantine_error_is_served_on_the_quarantine_and_the_last_run(usgov):
    app = seed_app("usgov", PORTAL_APP["display_name"])
    status = usgov.get(_job_path(app)).json()["status"]
    expected = {"code": "SystemForCrossDomainIdentityManagementServiceIncompatible",
                "message": "The SCIM endpoint is not compatible.", "tenantActionable": True}
    assert status["quarantine"]["error"] == expected
    assert status["quarantine"]["reason"] == "EncounteredQuarantineException"
    assert status["lastExecution"]["error"] == expected


def test_a_quarantine_without_a_seeded_error_still_says_why(usgov):
    app = seed_app("usgov", QUARANTINED_APP["display_name"])
    quarantine = usgov.get(_job_path(app)).json()["status"]["quarantine"]
    assert quarantine["reason"] in QUARANTINE_REASONS
    assert set(quarantine["error"]) == {"code", "message", "tenantActionable"}
    assert quarantine["error"]["message"] and isinstance(quarantine["error"]["tenantActionable"], bool)


def test_a_successful_run_fills_every_last_execution(emulator, http):
    seed = {"tenants": [{"id": "55555555-5555-4555-8555-555555555555", "applications": [
        {"display_name": "ok", "jobs": [{"templateId": "scim", "status": "Active", "last_execution": "Succeeded"}]}]}]}
    from entra_emulator.state import seeded_job
    job = seeded_job(load_seed(seed)["tenants"][0]["applications"][0]["jobs"][0], "2026-01-01T00:00:00Z")
    for name in ("lastExecution", "lastSuccessfulExecution", "lastSuccessfulExecutionWithExports"):
        assert set(job[name]) == EXECUTION_PROPERTIES and job[name]["error"] is None


@pytest.mark.parametrize("job, fragment", [
    ({"templateId": "scim", "quarantine_reason": "Bored"}, "quarantine_reason"),
    ({"templateId": "scim", "quarantine_error": {"message": "no code"}}, "quarantine_error"),
])
def test_seed_refuses_a_bad_quarantine(job, fragment):
    with pytest.raises(SeedError, match=fragment):
        load_seed({"tenants": [{"id": "55555555-5555-4555-8555-555555555555",
                                "applications": [{"display_name": "x", "jobs": [job]}]}]})


def test_seed_refuses_a_bad_denial_and_an_unknown_saved_key():
    tenant = {"id": "55555555-5555-4555-8555-555555555555"}
    with pytest.raises(SeedError, match="synchronization_denial"):
        load_seed({"tenants": [dict(tenant, clients=[{"client_id": UNKNOWN_ERROR_CLIENT,
                                                      "synchronization_denial": 500}])]})
    with pytest.raises(SeedError, match="SecretTokn"):
        load_seed({"tenants": [dict(tenant, applications=[{"display_name": "x",
                                                           "saved_secrets": {"SecretTokn": "x"}}])]})


# ---- validateCredentials on the jobs collection --------------------------------------------------------------

def _validate_without_job(graph, app, **body):
    return graph.post(_sync(app) + "/jobs/validateCredentials", json=body)


def test_collection_validate_checks_given_credentials_before_any_job_exists(emulator, usgov):
    app = seed_app("usgov", FRESH_APP["display_name"])
    assert app["jobs"] == []
    right = credentials(app["accepted_credentials"])
    assert _validate_without_job(usgov, app, applicationIdentifier=app["app_id"], templateId="scim",
                                 credentials=right).status_code == 204
    wrong = credentials(dict(app["accepted_credentials"], SecretToken="emulator-secret-wrong"))
    error = assert_graph_error(_validate_without_job(usgov, app, templateId="scim", credentials=wrong), 400,
                               "CredentialValidationUnavailable")
    assert "emulator-secret-wrong" not in error["message"]
    assert emulator.application(app["service_principal_id"])["saved_credential_keys"] == []


def test_collection_validate_with_saved_credentials(usgov):
    portal = seed_app("usgov", PORTAL_APP["display_name"])
    assert _validate_without_job(usgov, portal, templateId="scim", useSavedCredentials=True).status_code == 204
    fresh = seed_app("usgov", FRESH_APP["display_name"])
    assert_graph_error(_validate_without_job(usgov, fresh, templateId="scim", useSavedCredentials=True), 400,
                       "CredentialValidationUnavailable")


def test_acquire_before_any_job_exists_saves_the_credentials_the_collection_check_then_accepts(emulator, usgov):
    app = seed_app("usgov", FRESH_APP["display_name"])
    assert app["jobs"] == []
    answer = usgov.post(_sync(app) + "/acquireAccessToken",
                        json={"credentials": credentials(app["accepted_credentials"])})
    assert answer.status_code == 204
    state = emulator.application(app["service_principal_id"])
    assert state["authorized"] and state["jobs"] == []
    assert sorted(state["saved_credential_keys"]) == ["BaseAddress", "SecretToken"]
    assert _validate_without_job(usgov, app, templateId="scim", useSavedCredentials=True).status_code == 204


@pytest.mark.parametrize("body, status, code", [
    ({"credentials": []}, 400, "RequestMissingRequiredParameter"),
    ({"templateId": "scim"}, 400, "RequestMissingRequiredParameter"),
    ({"templateId": "nope", "useSavedCredentials": True}, 400, "BadRequest"),
    ({"templateId": "scim", "useSavedCredentials": True, "extra": 1}, 400, "BadRequest"),
])
def test_collection_validate_refuses_incomplete_bodies(usgov, body, status, code):
    assert_graph_error(_validate_without_job(usgov, seed_app("usgov", FRESH_APP["display_name"]), **body), status,
                       code)


def test_collection_validate_is_not_a_job_id(usgov):
    app = seed_app("usgov", FRESH_APP["display_name"])
    assert_graph_error(usgov.get(_sync(app) + "/jobs/validateCredentials"), 405, "Request_BadRequest")
    answer = usgov.post(_sync(app) + "/jobs/microsoft.graph.validateCredentials",
                        json={"templateId": "scim", "credentials": credentials(app["accepted_credentials"])})
    assert answer.status_code == 204


# ---- a target that is down -----------------------------------------------------------------------------------

def _validate_saved(graph, app):
    return graph.post(_job_path(app, "/validateCredentials"), json={"useSavedCredentials": True})


@pytest.mark.parametrize("answer, fragment", [
    (503, "the target answered HTTP/503 Service Unavailable"), (500, "HTTP/500"),
    ("timeout", "did not answer"), ("token_exchange", "token exchange"),
])
def test_an_outage_makes_an_authorized_app_look_unavailable(emulator, usgov, answer, fragment):
    app = seed_app("usgov", PORTAL_APP["display_name"])
    assert _validate_saved(usgov, app).status_code == 204
    emulator.set_faults(target_outages=[{"applications": [app["app_id"]], "answer": answer}])
    error = assert_graph_error(_validate_saved(usgov, app), 400, "CredentialValidationUnavailable")
    assert fragment in error["message"]
    # Until cleared: the outage lasts.
    assert _validate_saved(usgov, app).status_code == 400
    emulator.clear_faults()
    assert _validate_saved(usgov, app).status_code == 204
    assert emulator.application(app["service_principal_id"])["authorized"] is True


def test_a_target_answering_401_looks_exactly_like_rejected_credentials(emulator, usgov):
    portal = seed_app("usgov", PORTAL_APP["display_name"])
    fresh = seed_app("usgov", FRESH_APP["display_name"])
    emulator.set_faults(target_outages=[{"applications": [portal["service_principal_id"]], "answer": 401,
                                         "count": 1}])
    down = assert_graph_error(_validate_without_job(usgov, portal, templateId="scim", useSavedCredentials=True),
                              400, "CredentialValidationUnavailable")
    refused = assert_graph_error(_validate_without_job(usgov, fresh, templateId="scim", useSavedCredentials=True),
                                 400, "CredentialValidationUnavailable")
    assert (down["message"].replace(portal["display_name"], "X")
            == refused["message"].replace(fresh["display_name"], "X"))
    assert _validate_saved(usgov, portal).status_code == 204
    assert emulator.faults()["target_outages"][0]["count"] == 0


def test_an_outage_of_another_app_changes_nothing(emulator, usgov):
    app = seed_app("usgov", PORTAL_APP["display_name"])
    emulator.set_faults(target_outages={"applications": [seed_app("usgov", FRESH_APP["display_name"])["app_id"]]})
    assert _validate_saved(usgov, app).status_code == 204


def test_an_invalid_outage_rule_is_refused(emulator):
    with pytest.raises(Exception, match="answer must be one of"):
        emulator.set_faults(target_outages=[{"answer": 418}])


# ---- NotInAllowList -------------------------------------------------------------------------------------------

def _client_credential_secrets(app):
    return dict(SETTINGS, **app["accepted_credentials"])


def test_oauth2_token_exchange_uri_is_accepted_unless_the_switch_is_on(emulator, usgov):
    app = seed_app("usgov", CLIENT_CREDENTIALS_APP["display_name"])
    assert _put(usgov, app, _client_credential_secrets(app)).status_code == 204


def test_the_switch_refuses_oauth2_token_exchange_uri_on_v1_only(emulator, http, usgov):
    app = seed_app("usgov", CLIENT_CREDENTIALS_APP["display_name"])
    emulator.set_faults(refuse_oauth2_token_exchange_uri=True)
    error = assert_graph_error(_put(usgov, app, _client_credential_secrets(app)), 400, "NotInAllowList")
    assert "Oauth2TokenExchangeUri" in error["message"]
    assert emulator.application(app["service_principal_id"])["saved_credential_keys"] == []
    beta = Graph(emulator, http, "usgov", version="beta")
    assert _put(beta, app, _client_credential_secrets(app)).status_code == 204
    without_uri = {key: value for key, value in _client_credential_secrets(app).items()
                   if key != "Oauth2TokenExchangeUri"}
    assert _put(usgov, app, without_uri).status_code == 204
