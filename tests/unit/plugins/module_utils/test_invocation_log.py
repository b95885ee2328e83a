# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``Invoked with`` line a module writes to syslog or journald: no secret in any shape, identifiers readable."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import syslog
import sys
import types

import pytest

from ansible.module_utils import basic

from ansible_collections.entra.provisioning.plugins.module_utils._invocation_log import (
    PLAIN_ITEM_KEYS,
    invocation_log_args,
)
from ansible_collections.entra.provisioning.plugins.module_utils._module import EntraModule, SECRET_CONTAINERS
from ansible_collections.entra.provisioning.plugins.module_utils import _redact
from ansible_collections.entra.provisioning.plugins.module_utils._redact import MASK
from ansible_collections.entra.provisioning.plugins.module_utils._sync.authorization import APPLICATION_ITEM_SPEC
from ansible_collections.entra.provisioning.plugins.module_utils._sync.credential_check import CHECK_ITEM_SPEC
from ansible_collections.entra.provisioning.plugins.module_utils._sync.jobs import JOB_INFO_ITEM_SPEC, JOB_ITEM_SPEC
from ansible_collections.entra.provisioning.plugins.module_utils._sync.provision import (
    PROVISION_ITEM_SPEC,
    SUBJECT_SPEC,
)
from ansible_collections.entra.provisioning.plugins.module_utils._sync.schema import (
    CLAUSE_SPEC,
    GROUP_SPEC,
    MAPPING_SPEC,
    SCHEMA_INFO_ITEM_SPEC,
    SCHEMA_ITEM_SPEC,
    SCOPING_SPEC,
)
from ansible_collections.entra.provisioning.plugins.module_utils._sync.secrets import SECRETS_ITEM_SPEC
from ansible_collections.entra.provisioning.tests.unit.plugins.module_utils.helpers import patch_module_args

# Escaped by str(list): a backslash, a newline, a tab and both kinds of quote.
AWKWARD = 'canary-awk\\ward\n"double"\t\'single\'-5c2d'
DIRECT_APP_KEY = 'canary-app-key-typed-on-the-item-3e1f'
DIRECT_CODE = 'canary-oauth-code-typed-on-the-item-9a7b'
TYPED_VALUE = 'canary-typed-pair-value\\with-backslash-4d2c'
SERVICE_PRINCIPAL_ID = '0d5f6f0c-1111-4222-8333-944444444444'
APP_NAME = 'workday-to-entra-hr'

RAW_OPTIONS = dict(
    service_principal_id=dict(type='str'),
    credentials=dict(type='raw', no_log=False),
    applications=dict(type='list', elements='raw'),
)
PAIR_SPEC = dict(key=dict(type='str', required=True, no_log=False), value=dict(type='str', required=True, no_log=True))
TYPED_OPTIONS = dict(
    credentials=dict(type='list', elements='dict', options=PAIR_SPEC, no_log=False),
    applications=dict(type='list', elements='raw'),
)


def _forms(value):
    """The value and the escaped forms a rendering may give it."""
    return {value, repr(value)[1:-1], json.dumps(value)[1:-1]} | set(value.splitlines())


@pytest.fixture(params=['syslog', 'journald'])
def system_log(request, monkeypatch):
    """Everything a module hands to syslog or to journald (message and fields), captured instead of sent."""
    written = []
    monkeypatch.setattr(syslog, 'openlog', lambda *args, **kwargs: None)
    monkeypatch.setattr(syslog, 'syslog', lambda *args: written.append(args[-1]))
    if request.param == 'journald':
        journal = types.SimpleNamespace(send=lambda **fields: written.extend(str(value) for value in fields.values()),
                                        sendv=None)
        holders = [basic]
        logging_module = sys.modules.get('ansible.module_utils._internal._logging')
        if logging_module is not None and hasattr(logging_module, 'has_journal'):
            holders.append(logging_module)  # ansible-core 2.22 logs from there
        for holder in holders:
            if hasattr(holder, 'has_journal'):
                monkeypatch.setattr(holder, 'has_journal', True)
                monkeypatch.setattr(holder, 'journal', journal, raising=False)
    return written


def _start(args, options, monkeypatch, then=None):
    for variable in list(os.environ):
        if variable.startswith('AZURE_'):
            monkeypatch.delenv(variable)
    with patch_module_args(args):
        module = EntraModule(argument_spec=options, supports_check_mode=True)
        if then is not None:
            with pytest.raises(SystemExit):
                then(module)
        return module


SHAPES = {
    'raw credentials with an awkward value': (RAW_OPTIONS, {
        'service_principal_id': SERVICE_PRINCIPAL_ID,
        'credentials': [{'key': 'SecretToken', 'value': AWKWARD}]}),
    'raw credentials as a mapping': (RAW_OPTIONS, {
        'service_principal_id': SERVICE_PRINCIPAL_ID, 'credentials': {'SecretToken': AWKWARD}}),
    'typed pairs whose value is no_log': (TYPED_OPTIONS, {
        'credentials': [{'key': 'SecretToken', 'value': TYPED_VALUE}]}),
    'a bulk item with an awkward credential': (RAW_OPTIONS, {'applications': [
        {'name': APP_NAME, 'service_principal_id': SERVICE_PRINCIPAL_ID,
         'credentials': [{'key': 'SecretToken', 'value': AWKWARD}]}]}),
    'AppKey and a code typed on a bulk item': (RAW_OPTIONS, {'applications': [
        {'name': APP_NAME, 'service_principal_id': SERVICE_PRINCIPAL_ID,
         'AppKey': DIRECT_APP_KEY, 'Oauth2AuthorizationCode': DIRECT_CODE}]}),
    'a string bulk item': (RAW_OPTIONS, {'applications': ['SecretToken=' + AWKWARD]}),
}


@pytest.mark.parametrize('shape', sorted(SHAPES))
def test_no_secret_reaches_the_system_log_in_any_shape(shape, system_log, monkeypatch):
    options, args = SHAPES[shape]
    _start(args, options, monkeypatch)
    assert system_log, 'the module logged nothing, so the test proves nothing'
    text = '\n'.join(system_log)
    assert 'Invoked with' in text
    for secret in (AWKWARD, DIRECT_APP_KEY, DIRECT_CODE, TYPED_VALUE):
        for form in _forms(secret):
            if len(form) >= 8:
                assert form not in text


def test_a_secret_too_short_for_the_registry_is_still_masked_by_ansible_core(system_log, monkeypatch):
    _start({'service_principal_id': SERVICE_PRINCIPAL_ID, 'client_secret': 'q7z',
            'credentials': [{'key': 'SecretToken', 'value': 'q7z'}]}, RAW_OPTIONS, monkeypatch)
    messages = [line for line in system_log if 'Invoked with' in line]
    assert messages and all('q7z' not in line for line in messages)


def test_identifiers_stay_readable_in_the_system_log(system_log, monkeypatch):
    _start(SHAPES['AppKey and a code typed on a bulk item'][1], RAW_OPTIONS, monkeypatch)
    text = '\n'.join(system_log)
    assert APP_NAME in text and SERVICE_PRINCIPAL_ID in text
    assert "'AppKey': '%s'" % MASK in text


def test_a_secret_typed_on_a_bulk_item_is_masked_in_the_result_too(capsys, monkeypatch):
    _start(SHAPES['AppKey and a code typed on a bulk item'][1], RAW_OPTIONS, monkeypatch,
           then=lambda module: module.exit_json(changed=False, invocation={'module_args': module.params}))
    result = json.loads(capsys.readouterr().out)
    # ansible-core 2.22+ masks what it is handed here at output, and returns invocation only when asked
    handed_to_core = result.pop('_ansible_new_secrets', [])
    printed = json.dumps(result)
    assert DIRECT_APP_KEY not in printed and DIRECT_CODE not in printed
    if _redact._core_register_secret is not None:
        # handed on once per process: an earlier test of this process may have been the first to register them
        from ansible.module_utils.secrets import mask_secrets  # pylint: disable=import-outside-toplevel
        assert all(mask_secrets(value) != value for value in (DIRECT_APP_KEY, DIRECT_CODE)), handed_to_core
    if 'invocation' in result:
        assert APP_NAME in printed


def test_log_args_mask_by_position():
    spec = dict(RAW_OPTIONS, client_secret=dict(type='str', no_log=True), tags=dict(type='list', elements='str'))
    params = {
        'client_secret': 'x',
        'client_secert': 'misspelt-option-value',
        'tags': ['plain', 'has-a-registered-secret-inside'],
        'credentials': [{'key': 'SecretToken', 'value': 12345678}],
        'applications': [{'name': APP_NAME, 'force': True, 'unknown': ['a-b-c-d']}, 'loose string'],
        '_ansible_check_mode': False,
    }
    logged = invocation_log_args(params, spec, lambda text: text.replace('registered-secret', MASK),
                                 SECRET_CONTAINERS)
    assert logged['client_secret'] == MASK
    assert logged['client_secert'] == MASK
    assert logged['tags'] == str(['plain', 'has-a-%s-inside' % MASK])
    assert logged['credentials'] == str([{'key': 'SecretToken', 'value': MASK}])
    assert logged['applications'] == str([{'name': APP_NAME, 'force': True, 'unknown': [MASK]}, MASK])
    assert '_ansible_check_mode' not in logged


def test_plain_item_keys_are_the_non_secret_keys_of_every_item_spec():
    item_specs = (APPLICATION_ITEM_SPEC, SECRETS_ITEM_SPEC, JOB_ITEM_SPEC, JOB_INFO_ITEM_SPEC, SCHEMA_INFO_ITEM_SPEC,
                  SCHEMA_ITEM_SPEC, MAPPING_SPEC, SCOPING_SPEC, GROUP_SPEC, CLAUSE_SPEC, PROVISION_ITEM_SPEC,
                  SUBJECT_SPEC, CHECK_ITEM_SPEC)
    plain = set()
    for spec in item_specs:
        plain.update(name for name, definition in spec.items() if not definition.get('no_log'))
    assert plain == set(PLAIN_ITEM_KEYS)
