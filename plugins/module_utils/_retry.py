# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""When to retry a Graph request and how long to wait first."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import random
import time
from datetime import timezone
from email.utils import parsedate_to_datetime

RETRY_STATUSES = frozenset((429, 503, 504))
CONCURRENCY_VIOLATION = 'Directory_ConcurrencyViolation'
# A gateway timeout means the backend may have run the request: for a POST that is not idempotent the outcome
# is unknown rather than safe to repeat.
AMBIGUOUS_STATUSES = frozenset((504,))

BACKOFF_BASE = 1.0
BACKOFF_CEILING = 60.0
# Waiting longer than this inside one task would look like a hang; the caller is told to run again later.
MAX_RETRY_AFTER = 300.0


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


class RetryPolicy(object):
    """Exponential backoff with full jitter and a ceiling, overridden by the server's Retry-After.

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
