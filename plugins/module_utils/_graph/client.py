# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""The Microsoft Graph client every module and plugin uses: one request with retries, paging, and $batch (batch.py)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import json
import socket
import ssl
import threading
import uuid
from urllib.parse import quote, urlencode, urlsplit

from ansible_collections.entra.provisioning.plugins.module_utils._graph.batch import IDEMPOTENT_METHODS, BatchRunner
from ansible_collections.entra.provisioning.plugins.module_utils._errors import (
    AuthenticationError,
    EntraError,
    InvalidInputError,
    OutcomeUnknownError,
    RetriesExhaustedError,
)
from ansible_collections.entra.provisioning.plugins.module_utils._graph.errors import (
    INVALID_TOKEN,
    error_code,
    header_value,
    is_synchronization_denial,
)
from ansible_collections.entra.provisioning.plugins.module_utils._items import listing_kind
from ansible_collections.entra.provisioning.plugins.module_utils._graph.retry import Retry, RetryPolicy, answer_retry
from ansible_collections.entra.provisioning.plugins.module_utils._graph.session import is_tls_error, tls_advice
from ansible_collections.entra.provisioning.plugins.module_utils._graph.throttle import Throttle, is_throttling

try:
    import requests
    from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError
except ImportError:
    # build_graph_client refuses to run without requests; nothing below is reached then.
    pass

# Bounds of one listing (iter_pages). Entra's directory quota is 50,000 objects per tenant, 300,000 once a domain is
# verified, more only on a support request; service principals are a part of that. A million items is several times
# the largest tenant, and what a run can hold in memory (about 1 KB per selected service principal). Graph's
# default page of directory objects is 100 items, so a listing of a million items takes at most 10,000 pages; more
# pages than that (empty ones included) mean a service or gateway that never ends.
MAX_LISTING_ITEMS = 1000000
MAX_LISTING_PAGES = 10000
# Characters left readable in query strings: OData needs $, quotes and parentheses, and Graph reads them as is.
_QUERY_SAFE = "$'(),:/"


class GraphResponse(object):
    """A successful Graph answer: ``status``, ``headers``, ``json`` (parsed body or None) and request ids."""

    def __init__(self, status, headers, json_body, request_id=None, client_request_id=None, date=None, sent_at=None):
        self.status = status
        self.headers = headers
        self.json = json_body
        self.request_id = request_id
        self.client_request_id = client_request_id
        self.date = date
        # When it left, on the throttle's clock: the answers inside a $batch envelope are accounted from it.
        self.sent_at = sent_at


class GraphClient(object):
    """Sends requests to Microsoft Graph with one session, one token, retries, paging and $batch.

    Every failure is an EntraError (or subclass) whose texts are redacted; nothing here calls fail_json.
    Every request leaves through ``throttle`` (by default one of its own; build_graph_client shares one per tenant and
    sign-in), and RetryPolicy decides every retry.
    """

    def __init__(self, settings, authenticator, session, retry_policy=None, request_id_factory=None, throttle=None):
        self.settings = settings
        self.authenticator = authenticator
        self.session = session
        self.retry = retry_policy or RetryPolicy(settings.max_retries)
        self.throttle = throttle or Throttle('this sign-in')
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

    def request(self, method, path, body=None, params=None, headers=None, idempotent=None, carries_credentials=False,
                items=None, not_before=0.0):
        """Send one request and return a GraphResponse for a 2xx answer; raise EntraError otherwise.

        ``idempotent`` defaults from the method; a POST that is safe to repeat (a read through POST) may say so.
        Throttling and transient answers are retried up to ``max_retries``; a connection lost after a
        non-idempotent request was sent raises OutcomeUnknownError instead of repeating it.
        ``carries_credentials`` marks a body holding secret values (validateCredentials with credentials, PUT
        secrets): the error then keeps Graph's status, code and request ids but not its message, which could
        echo a value in a form no masking knows.
        ``items`` says the request is a ``$batch`` envelope of that many items: the throttle counts each (Graph
        does), and the caller accounts for their answers (``throttle.answered`` from the response's ``sent_at``).
        ``not_before`` (seconds) holds the first attempt back, for a caller retrying what was throttled.
        """
        return self._send(method, self.url_for(path, params), body=body, headers=headers, idempotent=idempotent,
                          carries_credentials=carries_credentials, items=items, not_before=not_before)

    def get_json(self, path, params=None):
        """GET ``path`` and return its JSON body."""
        return self.request('GET', path, params=params).json

    def iter_pages(self, path, params=None):
        """Yield each page (a dict with a ``value`` list) of a list, following ``@odata.nextLink`` (_next_link_url).

        A page of another shape raises EntraError (every caller reads ``value`` and the next link from it).

        A next link seen before, more than MAX_LISTING_ITEMS items or more than MAX_LISTING_PAGES pages raise
        EntraError: a service or gateway that loops or never ends would otherwise keep the run (and its memory)
        growing forever. Only a digest of each link is kept, never the pages already yielded.
        """
        response = self.request('GET', path, params=params)
        seen_links = set()
        pages = items = 0
        while True:
            page = response.json
            pages += 1
            values = page.get('value') if isinstance(page, dict) else None
            if not isinstance(values, list):
                # Checked before anything is read from the page, its next link included.
                raise EntraError(
                    'Graph answered page %d of the listing %s with %s where an object with a "value" list belongs. '
                    'Run again; if it lasts, give Microsoft support the request id of the listing (-vvv shows it).'
                    % (pages, _listing_name(path), listing_kind(page)))
            items += len(values)
            if items > MAX_LISTING_ITEMS or pages > MAX_LISTING_PAGES:
                raise EntraError(
                    'Listing %s: Graph kept sending pages past %d items or %d pages (%d items in %d pages so far), '
                    'more than any tenant holds; stopped so the run does not grow without end. Narrow the listing '
                    '(a filter) or check what sits between this machine and Graph (a proxy or gateway that '
                    'rewrites answers).' % (_listing_name(path), MAX_LISTING_ITEMS, MAX_LISTING_PAGES, items, pages))
            yield page
            next_link = page.get('@odata.nextLink')
            if not next_link:
                return
            next_link = self._next_link_url(next_link)
            digest = hashlib.sha256(str(next_link).encode('utf-8', 'surrogatepass')).digest()
            if digest in seen_links:
                raise EntraError(
                    'Listing %s: page %d gave as @odata.nextLink the link of an earlier page, so following it would '
                    'loop forever; stopped. This is a fault of Graph or of a proxy or gateway between this machine '
                    'and Graph: run again later, and report it if it persists.' % (_listing_name(path), pages))
            seen_links.add(digest)
            response = self._send('GET', next_link, idempotent=True)

    def iter_items(self, path, params=None):
        """Yield every item of a list across all its pages."""
        for page in self.iter_pages(path, params=params):
            yield from page['value']

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

    def _next_link_url(self, link):
        """Where to ask for the next page: ``link`` itself on graph_endpoint; a link on the cloud's own Graph root
        (Graph writes next links on its own host, also for a client that reached it through a proxy or a private
        endpoint) through graph_endpoint, same path and query. Any other host is refused: the request would carry
        the bearer token there."""
        base = urlsplit(self.settings.graph_base_url)
        target = urlsplit(link)
        for root in (base, urlsplit(self.settings.cloud.graph_root)):
            if (target.scheme.lower() == root.scheme.lower() and target.netloc.lower() == root.netloc.lower()
                    and target.path.startswith(root.path + '/')):
                relative = target.path[len(root.path):] + ('?' + target.query if target.query else '')
                return self.settings.graph_base_url + relative
        raise EntraError('Refusing to follow @odata.nextLink to %s://%s: it is neither graph_endpoint %s nor the Graph '
                         'of the %s cloud (%s), and the request would carry the bearer token there.'
                         % (target.scheme, target.netloc, self.settings.graph_base_url, self.settings.cloud.name,
                            self.settings.cloud.graph_root))

    def _send(self, method, url, body=None, headers=None, idempotent=None, carries_credentials=False, items=None,
              not_before=0.0):
        method = method.upper()
        idempotent = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        what = '%s %s' % (method, urlsplit(url).path)
        data = json.dumps(body) if body is not None else None
        refreshed = False
        sent_at = [None]

        def pace(wait):
            sent_at[0] = self.throttle.acquire(items or 1, self.retry.sleep, not_before=max(wait, not_before))

        def try_once():
            nonlocal refreshed
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
                return self._transport_retry(what, url, exc, idempotent)

            status = response.status_code
            payload = _json_or_none(response)
            code = error_code(payload)
            retry_after = header_value(response.headers, 'Retry-After')
            if is_throttling(status, retry_after):
                self.throttle.answered(sent_at[0], throttled=1, retry_after=retry_after, status=status)
            elif items is None:
                self.throttle.answered(sent_at[0], accepted=1)
            if 200 <= status < 300:
                return GraphResponse(status, response.headers, payload,
                                     request_id=response.headers.get('request-id'),
                                     client_request_id=response.headers.get('client-request-id'),
                                     date=response.headers.get('Date'), sent_at=sent_at[0])
            if carries_credentials:
                payload = without_server_text(payload)
            if status == 401 and code == INVALID_TOKEN and not refreshed:
                refreshed = True
                with self._counter_lock:
                    self.counters['token_refreshes_after_401'] += 1
                if self.authenticator.invalidate(token):
                    # the send with the new token belongs to this attempt: a refresh uses up no retry
                    return try_once()
            if status == 401 and not (_is_synchronization_call(url) and is_synchronization_denial(status, code)):
                return answer_retry(what, status, response.headers, payload, idempotent, AuthenticationError,
                                    advice=self._refused_token_advice())
            return answer_retry(what, status, response.headers, payload, idempotent)

        return self.retry.run(try_once, count_retry=self.count_retries, pace=pace)

    def _transport_retry(self, what, url, exc, idempotent):
        """Raise the error a failed send deserves, unless it may be sent again: then return its Retry."""
        parts = urlsplit(url)
        host = parts.netloc
        phase = _failure_phase(exc)
        if phase == 'tls':
            raise EntraError('%s: TLS connection to %s failed: %s %s'
                             % (what, host, exc, tls_advice(self.settings.verify)))
        if phase == 'sent' and parts.scheme == 'http' and _speaks_tls(parts, self.settings.timeout[0]):
            # Nothing was processed: the server read the request as a broken TLS handshake.
            raise InvalidInputError('%s: %s speaks TLS, but graph_endpoint %s says http: use https://%s.'
                                    % (what, host, self.settings.graph_base_url, host))
        timed_out = isinstance(exc, requests.exceptions.ReadTimeout)
        if timed_out:
            why = ('no answer within timeout=%s seconds (raise the timeout option if the service is this slow)'
                   % self.settings.timeout[1])
        else:
            why = 'could not reach %s: %s' % (host, exc)
        if timed_out:
            lost = ('%s gave no answer within timeout=%s seconds after the request was sent'
                    % (host, self.settings.timeout[1]))
        else:
            lost = 'the connection to %s was lost after the request was sent (%s)' % (host, exc.__class__.__name__)
        return Retry(lambda reason: RetriesExhaustedError('%s: %s: %s' % (what, reason, why)),
                     idempotent=idempotent, sent=phase == 'sent',
                     unknown=lambda: OutcomeUnknownError('%s: %s, so it is unknown whether it took effect. Check the '
                                                         'object\'s state before sending it again.' % (what, lost)))

    def _refused_token_advice(self):
        if not self.authenticator.refreshable:
            return ('Graph refused the given access_token, which cannot be refreshed: get a new one for %s/.default '
                    'or use an auth_method that can refresh.' % self.settings.cloud.graph_root)
        return ('Graph refused the token of %s: check that cloud (%s) is the cloud of the tenant.'
                % (self.authenticator.describe_identity(), self.settings.cloud.name))


def _is_synchronization_call(url):
    """Whether a URL is a synchronization call (its 401s other than InvalidAuthenticationToken mean a permission)."""
    return '/synchronization/' in urlsplit(url).path + '/'


def _listing_name(path):
    """The listing's path without its query, which may be long and says nothing to the reader."""
    return str(path).split('?', 1)[0]


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


def without_server_text(payload):
    """Return a Graph error body reduced to its code and request ids, for answers to calls carrying secrets."""
    error = payload.get('error') if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        return None
    inner = error.get('innerError') or error.get('innererror')
    kept = {'code': error.get('code')}
    if isinstance(inner, dict):
        kept['innerError'] = {key: inner.get(key) for key in ('request-id', 'client-request-id', 'date')}
    return {'error': kept}


def _speaks_tls(parts, connect_timeout):
    """Return True when the http URL's port completes a TLS handshake (the user meant https)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((parts.hostname, parts.port or 80), timeout=connect_timeout) as raw:
            with context.wrap_socket(raw, server_hostname=parts.hostname):
                return True
    except (OSError, ValueError):
        return False


def _json_or_none(response):
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None
