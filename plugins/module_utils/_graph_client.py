# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""The Microsoft Graph client every module and plugin uses: one request with retries, paging, and $batch (_batch.py)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import threading
import uuid
from urllib.parse import quote, urlencode, urlsplit

from ansible_collections.entra.provisioning.plugins.module_utils._batch import IDEMPOTENT_METHODS, BatchRunner
from ansible_collections.entra.provisioning.plugins.module_utils._errors import (
    AuthenticationError,
    EntraError,
    InvalidInputError,
    OutcomeUnknownError,
    RetriesExhaustedError,
)
from ansible_collections.entra.provisioning.plugins.module_utils._graph_errors import (
    GATEWAY_TIMEOUT_ADVICE,
    error_code,
    error_from_answer,
    header_value,
)
from ansible_collections.entra.provisioning.plugins.module_utils._retry import (
    AMBIGUOUS_STATUSES,
    RetryPolicy,
    is_retryable,
)
from ansible_collections.entra.provisioning.plugins.module_utils._session import TLS_ADVICE, is_tls_error

try:
    import requests
    from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError
except ImportError:
    # build_graph_client refuses to run without requests; nothing below is reached then.
    pass

INVALID_TOKEN = 'InvalidAuthenticationToken'
# Characters left readable in query strings: OData needs $, quotes and parentheses, and Graph reads them as is.
_QUERY_SAFE = "$'(),:/"


class GraphResponse(object):
    """A successful Graph answer: ``status``, ``headers``, ``json`` (parsed body or None) and request ids."""

    def __init__(self, status, headers, json_body, request_id=None, client_request_id=None, date=None):
        self.status = status
        self.headers = headers
        self.json = json_body
        self.request_id = request_id
        self.client_request_id = client_request_id
        self.date = date


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

        ``max_concurrency`` envelopes go at a time (default from the settings); see BatchRunner for retries.
        """
        return BatchRunner(self, batch_requests, max_concurrency or self.settings.max_concurrency).run()

    def count_retries(self, count=1):
        """Add ``count`` to the retries counter (thread-safe)."""
        with self._counter_lock:
            self.counters['retries'] += count

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
            code = error_code(payload)
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
                error, delay = self.retry_decision(what, status, response.headers, payload, idempotent, attempt)
                if error is not None:
                    raise error
                self._pause(delay)
                attempt += 1
                continue
            if status == 401:
                raise error_from_answer(what, status, response.headers, payload, AuthenticationError,
                                        advice=self._refused_token_advice())
            raise error_from_answer(what, status, response.headers, payload)

    def retry_decision(self, what, status, headers, payload, idempotent, attempt):
        """For a throttled or transient answer return (None, seconds to wait) or (the error to report, None)."""
        if status in AMBIGUOUS_STATUSES and not idempotent:
            return error_from_answer(what, status, headers, payload, OutcomeUnknownError,
                                     advice=GATEWAY_TIMEOUT_ADVICE), None
        if not self.retry.can_retry(attempt):
            return error_from_answer(what, status, headers, payload, RetriesExhaustedError,
                                     prefix='gave up after %d attempts' % attempt), None
        delay = self.retry.delay(attempt, header_value(headers, 'Retry-After'))
        if delay > self.retry.max_retry_after:
            return error_from_answer(what, status, headers, payload, RetriesExhaustedError,
                                     prefix='Graph asked to wait %d seconds, longer than %d; run again later'
                                            % (delay, self.retry.max_retry_after)), None
        return None, delay

    def _pause(self, delay):
        self.count_retries()
        self.retry.sleep(delay)

    def _refused_token_advice(self):
        if not self.authenticator.refreshable:
            return ('Graph refused the given access_token, which cannot be refreshed: get a new one for %s/.default '
                    'or use an auth_method that can refresh.' % self.settings.cloud.graph_root)
        return ('Graph refused the token of %s: check that cloud (%s) is the cloud of the tenant.'
                % (self.authenticator.describe_identity(), self.settings.cloud.name))


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
