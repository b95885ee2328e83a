# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The engine spine: every engine reads an application's jobs through one checked step, so a malformed answer fails
that application with a message and leaves the others untouched; the job choice and the saved-credentials check."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.entra.provisioning.plugins.module_utils._graph.batch import BatchResult
from ansible_collections.entra.provisioning.plugins.module_utils._errors import EntraError, OutcomeUnknownError
from ansible_collections.entra.provisioning.plugins.module_utils._sync.authorization import (
    SyncAuthorizer,
    parse_request,
)
from ansible_collections.entra.provisioning.plugins.module_utils._sync.common import (
    ACCEPTED,
    CREATE,
    IGNORE,
    NOT_ACCEPTED,
    UNAVAILABLE,
    UNKNOWN,
    SyncOutcome,
    SyncRequest,
    choose_job,
    job_problem,
    saved_credentials_verdict,
    target_unavailable,
)
from ansible_collections.entra.provisioning.plugins.module_utils._sync.jobs import (
    SyncJobInfo,
    SyncJobs,
    parse_job_request,
)
from ansible_collections.entra.provisioning.plugins.module_utils._sync.secrets import SyncSecrets, parse_secrets_request
from ansible_collections.entra.provisioning.tests.unit.plugins.module_utils.lifecycle_graph_fake import LifecycleGraph

GOOD_ID = '3f1e2d4c-5b6a-4798-8a9b-0c1d2e3f4a5b'
BAD_ID = '4f1e2d4c-5b6a-4798-8a9b-0c1d2e3f4a5c'
CREDENTIALS = [{'key': 'BaseAddress', 'value': 'https://scim.example.invalid'},
               {'key': 'SecretToken', 'value': 'canary-spine-token'}]
GOOD_JOB = {'id': 'job-1', 'templateId': 'scim', 'schedule': {'state': 'Active'}, 'status': {'code': 'Paused'}}

# What the bad application's jobs listing answers with, and what the message names.
MALFORMED_LISTINGS = [
    pytest.param({'value': 'not a list'}, 'its value is a string, not a list', id='malformed-jobs-answer'),
    pytest.param({'value': [{'id': 'job-1', 'status': 'Active'}]}, 'value[0].status is a string, not an object',
                 id='malformed-job'),
    pytest.param(None, 'the answer is null, not an object', id='non-json-body'),
    pytest.param('<html>Service Unavailable</html>', 'the answer is a string, not an object', id='text-body'),
    pytest.param({'@odata.context': 'jobs'}, 'it has no value field', id='missing-value'),
    pytest.param({'value': [{'templateId': 'scim'}]}, 'value[0] has no id', id='job-missing-id'),
]


def two_applications():
    """A graph with a good application (one paused job, credentials accepted) and a bad one, both resolvable."""
    graph = LifecycleGraph()
    for object_id, app_id in ((GOOD_ID, 'app-good'), (BAD_ID, 'app-bad')):
        graph.answer('GET', r'^/servicePrincipals/%s\?' % object_id, 200,
                     {'id': object_id, 'appId': app_id, 'displayName': app_id})
    graph.answer('GET', r'^/servicePrincipals/%s/synchronization/jobs$' % GOOD_ID, 200, {'value': [GOOD_JOB]})
    graph.answer('GET', r'/synchronization/jobs/job-1$', 200, dict(GOOD_JOB, status={'code': 'Active'}))
    graph.answer('POST', r'/validateCredentials$', 204)
    graph.answer('POST', r'/jobs/job-1/start$', 204)
    graph.answer('PUT', r'/secrets$', 204)
    return graph


def _authorize(graph):
    requests = [parse_request({'service_principal_id': object_id, 'credentials': CREDENTIALS})
                for object_id in (GOOD_ID, BAD_ID)]
    return SyncAuthorizer(graph, max_concurrency=4).run(requests)


def _jobs(graph):
    return SyncJobs(graph).run([parse_job_request({'service_principal_id': object_id, 'state': 'started'})
                                for object_id in (GOOD_ID, BAD_ID)])


def _job_info(graph):
    return SyncJobInfo(graph).run([parse_job_request({'service_principal_id': object_id})
                                   for object_id in (GOOD_ID, BAD_ID)])


def _secrets(graph):
    return SyncSecrets(graph).run([parse_secrets_request({'service_principal_id': object_id,
                                                          'credentials': CREDENTIALS, 'update_secrets': 'always'})
                                   for object_id in (GOOD_ID, BAD_ID)])


ENGINES = [pytest.param(_authorize, id='authorize'), pytest.param(_jobs, id='jobs'),
           pytest.param(_job_info, id='job_info'), pytest.param(_secrets, id='secrets')]


@pytest.mark.parametrize('engine', ENGINES)
@pytest.mark.parametrize('body, problem', MALFORMED_LISTINGS)
def test_a_malformed_jobs_listing_fails_that_application_alone(engine, body, problem):
    graph = two_applications()
    graph.answer('GET', r'^/servicePrincipals/%s/synchronization/jobs$' % BAD_ID, 200, body)
    good, bad = engine(graph)
    assert not good.failed, good.msg
    assert bad.failed
    assert ("Application 'app-bad' (servicePrincipal %s) failed at listing synchronization jobs: Graph answered "
            "with something that is not a list of jobs (request-id r-1): %s" % (BAD_ID, problem)) in bad.msg
    assert [call for call in graph.calls if BAD_ID in call[1] and call[0] != 'GET'] == []
    assert bad.to_result()['failed'] and good.to_result()['msg'] != bad.to_result()['msg']


def test_the_good_application_is_acted_on_beside_a_bad_one():
    graph = two_applications()
    graph.answer('GET', r'^/servicePrincipals/%s/synchronization/jobs$' % BAD_ID, 200, {'value': 7})
    good, _bad = _jobs(graph)
    assert good.actions == ['start'] and good.sent == ['start'] and good.job['status']['code'] == 'Active'


@pytest.mark.parametrize('job, problem', [
    (['job-1'], 'the job is a list, not an object'),
    ({'id': ''}, 'the job has no id'),
    ({'id': 'j', 'templateId': 3}, 'the job.templateId is a number, not a string'),
    ({'id': 'j', 'schedule': 'Active'}, 'the job.schedule is a string, not an object'),
    ({'id': 'j', 'status': {'lastExecution': 'Failed'}}, 'the job.status.lastExecution is a string, not an object'),
    ({'id': 'j', 'status': {'code': 200}}, 'the job.status.code is a number, not a string'),
    ({'id': 'j', 'templateId': None, 'status': {'code': None, 'quarantine': None}}, None),
])
def test_job_problem_names_what_is_wrong(job, problem):
    assert job_problem(job, 'the job') == problem


def test_a_malformed_job_read_after_a_write_fails_that_application():
    graph = two_applications()
    graph.answer('GET', r'/synchronization/jobs/job-1$', 200, {'id': 'job-1', 'status': ['Active']})
    outcome = SyncJobs(graph).run([parse_job_request({'service_principal_id': GOOD_ID, 'state': 'started'})])[0]
    assert outcome.failed and outcome.sent == ['start']
    assert 'failed at reading the job after start: Graph answered with something that is not a job' in outcome.msg


def _outcome():
    return SyncOutcome(SyncRequest('service_principal_id', GOOD_ID, label='app'))


JOBS = [{'id': 'job-1', 'templateId': 'scim'}, {'id': 'job-2', 'templateId': 'gsuite'}]


def test_choose_job_by_id_by_template_or_the_only_one():
    outcome = _outcome()
    assert choose_job(outcome, JOBS, job_id='job-2')['id'] == 'job-2' and outcome.template_id == 'gsuite'
    assert choose_job(_outcome(), JOBS, template_id='scim')['id'] == 'job-1'
    assert choose_job(_outcome(), JOBS[:1])['id'] == 'job-1'


def test_choose_job_messages():
    several = _outcome()
    assert choose_job(several, JOBS) is None
    assert 'failed at choosing a synchronization job: it has 2 jobs (job-1, job-2); set job_id to the one to use.' \
        in several.msg
    missing = _outcome()
    choose_job(missing, JOBS, job_id='job-9')
    assert "failed at finding job_id: it has no synchronization job 'job-9'; its jobs are: job-1, job-2." in missing.msg
    creating = _outcome()
    choose_job(creating, JOBS, job_id='job-9', missing=CREATE)
    assert creating.msg.endswith('A job id cannot be chosen at creation: use template_id to create one.')
    none = _outcome()
    choose_job(none, [], purpose='authorize')
    assert 'it has no provisioning (synchronization) job, so there is nothing to authorize and nothing was sent.' \
        in none.msg


def test_choose_job_leaves_a_missing_job_to_the_caller_when_asked():
    for missing, job_id in ((CREATE, None), (IGNORE, None), (IGNORE, 'job-9')):
        outcome = _outcome()
        assert choose_job(outcome, JOBS[:1] if job_id else [], job_id=job_id, template_id=None,
                          missing=missing) is None
        assert not outcome.failed


def _result(status, error=None):
    return BatchResult(None, status=status, error=error, headers={'request-id': 'r-9'})


def test_the_saved_credentials_verdict_is_three_valued():
    assert saved_credentials_verdict(_outcome(), _result(204), 'checking') is ACCEPTED
    assert saved_credentials_verdict(_outcome(), _result(400, EntraError('no', status=400)), 'checking') \
        is NOT_ACCEPTED
    unknown = _outcome()
    assert saved_credentials_verdict(unknown, _result(503, EntraError('down', status=503)), 'verifying',
                                     advice='Look first.') is UNKNOWN
    assert unknown.failed and 'failed at verifying the saved credentials (validateCredentials): down Look first.' \
        in unknown.msg
    lost = _outcome()
    assert saved_credentials_verdict(lost, _result(None, OutcomeUnknownError('lost')), 'checking') is UNKNOWN


def _refused(message, built):
    body = {'error': {'code': 'CredentialValidationUnavailable', 'message': message}}
    return BatchResult.refused(None, 400, {}, body, lambda: built.append(1) or EntraError(message, status=400,
                                                                                          code=body['error']['code']),
                               attempts=1)


def test_a_refused_check_that_is_no_outage_is_read_without_building_its_error():
    built = []
    result = _refused('Failed to validate credentials: the secret token is not valid.', built)
    assert saved_credentials_verdict(_outcome(), result, 'checking') is NOT_ACCEPTED
    assert target_unavailable(result) is None
    assert built == []


def test_an_outage_is_told_with_the_masked_message():
    built = []
    result = _refused('The target answered HTTP 503 Service Unavailable.', built)
    outcome = _outcome()
    assert saved_credentials_verdict(outcome, result, 'checking') is UNAVAILABLE
    assert outcome.unavailable == 'The target answered HTTP 503 Service Unavailable'
    assert built == [1]
