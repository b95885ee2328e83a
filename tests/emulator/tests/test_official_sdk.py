"""The official Microsoft Graph SDK for Python (msgraph-sdk) against the emulator.

A real client that no one here wrote sends the calls the collection makes (and those of issue 23) and parses the
emulator's answers with its own models: job shape, quarantine and run errors, restart, secrets read and write,
validateCredentials on a job and on the jobs collection, and the errors (401 UnknownError,
CredentialValidationUnavailable, NotInAllowList) as ODataError. It signs in with a static access token from the emulator's token endpoint, through
an azure-core credential, and trusts only the emulator's CA.
"""

import asyncio
import ssl
import time

import pytest

from conftest import (CLIENT_CREDENTIALS_APP, FRESH_APP, PORTAL_APP, PORTAL_NOTIFICATION_SETTINGS, QUARANTINED_APP,
                      UNKNOWN_ERROR_CLIENT, UNKNOWN_ERROR_SECRET, seed_app, token_for)

import msgraph  # noqa: E402

import httpx  # noqa: E402  (a dependency of msgraph-sdk)
from azure.core.credentials import AccessToken  # noqa: E402
from kiota_abstractions.method import Method  # noqa: E402
from kiota_abstractions.request_information import RequestInformation  # noqa: E402
from kiota_authentication_azure.azure_identity_authentication_provider import (  # noqa: E402
    AzureIdentityAuthenticationProvider)
from msgraph_core import GraphClientFactory  # noqa: E402

# The generated request builders warn about their own deprecated configuration classes at every call.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:msgraph")


class StaticTokenCredential:
    """An azure-core TokenCredential that hands out one access token issued by the emulator."""

    def __init__(self, token):
        self._token = token

    def get_token(self, *scopes, **kwargs):
        """The token, whatever scope is asked (the emulator's token already has the cloud's audience)."""
        return AccessToken(self._token, int(time.time()) + 3000)


def _client(sdk, emulator, token, version):
    """A GraphServiceClient of `sdk` (the msgraph module; msgraph_beta has the same shape) on the usgov listener."""
    endpoint = emulator.info["clouds"]["usgov"]["graph_endpoint"]
    host = endpoint.split("://", 1)[1].split(":", 1)[0]
    auth = AzureIdentityAuthenticationProvider(StaticTokenCredential(token),
                                               scopes=[emulator.info["clouds"]["usgov"]["scope"]],
                                               allowed_hosts=[host])
    context = ssl.create_default_context(cafile=emulator.info["ca_path"])
    # trust_env off: REQUESTS_CA_BUNDLE/SSL_CERT_FILE and proxies of this machine stay out of the way.
    http_client = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(verify=context, trust_env=False, http2=False))
    adapter = sdk.GraphRequestAdapter(auth, client=http_client)
    adapter.base_url = "%s/%s" % (endpoint, version)
    return sdk.GraphServiceClient(request_adapter=adapter)


@pytest.fixture()
def client(emulator, http):
    return _client(msgraph, emulator, token_for(emulator, http, "usgov"), "v1.0")


@pytest.fixture()
def run():
    """Runs coroutines on one event loop for the whole test (the SDK's httpx client keeps its connections on it)."""
    loop = asyncio.new_event_loop()
    yield loop.run_until_complete
    loop.close()


def _sync(client, app):
    return client.service_principals.by_service_principal_id(app["service_principal_id"]).synchronization


def _job(client, app):
    return _sync(client, app).jobs.by_synchronization_job_id(app["jobs"][0]["id"])


def _pairs(mapping):
    from msgraph.generated.models.synchronization_secret import SynchronizationSecret
    from msgraph.generated.models.synchronization_secret_key_string_value_pair import (
        SynchronizationSecretKeyStringValuePair)
    return [SynchronizationSecretKeyStringValuePair(key=SynchronizationSecret(key), value=value)
            for key, value in mapping.items()]


async def _read_secrets(client, app):
    # msgraph-sdk 1.65 has no GET on synchronization/secrets (only PUT), so the read goes through its own adapter
    # and is parsed with its own model of the answer.
    from msgraph.generated.service_principals.item.synchronization.secrets.secrets_put_response import (
        SecretsPutResponse)
    builder = _sync(client, app).secrets
    request = RequestInformation(Method.GET, builder.url_template, builder.path_parameters)
    request.headers.try_add("Accept", "application/json")
    answer = await builder.request_adapter.send_async(request, SecretsPutResponse, None)
    return {pair.key.value if hasattr(pair.key, "value") else pair.key: pair.value for pair in answer.value}


def test_sdk_reads_a_quarantined_job_with_its_error_and_counters(client, run):
    app = seed_app("usgov", PORTAL_APP["display_name"])
    job = run(_job(client, app).get())
    assert job.status.code.value == "Quarantine"
    assert job.status.quarantine.reason.value == "EncounteredQuarantineException"
    assert job.status.quarantine.error.code == "SystemForCrossDomainIdentityManagementServiceIncompatible"
    assert job.status.quarantine.error.tenant_actionable is True
    assert job.status.last_execution.state.value == "Failed"
    assert job.status.last_execution.error.message == "The SCIM endpoint is not compatible."
    assert job.status.last_execution.count_entitled == 0 and job.status.last_execution.count_exported == 0
    assert job.status.progress == []
    # Nothing the model does not know: every property of the answer landed in the model.
    assert not job.status.additional_data and not job.status.last_execution.additional_data


def test_sdk_restart_sends_a_body_and_lifts_the_quarantine(emulator, client, run):
    from msgraph.generated.service_principals.item.synchronization.jobs.item.restart.restart_post_request_body import (
        RestartPostRequestBody)
    app = seed_app("usgov", QUARANTINED_APP["display_name"])
    run(_job(client, app).restart.post(RestartPostRequestBody()))
    entry = [item for item in emulator.log() if item["operation"] == "jobs.restart"][-1]
    assert (entry["status"], entry["body"]) == (204, {})
    assert run(_job(client, app).get()).status.quarantine is None


def test_sdk_start_and_pause_send_no_body_and_work(emulator, client, run):
    app = seed_app("usgov", QUARANTINED_APP["display_name"])
    run(_job(client, app).start.post())
    run(_job(client, app).pause.post())
    entries = [item for item in emulator.log() if item["operation"] in ("jobs.start", "jobs.pause")]
    assert [(item["status"], item["body"]) for item in entries] == [(204, None), (204, None)]
    assert run(_job(client, app).get()).status.code.value == "Paused"


def test_sdk_writes_then_reads_secrets_masked(emulator, client, run):
    from msgraph.generated.service_principals.item.synchronization.secrets.secrets_put_request_body import (
        SecretsPutRequestBody)
    app = seed_app("usgov", PORTAL_APP["display_name"])
    before = run(_read_secrets(client, app))
    assert before["SecretToken"] == "*"
    assert before["SyncNotificationSettings"].startswith("{")
    values = dict(app["accepted_credentials"], SyncNotificationSettings='{"Enabled":false}', SyncAll="false")
    run(_sync(client, app).secrets.put(SecretsPutRequestBody(value=_pairs(values))))
    after = run(_read_secrets(client, app))
    assert after == {"BaseAddress": app["accepted_credentials"]["BaseAddress"], "SecretToken": "*",
                     "SyncNotificationSettings": '{"Enabled":false}', "SyncAll": "false"}
    assert emulator.application(app["service_principal_id"])["saved_notification_settings"] != \
        PORTAL_NOTIFICATION_SETTINGS


def test_sdk_validates_credentials_on_a_job_and_on_the_jobs_collection(emulator, client, run):
    from msgraph.generated.service_principals.item.synchronization.jobs.item.validate_credentials import (
        validate_credentials_post_request_body as on_job)
    from msgraph.generated.service_principals.item.synchronization.jobs.validate_credentials import (
        validate_credentials_post_request_body as on_collection)
    portal = seed_app("usgov", PORTAL_APP["display_name"])
    run(_job(client, portal).validate_credentials.post(
        on_job.ValidateCredentialsPostRequestBody(use_saved_credentials=True)))
    fresh = seed_app("usgov", FRESH_APP["display_name"])
    run(_sync(client, fresh).jobs.validate_credentials.post(on_collection.ValidateCredentialsPostRequestBody(
        application_identifier=fresh["app_id"], template_id="scim",
        credentials=_pairs(fresh["accepted_credentials"]))))
    assert [item["status"] for item in emulator.log() if "validateCredentials" in item["operation"]] == [204, 204]


def test_sdk_sees_an_outage_as_credential_validation_unavailable(emulator, client, run):
    from kiota_abstractions.api_error import APIError
    from msgraph.generated.service_principals.item.synchronization.jobs.item.validate_credentials import (
        validate_credentials_post_request_body as on_job)
    app = seed_app("usgov", PORTAL_APP["display_name"])
    emulator.set_faults(target_outages=[{"applications": [app["app_id"]], "answer": 503}])
    with pytest.raises(APIError) as raised:
        run(_job(client, app).validate_credentials.post(
            on_job.ValidateCredentialsPostRequestBody(use_saved_credentials=True)))
    assert raised.value.response_status_code == 400
    assert raised.value.error.code == "CredentialValidationUnavailable"
    assert "HTTP/503" in raised.value.error.message


def test_sdk_gets_401_unknown_error_for_a_client_without_synchronization_permissions(emulator, http, run):
    from kiota_abstractions.api_error import APIError
    token = token_for(emulator, http, "usgov", client_id=UNKNOWN_ERROR_CLIENT, secret=UNKNOWN_ERROR_SECRET)
    client = _client(msgraph, emulator, token, "v1.0")
    app = seed_app("usgov", PORTAL_APP["display_name"])
    with pytest.raises(APIError) as raised:
        run(_sync(client, app).jobs.get())
    assert raised.value.response_status_code == 401
    assert (raised.value.error.code, raised.value.error.message) == ("UnknownError", "")


def test_sdk_put_secrets_with_token_exchange_uri_behind_the_switch(emulator, client, run):
    from kiota_abstractions.api_error import APIError
    from msgraph.generated.service_principals.item.synchronization.secrets.secrets_put_request_body import (
        SecretsPutRequestBody)
    app = seed_app("usgov", CLIENT_CREDENTIALS_APP["display_name"])
    values = dict(app["accepted_credentials"], SyncNotificationSettings='{"Enabled":false}', SyncAll="false")
    emulator.set_faults(refuse_oauth2_token_exchange_uri=True)
    with pytest.raises(APIError) as raised:
        run(_sync(client, app).secrets.put(SecretsPutRequestBody(value=_pairs(values))))
    assert (raised.value.response_status_code, raised.value.error.code) == (400, "NotInAllowList")
