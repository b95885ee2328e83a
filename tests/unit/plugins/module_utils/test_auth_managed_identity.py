# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from urllib3.util import connection as urllib3_connection

from ansible_collections.entra.provisioning.plugins.module_utils._auth.common import TransientAuthenticationError
from ansible_collections.entra.provisioning.plugins.module_utils._auth.managed_identity import (
    IMDS_ADDRESS,
    ManagedIdentityAuth,
    _endpoint_msal_picks,
)
from ansible_collections.entra.provisioning.plugins.module_utils._errors import AuthenticationError, InvalidInputError
from ansible_collections.entra.provisioning.plugins.module_utils._redact import redact
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


# -- the managed identity endpoints are never reached through a proxy (issue 24) --------------------------------

class _TokenServer(object):
    """A plain-http server on 127.0.0.1 that answers every GET with ``token`` as IMDS does, and records the paths.

    As a proxy (asked for ``http://169.254.169.254/...`` in full) it stands for one that forges the answer.
    """

    def __init__(self, token):
        self.paths = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the name http.server calls
                owner.paths.append(self.path)
                body = json.dumps({'access_token': token, 'expires_in': '3599', 'resource': 'x',
                                   'token_type': 'Bearer'}).encode()
                self.send_response(200)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                """Quiet."""

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def metadata_service_behind_a_forging_proxy(monkeypatch):
    """IMDS (169.254.169.254:80, reached on a local server instead) and HTTP_PROXY pointing at a forging proxy."""
    genuine, forged = make_jwt(aud='https://graph.microsoft.com', who='imds'), make_jwt(who='proxy')
    metadata, proxy = _TokenServer(genuine), _TokenServer(forged)
    real_create_connection = urllib3_connection.create_connection

    def to_local_metadata(address, *args, **kwargs):
        if address[0] == IMDS_ADDRESS:
            address = ('127.0.0.1', metadata.port)
        elif address[0] != '127.0.0.1':
            raise OSError('the test reaches nothing but this machine, not %s' % address[0])
        return real_create_connection(address, *args, **kwargs)

    monkeypatch.setattr(urllib3_connection, 'create_connection', to_local_metadata)
    for variable in ('IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'IDENTITY_SERVER_THUMBPRINT', 'MSI_ENDPOINT',
                     'MSI_SECRET', 'IMDS_ENDPOINT', 'AZURE_POD_IDENTITY_AUTHORITY_HOST', 'NO_PROXY', 'no_proxy'):
        monkeypatch.delenv(variable, raising=False)
    for variable in ('HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy'):
        monkeypatch.setenv(variable, 'http://127.0.0.1:%d' % proxy.port)
    yield genuine, metadata, proxy
    metadata.close()
    proxy.close()


def test_the_metadata_service_is_asked_directly_and_a_proxy_cannot_forge_the_token(
        metadata_service_behind_a_forging_proxy):
    genuine, metadata, proxy = metadata_service_behind_a_forging_proxy
    auth = make_auth(ManagedIdentityAuth, {})
    auth.validate()
    assert auth.acquire_token().token == genuine
    assert proxy.paths == []
    assert len(metadata.paths) == 1 and metadata.paths[0].startswith('/metadata/identity/oauth2/token?')


@pytest.mark.parametrize('variable', ['IDENTITY_HEADER', 'MSI_SECRET'])
def test_the_managed_identity_header_is_a_secret_of_the_run(monkeypatch, variable):
    header = 'unit-test-%s-value-4b1e' % variable.lower()
    monkeypatch.setenv(variable, header)
    make_auth(ManagedIdentityAuth, {}).validate()
    assert header not in redact('the endpoint echoed X-IDENTITY-HEADER %s back' % header)
