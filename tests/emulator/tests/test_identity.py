"""Sign-in: msal against the emulator's authorities, the token endpoint's errors, managed identity."""

import time

import jwt
import msal
import pytest

from conftest import (FEDERATED_CLIENT, FEDERATED_SUBJECT, NO_PERMISSION_CLIENT, NO_PERMISSION_SECRET,
                      OWNED_BY_CLIENT, SYNC_CLIENTS, SYNC_SECRET, TENANTS, USER_IDENTITY, Graph, ca_session,
                      token_for)

CLOUDS = ["global", "usgov", "usgov_dod", "china"]


def _msal_app(emulator, session, cloud, credential, client_id=None):
    return msal.ConfidentialClientApplication(
        client_id or SYNC_CLIENTS[cloud], client_credential=credential,
        authority=emulator.authority(TENANTS[cloud]), instance_discovery=False, http_client=session)


def _scope(emulator, cloud):
    return [emulator.info["clouds"][cloud]["scope"]]


def _claims(token):
    return jwt.decode(token, options={"verify_signature": False})


def _certificate(emulator, cloud):
    return emulator.info["certificates"][SYNC_CLIENTS[cloud]]


def _read(path):
    with open(path, "r", encoding="utf-8") as handle:
        return handle.read()


@pytest.mark.parametrize("cloud", CLOUDS)
def test_msal_secret_token_reaches_graph_of_its_cloud(emulator, http, cloud):
    result = _msal_app(emulator, http, cloud, SYNC_SECRET).acquire_token_for_client(scopes=_scope(emulator, cloud))
    assert "access_token" in result, result
    claims = _claims(result["access_token"])
    assert claims["aud"] == emulator.info["clouds"][cloud]["graph_root"]
    assert claims["tid"] == TENANTS[cloud]
    assert claims["appid"] == SYNC_CLIENTS[cloud]
    assert claims["appidacr"] == "1"
    assert set(claims["roles"]) == {"Synchronization.ReadWrite.All", "Application.Read.All"}
    assert 3500 < claims["exp"] - time.time() <= 3600
    answer = Graph(emulator, http, cloud, token=result["access_token"]).get("/servicePrincipals")
    assert answer.status_code == 200, answer.text
    assert answer.json()["value"]


@pytest.mark.parametrize("cloud", CLOUDS)
def test_msal_certificate_with_sha256_thumbprint_reaches_graph(emulator, http, cloud):
    pem = _read(_certificate(emulator, cloud)["pem"])
    app = _msal_app(emulator, http, cloud, {"private_key": pem, "public_certificate": pem})
    result = app.acquire_token_for_client(scopes=_scope(emulator, cloud))
    assert "access_token" in result, result
    assert _claims(result["access_token"])["appidacr"] == "2"
    answer = Graph(emulator, http, cloud, token=result["access_token"]).get("/servicePrincipals")
    assert answer.status_code == 200, answer.text
    entry = [item for item in emulator.log() if item["kind"] == "token"][-1]
    assert entry["credential"] == "certificate"


def test_msal_certificate_with_legacy_sha1_thumbprint(emulator, http):
    certificate = _certificate(emulator, "global")
    app = _msal_app(emulator, http, "global", {"private_key": _read(certificate["key_pem"]),
                                               "thumbprint": certificate["thumbprint_sha1"]})
    result = app.acquire_token_for_client(scopes=_scope(emulator, "global"))
    assert "access_token" in result, result


def test_msal_certificate_from_pfx(emulator, http):
    certificate = _certificate(emulator, "usgov_dod")
    app = _msal_app(emulator, http, "usgov_dod", {"private_key_pfx_path": certificate["pfx"],
                                                  "passphrase": certificate["pfx_password"]})
    result = app.acquire_token_for_client(scopes=_scope(emulator, "usgov_dod"))
    assert "access_token" in result, result


def test_certificate_not_registered_for_client_is_refused(emulator, http):
    other = _read(_certificate(emulator, "usgov")["pem"])
    app = _msal_app(emulator, http, "global", {"private_key": other, "public_certificate": other})
    result = app.acquire_token_for_client(scopes=_scope(emulator, "global"))
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [700027]


def test_msal_client_assertion_callable_with_federated_credential(emulator, http):
    calls = []

    def assertion():
        calls.append(1)
        return emulator.federation_token(FEDERATED_SUBJECT)

    app = _msal_app(emulator, http, "global", {"client_assertion": assertion}, client_id=FEDERATED_CLIENT)
    result = app.acquire_token_for_client(scopes=_scope(emulator, "global"))
    assert "access_token" in result, result
    assert calls
    assert _claims(result["access_token"])["appid"] == FEDERATED_CLIENT
    answer = Graph(emulator, http, token=result["access_token"]).get("/servicePrincipals?$top=1")
    assert answer.status_code == 403  # the federated client may act on sync but not read directory objects


@pytest.mark.parametrize("subject,audience,code", [
    ("repo:someone/else:ref:refs/heads/main", None, 700213),
    (FEDERATED_SUBJECT, "api://SomethingElse", 700212),
])
def test_federated_assertion_must_match_subject_and_audience(emulator, http, subject, audience, code):
    token = emulator.federation_token(subject, audience=audience)
    app = _msal_app(emulator, http, "global", {"client_assertion": lambda: token}, client_id=FEDERATED_CLIENT)
    result = app.acquire_token_for_client(scopes=_scope(emulator, "global"))
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [code]


def test_federated_assertion_expired_is_refused(emulator, http):
    token = emulator.federation_token(FEDERATED_SUBJECT, lifetime=60, issued_at=int(time.time()) - 3600)
    app = _msal_app(emulator, http, "global", {"client_assertion": lambda: token}, client_id=FEDERATED_CLIENT)
    result = app.acquire_token_for_client(scopes=_scope(emulator, "global"))
    assert result["error_codes"] == [700024]


def test_federated_assertion_from_unknown_issuer_is_refused(emulator, http):
    forged = jwt.encode({"iss": "https://issuer.example.invalid", "sub": FEDERATED_SUBJECT,
                         "aud": "api://AzureADTokenExchange", "exp": int(time.time()) + 600}, "k" * 32,
                        algorithm="HS256")
    app = _msal_app(emulator, http, "global", {"client_assertion": lambda: forged}, client_id=FEDERATED_CLIENT)
    result = app.acquire_token_for_client(scopes=_scope(emulator, "global"))
    assert result["error_codes"] == [700211]


def test_wrong_secret_is_401_invalid_client(emulator, http):
    result = _msal_app(emulator, http, "global", "emulator-secret-wrong").acquire_token_for_client(
        scopes=_scope(emulator, "global"))
    assert result["error"] == "invalid_client"
    assert result["error_description"].startswith("AADSTS7000215:")
    entry = [item for item in emulator.log() if item["kind"] == "token"][-1]
    assert entry["status"] == 401
    assert entry["body"]["client_secret"] == "***"


def test_unknown_client_is_400_unauthorized_client(emulator, http):
    answer = http.post("%s/oauth2/v2.0/token" % emulator.authority(TENANTS["global"]), data={
        "grant_type": "client_credentials", "client_id": "f0000000-0000-4000-8000-00000000000f",
        "client_secret": SYNC_SECRET, "scope": "https://graph.microsoft.com/.default"},
        headers={"client-request-id": "4a4f3b5c-0000-4000-8000-000000000001"})
    assert answer.status_code == 400
    body = answer.json()
    assert body["error"] == "unauthorized_client"
    assert body["error_codes"] == [700016]
    assert body["correlation_id"] == "4a4f3b5c-0000-4000-8000-000000000001"
    assert body["error_description"].startswith("AADSTS700016: ")
    assert body["trace_id"] and body["timestamp"]


def test_unknown_tenant_fails_discovery_and_token(emulator, http):
    base = emulator.info["clouds"]["global"]["authority_host"]
    unknown = "99999999-9999-4999-8999-999999999999"
    discovery = http.get("%s/%s/v2.0/.well-known/openid-configuration" % (base, unknown))
    assert discovery.status_code == 400
    assert discovery.json()["error_codes"] == [90002]
    with pytest.raises(ValueError):
        msal.ConfidentialClientApplication(SYNC_CLIENTS["global"], client_credential=SYNC_SECRET,
                                           authority="%s/%s" % (base, unknown), instance_discovery=False,
                                           http_client=http)


def test_tenant_of_another_cloud_is_unknown_at_this_listener(emulator, http):
    usgov_base = emulator.info["clouds"]["usgov"]["authority_host"]
    answer = http.post("%s/%s/oauth2/v2.0/token" % (usgov_base, TENANTS["global"]), data={
        "grant_type": "client_credentials", "client_id": SYNC_CLIENTS["global"], "client_secret": SYNC_SECRET,
        "scope": "https://graph.microsoft.com/.default"})
    assert answer.status_code == 400
    assert answer.json()["error_codes"] == [90002]


def test_scope_of_another_cloud_is_invalid_resource(emulator, http):
    result = _msal_app(emulator, http, "usgov_dod", SYNC_SECRET).acquire_token_for_client(
        scopes=["https://graph.microsoft.us/.default"])
    assert result["error"] == "invalid_resource"
    assert result["error_codes"] == [500011]


def test_scope_without_default_suffix_is_invalid_scope(emulator, http):
    result = _msal_app(emulator, http, "global", SYNC_SECRET).acquire_token_for_client(
        scopes=["https://graph.microsoft.com/Synchronization.ReadWrite.All"])
    assert result["error"] == "invalid_scope"
    assert result["error_codes"] == [1002012]


def test_graph_app_id_scope_is_accepted(emulator, http):
    answer = http.post("%s/oauth2/v2.0/token" % emulator.authority(TENANTS["global"]), data={
        "grant_type": "client_credentials", "client_id": SYNC_CLIENTS["global"], "client_secret": SYNC_SECRET,
        "scope": "00000003-0000-0000-c000-000000000000/.default"})
    assert answer.status_code == 200
    assert _claims(answer.json()["access_token"])["aud"] == "https://graph.microsoft.com"


def test_missing_credential_is_invalid_client(emulator, http):
    answer = http.post("%s/oauth2/v2.0/token" % emulator.authority(TENANTS["global"]), data={
        "grant_type": "client_credentials", "client_id": SYNC_CLIENTS["global"],
        "scope": "https://graph.microsoft.com/.default"})
    assert answer.status_code == 401
    assert answer.json()["error_codes"] == [7000216]


@pytest.mark.parametrize("token_cloud,graph_cloud", [("global", "usgov"), ("usgov", "usgov_dod"),
                                                     ("usgov_dod", "global"), ("china", "global")])
def test_token_of_another_cloud_is_refused_by_graph(emulator, http, token_cloud, graph_cloud):
    token = token_for(emulator, http, token_cloud)
    answer = Graph(emulator, http, graph_cloud, token=token).get("/servicePrincipals")
    assert answer.status_code == 401
    error = answer.json()["error"]
    assert error["code"] == "InvalidAuthenticationToken"
    assert "audience" in error["message"]
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]


def test_token_signature_verifies_with_published_keys(emulator, http):
    token = token_for(emulator, http, "china")
    keys = http.get("%s/discovery/v2.0/keys" % emulator.authority(TENANTS["china"])).json()["keys"]
    key = jwt.PyJWK(keys[0]).key
    claims = jwt.decode(token, key, algorithms=["RS256"], audience="https://microsoftgraph.chinacloudapi.cn")
    assert claims["tid"] == TENANTS["china"]


def test_forged_token_is_refused(emulator, http):
    forged = jwt.encode({"aud": "https://graph.microsoft.com", "tid": TENANTS["global"],
                         "roles": ["Synchronization.ReadWrite.All"], "exp": int(time.time()) + 600},
                        "k" * 32, algorithm="HS256")
    answer = Graph(emulator, http, token=forged).get("/servicePrincipals")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_missing_token_is_401(emulator, http):
    answer = http.get(emulator.graph_endpoint("global") + "/v1.0/servicePrincipals")
    assert answer.status_code == 401
    assert answer.json()["error"]["message"] == "Access token is empty."


def test_short_token_lifetime_expires_during_run(emulator, http):
    emulator.set_faults(token_lifetime=1)
    result = _msal_app(emulator, http, "global", SYNC_SECRET).acquire_token_for_client(
        scopes=_scope(emulator, "global"))
    assert result["expires_in"] == 1
    graph = Graph(emulator, http, token=result["access_token"])
    assert graph.get("/servicePrincipals?$top=1").status_code == 200
    time.sleep(2.1)
    answer = graph.get("/servicePrincipals?$top=1")
    assert answer.status_code == 401
    assert "expired" in answer.json()["error"]["message"]


def test_expire_tokens_invalidates_every_token_issued_so_far(emulator, http):
    old = token_for(emulator, http)
    assert Graph(emulator, http, token=old).get("/servicePrincipals?$top=1").status_code == 200
    emulator.expire_tokens()
    answer = Graph(emulator, http, token=old).get("/servicePrincipals?$top=1")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "InvalidAuthenticationToken"
    fresh = token_for(emulator, http)
    assert Graph(emulator, http, token=fresh).get("/servicePrincipals?$top=1").status_code == 200


def test_client_without_permissions_gets_token_without_roles(emulator, http):
    token = token_for(emulator, http, client_id=NO_PERMISSION_CLIENT, secret=NO_PERMISSION_SECRET)
    assert "roles" not in _claims(token)
    answer = Graph(emulator, http, token=token).get("/servicePrincipals")
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "Authorization_RequestDenied"


def test_secrets_never_appear_in_log(emulator, http):
    token_for(emulator, http)
    _msal_app(emulator, http, "global", "emulator-secret-wrong").acquire_token_for_client(
        scopes=_scope(emulator, "global"))
    text = repr(emulator.log())
    assert SYNC_SECRET not in text
    assert "emulator-secret-wrong" not in text
    assert "***" in text


# ---- managed identity ---------------------------------------------------------------------------------------

def test_msal_managed_identity_system_assigned(emulator, http, monkeypatch):
    for name, value in emulator.managed_identity_environment().items():
        monkeypatch.setenv(name, value)
    client = msal.ManagedIdentityClient(msal.SystemAssignedManagedIdentity(), http_client=http)
    result = client.acquire_token_for_client(resource="https://graph.microsoft.com")
    assert "access_token" in result, result
    claims = _claims(result["access_token"])
    assert claims["tid"] == TENANTS["global"]
    assert "Synchronization.ReadWrite.All" in claims["roles"]
    answer = Graph(emulator, http, token=result["access_token"]).get("/servicePrincipals?$top=1")
    assert answer.status_code == 200


def test_msal_managed_identity_user_assigned(emulator, http, monkeypatch):
    for name, value in emulator.managed_identity_environment(TENANTS["global"]).items():
        monkeypatch.setenv(name, value)
    client = msal.ManagedIdentityClient(msal.UserAssignedManagedIdentity(client_id=USER_IDENTITY), http_client=http)
    result = client.acquire_token_for_client(resource="https://graph.microsoft.com")
    assert "access_token" in result, result
    claims = _claims(result["access_token"])
    assert claims["appid"] == USER_IDENTITY
    assert claims["roles"] == ["Application.ReadWrite.OwnedBy"]


def test_managed_identity_refuses_wrong_header_and_wrong_cloud(emulator, http, monkeypatch):
    monkeypatch.setenv("IDENTITY_ENDPOINT", emulator.info["managed_identity"]["endpoint"])
    monkeypatch.setenv("IDENTITY_HEADER", "not-the-header")
    client = msal.ManagedIdentityClient(msal.SystemAssignedManagedIdentity(), http_client=http)
    assert "access_token" not in client.acquire_token_for_client(resource="https://graph.microsoft.com")
    monkeypatch.setenv("IDENTITY_HEADER", emulator.info["managed_identity"]["header"])
    client = msal.ManagedIdentityClient(msal.SystemAssignedManagedIdentity(), http_client=http)
    result = client.acquire_token_for_client(resource="https://graph.microsoft.us")
    assert "access_token" not in result
    assert "AADSTS500011" in result["error_description"]


def test_owned_by_client_token_carries_its_role(emulator, http):
    token = token_for(emulator, http, client_id=OWNED_BY_CLIENT, secret="emulator-secret-owned-by")
    assert _claims(token)["roles"] == ["Application.ReadWrite.OwnedBy"]


def test_ca_session_ignores_environment_bundle(emulator, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/bundle.pem")
    with ca_session(emulator.info) as session:
        assert session.get(emulator.info["control_url"] + "/_emulator/health").status_code == 200
