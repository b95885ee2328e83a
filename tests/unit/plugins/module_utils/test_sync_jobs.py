# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The job engine: option checks, the action each state needs, check mode, templates and the role's helper."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.entra.provisioning.plugins.module_utils._errors import InvalidInputError
from ansible_collections.entra.provisioning.plugins.module_utils._sync.jobs import (
    SyncJobs,
    describe_job,
    parse_job_request,
    start_jobs_unless_running,
)
from ansible_collections.entra.provisioning.tests.unit.plugins.module_utils.lifecycle_graph_fake import (
    SP_ID,
    SP_PATH,
    LifecycleGraph,
)


def job(code, template='scim', job_id='job-1', quarantine=None):
    return {'id': job_id, 'templateId': template, 'schedule': {'state': 'Active'},
            'status': {'code': code, 'quarantine': quarantine, 'lastExecution': {'state': 'Failed'}}}


def graph_with(*jobs):
    graph = LifecycleGraph()
    graph.answer('GET', r'/synchronization/jobs$', 200, {'value': list(jobs)})
    graph.answer('GET', r'/synchronization/jobs/job-1$', 200, job('Active'))
    for action in ('start', 'pause', 'restart'):
        graph.answer('POST', r'/jobs/job-1/%s$' % action, 204)
    return graph


def run(graph, check_mode=False, **options):
    options.setdefault('service_principal_id', SP_ID)
    return SyncJobs(graph, check_mode=check_mode).run([parse_job_request(options)])[0]


def test_reset_scope_needs_state_restarted():
    with pytest.raises(InvalidInputError, match='reset_scope only applies with state=restarted'):
        parse_job_request({'service_principal_id': SP_ID, 'state': 'started', 'reset_scope': ['Watermark']})


def test_reset_scope_flags_are_matched_case_insensitively_and_unknown_ones_refused():
    request = parse_job_request({'service_principal_id': SP_ID, 'state': 'restarted',
                                 'reset_scope': ['watermark', 'QUARANTINESTATE']})
    assert request.settings['reset_scope'] == ['Watermark', 'QuarantineState']
    with pytest.raises(InvalidInputError, match=r"reset_scope\[0\]: 'Everything' is not a restart scope"):
        parse_job_request({'service_principal_id': SP_ID, 'state': 'restarted', 'reset_scope': ['Everything']})


def test_started_sends_nothing_to_a_running_job():
    graph = graph_with(job('Active'))
    outcome = run(graph, state='started')
    assert outcome.actions == [] and graph.writes() == []


@pytest.mark.parametrize('code', ['Paused', 'NotRun', 'Quarantine', 'NotConfigured'])
def test_started_starts_a_job_that_does_not_run(code):
    graph = graph_with(job(code))
    outcome = run(graph, state='started')
    assert outcome.actions == ['start']
    assert [call[1] for call in graph.writes()] == [SP_PATH + '/synchronization/jobs/job-1/start']
    assert outcome.job['status']['code'] == 'Active'


def test_restart_carries_the_reset_scope_as_criteria():
    graph = graph_with(job('Quarantine'))
    run(graph, state='restarted', reset_scope=['Watermark', 'Escrows', 'QuarantineState'])
    assert graph.writes()[0][2] == {'criteria': {'resetScope': 'Watermark, Escrows, QuarantineState'}}


@pytest.mark.parametrize('state, code', [('started', 'Paused'), ('paused', 'Active'), ('restarted', 'Quarantine')])
def test_every_action_sends_a_json_body(state, code):
    # The service answers an action without a body 400 "Empty Payload. JSON content expected."; an empty restart
    # criteria is the portal's restart.
    graph = graph_with(job(code))
    run(graph, state=state)
    assert graph.writes()[0][2] == {}


def test_check_mode_predicts_create_and_start_from_the_default_template_and_writes_nothing():
    graph = graph_with()
    graph.answer('GET', r'/templates$', 200, {'value': [{'id': 'other'}, {'id': 'scim', 'default': True}]})
    outcome = run(graph, check_mode=True, state='started')
    assert outcome.actions == ['create', 'start']
    assert outcome.template_to_create == 'scim'
    assert graph.writes() == []


def test_no_default_template_fails_naming_the_templates():
    graph = graph_with()
    graph.answer('GET', r'/templates$', 200, {'value': [{'id': 'a'}, {'id': 'b'}]})
    outcome = run(graph)
    assert outcome.failed and 'none of its templates (a, b) is marked default' in outcome.msg
    assert 'Set template_id' in outcome.msg


def test_an_application_without_any_template_fails_saying_it_offers_none_before_any_write():
    graph = graph_with()
    graph.answer('GET', r'/templates$', 200, {'value': []})
    outcome = run(graph)
    assert outcome.failed and graph.writes() == []
    assert ('offers no synchronization template, so there is nothing to create the job from and nothing was sent'
            in outcome.msg)


def test_several_jobs_without_job_id_fail_before_any_write():
    graph = graph_with(job('Active'), job('Paused', job_id='job-2'))
    outcome = run(graph, state='paused')
    assert outcome.failed and 'set job_id' in outcome.msg and graph.writes() == []


def test_absent_deletes_only_an_existing_job():
    graph = graph_with(job('Active'))
    graph.answer('DELETE', r'/jobs/job-1$', 204)
    assert run(graph, state='absent').actions == ['delete']
    assert run(graph_with(), state='absent').actions == []


def test_a_refused_write_fails_the_application_and_is_not_reported_as_done():
    graph = graph_with(job('Paused'))
    graph.answer('POST', r'/start$', 403, {'error': {'code': 'Authorization_RequestDenied', 'message': 'No.'}})
    outcome = run(graph, state='started')
    assert outcome.failed and outcome.actions == [] and 'Synchronization.ReadWrite.All' in outcome.msg


def test_describe_job_gives_the_alert_shape():
    described = describe_job(job('Quarantine', quarantine={'reason': 'TooManyDeletes', 'nextAttempt': 'x'}))
    assert described['quarantined'] and described['quarantine']['reason'] == 'TooManyDeletes'
    assert described['quarantine']['next_attempt'] == 'x'
    assert described['last_execution']['state'] == 'Failed' and not described['running']


def test_start_jobs_unless_running_for_the_role():
    graph = graph_with(job('Paused'))
    check = start_jobs_unless_running(graph, [{'label': 'app', 'path': SP_PATH, 'job_id': 'job-1'}], check_mode=True)
    assert check[0]['started'] and graph.writes() == []
    done = start_jobs_unless_running(graph, [{'label': 'app', 'path': SP_PATH, 'job_id': 'job-1'},
                                             {'label': 'nojob', 'path': SP_PATH, 'job_id': None}])
    assert done[0]['started'] and done[0]['status_before'] == 'Paused' and done[0]['job']['running']
    assert done[1]['failed'] and 'no resolved object or job' in done[1]['msg']
    running = start_jobs_unless_running(graph_with(job('Active')), [{'label': 'a', 'path': SP_PATH, 'job_id': 'job-1'}])
    assert not running[0]['started']


def test_a_template_id_is_checked_against_the_templates_before_a_job_is_created():
    graph = graph_with()
    graph.answer('GET', r'/templates$', 200, {'value': [{'id': 'scim', 'default': True}, {'id': 'scimGroups'}]})
    outcome = run(graph, template_id='scmi')
    assert outcome.failed and graph.writes() == []
    assert ("failed at finding template_id: it has no synchronization template 'scmi'; its templates are: scim, "
            "scimGroups. Set template_id to one of them; nothing was sent.") in outcome.msg


def test_a_template_id_that_exists_creates_the_job_from_it():
    graph = graph_with()
    graph.answer('GET', r'/templates$', 200, {'value': [{'id': 'scim', 'default': True}, {'id': 'scimGroups'}]})
    graph.answer('POST', r'/synchronization/jobs$', 201, job('NotRun', template='scimGroups'))
    outcome = run(graph, template_id='scimGroups')
    assert not outcome.failed and outcome.actions == ['create'] and outcome.job_id == 'job-1'
    assert graph.writes()[0][2] == {'templateId': 'scimGroups'}


@pytest.mark.parametrize('body', [None, {'value': 'x'}, {'value': [{'default': True}]}])
def test_an_unreadable_templates_answer_fails_that_application(body):
    graph = graph_with()
    graph.answer('GET', r'/templates$', 200, body)
    outcome = run(graph)
    assert outcome.failed and 'Graph answered with something that is not a list of templates' in outcome.msg
    assert graph.writes() == []


def test_an_unreadable_created_job_fails_the_application_but_says_it_was_created():
    graph = graph_with()
    graph.answer('GET', r'/templates$', 200, {'value': [{'id': 'scim', 'default': True}]})
    graph.answer('POST', r'/synchronization/jobs$', 201, {'templateId': 'scim'})
    outcome = run(graph)
    assert outcome.failed and outcome.sent == ['create'] and outcome.changed
    assert ('failed at reading the job created from template scim: Graph answered with something that is not a job '
            '(request-id r-1): the job has no id') in outcome.msg


QUARANTINE = {'reason': 'EncounteredQuarantineException',
              'error': {'code': 'CredentialValidationUnavailable', 'message': 'The target answered HTTP/401.',
                        'tenantActionable': True}}


def test_describe_job_keeps_why_the_job_is_quarantined_and_why_the_run_failed():
    quarantined = job('Quarantine', quarantine=QUARANTINE)
    quarantined['status']['lastExecution']['error'] = dict(QUARANTINE['error'], tenantActionable=False)
    described = describe_job(quarantined)
    assert described['quarantine']['error'] == {'code': 'CredentialValidationUnavailable',
                                                'message': 'The target answered HTTP/401.', 'tenant_actionable': True}
    assert described['last_execution']['error']['tenant_actionable'] is False


def test_an_error_the_service_leaves_empty_is_none():
    assert describe_job(job('Quarantine', quarantine={'reason': 'Unknown', 'error': {}}))['quarantine']['error'] is None


def test_a_restart_that_lifts_the_quarantine_says_so():
    outcome = run(graph_with(job('Quarantine', quarantine=QUARANTINE)), state='restarted')
    assert outcome.quarantine_lifted is True and 'The quarantine was lifted.' in outcome.summary()


def test_a_restart_after_which_the_job_is_still_quarantined_says_so():
    graph = graph_with(job('Quarantine', quarantine=QUARANTINE))
    graph.answer('GET', r'/synchronization/jobs/job-1$', 200, job('Quarantine', quarantine=QUARANTINE))
    outcome = run(graph, state='restarted')
    assert outcome.quarantine_lifted is False and 'still quarantined' in outcome.summary()
    assert outcome.to_result()['job']['quarantine']['error']['message'] == 'The target answered HTTP/401.'


def test_quarantine_lifted_is_none_for_a_job_that_was_not_quarantined():
    assert run(graph_with(job('Paused')), state='restarted').quarantine_lifted is None
