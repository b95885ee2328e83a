# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.entra.provisioning.plugins.module_utils._retry import (
    BACKOFF_CEILING,
    RetryPolicy,
    is_retryable,
    parse_retry_after,
)

NOW = 1767225600.0  # 2026-01-01T00:00:00Z


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
