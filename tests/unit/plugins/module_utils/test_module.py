# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

import pytest

from ansible.module_utils.common.parameters import remove_values

from ansible_collections.entra.provisioning.plugins.module_utils._errors import (
    EntraError,
    MissingDependencyError,
)
from ansible_collections.entra.provisioning.plugins.module_utils._module import (
    EntraModule,
    looks_like_a_secret_name,
    secret_values,
    shared_argument_spec,
)
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
    if '_ansible_new_secrets' in result:
        # ansible-core 2.22+ masks at output, on the controller: the module must hand the value over to it
        assert leaked in result.pop('_ansible_new_secrets')
    else:
        assert leaked not in json.dumps(result)


def test_result_is_masked_as_ansible_core_masks_it(capsys):
    secret = 'bulk-' + 'secret-value-1'
    given = dict(changed=False, exact=secret, inside='before %s after' % secret, plain='nothing here',
                 nested=[{'value': secret, 'count': 3}, (secret, 'x')], flag=True, empty=None)
    result = run_module({'object_ids': ['x'], 'client_secret': secret}, capsys,
                        lambda module: module.exit_json(**dict(given)))
    result.pop('_ansible_new_secrets', None)
    # ansible-core 2.21 and later leave the invocation out unless the controller asks for it
    invocation = result.pop('invocation', None)
    assert invocation is None or invocation['module_args']['client_secret'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'
    assert result == json.loads(json.dumps(remove_values(given, [secret])))


def test_a_value_too_short_for_the_registry_is_still_masked_by_ansible_core(capsys):
    result = run_module({'object_ids': ['x'], 'client_secret': 'q7z'}, capsys,
                        lambda module: module.fail_json(msg='refused q7z'))
    handed = result.pop('_ansible_new_secrets', None)
    if handed is not None:
        # ansible-core 2.22 and later mask at output, on the controller: the module hands the value over to it
        assert 'q7z' in handed
    else:
        assert result['msg'] == 'refused ********'
        assert 'q7z' not in json.dumps(result)


def test_validate_certs_false_warns(capsys):
    args = {'object_ids': ['x'], 'access_token': 'opaque-token-value', 'validate_certs': False}
    result = run_module(args, capsys, lambda module: (module.graph_client(), module.exit_json(changed=False)))
    # 2.19 reports warnings as structured events, 2.18 as strings: look at the text either way
    assert 'validate_certs is false' in json.dumps(result.get('warnings', []))


def test_client_is_built_once(capsys):
    with patch_module_args({'object_ids': ['x'], 'access_token': 'opaque-token-value'}):
        module = EntraModule(argument_spec=MODULE_OPTIONS)
        assert module.graph_client() is module.graph_client()


# -- every shape a user can type a secret in is masked in the failure (finding 1) -----------------------------

CANARY = 'canary-misshaped-secret-value-7f3a'
PAIR_SPEC = dict(key=dict(type='str', required=True, no_log=False), value=dict(type='str', required=True, no_log=True))
CHECKED_OPTIONS = dict(
    credentials=dict(type='list', elements='dict', options=PAIR_SPEC, no_log=False),
    applications=dict(type='list', elements='dict', options=dict(
        name=dict(type='str'),
        credentials=dict(type='list', elements='dict', options=PAIR_SPEC, required=True, no_log=False),
    )),
)
# What the spec looks like once items are validated in Python instead.
UNCHECKED_OPTIONS = dict(credentials=dict(type='raw'), applications=dict(type='list', elements='raw'))

MISSHAPED = {
    'credentials as a mapping': {'credentials': {'SecretToken': CANARY}},
    'credentials as one-key mappings': {'credentials': [{'SecretToken': CANARY}]},
    'a vaule typo': {'credentials': [{'key': 'SecretToken', 'vaule': CANARY}]},
    'a key=value string': {'credentials': ['SecretToken=' + CANARY]},
    'a whole string': {'credentials': 'SecretToken: ' + CANARY},
    'a credential typo in a bulk item': {'applications': [{'name': 'a', 'credential': [{'key': 'SecretToken',
                                                                                        'value': CANARY}]}]},
    'a mapping in a bulk item': {'applications': [{'name': 'a', 'credentials': {'SecretToken': CANARY}}]},
    'an unknown item key': {'applications': [{'name': 'a', 'credentials': [], 'token': CANARY}]},
    'a string bulk item': {'applications': ['SecretToken=' + CANARY]},
    'a misspelt secret option': {'client_secert': CANARY},
    'a value that is a list': {'credentials': [{'key': 'SecretToken', 'value': [CANARY]}]},
}


def _core_masks(value):
    """True when ansible-core 2.22+ will mask ``value`` at output (its secrets API knows it)."""
    try:
        from ansible.module_utils.secrets import mask_secrets
    except ImportError:
        return False
    return mask_secrets(value) != value


def _output_without_core_channel(text):
    """The module's output minus ``_ansible_new_secrets``, the list ansible-core 2.22 takes and never prints."""
    result = json.loads(text)
    result.pop('_ansible_new_secrets', None)
    return json.dumps(result)


@pytest.mark.parametrize('options', [CHECKED_OPTIONS, UNCHECKED_OPTIONS], ids=['spec checks items', 'raw items'])
@pytest.mark.parametrize('shape', sorted(MISSHAPED))
def test_a_secret_in_any_shape_is_masked_when_the_module_fails(shape, options, capsys):
    with patch_module_args(dict(MISSHAPED[shape], object_ids=['x'])):
        with pytest.raises(SystemExit):
            module = EntraModule(argument_spec=dict(options, object_ids=MODULE_OPTIONS['object_ids']))
            module.fail_json(msg='refused %s' % CANARY)
    printed = capsys.readouterr().out
    assert json.loads(printed)['failed'] is True
    assert CANARY not in _output_without_core_channel(printed) or _core_masks(CANARY)


def test_secret_values_skip_the_name_of_a_credential():
    values = set(secret_values({'credentials': [{'key': 'SecretToken', 'value': CANARY}]}, CHECKED_OPTIONS))
    assert values == {CANARY}


def test_secret_values_leave_known_plain_options_alone():
    values = set(secret_values({'applications': [{'name': 'visible-name', 'credentials': []}]}, CHECKED_OPTIONS))
    assert values == set()


@pytest.mark.parametrize('name', ['client_secert', 'credential', 'pasword', 'SecretToken', 'vaule'])
def test_misspelt_secret_names_look_like_secrets(name):
    assert looks_like_a_secret_name(name)


@pytest.mark.parametrize('name', ['display_name', 'displayname', 'name', 'job_id'])
def test_ordinary_names_do_not_look_like_secrets(name):
    assert not looks_like_a_secret_name(name)


def test_endpoint_warnings_are_shown_when_the_client_is_built(capsys, tmp_path):
    with patch_module_args({'object_ids': ['x'], 'tenant_id': TENANT_ID, 'client_id': CLIENT_ID,
                            'client_secret': CANARY, 'graph_endpoint': 'https://127.0.0.1:1/'}):
        module = EntraModule(argument_spec=MODULE_OPTIONS)
        module.graph_client()
        with pytest.raises(SystemExit):
            module.exit_json(changed=False)
    result = json.loads(capsys.readouterr().out)
    # ansible-core 2.19 and later hand warnings back as structured events: look at their text
    assert 'is not the Graph of the global cloud' in json.dumps(result['warnings'])
