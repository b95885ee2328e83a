# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from email.utils import formatdate

import pytest
import responses

from ansible_collections.entra.provisioning.plugins.module_utils._errors import RetriesExhaustedError
from ansible_collections.entra.provisioning.plugins.module_utils._graph.retry import RetryPolicy
from ansible_collections.entra.provisioning.plugins.module_utils._graph.throttle import (
    SLOW_START_POLL,
    SLOW_START_SECONDS,
    Throttle,
    is_throttling,
    observe_throttles,
    shared_throttle,
)
from ansible_collections.entra.provisioning.tests.unit.plugins.module_utils.helpers import (
    FakeClock,
    TENANT_ID,
    graph_token,
    make_client,
)

GRAPH = 'https://graph.microsoft.com/v1.0'
NOW = 1767225600.0  # 2026-01-01T00:00:00Z, the wall clock of these tests


class Sleeper(object):
    """Sleeps on a FakeClock: records each wait and moves the clock on; ``during`` runs inside the next sleep."""

    def __init__(self, clock):
        self.clock = clock
        self.delays = []
        self.during = None

    def __call__(self, seconds):
        self.delays.append(seconds)
        self.clock.advance(seconds)
        if self.during is not None:
            during, self.during = self.during, None
            during()


@pytest.fixture
def clock():
    return FakeClock(NOW)


@pytest.fixture
def sleep(clock):
    return Sleeper(clock)


@pytest.fixture
def throttle(clock):
    return Throttle('tenant t', clock=clock, wall_clock=clock)


def test_requests_go_unpaced_until_the_tenant_first_throttles(throttle, sleep):
    for _envelope in range(50):
        throttle.acquire(20, sleep)
        throttle.answered(sleep.clock(), accepted=20)
    assert sleep.delays == [] and throttle.rate is None


def test_before_graph_says_anything_one_envelope_goes_then_twice_as_many_each_round_trip(throttle, sleep, clock):
    first = throttle.acquire(20, sleep)
    # a second sender is held back until the first envelope's answer comes (during its first look away)
    sleep.during = lambda: throttle.answered(first, accepted=20)
    second = throttle.acquire(20, sleep)
    assert sleep.delays == [SLOW_START_POLL]
    third = throttle.acquire(20, sleep)
    assert sleep.delays == [SLOW_START_POLL] and second == third
    throttle.answered(second, accepted=20)
    throttle.answered(third, accepted=20)
    # 80 requests may now be unanswered at once
    for _sender in range(4):
        throttle.acquire(20, sleep)
    assert sleep.delays == [SLOW_START_POLL]


def test_the_slow_start_ends_at_the_first_429(throttle, sleep, clock):
    throttle.answered(throttle.acquire(20, sleep), accepted=10, throttled=10, retry_after='1')
    sleep.delays[:] = []
    for _sender in range(4):
        throttle.acquire(5, sleep)
    # the pause, then the pace alone (9 a second, a burst of 9), never the slow start's short looks
    assert sleep.delays == pytest.approx([1.0, 1 / 9.0, 5 / 9.0, 5 / 9.0])


def test_an_envelope_never_answered_holds_the_others_back_a_second_at_most(throttle, sleep, clock):
    started = clock()
    throttle.acquire(20, sleep)
    throttle.acquire(20, sleep)
    assert clock() - started == pytest.approx(SLOW_START_SECONDS, abs=SLOW_START_POLL)
    throttle.acquire(20, sleep)
    assert clock() - started == pytest.approx(SLOW_START_SECONDS, abs=SLOW_START_POLL)


def test_a_429_makes_every_sender_wait_until_the_time_it_names(throttle, sleep, clock):
    first_sender_sent = throttle.acquire(1, sleep)
    throttle.answered(first_sender_sent, throttled=1, retry_after='5')
    clock.advance(2)
    # another sender, which never saw the 429, waits what is left of it
    throttle.acquire(1, sleep)
    assert sleep.delays == [pytest.approx(3.0)]


def test_retry_after_as_an_http_date(throttle, sleep):
    sent = throttle.acquire(1, sleep)
    throttle.answered(sent, throttled=1, retry_after=formatdate(NOW + 30, usegmt=True))
    throttle.acquire(1, sleep)
    assert sleep.delays == [pytest.approx(30.0)]


def test_a_503_with_retry_after_throttles_and_one_without_does_not():
    assert is_throttling(503, '10') and is_throttling(429, None)
    assert not is_throttling(503, None) and not is_throttling(504, '10') and not is_throttling(200, None)


def test_no_request_leaves_before_the_pause_even_when_it_asked_for_less(throttle, sleep):
    sent = throttle.acquire(1, sleep)
    throttle.answered(sent, throttled=1, retry_after='4')
    # a retry whose own wait (a backoff, say) is shorter still waits for the tenant
    throttle.acquire(1, sleep, not_before=0.5)
    assert sleep.delays == [4.0]


def test_a_senders_own_longer_wait_is_kept_exactly(throttle, sleep):
    sent = throttle.acquire(1, sleep)
    throttle.answered(sent, throttled=1, retry_after='1')
    throttle.acquire(1, sleep, not_before=7.0)
    assert sleep.delays == [7.0]


def test_a_pause_that_begins_while_a_sender_sleeps_holds_it_back_too(throttle, sleep, clock):
    throttle.answered(throttle.acquire(20, sleep), accepted=20)
    throttle.answered(throttle.acquire(20, sleep), throttled=20, retry_after='1')
    clock.advance(1)
    throttle.acquire(10, sleep)  # the tenant's pace (19 a second) lets 10 go at once now
    later = clock()
    # while the next sender sleeps for its slot, another sender's answer says to wait 3 s more
    sleep.during = lambda: throttle.answered(later, throttled=1, retry_after='3')
    throttle.acquire(20, sleep)
    assert len(sleep.delays) >= 2
    assert sum(sleep.delays) >= 3.0  # it slept for its slot, then again until the new pause was over


def test_after_a_429_the_pace_is_what_the_tenant_accepted_a_little_less(throttle, sleep, clock):
    for _envelope in range(2):
        throttle.answered(throttle.acquire(20, sleep), accepted=20)
    clock.advance(0.1)
    throttle.answered(throttle.acquire(20, sleep), throttled=20, retry_after='1')
    # 40 accepted over 0.1 s, then a wait of a second: the first time, the burst is spread over the wait too
    assert throttle.rate == pytest.approx(40 / 1.1 * 0.9)


def test_an_envelope_costs_one_per_item(throttle, sleep, clock):
    throttle.answered(throttle.acquire(10, sleep), accepted=10)
    throttle.answered(clock(), throttled=1, retry_after='1')
    assert throttle.rate == pytest.approx(9.0)
    sleep.delays[:] = []
    throttle.acquire(1, sleep)  # the pause, after which 9 requests' worth has refilled
    assert sleep.delays == [1.0]
    throttle.acquire(8, sleep)
    throttle.acquire(20, sleep)  # larger than a second's worth: it goes once a full second's worth is there
    assert sleep.delays[1:] == [pytest.approx(9.0 / 9.0)]
    throttle.acquire(1, sleep)  # and leaves a debt of 11 the next one waits out
    assert sleep.delays[2:] == [pytest.approx(12.0 / 9.0)]


def test_each_accepted_request_raises_the_pace_a_little(throttle, sleep, clock):
    throttle.answered(throttle.acquire(20, sleep), accepted=20)
    throttle.answered(clock(), throttled=1, retry_after='1')
    before = throttle.rate
    throttle.answered(throttle.acquire(10, sleep), accepted=10)
    assert throttle.rate == pytest.approx(before + 10 * 0.02)


def test_a_later_429_lowers_the_pace_by_a_factor_once_per_pause(throttle, sleep, clock):
    throttle.answered(throttle.acquire(20, sleep), accepted=20)
    throttle.answered(clock(), throttled=1, retry_after='1')
    sent_before_the_decrease = clock()
    for _second in range(5):
        throttle.answered(throttle.acquire(19, sleep), accepted=19)
    sent = throttle.acquire(19, sleep)
    throttle.answered(sent, accepted=18)
    before = throttle.rate
    throttle.answered(sent, throttled=1, retry_after='1')
    lowered = throttle.rate
    assert lowered <= before * 0.9
    # answers to requests that left before that decrease are the same overload: no second decrease
    throttle.answered(sent_before_the_decrease, throttled=5, retry_after='1')
    throttle.answered(sent, throttled=1, retry_after='1')
    assert throttle.rate == lowered


def test_a_tenant_capped_at_20_a_second_refuses_few_requests_and_takes_all(clock, sleep):
    """Two senders of 20-item envelopes against a tenant whose bucket holds 20 and refills 20 a second."""
    throttle = Throttle('tenant t', clock=clock, wall_clock=clock)
    bucket = {'tokens': 20.0, 'at': clock()}
    refused = []
    accepted = []

    def send(items):
        sent = throttle.acquire(items, sleep)
        clock.advance(0.025)
        bucket['tokens'] = min(20.0, bucket['tokens'] + (clock() - bucket['at']) * 20)
        bucket['at'] = clock()
        taken = min(items, int(bucket['tokens']))
        bucket['tokens'] -= taken
        accepted.append(taken)
        refused.append(items - taken)
        throttle.answered(sent, accepted=taken, throttled=items - taken, retry_after='1' if taken < items else None)
        return items - taken

    left = 400
    started = clock()
    while left > 0:
        left -= min(20, left) - send(min(20, left))
    elapsed = clock() - started
    assert sum(accepted) == 400
    assert sum(refused) <= 0.1 * 400
    # the cap over the run: the first 20 at once, then 20 a second
    assert sum(accepted) >= 0.9 * (20 + 20 * elapsed)


def test_a_slot_reserved_after_the_pause_stays_spent_when_another_429_of_the_same_wave_comes(throttle, clock):
    """Four senders went at once before anything was known; two were refused. The first refused one reserves its
    retry after the pause; the second refusal, heard now, must not hand the budget that retry took out again."""
    planned = []
    # the slow start's rounds: one envelope, then two, all accepted; then four may go at once
    throttle.answered(throttle.acquire(20, planned.append), accepted=20)
    for sent in [throttle.acquire(20, planned.append) for _sender in range(2)]:
        throttle.answered(sent, accepted=20)
    first_wave = [throttle.acquire(20, planned.append) for _sender in range(4)]
    assert planned == []
    clock.advance(0.03)
    throttle.answered(first_wave[0], accepted=20)
    throttle.answered(first_wave[1], accepted=20)
    throttle.answered(first_wave[2], throttled=20, retry_after='1')
    first_retry = throttle.acquire(20, planned.append, not_before=1.0)
    throttle.answered(first_wave[3], throttled=20, retry_after='1')
    second_retry = throttle.acquire(20, planned.append, not_before=1.0)
    assert first_retry == pytest.approx(clock() + 1.0)
    # the pace allows a burst of one second's worth: 20 of it went with the first retry
    assert second_retry - first_retry >= (20 - (throttle.rate - 20)) / throttle.rate - 1e-9


def test_an_observer_hears_each_pause_once(throttle, sleep):
    heard = []
    throttle.observer = heard.append
    throttle.answered(throttle.acquire(20, sleep), accepted=20)
    sent = throttle.acquire(20, sleep)
    throttle.answered(sent, throttled=12, retry_after='2')
    throttle.answered(sent, throttled=8, retry_after='1')
    assert len(heard) == 1
    assert heard[0].seconds == 2.0 and heard[0].status == 429
    assert str(heard[0]) == ('Graph answered 429 for tenant t: every request to it waits 2.0 s; then at most 9.0 '
                             'requests/s')


def test_the_process_observer_hears_the_throttles_that_have_none(throttle, sleep):
    heard = []
    observe_throttles(heard.append)
    throttle.answered(throttle.acquire(1, sleep), throttled=1, retry_after='3')
    assert [wait.seconds for wait in heard] == [3.0]


def test_a_wait_longer_than_any_retry_makes_holds_nobody_back(throttle, sleep):
    sent = throttle.acquire(1, sleep)
    throttle.answered(sent, throttled=1, retry_after='3600')
    throttle.acquire(1, sleep)
    assert sleep.delays == []


def test_clients_of_one_tenant_and_sign_in_share_one_throttle():
    first = make_client({'access_token': graph_token(), 'tenant_id': TENANT_ID})
    second = make_client({'access_token': graph_token(), 'tenant_id': TENANT_ID})
    other_tenant = make_client({'access_token': graph_token(), 'tenant_id': '99999999-2222-3333-4444-555555555555'})
    assert first.throttle is second.throttle
    assert first.throttle is shared_throttle('https://graph.microsoft.com', TENANT_ID.upper(), None)
    assert other_tenant.throttle is not first.throttle


def test_a_429_seen_by_one_client_holds_back_the_other_clients_requests(http, clock, sleep):
    options = {'access_token': graph_token(), 'tenant_id': TENANT_ID}
    # the first client makes no retry, so the second one asks while the wait the first was told is still running
    first = make_client(options, retry_policy=RetryPolicy(0, sleep=sleep))
    second = make_client(options, retry_policy=RetryPolicy(3, sleep=sleep))
    first.throttle.__init__('tenant t', clock=clock, wall_clock=clock)
    http.add(responses.GET, GRAPH + '/organization', status=429, headers={'Retry-After': '6'})
    http.add(responses.GET, GRAPH + '/servicePrincipals', json={'value': []})
    with pytest.raises(RetriesExhaustedError):
        first.request('GET', 'organization')
    second.request('GET', 'servicePrincipals')
    assert sleep.delays == [6.0]
