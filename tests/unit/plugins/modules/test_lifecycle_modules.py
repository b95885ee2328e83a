# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The modules entra_sync_job, entra_sync_job_info and entra_sync_secrets: documentation against argument spec,
options refused before any request, result shapes, bulk isolation and secrets kept out of results."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest
import yaml

from ansible.module_utils.common import warnings as ansible_warnings

from ansible_collections.entra.provisioning.plugins.module_utils._module import EntraModule
from ansible_collections.entra.provisioning.plugins.module_utils._sync.jobs import JOB_INFO_ITEM_SPEC, JOB_ITEM_SPEC
from ansible_collections.entra.provisioning.plugins.module_utils._sync.secrets import SECRETS_ITEM_SPEC
from ansible_collections.entra.provisioning.plugins.modules import entra_sync_job, entra_sync_job_info
from ansible_collections.entra.provisioning.plugins.modules import entra_sync_secrets
from ansible_collections.entra.provisioning.tests.unit.plugins.doc_fragment_options import (
    shared_documented_options,
    with_target_options,
)
from ansible_collections.entra.provisioning.tests.unit.plugins.module_utils.helpers import patch_module_args
from ansible_collections.entra.provisioning.tests.unit.plugins.module_utils.lifecycle_graph_fake import (
    SP_ID,
    LifecycleGraph,
)

MODULES = (entra_sync_job, entra_sync_job_info, entra_sync_secrets)
TOKEN = 'canary-module-token-value'


def _spec_of_docs(options):
    # A raw option's suboptions are documented for the user and checked in Python, not by the argument spec.
    return dict((name, (doc.get('type', 'str'), doc.get('default'), doc.get('elements'),
                        _spec_of_docs(doc['suboptions']) if 'suboptions' in doc and doc.get('type') != 'raw' else None))
                for name, doc in options.items())


def _spec_of_argspec(spec):
    return dict((name, (definition.get('type', 'str'), definition.get('default'), definition.get('elements'),
                        _spec_of_argspec(definition['options']) if 'options' in definition else None))
                for name, definition in spec.items())


ITEM_SPECS = {entra_sync_job: JOB_ITEM_SPEC, entra_sync_job_info: JOB_INFO_ITEM_SPEC,
              entra_sync_secrets: SECRETS_ITEM_SPEC}


@pytest.mark.parametrize('module', MODULES, ids=lambda module: module.__name__.rsplit('.', 1)[-1])
def test_documentation_matches_the_argument_spec_and_examples_parse(module):
    documented = with_target_options(yaml.safe_load(module.DOCUMENTATION)['options'])
    assert not set(documented) & set(shared_documented_options())
    items = documented['applications'].pop('suboptions')
    assert _spec_of_docs(documented) == _spec_of_argspec(module.argument_spec().argument_spec)
    # applications items are checked by _items against the item spec, which the suboptions document.
    assert sorted(items) == sorted(ITEM_SPECS[module])
    for name, definition in ITEM_SPECS[module].items():
        assert items[name].get('required', False) == definition.get('required', False), name
    assert yaml.safe_load(module.EXAMPLES)
    assert yaml.safe_load(module.RETURN)


class Runner(object):
    """Runs a module's main() with arguments against a LifecycleGraph; returns the parsed result."""

    def __init__(self, monkeypatch, capsys):
        self.capsys = capsys
        self.graph = LifecycleGraph()
        monkeypatch.setattr(EntraModule, 'graph_client', lambda module, max_concurrency=None: self.graph)

    def __call__(self, module, check_mode=False, **args):
        if check_mode:
            args['_ansible_check_mode'] = True
        ansible_warnings._global_warnings.clear()
        with patch_module_args(args):
            with pytest.raises(SystemExit):
                module.main()
        result = json.loads(self.capsys.readouterr().out)
        # ansible-core 2.22 hands the values to mask to the controller in _ansible_new_secrets, which it never prints
        result.pop('_ansible_new_secrets', None)
        self.output = json.dumps(result)
        return result


@pytest.fixture
def run(monkeypatch, capsys):
    return Runner(monkeypatch, capsys)


def test_job_applications_clash_with_single_target_options(run):
    result = run(entra_sync_job, applications=[{'service_principal_id': SP_ID}], template_id='scim')
    assert result['failed'] and 'cannot be combined with template_id' in result['msg']
    assert run.graph.calls == []


def test_job_single_target_result_has_no_item_fields(run):
    run.graph.answer('GET', r'/synchronization/jobs$', 200, {'value': [
        {'id': 'job-1', 'templateId': 'scim', 'status': {'code': 'Active'}}]})
    result = run(entra_sync_job, service_principal_id=SP_ID, state='started')
    assert not result['changed'] and result['actions'] == [] and result['status_before'] == 'Active'
    assert 'name' not in result and 'error' not in result and result['job']['running']


def test_job_info_bulk_isolates_a_bad_item(run):
    run.graph.answer('GET', r'/synchronization/jobs$', 200, {'value': []})
    result = run(entra_sync_job_info, applications=[{'service_principal_id': SP_ID}, {'name': 'bad', 'app_id': 'x'}])
    assert result['failed'] and result['msg'].startswith('1 of 2 applications failed: bad.')
    assert not result['results'][0]['failed'] and result['results'][1]['failed']
    assert result['summary']['total'] == 2


def test_job_bulk_item_with_an_unknown_key_fails_alone_with_a_suggestion(run):
    run.graph.answer('GET', r'/synchronization/jobs$', 200, {'value': [
        {'id': 'job-1', 'templateId': 'scim', 'status': {'code': 'Active'}}]})
    result = run(entra_sync_job, state='started', applications=[
        {'service_principal_id': SP_ID}, {'name': 'typo', 'service_principal_id': SP_ID, 'templat_id': 'scim'}])
    assert not result['results'][0]['failed']
    assert result['results'][1]['failed'] and 'Did you mean template_id?' in result['results'][1]['msg']


def test_secrets_bulk_item_credentials_never_show_even_when_malformed(run):
    result = run(entra_sync_secrets, applications=[
        {'name': 'bad', 'service_principal_id': SP_ID, 'credentials': [{'key': 'SecretToken', 'valeu': TOKEN}]},
        {'name': 'worse', 'service_principal_id': SP_ID, 'credentails': [{'key': 'SecretToken', 'value': TOKEN}]}])
    assert result['failed'] and [item['failed'] for item in result['results']] == [True, True]
    assert TOKEN not in run.output and run.graph.calls == []


def test_secrets_refuses_a_mixed_key_set_before_any_request(run):
    result = run(entra_sync_secrets, service_principal_id=SP_ID, credentials=[
        {'key': 'SecretToken', 'value': TOKEN}, {'key': 'Oauth2ClientSecret', 'value': TOKEN + '-2'}])
    assert result['failed'] and 'bearer-token keys' in result['msg'] and run.graph.calls == []
    assert TOKEN not in run.output


def test_secrets_saves_and_never_returns_a_value(run):
    run.graph.answer('GET', r'/synchronization/jobs$', 200, {'value': [{'id': 'job-1', 'templateId': 'scim'}]})
    run.graph.answer('POST', r'/validateCredentials$', 204)
    run.graph.answer('PUT', r'/secrets$', 204)
    result = run(entra_sync_secrets, service_principal_id=SP_ID, update_secrets='always',
                 credentials=[{'key': 'BaseAddress', 'value': 'https://scim.example.invalid'},
                              {'key': 'SecretToken', 'value': TOKEN}])
    assert result['changed'] and result['saved'] and result['accepted']
    assert result['defaults_added'] == ['SyncNotificationSettings', 'SyncAll']
    assert TOKEN not in run.output


def test_secrets_diff_names_the_changes_and_no_value(run):
    run.graph.answer('GET', r'/synchronization/jobs$', 200, {'value': [{'id': 'job-1', 'templateId': 'scim'}]})
    run.graph.answer('GET', r'/synchronization/secrets$', 200, {'value': [
        {'key': 'SecretToken', 'value': '*'}, {'key': 'SyncAll', 'value': 'false'},
        {'key': 'SyncNotificationSettings', 'value': '{"Enabled":true,"Recipients":"ops@contoso.example"}'}]})
    run.graph.answer('POST', r'/validateCredentials$', 204)
    run.graph.answer('PUT', r'/secrets$', 204)
    result = run(entra_sync_secrets, service_principal_id=SP_ID, update_secrets='always', _ansible_diff=True,
                 credentials=[{'key': 'SecretToken', 'value': TOKEN}], notification_email='')
    prepared = result['diff'][0]['prepared']
    assert '~ SyncNotificationSettings: Enabled, Recipients (changed)' in prepared
    assert '* SecretToken' in prepared and TOKEN not in prepared and 'ops@contoso' not in prepared
    assert result['saved_keys'] == ['SecretToken', 'SyncAll', 'SyncNotificationSettings']


def test_secrets_check_mode_sends_no_put(run):
    run.graph.answer('GET', r'/synchronization/jobs$', 200, {'value': [{'id': 'job-1', 'templateId': 'scim'}]})
    run.graph.answer('POST', r'/validateCredentials$', 204)
    # The first validateCredentials (saved credentials) says none are accepted yet.
    run.graph.answer('POST', r'/validateCredentials$', 400, {'error': {'code': 'CredentialValidationUnavailable'}},
                     times=1)
    result = run(entra_sync_secrets, check_mode=True, service_principal_id=SP_ID,
                 credentials=[{'key': 'SecretToken', 'value': TOKEN}])
    assert result['changed'] and not result['saved'] and result['validated']
    assert run.graph.writes() == []


def test_secrets_takes_credentials_as_a_mapping_as_the_other_modules_do(run):
    run.graph.answer('GET', r'/synchronization/jobs$', 200, {'value': [{'id': 'job-1', 'templateId': 'scim'}]})
    run.graph.answer('POST', r'/validateCredentials$', 204)
    run.graph.answer('PUT', r'/secrets$', 204)
    result = run(entra_sync_secrets, service_principal_id=SP_ID, update_secrets='always',
                 credentials={'BaseAddress': 'https://scim.example.invalid', 'secrettoken': TOKEN})
    assert result['saved'] and result['credential_keys'][:2] == ['BaseAddress', 'SecretToken']
    assert TOKEN not in run.output


@pytest.mark.parametrize('value, kind', [(['a', 'b'], 'a list'), ({'token': TOKEN}, 'a mapping')])
def test_secrets_single_target_refuses_a_list_or_mapping_value_before_any_request(run, value, kind):
    result = run(entra_sync_secrets, service_principal_id=SP_ID, credentials=[{'key': 'SecretToken', 'value': value}])
    assert result['failed'] and run.graph.calls == []
    assert result['msg'].startswith('credentials[0].value (for SecretToken) is %s, which Graph cannot take; nothing '
                                    'was sent.' % kind)
    assert TOKEN not in run.output


@pytest.mark.parametrize('module', MODULES, ids=lambda module: module.__name__.rsplit('.', 1)[-1])
def test_every_bulk_module_refuses_task_wide_mistakes_the_same_way(run, module):
    result = run(module, applications=[])
    assert result['failed'] and result['msg'] == 'applications is empty: list at least one application.'
    assert result['error']['message'] == result['msg'] and run.graph.calls == []
