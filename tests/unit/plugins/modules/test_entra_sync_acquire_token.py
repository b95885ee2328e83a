# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The module entra_sync_acquire_token: options, result shaping and failures, on a faked GraphClient.

The last tests run the whole stack (msal, requests, GraphClient) with only HTTP faked.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
from http.client import RemoteDisconnected

import pytest
import requests
import responses
import yaml
from urllib3.exceptions import ProtocolError

from ansible.module_utils.common import warnings as ansible_warnings

from ansible_collections.entra.provisioning.plugins.module_utils._graph.clouds import DOCUMENTED_ALIASES
from ansible_collections.entra.provisioning.plugins.module_utils._errors import AuthenticationError
from ansible_collections.entra.provisioning.plugins.module_utils._graph.errors import (
    READ_OBJECTS_PERMISSIONS,
    SYNCHRONIZATION_PERMISSIONS,
)
from ansible_collections.entra.provisioning.plugins.module_utils._sync.authorization import APPLICATION_ITEM_SPEC
from ansible_collections.entra.provisioning.plugins.module_utils._module import EntraModule
from ansible_collections.entra.provisioning.plugins.modules import entra_sync_acquire_token
from ansible_collections.entra.provisioning.tests.unit.plugins.doc_fragment_options import (
    shared_documented_options,
    with_target_options,
)
from ansible_collections.entra.provisioning.tests.unit.plugins.module_utils.helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    TENANT_ID,
    FakeEntra,
    patch_module_args,
)
from ansible_collections.entra.provisioning.tests.unit.plugins.modules.sync_graph_fake import FakeGraph

GUID = '3f1e2d4c-5b6a-4798-8a9b-0c1d2e3f4a5b'
SINGLE_RESULT_FIELDS = {'changed', 'authorized', 'acquired', 'target', 'job_id', 'credential_keys', 'request_id',
                        'cloud', 'api_version'}
# Fields AnsibleModule adds to every result (ansible-core 2.22 adds _ansible_new_secrets for the controller to mask).
ANSIBLE_FIELDS = {'invocation', 'warnings', 'deprecations', '_ansible_new_secrets'}
LOGIN = 'https://login.microsoftonline.com'
GRAPH = 'https://graph.microsoft.com/v1.0'


class ModuleRun(object):
    """Runs the module's main() with module args; ``graph`` is handed out as its GraphClient."""

    def __init__(self, monkeypatch, capsys):
        self.monkeypatch = monkeypatch
        self.capsys = capsys
        self.graph = FakeGraph()
        self.client_requests = []
        self.outputs = []

    def fake_client(self):
        """Make EntraModule.graph_client return ``graph`` and remember each call."""
        def graph_client(module, max_concurrency=None):
            self.client_requests.append({'max_concurrency': max_concurrency, 'check_mode': module.check_mode})
            return self.graph
        self.monkeypatch.setattr(EntraModule, 'graph_client', graph_client)

    def __call__(self, check_mode=False, **args):
        if check_mode:
            args['_ansible_check_mode'] = True
        # AnsibleModule keeps warnings in a module-level collection; each run here is a process of its own.
        ansible_warnings._global_warnings.clear()
        with patch_module_args(args):
            with pytest.raises(SystemExit) as exited:
                entra_sync_acquire_token.main()
        result = json.loads(self.capsys.readouterr().out)
        # ansible-core 2.22 hands the values to mask to the controller in _ansible_new_secrets, which it never prints
        result.pop('_ansible_new_secrets', None)
        self.outputs.append(json.dumps(result))
        assert (exited.value.code != 0) == bool(result.get('failed'))
        return result


@pytest.fixture
def run(monkeypatch, capsys):
    """A ModuleRun on a FakeGraph."""
    module_run = ModuleRun(monkeypatch, capsys)
    module_run.fake_client()
    return module_run


def warning_texts(result):
    """The warnings of a result as text, whether ansible-core gives strings or structured summaries."""
    texts = []
    for warning in result.get('warnings') or []:
        if isinstance(warning, dict):
            warning = (warning.get('event') or {}).get('msg') or warning.get('msg')
        texts.append(warning)
    return texts


def targets(app):
    """The four ways to name ``app``."""
    return {'service_principal_id': app.service_principal_id, 'application_id': app.application_id,
            'app_id': app.app_id, 'display_name': app.display_name}


# -- documentation and argument spec ----------------------------------------------------------------------------

def _documented(options):
    spec = {}
    for name, doc in options.items():
        entry = {'type': doc.get('type', 'str'), 'required': doc.get('required', False), 'default': doc.get('default'),
                 'elements': doc.get('elements')}
        # Raw options are checked by the module itself; their suboptions document that check (tested below).
        if 'suboptions' in doc and 'raw' not in (doc.get('type'), doc.get('elements')):
            entry['options'] = _documented(doc['suboptions'])
        spec[name] = entry
    return spec


def _declared(argument_spec):
    spec = {}
    for name, definition in argument_spec.items():
        entry = {'type': definition.get('type', 'str'), 'required': definition.get('required', False),
                 'default': definition.get('default'), 'elements': definition.get('elements')}
        if 'options' in definition:
            entry['options'] = _declared(definition['options'])
        spec[name] = entry
    return spec


def test_documentation_matches_the_argument_spec():
    documented = with_target_options(yaml.safe_load(entra_sync_acquire_token.DOCUMENTATION)['options'])
    shared = shared_documented_options()
    assert not set(documented) & set(shared)
    assert _documented(documented) == _declared(entra_sync_acquire_token.argument_spec().argument_spec)


def test_examples_and_return_are_yaml_and_the_module_is_in_the_entra_group():
    assert len(yaml.safe_load(entra_sync_acquire_token.EXAMPLES)) == 5
    returned = yaml.safe_load(entra_sync_acquire_token.RETURN)
    assert SINGLE_RESULT_FIELDS - {'changed'} <= set(returned)
    assert {'results', 'summary', 'error'} <= set(returned)
    documentation = yaml.safe_load(entra_sync_acquire_token.DOCUMENTATION)
    assert documentation['attributes']['check_mode']['support'] == 'full'
    assert documentation['attributes']['action_group']['membership'] == ['entra.provisioning.entra']


def test_the_documented_applications_item_options_are_the_checked_ones():
    documented = yaml.safe_load(entra_sync_acquire_token.DOCUMENTATION)['options']['applications']['suboptions']
    assert {name: (doc.get('type'), doc.get('required', False)) for name, doc in documented.items()} == {
        name: (spec['type'], spec.get('required', False)) for name, spec in APPLICATION_ITEM_SPEC.items()}


def _readme():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(entra_sync_acquire_token.__file__))))
    with open(os.path.join(root, 'README.md'), encoding='utf-8') as readme:
        return readme.read()


def test_the_readme_clouds_table_lists_every_documented_alias():
    rows = {line.split('|')[1].strip().split()[0].strip('`'): line for line in _readme().splitlines()
            if line.startswith('| `')}
    for cloud, aliases in DOCUMENTED_ALIASES.items():
        for alias in aliases:
            assert '`%s`' % alias in rows[cloud]


def test_the_readme_permissions_are_those_of_the_module_notes():
    readme = ' '.join(_readme().split())
    start = readme.index('The identity needs')
    paragraph = readme[start:readme.index('## Requirements', start)]
    for permission in ('Synchronization.ReadWrite.All', 'Application.Read.All', 'Application.ReadWrite.OwnedBy'):
        assert permission in paragraph
    assert 'admin consent' in paragraph


def test_the_permission_notes_name_what_the_403_advice_names():
    notes = ' '.join(yaml.safe_load(entra_sync_acquire_token.DOCUMENTATION)['notes'])
    for permission in ('Synchronization.ReadWrite.All', 'Application.Read.All', 'Application.ReadWrite.OwnedBy'):
        assert permission in notes
        assert permission in READ_OBJECTS_PERMISSIONS + SYNCHRONIZATION_PERMISSIONS


# -- one application --------------------------------------------------------------------------------------------

def test_a_single_target_result_has_exactly_the_documented_fields(run):
    app = run.graph.add_app('Contoso')
    result = run(service_principal_id=app.service_principal_id, credentials=app.credentials())
    assert set(result) - ANSIBLE_FIELDS == SINGLE_RESULT_FIELDS
    assert (result['changed'], result['acquired'], result['authorized']) == (True, True, True)
    assert result['target'] == {'object_type': 'servicePrincipal', 'object_id': app.service_principal_id,
                                'app_id': app.app_id, 'display_name': 'Contoso',
                                'path': '/servicePrincipals/%s' % app.service_principal_id}
    assert result['job_id'] == app.job_ids[0]
    assert result['credential_keys'] == ['SecretToken']
    assert result['request_id'] == 'request-0004'
    assert (result['cloud'], result['api_version']) == ('global', 'v1.0')


@pytest.mark.parametrize('option', ['service_principal_id', 'application_id', 'app_id', 'display_name'])
def test_every_target_option_works_alone(run, option):
    app = run.graph.add_app('Contoso')
    result = run(credentials=app.credentials(), **{option: targets(app)[option]})
    assert result['changed'] and result['authorized']
    assert result['target']['object_type'] == ('application' if option == 'application_id' else 'servicePrincipal')


def test_the_second_run_is_unchanged_and_sends_no_post(run):
    app = run.graph.add_app('Contoso')
    run(app_id=app.app_id, credentials=app.credentials())
    run.graph.calls = []
    result = run(app_id=app.app_id, credentials=app.credentials())
    assert (result['changed'], result['acquired'], result['authorized'], result['request_id']) == (
        False, False, True, None)
    assert run.graph.calls_of('acquireAccessToken') == []


def test_force_re_acquires(run):
    app = run.graph.add_app('Contoso', authorized=True)
    result = run(app_id=app.app_id, credentials=app.credentials(), force=True)
    assert result['changed'] and result['acquired']
    assert len(run.graph.calls_of('acquireAccessToken')) == 1


def test_verify_false_reports_authorized_null(run):
    app = run.graph.add_app('Contoso')
    result = run(app_id=app.app_id, credentials=app.credentials(), verify=False)
    assert result['changed'] and result['acquired'] and result['authorized'] is None


def test_cloud_and_api_version_are_those_of_the_client(run):
    run.graph = FakeGraph(cloud='usgov_dod', api_version='beta')
    app = run.graph.add_app('Contoso')
    result = run(app_id=app.app_id, credentials=app.credentials(), cloud='usgov_dod', api_version='beta')
    assert (result['cloud'], result['api_version']) == ('usgov_dod', 'beta')


def test_a_job_id_is_passed_to_the_engine(run):
    app = run.graph.add_app('Contoso', jobs=('scim', 'scimGroups'))
    result = run(app_id=app.app_id, credentials=app.credentials(), job_id=app.job_ids[1])
    assert result['job_id'] == app.job_ids[1]


def test_a_failure_fails_with_the_message_the_error_and_the_context(run):
    result = run(service_principal_id=GUID, credentials=[{'key': 'SecretToken', 'value': 'v' * 8}])
    assert result['failed']
    assert result['msg'].startswith("Application '%s' failed at resolving service_principal_id" % GUID)
    assert result['error']['status'] == 404 and result['error']['code'] == 'Request_ResourceNotFound'
    assert result['request_id'] == result['error']['request_id']
    assert (result['cloud'], result['api_version'], result['changed'], result['acquired']) == (
        'global', 'v1.0', False, False)
    assert set(result) - ANSIBLE_FIELDS == SINGLE_RESULT_FIELDS | {'failed', 'msg', 'error'}


def test_a_failure_without_a_graph_error_has_error_null(run):
    app = run.graph.add_app('Contoso', jobs=('scim', 'scimGroups'))
    result = run(app_id=app.app_id, credentials=app.credentials())
    assert result['failed'] and result.get('error') is None
    assert 'set job_id' in result['msg']


@pytest.mark.parametrize('check_mode', [False, True])
def test_without_a_job_the_app_is_authorized_through_the_jobs_collection(run, check_mode):
    app = run.graph.add_app('Contoso', jobs=())
    result = run(check_mode=check_mode, app_id=app.app_id, credentials=app.credentials())
    assert not result.get('failed') and result['changed'] and result['job_id'] is None
    assert result['authorized'] is not check_mode and result['acquired'] is not check_mode
    assert len(run.graph.calls_of('acquireAccessToken')) == (0 if check_mode else 1)
    assert [call.body['templateId'] for call in run.graph.calls_of('jobs.validateCredentials')] == (
        ['scim'] if check_mode else ['scim', 'scim'])
    assert run.graph.calls_of('validateCredentials') == []


def test_without_a_job_or_a_default_template_nothing_is_sent_and_the_fix_is_named(run):
    app = run.graph.add_app('Contoso', jobs=(), templates=[{'id': 'a'}, {'id': 'b'}])
    result = run(app_id=app.app_id, credentials=app.credentials())
    assert result['failed'] and not result['changed'] and result['job_id'] is None
    assert 'it has no job, and none of its templates (a, b) is marked default' in result['msg']
    assert 'entra.provisioning.entra_sync_job module (state: present' in result['msg']
    assert run.graph.calls_of('acquireAccessToken') == [] and run.graph.calls_of('jobs.validateCredentials') == []


def test_a_whole_run_failure_fails_with_the_cloud_and_api_version(run, monkeypatch):
    def no_token(*args, **kwargs):
        raise AuthenticationError('Sign-in failed: AADSTS7000215: Invalid client secret provided.', status=401,
                                  code='invalid_client')
    monkeypatch.setattr(run.graph, 'request', no_token)
    result = run(app_id=GUID, credentials=[{'key': 'SecretToken', 'value': 'v' * 8}])
    assert result['failed'] and 'AADSTS7000215' in result['msg']
    assert result['error']['code'] == 'invalid_client'
    assert (result['cloud'], result['api_version']) == ('global', 'v1.0')


# -- check mode -------------------------------------------------------------------------------------------------

def test_check_mode_reports_the_change_and_sends_no_write(run):
    app = run.graph.add_app('Contoso')
    result = run(check_mode=True, app_id=app.app_id, credentials=app.credentials())
    assert (result['changed'], result['acquired'], result['authorized']) == (True, False, False)
    assert run.client_requests[0]['check_mode'] is True
    assert run.graph.calls_of('acquireAccessToken') == [] and not app.authorized


def test_check_mode_on_an_authorized_app_is_unchanged(run):
    app = run.graph.add_app('Contoso', authorized=True)
    result = run(check_mode=True, app_id=app.app_id, credentials=app.credentials())
    assert (result['changed'], result['authorized']) == (False, True)


def test_check_mode_with_force_reports_a_change(run):
    app = run.graph.add_app('Contoso', authorized=True)
    result = run(check_mode=True, app_id=app.app_id, credentials=app.credentials(), force=True)
    assert result['changed'] and not result['acquired']
    assert run.graph.calls_of('acquireAccessToken') == []


# -- options refused before anything is sent -------------------------------------------------------------------

PAIR = [{'key': 'SecretToken', 'value': 'v' * 8}]


@pytest.mark.parametrize('args, message', [
    # The target constraints travel with the shared spec (bulk_argument_spec): ansible-core checks them.
    ({'service_principal_id': GUID, 'app_id': GUID, 'credentials': PAIR},
     'parameters are mutually exclusive: service_principal_id|application_id|app_id|display_name|applications'),
    ({'credentials': PAIR},
     'one of the following is required: service_principal_id, application_id, app_id, display_name, applications'),
    ({'service_principal_id': '', 'credentials': PAIR},
     'target: give exactly one of service_principal_id, application_id, app_id, display_name to name the '
     'application, got none.'),
    ({'display_name': 'Contoso'}, "credentials is required: give the credentials the application's connector "
                                  "expects, e.g. [{key: SecretToken, value: ...}] or {SecretToken: ...}."),
    ({'display_name': 'C' * 257, 'credentials': PAIR},
     "display_name is 257 characters long (it starts 'CCCC"),
    ({'display_name': 'C' * 20000, 'credentials': PAIR},
     'Graph limits a display name to 256 characters, so nothing can match it. Give the application\'s display '
     'name, or its app_id.'),
    ({'app_id': GUID, 'credentials': []}, 'credentials must list at least one {key, value} pair'),
    ({'app_id': GUID, 'credentials': {}}, 'credentials must list at least one {key, value} pair'),
    ({'app_id': GUID, 'credentials': 'v' * 8}, 'credentials is a string; give a list of {key, value} (or a mapping'),
    ({'app_id': GUID, 'credentials': ['v' * 8]}, 'credentials[0] is a string; each item is a mapping with key and '
                                                 'value'),
    ({'app_id': GUID, 'credentials': [{'key': 'SecretToken', 'value': 'v' * 8, 'vaule': 'w' * 8}]},
     "credentials[0] has 'vaule' besides key and value"),
    ({'app_id': GUID, 'credentials': [{'key': 'SecretToken', 'value': ['v' * 8]}]},
     'credentials[0].value (for SecretToken) is a list, which Graph cannot take; nothing was sent. Graph takes '
     'each value as text: give it as a string, one value per key.'),
    ({'app_id': GUID, 'credentials': [{'key': 'SyncNotificationSettings', 'value': {'Enabled': False}}]},
     'credentials[0].value (for SyncNotificationSettings) is a mapping, which Graph cannot take; nothing was sent. '
     'Graph takes each value as text: give it as a string, e.g. \'{"Enabled":false,"DeleteThresholdEnabled":false}\''),
    ({'app_id': GUID, 'credentials': {'SecretToken': {'nested': 'v' * 8}}},
     'credentials.SecretToken is a mapping, which Graph cannot take'),
    ({'app_id': GUID, 'credentials': [{'key': 'SecretToken', 'value': float('nan')}]},
     'credentials[0].value (for SecretToken) is not a finite number; give the value as text.'),
    ({'app_id': GUID, 'credentials': [{'key': 'SecretToken', 'value': None}]},
     'credentials[0].value (for SecretToken) is empty (null); give the value the application expects, or leave '
     'the key out.'),
    ({'app_id': GUID, 'credentials': {'SecretTokn': 'v' * 8}},
     "credentials.SecretTokn: 'SecretTokn' is not a synchronizationSecret name. Did you mean SecretToken?"),
    ({'app_id': GUID, 'credentials': [{'key': 'Oauth2AuthCode', 'value': 'v' * 8}]},
     "credentials[0].key: 'Oauth2AuthCode' is not a synchronizationSecret name. Did you mean "
     "Oauth2AuthorizationCode"),
    ({'app_id': GUID, 'credentials': [{'key': 'SecretToken', 'value': 'v' * 8},
                                      {'key': 'SECRETTOKEN', 'value': 'w' * 8}]},
     'credentials[1]: SecretToken is given twice (also at credentials[0]); give each key once.'),
    ({'app_id': GUID, 'credentials': {'SecretToken': 'v' * 8, 'SECRETTOKEN': 'w' * 8}},
     'credentials.SECRETTOKEN: SecretToken is given twice (also at credentials.SecretToken); give each key once.'),
    ({'app_id': GUID, 'credentials': [{'key': 'SecretToken'}]},
     'credentials[0].value (for SecretToken) is empty (null)'),
    ({'app_id': GUID, 'credentials': [{'value': 'v' * 8}]},
     'credentials[0].key must be a synchronizationSecret name such as SecretToken, got None.'),
    ({'app_id': 'Contoso', 'credentials': [{'key': 'SecretToken', 'value': 'v' * 8}]}, 'app_id must be a GUID'),
    ({'app_id': GUID, 'job_id': '', 'credentials': [{'key': 'SecretToken', 'value': 'v' * 8}]}, 'job_id is empty'),
    ({'app_id': GUID, 'applications': [{'app_id': GUID, 'credentials': [{'key': 'SecretToken', 'value': 'v' * 8}]}]},
     'parameters are mutually exclusive: service_principal_id|application_id|app_id|display_name|applications'),
    ({'credentials': [{'key': 'SecretToken', 'value': 'v' * 8}],
      'applications': [{'app_id': GUID, 'credentials': [{'key': 'SecretToken', 'value': 'v' * 8}]}]},
     'applications cannot be combined with credentials: set those on each item instead.'),
    ({'job_id': 'scim.1',
      'applications': [{'app_id': GUID, 'credentials': [{'key': 'SecretToken', 'value': 'v' * 8}]}]},
     'applications cannot be combined with job_id'),
    ({'applications': []}, 'applications is empty: list at least one application.'),
    ({'max_concurrency': 0,
      'applications': [{'app_id': GUID, 'credentials': [{'key': 'SecretToken', 'value': 'v' * 8}]}]},
     'max_concurrency must be 1 or more, got 0.'),
    ({'force': 'maybe', 'app_id': GUID, 'credentials': PAIR},
     "argument 'force' is of type"),
])
def test_bad_options_fail_before_the_client_is_built(run, args, message):
    result = run(**args)
    assert result['failed']
    assert message in result['msg']
    assert run.client_requests == [] and run.graph.calls == []


# -- many applications ------------------------------------------------------------------------------------------

def test_bulk_results_are_in_input_order_with_reasons_and_a_summary(run):
    good = [run.graph.add_app('Good %d' % number) for number in range(3)]
    two_jobs = run.graph.add_app('Two jobs', jobs=('scim', 'scimGroups'))
    result = run(applications=[
        {'name': 'first', 'app_id': good[0].app_id, 'credentials': good[0].credentials()},
        {'name': 'missing', 'service_principal_id': GUID, 'credentials': good[0].credentials()},
        {'display_name': 'Good 1', 'credentials': good[1].credentials()},
        {'application_id': two_jobs.application_id, 'credentials': two_jobs.credentials()},
        {'service_principal_id': good[2].service_principal_id, 'credentials': good[2].credentials()},
    ])
    assert result['failed'] and result['changed']
    assert result['msg'] == '2 of 5 applications failed: missing, Two jobs. See results for each reason.'
    assert [item['name'] for item in result['results']] == ['first', 'missing', 'Good 1', 'Two jobs', 'Good 2']
    assert [item['failed'] for item in result['results']] == [False, True, False, True, False]
    assert [item['changed'] for item in result['results']] == [True, False, True, False, True]
    assert result['results'][1]['error']['status'] == 404 and 'HTTP 404' in result['results'][1]['msg']
    assert 'has 2 jobs' in result['results'][3]['msg']
    assert result['summary'] == {'total': 5, 'acquired': 3, 'unchanged': 0, 'authorized': 3, 'failed': 2}
    assert (result['cloud'], result['api_version']) == ('global', 'v1.0')
    assert 'authorized' not in result and 'target' not in result


def test_each_bulk_result_has_the_single_fields_plus_its_own(run):
    app = run.graph.add_app('Contoso')
    result = run(applications=[{'app_id': app.app_id, 'credentials': app.credentials()}])
    assert set(result['results'][0]) == SINGLE_RESULT_FIELDS - {'cloud', 'api_version'} | {
        'name', 'failed', 'msg', 'error'}
    assert result['results'][0]['msg'] == ("Application 'Contoso' (servicePrincipal %s): provisioning authorized "
                                           "(acquireAccessToken sent)." % app.service_principal_id)


def test_a_bulk_run_without_failures_exits_changed_then_unchanged(run):
    apps = [run.graph.add_app('App %d' % number) for number in range(30)]
    items = [{'app_id': app.app_id, 'credentials': app.credentials()} for app in apps]
    first = run(applications=items)
    second = run(applications=items)
    assert not first.get('failed') and first['changed']
    assert first['summary'] == {'total': 30, 'acquired': 30, 'unchanged': 0, 'authorized': 30, 'failed': 0}
    assert not second.get('failed') and not second['changed']
    assert second['summary'] == {'total': 30, 'acquired': 0, 'unchanged': 30, 'authorized': 30, 'failed': 0}
    assert len(run.graph.calls_of('acquireAccessToken')) == 30


def test_a_bulk_item_with_bad_options_fails_alone_and_sends_nothing(run):
    good = run.graph.add_app('Good')
    other = run.graph.add_app('Other')
    result = run(applications=[
        {'app_id': good.app_id, 'credentials': good.credentials()},
        {'name': 'typo', 'app_id': other.app_id, 'credentials': [{'key': 'SecretTokn', 'value': 'v' * 8}]},
        {'display_name': 'Other', 'job_id': ' ', 'credentials': other.credentials()},
    ])
    assert [item['failed'] for item in result['results']] == [False, True, True]
    assert [item['name'] for item in result['results']] == ['Good', 'typo', 'Other']
    assert "failed at validating its options: applications[1].credentials[0].key: 'SecretTokn'" \
        in result['results'][1]['msg']
    assert 'applications[2].job_id is empty' in result['results'][2]['msg']
    assert result['summary'] == {'total': 3, 'acquired': 1, 'unchanged': 0, 'authorized': 1, 'failed': 2}
    assert all(good.app_id in call.url or good.service_principal_id in call.url for call in run.graph.calls)


def test_task_force_and_verify_are_item_defaults_that_items_override(run):
    apps = [run.graph.add_app('App %d' % number, authorized=True) for number in range(3)]
    result = run(force=True, verify=False, applications=[
        {'app_id': apps[0].app_id, 'credentials': apps[0].credentials()},
        {'app_id': apps[1].app_id, 'credentials': apps[1].credentials(), 'force': False},
        {'app_id': apps[2].app_id, 'credentials': apps[2].credentials(), 'verify': True},
    ])
    assert [(item['changed'], item['authorized']) for item in result['results']] == [
        (True, None), (False, True), (True, True)]


def test_check_mode_in_bulk_writes_nothing(run):
    apps = [run.graph.add_app('App %d' % number, authorized=number == 0) for number in range(3)]
    result = run(check_mode=True, applications=[{'app_id': app.app_id, 'credentials': app.credentials()}
                                                for app in apps])
    assert [item['changed'] for item in result['results']] == [False, True, True]
    assert result['summary'] == {'total': 3, 'acquired': 0, 'unchanged': 1, 'authorized': 1, 'failed': 0}
    assert run.graph.calls_of('acquireAccessToken') == []


def test_max_concurrency_reaches_the_client(run):
    apps = [run.graph.add_app('App %d' % number) for number in range(2)]
    run(max_concurrency=7, applications=[{'app_id': app.app_id, 'credentials': app.credentials()} for app in apps])
    assert run.client_requests[0]['max_concurrency'] == 7


def test_a_bulk_item_without_a_job_or_a_template_fails_alone_and_gets_no_write(run):
    jobless = run.graph.add_app('Jobless', jobs=(), templates=[])
    good = run.graph.add_app('Good')
    result = run(applications=[{'app_id': app.app_id, 'credentials': app.credentials()} for app in (jobless, good)])
    assert [item['failed'] for item in result['results']] == [True, False]
    assert 'has no provisioning (synchronization) job and offers no synchronization template' \
        in result['results'][0]['msg']
    assert [call.url for call in run.graph.calls_of('acquireAccessToken')] == [
        '/servicePrincipals/%s/synchronization/acquireAccessToken' % good.service_principal_id]


# -- secrets ----------------------------------------------------------------------------------------------------

def test_no_credential_value_appears_in_any_output(run):
    good = run.graph.add_app('Good', accepted={'SecretToken': 'good-token-value-1'})
    bad = run.graph.add_app('Bad', accepted={'SecretToken': 'expected-token-value-2'})
    jobless = run.graph.add_app('Jobless', jobs=(), accepted={'SecretToken': 'jobless-token-value-3'})
    run.graph.answer('POST', '/servicePrincipals/%s/synchronization/acquireAccessToken$' % bad.service_principal_id,
                     400, 'BadRequest', "Invalid value 'wrong-token-value-4' for property 'value'.", times=2)
    values = ['good-token-value-1', 'expected-token-value-2', 'jobless-token-value-3', 'wrong-token-value-4']
    run(app_id=good.app_id, credentials=good.credentials())
    run(app_id=bad.app_id, credentials=[{'key': 'SecretToken', 'value': 'wrong-token-value-4'}])
    run(check_mode=True, app_id=jobless.app_id, credentials=jobless.credentials())
    run(applications=[{'app_id': app.app_id, 'credentials': [{'key': 'SecretToken', 'value': value}]}
                      for app, value in ((good, values[0]), (bad, values[3]), (jobless, values[2]))])
    run(app_id=good.app_id, credentials=[{'key': 'Oauth2AuthCode', 'value': values[0]}])
    assert len(run.outputs) == 5
    for output in run.outputs:
        for value in values:
            assert value not in output


CANARY = 'canary-bad-input-5150'


@pytest.mark.parametrize('args', [
    {'force': 'maybe', 'app_id': GUID, 'credentials': [{'key': 'SecretToken', 'value': CANARY}]},
    {'unknown_option': 1, 'app_id': GUID, 'credentials': {'SecretToken': CANARY}},
    {'app_id': GUID, 'service_principal_id': GUID, 'credentials': CANARY},
    {'app_id': GUID, 'credentials': [{'key': 'SecretTokn', 'value': CANARY}]},
    {'app_id': GUID, 'credentials': [{'key': 'SecretToken', 'vaule': CANARY}]},
    {'app_id': GUID, 'credentials': [{'SecretToken': CANARY}]},
    {'app_id': GUID, 'credentials': [{'key': 'SecretToken', 'value': [CANARY]}]},
    {'app_id': GUID, 'credentials': [{'key': 'SyncNotificationSettings', 'value': {'Enabled': CANARY}}]},
    {'applications': [{'app_id': GUID, 'credential': [{'key': 'SecretToken', 'value': CANARY}]}]},
    {'applications': [{'app_id': GUID, 'credentials': CANARY}]},
    {'applications': [{'app_id': GUID, 'secret': CANARY, 'credentials': [{'key': 'SecretToken', 'value': 'v' * 8}]}]},
    {'applications': [{'name': 'a', 'app_id': GUID, 'credentials': {'SecretToken': CANARY}},
                      {'name': 'a', 'app_id': GUID, 'credentials': {'SecretToken': CANARY}}]},
    {'max_concurrency': 'many', 'applications': [{'app_id': GUID, 'credentials': {'SecretToken': CANARY}}]},
])
def test_a_refused_input_never_shows_a_credential_value(run, args):
    result = run(**args)
    assert result['failed']
    assert CANARY not in run.outputs[0]
    assert run.graph.calls_of('acquireAccessToken') == []


def test_bulk_items_of_every_bad_shape_fail_alone_with_index_and_name(run):
    good = run.graph.add_app('Good')
    result = run(applications=[
        'Good', None, {'name': 'no-credentials', 'app_id': good.app_id},
        {'name': 'mapping', 'app_id': good.app_id, 'credentials': dict(good.accepted), 'force': True},
        {'name': 'typo', 'displayname': 'Good', 'credentials': good.credentials()},
        {'name': 'typo', 'app_id': good.app_id, 'credentials': good.credentials()},
    ])
    by_position = result['results']
    assert [item['failed'] for item in by_position] == [True, True, True, False, True, True]
    assert [item['name'] for item in by_position] == [
        'applications[0]', 'applications[1]', 'no-credentials', 'mapping', 'typo', 'typo']
    assert 'applications[0] is a string, not a mapping of options' in by_position[0]['msg']
    assert 'applications[1] is empty (null)' in by_position[1]['msg']
    assert 'applications[2]: credentials is required. For example: credentials: [{key: SecretToken' \
        in by_position[2]['msg']
    assert "applications[4]: 'displayname' is not an option. Did you mean display_name?" in by_position[4]['msg']
    assert "applications[5]: name 'typo' is already the name of applications[4]" in by_position[5]['msg']
    assert [call.body for call in run.graph.calls_of('acquireAccessToken')] == [
        {'credentials': good.credentials()}]
    assert result['msg'] == ('5 of 6 applications failed: applications[0], applications[1], no-credentials, typo, '
                             'typo. See results for each reason.')


@pytest.mark.parametrize('value, sent', [(True, 'true'), (False, 'false'), (3, '3'), (2.5, '2.5'), ('x' * 4, 'xxxx')])
def test_scalar_values_are_sent_as_graph_spells_them(run, value, sent):
    app = run.graph.add_app('Contoso', accepted={'SecretToken': 'v' * 8, 'SyncAll': sent})
    run(app_id=app.app_id, credentials=[{'key': 'SecretToken', 'value': 'v' * 8}, {'key': 'SyncAll', 'value': value}])
    assert run.graph.calls_of('acquireAccessToken')[0].body['credentials'][1] == {'key': 'SyncAll', 'value': sent}


# -- the whole stack, HTTP faked --------------------------------------------------------------------------------

def real_stack_args(**extra):
    args = {'tenant_id': TENANT_ID, 'client_id': CLIENT_ID, 'client_secret': CLIENT_SECRET, 'max_retries': 0}
    args.update(extra)
    return args


def lost_connection(request):
    raise requests.exceptions.ConnectionError(ProtocolError('Connection aborted.', RemoteDisconnected('closed')))


@pytest.fixture
def stack_run(monkeypatch, capsys):
    """A ModuleRun whose GraphClient is the real one."""
    return ModuleRun(monkeypatch, capsys)


def graph_app(http, acquire_status=204, lost=False, validate_statuses=(400, 204)):
    """Register Graph answers for one app with one job; returns the paths used."""
    sp_path = '/servicePrincipals/%s' % GUID
    job = 'scim.0001'
    http.add(responses.GET, GRAPH + sp_path, json={'id': GUID, 'appId': GUID, 'displayName': 'Contoso'})
    http.add(responses.GET, GRAPH + sp_path + '/synchronization/jobs',
             json={'value': [{'id': job, 'templateId': 'scim'}]})
    validate_url = GRAPH + sp_path + '/synchronization/jobs/%s/validateCredentials' % job
    for status in validate_statuses:
        http.add(responses.POST, validate_url, status=status,
                 json={'error': {'code': 'InvalidCredentials', 'message': 'No.'}} if status >= 400 else None)
    acquire_url = GRAPH + sp_path + '/synchronization/acquireAccessToken'
    if lost:
        http.add_callback(responses.POST, acquire_url, callback=lost_connection)
    else:
        http.add(responses.POST, acquire_url, status=acquire_status, headers={'request-id': 'graph-request-1'})
    return acquire_url, validate_url


def test_over_http_it_signs_in_checks_acquires_and_verifies(stack_run, http):
    entra = FakeEntra(http)
    entra.openid_configuration(LOGIN, TENANT_ID)
    entra.token_endpoint(LOGIN, TENANT_ID)
    acquire_url, validate_url = graph_app(http)
    result = stack_run(**real_stack_args(service_principal_id=GUID, credentials=[
        {'key': 'secrettoken', 'value': 'stack-token-value'}]))
    assert (result['changed'], result['acquired'], result['authorized']) == (True, True, True)
    assert result['request_id'] == 'graph-request-1'
    posts = [call.request for call in http.calls if call.request.url == acquire_url]
    assert len(posts) == 1
    assert json.loads(posts[0].body) == {'credentials': [{'key': 'SecretToken', 'value': 'stack-token-value'}]}
    assert posts[0].headers['Authorization'] == 'Bearer ' + entra.issued[0]
    assert len([call for call in http.calls if call.request.url == validate_url]) == 2
    assert 'stack-token-value' not in stack_run.outputs[0]


def test_over_http_a_lost_answer_is_checked_and_not_resent(stack_run, http):
    entra = FakeEntra(http)
    entra.openid_configuration(LOGIN, TENANT_ID)
    entra.token_endpoint(LOGIN, TENANT_ID)
    acquire_url, validate_url = graph_app(http, lost=True)
    result = stack_run(**real_stack_args(max_retries=3, service_principal_id=GUID, credentials=[
        {'key': 'SecretToken', 'value': 'stack-token-value'}]))
    assert not result.get('failed')
    assert (result['changed'], result['acquired'], result['authorized']) == (True, True, True)
    assert len([call for call in http.calls if call.request.url == acquire_url]) == 1
    assert len([call for call in http.calls if call.request.url == validate_url]) == 2


def test_over_http_an_unknown_key_sends_no_request_at_all(stack_run, http):
    result = stack_run(**real_stack_args(service_principal_id=GUID, credentials=[
        {'key': 'SecretTokn', 'value': 'stack-token-value'}]))
    assert result['failed'] and 'Did you mean SecretToken' in result['msg']
    assert len(http.calls) == 0
