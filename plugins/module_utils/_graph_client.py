# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""The Microsoft Graph client every module and the role use: requests, retries, paging and $batch."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, urlencode, urlsplit

from ansible_collections.entra.provisioning.plugins.module_utils._authenticator import Authenticator
from ansible_collections.entra.provisioning.plugins.module_utils._connection_options import ConnectionOptions
from ansible_collections.entra.provisioning.plugins.module_utils._errors import (
    AuthenticationError,
    EntraError,
    InvalidInputError,
    MissingDependencyError,
    OutcomeUnknownError,
    RetriesExhaustedError,
)
from ansible_collections.entra.provisioning.plugins.module_utils._options import OptionResolver
from ansible_collections.entra.provisioning.plugins.module_utils._redact import redact_data, redact_headers
from ansible_collections.entra.provisioning.plugins.module_utils._retry import (
    AMBIGUOUS_STATUSES,
    RetryPolicy,
    is_retryable,
)
from ansible_collections.entra.provisioning.plugins.module_utils._session import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    TLS_ADVICE,
    build_session,
    is_tls_error,
)

try:
    import requests
    from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError
except ImportError:
    # build_graph_client refuses to run without requests; nothing below is reached then.
    pass

BATCH_LIMIT = 20
IDEMPOTENT_METHODS = frozenset(('GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'))
INVALID_TOKEN = 'InvalidAuthenticationToken'
# Characters left readable in query strings: OData needs $, quotes and parentheses, and Graph reads them as is.
_QUERY_SAFE = "$'(),:/"


def build_graph_client(option_adapter, environ=None, max_concurrency=None, retry_policy=None):
    """Build a ready ``GraphClient`` from options (an OptionAdapter), checking them without network traffic.

    ``environ`` replaces ``os.environ`` for the fallbacks; ``max_concurrency`` sizes the pool for $batch;
    ``retry_policy`` (a RetryPolicy) lets tests inject ``sleep``. Raises EntraError subclasses only.
    """
    if not HAS_REQUESTS:
        raise MissingDependencyError('The requests Python library is required; install requests on the host that '
                                     'runs the module.', library='requests', import_error=REQUESTS_IMPORT_ERROR)
    resolver = OptionResolver(option_adapter, environ=environ)
    settings = ConnectionOptions(resolver).settings(max_concurrency=max_concurrency)
    session = build_session(settings)
    retry_policy = retry_policy or RetryPolicy(settings.max_retries)
    authenticator = Authenticator(resolver, settings, session, retry_policy=retry_policy)
    authenticator.validate()
    return GraphClient(settings, authenticator, session, retry_policy=retry_policy)


class GraphResponse(object):
    """A successful Graph answer: ``status``, ``headers``, ``json`` (parsed body or None) and request ids."""

    def __init__(self, status, headers, json_body, request_id=None, client_request_id=None, date=None):
        self.status = status
        self.headers = headers
        self.json = json_body
        self.request_id = request_id
        self.client_request_id = client_request_id
        self.date = date


class BatchRequest(object):
    """One request to send inside ``$batch``.

    ``url`` is relative to the version root and starts with ``/`` (``/servicePrincipals/{id}/...``);
    ``idempotent`` defaults from the method (GET/PUT/DELETE yes, POST/PATCH no) and decides whether an item
    whose outcome is unknown may be sent again.
    """

    def __init__(self, method, url, body=None, headers=None, idempotent=None):
        method = str(method).upper()
        if not isinstance(url, str) or not url.startswith('/') or url.startswith('//') or '://' in url \
                or any(character in url for character in ' \r\n\t'):
            raise InvalidInputError('A $batch request url must be a path relative to the Graph version root, '
                                    'like /servicePrincipals/<id>, got %r.' % (url,))
        self.method = method
        self.url = url
        self.body = body
        self.headers = dict(headers or {})
        self.idempotent = method in IDEMPOTENT_METHODS if idempotent is None else bool(idempotent)

    def to_item(self, item_id):
        """Return this request as a $batch item with ``item_id``."""
        item = {'id': item_id, 'method': self.method, 'url': self.url}
        headers = dict(self.headers)
        if self.body is not None:
            item['body'] = self.body
            headers.setdefault('Content-Type', 'application/json')
        if headers:
            item['headers'] = headers
        return item


class BatchResult(object):
    """The outcome of one BatchRequest: ``status``, ``headers``, ``body``, ``error`` (EntraError or None)."""

    def __init__(self, request, status=None, headers=None, body=None, error=None, attempts=0):
        self.request = request
        self.status = status
        self.headers = headers or {}
        self.body = body
        self.error = error
        self.attempts = attempts

    @property
    def ok(self):
        """True for a 2xx answer."""
        return self.error is None and self.status is not None and 200 <= self.status < 300


class GraphClient(object):
    """Sends requests to Microsoft Graph with one session, one token, retries, paging and $batch.

    Every failure is an EntraError (or subclass) whose texts are redacted; nothing here calls fail_json.
    """

    def __init__(self, settings, authenticator, session, retry_policy=None, request_id_factory=None):
        self.settings = settings
        self.authenticator = authenticator
        self.session = session
        self.retry = retry_policy or RetryPolicy(settings.max_retries)
        self._new_request_id = request_id_factory or (lambda: str(uuid.uuid4()))
        self._counter_lock = threading.Lock()
        self.counters = {'requests': 0, 'retries': 0, 'token_refreshes_after_401': 0}

    @property
    def version_root(self):
        """The URL requests are relative to, e.g. ``https://graph.microsoft.us/v1.0``."""
        return '%s/%s' % (self.settings.graph_base_url, self.settings.api_version)

    def url_for(self, path, params=None):
        """Return the absolute URL of ``path`` (relative to the version root) with ``params`` encoded."""
        if not isinstance(path, str) or '://' in path or path.startswith('//'):
            raise InvalidInputError('A Graph path must be relative to the version root, got %r.' % (path,))
        url = '%s/%s' % (self.version_root, path.lstrip('/'))
        if params:
            # quote, not quote_plus: a + in a $filter value must stay a +
            url += '?' + urlencode(params, doseq=True, safe=_QUERY_SAFE, quote_via=quote)
        return url

    def request(self, method, path, body=None, params=None, headers=None, idempotent=None):
        """Send one request and return a GraphResponse for a 2xx answer; raise EntraError otherwise.

        ``idempotent`` defaults from the method; a POST that is safe to repeat (a read through POST) may say so.
        Throttling and transient answers are retried up to ``max_retries``; a connection lost after a
        non-idempotent request was sent raises OutcomeUnknownError instead of repeating it.
        """
        return self._send(method, self.url_for(path, params), body=body, headers=headers, idempotent=idempotent)

    def get_json(self, path, params=None):
        """GET ``path`` and return its JSON body."""
        return self.request('GET', path, params=params).json

    def iter_pages(self, path, params=None):
        """Yield each page (a dict) of a list, following ``@odata.nextLink`` on the Graph host only."""
        response = self.request('GET', path, params=params)
        while True:
            page = response.json or {}
            yield page
            next_link = page.get('@odata.nextLink')
            if not next_link:
                return
            self._refuse_foreign_link(next_link)
            response = self._send('GET', next_link, idempotent=True)

    def iter_items(self, path, params=None):
        """Yield every item of a list across all its pages."""
        for page in self.iter_pages(path, params=params):
            yield from page.get('value') or []

    def get_all(self, path, params=None):
        """Return every item of a list across all its pages."""
        return list(self.iter_items(path, params=params))

    def batch(self, batch_requests, max_concurrency=None):
        """Send any number of BatchRequests through ``$batch`` and return BatchResults in input order.

        Requests go in envelopes of at most 20, up to ``max_concurrency`` envelopes at a time (default from the
        settings). Items answered 429/503/504 or 409 Directory_ConcurrencyViolation are sent again, alone,
        after the longest Retry-After among them; the rest keep their first answer. After a round with such
        answers, the next round sends only as many items as the last round settled, so the retries do not
        hit the same limit all at once; the round size doubles again while nothing is refused.
        """
        batch_requests = list(batch_requests)
        results = [None] * len(batch_requests)
        attempts = [0] * len(batch_requests)
        workers = max_concurrency or self.settings.max_concurrency
        pending = list(range(len(batch_requests)))
        round_size = None
        while pending:
            sending, held = (pending, []) if round_size is None else (pending[:round_size], pending[round_size:])
            envelopes = [sending[start:start + BATCH_LIMIT] for start in range(0, len(sending), BATCH_LIMIT)]
            retry_delays = {}
            with ThreadPoolExecutor(max_workers=max(1, min(workers, len(envelopes)))) as pool:
                outcomes = list(pool.map(lambda indices: self._send_envelope(indices, batch_requests, attempts),
                                         envelopes))
            for outcome in outcomes:
                for index, (result, delay) in outcome.items():
                    if result is not None:
                        results[index] = result
                    else:
                        retry_delays[index] = delay
            if retry_delays:
                round_size = max(BATCH_LIMIT, len(sending) - len(retry_delays))
                with self._counter_lock:
                    self.counters['retries'] += len(retry_delays)
                self.retry.sleep(max(retry_delays.values()))
            elif round_size is not None:
                round_size *= 2
            # retried items go first: they have waited longest and hold the fewest attempts
            pending = sorted(retry_delays) + held
        return results

    def close(self):
        """Close the session's pooled connections."""
        self.session.close()

    # -- internals --------------------------------------------------------------------------------------------

    def _refuse_foreign_link(self, link):
        base = urlsplit(self.settings.graph_base_url)
        target = urlsplit(link)
        same_origin = (target.scheme.lower() == base.scheme.lower()
                       and target.netloc.lower() == base.netloc.lower()
                       and target.path.startswith(base.path + '/'))
        if not same_origin:
            raise EntraError('Refusing to follow @odata.nextLink to %s://%s: it is not the Graph endpoint %s, and the '
                             'request would carry the bearer token there.'
                             % (target.scheme, target.netloc, self.settings.graph_base_url))

    def _send(self, method, url, body=None, headers=None, idempotent=None):
        method = method.upper()
        idempotent = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        what = '%s %s' % (method, urlsplit(url).path)
        data = json.dumps(body) if body is not None else None
        attempt = 1
        refreshed = False
        while True:
            token = self.authenticator.get_token()
            request_headers = {
                'Authorization': 'Bearer ' + token,
                'Accept': 'application/json',
                'client-request-id': self._new_request_id(),
                'return-client-request-id': 'true',
            }
            if data is not None:
                request_headers['Content-Type'] = 'application/json'
            request_headers.update(headers or {})
            with self._counter_lock:
                self.counters['requests'] += 1
            try:
                response = self.session.request(method, url, data=data, headers=request_headers)
            except requests.exceptions.RequestException as exc:
                phase = _failure_phase(exc)
                host = urlsplit(url).netloc
                if phase == 'tls':
                    raise EntraError('%s: TLS connection to %s failed: %s %s' % (what, host, exc, TLS_ADVICE))
                if phase == 'sent' and not idempotent:
                    raise OutcomeUnknownError(
                        '%s: the connection to %s was lost after the request was sent (%s), so it is unknown '
                        'whether it took effect. Check the object\'s state before sending it again.'
                        % (what, host, exc.__class__.__name__))
                if not self.retry.can_retry(attempt):
                    raise RetriesExhaustedError('%s: gave up after %d attempts: could not reach %s: %s'
                                                % (what, attempt, host, exc))
                self._pause(self.retry.delay(attempt))
                attempt += 1
                continue

            status = response.status_code
            payload = _json_or_none(response)
            code = _error_code(payload)
            if 200 <= status < 300:
                return GraphResponse(status, response.headers, payload,
                                     request_id=response.headers.get('request-id'),
                                     client_request_id=response.headers.get('client-request-id'),
                                     date=response.headers.get('Date'))
            if status == 401 and code == INVALID_TOKEN and not refreshed:
                refreshed = True
                with self._counter_lock:
                    self.counters['token_refreshes_after_401'] += 1
                if self.authenticator.invalidate(token):
                    continue
            if is_retryable(status, code):
                error, delay = self._retry_or_give_up(what, status, response.headers, payload, idempotent, attempt)
                if error is not None:
                    raise error
                self._pause(delay)
                attempt += 1
                continue
            if status == 401:
                raise error_from_answer(what, status, response.headers, payload, AuthenticationError,
                                        advice=self._refused_token_advice())
            raise error_from_answer(what, status, response.headers, payload)

    def _retry_or_give_up(self, what, status, headers, payload, idempotent, attempt):
        """For a throttled or transient answer return (None, seconds to wait) or (the error to report, None)."""
        if status in AMBIGUOUS_STATUSES and not idempotent:
            return error_from_answer(what, status, headers, payload, OutcomeUnknownError,
                                     advice=_GATEWAY_TIMEOUT_ADVICE), None
        if not self.retry.can_retry(attempt):
            return error_from_answer(what, status, headers, payload, RetriesExhaustedError,
                                     prefix='gave up after %d attempts' % attempt), None
        delay = self.retry.delay(attempt, _header(headers, 'Retry-After'))
        if delay > self.retry.max_retry_after:
            return error_from_answer(what, status, headers, payload, RetriesExhaustedError,
                                     prefix='Graph asked to wait %d seconds, longer than %d; run again later'
                                            % (delay, self.retry.max_retry_after)), None
        return None, delay

    def _pause(self, delay):
        with self._counter_lock:
            self.counters['retries'] += 1
        self.retry.sleep(delay)

    def _refused_token_advice(self):
        if not self.authenticator.refreshable:
            return ('Graph refused the given access_token, which cannot be refreshed: get a new one for %s/.default '
                    'or use an auth_method that can refresh.' % self.settings.cloud.graph_root)
        return ('Graph refused the token of %s: check that cloud (%s) is the cloud of the tenant.'
                % (self.authenticator.describe_identity(), self.settings.cloud.name))

    def _send_envelope(self, indices, batch_requests, attempts):
        """Send one $batch envelope; return {index: (BatchResult, None) or (None, retry delay)}."""
        for index in indices:
            attempts[index] += 1
        items = [batch_requests[index].to_item(str(index)) for index in indices]
        all_idempotent = all(batch_requests[index].idempotent for index in indices)
        outcome = {}
        try:
            envelope = self._send('POST', self.url_for('$batch'), body={'requests': items},
                                  idempotent=all_idempotent)
        except OutcomeUnknownError as exc:
            # Only the items that are safe to repeat go again; the others may have run.
            for index in indices:
                outcome[index] = self._retry_or_fail(batch_requests, attempts, index, exc,
                                                     may_retry=batch_requests[index].idempotent)
            return outcome
        except EntraError as exc:
            for index in indices:
                outcome[index] = (self._result(batch_requests, attempts, index, error=exc), None)
            return outcome

        answers = {}
        for answer in (envelope.json or {}).get('responses') or []:
            answers[str(answer.get('id'))] = answer
        for index in indices:
            answer = answers.get(str(index))
            if answer is None:
                request = batch_requests[index]
                error_class = EntraError if request.idempotent else OutcomeUnknownError
                error = error_class('%s %s: the $batch answer had no item for this request.'
                                    % (request.method, request.url),
                                    request_id=envelope.request_id, client_request_id=envelope.client_request_id)
                outcome[index] = self._retry_or_fail(batch_requests, attempts, index, error,
                                                     may_retry=request.idempotent)
            else:
                outcome[index] = self._item_outcome(batch_requests, attempts, index, answer, envelope)
        return outcome

    def _retry_or_fail(self, batch_requests, attempts, index, error, may_retry):
        if may_retry and self.retry.can_retry(attempts[index]):
            return (None, self.retry.delay(attempts[index]))
        return (self._result(batch_requests, attempts, index, error=error), None)

    def _item_outcome(self, batch_requests, attempts, index, answer, envelope):
        request = batch_requests[index]
        attempt = attempts[index]
        what = '%s %s' % (request.method, request.url)
        status = _as_int(answer.get('status'))
        headers = answer.get('headers') or {}
        body = answer.get('body')
        code = _error_code(body)
        if status is not None and 200 <= status < 300:
            return (self._result(batch_requests, attempts, index, status=status, headers=headers, body=body), None)
        # items rarely carry their own ids; the envelope's identify the call to Microsoft support
        ids = {'request-id': envelope.request_id, 'client-request-id': envelope.client_request_id}
        ids.update(headers)
        if is_retryable(status, code):
            error, delay = self._retry_or_give_up(what, status, ids, body, request.idempotent, attempt)
            if error is None:
                return (None, delay)
        else:
            error = error_from_answer(what, status, ids, body)
        return (self._result(batch_requests, attempts, index, status=status, headers=headers, body=body,
                             error=error), None)

    @staticmethod
    def _result(batch_requests, attempts, index, status=None, headers=None, body=None, error=None):
        return BatchResult(batch_requests[index], status=status, headers=redact_headers(headers),
                           body=redact_data(body) if error is not None else body, error=error,
                           attempts=attempts[index])


def error_from_answer(what, status, headers, payload, error_class=EntraError, prefix=None, advice=None):
    """Build an EntraError from a Graph error answer: ``what`` failed with status, code and Graph's message.

    ``headers`` may be any mapping; ids come from the body's innerError first, then from the headers.
    """
    error = payload.get('error') if isinstance(payload, dict) else None
    error = error if isinstance(error, dict) else {}
    inner = error.get('innerError') or error.get('innererror') or {}
    inner = inner if isinstance(inner, dict) else {}
    code = error.get('code')
    detail = 'HTTP %s%s' % (status, ' %s' % code if code else '')
    if error.get('message'):
        detail += ': %s' % error['message'].rstrip('.')
    advice = advice or _STATUS_ADVICE.get(status)
    message = '%s%s failed with %s.%s' % (what, ': %s,' % prefix if prefix else '', detail,
                                          ' ' + advice if advice else '')
    return error_class(
        message,
        status=status,
        code=code,
        request_id=inner.get('request-id') or _header(headers, 'request-id'),
        client_request_id=inner.get('client-request-id') or _header(headers, 'client-request-id'),
        date=inner.get('date') or _header(headers, 'Date'),
    )


_GATEWAY_TIMEOUT_ADVICE = ('The gateway timed out after the request was sent, so it is unknown whether it took effect: '
                           'check the object\'s state before sending it again.')

_STATUS_ADVICE = {
    403: 'The identity lacks a Graph permission or directory role for this call: check its API permissions '
         '(with admin consent) and, for OwnedBy permissions, that it owns the object.',
    404: 'The object was not found; a newly created object can take a minute to become visible.',
}


def _failure_phase(exc):
    """Tell whether a requests failure happened before anything was sent ('connect'), in TLS, or after ('sent')."""
    if is_tls_error(exc):
        return 'tls'
    if isinstance(exc, (requests.exceptions.ConnectTimeout, requests.exceptions.ProxyError)):
        return 'connect'
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = exc.args[0] if exc.args else None
        if isinstance(reason, MaxRetryError):
            reason = reason.reason
        if isinstance(reason, (NewConnectionError, ConnectTimeoutError)):
            return 'connect'
    return 'sent'


def _json_or_none(response):
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _error_code(payload):
    if isinstance(payload, dict) and isinstance(payload.get('error'), dict):
        return payload['error'].get('code')
    return None


def _header(headers, name):
    if not headers:
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if str(key).lower() == wanted:
            return value
    return None


def _as_int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
