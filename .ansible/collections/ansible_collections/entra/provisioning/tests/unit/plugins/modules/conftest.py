# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures for module tests: no secrets left over between tests, no AZURE_* variables, fake HTTP."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import pytest
import responses

from ansible_collections.entra.provisioning.plugins.module_utils._redact import SecretRegistry


@pytest.fixture(autouse=True)
def run_secrets():
    """Each test is one run, with its own secret registry."""
    with SecretRegistry().in_use():
        yield


@pytest.fixture(autouse=True)
def no_azure_variables(monkeypatch):
    """The machine's AZURE_* variables must not choose credentials or clouds for a test."""
    for variable in list(os.environ):
        if variable.startswith('AZURE_') or variable in ('REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE'):
            monkeypatch.delenv(variable)


@pytest.fixture
def http():
    """A responses mock: a request to a URL nobody registered fails with a ConnectionError."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
