# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.entra.provisioning.plugins.module_utils._options import OptionAdapter
from ansible_collections.entra.provisioning.plugins.module_utils._redact import MASK, redact
from ansible_collections.entra.provisioning.tests.unit.plugins.module_utils.helpers import make_resolver


def test_explicit_option_wins_over_every_environment_variable():
    resolver = make_resolver({'tenant_id': 'explicit.example.com'},
                             {'AZURE_TENANT_ID': 'sdk.example.com', 'AZURE_TENANT': 'awx.example.com'})
    assert resolver.get('tenant_id') == 'explicit.example.com'
    assert resolver.source('tenant_id') == 'option'


@pytest.mark.parametrize('option, first, second', [
    ('tenant_id', 'AZURE_TENANT_ID', 'AZURE_TENANT'),
    ('client_secret', 'AZURE_CLIENT_SECRET', 'AZURE_SECRET'),
])
def test_sdk_variable_wins_over_awx_variable(option, first, second):
    resolver = make_resolver({}, {first: 'from-sdk-variable', second: 'from-awx-variable'})
    assert resolver.get(option) == 'from-sdk-variable'
    assert resolver.source(option) == first


@pytest.mark.parametrize('option, variable', [
    ('tenant_id', 'AZURE_TENANT'),
    ('client_secret', 'AZURE_SECRET'),
    ('client_id', 'AZURE_CLIENT_ID'),
    ('client_certificate_path', 'AZURE_CLIENT_CERTIFICATE_PATH'),
    ('client_certificate_password', 'AZURE_CLIENT_CERTIFICATE_PASSWORD'),
    ('federated_token_file', 'AZURE_FEDERATED_TOKEN_FILE'),
    ('authority_host', 'AZURE_AUTHORITY_HOST'),
    ('cloud', 'AZURE_CLOUD_ENVIRONMENT'),
])
def test_each_option_falls_back_to_its_variable(option, variable):
    resolver = make_resolver({}, {variable: 'value-from-environment'})
    assert resolver.get(option) == 'value-from-environment'
    assert resolver.describe(option) == '%s (from %s)' % (option, variable)


def test_empty_option_and_empty_variable_count_as_unset():
    resolver = make_resolver({'tenant_id': ''}, {'AZURE_TENANT_ID': '  ', 'AZURE_TENANT': 'awx.example.com'})
    assert resolver.get('tenant_id') == 'awx.example.com'


def test_option_without_fallback_ignores_the_environment():
    resolver = make_resolver({}, {'ACCESS_TOKEN': 'x', 'AZURE_ACCESS_TOKEN': 'y'})
    assert resolver.get('access_token') is None
    assert resolver.source('access_token') is None


def test_secret_from_the_environment_is_registered_for_redaction():
    resolver = make_resolver({}, {'AZURE_SECRET': 'awx-injected-secret-value'})
    resolver.get('client_secret')
    assert redact('echo awx-injected-secret-value') == 'echo %s' % MASK


def test_plugin_adapter_reads_missing_options_as_none():
    class Plugin(object):
        def get_option(self, key):
            if key == 'cloud':
                return 'usgov'
            raise KeyError(key)

    adapter = OptionAdapter.from_ansible_plugin(Plugin())
    assert adapter.get_option('cloud') == 'usgov'
    assert adapter.get_option('tenant_id') is None
