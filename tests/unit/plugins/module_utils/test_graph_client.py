# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re
import socket
from email.utils import formatdate
from http.client import RemoteDisconnected
from urllib.parse import urlsplit

import pytest
import requests
import responses
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from ansible_collections.entra.provisioning.plugins.module_utils._graph import client as _graph_client
from ansible_collections.entra.provisioning.plugins.module_utils._errors import (
    AuthenticationError,
    EntraError,
    InvalidInputError,
    OutcomeUnknownError,
    RetriesExhaustedError,
)
from ansible_collections.entra.provisioning.plugins.module_utils._graph.errors import synchronization_permission_advice
from ansible_collections.entra.provisioning.plugins.module_utils._redact import MASK
from ansible_collections.entra.provisioning.tests.unit.plugins.module_utils.helpers import (
    CLIENT_SECRET,
    TENANT_ID,
    app_options,
    graph_token,
    make_client,
)

GRAPH = 'https://graph.microsoft.com/v1.0'
SP_ID = '0f0e0d0c-0b0a-0908-0706-050403020100'
ACTION = '%s/servicePrincipals/%s/synchronization/acquireAccessToken' % (GRAPH, SP_ID)
ACTION_PATH = 'servicePrincipals/%s/synchronization/acquireAccessToken' % SP_ID
GUID_RE = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')


def graph_error(code, message='It went wrong.', request_id='req-1', date='2026-01-01T00:00:00'):
    return {'error': {'code': code, 'message': message,
                      'innerError': {'date': date, 'request-id': request_id, 'client-request-id': 'creq-1'}}}


def connect_refused():
    return requests.exceptions.ConnectionError(MaxRetryError(None, ACTION, NewConnectionError(None, 'refused')))


def lost_after_send():
    return requests.exceptions.ConnectionError(ProtocolError('Connection aborted.', RemoteDisconnected('closed')))


@pytest.fixture
def client(retry_policy):
    return make_client(retry_policy=retry_policy)


# -- one request ---------------------------------------------------------------------------------------------------

def test_get_returns_status_json_and_request_ids(http, client):
    http.add(responses.GET, GRAPH + '/organization', json={'value': [1]},
             headers={'request-id': 'r-9', 'client-request-id': 'c-9'})
    answer = client.request('GET', 'organization')
    assert (answer.status, answer.json) == (200, {'value': [1]})
    assert (answer.request_id, answer.client_request_id) == ('r-9', 'c-9')


def test_every_request_carries_the_token_and_a_fresh_client_request_id(http, client):
    http.add(responses.GET, GRAPH + '/organization', json={})
    client.request('GET', 'organization')
    client.request('GET', 'organization')
    first, second = [call.request.headers for call in http.calls]
    assert first['Authorization'] == 'Bearer ' + client.authenticator.get_token()
    assert GUID_RE.match(first['client-request-id']) and GUID_RE.match(second['client-request-id'])
    assert first['client-request-id'] != second['client-request-id']
    assert first['return-client-request-id'] == 'true'


def test_post_sends_json_body(http, client):
    http.add(responses.POST, ACTION, status=204)
    answer = client.request('POST', ACTION_PATH, body={'credentials': [{'key': 'SecretToken', 'value': 'v'}]})
    assert answer.status == 204 and answer.json is None
    assert json.loads(http.calls[0].request.body) == {'credentials': [{'key': 'SecretToken', 'value': 'v'}]}
    assert http.calls[0].request.headers['Content-Type'] == 'application/json'


def test_graph_endpoint_and_api_version_shape_the_url(http, retry_policy):
    client = make_client({'access_token': graph_token('https://graph.microsoft.us'), 'cloud': 'usgov',
                          'graph_endpoint': 'https://127.0.0.1:8443/gov', 'api_version': 'beta'},
                         retry_policy=retry_policy)
    http.add(responses.GET, 'https://127.0.0.1:8443/gov/beta/organization', json={})
    client.request('GET', '/organization')
    assert http.calls[0].request.url == 'https://127.0.0.1:8443/gov/beta/organization'


def test_query_values_are_percent_encoded_and_odata_characters_kept(client):
    url = client.url_for('servicePrincipals', {'$filter': "displayName eq 'A+B O''Neil'", '$top': 5})
    assert url == GRAPH + "/servicePrincipals?$filter=displayName%20eq%20'A%2BB%20O''Neil'&$top=5"


@pytest.mark.parametrize('path', ['https://evil.example/v1.0/me', '//evil.example/x'])
def test_absolute_paths_are_refused(client, path):
    with pytest.raises(InvalidInputError):
        client.request('GET', path)


# -- retries -------------------------------------------------------------------------------------------------------

def test_429_waits_the_retry_after_seconds_then_succeeds(http, client, sleeper):
    http.add(responses.GET, GRAPH + '/organization', status=429, headers={'Retry-After': '7'},
             json=graph_error('TooManyRequests'))
    http.add(responses.GET, GRAPH + '/organization', json={'ok': True})
    assert client.request('GET', 'organization').json == {'ok': True}
    assert sleeper.delays == [7.0]


def test_503_honours_retry_after_as_http_date(http, client, sleeper):
    http.add(responses.GET, GRAPH + '/organization', status=503,
             headers={'Retry-After': formatdate(__import__('time').time() + 30, usegmt=True)})
    http.add(responses.GET, GRAPH + '/organization', json={})
    client.request('GET', 'organization')
    assert 28 <= sleeper.delays[0] <= 30


def test_without_retry_after_backoff_grows_exponentially(http, client, sleeper):
    for attempt in range(3):
        http.add(responses.GET, GRAPH + '/organization', status=503)
    http.add(responses.GET, GRAPH + '/organization', json={})
    client.request('GET', 'organization')
    assert sleeper.delays == [1.0, 2.0, 4.0]


def test_504_on_get_is_retried(http, client):
    http.add(responses.GET, GRAPH + '/organization', status=504)
    http.add(responses.GET, GRAPH + '/organization', json={})
    assert client.request('GET', 'organization').status == 200


def test_504_on_post_means_outcome_unknown_and_is_not_repeated(http, client):
    http.add(responses.POST, ACTION, status=504, json=graph_error('GatewayTimeout'))
    with pytest.raises(OutcomeUnknownError) as caught:
        client.request('POST', ACTION_PATH, body={'credentials': []})
    assert len(http.calls) == 1
    assert caught.value.status == 504
    assert 'unknown whether it took effect' in caught.value.message


def test_concurrency_violation_is_retried(http, client):
    http.add(responses.PUT, GRAPH + '/servicePrincipals/%s/synchronization/secrets' % SP_ID, status=409,
             json=graph_error('Directory_ConcurrencyViolation'))
    http.add(responses.PUT, GRAPH + '/servicePrincipals/%s/synchronization/secrets' % SP_ID, status=204)
    assert client.request('PUT', 'servicePrincipals/%s/synchronization/secrets' % SP_ID, body={'value': []}).status \
        == 204


def test_other_conflicts_are_not_retried(http, client):
    http.add(responses.POST, GRAPH + '/applications', status=409, json=graph_error('Request_MultipleObjectsWithSameKeyValue'))
    with pytest.raises(EntraError) as caught:
        client.request('POST', 'applications', body={})
    assert len(http.calls) == 1 and caught.value.code == 'Request_MultipleObjectsWithSameKeyValue'


def test_gives_up_after_all_attempts_with_the_last_answer(http, client, sleeper):
    http.add(responses.GET, GRAPH + '/organization', status=429, headers={'Retry-After': '1'},
             json=graph_error('TooManyRequests', 'Slow down.', request_id='req-last'))
    with pytest.raises(RetriesExhaustedError) as caught:
        client.request('GET', 'organization')
    error = caught.value
    assert len(http.calls) == 4 and len(sleeper.delays) == 3
    assert error.message == ('GET /v1.0/organization: gave up after 4 attempts, failed with HTTP 429 TooManyRequests: '
                             'Slow down.')
    assert (error.status, error.code, error.request_id) == (429, 'TooManyRequests', 'req-last')


def test_retry_after_beyond_the_limit_gives_up_at_once(http, client, sleeper):
    http.add(responses.GET, GRAPH + '/organization', status=429, headers={'Retry-After': '3600'})
    with pytest.raises(RetriesExhaustedError) as caught:
        client.request('GET', 'organization')
    assert sleeper.delays == [] and 'asked to wait 3600 seconds' in caught.value.message


def test_connect_failure_is_retried_even_for_post(http, client):
    http.add(responses.POST, ACTION, body=connect_refused())
    http.add(responses.POST, ACTION, status=204)
    assert client.request('POST', ACTION_PATH, body={'credentials': []}).status == 204
    assert len(http.calls) == 2


def test_connection_lost_after_post_was_sent_means_outcome_unknown(http, client):
    http.add(responses.POST, ACTION, body=lost_after_send())
    with pytest.raises(OutcomeUnknownError) as caught:
        client.request('POST', ACTION_PATH, body={'credentials': []})
    assert len(http.calls) == 1
    assert 'lost after the request was sent' in caught.value.message
    assert "Check the object's state before sending it again" in caught.value.message


def test_read_timeout_after_post_means_outcome_unknown(http, client):
    http.add(responses.POST, ACTION, body=requests.exceptions.ReadTimeout('read timed out'))
    with pytest.raises(OutcomeUnknownError):
        client.request('POST', ACTION_PATH, body={'credentials': []})


def test_connection_lost_on_get_is_retried(http, client):
    http.add(responses.GET, GRAPH + '/organization', body=lost_after_send())
    http.add(responses.GET, GRAPH + '/organization', json={})
    assert client.request('GET', 'organization').status == 200


def test_post_declared_idempotent_is_retried_after_lost_connection(http, client):
    url = GRAPH + '/servicePrincipals/%s/synchronization/jobs/j/validateCredentials' % SP_ID
    http.add(responses.POST, url, body=lost_after_send())
    http.add(responses.POST, url, status=204)
    assert client.request('POST', url[len(GRAPH) + 1:], body={}, idempotent=True).status == 204


def test_connect_failures_give_up_after_all_attempts(http, client):
    http.add(responses.GET, GRAPH + '/organization', body=connect_refused())
    with pytest.raises(RetriesExhaustedError) as caught:
        client.request('GET', 'organization')
    assert caught.value.message.startswith('GET /v1.0/organization: gave up after 4 attempts: could not reach '
                                           'graph.microsoft.com')


def test_tls_failure_is_not_retried_and_points_at_ca_path(http, client):
    http.add(responses.GET, GRAPH + '/organization', body=requests.exceptions.SSLError('certificate verify failed'))
    with pytest.raises(EntraError) as caught:
        client.request('GET', 'organization')
    assert len(http.calls) == 1 and 'ca_path' in caught.value.message


# -- errors --------------------------------------------------------------------------------------------------------

def test_graph_error_becomes_entra_error_with_its_fields(http, client):
    http.add(responses.GET, GRAPH + '/servicePrincipals/' + SP_ID, status=404,
             json=graph_error('Request_ResourceNotFound', "Resource '%s' does not exist." % SP_ID, 'req-404'))
    with pytest.raises(EntraError) as caught:
        client.request('GET', 'servicePrincipals/' + SP_ID)
    assert caught.value.to_dict() == {
        'message': "GET /v1.0/servicePrincipals/%s failed with HTTP 404 Request_ResourceNotFound: Resource '%s' does "
                   "not exist. The object was not found; a newly created object can take a minute to become "
                   "visible." % (SP_ID, SP_ID),
        'status': 404, 'code': 'Request_ResourceNotFound', 'request_id': 'req-404', 'client_request_id': 'creq-1',
        'date': '2026-01-01T00:00:00'}


def test_ids_come_from_headers_when_the_body_has_none(http, client):
    http.add(responses.GET, GRAPH + '/organization', status=500, body='<html>oops</html>',
             headers={'request-id': 'hdr-req', 'client-request-id': 'hdr-creq', 'Date': 'Thu, 01 Jan 2026 00:00:00 GMT'})
    with pytest.raises(EntraError) as caught:
        client.request('GET', 'organization')
    assert (caught.value.request_id, caught.value.client_request_id, caught.value.date) == (
        'hdr-req', 'hdr-creq', 'Thu, 01 Jan 2026 00:00:00 GMT')


def test_forbidden_says_to_check_permissions(http, client):
    http.add(responses.POST, ACTION, status=403, json=graph_error('Authorization_RequestDenied', 'Insufficient '
                                                                  'privileges to complete the operation.'))
    with pytest.raises(EntraError) as caught:
        client.request('POST', ACTION_PATH, body={})
    assert 'check its API permissions' in caught.value.message


def test_errors_never_carry_the_bearer_token(http, client):
    token = client.authenticator.get_token()
    http.add(responses.GET, GRAPH + '/organization', status=400,
             json=graph_error('Request_BadRequest', 'Header Authorization: Bearer %s is odd' % token))
    with pytest.raises(EntraError) as caught:
        client.request('GET', 'organization')
    assert token not in str(caught.value.to_dict())
    assert MASK in caught.value.message


# -- token refresh on 401 ------------------------------------------------------------------------------------------

@pytest.fixture
def secret_client(entra, retry_policy):
    entra.openid_configuration('https://login.microsoftonline.com', TENANT_ID)
    entra.token_endpoint('https://login.microsoftonline.com', TENANT_ID)
    return make_client(app_options(client_secret=CLIENT_SECRET), retry_policy=retry_policy)


def test_invalid_token_401_fetches_a_new_token_and_retries_once(http, entra, secret_client):
    expired = graph_error('InvalidAuthenticationToken', 'Access token has expired.')
    http.add(responses.GET, GRAPH + '/organization', status=401, json=expired)
    http.add(responses.GET, GRAPH + '/organization', json={})
    assert secret_client.request('GET', 'organization').status == 200
    graph_calls = [call for call in http.calls if call.request.url.startswith(GRAPH)]
    assert [call.request.headers['Authorization'] for call in graph_calls] == [
        'Bearer ' + entra.issued[0], 'Bearer ' + entra.issued[1]]
    assert secret_client.counters['token_refreshes_after_401'] == 1


def test_second_invalid_token_401_fails_with_advice(http, entra, secret_client):
    http.add(responses.GET, GRAPH + '/organization', status=401, json=graph_error('InvalidAuthenticationToken'))
    with pytest.raises(AuthenticationError) as caught:
        secret_client.request('GET', 'organization')
    assert len(entra.issued) == 2
    assert 'check that cloud (global) is the cloud of the tenant' in caught.value.message


def test_given_access_token_refused_is_not_refreshed(http, client):
    http.add(responses.GET, GRAPH + '/organization', status=401, json=graph_error('InvalidAuthenticationToken'))
    with pytest.raises(AuthenticationError) as caught:
        client.request('GET', 'organization')
    assert len(http.calls) == 1
    assert 'cannot be refreshed' in caught.value.message


SYNC_JOBS = '/servicePrincipals/%s/synchronization/jobs' % ('1' * 8 + '-1111-4111-8111-' + '1' * 12)


def test_unknown_error_401_on_a_synchronization_call_is_a_permission_answer_not_a_token_one(http, entra, secret_client):
    # Graph's answer to a fresh token whose identity lacks Synchronization.*: 401 UnknownError, empty message.
    http.add(responses.GET, GRAPH + SYNC_JOBS, status=401, json=graph_error('UnknownError', ''))
    with pytest.raises(EntraError) as caught:
        secret_client.request('GET', SYNC_JOBS)
    assert not isinstance(caught.value, AuthenticationError)
    assert caught.value.status == 401 and 'cloud' not in caught.value.message
    assert synchronization_permission_advice(caught.value).startswith('Grant the identity Synchronization.ReadWrite.All')
    assert len(entra.issued) == 1


def test_unknown_error_401_outside_synchronization_keeps_the_token_advice(http, entra, secret_client):
    http.add(responses.GET, GRAPH + '/organization', status=401, json=graph_error('UnknownError', ''))
    with pytest.raises(AuthenticationError) as caught:
        secret_client.request('GET', 'organization')
    assert 'check that cloud (global) is the cloud of the tenant' in caught.value.message


def test_invalid_token_401_on_a_synchronization_call_is_still_a_token_problem(http, entra, secret_client):
    http.add(responses.GET, GRAPH + SYNC_JOBS, status=401, json=graph_error('InvalidAuthenticationToken'))
    with pytest.raises(AuthenticationError) as caught:
        secret_client.request('GET', SYNC_JOBS)
    assert synchronization_permission_advice(caught.value) is None
    assert len(entra.issued) == 2


# -- paging --------------------------------------------------------------------------------------------------------

def test_get_all_follows_next_links_in_order(http, client):
    http.add(responses.GET, GRAPH + '/servicePrincipals', json={
        'value': [1, 2], '@odata.nextLink': GRAPH + '/servicePrincipals?$skiptoken=a'})
    http.add(responses.GET, GRAPH + '/servicePrincipals?$skiptoken=a', json={
        'value': [3], '@odata.nextLink': GRAPH + '/servicePrincipals?$skiptoken=b'})
    http.add(responses.GET, GRAPH + '/servicePrincipals?$skiptoken=b', json={'value': [4, 5]})
    assert client.get_all('servicePrincipals') == [1, 2, 3, 4, 5]
    assert all(call.request.headers['Authorization'].startswith('Bearer ') for call in http.calls)


def test_next_link_page_is_retried_when_throttled(http, client):
    http.add(responses.GET, GRAPH + '/groups', json={'value': [1], '@odata.nextLink': GRAPH + '/groups?page=2'})
    http.add(responses.GET, GRAPH + '/groups?page=2', status=429, headers={'Retry-After': '1'})
    http.add(responses.GET, GRAPH + '/groups?page=2', json={'value': [2]})
    assert client.get_all('groups') == [1, 2]


@pytest.mark.parametrize('link', [
    'https://evil.example/v1.0/servicePrincipals?$skiptoken=a',
    'http://graph.microsoft.com/v1.0/servicePrincipals?$skiptoken=a',
    'https://graph.microsoft.com:8443/v1.0/servicePrincipals?$skiptoken=a',
    'https://graph.microsoft.us/v1.0/servicePrincipals?$skiptoken=a',
])
def test_next_link_to_another_host_is_refused(http, client, link):
    http.add(responses.GET, GRAPH + '/servicePrincipals', json={'value': [1], '@odata.nextLink': link})
    with pytest.raises(EntraError) as caught:
        client.get_all('servicePrincipals')
    assert len(http.calls) == 1
    assert 'Refusing to follow @odata.nextLink' in caught.value.message


def test_next_link_outside_the_configured_base_path_is_refused(http, retry_policy):
    client = make_client({'access_token': graph_token(), 'graph_endpoint': 'https://127.0.0.1:8443/graph'},
                         retry_policy=retry_policy)
    http.add(responses.GET, 'https://127.0.0.1:8443/graph/v1.0/groups',
             json={'value': [], '@odata.nextLink': 'https://127.0.0.1:8443/other/v1.0/groups?page=2'})
    with pytest.raises(EntraError):
        client.get_all('groups')


def test_next_link_on_the_clouds_own_graph_is_followed_through_the_custom_endpoint(http, retry_policy):
    # Graph writes next links on its own host, also for a client behind a proxy or a private endpoint.
    client = make_client({'access_token': graph_token(), 'graph_endpoint': 'https://proxy.contoso.example/graph'},
                         retry_policy=retry_policy)
    http.add(responses.GET, 'https://proxy.contoso.example/graph/v1.0/groups',
             json={'value': [1], '@odata.nextLink': 'https://graph.microsoft.com/v1.0/groups?$skiptoken=a%2Bb'})
    http.add(responses.GET, 'https://proxy.contoso.example/graph/v1.0/groups?$skiptoken=a%2Bb', json={'value': [2]})
    assert client.get_all('groups') == [1, 2]
    assert [call.request.url for call in http.calls][-1] == (
        'https://proxy.contoso.example/graph/v1.0/groups?$skiptoken=a%2Bb')


def test_next_link_on_a_custom_graph_endpoint_is_followed(http, retry_policy):
    client = make_client({'access_token': graph_token(), 'graph_endpoint': 'https://127.0.0.1:8443'},
                         retry_policy=retry_policy)
    http.add(responses.GET, 'https://127.0.0.1:8443/v1.0/groups',
             json={'value': [1], '@odata.nextLink': 'https://127.0.0.1:8443/v1.0/groups?page=2'})
    http.add(responses.GET, 'https://127.0.0.1:8443/v1.0/groups?page=2', json={'value': [2]})
    assert client.get_all('groups') == [1, 2]


# -- redirects, http to a TLS port, timeouts, answers to calls that carry secrets --------------------------------

@pytest.mark.parametrize('status', [307, 308])
def test_a_redirected_acquire_is_not_sent_again_anywhere(http, client, status):
    http.add(responses.POST, ACTION, status=status, headers={'Location': 'http://collector.example/x'})
    with pytest.raises(EntraError) as caught:
        client.request('POST', ACTION_PATH, body={'credentials': [{'key': 'SecretToken', 'value': 'canary-307'}]})
    assert len(http.calls) == 1
    assert 'redirect to http://collector.example/x' in caught.value.message


def test_a_redirect_is_not_retried(http, retry_policy):
    client = make_client(retry_policy=retry_policy)
    http.add(responses.GET, GRAPH + '/organization', status=307, headers={'Location': 'https://other.example/'})
    with pytest.raises(EntraError):
        client.request('GET', 'organization')
    assert len(http.calls) == 1


def test_http_to_a_port_that_speaks_tls_says_use_https_without_retrying(http, monkeypatch, retry_policy):
    endpoint = 'http://127.0.0.1:8443'
    monkeypatch.setattr(_graph_client, '_speaks_tls', lambda parts, timeout: parts.port == 8443)
    client = make_client({'access_token': graph_token(), 'graph_endpoint': endpoint}, retry_policy=retry_policy)
    http.add(responses.GET, endpoint + '/v1.0/organization', body=lost_after_send())
    with pytest.raises(InvalidInputError) as caught:
        client.request('GET', 'organization')
    assert len(http.calls) == 1
    assert '127.0.0.1:8443 speaks TLS' in caught.value.message and 'use https://127.0.0.1:8443' in caught.value.message


def test_the_tls_probe_completes_a_handshake_only_with_a_tls_listener():
    plain = socket.socket()
    plain.bind(('127.0.0.1', 0))
    plain.listen(1)
    try:
        port = plain.getsockname()[1]
        # a listener that never answers the ClientHello: the probe gives up after its timeout
        assert _graph_client._speaks_tls(urlsplit('http://127.0.0.1:%d' % port), 0.2) is False
    finally:
        plain.close()
    assert _graph_client._speaks_tls(urlsplit('http://127.0.0.1:%d' % port), 0.2) is False


def test_a_read_timeout_names_the_timeout_option(http, retry_policy):
    client = make_client({'access_token': graph_token(), 'timeout': 7}, retry_policy=retry_policy)
    http.add(responses.GET, GRAPH + '/organization', body=requests.exceptions.ReadTimeout('read timed out'))
    with pytest.raises(RetriesExhaustedError) as caught:
        client.request('GET', 'organization')
    assert 'no answer within timeout=7 seconds' in caught.value.message
    assert 'could not reach' not in caught.value.message


def test_a_read_timeout_after_a_post_is_an_unknown_outcome_naming_the_timeout(http, client):
    http.add(responses.POST, ACTION, body=requests.exceptions.ReadTimeout('read timed out'))
    with pytest.raises(OutcomeUnknownError) as caught:
        client.request('POST', ACTION_PATH, body={'credentials': []})
    assert len(http.calls) == 1 and 'within timeout=30 seconds' in caught.value.message


def test_an_answer_to_a_call_carrying_credentials_keeps_code_status_and_ids_but_not_graphs_text(http, client):
    echoed = 'the value c2VjcmV0LWVjaG8= is not valid'
    http.add(responses.POST, ACTION, status=400, json=graph_error('InvalidCredentials', echoed, request_id='r-7'))
    with pytest.raises(EntraError) as caught:
        client.request('POST', ACTION_PATH, body={'credentials': []}, carries_credentials=True)
    error = caught.value
    assert (error.status, error.code, error.request_id) == (400, 'InvalidCredentials', 'r-7')
    assert 'c2VjcmV0LWVjaG8' not in error.message and 'HTTP 400 InvalidCredentials' in error.message


def test_without_server_text_keeps_only_the_code_and_ids():
    body = graph_error('X', 'secret text', request_id='r-1')
    assert _graph_client.without_server_text(body) == {'error': {'code': 'X', 'innerError': {
        'request-id': 'r-1', 'client-request-id': 'creq-1', 'date': '2026-01-01T00:00:00'}}}
    assert _graph_client.without_server_text('not json') is None
