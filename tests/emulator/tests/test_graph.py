"""Graph: directory reads, the synchronization API, body validation, permissions, error shape."""

import uuid

import pytest

from conftest import (NO_PERMISSION_CLIENT, NO_PERMISSION_SECRET, OAUTH_APP, OWNED_BY_CLIENT, OWNED_BY_SECRET,
                      TENANTS, TOKEN_APP, USER_IDENTITY, Graph, assert_graph_error, credentials, seed_app, token_for)

OAUTH_CREDENTIALS = {
    "Oauth2AuthorizationCode": "code-obrien-1",
    "Oauth2RedirectUri": "https://portal.example.invalid/callback",
    "Oauth2ClientId": "payroll-client",
    "Oauth2ClientSecret": "emulator-secret-payroll",
}
TOKEN_CREDENTIALS = dict(TOKEN_APP["accepted_credentials"])


@pytest.fixture()
def oauth_app():
    return seed_app("global", OAUTH_APP["display_name"])


@pytest.fixture()
def token_app():
    return seed_app("global", TOKEN_APP["display_name"])


def _acquire(graph, app, mapping, collection="servicePrincipals"):
    object_id = app["service_principal_id"] if collection == "servicePrincipals" else app["application_id"]
    return graph.post("/%s/%s/synchronization/acquireAccessToken" % (collection, object_id),
                      json={"credentials": credentials(mapping)})


# ---- directory reads ------------------------------------------------------------------------------------

def test_service_principal_by_id(graph, token_app):
    answer = graph.get("/servicePrincipals/" + token_app["service_principal_id"])
    assert answer.status_code == 200
    body = answer.json()
    assert body["id"] == token_app["service_principal_id"]
    assert body["appId"] == token_app["app_id"]
    assert body["displayName"] == "Scim Directory"
    assert body["@odata.context"].endswith("/v1.0/$metadata#servicePrincipals/$entity")


def test_service_principal_by_app_id_alternate_key(graph, token_app):
    answer = graph.get("/servicePrincipals(appId='%s')" % token_app["app_id"])
    assert answer.status_code == 200
    assert answer.json()["id"] == token_app["service_principal_id"]


def test_alternate_key_addresses_synchronization_too(graph, token_app):
    answer = graph.get("/servicePrincipals(appId='%s')/synchronization/jobs" % token_app["app_id"])
    assert answer.status_code == 200
    assert len(answer.json()["value"]) == 2


def test_filter_by_display_name_with_doubled_quote(graph, oauth_app):
    answer = graph.get("/servicePrincipals", params={"$filter": "displayName eq 'O''Brien Payroll'"})
    assert answer.status_code == 200
    assert [item["id"] for item in answer.json()["value"]] == [oauth_app["service_principal_id"]]


def test_filter_display_name_is_case_insensitive_and_exact(graph):
    assert len(graph.get("/servicePrincipals", params={"$filter": "displayName eq 'scim directory'"})
               .json()["value"]) == 1
    assert graph.get("/servicePrincipals", params={"$filter": "displayName eq 'Scim'"}).json()["value"] == []


def test_filter_startswith_and_or(graph):
    body = graph.get("/servicePrincipals", params={
        "$filter": "startswith(displayName,'bulk-000') or displayName eq 'Scim Directory'", "$top": "999"}).json()
    assert len(body["value"]) == 10


def test_filter_by_tag(graph):
    answer = graph.get("/servicePrincipals", params={"$filter": "tags/any(t: t eq 'windowsazureactivedirectoryintegratedapp')"
                                                                " and startswith(displayName,'Scim')"})
    assert [item["displayName"] for item in answer.json()["value"]] == ["Scim Directory"]
    assert graph.get("/servicePrincipals", params={"$filter": "tags/any(t:t eq 'no-such-tag')"}).json()["value"] == []


def test_unsupported_filter_is_400(graph):
    answer = graph.get("/servicePrincipals", params={"$filter": "endswith(displayName,'x')"})
    assert answer.status_code == 400
    answer = graph.get("/servicePrincipals", params={"$filter": "displayName eq 'unterminated"})
    assert_graph_error(answer, 400, "BadRequest")


def test_list_pages_with_next_link_and_top(graph):
    seen = []
    url = graph.base + "/servicePrincipals?$top=40&$select=id,displayName"
    pages = 0
    while url:
        answer = graph.session.get(url, headers={"Authorization": "Bearer " + graph.token})
        assert answer.status_code == 200
        body = answer.json()
        assert len(body["value"]) <= 40
        assert all(set(item) == {"id", "displayName"} for item in body["value"])
        seen.extend(item["id"] for item in body["value"])
        url = body.get("@odata.nextLink")
        pages += 1
    assert pages == 4  # 152 service principals in the global tenant
    assert len(seen) == len(set(seen)) == 152


def test_default_page_size_is_100(graph):
    body = graph.get("/servicePrincipals").json()
    assert len(body["value"]) == 100
    assert "@odata.nextLink" in body


def test_top_out_of_range_is_400(graph):
    assert_graph_error(graph.get("/servicePrincipals?$top=1000"), 400, "Request_BadRequest")


def test_application_by_id(graph, token_app):
    answer = graph.get("/applications/" + token_app["application_id"])
    assert answer.status_code == 200
    assert answer.json()["appId"] == token_app["app_id"]


def test_unknown_id_is_404_request_resource_not_found(graph):
    missing = str(uuid.uuid4())
    error = assert_graph_error(graph.get("/servicePrincipals/" + missing), 404, "Request_ResourceNotFound")
    assert missing in error["message"]


def test_object_of_another_tenant_is_404(emulator, http):
    usgov_app = seed_app("usgov", TOKEN_APP["display_name"])
    answer = Graph(emulator, http).get("/servicePrincipals/" + usgov_app["service_principal_id"])
    assert answer.status_code == 404


def test_malformed_id_is_400(graph):
    assert_graph_error(graph.get("/servicePrincipals/not-a-guid"), 400, "Request_BadRequest")


def test_unknown_segment_is_400(graph):
    assert_graph_error(graph.get("/users"), 400, "BadRequest")


def test_request_ids_are_returned_and_client_id_echoed(graph):
    client_request_id = str(uuid.uuid4())
    answer = graph.get("/servicePrincipals/" + str(uuid.uuid4()), headers={"client-request-id": client_request_id})
    assert answer.headers["client-request-id"] == client_request_id
    assert uuid.UUID(answer.headers["request-id"])
    inner = answer.json()["error"]["innerError"]
    assert inner["client-request-id"] == client_request_id
    assert inner["request-id"] == answer.headers["request-id"]


# ---- acquireAccessToken ------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", ["v1.0", "beta"])
@pytest.mark.parametrize("collection", ["servicePrincipals", "applications"])
def test_acquire_access_token_204_on_both_paths_and_versions(emulator, http, token_app, version, collection):
    graph = Graph(emulator, http, version=version)
    answer = _acquire(graph, token_app, TOKEN_CREDENTIALS, collection)
    assert answer.status_code == 204
    assert answer.content == b""
    assert emulator.application(token_app["service_principal_id"])["authorized"] is True


def test_acquire_access_token_accepts_odata_type_on_items(emulator, graph, token_app):
    body = {"credentials": [dict(item, **{"@odata.type": "microsoft.graph.synchronizationSecretKeyStringValuePair"})
                            for item in credentials(TOKEN_CREDENTIALS)]}
    answer = graph.post("/servicePrincipals/%s/synchronization/acquireAccessToken"
                        % token_app["service_principal_id"], json=body)
    assert answer.status_code == 204


def test_authorization_code_is_single_use(emulator, graph, oauth_app):
    assert _acquire(graph, oauth_app, OAUTH_CREDENTIALS).status_code == 204
    again = _acquire(graph, oauth_app, OAUTH_CREDENTIALS)
    error = assert_graph_error(again, 400, "InvalidCredentials")
    assert "already redeemed" in error["message"]
    fresh = _acquire(graph, oauth_app, dict(OAUTH_CREDENTIALS, Oauth2AuthorizationCode="code-obrien-2"))
    assert fresh.status_code == 204
    assert emulator.application(oauth_app["app_id"])["used_authorization_codes"] == 2


def test_unknown_authorization_code_is_rejected(graph, oauth_app):
    answer = _acquire(graph, oauth_app, dict(OAUTH_CREDENTIALS, Oauth2AuthorizationCode="code-other"))
    assert "not valid" in assert_graph_error(answer, 400, "InvalidCredentials")["message"]


def test_wrong_credential_value_is_rejected_without_echoing_it(emulator, graph, token_app):
    answer = _acquire(graph, token_app, dict(TOKEN_CREDENTIALS, SecretToken="emulator-secret-wrong-value"))
    error = assert_graph_error(answer, 400, "InvalidCredentials")
    assert "SecretToken" in error["message"]
    assert "emulator-secret-wrong-value" not in answer.text
    assert emulator.application(token_app["service_principal_id"])["authorized"] is False


def test_missing_credential_key_is_rejected(graph, token_app):
    answer = _acquire(graph, token_app, {"BaseAddress": TOKEN_CREDENTIALS["BaseAddress"]})
    assert "SecretToken" in assert_graph_error(answer, 400, "InvalidCredentials")["message"]


def _raw_acquire(graph, app, data, content_type="application/json"):
    return graph.post("/servicePrincipals/%s/synchronization/acquireAccessToken" % app["service_principal_id"],
                      data=data, headers={"Content-Type": content_type} if content_type else {})


@pytest.mark.parametrize("data,content_type,fragment", [
    (b'{"credentials": [', "application/json", "Unable to read JSON"),
    (b'{"credentials": []}', "text/plain", "Unable to read JSON"),
    (b'{"credentials": []}', None, "Unable to read JSON"),
    (b'{}', "application/json", "credentials"),
    (b'{"credentials": null}', "application/json", "credentials"),
    (b'{"credentials": {"key": "SecretToken"}}', "application/json", "credentials"),
    (b'{"credentials": [{"key": "NotAKey", "value": "x"}]}', "application/json", "NotAKey"),
    (b'{"credentials": [{"key": "secrettoken", "value": "x"}]}', "application/json", "secrettoken"),
    (b'{"credentials": [{"key": "unknownFutureValue", "value": "x"}]}', "application/json", "unknownFutureValue"),
    (b'{"credentials": [{"key": "SecretToken", "value": 5}]}', "application/json", "string"),
    (b'{"credentials": [{"key": "SecretToken", "value": "x", "extra": 1}]}', "application/json", "extra"),
    (b'{"credentials": [], "secrets": []}', "application/json", "secrets"),
    (b'[]', "application/json", "JSON object"),
    (b'', "application/json", "Empty Payload. JSON content expected."),
    (b'', None, "Empty Payload. JSON content expected."),
])
def test_body_validation_is_400_bad_request(emulator, graph, token_app, data, content_type, fragment):
    answer = _raw_acquire(graph, token_app, data, content_type)
    error = assert_graph_error(answer, 400, "BadRequest")
    assert fragment in error["message"]
    assert emulator.application(token_app["service_principal_id"])["authorized"] is False


def test_content_type_with_charset_is_json(graph, token_app):
    import json
    answer = _raw_acquire(graph, token_app, json.dumps({"credentials": credentials(TOKEN_CREDENTIALS)}),
                          "application/json; charset=utf-8")
    assert answer.status_code == 204


# ---- permissions -------------------------------------------------------------------------------------------

def test_owned_by_client_acts_on_owned_app_only(emulator, http, oauth_app, token_app):
    graph = Graph(emulator, http, token=token_for(emulator, http, client_id=OWNED_BY_CLIENT, secret=OWNED_BY_SECRET))
    assert _acquire(graph, oauth_app, OAUTH_CREDENTIALS).status_code == 204
    denied = _acquire(graph, token_app, TOKEN_CREDENTIALS)
    assert_graph_error(denied, 403, "Authorization_RequestDenied")
    assert emulator.application(token_app["service_principal_id"])["authorized"] is False
    assert graph.get("/servicePrincipals/%s/synchronization/jobs" % token_app["service_principal_id"]).status_code \
        == 403
    assert graph.get("/servicePrincipals/%s/synchronization/jobs" % oauth_app["service_principal_id"]).status_code \
        == 200


def test_client_without_permission_is_denied_synchronization(emulator, http, token_app):
    graph = Graph(emulator, http, token=token_for(emulator, http, client_id=NO_PERMISSION_CLIENT,
                                                  secret=NO_PERMISSION_SECRET))
    assert_graph_error(_acquire(graph, token_app, TOKEN_CREDENTIALS), 403, "Authorization_RequestDenied")


def test_user_assigned_identity_owning_nothing_is_denied(emulator, http, token_app, monkeypatch):
    import msal

    for name, value in emulator.managed_identity_environment().items():
        monkeypatch.setenv(name, value)
    client = msal.ManagedIdentityClient(msal.UserAssignedManagedIdentity(client_id=USER_IDENTITY), http_client=http)
    token = client.acquire_token_for_client(resource="https://graph.microsoft.com")["access_token"]
    graph = Graph(emulator, http, token=token)
    assert_graph_error(_acquire(graph, token_app, TOKEN_CREDENTIALS), 403, "Authorization_RequestDenied")


# ---- validateCredentials, secrets, jobs ----------------------------------------------------------------------

def _validate(graph, app, body, job_index=0):
    return graph.post("/servicePrincipals/%s/synchronization/jobs/%s/validateCredentials"
                      % (app["service_principal_id"], app["jobs"][job_index]["id"]), json=body)


def test_validate_saved_credentials_only_after_authorization(graph, oauth_app):
    saved = {"useSavedCredentials": True, "templateId": "payroll"}
    assert_graph_error(_validate(graph, oauth_app, saved), 400, "CredentialValidationUnavailable")
    assert _acquire(graph, oauth_app, OAUTH_CREDENTIALS).status_code == 204
    assert _validate(graph, oauth_app, saved).status_code == 204


def test_validate_explicit_credentials_checks_without_saving_or_consuming(emulator, graph, oauth_app):
    body = {"useSavedCredentials": False, "credentials": credentials(OAUTH_CREDENTIALS)}
    assert _validate(graph, oauth_app, body).status_code == 204
    state = emulator.application(oauth_app["service_principal_id"])
    assert state["authorized"] is False
    assert state["used_authorization_codes"] == 0
    wrong = {"credentials": credentials(dict(OAUTH_CREDENTIALS, Oauth2ClientSecret="emulator-secret-nope"))}
    assert_graph_error(_validate(graph, oauth_app, wrong), 400, "CredentialValidationUnavailable")
    assert _acquire(graph, oauth_app, OAUTH_CREDENTIALS).status_code == 204
    assert "already redeemed" in _validate(graph, oauth_app, body).json()["error"]["message"]


def test_validate_unknown_job_is_404(graph, oauth_app):
    answer = graph.post("/servicePrincipals/%s/synchronization/jobs/nope/validateCredentials"
                        % oauth_app["service_principal_id"], json={"useSavedCredentials": True})
    assert_graph_error(answer, 404, "Request_ResourceNotFound")


def test_put_secrets_authorizes_token_app(emulator, graph, token_app):
    path = "/servicePrincipals/%s/synchronization/secrets" % token_app["service_principal_id"]
    settings = {"SyncNotificationSettings": '{"Enabled":false}', "SyncAll": "false"}
    answer = graph.request("PUT", path, json={"value": credentials(dict(TOKEN_CREDENTIALS, **settings))})
    assert answer.status_code == 204
    state = emulator.application(token_app["service_principal_id"])
    assert state["authorized"] is True
    assert state["saved_credential_keys"] == ["BaseAddress", "SecretToken", "SyncAll", "SyncNotificationSettings"]
    assert _validate(graph, token_app, {"useSavedCredentials": True}, job_index=1).status_code == 204


def test_put_secrets_wrapper_is_value_not_credentials(graph, token_app):
    path = "/servicePrincipals/%s/synchronization/secrets" % token_app["service_principal_id"]
    answer = graph.request("PUT", path, json={"credentials": credentials(TOKEN_CREDENTIALS)})
    assert_graph_error(answer, 400, "BadRequest")


def test_jobs_list_get_start(graph, token_app):
    base = "/servicePrincipals/%s/synchronization/jobs" % token_app["service_principal_id"]
    jobs = graph.get(base).json()["value"]
    assert [job["id"] for job in jobs] == [job["id"] for job in token_app["jobs"]]
    assert [job["templateId"] for job in jobs] == ["scim", "scimGroups"]
    job = graph.get(base + "/" + jobs[0]["id"]).json()
    assert job["schedule"]["state"] == "Disabled"
    assert job["status"]["code"] == "NotRun"
    assert graph.post(base + "/" + jobs[0]["id"] + "/start", json={}).status_code == 204
    assert graph.get(base + "/" + jobs[0]["id"]).json()["schedule"]["state"] == "Active"
    assert_graph_error(graph.get(base + "/missing"), 404, "Request_ResourceNotFound")


def test_wrong_method_is_405(graph, token_app):
    answer = graph.get("/servicePrincipals/%s/synchronization/acquireAccessToken" % token_app["service_principal_id"])
    assert_graph_error(answer, 405, "Request_BadRequest")


def test_templates_list(graph, token_app):
    answer = graph.get("/servicePrincipals/%s/synchronization/templates" % token_app["service_principal_id"])
    assert [item["id"] for item in answer.json()["value"]] == ["scim", "scimGroups"]


def test_dod_tenant_serves_its_own_apps(emulator, http):
    dod_app = seed_app("usgov_dod", OAUTH_APP["display_name"])
    graph = Graph(emulator, http, "usgov_dod")
    assert graph.get("/servicePrincipals(appId='%s')" % dod_app["app_id"]).status_code == 200
    assert _acquire(graph, dod_app, OAUTH_CREDENTIALS).status_code == 204
    assert emulator.application(dod_app["service_principal_id"])["tenant_id"] == TENANTS["usgov_dod"]
