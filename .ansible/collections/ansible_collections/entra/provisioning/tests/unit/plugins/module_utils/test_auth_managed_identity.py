# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from ansible_collections.entra.provisioning.plugins.module_utils._auth_common import TransientAuthenticationError
from ansible_collections.entra.provisioning.plugins.module_utils._auth_managed_identity import (
    ManagedIdentityAuth,
    _endpoint_msal_picks,
)
from ansible_collections.entra.provisioning.plugins.module_utils._errors import AuthenticationError, InvalidInputError
from ansible_collections.entra.provisioning.tests.unit.plugins.module_utils.helpers import (
    CLIENT_ID,
    make_auth,
    make_jwt,
)

ENDPOINT = 'https://127.0.0.1:9999/msi/token'
IDENTITY_HEADER = 'unit-test-' + 'identity-header'


@pytest.fixture
def app_service_identity(monkeypatch):
    """Point msal at an App Service style managed identity endpoint (it picks the source from these)."""
    for variable in ('IDENTITY_SERVER_THUMBPRINT', 'MSI_ENDPOINT', 'MSI_SECRET', 'IMDS_ENDPOINT'):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv('IDENTITY_ENDPOINT', ENDPOINT)
    monkeypatch.setenv('IDENTITY_HEADER', IDENTITY_HEADER)


def answer_with_token(http, token):
    def issue(request):
        return 200, {}, json.dumps({'access_token': token, 'expires_on': str(int(time.time()) + 3600),
                                    'resource': 'x', 'token_type': 'Bearer'})
    http.add_callback(responses.GET, ENDPOINT, callback=issue)


def sent_query(http):
    return {key: values[0] for key, values in parse_qs(urlsplit(http.calls[-1].request.url).query).items()}


def test_system_assigned_identity_asks_for_the_clouds_graph(http, app_service_identity):
    token = make_jwt(aud='https://graph.microsoft.us')
    answer_with_token(http, token)
    auth = make_auth(ManagedIdentityAuth, {'auth_method': 'managed_identity', 'cloud': 'usgov'})
    auth.validate()
    assert auth.acquire_token().token == token
    query = sent_query(http)
    assert query['resource'] == 'https://graph.microsoft.us'
    assert 'client_id' not in query
    assert http.calls[-1].request.headers['X-IDENTITY-HEADER'] == IDENTITY_HEADER


def test_user_assigned_identity_is_chosen_by_client_id(http, app_service_identity):
    answer_with_token(http, make_jwt(aud='https://graph.microsoft.com'))
    make_auth(ManagedIdentityAuth, {'client_id': CLIENT_ID}).acquire_token()
    assert sent_query(http)['client_id'] == CLIENT_ID


def test_user_assigned_client_id_falls_back_to_the_environment(http, app_service_identity):
    answer_with_token(http, make_jwt(aud='https://graph.microsoft.com'))
    auth = make_auth(ManagedIdentityAuth, {}, environ={'AZURE_CLIENT_ID': CLIENT_ID})
    auth.acquire_token()
    assert sent_query(http)['client_id'] == CLIENT_ID
    assert auth.describe_identity() == ('the user-assigned managed identity %s (client_id from AZURE_CLIENT_ID)'
                                        % CLIENT_ID)


def test_client_id_must_be_a_guid():
    with pytest.raises(InvalidInputError):
        make_auth(ManagedIdentityAuth, {'client_id': 'my-identity'}).validate()


def test_cached_token_is_dropped_by_forget_token(http, app_service_identity):
    answer_with_token(http, make_jwt(aud='https://graph.microsoft.com'))
    auth = make_auth(ManagedIdentityAuth, {})
    auth.acquire_token()
    auth.acquire_token()
    assert len(http.calls) == 1
    auth.forget_token()
    auth.acquire_token()
    assert len(http.calls) == 2


def test_endpoint_error_says_what_to_check(http, app_service_identity):
    http.add(responses.GET, ENDPOINT, status=400, json={'statusCode': 400, 'message': 'No identity found'})
    with pytest.raises(AuthenticationError) as caught:
        make_auth(ManagedIdentityAuth, {'client_id': CLIENT_ID}).acquire_token()
    assert 'No identity found' in caught.value.message
    assert 'client_id names one of its user-assigned identities' in caught.value.message
    assert IDENTITY_HEADER not in caught.value.message


def test_unreachable_endpoint_is_transient(http, app_service_identity):
    http.add(responses.GET, ENDPOINT, body=requests.exceptions.ConnectionError('refused'))
    with pytest.raises(TransientAuthenticationError) as caught:
        make_auth(ManagedIdentityAuth, {}).acquire_token()
    assert 'the managed identity endpoint' in caught.value.message


def _unreachable(url):
    return requests.exceptions.ConnectionError('refused', request=requests.Request('GET', url).prepare())


def test_an_unreachable_endpoint_is_named_without_its_query(http, app_service_identity):
    http.add(responses.GET, ENDPOINT, body=_unreachable(ENDPOINT + '?resource=x&api-version=2019-08-01'))
    with pytest.raises(TransientAuthenticationError) as caught:
        make_auth(ManagedIdentityAuth, {}).acquire_token()
    assert 'the managed identity endpoint %s for' % ENDPOINT in caught.value.message
    assert 'resource=x' not in caught.value.message


def test_off_azure_the_metadata_service_that_was_tried_is_named(http, monkeypatch):
    for variable in ('IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'IDENTITY_SERVER_THUMBPRINT', 'MSI_ENDPOINT',
                     'MSI_SECRET', 'IMDS_ENDPOINT'):
        monkeypatch.delenv(variable, raising=False)
    imds = 'http://169.254.169.254/metadata/identity/oauth2/token'
    http.add(responses.GET, imds, body=_unreachable(imds + '?resource=x'))
    with pytest.raises(TransientAuthenticationError) as caught:
        make_auth(ManagedIdentityAuth, {}).acquire_token()
    message = caught.value.message
    assert 'the managed identity endpoint %s (the Azure Instance Metadata Service' % imds in message
    assert 'IDENTITY_ENDPOINT' in message


def test_an_unreadable_answer_names_the_endpoint_msal_picked(http, app_service_identity):
    http.add(responses.GET, ENDPOINT, body='<html>a proxy error page</html>', status=200)
    with pytest.raises(AuthenticationError) as caught:
        make_auth(ManagedIdentityAuth, {}).acquire_token()
    assert caught.value.message.startswith('The managed identity endpoint %s gave no usable answer' % ENDPOINT)


@pytest.mark.parametrize('environ, expected', [
    ({'IDENTITY_ENDPOINT': 'https://a/msi', 'IDENTITY_HEADER': 'h'}, ('https://a/msi', False)),
    ({'MSI_ENDPOINT': 'https://b/msi', 'MSI_SECRET': 's'}, ('https://b/msi', False)),
    ({'IDENTITY_ENDPOINT': 'https://c/arc', 'IMDS_ENDPOINT': 'https://c'}, ('https://c/arc', False)),
    ({}, ('http://169.254.169.254/metadata/identity/oauth2/token', True)),
    ({'AZURE_POD_IDENTITY_AUTHORITY_HOST': 'http://10.0.0.1/'},
     ('http://10.0.0.1/metadata/identity/oauth2/token', True)),
])
def test_the_endpoint_is_named_in_the_order_msal_picks_it(environ, expected):
    assert _endpoint_msal_picks(environ) == expected
