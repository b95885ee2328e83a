# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

import pytest

from ansible_collections.entra.provisioning.plugins.module_utils._errors import (
    EntraError,
    MissingDependencyError,
)
from ansible_collections.entra.provisioning.plugins.module_utils._module import EntraModule, shared_argument_spec
from ansible_collections.entra.provisioning.tests.unit.plugins.doc_fragment_options import shared_documented_options
from ansible_collections.entra.provisioning.tests.unit.plugins.module_utils.helpers import (
    CLIENT_ID,
    TENANT_ID,
    patch_module_args,
)

MODULE_OPTIONS = dict(object_ids=dict(type='list', elements='str', required=True))


@pytest.fixture(autouse=True)
def no_azure_variables(monkeypatch):
    for variable in list(os.environ):
        if variable.startswith('AZURE_'):
            monkeypatch.delenv(variable)


def run_module(args, capsys, action):
    with patch_module_args(args):
        module = EntraModule(argument_spec=MODULE_OPTIONS, supports_check_mode=True)
        with pytest.raises(SystemExit):
            action(module)
    return json.loads(capsys.readouterr().out)


def test_module_declares_only_its_own_options_and_gets_the_shared_ones(capsys):
    with patch_module_args({'object_ids': ['x'], 'tenant_id': TENANT_ID}):
        module = EntraModule(argument_spec=MODULE_OPTIONS)
    assert module.params['object_ids'] == ['x']
    assert module.params['tenant_id'] == TENANT_ID
    assert (module.params['auth_method'], module.params['api_version'], module.params['timeout'],
            module.params['max_retries'], module.params['validate_certs']) == ('auto', 'v1.0', 30, 5, True)


def test_every_secret_option_is_no_log():
    spec = shared_argument_spec()
    assert sorted(name for name, definition in spec.items() if definition.get('no_log')) == [
        'access_token', 'client_certificate_password', 'client_secret']


def test_shared_spec_is_a_fresh_copy_each_time():
    first = shared_argument_spec()
    first['auth_method']['choices'].append('oops')
    assert 'oops' not in shared_argument_spec()['auth_method']['choices']


def test_doc_fragment_documents_exactly_the_shared_options():
    documented = shared_documented_options()
    spec = shared_argument_spec()
    assert sorted(documented) == sorted(spec)
    for name, definition in spec.items():
        doc = documented[name]
        assert doc['type'] == definition['type'], name
        assert doc.get('default') == definition.get('default'), name
        assert doc.get('choices') == definition.get('choices') if 'choices' in definition else 'choices' not in doc
        assert doc['version_added'] == '0.1.0', name


def test_doc_fragment_names_every_environment_fallback():
    from ansible_collections.entra.provisioning.plugins.module_utils._options import ENV_FALLBACKS
    documented = shared_documented_options()
    for option, variables in ENV_FALLBACKS.items():
        text = ' '.join(documented[option]['description'])
        for variable in variables:
            assert 'E(%s)' % variable in text, (option, variable)


def test_entra_error_becomes_a_failure_with_its_fields(capsys):
    error = EntraError('POST /x failed with HTTP 403.', status=403, code='Authorization_RequestDenied',
                       request_id='r', client_request_id='c', date='d')
    result = run_module({'object_ids': ['x']}, capsys, lambda module: module.fail_from_error(error, changed=False))
    assert result['failed'] is True
    assert result['msg'] == 'POST /x failed with HTTP 403.'
    assert result['error'] == error.to_dict()
    assert result['changed'] is False


def test_missing_library_failure_uses_ansibles_wording(capsys):
    error = MissingDependencyError('msal missing', library='msal', import_error='Traceback: no msal')
    result = run_module({'object_ids': ['x']}, capsys, lambda module: module.fail_from_error(error))
    assert 'Failed to import the required Python library (msal)' in result['msg']


def test_bad_options_fail_the_module_before_any_request(capsys):
    result = run_module({'object_ids': ['x'], 'tenant_id': TENANT_ID, 'client_id': CLIENT_ID}, capsys,
                        lambda module: module.graph_client())
    assert result['failed'] is True
    assert result['msg'].startswith('No credentials were given')
    assert result['error']['message'] == result['msg']


def test_secret_from_the_environment_is_masked_in_module_output(capsys, monkeypatch):
    leaked = 'awx-injected-' + 'secret-value'
    monkeypatch.setenv('AZURE_SECRET', leaked)
    args = {'object_ids': ['x'], 'tenant_id': TENANT_ID, 'client_id': CLIENT_ID}

    def build_then_echo(module):
        module.graph_client()
        module.exit_json(changed=False, echoed='value was %s' % leaked)

    result = run_module(args, capsys, build_then_echo)
    assert leaked not in json.dumps(result)


def test_validate_certs_false_warns(capsys):
    args = {'object_ids': ['x'], 'access_token': 'opaque-token-value', 'validate_certs': False}
    result = run_module(args, capsys, lambda module: (module.graph_client(), module.exit_json(changed=False)))
    # 2.19 reports warnings as structured events, 2.18 as strings: look at the text either way
    assert 'validate_certs is false' in json.dumps(result.get('warnings', []))


def test_client_is_built_once(capsys):
    with patch_module_args({'object_ids': ['x'], 'access_token': 'opaque-token-value'}):
        module = EntraModule(argument_spec=MODULE_OPTIONS)
        assert module.graph_client() is module.graph_client()
