# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The phases of _sync_authorization (resolve, jobs, check, acquire, verify) against a faked GraphClient."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import time

import pytest

from ansible_collections.entra.provisioning.plugins.module_utils._errors import EntraError, InvalidInputError
from ansible_collections.entra.provisioning.plugins.module_utils._redact import MASK, redact
from ansible_collections.entra.provisioning.plugins.module_utils._sync.common import NO_JOB_ADVICE, parse_items
from ansible_collections.entra.provisioning.plugins.module_utils._sync.authorization import (
    APPLICATION_ITEM_SPEC,
    SyncAuthorizer,
    parse_request,
)
from ansible_collections.entra.provisioning.tests.unit.plugins.modules.sync_graph_fake import (
    OWNED_BY,
    FakeGraph,
)

GUID = '3f1e2d4c-5b6a-4798-8a9b-0c1d2e3f4a5b'


@pytest.fixture
def graph():
    """A FakeGraph with Synchronization.ReadWrite.All and Application.Read.All."""
    return FakeGraph()


def request_for(app, option='service_principal_id', **options):
    """Parse the options that target ``app`` by ``option`` with its accepted credentials."""
    value = app.display_name if option == 'display_name' else getattr(app, option)
    options.setdefault('credentials', app.credentials())
    return parse_request(dict(options, **{option: value}))


def run_one(graph, request, check_mode=False):
    return SyncAuthorizer(graph, check_mode=check_mode).run([request])[0]


def assert_no_value_in(outcome, values):
    text = json.dumps(outcome.to_result())
    for value in values:
        assert value not in text


# -- parse_request ----------------------------------------------------------------------------------------------

def test_a_target_is_required():
    with pytest.raises(InvalidInputError, match='give exactly one of service_principal_id, application_id, app_id, '
                                                'display_name to name the application, got none'):
        parse_request({'credentials': [{'key': 'SecretToken', 'value': 'x' * 8}]})


def test_two_targets_are_refused_naming_both():
    with pytest.raises(InvalidInputError, match='got service_principal_id, app_id'):
        parse_request({'service_principal_id': GUID, 'app_id': GUID,
                       'credentials': [{'key': 'SecretToken', 'value': 'x' * 8}]})


def test_an_empty_target_counts_as_not_given():
    request = parse_request({'service_principal_id': '', 'display_name': 'Contoso',
                             'credentials': [{'key': 'SecretToken', 'value': 'x' * 8}]})
    assert (request.target_option, request.target_value) == ('display_name', 'Contoso')


@pytest.mark.parametrize('option', ['service_principal_id', 'application_id', 'app_id'])
def test_object_ids_must_be_guids(option):
    with pytest.raises(InvalidInputError, match='%s must be a GUID' % option):
        parse_request({option: 'Contoso', 'credentials': [{'key': 'SecretToken', 'value': 'x' * 8}]})


def test_guids_are_lower_cased():
    request = parse_request({'app_id': GUID.upper(), 'credentials': [{'key': 'SecretToken', 'value': 'x' * 8}]})
    assert request.target_value == GUID


def test_errors_of_an_item_name_its_position():
    with pytest.raises(InvalidInputError, match=r'applications\[3\]\.app_id must be a GUID'):
        parse_request({'app_id': 'nope', 'credentials': [{'key': 'SecretToken', 'value': 'x' * 8}]},
                      where='applications[3].')
    with pytest.raises(InvalidInputError, match=r'applications\[3\]\.credentials\[0\]\.key'):
        parse_request({'app_id': GUID, 'credentials': [{'key': 'Secret', 'value': 'x' * 8}]},
                      where='applications[3].')


def test_an_empty_job_id_is_refused():
    with pytest.raises(InvalidInputError, match='job_id is empty'):
        parse_request({'app_id': GUID, 'job_id': ' ', 'credentials': [{'key': 'SecretToken', 'value': 'x' * 8}]})


def test_defaults_are_no_force_verify_and_the_target_as_label():
    request = parse_request({'display_name': 'Contoso', 'credentials': [{'key': 'secrettoken', 'value': 'x' * 8}]})
    settings = request.settings
    assert (settings['force'], settings['verify'], request.label, settings['job_id']) == (False, True, 'Contoso', None)
    assert settings['credentials'] == [{'key': 'SecretToken', 'value': 'x' * 8}]


def test_name_force_and_verify_are_taken():
    request = parse_request({'display_name': 'Contoso', 'name': 'expenses', 'force': True, 'verify': False,
                             'credentials': [{'key': 'SecretToken', 'value': 'x' * 8}]})
    assert (request.settings['force'], request.settings['verify'], request.label) == (True, False, 'expenses')


def test_credential_values_are_masked_in_any_later_message():
    parse_request({'app_id': GUID, 'credentials': [{'key': 'SecretToken', 'value': 'value-of-the-token'}]})
    assert redact('Graph said: value-of-the-token is wrong') == 'Graph said: %s is wrong' % MASK


# -- one application ----------------------------------------------------------------------------------------

def test_an_unauthorized_app_is_checked_then_acquired_then_verified(graph):
    app = graph.add_app('Contoso')
    outcome = run_one(graph, request_for(app))
    assert graph.operations() == ['get', 'jobs.list', 'validateCredentials', 'acquireAccessToken',
                                  'validateCredentials']
    assert (outcome.changed, outcome.acquired, outcome.authorized, outcome.failed) == (True, True, True, False)
    assert app.authorized
    assert graph.calls_of('acquireAccessToken')[0].body == {'credentials': [{'key': 'SecretToken',
                                                                             'value': 'token-of-1'}]}
    assert graph.calls_of('validateCredentials')[0].body == {'useSavedCredentials': True}
    assert not any(call.batched for call in graph.calls)


def test_the_result_describes_the_target_and_the_job(graph):
    app = graph.add_app('Contoso')
    result = run_one(graph, request_for(app)).to_result()
    assert result['target'] == {'object_type': 'servicePrincipal', 'object_id': app.service_principal_id,
                                'app_id': app.app_id, 'display_name': 'Contoso',
                                'path': '/servicePrincipals/%s' % app.service_principal_id}
    assert result['job_id'] == app.job_ids[0]
    assert result['credential_keys'] == ['SecretToken']
    assert result['name'] == 'Contoso'
    assert result['request_id'] == 'request-0004'
    assert result['msg'] == ("Application 'Contoso' (servicePrincipal %s): provisioning authorized "
                             "(acquireAccessToken sent)." % app.service_principal_id)


def test_an_authorized_app_gets_no_post_and_is_unchanged(graph):
    app = graph.add_app('Contoso', authorized=True)
    outcome = run_one(graph, request_for(app))
    assert graph.operations() == ['get', 'jobs.list', 'validateCredentials']
    assert (outcome.changed, outcome.acquired, outcome.authorized) == (False, False, True)
    assert outcome.request_id is None
    assert 'already authorized; nothing sent' in outcome.to_result()['msg']


def test_force_skips_the_check_and_acquires_again(graph):
    app = graph.add_app('Contoso', authorized=True)
    outcome = run_one(graph, request_for(app, force=True))
    assert graph.operations() == ['get', 'jobs.list', 'acquireAccessToken', 'validateCredentials']
    assert (outcome.changed, outcome.acquired, outcome.authorized) == (True, True, True)


def test_verify_false_acquires_and_leaves_authorized_unknown(graph):
    app = graph.add_app('Contoso')
    outcome = run_one(graph, request_for(app, verify=False))
    assert graph.operations() == ['get', 'jobs.list', 'validateCredentials', 'acquireAccessToken']
    assert (outcome.changed, outcome.acquired, outcome.authorized) == (True, True, None)


def test_verify_false_on_an_authorized_app_still_reports_authorized(graph):
    app = graph.add_app('Contoso', authorized=True)
    outcome = run_one(graph, request_for(app, verify=False))
    assert (outcome.changed, outcome.authorized) == (False, True)


def test_a_verification_refusal_after_204_fails(graph):
    app = graph.add_app('Contoso')
    graph.answer('POST', '/validateCredentials$', 400, 'InvalidCredentials', 'Not yet.', times=2)
    outcome = run_one(graph, request_for(app))
    assert outcome.failed and outcome.acquired and outcome.authorized is False
    assert 'failed at verifying: acquireAccessToken answered 204 but validateCredentials does not accept' \
        in outcome.msg
    assert 'Check the credential values the application expects' in outcome.msg


def test_a_check_error_other_than_400_fails_without_acquiring(graph):
    app = graph.add_app('Contoso')
    graph.answer('POST', '/validateCredentials$', 500, 'InternalServerError', 'Boom.')
    outcome = run_one(graph, request_for(app))
    assert outcome.failed
    assert 'failed at checking the saved credentials (validateCredentials)' in outcome.msg
    assert 'HTTP 500 InternalServerError: Boom' in outcome.msg
    assert outcome.error['status'] == 500
    assert graph.calls_of('acquireAccessToken') == []


# -- target kinds -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize('option, resolve_path, object_type', [
    ('service_principal_id', '/servicePrincipals/{sp}', 'servicePrincipal'),
    ('application_id', '/applications/{application}', 'application'),
    ('app_id', "/servicePrincipals(appId='{app}')", 'servicePrincipal'),
    ('display_name', '/servicePrincipals', 'servicePrincipal'),
])
def test_each_target_kind_resolves_and_acts_on_its_path(graph, option, resolve_path, object_type):
    app = graph.add_app('Contoso')
    outcome = run_one(graph, request_for(app, option))
    ids = dict(sp=app.service_principal_id, application=app.application_id, app=app.app_id)
    assert graph.calls[0].path == resolve_path.format(**ids)
    assert graph.calls[0].query['$select'] == 'id,appId,displayName'
    object_id = app.application_id if object_type == 'application' else app.service_principal_id
    collection = 'applications' if object_type == 'application' else 'servicePrincipals'
    assert (outcome.object_type, outcome.object_id, outcome.app_id) == (object_type, object_id, app.app_id)
    assert graph.calls_of('acquireAccessToken')[0].path == '/%s/%s/synchronization/acquireAccessToken' % (
        collection, object_id)
    assert outcome.authorized


def test_a_display_name_with_a_quote_is_escaped_in_the_filter(graph):
    app = graph.add_app("O'Brien OAuth", accepted={'Oauth2AuthorizationCode': ['code-1'],
                                                   'Oauth2RedirectUri': 'https://portal.azure.com/TokenAuthorize'})
    outcome = run_one(graph, request_for(app, 'display_name'))
    assert graph.calls[0].query['$filter'] == "displayName eq 'O''Brien OAuth'"
    assert "%27O%27%27Brien%20OAuth%27" not in graph.calls[0].url
    assert outcome.authorized and outcome.request.label == "O'Brien OAuth"


def test_a_display_name_nobody_has_fails_saying_what_to_check(graph):
    graph.add_app('Contoso')
    outcome = run_one(graph, parse_request({'display_name': 'Fabrikam',
                                            'credentials': [{'key': 'SecretToken', 'value': 'x' * 8}]}))
    assert outcome.failed
    assert "no service principal is named 'Fabrikam'" in outcome.msg
    assert 'tenant_id and cloud' in outcome.msg
    assert graph.operations() == ['servicePrincipals.list']


def test_a_display_name_several_apps_share_fails_listing_each(graph):
    first = graph.add_app('Shared')
    second = graph.add_app('Shared')
    outcome = run_one(graph, request_for(first, 'display_name'))
    assert outcome.failed
    for app in (first, second):
        assert '%s (appId %s)' % (app.service_principal_id, app.app_id) in outcome.msg
    assert '2 service principals are named' in outcome.msg
    assert 'Use service_principal_id or app_id to pick one' in outcome.msg
    assert graph.operations() == ['servicePrincipals.list']


def test_a_full_page_of_matches_says_or_more(graph):
    apps = [graph.add_app('Shared') for number in range(7)]
    outcome = run_one(graph, request_for(apps[0], 'display_name'))
    assert '5 or more service principals are named' in outcome.msg


def test_404_at_resolve_advises_checking_the_id_and_the_cloud():
    graph = FakeGraph(cloud='usgov')
    outcome = run_one(graph, parse_request({'service_principal_id': GUID,
                                            'credentials': [{'key': 'SecretToken', 'value': 'x' * 8}]}))
    assert outcome.failed
    assert outcome.error['status'] == 404 and outcome.error['code'] == 'Request_ResourceNotFound'
    assert outcome.error['request_id'] == outcome.request_id == 'request-0001'
    assert "Application '%s' failed at resolving service_principal_id %s" % (GUID, GUID) in outcome.msg
    assert 'Check the id, and that tenant_id and cloud (usgov) are those of the application' in outcome.msg


# -- permissions ------------------------------------------------------------------------------------------------

def test_403_on_a_not_owned_app_names_the_permissions_and_ownership():
    graph = FakeGraph(permissions=[OWNED_BY])
    app = graph.add_app('Contoso', owned=False)
    outcome = run_one(graph, request_for(app))
    assert outcome.failed
    assert outcome.error['status'] == 403 and outcome.error['code'] == 'Authorization_RequestDenied'
    assert 'Synchronization.ReadWrite.All' in outcome.msg
    assert 'ownership of the application' in outcome.msg
    assert 'Application.ReadWrite.OwnedBy' in outcome.msg
    assert graph.calls_of('acquireAccessToken') == []


def test_owned_by_works_on_an_owned_app():
    graph = FakeGraph(permissions=[OWNED_BY])
    app = graph.add_app('Contoso', owned=True)
    assert run_one(graph, request_for(app)).authorized


@pytest.mark.parametrize('step_pattern, step', [
    ('/validateCredentials$', 'checking the saved credentials'),
    ('/acquireAccessToken$', 'acquireAccessToken'),
])
def test_403_at_any_synchronization_step_names_the_permissions(graph, step_pattern, step):
    app = graph.add_app('Contoso')
    graph.answer('POST', step_pattern, 403, 'Authorization_RequestDenied', 'Insufficient privileges.')
    outcome = run_one(graph, request_for(app))
    assert outcome.failed
    assert 'failed at %s' % step in outcome.msg
    assert 'Synchronization.ReadWrite.All' in outcome.msg and 'Application.ReadWrite.OwnedBy' in outcome.msg


def test_403_when_reading_the_target_names_the_read_permission():
    graph = FakeGraph(permissions=['Synchronization.ReadWrite.All'])
    app = graph.add_app('Contoso')
    outcome = run_one(graph, request_for(app))
    assert outcome.failed and outcome.error['status'] == 403
    assert 'Application.Read.All' in outcome.msg


# -- jobs -------------------------------------------------------------------------------------------------------

def test_several_jobs_and_no_job_id_fail_naming_the_jobs(graph):
    app = graph.add_app('Contoso', jobs=('scim', 'scimGroups'))
    outcome = run_one(graph, request_for(app))
    assert outcome.failed
    assert 'it has 2 jobs (%s, %s); set job_id' % tuple(app.job_ids) in outcome.msg
    assert outcome.error is None
    assert graph.operations() == ['get', 'jobs.list']


def test_job_id_picks_the_job_the_checks_use(graph):
    app = graph.add_app('Contoso', jobs=('scim', 'scimGroups'))
    outcome = run_one(graph, request_for(app, job_id=app.job_ids[1]))
    assert outcome.authorized and outcome.job_id == app.job_ids[1]
    paths = [call.path for call in graph.calls_of('validateCredentials')]
    assert paths == ['/servicePrincipals/%s/synchronization/jobs/%s/validateCredentials'
                     % (app.service_principal_id, app.job_ids[1])] * 2


def test_a_job_id_the_app_does_not_have_fails_listing_its_jobs(graph):
    app = graph.add_app('Contoso', jobs=('scim', 'scimGroups'))
    outcome = run_one(graph, request_for(app, job_id='scim.other'))
    assert outcome.failed
    assert "it has no synchronization job 'scim.other'; its jobs are: %s, %s." % tuple(app.job_ids) in outcome.msg
    assert graph.operations() == ['get', 'jobs.list']


def test_without_a_job_the_default_template_is_checked_through_the_jobs_collection_then_acquired(graph):
    app = graph.add_app('Contoso', jobs=(), templates=[{'id': 'other'}, {'id': 'scim', 'default': True}])
    outcome = run_one(graph, request_for(app))
    assert graph.operations() == ['get', 'jobs.list', 'templates.list', 'jobs.validateCredentials',
                                  'acquireAccessToken', 'jobs.validateCredentials']
    assert (outcome.changed, outcome.acquired, outcome.authorized, outcome.failed) == (True, True, True, False)
    assert (outcome.job_id, outcome.template_id) == (None, 'scim')
    assert app.authorized
    assert [call.body for call in graph.calls_of('jobs.validateCredentials')] == [
        {'useSavedCredentials': True, 'templateId': 'scim'}] * 2
    assert graph.calls_of('acquireAccessToken')[0].path == (
        '/servicePrincipals/%s/synchronization/acquireAccessToken' % app.service_principal_id)
    assert outcome.to_result()['msg'] == (
        "Application 'Contoso' (servicePrincipal %s): provisioning authorized (acquireAccessToken sent). It has no "
        "provisioning job yet (checked with template scim): create one to provision." % app.service_principal_id)


def test_without_a_job_an_authorized_app_gets_no_post(graph):
    app = graph.add_app('Contoso', jobs=(), authorized=True)
    outcome = run_one(graph, request_for(app))
    assert graph.operations() == ['get', 'jobs.list', 'templates.list', 'jobs.validateCredentials']
    assert (outcome.changed, outcome.authorized, outcome.failed) == (False, True, False)
    assert 'already authorized; nothing sent. It has no provisioning job yet' in outcome.to_result()['msg']


def test_without_a_job_force_reads_the_template_acquires_and_verifies_without_checking_first(graph):
    app = graph.add_app('Contoso', jobs=(), authorized=True)
    outcome = run_one(graph, request_for(app, force=True))
    assert graph.operations() == ['get', 'jobs.list', 'templates.list', 'acquireAccessToken',
                                  'jobs.validateCredentials']
    assert (outcome.acquired, outcome.authorized) == (True, True)


def test_without_a_job_check_mode_would_acquire_and_writes_nothing(graph):
    app = graph.add_app('Contoso', jobs=())
    outcome = run_one(graph, request_for(app), check_mode=True)
    assert graph.operations() == ['get', 'jobs.list', 'templates.list', 'jobs.validateCredentials']
    assert (outcome.changed, outcome.acquired, outcome.authorized, outcome.failed) == (True, False, False, False)
    assert not app.authorized
    assert 'would call acquireAccessToken (check mode). It has no provisioning job yet' in outcome.to_result()['msg']


def test_without_a_job_a_job_id_asked_for_still_fails_and_sends_nothing(graph):
    app = graph.add_app('Contoso', jobs=())
    outcome = run_one(graph, request_for(app, job_id='scim.other'))
    assert outcome.failed and not outcome.changed
    assert "it has no synchronization job 'scim.other'; its jobs are: none." in outcome.msg
    assert graph.operations() == ['get', 'jobs.list']


@pytest.mark.parametrize('check_mode', [False, True])
@pytest.mark.parametrize('templates, failure', [
    # several templates and none default: create the job from the one meant
    ([{'id': 'a'}, {'id': 'b'}], 'choosing a template to check the credentials against: it has no job, and none of its '
                                 'templates (a, b) is marked default. ' + NO_JOB_ADVICE),
    # no template at all: the application supports no provisioning
    ([], 'listing synchronization templates: it has no provisioning (synchronization) job and offers no '
         'synchronization template, so there is nothing to check the credentials against and nothing was sent. Check '
         'that this is the application meant and that it supports provisioning (in the portal: Enterprise '
         'applications, the application, Provisioning).'),
])
def test_without_a_job_or_a_default_template_nothing_is_sent_and_the_message_says_why(
        graph, check_mode, templates, failure):
    app = graph.add_app('Contoso', jobs=(), templates=templates)
    outcome = run_one(graph, request_for(app), check_mode=check_mode)
    assert graph.operations() == ['get', 'jobs.list', 'templates.list']
    assert outcome.failed and not outcome.changed and outcome.job_id is None
    assert outcome.msg == "Application 'Contoso' (servicePrincipal %s) failed at %s" % (app.service_principal_id,
                                                                                        failure)


def test_without_a_job_a_refused_template_listing_fails_with_the_permission_advice(graph):
    app = graph.add_app('Contoso', jobs=())
    graph.answer('GET', '/synchronization/templates$', 403, 'Authorization_RequestDenied', 'Denied.')
    outcome = run_one(graph, request_for(app))
    assert outcome.failed and outcome.error['status'] == 403
    assert 'failed at listing synchronization templates' in outcome.msg
    assert graph.calls_of('acquireAccessToken') == []


def test_jobless_and_job_applications_share_one_batch_per_phase(graph):
    apps = [graph.add_app('App %d' % number, jobs=() if number % 2 else ('scim',)) for number in range(4)]
    outcomes = SyncAuthorizer(graph).run([request_for(app) for app in apps])
    assert [(outcome.failed, outcome.acquired, outcome.job_id is None) for outcome in outcomes] == [
        (False, True, False), (False, True, True), (False, True, False), (False, True, True)]
    assert len(graph.calls_of('jobs.validateCredentials')) == 4 and len(graph.calls_of('validateCredentials')) == 4


# -- check mode -------------------------------------------------------------------------------------------------

def test_check_mode_on_an_unauthorized_app_would_acquire_and_writes_nothing(graph):
    app = graph.add_app('Contoso')
    outcome = run_one(graph, request_for(app), check_mode=True)
    assert graph.operations() == ['get', 'jobs.list', 'validateCredentials']
    assert (outcome.changed, outcome.acquired, outcome.authorized) == (True, False, False)
    assert not app.authorized
    assert 'would call acquireAccessToken (check mode)' in outcome.to_result()['msg']


def test_check_mode_on_an_authorized_app_is_unchanged(graph):
    app = graph.add_app('Contoso', authorized=True)
    outcome = run_one(graph, request_for(app), check_mode=True)
    assert (outcome.changed, outcome.authorized) == (False, True)


def test_check_mode_with_force_would_acquire_without_checking(graph):
    app = graph.add_app('Contoso', authorized=True)
    outcome = run_one(graph, request_for(app, force=True), check_mode=True)
    assert graph.operations() == ['get', 'jobs.list']
    assert (outcome.changed, outcome.acquired, outcome.authorized) == (True, False, None)


def test_check_mode_surfaces_a_permission_error():
    graph = FakeGraph(permissions=[OWNED_BY])
    app = graph.add_app('Contoso', owned=False)
    outcome = run_one(graph, request_for(app), check_mode=True)
    assert outcome.failed and outcome.error['status'] == 403


# -- rejected credentials ---------------------------------------------------------------------------------------

def test_rejected_credentials_fail_with_the_status_and_the_reason(graph):
    app = graph.add_app('Contoso')
    outcome = run_one(graph, request_for(app, credentials=[{'key': 'SecretToken', 'value': 'wrong-token'}]))
    assert outcome.failed and not outcome.acquired and not outcome.changed
    assert outcome.error['status'] == 400 and outcome.error['code'] == 'InvalidCredentials'
    assert "failed at acquireAccessToken: POST /v1.0/servicePrincipals/%s/synchronization/acquireAccessToken " \
           "failed with HTTP 400 InvalidCredentials: The connector rejected the value of 'SecretToken'" \
           % app.service_principal_id in outcome.msg
    assert 'an OAuth authorization code works once' in outcome.msg
    assert outcome.request_id == outcome.error['request_id'] == 'request-0004'
    assert_no_value_in(outcome, ['wrong-token'])


def test_a_graph_error_that_echoes_a_credential_value_is_masked(graph):
    app = graph.add_app('Contoso')
    graph.answer('POST', '/acquireAccessToken$', 400, 'BadRequest', "Invalid value 'echoed-token-value' for 'value'.")
    outcome = run_one(graph, request_for(app, credentials=[{'key': 'SecretToken', 'value': 'echoed-token-value'}]))
    assert outcome.failed
    assert MASK in outcome.msg
    assert_no_value_in(outcome, ['echoed-token-value'])


# -- outcome unknown --------------------------------------------------------------------------------------------

def test_a_lost_answer_after_the_post_took_effect_is_resolved_as_acquired(graph):
    app = graph.add_app('Contoso')
    graph.lose_answer('POST', '/acquireAccessToken$', took_effect=True)
    outcome = run_one(graph, request_for(app))
    assert graph.operations() == ['get', 'jobs.list', 'validateCredentials', 'acquireAccessToken',
                                  'validateCredentials']
    assert (outcome.failed, outcome.changed, outcome.acquired, outcome.authorized) == (False, True, True, True)


def test_a_lost_answer_of_a_post_that_did_not_take_effect_fails_without_resending(graph):
    app = graph.add_app('Contoso')
    graph.lose_answer('POST', '/acquireAccessToken$', took_effect=False)
    outcome = run_one(graph, request_for(app))
    assert len(graph.calls_of('acquireAccessToken')) == 1
    assert outcome.failed and not outcome.acquired and outcome.authorized is False
    assert 'the connection was lost after the request was sent' in outcome.msg
    assert 'the authorization did not take effect' in outcome.msg
    assert 'get a new one first' in outcome.msg


def test_a_lost_answer_is_checked_even_with_verify_false(graph):
    app = graph.add_app('Contoso')
    graph.lose_answer('POST', '/acquireAccessToken$', took_effect=True)
    outcome = run_one(graph, request_for(app, verify=False))
    assert graph.operations()[-1] == 'validateCredentials'
    assert outcome.authorized and outcome.acquired


def test_a_lost_answer_whose_check_fails_says_the_outcome_is_unknown(graph):
    app = graph.add_app('Contoso')
    graph.lose_answer('POST', '/acquireAccessToken$', took_effect=True)
    graph.answer('POST', '/validateCredentials$', 400, 'InvalidCredentials', 'Not yet.')
    graph.answer('POST', '/validateCredentials$', 503, 'ServiceNotAvailable', 'Try later.')
    outcome = run_one(graph, request_for(app))
    assert len(graph.calls_of('acquireAccessToken')) == 1
    assert outcome.failed and outcome.error['status'] == 503
    assert 'unknown whether acquireAccessToken took effect' in outcome.msg
    assert 'before sending a single-use code again' in outcome.msg


# -- many applications ------------------------------------------------------------------------------------------

def test_many_apps_go_phase_by_phase_through_batch(graph):
    apps = [graph.add_app('App %d' % number) for number in range(25)]
    outcomes = SyncAuthorizer(graph).run([request_for(app) for app in apps])
    assert [outcome.authorized for outcome in outcomes] == [True] * 25
    # 75 reads (resolve, jobs, check) in full envelopes of any mix, as the answers came; then the two writes
    reads, writes = graph.batch_sizes[:-2], graph.batch_sizes[-2:]
    assert sum(reads) == 75 and len(reads) == 4 and max(reads) == 20 and writes == [25, 25]
    assert all(call.batched for call in graph.calls)


def test_applications_that_come_slowly_are_read_as_they_come_and_written_only_once_all_came(graph):
    apps = [graph.add_app('App %d' % number) for number in range(45)]
    seen_by_the_last = []

    def arriving():
        for app in apps[:20]:
            yield request_for(app)
        # the caller is still reading: the first twenty are read meanwhile, up to their saved credentials
        deadline = time.monotonic() + 10
        while graph.operations().count('validateCredentials') < 20 and time.monotonic() < deadline:
            time.sleep(0.001)
        for app in apps[20:]:
            seen_by_the_last.append(graph.operations())
            yield request_for(app)

    outcomes = SyncAuthorizer(graph, max_concurrency=1).run(arriving())
    assert [outcome.authorized for outcome in outcomes] == [True] * 45
    before = seen_by_the_last[-1]
    assert before.count('validateCredentials') >= 20 and 'acquireAccessToken' not in before
    operations = graph.operations()
    reads = [position for position, operation in enumerate(operations) if operation != 'acquireAccessToken']
    assert min(position for position, operation in enumerate(operations) if operation == 'acquireAccessToken') \
        > reads[3 * 45 - 1]


def test_a_reading_that_fails_ends_the_run_before_any_write(graph):
    apps = [graph.add_app('App %d' % number) for number in range(2)]

    def arriving():
        yield request_for(apps[0])
        raise EntraError('reading stopped')

    with pytest.raises(EntraError, match='reading stopped'):
        SyncAuthorizer(graph).run(arriving())
    assert 'acquireAccessToken' not in graph.operations()


def test_progress_hears_each_phase_as_it_starts_with_the_applications_still_in_the_run(graph):
    apps = [graph.add_app('App %d' % number) for number in range(3)]
    requests = [request_for(app) for app in apps]
    requests.append(parse_request({'service_principal_id': GUID, 'name': 'missing',
                                   'credentials': [{'key': 'SecretToken', 'value': 'x' * 8}]}))
    heard = []
    SyncAuthorizer(graph, progress=heard.append).run(requests)
    # The reads start while the applications may still be coming: there is no count to give yet.
    reads = ('as the applications come: resolving the targets, listing their synchronization jobs, checking their '
             'saved credentials')
    assert heard == ['phases 1 to 3 of 5, ' + reads,
                     'phase 4 of 5, acquireAccessToken (3 application(s) not failed)',
                     'phase 5 of 5, verifying (3 application(s) not failed)']
    heard[:] = []
    SyncAuthorizer(graph, check_mode=True, progress=heard.append).run(requests[:1])
    assert heard == ['phases 1 to 3 of 3, ' + reads]


def test_one_failure_does_not_stop_the_others_and_order_is_kept(graph):
    good = [graph.add_app('Good %d' % number) for number in range(3)]
    two_jobs = graph.add_app('Two jobs', jobs=('scim', 'scimGroups'))
    requests = [request_for(good[0]),
                parse_request({'service_principal_id': GUID, 'name': 'missing',
                               'credentials': [{'key': 'SecretToken', 'value': 'x' * 8}]}),
                request_for(good[1], credentials=[{'key': 'SecretToken', 'value': 'wrong-token'}]),
                request_for(two_jobs),
                request_for(good[2])]
    outcomes = SyncAuthorizer(graph).run(requests)
    assert [outcome.request.label for outcome in outcomes] == ['Good 0', 'missing', 'Good 1', 'Two jobs', 'Good 2']
    assert [outcome.failed for outcome in outcomes] == [False, True, True, True, False]
    # the refused one keeps what the check found (not authorized); the others were never checked
    assert [outcome.authorized for outcome in outcomes] == [True, None, False, None, True]
    assert outcomes[1].error['status'] == 404
    assert outcomes[2].error['status'] == 400
    assert 'has 2 jobs' in outcomes[3].msg
    assert good[0].authorized and good[2].authorized and not good[1].authorized


def test_failed_items_drop_out_of_the_later_phases(graph):
    good = graph.add_app('Good')
    requests = [request_for(good), parse_request({'service_principal_id': GUID,
                                                  'credentials': [{'key': 'SecretToken', 'value': 'x' * 8}]})]
    SyncAuthorizer(graph).run(requests)
    assert graph.batch_sizes == [2]
    assert [call.path.split('/')[2] for call in graph.calls[2:]] == [good.service_principal_id] * 4


def test_the_same_application_twice_fails_the_later_item_and_sends_once(graph):
    app = graph.add_app('OAuth', accepted={'Oauth2AuthorizationCode': ['code-1', 'code-2']})
    requests = [request_for(app, name='first'),
                request_for(app, 'app_id', name='second',
                            credentials=[{'key': 'Oauth2AuthorizationCode', 'value': 'code-2'}])]
    outcomes = SyncAuthorizer(graph).run(requests)
    assert not outcomes[0].failed and outcomes[0].acquired
    assert outcomes[1].failed and not outcomes[1].acquired
    assert "same application (appId %s) as 'first'" % app.app_id in outcomes[1].msg
    assert len(graph.calls_of('acquireAccessToken')) == 1


def test_a_lost_batch_answer_is_verified_for_that_item_only(graph):
    first, second = graph.add_app('First'), graph.add_app('Second')
    graph.lose_answer('POST', '/servicePrincipals/%s/synchronization/acquireAccessToken$'
                      % second.service_principal_id, took_effect=True)
    outcomes = SyncAuthorizer(graph).run([request_for(first), request_for(second, verify=False)])
    assert [(outcome.acquired, outcome.authorized) for outcome in outcomes] == [(True, True), (True, True)]
    assert len(graph.calls_of('acquireAccessToken')) == 2
    verify_paths = [call.path for call in graph.calls_of('validateCredentials')][2:]
    assert sorted(verify_paths) == sorted('/servicePrincipals/%s/synchronization/jobs/%s/validateCredentials'
                                          % (app.service_principal_id, app.job_ids[0]) for app in (first, second))


def test_force_and_verify_apply_per_item(graph):
    forced = graph.add_app('Forced', authorized=True)
    unverified = graph.add_app('Unverified')
    untouched = graph.add_app('Untouched', authorized=True)
    outcomes = SyncAuthorizer(graph).run([request_for(forced, force=True), request_for(unverified, verify=False),
                                          request_for(untouched)])
    expected = [(True, True), (True, None), (False, True)]
    assert [(outcome.changed, outcome.authorized) for outcome in outcomes] == expected


def test_in_check_mode_many_apps_get_no_write(graph):
    apps = [graph.add_app('App %d' % number, authorized=number % 2 == 0) for number in range(4)]
    outcomes = SyncAuthorizer(graph, check_mode=True).run([request_for(app) for app in apps])
    assert [outcome.changed for outcome in outcomes] == [False, True, False, True]
    assert set(graph.operations()) == {'get', 'jobs.list', 'validateCredentials'}


def test_no_credential_value_appears_in_any_outcome(graph):
    apps = [graph.add_app('App %d' % number) for number in range(3)]
    apps.append(graph.add_app('No job', jobs=()))
    graph.lose_answer('POST', '/servicePrincipals/%s/synchronization/acquireAccessToken$'
                      % apps[1].service_principal_id, took_effect=False)
    requests = [request_for(app) for app in apps] + [
        request_for(apps[2], 'app_id', credentials=[{'key': 'SecretToken', 'value': 'a-wrong-value'}])]
    outcomes = SyncAuthorizer(graph).run(requests)
    values = [pair['value'] for request in requests for pair in request.settings['credentials']]
    for outcome in outcomes:
        assert_no_value_in(outcome, values)


# -- applications items -------------------------------------------------------------------------------------------

GUID_A = '3f1e2d4c-5b6a-4798-8a9b-0c1d2e3f4a5b'


def test_each_applications_item_is_parsed_alone_with_the_task_defaults():
    requests = parse_items([
        {'name': 'one', 'app_id': GUID_A, 'credentials': {'SecretToken': 'v' * 8}},
        {'name': 'two', 'app_id': 'not-a-guid', 'credentials': {'SecretToken': 'v' * 8}},
        {'name': 'three', 'app_id': GUID_A, 'credentials': {'SecretToken': 'v' * 8}, 'force': 'no'},
    ], APPLICATION_ITEM_SPEC, parse_request, defaults={'force': True, 'verify': False})
    assert [request.rejection is None for request in requests] == [True, False, True]
    settings = [request.settings for request in requests]
    assert (settings[0]['force'], settings[0]['verify'], settings[2]['force']) == (True, False, False)
    assert requests[1].label == 'two'
    assert requests[1].rejection.message.startswith('applications[1].app_id must be a GUID')


# -- answers are data from the network: checked before use ---------------------------------------------------------

@pytest.mark.parametrize('option, body', [
    ('service_principal_id', ['not', 'an', 'object']),
    ('service_principal_id', {'id': None}),
    ('service_principal_id', {'id': '../../applications'}),
    ('app_id', {'id': '00000000-0000-4000-8000-000000000001', 'displayName': ['x']}),
    ('display_name', {'value': 'not a list'}),
    ('display_name', {'value': ['not an object']}),
    ('display_name', None),
])
def test_an_unreadable_resolve_answer_fails_that_application_and_sends_nothing(graph, option, body):
    app = graph.add_app('Contoso')
    graph.answer_with('GET', '^/servicePrincipals', body)
    outcome = run_one(graph, request_for(app, option))
    assert outcome.failed and not outcome.changed
    assert 'Graph answered with something that is not a service principal or application (request-id request-0001)' \
        in outcome.msg
    assert graph.operations() == [graph.calls[0].operation]


@pytest.mark.parametrize('body', [{'value': None}, {'value': [{'id': 7}]}, {'value': [{'templateId': 'scim'}]}, []])
def test_an_unreadable_jobs_answer_fails_that_application_and_sends_nothing(graph, body):
    app = graph.add_app('Contoso')
    graph.answer_with('GET', '/synchronization/jobs$', body)
    outcome = run_one(graph, request_for(app))
    assert outcome.failed
    assert 'failed at listing synchronization jobs: Graph answered with something that is not a list of jobs' \
        in outcome.msg
    assert graph.calls_of('acquireAccessToken') == [] and graph.calls_of('validateCredentials') == []


def test_missing_credentials_are_named_as_the_caller_wrote_them():
    with pytest.raises(InvalidInputError) as caught:
        parse_request({'app_id': GUID_A}, names={'credentials': "authorize_credentials of host 'expenses'"})
    assert caught.value.message == ("authorize_credentials of host 'expenses' is required: give the credentials the "
                                    "application's connector expects, e.g. [{key: SecretToken, value: ...}] or "
                                    "{SecretToken: ...}.")


def test_a_display_name_longer_than_graphs_limit_is_refused_with_its_start_only():
    with pytest.raises(InvalidInputError) as caught:
        parse_request({'display_name': 'Contoso ' + 'x' * 300, 'credentials': {'SecretToken': 'v' * 8}},
                      where='applications[2].')
    assert caught.value.message.startswith("applications[2].display_name is 308 characters long (it starts "
                                           "'Contoso xxxxxxxx")
    assert len(caught.value.message) < 300
    assert parse_request({'display_name': 'x' * 256, 'credentials': {'SecretToken': 'v' * 8}}).target_value == 'x' * 256


# -- a target outage: never spend a code on it ------------------------------------------------------------------

OUTAGE_MESSAGE = "Could not validate the credentials of application 'Contoso': the target answered HTTP/503."


@pytest.mark.parametrize('message', [OUTAGE_MESSAGE, 'the target did not answer (the connection timed out).',
                                     "the OAuth token exchange with the target's token endpoint failed."])
def test_an_outage_on_a_re_run_is_unknown_and_sends_no_acquire(graph, message):
    app = graph.add_app('Contoso', authorized=True)
    graph.answer('POST', '/validateCredentials$', 400, 'CredentialValidationUnavailable', message)
    graph.answer_with('GET', '/synchronization/secrets$', {'value': [{'key': 'SecretToken', 'value': '*'}]})
    outcome = run_one(graph, request_for(app))
    assert outcome.failed and outcome.authorized_before is None and graph.calls_of('acquireAccessToken') == []
    assert 'erred or did not answer' in outcome.msg and 'force: true' in outcome.msg


def test_an_outage_on_a_first_authorization_still_acquires(graph):
    app = graph.add_app('Contoso')
    graph.answer('POST', '/validateCredentials$', 400, 'CredentialValidationUnavailable', OUTAGE_MESSAGE)
    graph.answer_with('GET', '/synchronization/secrets$', {'value': [{'key': 'SyncAll', 'value': 'false'}]})
    outcome = run_one(graph, request_for(app))
    assert outcome.acquired and not outcome.failed


def test_an_outage_whose_saved_set_cannot_be_read_sends_nothing(graph):
    app = graph.add_app('Contoso')
    graph.answer('POST', '/validateCredentials$', 400, 'CredentialValidationUnavailable', OUTAGE_MESSAGE)
    graph.answer('GET', '/synchronization/secrets$', 403, 'Authorization_RequestDenied', 'No.')
    outcome = run_one(graph, request_for(app))
    assert outcome.failed and graph.calls_of('acquireAccessToken') == []


def test_a_target_refusal_that_names_no_outage_still_reads_as_not_authorized(graph):
    app = graph.add_app('Contoso')
    graph.answer('POST', '/validateCredentials$', 400, 'CredentialValidationUnavailable',
                 'the target rejected them (it answered HTTP/401 Unauthorized).')
    assert run_one(graph, request_for(app)).acquired
