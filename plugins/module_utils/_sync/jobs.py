# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""Read and drive synchronization jobs for one application or hundreds, phase by phase.

Phases (each for all applications at once, one request alone, many through $batch): resolve the target, list its
jobs, pick the job (by id, by template, or the only one), read the templates when a job must be created (a
template_id must be one of them; without one, the template marked default is used), create it, send the one action
the desired state needs (judged from the job's own status, because ``start`` on a running job can stop it), and
read the job again. An application that fails drops out of the
later phases; the others go on.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.entra.provisioning.plugins.module_utils._graph.batch import BatchRequest
from ansible_collections.entra.provisioning.plugins.module_utils._errors import InvalidInputError, OutcomeUnknownError
from ansible_collections.entra.provisioning.plugins.module_utils._graph.errors import synchronization_permission_advice
from ansible_collections.entra.provisioning.plugins.module_utils._ids import path_segment
from ansible_collections.entra.provisioning.plugins.module_utils._sync.common import (
    CREATE,
    IGNORE,
    RequestReader,
    SyncEngine,
    SyncOutcome,
    SyncRequest,
    choose_job,
    choose_template,
    take_job,
    target_item_spec,
    templates_request,
)
from ansible_collections.entra.provisioning.plugins.module_utils._sync.targets import (
    request_id_of,
    resolve_targets,
)

JOB_STATES = ('present', 'started', 'paused', 'restarted', 'absent')
# The restart criteria flags a caller may ask for; None and ConnectorDataStore are marked do-not-use by Microsoft.
RESET_SCOPE_FLAGS = ('Watermark', 'Escrows', 'QuarantineState', 'Full', 'ForceDeletes')
# What the portal's "Restart provisioning" sends.
PORTAL_RESET_SCOPE = ('Watermark', 'Escrows', 'QuarantineState')
# What one applications item of entra_sync_job_info and of entra_sync_job may hold (checked by _items).
JOB_INFO_ITEM_SPEC = target_item_spec(job_id=dict(type='str'))
JOB_ITEM_SPEC = target_item_spec(
    job_id=dict(type='str'), template_id=dict(type='str'),
    state=dict(type='str', choices=list(JOB_STATES)),
    reset_scope=dict(type='list', example='reset_scope: [Watermark, Escrows, QuarantineState]'),
)


def parse_job_request(options, where='', names=None):
    """Validate one application's job options (a dict) and return a SyncRequest; no network traffic.

    Reads the target options, ``name``, ``job_id``, ``template_id``, ``state`` (default ``present``; the info
    module passes none) and ``reset_scope`` (a list of flags, only with ``state=restarted``).
    """
    reader = RequestReader(options, where, names)
    name_of = reader.name
    settings = dict(state=options.get('state') or 'present', reset_scope=None, job_id=reader.text('job_id'),
                    template_id=reader.text('template_id'))
    if settings['job_id'] and settings['template_id']:
        raise InvalidInputError('%s and %s name the job twice; give one of them.'
                                % (name_of('job_id'), name_of('template_id')))
    if settings['state'] not in JOB_STATES:
        raise InvalidInputError('%s must be one of %s, got %r.' % (name_of('state'), ', '.join(JOB_STATES),
                                                                   settings['state']))
    scope = options.get('reset_scope')
    if scope:
        if settings['state'] != 'restarted':
            raise InvalidInputError('%s only applies with state=restarted (it is the restart criteria), but state is '
                                    '%s.' % (name_of('reset_scope'), settings['state']))
        settings['reset_scope'] = _canonical_scope(scope, name_of('reset_scope'))
    return reader.request(**settings)


def _canonical_scope(scope, where):
    flags = []
    by_lower = dict((flag.lower(), flag) for flag in RESET_SCOPE_FLAGS)
    for position, flag in enumerate(scope):
        canonical = by_lower.get(str(flag).strip().lower())
        if canonical is None:
            raise InvalidInputError('%s[%d]: %r is not a restart scope; use %s (the portal sends %s).'
                                    % (where, position, flag, ', '.join(RESET_SCOPE_FLAGS),
                                       ', '.join(PORTAL_RESET_SCOPE)))
        if canonical not in flags:
            flags.append(canonical)
    return flags


_ERROR_FIELDS = ('code', 'message', 'tenantActionable')


def describe_job(job):
    """Return a Graph synchronizationJob as the flat, snake_case shape results and alerts use."""
    status = job.get('status') or {}
    schedule = job.get('schedule') or {}
    quarantine = status.get('quarantine')
    code = status.get('code')
    return dict(
        id=job.get('id'),
        template_id=job.get('templateId'),
        schedule=dict(state=schedule.get('state'), interval=schedule.get('interval'),
                      expiration=schedule.get('expiration')),
        status=dict(code=code,
                    count_successive_complete_failures=status.get('countSuccessiveCompleteFailures'),
                    troubleshooting_url=status.get('troubleshootingUrl')),
        running=code == 'Active',
        quarantined=bool(quarantine) or code == 'Quarantine',
        quarantine=_describe_quarantine(quarantine),
        last_execution=_describe_execution(status.get('lastExecution')),
        last_successful_execution=_describe_execution(status.get('lastSuccessfulExecution')),
        last_successful_execution_with_exports=_describe_execution(status.get('lastSuccessfulExecutionWithExports')),
    )


def _describe_quarantine(quarantine):
    if not quarantine:
        return None
    return dict(reason=quarantine.get('reason'), current_began=quarantine.get('currentBegan'),
                next_attempt=quarantine.get('nextAttempt'), series_began=quarantine.get('seriesBegan'),
                series_count=quarantine.get('seriesCount'), error=_describe_error(quarantine.get('error')))


def _describe_execution(execution):
    if not execution:
        return None
    return dict(state=execution.get('state'), time_began=execution.get('timeBegan'),
                time_ended=execution.get('timeEnded'), error=_describe_error(execution.get('error')))


def _describe_error(error):
    """A synchronizationError {code, message, tenantActionable} (why a job is quarantined or a run failed), or None."""
    if not isinstance(error, dict) or not any(error.get(name) is not None for name in _ERROR_FIELDS):
        return None
    return dict(code=error.get('code'), message=error.get('message'), tenant_actionable=error.get('tenantActionable'))


class JobInfoOutcome(SyncOutcome):
    """What was read of one application's jobs: ``jobs`` (Graph's, each checked)."""

    def __init__(self, request):
        super(JobInfoOutcome, self).__init__(request)
        self.jobs = []

    def fields(self):
        """The application's jobs, described (only job_id's when one was asked for)."""
        return dict(jobs=[describe_job(job) for job in self.jobs])

    def summary(self):
        """How many jobs were read."""
        return '%s: %d job(s) read.' % (self.describe(), len(self.jobs))


class JobOutcome(JobInfoOutcome):
    """What happened to one application's job."""

    def __init__(self, request):
        super(JobOutcome, self).__init__(request)
        self.job = None
        self.status_before = None
        self.quarantined_before = False
        self.template_to_create = request.settings.get('template_id')
        self.actions = []
        self.sent = []

    @property
    def changed(self):
        """True when a write was (or in check mode would be) sent."""
        return bool(self.actions)

    @property
    def quarantine_lifted(self):
        """For a job that was quarantined and got start or restart: whether the job read after it is out of
        quarantine (True or False); None when that does not apply or was not sent."""
        if not self.quarantined_before or not set(self.sent) & {'start', 'restart'} or not self.job:
            return None
        return not describe_job(self.job)['quarantined']

    def fields(self):
        """The state asked for, what was sent (or would be), the job as it is now and whether a quarantine was
        lifted."""
        return dict(state=self.request.settings.get('state'), status_before=self.status_before,
                    actions=list(self.actions), job=describe_job(self.job) if self.job else None,
                    quarantine_lifted=self.quarantine_lifted)

    def summary(self):
        """What was sent, or would be in check mode, and what became of a quarantine."""
        if not self.actions:
            return '%s: the job is already %s; nothing sent.' % (self.describe(), self.request.settings['state'])
        # Every write that was not sent failed the application; none is sent in check mode.
        verb = 'sent' if self.sent else 'would send'
        lifted = self.quarantine_lifted
        note = ''
        if lifted is not None:
            note = (' The quarantine was lifted.' if lifted else ' The job is still quarantined (read after the %s); '
                    'see job.quarantine.error for why.' % ', '.join(self.sent))
        return '%s: %s %s.%s' % (self.describe(), verb, ', '.join(self.actions), note)


class SyncJobs(SyncEngine):
    """Brings jobs to a state for a list of SyncRequests (from parse_job_request) against a GraphClient."""

    ITEM_SPEC = JOB_ITEM_SPEC
    INHERITED = ('state',)
    OUTCOME = JobOutcome
    parse = staticmethod(parse_job_request)

    @staticmethod
    def summarize(results):
        """changed and unchanged counts."""
        return dict(changed=sum(1 for result in results if result['changed']),
                    unchanged=sum(1 for result in results if not result['changed'] and not result['failed']))

    def read(self, requests):
        """Resolve every request and read its jobs (no write); return outcomes in input order."""
        outcomes = [self.OUTCOME(request) for request in requests]
        self._resolve(outcomes)
        self._list_jobs(outcomes)
        return outcomes

    def run(self, requests):
        """Bring every request's job to its ``state``; return JobOutcomes in input order. Per-application failures
        are recorded on their outcome; an exception means the whole run failed (for example no token)."""
        return self.ensure_outcomes([JobOutcome(request) for request in requests])

    def ensure_outcomes(self, outcomes):
        """As ``run``, for JobOutcomes; one whose ``path`` is already set is not resolved again."""
        self._resolve(outcomes)
        self._list_jobs(outcomes)
        self._choose_jobs(outcomes)
        self._choose_templates([outcome for outcome in outcomes if not outcome.failed and outcome.job is None
                                and outcome.request.settings['state'] != 'absent'])
        self._create([outcome for outcome in outcomes if not outcome.failed and outcome.template_to_create
                      and outcome.job is None and outcome.request.settings['state'] != 'absent'])
        self._act(outcomes)
        self._reread([outcome for outcome in outcomes if not outcome.failed and outcome.sent
                      and outcome.job_id and 'delete' not in outcome.sent])
        return outcomes

    # -- phases -------------------------------------------------------------------------------------------------

    def _resolve(self, outcomes):
        resolve_targets([outcome for outcome in outcomes if outcome.path is None], self._send, self.client)

    def _list_jobs(self, outcomes):
        for outcome, jobs in self._read_jobs(outcomes):
            outcome.jobs = jobs

    @staticmethod
    def _choose_jobs(outcomes):
        for outcome in outcomes:
            if outcome.failed:
                continue
            settings = outcome.request.settings
            outcome.job = choose_job(outcome, outcome.jobs, settings['job_id'], settings['template_id'],
                                     missing=IGNORE if settings['state'] == 'absent' else CREATE)
            if outcome.job is not None:
                outcome.status_before = (outcome.job.get('status') or {}).get('code')
                outcome.quarantined_before = describe_job(outcome.job)['quarantined']

    def _choose_templates(self, outcomes):
        """Read the templates of each application whose job is to be created: the one template_id names must be
        there, else the one marked default is used."""
        for outcome, result in zip(outcomes, self._send([templates_request(outcome) for outcome in outcomes])):
            outcome.template_to_create = choose_template(outcome, result, outcome.template_to_create,
                                                         'create the job from')

    def _create(self, outcomes):
        for outcome in outcomes:
            outcome.actions.append('create')
        if self.check_mode:
            return
        requests = [BatchRequest('POST', outcome.path + '/synchronization/jobs',
                                 body={'templateId': outcome.template_to_create}) for outcome in outcomes]
        for outcome, result in zip(outcomes, self._send(requests)):
            if not result.ok:
                outcome.actions.remove('create')
                self._fail_write(outcome, 'creating the job from template %s' % outcome.template_to_create, result)
                continue
            outcome.sent.append('create')
            outcome.request_id = request_id_of(result) or outcome.request_id
            outcome.job = take_job(outcome, result, 'reading the job created from template %s'
                                   % outcome.template_to_create)
            outcome.job_id = (outcome.job or {}).get('id')

    def _act(self, outcomes):
        planned = []
        for outcome in outcomes:
            if outcome.failed:
                continue
            action = _action_for(outcome.request.settings['state'], outcome.job, 'create' in outcome.actions)
            if action:
                outcome.actions.append(action)
                planned.append((outcome, action))
        if self.check_mode:
            return
        planned = [(outcome, action) for outcome, action in planned if outcome.job_id]
        requests = [self._action_request(outcome, action) for outcome, action in planned]
        for (outcome, action), result in zip(planned, self._send(requests)):
            if not result.ok:
                outcome.actions.remove(action)
                self._fail_write(outcome, '%s of job %s' % (action, outcome.job_id), result)
                continue
            outcome.sent.append(action)
            outcome.request_id = request_id_of(result) or outcome.request_id
            if action == 'delete':
                outcome.job = None

    def _reread(self, outcomes):
        requests = [BatchRequest('GET', '%s/synchronization/jobs/%s' % (outcome.path, path_segment(outcome.job_id)))
                    for outcome in outcomes]
        for outcome, result in zip(outcomes, self._send(requests)):
            step = 'reading the job after %s' % ', '.join(outcome.sent)
            if not result.ok:
                outcome.fail(step, result.error)
                continue
            outcome.job = take_job(outcome, result, step) or outcome.job

    # -- helpers --------------------------------------------------------------------------------------------------

    @staticmethod
    def _action_request(outcome, action):
        job_path = '%s/synchronization/jobs/%s' % (outcome.path, path_segment(outcome.job_id))
        if action == 'delete':
            return BatchRequest('DELETE', job_path)
        # Every action carries a JSON body: the service answers a bodyless one 400 "Empty Payload. JSON content
        # expected." and restart with empty criteria is the portal's restart, which lifts a quarantine.
        body = {}
        scope = outcome.request.settings.get('reset_scope')
        if action == 'restart' and scope:
            body = {'criteria': {'resetScope': ', '.join(scope)}}
        return BatchRequest('POST', '%s/%s' % (job_path, action), body=body)

    @staticmethod
    def _fail_write(outcome, step, result):
        advice = synchronization_permission_advice(result.error)
        if isinstance(result.error, OutcomeUnknownError):
            advice = ('The answer was lost, so it is unknown whether it took effect; read the job with '
                      'entra_sync_job_info before running again.')
        outcome.fail(step, result.error, advice)


class SyncJobInfo(SyncJobs):
    """Reads the jobs of a list of SyncRequests (from parse_job_request): all of them, or only ``job_id``."""

    ITEM_SPEC = JOB_INFO_ITEM_SPEC
    INHERITED = ()
    OUTCOME = JobInfoOutcome

    @staticmethod
    def summarize(results):
        """Counts an alert can use directly."""
        jobs = [job for result in results for job in result['jobs']]
        return dict(jobs=len(jobs), running=sum(1 for job in jobs if job['running']),
                    quarantined=sum(1 for job in jobs if job['quarantined']),
                    last_execution_failed=sum(1 for job in jobs
                                              if (job['last_execution'] or {}).get('state') == 'Failed'))

    def run(self, requests):
        """Read every request's jobs; return JobInfoOutcomes in input order."""
        outcomes = self.read(requests)
        for outcome in outcomes:
            if not outcome.failed and outcome.job_id is not None:
                chosen = choose_job(outcome, outcome.jobs, outcome.job_id)
                outcome.jobs = [chosen] if chosen is not None else []
        return outcomes


def _action_for(state, job, creating):
    """The one job action ``state`` needs given the job's own status (None: nothing to send)."""
    if state == 'absent':
        return 'delete' if job is not None else None
    code = ((job or {}).get('status') or {}).get('code')
    if state == 'started':
        # Start on a running job can stop it (the docs warn); on a quarantined one it clears the quarantine.
        return None if code == 'Active' and not creating else 'start'
    if state == 'paused':
        return None if code == 'Paused' and not creating else 'pause'
    if state == 'restarted':
        # A job that never ran is started, not restarted: there is no state to reset.
        return 'start' if creating else 'restart'
    return None


def start_jobs_unless_running(client, targets, check_mode=False, max_concurrency=None):
    """Start each application's synchronization job unless it is already running; for the authorize role.

    ``targets`` is a list of dicts with ``label``, ``path`` (``/servicePrincipals/<id>``, as the authorize engine
    resolved it) and ``job_id``. A job whose status is ``Active`` is left alone (a second ``start`` can stop it); a
    paused, never-run or quarantined one is started (``start`` clears a quarantine). In check mode nothing is sent.
    Returns one dict per target, in order: ``label``, ``job_id``, ``status_before``, ``started`` (sent or, in check
    mode, would be), ``job`` (describe_job after the run), ``failed``, ``msg``, ``error``.
    """
    outcomes = []
    for target in targets:
        request = SyncRequest('service_principal_id', None, label=target.get('label') or target.get('path'),
                              settings=dict(job_id=target.get('job_id'), template_id=None, state='started',
                                            reset_scope=None))
        outcome = JobOutcome(request)
        outcome.path = target.get('path')
        if not outcome.path or not target.get('job_id'):
            outcome.fail('starting its job', 'it has no resolved object or job to start.')
        outcomes.append(outcome)
    SyncJobs(client, check_mode=check_mode, max_concurrency=max_concurrency).ensure_outcomes(outcomes)
    return [dict(label=outcome.request.label, job_id=outcome.job_id, status_before=outcome.status_before,
                 started='start' in outcome.actions, job=describe_job(outcome.job) if outcome.job else None,
                 failed=outcome.failed, msg=outcome.msg or outcome.summary(), error=outcome.error)
            for outcome in outcomes]
