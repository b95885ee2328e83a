# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""Microsoft Graph JSON batching: requests in envelopes of 20, answers matched by id, throttled items retried."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import collections
import threading
import time

from ansible_collections.entra.provisioning.plugins.module_utils._errors import (
    EntraError,
    InvalidInputError,
    OutcomeUnknownError,
)
from ansible_collections.entra.provisioning.plugins.module_utils._graph.errors import (
    error_code,
    error_from_answer,
    header_value,
)
from ansible_collections.entra.provisioning.plugins.module_utils._redact import (
    redact_data,
    redact_headers,
    run_in_threads,
)
from ansible_collections.entra.provisioning.plugins.module_utils._graph.retry import Retry, answer_retry, parse_retry_after
from ansible_collections.entra.provisioning.plugins.module_utils._graph.throttle import is_throttling

BATCH_LIMIT = 20
IDEMPOTENT_METHODS = frozenset(('GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'))


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
        self._headers = headers or {}
        self._body = body
        self._error = error
        self._refusal = None
        self.attempts = attempts

    @classmethod
    def refused(cls, request, status, headers, body, make_error, attempts):
        """The result of an item Graph answered with an error: ``make_error()`` builds its EntraError, and its
        headers and body are masked, when one of them is first read. An engine often needs the status alone
        (validateCredentials answers 400 for saved credentials that do not work yet), and building and masking a
        thousand errors nobody reads costs a quarter of a second."""
        result = cls(request, status=status, attempts=attempts)
        result._refusal = (headers, body, make_error)
        return result

    @property
    def ok(self):
        """True for a 2xx answer."""
        return (self._refusal is None and self._error is None and self.status is not None
                and 200 <= self.status < 300)

    @property
    def outcome_unknown(self):
        """True when the request may or may not have taken effect. Such an error is always built at once, so a
        refusal still waiting to be built is never one."""
        return isinstance(self._error, OutcomeUnknownError)

    @property
    def error(self):
        """The EntraError of a failed request, or None."""
        self._settle()
        return self._error

    @property
    def headers(self):
        """The item's answer headers (masked when it failed)."""
        self._settle()
        return self._headers

    @property
    def body(self):
        """The item's answer body (masked when it failed)."""
        self._settle()
        return self._body

    def error_says(self, pattern):
        """True when Graph's ``error.message`` of a failed answer matches the compiled ``pattern``, read without
        building the error or masking the answer (the message is searched, never shown)."""
        body = self._refusal[1] if self._refusal is not None else self._body
        error = body.get('error') if isinstance(body, dict) else None
        message = error.get('message') if isinstance(error, dict) else None
        if not isinstance(message, str) or not message:
            message = self.error.message if self.error is not None else ''
        return bool(pattern.search(message))

    @property
    def error_code(self):
        """Graph's ``error.code`` of a failed answer, read without building the error or masking the answer."""
        if self._refusal is not None:
            return error_code(self._refusal[1])
        return self._error.code if self._error is not None else None

    def _settle(self):
        if self._refusal is not None:
            headers, body, make_error = self._refusal
            self._refusal = None
            # A failed item's answer may echo what was sent; a successful one is read by the engine, never shown.
            self._error = make_error()
            self._headers = redact_headers(headers)
            self._body = redact_data(body)


class BatchRunner(object):
    """Sends one list of BatchRequests through a GraphClient's ``$batch`` and collects their results.

    Requests go in envelopes of at most 20, up to ``max_concurrency`` envelopes at a time, each through the client's
    throttle (an envelope costs its items). Items the retry policy sends again (429/503/504, 409
    Directory_ConcurrencyViolation) go in the next round, after the longest wait among them; the rest keep their
    first answer. The throttle hears every item's answer, so a tenant's 429 paces every sender to it.
    """

    def __init__(self, client, batch_requests, max_concurrency):
        self._client = client
        self._requests = list(batch_requests)
        self._attempts = [0] * len(self._requests)
        self._workers = max(1, max_concurrency)

    def run(self):
        """Return BatchResults in input order."""
        results = [None] * len(self._requests)
        pending = list(range(len(self._requests)))
        due = None
        while pending:
            # Retry-After counts from each answer, not from the end of the round: the round's own duration is
            # already part of the wait, which the throttle adds to its own pause and pace.
            not_before = 0.0 if due is None else max(0.0, due - _clock())
            envelopes = [pending[start:start + BATCH_LIMIT] for start in range(0, len(pending), BATCH_LIMIT)]
            retry_at = {}
            outcomes = run_in_threads(lambda indices: self._send_envelope(indices, not_before), envelopes,
                                      min(self._workers, len(envelopes)))
            for outcome in outcomes:
                for index, (result, when) in outcome.items():
                    if result is not None:
                        results[index] = result
                    else:
                        retry_at[index] = when
            if retry_at:
                self._client.count_retries(len(retry_at))
                due = max(retry_at.values())
            pending = sorted(retry_at)
        return results

    def _send_envelope(self, indices, not_before=0.0):
        """Send one $batch envelope; return {index: (BatchResult, None) or (None, when to retry on _clock)}."""
        for index in indices:
            self._attempts[index] += 1
        items = [self._requests[index].to_item(str(index)) for index in indices]
        all_idempotent = all(self._requests[index].idempotent for index in indices)
        outcome = {}
        try:
            envelope = self._client.request('POST', '$batch', body={'requests': items}, idempotent=all_idempotent,
                                            items=len(items), not_before=not_before)
        except OutcomeUnknownError as exc:
            # Only the items that are safe to repeat go again; the others may have run.
            for index in indices:
                outcome[index] = self._retry_or_fail(index, exc)
            return _due(outcome, _clock())
        except EntraError as exc:
            for index in indices:
                outcome[index] = (self._result(index, error=exc), None)
            return outcome

        answered_at = _clock()
        answers = {}
        for answer in (envelope.json or {}).get('responses') or []:
            answers[str(answer.get('id'))] = answer
        accepted, throttled, longest_wait = 0, 0, None
        for index in indices:
            answer = answers.get(str(index))
            if answer is None:
                request = self._requests[index]
                error_class = EntraError if request.idempotent else OutcomeUnknownError
                error = error_class('%s %s: the $batch answer had no item for this request.'
                                    % (request.method, request.url),
                                    request_id=envelope.request_id, client_request_id=envelope.client_request_id)
                outcome[index] = self._retry_or_fail(index, error)
                continue
            status = _as_int(answer.get('status'))
            retry_after = header_value(answer.get('headers') or {}, 'Retry-After')
            if is_throttling(status, retry_after):
                throttled += 1
                longest_wait = _longer(longest_wait, retry_after)
            else:
                accepted += 1
            outcome[index] = self._item_outcome(index, status, answer, envelope)
        # Graph throttles each item: the tenant's throttle hears them one by one, as if sent alone.
        self._client.throttle.answered(envelope.sent_at, accepted=accepted, throttled=throttled,
                                       retry_after=longest_wait)
        return _due(outcome, answered_at)

    def _retry_or_fail(self, index, error):
        """A lost envelope or a missing item: the policy decides whether it goes again (only when safe to repeat),
        else it fails with ``error`` as it is."""
        request = self._requests[index]
        refusal, wait = self._client.retry.decide(
            self._attempts[index], Retry(lambda _reason: error, idempotent=request.idempotent, sent=True,
                                         unknown=lambda: error))
        if refusal is None:
            return (None, wait)
        return (self._result(index, error=error), None)

    def _item_outcome(self, index, status, answer, envelope):
        request = self._requests[index]
        headers = answer.get('headers') or {}
        body = answer.get('body')
        if status is not None and 200 <= status < 300:
            return (self._result(index, status=status, headers=headers, body=body), None)
        what = '%s %s' % (request.method, request.url)
        # items rarely carry their own ids; the envelope's identify the call to Microsoft support
        ids = {'request-id': envelope.request_id, 'client-request-id': envelope.client_request_id}
        ids.update(headers)
        error, wait = None, None
        if status is not None:
            error, wait = self._client.retry.decide(self._attempts[index],
                                                    answer_retry(what, status, ids, body, request.idempotent))
        if wait is not None:
            return (None, wait)
        if error is not None:
            # Retries are spent and the error is built already (it may say the outcome is unknown): no deferring.
            return (self._result(index, status=status, headers=headers, body=body, error=error), None)
        return (BatchResult.refused(request, status, headers, body, lambda: error_from_answer(what, status, ids, body),
                                    self._attempts[index]), None)

    def _result(self, index, status=None, headers=None, body=None, error=None):
        if error is not None:
            # A failed item's answer may echo what was sent; a successful one is read by the engine, never shown.
            return BatchResult(self._requests[index], status=status, headers=redact_headers(headers),
                               body=redact_data(body), error=error, attempts=self._attempts[index])
        return BatchResult(self._requests[index], status=status, headers=dict(headers or {}), body=body,
                           attempts=self._attempts[index])


class BatchPipeline(object):
    """Sends work through ``$batch`` as it becomes ready, ``max_concurrency`` envelopes in flight, no round barriers.

    Each subject (an application's outcome) enters at a first step and goes from step to step: a step has
    ``request(subject)`` (its BatchRequest) and ``take(subject, result)``, which records the answer and returns the
    subject's next step, or None when it is done. Every sender takes up to 20 ready items, from any step, sends them
    as one envelope (``send``, which retries as BatchRunner does) and queues what follows; an envelope goes out
    short only when nothing more can come before it would (every subject has arrived and nothing is in flight), so
    the envelopes stay full and the senders, never in step with one another, do not answer and send all at once.
    """

    def __init__(self, send, max_concurrency):
        self._send = send
        self._senders = max(1, max_concurrency)
        self._ready = collections.deque()
        self._changed = threading.Condition()
        self._in_flight = 0
        self._all_arrived = False
        self._error = None

    def run(self, subjects, first_step):
        """Take ``subjects`` (any iterable; it may block while the caller still reads them) through the steps.
        Returns when every subject is done; raises what the iterable or a send raised, once the others stopped."""
        jobs = [lambda: self._feed(subjects, first_step)] + [self._sender] * self._senders
        run_in_threads(lambda job: job(), jobs, len(jobs))
        if self._error is not None:
            raise self._error

    def _feed(self, subjects, first_step):
        try:
            for subject in subjects:
                with self._changed:
                    self._ready.append((first_step, subject))
                    if len(self._ready) >= BATCH_LIMIT:
                        self._changed.notify()
        except BaseException as error:  # pylint: disable=broad-exception-caught
            with self._changed:
                self._error = error
        finally:
            with self._changed:
                self._all_arrived = True
                self._changed.notify_all()

    def _sender(self):
        while True:
            with self._changed:
                while not self._may_send():
                    if self._error is not None or self._done():
                        return
                    self._changed.wait()
                items = [self._ready.popleft() for _index in range(min(BATCH_LIMIT, len(self._ready)))]
                self._in_flight += 1
            following = []
            try:
                results = self._send([step.request(subject) for step, subject in items])
                for (step, subject), result in zip(items, results):
                    following.append((step.take(subject, result), subject))
            except BaseException as error:  # pylint: disable=broad-exception-caught
                with self._changed:
                    self._error = self._error or error
            with self._changed:
                self._in_flight -= 1
                self._ready.extend((step, subject) for step, subject in following if step is not None)
                self._changed.notify_all()

    def _may_send(self):
        if self._error is not None or not self._ready:
            return False
        # A short envelope now would cost a round trip more than waiting for the items still coming.
        return len(self._ready) >= BATCH_LIMIT or (self._all_arrived and self._in_flight == 0)

    def _done(self):
        return self._all_arrived and not self._ready and self._in_flight == 0


def _clock():
    return time.monotonic()


def _due(outcome, answered_at):
    """Turn each retry delay of an envelope's outcome into the moment (on _clock) the retry is due."""
    return dict((index, (result, None if delay is None else answered_at + delay))
                for index, (result, delay) in outcome.items())


def _longer(known, retry_after):
    """The longer of two Retry-After header values (either may be None)."""
    if known is None:
        return retry_after
    now = time.time()
    return retry_after if (parse_retry_after(retry_after, now) or 0.0) > (parse_retry_after(known, now) or 0.0) else known


def _as_int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
