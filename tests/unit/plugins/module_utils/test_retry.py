# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.entra.provisioning.plugins.module_utils._graph.retry import (
    BACKOFF_CEILING,
    Retry,
    RetryPolicy,
    is_retryable,
    parse_retry_after,
    sign_in_retry,
)

NOW = 1767225600.0  # 2026-01-01T00:00:00Z


class GaveUp(Exception):
    """The error the tests' Retry builds when the runner gives up; it keeps the runner's reason."""

    def __init__(self, reason):
        super(GaveUp, self).__init__(reason)
        self.reason = reason


def scripted(*outcomes):
    """Return a try_once that returns ``outcomes`` one per call (raising those that are exceptions), and its calls."""
    calls = []

    def try_once():
        outcome = outcomes[len(calls)]
        calls.append(outcome)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome
    return try_once, calls


def retry(retry_after=None, least_wait=None):
    """A Retry whose giving up raises GaveUp."""
    return Retry(GaveUp, retry_after=retry_after, least_wait=least_wait)


@pytest.mark.parametrize('status, code', [(429, None), (503, None), (504, None),
                                          (409, 'Directory_ConcurrencyViolation')])
def test_throttling_and_transient_answers_are_retried(status, code):
    assert is_retryable(status, code)


@pytest.mark.parametrize('status, code', [(400, None), (401, 'InvalidAuthenticationToken'), (403, None), (404, None),
                                          (409, 'Request_MultipleObjectsWithSameKeyValue'), (500, None), (502, None)])
def test_other_answers_are_not_retried(status, code):
    assert not is_retryable(status, code)


def test_retry_after_seconds():
    assert parse_retry_after('7') == 7.0


def test_retry_after_http_date():
    assert parse_retry_after('Thu, 01 Jan 2026 00:00:30 GMT', now=NOW) == 30.0


def test_retry_after_date_with_unknown_zone_is_read_as_gmt():
    assert parse_retry_after('Thu, 01 Jan 2026 00:00:30 -0000', now=NOW) == 30.0


def test_retry_after_in_the_past_means_no_wait():
    assert parse_retry_after('Wed, 31 Dec 2025 23:59:00 GMT', now=NOW) == 0.0


@pytest.mark.parametrize('value', [None, '', 'soon', '-'])
def test_unreadable_retry_after_is_ignored(value):
    assert parse_retry_after(value) is None


def test_retry_after_wins_over_backoff():
    policy = RetryPolicy(5, random_fraction=lambda: 1.0)
    assert policy.delay(4, '2') == 2.0


def test_backoff_doubles_per_attempt_within_full_jitter():
    policy = RetryPolicy(5, random_fraction=lambda: 1.0)
    assert [policy.delay(attempt) for attempt in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]


def test_backoff_jitter_scales_the_whole_range():
    policy = RetryPolicy(5, random_fraction=lambda: 0.25)
    assert policy.delay(3) == 1.0


def test_backoff_has_a_ceiling():
    policy = RetryPolicy(20, random_fraction=lambda: 1.0)
    assert policy.delay(15) == BACKOFF_CEILING


def test_attempts_are_the_first_plus_retries():
    policy = RetryPolicy(2)
    assert policy.max_attempts == 3
    assert [policy.can_retry(attempt) for attempt in (1, 2, 3)] == [True, True, False]


# -- the runner ------------------------------------------------------------------------------------------------------

def test_run_retries_then_returns_the_value(retry_policy, sleeper):
    try_once, calls = scripted(retry(), retry(), 'value')
    assert retry_policy.run(try_once) == 'value'
    assert len(calls) == 3 and sleeper.delays == [1.0, 2.0]


def test_run_gives_up_after_max_attempts_and_says_how_many(retry_policy, sleeper):
    try_once, calls = scripted(*[retry()] * 9)
    with pytest.raises(GaveUp) as caught:
        retry_policy.run(try_once)
    assert caught.value.reason == 'gave up after 4 attempts'
    assert len(calls) == 4 and len(sleeper.delays) == 3


def test_run_waits_what_the_server_asked(retry_policy, sleeper):
    try_once, _calls = scripted(retry(retry_after='7'), 'value')
    assert retry_policy.run(try_once) == 'value'
    assert sleeper.delays == [7.0]


def test_run_refuses_a_server_wait_over_max_retry_after(retry_policy, sleeper):
    try_once, calls = scripted(retry(retry_after='3600'), 'value')
    with pytest.raises(GaveUp) as caught:
        retry_policy.run(try_once)
    assert caught.value.reason == 'Graph asked to wait 3600 seconds, longer than 300; run again later'
    assert len(calls) == 1 and sleeper.delays == []


def test_run_waits_at_least_the_least_wait(sleeper):
    policy = RetryPolicy(3, sleep=sleeper, random_fraction=lambda: 0.0)
    try_once, _calls = scripted(retry(least_wait=6), 'value')
    assert policy.run(try_once) == 'value'
    assert sleeper.delays == [6]


def test_run_keeps_a_backoff_longer_than_the_least_wait(retry_policy, sleeper):
    try_once, _calls = scripted(retry(), retry(), retry(least_wait=3), 'value')
    retry_policy.run(try_once)
    assert sleeper.delays == [1.0, 2.0, 4.0]


def test_run_counts_each_retry_before_its_wait(retry_policy, sleeper):
    counted = []
    try_once, _calls = scripted(retry(), retry(), 'value')
    retry_policy.run(try_once, count_retry=lambda: counted.append(len(sleeper.delays)))
    assert counted == [0, 1]


def test_run_counts_only_the_retries_it_makes(retry_policy):
    counted = []
    try_once, _calls = scripted(*[retry()] * 4)
    with pytest.raises(GaveUp):
        retry_policy.run(try_once, count_retry=lambda: counted.append(1))
    assert len(counted) == 3


def test_run_lets_an_error_of_the_attempt_through_without_retrying(retry_policy, sleeper):
    try_once, calls = scripted(retry(), ValueError('refused'), 'value')
    with pytest.raises(ValueError):
        retry_policy.run(try_once)
    assert len(calls) == 2 and sleeper.delays == [1.0]


def test_decide_gives_the_wait_or_the_error_for_a_loop_of_its_own(retry_policy):
    assert retry_policy.decide(1, retry(retry_after='2')) == (None, 2.0)
    error, wait = retry_policy.decide(4, retry(retry_after='2'))
    assert wait is None and error.reason == 'gave up after 4 attempts'


# -- the one room that decides ---------------------------------------------------------------------------------------

class Unknown(Exception):
    """The error a Retry builds when its request may have run."""


class Final(Exception):
    """The error a Retry builds for an answer that is not retried."""


def answer(status, error_code=None, idempotent=True, sent=False, retry_after=None):
    return Retry(GaveUp, retry_after=retry_after, status=status, error_code=error_code, idempotent=idempotent,
                 sent=sent, unknown=Unknown, final=Final)


def test_an_answer_that_is_not_throttling_or_transient_stands(retry_policy):
    assert retry_policy.decide(1, answer(404)) == (None, None)
    assert retry_policy.decide(1, answer(409, 'Request_MultipleObjectsWithSameKeyValue')) == (None, None)


def test_run_raises_the_final_error_of_an_answer_that_stands(retry_policy, sleeper):
    try_once, calls = scripted(answer(403), 'value')
    with pytest.raises(Final):
        retry_policy.run(try_once)
    assert len(calls) == 1 and sleeper.delays == []


@pytest.mark.parametrize('status, sent', [(504, False), (None, True)])
def test_a_write_that_may_have_run_is_never_repeated_whatever_retries_are_left(retry_policy, status, sent):
    error, wait = retry_policy.decide(1, answer(status, idempotent=False, sent=sent))
    assert isinstance(error, Unknown) and wait is None


@pytest.mark.parametrize('status, sent', [(504, False), (None, True)])
def test_a_read_that_may_have_run_is_sent_again(retry_policy, status, sent):
    assert retry_policy.decide(1, answer(status, sent=sent)) == (None, 1.0)


@pytest.mark.parametrize('status, code', [(429, None), (503, None), (409, 'Directory_ConcurrencyViolation')])
def test_a_write_refused_before_it_ran_is_sent_again(retry_policy, status, code):
    assert retry_policy.decide(1, answer(status, code, idempotent=False, retry_after='3')) == (None, 3.0)


def test_a_write_whose_connection_failed_before_sending_is_sent_again(retry_policy):
    assert retry_policy.decide(1, answer(None, idempotent=False, sent=False)) == (None, 1.0)


def test_run_lets_the_pace_do_the_waiting(retry_policy, sleeper):
    paced = []
    try_once, _calls = scripted(retry(retry_after='4'), 'value')
    assert retry_policy.run(try_once, pace=paced.append) == 'value'
    assert paced == [0.0, 4.0] and sleeper.delays == []


def test_a_sign_in_retry_waits_a_second_more_than_the_service_asked(retry_policy):
    assert retry_policy.decide(1, sign_in_retry(GaveUp, 5)) == (None, 6)
    error, _wait = retry_policy.decide(1, sign_in_retry(GaveUp, 900))
    assert error.reason.startswith('the sign-in service asked to wait 901 seconds')
