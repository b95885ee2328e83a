# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""One throttle per tenant and sign-in, shared by every sender of the process.

Graph throttles a tenant and an application, not a connection: when it answers 429 (or 503 with Retry-After), every
request to that tenant would meet the same limit, so every sender waits until the time it names, and from then on
the requests go at a pace that adapts to what the tenant accepts. Graph judges each ``$batch`` item against the
limits on its own (the throttling guidance, https://learn.microsoft.com/graph/throttling, section on batching), so an
envelope of 20 items costs 20.

The pace is a rate (requests per second), not a number of envelopes in flight: one envelope of 20 items every 25 ms
is 800 requests a second, so only a rate can come down to what a tenant capped at 20 or 40 a second accepts. It is
additive increase, multiplicative decrease: unpaced until the first throttled answer (after a slow start in rounds
while nothing is known, see SLOW_START_REQUESTS), then set to what the tenant accepted over the last throttle period
(the requests accepted over at least the wait it asked for, and the first time over the wait too), a little less;
each accepted request raises it slightly, each later throttled answer (to a request sent at the current pace) lowers
it by a factor. A second's worth of requests may go at once (a tenant's limit refills while it waits).
Retry decisions stay with RetryPolicy; the throttle only says when a request may leave.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import collections
import threading
import time

from ansible_collections.entra.provisioning.plugins.module_utils._graph.retry import MAX_RETRY_AFTER, parse_retry_after

# Graph's throttling answers: 429 always, 503 when it names a wait (the other 503s are outages, left to the backoff).
THROTTLING_STATUS = 429
# After a throttled answer the pace is this share of what the tenant accepted (or of the pace it had).
DECREASE = 0.9
# No decrease takes the pace below this share of what it was: one short period proves little.
DECREASE_FLOOR = 0.5
# Each accepted request raises the pace by this many requests per second: while sending at pace r that is r x 2 %
# a second, slow enough that a tenant at its cap is overrun by a request or two between throttled answers.
INCREASE = 0.02
LEAST_RATE = 1.0
# How many seconds' worth of requests may leave at once.
BURST_SECONDS = 1.0
# What the tenant accepted is measured over at most this many seconds back.
MEASURE_SECONDS = 30.0
# Slow start: before Graph has said anything about the tenant, the requests go in rounds, as TCP's slow start does:
# one envelope's worth first, then twice what the tenant accepted in the round before. A round ends with its first
# answer, and the next begins once every request of the round is answered, so no sender sends on the strength of its
# own accepted answer while another's refusal is on its way: a tenant at its cap refuses part of one round, not the
# first envelope of every sender and the ones sent after them. It ends at the first throttled answer (the pace takes
# over), at a round of SLOW_START_END requests (more than the senders keep in flight), and SLOW_START_SECONDS after
# the first request, so an envelope that never gets an answer holds the others back no longer.
SLOW_START_REQUESTS = 20
SLOW_START_END = 160
SLOW_START_SECONDS = 1.0
# How often a sender held back by the slow start looks again.
SLOW_START_POLL = 0.005


def is_throttling(status, retry_after):
    """True for an answer that says the tenant's limit is reached: 429, or 503 with a Retry-After."""
    return status == THROTTLING_STATUS or (status == 503 and retry_after is not None)


class ThrottleWait(object):
    """What an observer hears when the senders to a tenant start waiting: ``seconds``, the ``status`` Graph answered,
    the throttle's ``label`` (tenant and client) and the ``rate`` the requests go at afterwards (None: unpaced)."""

    def __init__(self, seconds, status, label, rate):
        self.seconds = seconds
        self.status = status
        self.label = label
        self.rate = rate

    def __str__(self):
        pace = '' if self.rate is None else '; then at most %.1f requests/s' % self.rate
        return ('Graph answered %s for %s: every request to it waits %.1f s%s'
                % (self.status, self.label, self.seconds, pace))


class Throttle(object):
    """The pause and pace shared by every request to one tenant with one sign-in.

    ``acquire(cost, sleep)`` before sending (``cost`` requests: 1, or an envelope's items) and ``answered(...)`` after
    the answer. ``observer`` (else the process's, see observe_throttles) is called with a ThrottleWait each time a
    new pause starts. ``clock`` (a monotonic clock) and ``wall_clock`` (for Retry-After dates) are injectable for
    tests.
    """

    def __init__(self, label, clock=None, wall_clock=None):
        self.label = label
        self.observer = None
        self._clock = clock or time.monotonic
        self._wall_clock = wall_clock or time.time
        self._lock = threading.Lock()
        self.rate = None
        self._tokens = 0.0
        self._refilled_at = self._clock()
        self._paused_until = self._refilled_at
        # A pause began since a sender reserved its slot: the slot is void, the sender asks again.
        self._generation = 0
        # (clock time, requests accepted) of the answers since the last decrease, within MEASURE_SECONDS
        self._accepted = collections.deque()
        self._decreased_at = None
        # The slow start: requests sent and not answered yet; the round's size, what it sent, what it had
        # accepted, whether it still takes requests; when the first request left.
        self._slow_start = True
        self._unanswered = 0
        self._window = SLOW_START_REQUESTS
        self._round_sent = 0
        self._round_accepted = 0
        self._round_open = True
        self._first_sent_at = None
        self.throttled_answers = 0
        self.pauses = 0

    def acquire(self, cost=1, sleep=None, not_before=0.0):
        """Wait (with ``sleep``) until ``cost`` requests may go, and at least ``not_before`` seconds; return the clock
        time they go at, for ``answered``."""
        sleep = sleep or time.sleep
        while True:
            wait, sent_at, generation = self._reserve(cost, not_before)
            if wait > 0:
                sleep(wait)
            with self._lock:
                if self._generation == generation:
                    return sent_at
            not_before = 0.0

    def _reserve(self, cost, not_before):
        with self._lock:
            now = self._clock()
            # Kept as differences from now, so a wait that only the caller asked for comes back exactly as asked.
            wait = max(not_before, self._paused_until - now, 0.0)
            if self.rate is not None:
                wait = max(wait, self._refilled_at - now)
                capacity = max(1.0, self.rate * BURST_SECONDS)
                tokens = min(capacity, self._tokens + (now + wait - self._refilled_at) * self.rate)
                # An envelope larger than the burst goes when a burst's worth is there, and leaves a debt.
                needed = min(float(cost), capacity)
                if tokens < needed:
                    wait += (needed - tokens) / self.rate
                    tokens = needed
                self._tokens = tokens - cost
                self._refilled_at = now + wait
            elif self._held_back_by_slow_start(now, cost):
                # not reserved: a generation no slot has, so the sender asks again after looking away
                return max(wait, SLOW_START_POLL), now, -1
            return wait, now + wait, self._generation

    def _held_back_by_slow_start(self, now, cost):
        """Count ``cost`` requests as sent unless the slow start holds them back (the caller holds the lock)."""
        if not self._slow_start:
            return False
        if self._first_sent_at is None:
            self._first_sent_at = now
        if now - self._first_sent_at >= SLOW_START_SECONDS or self._window >= SLOW_START_END:
            self._slow_start = False
            return False
        if not self._round_open and self._unanswered == 0:
            self._round_open, self._round_sent = True, 0
        if not self._round_open or (self._round_sent and self._round_sent + cost > self._window):
            return True
        self._round_sent += cost
        self._unanswered += cost
        return False

    def answered(self, sent_at, accepted=0, throttled=0, retry_after=None, status=THROTTLING_STATUS):
        """Account for the answers to requests sent at ``sent_at``: ``accepted`` taken, ``throttled`` refused with
        ``status`` and the longest ``retry_after`` (header value) among them."""
        notice = None
        with self._lock:
            now = self._clock()
            if accepted:
                self._accepted.append((now, accepted))
                while self._accepted[0][0] < now - MEASURE_SECONDS:
                    self._accepted.popleft()
            if self.rate is not None:
                self.rate += accepted * INCREASE
            if self._slow_start:
                self._unanswered = max(0, self._unanswered - accepted - throttled)
                self._round_accepted += accepted
                self._round_open = False
                if self._unanswered == 0:
                    self._window = max(self._window, 2 * self._round_accepted)
                    self._round_accepted = 0
                self._slow_start = not throttled
            if throttled:
                notice = self._throttled(now, sent_at, throttled, retry_after, status)
        observer = self.observer or _OBSERVERS.get('process')
        if notice is not None and observer is not None:
            observer(notice)

    def _decrease(self, now, wait):
        """Set the pace from what the tenant accepted since the last decrease: those requests, over the time from the
        first of them to now, or over the wait it asks for when that is longer (a burst proves no rate)."""
        while self._accepted and self._accepted[0][0] < now - MEASURE_SECONDS:
            self._accepted.popleft()
        if self._accepted:
            accepted = sum(count for _when, count in self._accepted)
            span = now - self._accepted[0][0]
            if self.rate is None:
                # The first time, the requests came before anything was known, most of them a burst the tenant
                # allows once: it is spread over the wait too.
                self.rate = max(LEAST_RATE, accepted / max(span + wait, 1e-3) * DECREASE)
            else:
                accepted_rate = accepted / max(span, wait, 1e-3)
                self.rate = max(LEAST_RATE, self.rate * DECREASE_FLOOR, min(self.rate, accepted_rate) * DECREASE)
        elif self.rate is not None:
            self.rate = max(LEAST_RATE, self.rate * DECREASE_FLOOR)
        # Nothing accepted and no pace yet: nothing to measure; the pause alone holds the senders back.
        self._accepted.clear()
        self._decreased_at = now

    def _throttled(self, now, sent_at, count, retry_after, status):
        self.throttled_answers += count
        wait = parse_retry_after(retry_after, now=self._wall_clock()) or 0.0
        if self._decreased_at is None or sent_at > self._decreased_at:
            # An answer to a request sent at the current pace: the pace was too fast.
            self._decrease(now, wait)
        # The tenant's budget is spent: nothing is left to send until it refills.
        self._tokens = min(self._tokens, 0.0)
        new_pause = now >= self._paused_until
        # A wait no retry makes (RetryPolicy gives up) would only hold up the requests that can still be answered.
        if wait > MAX_RETRY_AFTER or now + wait <= self._paused_until:
            # The pause stands, and so do the slots reserved for after it: the refill counts from the last of them.
            self._refilled_at = max(self._refilled_at, now)
            return None
        # A new or longer pause voids every reservation (each sender asks again): the refill counts from now.
        self._tokens = 0.0
        self._refilled_at = now
        self._paused_until = now + wait
        self._generation += 1
        if not new_pause:
            return None
        self.pauses += 1
        return ThrottleWait(wait, status, self.label, self.rate)


_THROTTLES = {}
_THROTTLES_LOCK = threading.Lock()
_OBSERVERS = {}


def observe_throttles(observer):
    """Have ``observer`` (a callable, or None to stop) told each time the senders to a tenant start waiting, by every
    throttle of the process that has no observer of its own: the authorize role prints a progress line with it."""
    _OBSERVERS['process'] = observer


def shared_throttle(graph_base_url, tenant_id, client_id):
    """The process's one Throttle for this Graph endpoint, tenant and client (created on first use)."""
    key = tuple(str(part or '').lower() for part in (graph_base_url, tenant_id, client_id))
    with _THROTTLES_LOCK:
        throttle = _THROTTLES.get(key)
        if throttle is None:
            label = 'tenant %s' % (tenant_id or '(from the token)')
            if client_id:
                label += ', client %s' % client_id
            throttle = _THROTTLES[key] = Throttle(label)
        return throttle


def forget_shared_throttles():
    """Drop every shared Throttle (tests: each test is a run of its own)."""
    with _THROTTLES_LOCK:
        _THROTTLES.clear()
    _OBSERVERS.clear()
