# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""When to retry a Graph request or a token call, how long to wait first, and the one loop that does it."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import random
import time
from datetime import timezone
from email.utils import parsedate_to_datetime

from ansible_collections.entra.provisioning.plugins.module_utils._errors import (
    EntraError,
    OutcomeUnknownError,
    RetriesExhaustedError,
)
from ansible_collections.entra.provisioning.plugins.module_utils._graph.errors import (
    GATEWAY_TIMEOUT_ADVICE,
    error_code,
    error_from_answer,
    header_value,
)

RETRY_STATUSES = frozenset((429, 503, 504))
CONCURRENCY_VIOLATION = 'Directory_ConcurrencyViolation'
# A gateway timeout means the backend may have run the request: for a POST that is not idempotent the outcome
# is unknown rather than safe to repeat.
AMBIGUOUS_STATUSES = frozenset((504,))

BACKOFF_BASE = 1.0
BACKOFF_CEILING = 60.0
# Waiting longer than this inside one task would look like a hang; the caller is told to run again later.
MAX_RETRY_AFTER = 300.0

GAVE_UP = 'gave up after %d attempts'
WAIT_REFUSED = '%s asked to wait %d seconds, longer than %d; run again later'


def is_retryable(status, error_code=None):
    """Return True for throttling and transient answers: 429, 503, 504 and 409 Directory_ConcurrencyViolation."""
    if status in RETRY_STATUSES:
        return True
    return status == 409 and error_code == CONCURRENCY_VIOLATION


def parse_retry_after(value, now=None):
    """Return the wait in seconds a ``Retry-After`` value asks for (delta-seconds or HTTP-date), else ``None``."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        # HTTP-dates are always GMT; an offset written as -0000 parses without a zone.
        when = when.replace(tzinfo=timezone.utc)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


class Retry(object):
    """A failed attempt, as its sender describes it to RetryPolicy.decide, which alone judges whether it goes again.

    ``give_up(reason)`` builds the error to raise when no other attempt is made, from a reason such as
    ``gave up after 4 attempts``. ``retry_after`` is the Retry-After header of a Graph answer: it replaces the
    backoff. ``least_wait`` (seconds) is a floor on the wait, for a caller that knows no earlier try can succeed
    (msal answers from its cache for a while after a failure). A wait above ``max_retry_after`` is refused either
    way, naming ``asker``, the service that asked for it.

    An answer gives its ``status`` and ``error_code``: one that is not throttling or transient is not retried, and
    ``final()`` builds its error. A request that is not ``idempotent`` and may have run (``sent`` and the connection
    was lost, or a gateway timeout) is never repeated: ``unknown()`` builds its OutcomeUnknownError.
    """

    def __init__(self, give_up, retry_after=None, least_wait=None, asker='Graph', status=None, error_code=None,
                 idempotent=True, sent=False, unknown=None, final=None):
        self.give_up = give_up
        self.retry_after = retry_after
        self.least_wait = least_wait
        self.asker = asker
        self.status = status
        self.error_code = error_code
        self.idempotent = idempotent
        self.sent = sent
        self.unknown = unknown
        self.final = final

    @property
    def may_have_run(self):
        """True when the request may have taken effect although no success came back."""
        return self.sent or self.status in AMBIGUOUS_STATUSES


def sign_in_retry(give_up, retry_after):
    """The Retry of a transient sign-in failure; ``retry_after`` (seconds or None) is what the sign-in service asked."""
    # msal's replay cache counts whole seconds; one more makes sure it has expired
    least_wait = None if retry_after is None else retry_after + 1
    return Retry(give_up, least_wait=least_wait, asker='the sign-in service')


def answer_retry(what, status, headers, payload, idempotent, error_class=EntraError, advice=None):
    """Describe a Graph answer that is not a success to RetryPolicy.decide: giving up reports it as retries exhausted,
    an answer that may have run as outcome unknown, one not to retry as ``error_class`` (with ``advice``)."""
    return Retry(lambda reason: error_from_answer(what, status, headers, payload, RetriesExhaustedError, prefix=reason),
                 retry_after=header_value(headers, 'Retry-After'), status=status, error_code=error_code(payload),
                 idempotent=idempotent,
                 unknown=lambda: error_from_answer(what, status, headers, payload, OutcomeUnknownError,
                                                   advice=GATEWAY_TIMEOUT_ADVICE),
                 final=lambda: error_from_answer(what, status, headers, payload, error_class, advice=advice))


class RetryPolicy(object):
    """Exponential backoff with full jitter and a ceiling, overridden by the server's Retry-After.

    ``run`` is the one retry loop of Graph requests and token calls; ``decide`` serves callers that keep their
    own loop ($batch items).

    ``sleep``, ``random`` and ``now`` are injectable so tests neither sleep nor depend on chance.
    """

    def __init__(self, max_retries, sleep=None, random_fraction=None, now=None,
                 base=BACKOFF_BASE, ceiling=BACKOFF_CEILING, max_retry_after=MAX_RETRY_AFTER):
        self.max_retries = max_retries
        self.sleep = sleep or time.sleep
        self._random = random_fraction or random.random
        self._now = now or time.time
        self._base = base
        self._ceiling = ceiling
        self.max_retry_after = max_retry_after

    @property
    def max_attempts(self):
        """Attempts in all: the first one plus ``max_retries``."""
        return self.max_retries + 1

    def can_retry(self, attempt):
        """Return True when attempt number ``attempt`` (1-based) may be followed by another."""
        return attempt < self.max_attempts

    def delay(self, attempt, retry_after=None):
        """Return the seconds to wait after failed attempt ``attempt``; Retry-After wins when it parses."""
        asked = parse_retry_after(retry_after, now=self._now())
        if asked is not None:
            return asked
        return self._random() * min(self._ceiling, self._base * (2 ** (attempt - 1)))

    def decide(self, attempt, retry):
        """Judge failed attempt number ``attempt`` (a Retry): return (None, seconds to wait) to send it again,
        (error, None) to end with that error, or (None, None) when the answer is not one to retry (it stands as it is).

        The rule "never repeat a non-idempotent write blindly" is here and nowhere else: a write that may have run
        ends with its ``unknown()`` error, however many retries are left.
        """
        if retry.status is not None and not is_retryable(retry.status, retry.error_code):
            return None, None
        if not retry.idempotent and retry.may_have_run:
            return retry.unknown(), None
        if not self.can_retry(attempt):
            return retry.give_up(GAVE_UP % attempt), None
        wait = self.delay(attempt, retry.retry_after)
        if retry.least_wait is not None:
            wait = max(wait, retry.least_wait)
        if wait > self.max_retry_after:
            return retry.give_up(WAIT_REFUSED % (retry.asker, wait, self.max_retry_after)), None
        return None, wait

    def run(self, try_once, count_retry=None, pace=None):
        """Call ``try_once()`` until it returns anything but a Retry, and return that.

        An exception from ``try_once`` ends the run as it is. After a Retry the run sleeps the wait ``decide``
        gives, calling ``count_retry()`` first, or raises the error ``decide`` gives (``final()`` for an answer
        that is not retried). ``pace(wait)``, when given, does the waiting before each attempt instead (the tenant's
        throttle: at least ``wait``, and its shared pause and pace; the first attempt asks with 0).
        """
        attempt = 1
        wait = 0.0
        while True:
            if pace is not None:
                pace(wait)
            elif attempt > 1:
                self.sleep(wait)
            outcome = try_once()
            if not isinstance(outcome, Retry):
                return outcome
            error, wait = self.decide(attempt, outcome)
            if error is None and wait is None:
                error = outcome.final()
            if error is not None:
                raise error
            if count_retry is not None:
                count_retry()
            attempt += 1
