# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import random
import threading
import time
from http.client import RemoteDisconnected

import pytest
import requests
import responses
from urllib3.exceptions import ProtocolError

from ansible_collections.entra.provisioning.plugins.module_utils._errors import (
    EntraError,
    InvalidInputError,
    OutcomeUnknownError,
    RetriesExhaustedError,
)
from ansible_collections.entra.provisioning.plugins.module_utils._graph.batch import BatchRequest
from ansible_collections.entra.provisioning.plugins.module_utils._graph.retry import RetryPolicy
from ansible_collections.entra.provisioning.plugins.module_utils._graph.throttle import Throttle
from ansible_collections.entra.provisioning.tests.unit.plugins.module_utils.helpers import FakeClock, make_client

BATCH_URL = 'https://graph.microsoft.com/v1.0/$batch'


class FakeBatchEndpoint(object):
    """Answers $batch envelopes through ``decide(item, seen_count) -> (status, headers, body)``, shuffled."""

    def __init__(self, http, decide=None, delay=0.0):
        self.envelopes = []
        self.seen = {}
        self.decide = decide or (lambda item, seen: (200, {}, {'url': item['url']}))
        self.delay = delay
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()
        http.add_callback(responses.POST, BATCH_URL, callback=self._answer)

    def _answer(self, request):
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            time.sleep(self.delay)
            envelope = json.loads(request.body)
            with self._lock:
                self.envelopes.append(envelope)
            answers = []
            for item in envelope['requests']:
                key = item['url']
                with self._lock:
                    self.seen[key] = self.seen.get(key, 0) + 1
                    count = self.seen[key]
                status, headers, body = self.decide(item, count)
                answer = {'id': item['id'], 'status': status, 'headers': headers}
                if body is not None:
                    answer['body'] = body
                answers.append(answer)
            random.Random(len(self.envelopes)).shuffle(answers)
            return 200, {'request-id': 'envelope-req', 'client-request-id': 'envelope-creq'}, json.dumps(
                {'responses': answers})
        finally:
            with self._lock:
                self.in_flight -= 1


def gets(count):
    return [BatchRequest('GET', '/servicePrincipals/%d' % index) for index in range(count)]


@pytest.fixture
def client(retry_policy):
    return make_client(retry_policy=retry_policy)


def test_requests_are_split_into_envelopes_of_at_most_twenty(http, client):
    endpoint = FakeBatchEndpoint(http)
    client.batch(gets(45))
    assert sorted(len(envelope['requests']) for envelope in endpoint.envelopes) == [5, 20, 20]


def test_results_come_back_in_input_order_whatever_the_answer_order(http, client):
    FakeBatchEndpoint(http)
    results = client.batch(gets(45))
    assert [result.body['url'] for result in results] == ['/servicePrincipals/%d' % index for index in range(45)]
    assert all(result.ok and result.status == 200 and result.attempts == 1 for result in results)


def test_item_ids_are_unique_within_each_envelope(http, client):
    endpoint = FakeBatchEndpoint(http)
    client.batch(gets(45))
    for envelope in endpoint.envelopes:
        ids = [item['id'] for item in envelope['requests']]
        assert len(ids) == len(set(ids))


def test_post_items_carry_body_and_content_type(http, client):
    endpoint = FakeBatchEndpoint(http, decide=lambda item, seen: (204, {}, None))
    body = {'credentials': [{'key': 'SecretToken', 'value': 'v'}]}
    results = client.batch([BatchRequest('POST', '/servicePrincipals/x/synchronization/acquireAccessToken', body)])
    item = endpoint.envelopes[0]['requests'][0]
    assert item == {'id': '0', 'method': 'POST', 'url': '/servicePrincipals/x/synchronization/acquireAccessToken',
                    'body': body, 'headers': {'Content-Type': 'application/json'}}
    assert results[0].ok and results[0].status == 204


def test_only_throttled_items_are_sent_again_after_the_longest_retry_after(http, monkeypatch):
    client, delays = client_on_a_clock(monkeypatch, FakeClock(100.0))
    throttled = {'/servicePrincipals/3': '2', '/servicePrincipals/27': '5'}

    def decide(item, seen):
        if item['url'] in throttled and seen == 1:
            return 429, {'Retry-After': throttled[item['url']]}, {'error': {'code': 'TooManyRequests'}}
        return 200, {}, {'url': item['url']}

    endpoint = FakeBatchEndpoint(http, decide)
    results = client.batch(gets(30))
    assert [len(envelope['requests']) for envelope in endpoint.envelopes[2:]] == [2]
    assert sorted(item['url'] for item in endpoint.envelopes[2]['requests']) == sorted(throttled)
    # the second envelope waited for the tenant the 2 s the first answer named; the retries, the 5 s of the second
    assert delays == [2.0, 5.0]
    assert all(result.ok for result in results)
    assert [results[3].attempts, results[27].attempts, results[4].attempts] == [2, 2, 1]


def test_transient_and_concurrency_items_are_retried(http, client):
    def decide(item, seen):
        if seen == 1 and item['url'].endswith('/1'):
            return 503, {}, None
        if seen == 1 and item['url'].endswith('/2'):
            return 409, {}, {'error': {'code': 'Directory_ConcurrencyViolation'}}
        return 200, {}, {'url': item['url']}

    FakeBatchEndpoint(http, decide)
    results = client.batch(gets(3))
    assert [result.ok for result in results] == [True, True, True]
    assert [result.attempts for result in results] == [1, 2, 2]


def test_item_throttled_on_every_attempt_gives_up_alone(http, client):
    def decide(item, seen):
        if item['url'].endswith('/1'):
            return 429, {'Retry-After': '1'}, {'error': {'code': 'TooManyRequests', 'message': 'Slow down.'}}
        return 200, {}, {'url': item['url']}

    FakeBatchEndpoint(http, decide)
    results = client.batch(gets(3))
    assert results[0].ok and results[2].ok
    error = results[1].error
    assert isinstance(error, RetriesExhaustedError)
    assert error.message == ('GET /servicePrincipals/1: gave up after 4 attempts, failed with HTTP 429 '
                             'TooManyRequests: Slow down.')
    assert results[1].attempts == 4 and results[1].status == 429


def test_gateway_timeout_on_a_post_item_is_outcome_unknown_and_not_repeated(http, client):
    endpoint = FakeBatchEndpoint(http, decide=lambda item, seen: (504, {}, None))
    results = client.batch([BatchRequest('POST', '/servicePrincipals/x/synchronization/acquireAccessToken', {})])
    # Known before the error is read: an engine asks outcome_unknown to tell "refused" from "may have run".
    assert results[0].outcome_unknown
    assert isinstance(results[0].error, OutcomeUnknownError)
    assert len(endpoint.envelopes) == 1


def test_failed_item_keeps_its_status_and_graph_error(http, client):
    def decide(item, seen):
        if item['url'].endswith('/0'):
            return 404, {}, {'error': {'code': 'Request_ResourceNotFound', 'message': 'Gone.'}}
        return 200, {}, {'url': item['url']}

    FakeBatchEndpoint(http, decide)
    results = client.batch(gets(2))
    failed = results[0]
    assert not failed.ok and failed.status == 404
    assert failed.error.code == 'Request_ResourceNotFound'
    # items seldom carry ids of their own: the envelope's identify the call
    assert failed.error.request_id == 'envelope-req'
    assert results[1].ok


def test_envelope_failure_fails_each_of_its_items(http, client):
    http.add(responses.POST, BATCH_URL, status=403, json={'error': {'code': 'Authorization_RequestDenied',
                                                                    'message': 'Insufficient privileges.'}})
    results = client.batch(gets(2))
    assert all(result.error.code == 'Authorization_RequestDenied' for result in results)


def test_lost_envelope_retries_safe_items_and_reports_posts_as_unknown(http, client):
    http.add(responses.POST, BATCH_URL, body=requests.exceptions.ConnectionError(
        ProtocolError('Connection aborted.', RemoteDisconnected('closed'))))
    endpoint = FakeBatchEndpoint(http)
    batch = [BatchRequest('GET', '/servicePrincipals/0'),
             BatchRequest('POST', '/servicePrincipals/x/synchronization/acquireAccessToken', {})]
    results = client.batch(batch)
    assert results[0].ok and results[0].attempts == 2
    assert isinstance(results[1].error, OutcomeUnknownError)
    assert [item['url'] for item in endpoint.envelopes[0]['requests']] == ['/servicePrincipals/0']


def test_item_missing_from_the_answer_is_retried_when_safe(http, client):
    def answer(request):
        envelope = json.loads(request.body)
        first = envelope['requests'][0]
        return 200, {}, json.dumps({'responses': [{'id': first['id'], 'status': 200, 'body': {}}]})

    http.add_callback(responses.POST, BATCH_URL, callback=answer)
    results = client.batch([BatchRequest('GET', '/a'), BatchRequest('POST', '/b/acquireAccessToken', {}),
                            BatchRequest('GET', '/c')])
    assert results[0].ok
    assert isinstance(results[1].error, OutcomeUnknownError)
    assert results[2].ok and results[2].attempts == 2


def test_envelopes_in_flight_are_bounded_by_max_concurrency(http, retry_policy):
    client = make_client(retry_policy=retry_policy, max_concurrency=2)
    endpoint = FakeBatchEndpoint(http, delay=0.05)
    client.batch(gets(100))
    assert len(endpoint.envelopes) == 5
    assert endpoint.most_in_flight == 2


def test_envelopes_run_concurrently_up_to_the_limit(http, client):
    endpoint = FakeBatchEndpoint(http, delay=0.05)
    client.batch(gets(100), max_concurrency=5)
    assert endpoint.most_in_flight > 1


def test_no_requests_means_no_envelope(http, client):
    assert client.batch([]) == []
    assert len(http.calls) == 0


@pytest.mark.parametrize('url', ['https://evil.example/x', 'servicePrincipals', '//evil.example/x', '/a b',
                                 '/a\r\nHost: evil'])
def test_batch_request_url_must_be_relative_to_the_version_root(url):
    with pytest.raises(InvalidInputError):
        BatchRequest('GET', url)


def test_error_bodies_are_redacted_in_results(http, client):
    client.authenticator.get_token()
    secret = 'Oauth2Secret-' + 'abcdefgh'
    from ansible_collections.entra.provisioning.plugins.module_utils._redact import register_secret
    register_secret(secret)
    refusal = {'error': {'code': 'Request_BadRequest', 'message': 'bad %s' % secret}}
    FakeBatchEndpoint(http, decide=lambda item, seen: (400, {}, refusal))
    result = client.batch(gets(1))[0]
    assert secret not in json.dumps(result.body) and secret not in result.error.message
    assert isinstance(result.error, EntraError)


def test_a_refused_items_error_is_built_and_its_answer_masked_only_when_read(http, client, monkeypatch):
    from ansible_collections.entra.provisioning.plugins.module_utils._graph import batch as _batch
    from ansible_collections.entra.provisioning.plugins.module_utils._redact import register_secret
    built = []
    build = _batch.error_from_answer

    def counting_error_from_answer(*arguments):
        built.append(arguments[0])
        return build(*arguments)

    monkeypatch.setattr(_batch, 'error_from_answer', counting_error_from_answer)
    client.authenticator.get_token()
    secret = 'Oauth2Secret-' + 'ijklmnop'
    register_secret(secret)
    refusal = {'error': {'code': 'Request_BadRequest', 'message': 'bad %s' % secret}}
    FakeBatchEndpoint(http, decide=lambda item, seen: (400, {'x-echo': secret}, refusal))
    result = client.batch(gets(2))[0]
    # The status is all an engine needs to read "not accepted": no error is built for it.
    assert (result.status, result.ok, result.outcome_unknown, built) == (400, False, False, [])
    assert secret not in json.dumps(result.body) and secret not in json.dumps(result.headers)
    assert result.error is result.error and secret not in result.error.message
    assert built == ['GET /servicePrincipals/0']


class TenantBudget(object):
    """A tenant's limit as Graph applies it to $batch items: a bucket of ``burst`` requests refilled at ``rate``."""

    def __init__(self, clock, rate, burst):
        self.clock = clock
        self.rate = rate
        self.tokens = float(burst)
        self.burst = burst
        self.refilled_at = clock()
        self.refused = 0

    def decide(self, item, seen):
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.refilled_at) * self.rate)
        self.refilled_at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 200, {}, {'url': item['url']}
        self.refused += 1
        return 429, {'Retry-After': '1'}, {'error': {'code': 'TooManyRequests'}}


def client_on_a_clock(monkeypatch, clock):
    """A client whose throttle, $batch runner and sleep share ``clock`` (sleeping advances it), sending its envelopes
    one after the other; returns the client and the list of its sleeps."""
    from ansible_collections.entra.provisioning.plugins.module_utils._graph import batch as _batch

    delays = []

    def sleep(seconds):
        delays.append(seconds)
        clock.advance(seconds)

    monkeypatch.setattr(_batch, '_clock', clock)
    monkeypatch.setattr(_batch, 'run_in_threads', lambda send, envelopes, workers: [send(one) for one in envelopes])
    client = make_client(retry_policy=RetryPolicy(3, sleep=sleep, random_fraction=lambda: 1.0))
    client.throttle = Throttle('test tenant', clock=clock, wall_clock=clock)
    return client, delays


def test_a_tenant_at_its_cap_refuses_one_envelope_then_the_rest_go_at_its_pace(http, monkeypatch):
    clock = FakeClock(100.0)
    client, delays = client_on_a_clock(monkeypatch, clock)
    tenant = TenantBudget(clock, rate=20, burst=20)
    FakeBatchEndpoint(http, tenant.decide)
    results = client.batch(gets(100))
    assert all(result.ok for result in results)
    # the second envelope found the budget spent; after the wait Graph named, nothing more was refused
    assert tenant.refused == 20 and client.throttle.throttled_answers == 20
    assert delays[0] == 1.0
    # 20 accepted over the second the tenant asked to wait, a little less: 18 a second, plus 0.02 per accepted item
    assert client.throttle.rate == pytest.approx(18.0 + 0.02 * 80)


def test_a_wait_is_waited_once_by_whoever_meets_it_first(http, monkeypatch):
    clock = FakeClock(100.0)
    client, delays = client_on_a_clock(monkeypatch, clock)

    def decide(item, seen):
        if item['id'] in ('0', '20'):
            clock.advance(0.3)  # each envelope is answered 0.3 s after it left
        if seen == 1 and item['url'] == '/servicePrincipals/0':
            return 429, {'Retry-After': '1'}, {'error': {'code': 'TooManyRequests'}}
        return 200, {}, {'url': item['url']}

    endpoint = FakeBatchEndpoint(http, decide)
    results = client.batch(gets(30))
    # the second envelope waited for the tenant until 101.3 and was answered at 101.6: the retry of item 0, due at
    # 101.3, goes at once (Retry-After counts from the answer, not from the end of the round)
    assert delays == [1.0]
    assert [len(envelope['requests']) for envelope in endpoint.envelopes] == [20, 10, 1]
    assert all(result.ok for result in results)
