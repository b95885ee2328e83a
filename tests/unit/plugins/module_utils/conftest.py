# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures for module_utils tests: fake HTTP (responses), a fake sign-in service, a clock and a sleep recorder."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

import pytest
import responses

from ansible_collections.entra.provisioning.plugins.module_utils._redact import SecretRegistry
from ansible_collections.entra.provisioning.plugins.module_utils._graph.retry import RetryPolicy
from ansible_collections.entra.provisioning.tests.unit.plugins.module_utils.helpers import (
    FakeClock,
    FakeEntra,
    SleepRecorder,
)


@pytest.fixture(autouse=True)
def run_secrets():
    """Each test is one run, with its own secret registry."""
    with SecretRegistry().in_use():
        yield


@pytest.fixture
def http():
    """A responses mock that fails the test on any unexpected or unused request."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def entra(http):
    """A FakeEntra on the ``http`` mock."""
    return FakeEntra(http)


@pytest.fixture
def sleeper():
    """A SleepRecorder."""
    return SleepRecorder()


@pytest.fixture
def clock():
    """A FakeClock at a fixed instant."""
    return FakeClock()


@pytest.fixture
def retry_policy(sleeper):
    """A RetryPolicy with 3 retries that records instead of sleeping and takes the top of each jitter range."""
    return RetryPolicy(3, sleep=sleeper, random_fraction=lambda: 1.0)


@pytest.fixture
def now():
    """The real current time, for claims that are checked against time.time."""
    return time.time()
