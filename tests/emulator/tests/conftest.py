"""Shared fixtures: one emulator for the whole session, reset before every test."""

import copy
import functools
import os
import sys

import pytest
import requests

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from entra_emulator import EmulatorProcess, load_seed  # noqa: E402

TENANTS = {
    "global": "11111111-1111-4111-8111-111111111111",
    "usgov": "22222222-2222-4222-8222-222222222222",
    "usgov_dod": "33333333-3333-4333-8333-333333333333",
    "china": "44444444-4444-4444-8444-444444444444",
}
# One automation client per cloud with Synchronization.ReadWrite.All, a secret and a certificate.
SYNC_CLIENTS = {
    "global": "a0000000-0000-4000-8000-000000000001",
    "usgov": "a0000000-0000-4000-8000-000000000002",
    "usgov_dod": "a0000000-0000-4000-8000-000000000003",
    "china": "a0000000-0000-4000-8000-000000000004",
}
SYNC_SECRET = "emulator-secret-sync"
OWNED_BY_CLIENT = "b0000000-0000-4000-8000-000000000001"
OWNED_BY_SECRET = "emulator-secret-owned-by"
NO_PERMISSION_CLIENT = "c0000000-0000-4000-8000-000000000001"
NO_PERMISSION_SECRET = "emulator-secret-no-permission"
FEDERATED_CLIENT = "d0000000-0000-4000-8000-000000000001"
FEDERATED_SUBJECT = "repo:entra/provisioning:ref:refs/heads/main"
USER_IDENTITY = "e0000000-0000-4000-8000-000000000001"
# usgov clients: one without any Synchronization permission that Graph answers 401 UnknownError (as seen in real
# use), one that may only read synchronization objects.
UNKNOWN_ERROR_CLIENT = "c0000000-0000-4000-8000-000000000002"
UNKNOWN_ERROR_SECRET = "emulator-secret-unknown-error"
READ_ONLY_CLIENT = "c0000000-0000-4000-8000-000000000003"
READ_ONLY_SECRET = "emulator-secret-read-only"

OAUTH_APP = {
    "display_name": "O'Brien Payroll",
    "owners": [OWNED_BY_CLIENT],
    "jobs": [{"templateId": "payroll"}],
    "accepted_credentials": {
        "Oauth2AuthorizationCode": ["code-obrien-1", "code-obrien-2"],
        "Oauth2RedirectUri": "https://portal.example.invalid/callback",
        "Oauth2ClientId": "payroll-client",
        "Oauth2ClientSecret": "emulator-secret-payroll",
    },
}
TOKEN_APP = {
    "display_name": "Scim Directory",
    "jobs": [{"templateId": "scim"}, {"templateId": "scimGroups"}],
    "accepted_credentials": {
        "BaseAddress": "https://scim.example.invalid/v2",
        "SecretToken": "emulator-secret-scim-token",
    },
}

# Lifecycle apps (in the usgov tenant, so the global tenant's counts stay as they are).
FRESH_APP = {
    "display_name": "Fresh Scim",
    "templates": [{"id": "scim", "default": True}, {"id": "scimGroups"}],
    "accepted_credentials": {"BaseAddress": "https://fresh.example.invalid/scim",
                             "SecretToken": "emulator-secret-fresh"},
}
QUARANTINED_APP = {
    "display_name": "Quarantined Scim",
    "jobs": [{"templateId": "scim", "status": "Quarantine", "quarantine_reason": "TooManyDeletes",
              "last_execution": "Failed"}],
    "accepted_credentials": {"SecretToken": "emulator-secret-quarantined"},
}
# What an admin set in the portal: an accidental-deletion threshold and a notification e-mail, plus a token.
PORTAL_NOTIFICATION_SETTINGS = {"Enabled": True, "Recipients": "ops@contoso.example", "DeleteThresholdEnabled": True,
                                "DeleteThresholdValue": 17}
PORTAL_APP = {
    "display_name": "Portal Configured Scim",
    "jobs": [{"templateId": "scim", "status": "Quarantine", "quarantine_reason": "EncounteredQuarantineException",
              "quarantine_error": {"code": "SystemForCrossDomainIdentityManagementServiceIncompatible",
                                   "message": "The SCIM endpoint is not compatible.", "tenant_actionable": True},
              "last_execution": "Failed"}],
    "accepted_credentials": {"BaseAddress": "https://portal.example.invalid/scim",
                             "SecretToken": "emulator-secret-portal"},
    "saved_secrets": {"BaseAddress": "https://portal.example.invalid/scim", "SecretToken": "emulator-secret-portal",
                      "SyncNotificationSettings": PORTAL_NOTIFICATION_SETTINGS, "SyncAll": "false"},
    "authorized": True,
}
CLIENT_CREDENTIALS_APP = {
    "display_name": "OAuth Client Credentials",
    "jobs": [{"templateId": "oauthScim"}],
    "accepted_credentials": {"BaseAddress": "https://cc.example.invalid/scim", "Oauth2ClientId": "cc-client",
                             "Oauth2ClientSecret": "emulator-secret-cc",
                             "Oauth2TokenExchangeUri": "https://cc.example.invalid/token"},
}


def _tenant(cloud, extra_clients=(), applications=(), generate=None, identities=()):
    tenant = {
        "id": TENANTS[cloud],
        "cloud": cloud,
        "display_name": "Tenant %s" % cloud,
        "clients": [{
            "client_id": SYNC_CLIENTS[cloud],
            "display_name": "sync automation %s" % cloud,
            "secrets": [SYNC_SECRET],
            "certificate": "generate",
            "permissions": ["Synchronization.ReadWrite.All", "Application.Read.All"],
        }] + list(extra_clients),
        "applications": list(applications),
        "managed_identities": list(identities),
    }
    if generate:
        tenant["generate"] = generate
    return tenant


SEED = {
    "tenants": [
        _tenant(
            "global",
            extra_clients=[
                {"client_id": OWNED_BY_CLIENT, "secrets": [OWNED_BY_SECRET],
                 "permissions": ["Application.ReadWrite.OwnedBy"]},
                {"client_id": NO_PERMISSION_CLIENT, "secrets": [NO_PERMISSION_SECRET]},
                {"client_id": FEDERATED_CLIENT, "permissions": ["Synchronization.ReadWrite.All"],
                 "federated_credentials": [{"issuer": "emulator", "subject": FEDERATED_SUBJECT}]},
            ],
            applications=[OAUTH_APP, TOKEN_APP],
            generate={"count": 150, "name_prefix": "bulk-", "template": {
                "owners": [OWNED_BY_CLIENT],
                "jobs": [{"templateId": "scim"}],
                "accepted_credentials": {"BaseAddress": "https://{name}.example.invalid/scim",
                                         "SecretToken": "emulator-secret-{name}"}}},
            identities=[
                {"type": "system", "permissions": ["Synchronization.ReadWrite.All", "Application.Read.All"]},
                {"type": "user", "client_id": USER_IDENTITY, "permissions": ["Application.ReadWrite.OwnedBy"]},
            ],
        ),
        _tenant("usgov", applications=[TOKEN_APP, FRESH_APP, QUARANTINED_APP, CLIENT_CREDENTIALS_APP, PORTAL_APP],
                extra_clients=[
                    {"client_id": UNKNOWN_ERROR_CLIENT, "secrets": [UNKNOWN_ERROR_SECRET],
                     "permissions": ["Application.Read.All"], "synchronization_denial": 401},
                    {"client_id": READ_ONLY_CLIENT, "secrets": [READ_ONLY_SECRET],
                     "permissions": ["Synchronization.Read.All", "Application.Read.All"],
                     "synchronization_denial": 401}]),
        _tenant("usgov_dod", applications=[dict(OAUTH_APP, owners=[])]),
        _tenant("china", applications=[TOKEN_APP]),
    ],
}


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    """The session's emulator (a child process)."""
    with EmulatorProcess(seed=SEED, state_dir=str(tmp_path_factory.mktemp("emulator")), latency_ms=0) as emu:
        yield emu


@pytest.fixture(autouse=True)
def _fresh_state(request):
    """Every test starts from the seed, without faults, with an empty log."""
    if "emulator" in request.fixturenames:
        request.getfixturevalue("emulator").reset()


def ca_session(info):
    """A requests session trusting only the emulator's CA.

    trust_env is off on purpose: REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE in the environment would otherwise
    override `verify` (the TLS trap the reference describes), and proxies must not see loopback traffic.
    """
    session = requests.Session()
    session.trust_env = False
    session.verify = info["ca_path"]
    return session


@pytest.fixture()
def http(emulator):
    """A fresh CA-trusting session per test."""
    with ca_session(emulator.info) as session:
        yield session


def token_for(emulator, session, cloud="global", client_id=None, secret=SYNC_SECRET, tenant_id=None):
    """Get a token with a client secret straight from the token endpoint (no msal cache in the way)."""
    tenant_id = tenant_id or TENANTS[cloud]
    answer = session.post(
        "%s/%s/oauth2/v2.0/token" % (emulator.info["clouds"][cloud]["authority_host"], tenant_id),
        data={"grant_type": "client_credentials", "client_id": client_id or SYNC_CLIENTS[cloud],
              "client_secret": secret, "scope": emulator.info["clouds"][cloud]["scope"]})
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


class Graph:
    """Tiny Graph caller for tests: base URL + bearer token."""

    def __init__(self, emulator, session, cloud="global", token=None, version="v1.0"):
        self.session = session
        self.base = "%s/%s" % (emulator.info["clouds"][cloud]["graph_endpoint"], version)
        self.token = token or token_for(emulator, session, cloud)

    def request(self, method, path, **kwargs):
        """Send a request with the bearer token; returns the requests.Response."""
        headers = kwargs.pop("headers", {})
        headers.setdefault("Authorization", "Bearer " + self.token)
        return self.session.request(method, self.base + path, headers=headers, **kwargs)

    def get(self, path, **kwargs):
        """GET."""
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        """POST."""
        return self.request("POST", path, **kwargs)


@pytest.fixture()
def graph(emulator, http):
    """Graph of the global cloud as the Synchronization.ReadWrite.All client."""
    return Graph(emulator, http)


@functools.lru_cache(maxsize=None)
def _expanded_seed_index():
    expanded = load_seed(SEED)
    return {(tenant["cloud"], app["display_name"]): app for tenant in expanded["tenants"]
            for app in tenant["applications"]}


def seed_app(tenant_cloud, display_name):
    """The expanded seed record of an app, from the same rules the emulator uses (a copy)."""
    return copy.deepcopy(_expanded_seed_index()[(tenant_cloud, display_name)])


def credentials(mapping):
    """{key: value} to Graph's credentials array."""
    return [{"key": key, "value": value} for key, value in mapping.items()]


def assert_graph_error(response, status, code):
    """Check status, Graph's error shape, innerError ids and the id headers; returns the error dict."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["message"]
    inner = error["innerError"]
    assert inner["request-id"] == response.headers["request-id"]
    assert inner["client-request-id"] == response.headers["client-request-id"]
    assert inner["date"]
    return error
