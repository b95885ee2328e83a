# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest
import responses

from ansible_collections.entra.provisioning.plugins.module_utils._auth.client_secret import ClientSecretAuth
from ansible_collections.entra.provisioning.plugins.module_utils._auth.common import TransientAuthenticationError
from ansible_collections.entra.provisioning.plugins.module_utils._errors import AuthenticationError, InvalidInputError
from ansible_collections.entra.provisioning.plugins.module_utils._graph.session import RedirectRefusedError
from ansible_collections.entra.provisioning.tests.unit.plugins.module_utils.helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    TENANT_ID,
    app_options,
    make_auth,
)

GLOBAL_LOGIN = 'https://login.microsoftonline.com'
US_LOGIN = 'https://login.microsoftonline.us'


def secret_auth(**extra):
    return make_auth(ClientSecretAuth, app_options(client_secret=CLIENT_SECRET, **extra))


def test_missing_secret_is_named_with_its_variables():
    auth = make_auth(ClientSecretAuth, app_options())
    with pytest.raises(InvalidInputError) as caught:
        auth.validate()
    assert caught.value.message == ('auth_method client_secret needs client_secret (or AZURE_CLIENT_SECRET / '
                                    'AZURE_SECRET).')


def test_client_id_must_be_a_guid():
    auth = make_auth(ClientSecretAuth, app_options(client_id='my-app', client_secret=CLIENT_SECRET))
    with pytest.raises(InvalidInputError) as caught:
        auth.validate()
    assert 'client_id must be a GUID' in caught.value.message


def test_token_is_asked_for_the_clouds_graph_with_the_secret(entra):
    entra.openid_configuration(US_LOGIN, TENANT_ID)
    entra.token_endpoint(US_LOGIN, TENANT_ID)
    auth = secret_auth(cloud='usgov_dod')
    auth.validate()
    token = auth.acquire_token()
    sent = entra.token_requests()[0]
    assert token.token == entra.issued[0]
    assert sent['scope'] == 'https://dod-graph.microsoft.us/.default'
    assert sent['client_id'] == CLIENT_ID
    assert sent['client_secret'] == CLIENT_SECRET
    assert sent['grant_type'] == 'client_credentials'


def test_scope_ignores_graph_endpoint_override(entra):
    entra.openid_configuration(GLOBAL_LOGIN, TENANT_ID)
    entra.token_endpoint(GLOBAL_LOGIN, TENANT_ID)
    secret_auth(graph_endpoint='https://127.0.0.1:9443').acquire_token()
    assert entra.token_requests()[0]['scope'] == 'https://graph.microsoft.com/.default'


def test_custom_authority_host_is_used_without_instance_discovery(entra, http):
    custom = 'https://127.0.0.1:8444'
    entra.openid_configuration(custom, TENANT_ID)
    entra.token_endpoint(custom, TENANT_ID)
    secret_auth(authority_host=custom).acquire_token()
    hosts = {call.request.url.split('/')[2] for call in http.calls}
    assert hosts == {'127.0.0.1:8444'}


def test_token_expiry_comes_from_the_answer(entra, clock):
    entra.openid_configuration(GLOBAL_LOGIN, TENANT_ID)
    entra.token_endpoint(GLOBAL_LOGIN, TENANT_ID, expires_in=1800)
    auth = make_auth(ClientSecretAuth, app_options(client_secret=CLIENT_SECRET), clock=clock)
    assert auth.acquire_token().expires_on == clock.now + 1800


def test_msal_requests_go_through_our_session_with_our_verify(entra, http, monkeypatch):
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', '/env/bundle.pem')
    monkeypatch.setenv('CURL_CA_BUNDLE', '/env/bundle.pem')
    entra.openid_configuration(GLOBAL_LOGIN, TENANT_ID)
    entra.token_endpoint(GLOBAL_LOGIN, TENANT_ID)
    secret_auth(validate_certs=False).acquire_token()
    assert [call.request.req_kwargs['verify'] for call in http.calls] == [False, False]
    assert all(call.request.headers['User-Agent'].startswith('entra.provisioning/') for call in http.calls)


@pytest.mark.parametrize('code, expected', [
    (7000215, "client_secret holds the secret's Value (not its Secret ID)"),
    (7000222, 'client secret of application %s has expired' % CLIENT_ID),
    (700016, 'check that cloud (global) is where the app is registered'),
    (500011, 'set cloud to the tenant\'s cloud'),
])
def test_sign_in_failures_say_what_to_check(entra, code, expected):
    entra.openid_configuration(GLOBAL_LOGIN, TENANT_ID)
    entra.token_error(GLOBAL_LOGIN, TENANT_ID, code, 'The service says no.')
    with pytest.raises(AuthenticationError) as caught:
        secret_auth().acquire_token()
    error = caught.value
    assert expected in error.message
    assert error.code == 'AADSTS%d' % code
    assert error.request_id == '0000-trace' and error.client_request_id == '0000-corr'
    assert 'Sign-in failed for application %s in tenant %s' % (CLIENT_ID, TENANT_ID) in error.message
    assert 'AADSTS%d: The service says no.' % code in error.message
    assert not isinstance(error, TransientAuthenticationError)


def test_sign_in_failure_never_carries_the_secret(entra):
    entra.openid_configuration(GLOBAL_LOGIN, TENANT_ID)
    entra.token_error(GLOBAL_LOGIN, TENANT_ID, 7000215, 'Invalid client secret %s provided.' % CLIENT_SECRET)
    with pytest.raises(AuthenticationError) as caught:
        secret_auth().acquire_token()
    assert CLIENT_SECRET not in str(caught.value.to_dict())
    assert CLIENT_SECRET not in caught.value.message


def test_unknown_tenant_is_reported_with_cloud_advice(entra):
    entra.openid_configuration(GLOBAL_LOGIN, TENANT_ID, status=400, body={
        'error': 'invalid_tenant', 'error_description': "AADSTS90002: Tenant '%s' not found." % TENANT_ID})
    with pytest.raises(AuthenticationError) as caught:
        secret_auth().acquire_token()
    assert caught.value.code == 'AADSTS90002'
    assert 'tenant %s was not found at %s' % (TENANT_ID, GLOBAL_LOGIN) in caught.value.message
    assert 'cloud (global)' in caught.value.message


def test_server_error_from_the_token_endpoint_is_transient(entra):
    entra.openid_configuration(GLOBAL_LOGIN, TENANT_ID)
    entra.mock.add(responses.POST, entra.token_url(GLOBAL_LOGIN, TENANT_ID), status=503, body='busy')
    with pytest.raises(TransientAuthenticationError):
        secret_auth().acquire_token()


def test_unreachable_sign_in_service_is_transient(entra):
    import requests
    entra.mock.add(responses.GET, '%s/%s/v2.0/.well-known/openid-configuration' % (GLOBAL_LOGIN, TENANT_ID),
                   body=requests.exceptions.ConnectionError('refused'))
    with pytest.raises(TransientAuthenticationError) as caught:
        secret_auth().acquire_token()
    assert 'Could not reach the sign-in service at %s' % GLOBAL_LOGIN in caught.value.message


def test_tls_failure_is_not_transient_and_says_what_to_do(entra):
    import requests
    entra.mock.add(responses.GET, '%s/%s/v2.0/.well-known/openid-configuration' % (GLOBAL_LOGIN, TENANT_ID),
                   body=requests.exceptions.SSLError('certificate verify failed'))
    with pytest.raises(AuthenticationError) as caught:
        secret_auth().acquire_token()
    assert not isinstance(caught.value, TransientAuthenticationError)
    assert 'ca_path' in caught.value.message


def test_a_redirect_from_the_token_endpoint_does_not_resend_the_secret(entra):
    entra.openid_configuration(GLOBAL_LOGIN, TENANT_ID)
    entra.mock.add(responses.POST, entra.token_url(GLOBAL_LOGIN, TENANT_ID), status=307,
                   headers={'Location': 'http://collector.example/token'})
    with pytest.raises(RedirectRefusedError) as caught:
        secret_auth().acquire_token()
    token_calls = [call for call in entra.mock.calls if call.request.method == 'POST']
    assert len(token_calls) == 1
    assert 'redirect to http://collector.example/token' in caught.value.message
    assert CLIENT_SECRET not in caught.value.message


def test_a_token_endpoint_that_times_out_names_the_timeout_option(entra):
    import requests
    entra.openid_configuration(GLOBAL_LOGIN, TENANT_ID)
    entra.mock.add(responses.POST, entra.token_url(GLOBAL_LOGIN, TENANT_ID),
                   body=requests.exceptions.ReadTimeout('read timed out'))
    with pytest.raises(TransientAuthenticationError) as caught:
        secret_auth().acquire_token()
    assert 'gave no answer within timeout=30 seconds' in caught.value.message
    assert caught.value.message.startswith('The sign-in service at %s' % GLOBAL_LOGIN)


def test_tls_failure_with_a_ca_path_names_it_instead_of_asking_for_one(entra, tmp_path):
    import requests
    bundle = tmp_path / 'ca.pem'
    bundle.write_text('-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n')
    entra.mock.add(responses.GET, '%s/%s/v2.0/.well-known/openid-configuration' % (GLOBAL_LOGIN, TENANT_ID),
                   body=requests.exceptions.SSLError('certificate verify failed'))
    with pytest.raises(AuthenticationError) as caught:
        secret_auth(ca_path=str(bundle)).acquire_token()
    assert 'could not be verified with ca_path %s' % bundle in caught.value.message
    assert 'give ca_path' not in caught.value.message
