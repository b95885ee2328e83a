# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""Authorize the provisioning service for one application or hundreds, phase by phase.

The desired state is "provisioning is authorized". For every application the phases are: resolve the target,
find its synchronization job, ask the service whether the saved credentials are accepted (validateCredentials with
useSavedCredentials), call acquireAccessToken only when they are not (or when forced), and verify afterwards.
Requests go through $batch (a request alone goes directly), so the number of round trips grows with N/20, not N;
an application that fails drops out of the later phases and the others go on. The three phases that only read take each
application on as its answers come, so a caller still reading the applications overlaps with them; the two that
write run for all applications at once, after every read.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.entra.provisioning.plugins.module_utils._errors import (
    EntraError,
    InvalidInputError,
    OutcomeUnknownError,
)
from ansible_collections.entra.provisioning.plugins.module_utils._batch import BatchPipeline, BatchRequest
from ansible_collections.entra.provisioning.plugins.module_utils._graph_errors import synchronization_permission_advice
from ansible_collections.entra.provisioning.plugins.module_utils._ids import path_segment
from ansible_collections.entra.provisioning.plugins.module_utils._sync_credentials import normalize_credentials
from ansible_collections.entra.provisioning.plugins.module_utils._sync_targets import (
    answer_values,
    parse_items,
    parse_target,
    refuse_repeated_applications,
    request_id_of,
    resolve_request,
    send_requests,
    take_target,
    unreadable_answer,
)

CREDENTIALS_EXAMPLE = '[{key: SecretToken, value: ...}] or {SecretToken: ...}'
# What one applications item may hold; every value is checked by _items, then by parse_request.
APPLICATION_ITEM_SPEC = dict(
    name=dict(type='str'),
    service_principal_id=dict(type='str'),
    application_id=dict(type='str'),
    app_id=dict(type='str'),
    display_name=dict(type='str'),
    credentials=dict(type='raw', required=True, no_log=True, no_log_except=('key',),
                     example='credentials: ' + CREDENTIALS_EXAMPLE),
    job_id=dict(type='str'),
    force=dict(type='bool'),
    verify=dict(type='bool'),
)
NO_JOB_ADVICE = ('Create its provisioning job first: in the portal (the enterprise application, Provisioning, Get '
                 'started) or with the entra.provisioning.entra_sync_job module (state: present, which uses the '
                 "application's default template unless template_id is given); then run this again.")


class ApplicationRequest(object):
    """One application to authorize, validated: which target, its credentials and its per-app switches.

    A request whose options were refused carries the error in ``rejection``; it is reported as failed without any
    request being sent for it, while the other applications go on.
    """

    def __init__(self, target_option, target_value, credentials, label=None, job_id=None, force=False,
                 verify=True):
        self.target_option = target_option
        self.target_value = target_value
        self.credentials = credentials
        self.label = label or target_value
        self.job_id = job_id
        self.force = force
        self.verify = verify
        self.rejection = None

    @classmethod
    def rejected(cls, label, error):
        """Return a request that stands for an application whose options failed validation."""
        request = cls(None, None, [], label=label)
        request.rejection = error
        return request


def parse_applications(items, defaults):
    """Validate each ``applications`` item on its own and return one ApplicationRequest per item, in order.

    A bad item becomes a rejected request (reported as failed, nothing sent for it) and the others go on. An item's
    unset ``force``/``verify`` take ``defaults`` (the task's). ``items`` that is not a list raises InvalidInputError.
    """
    return parse_items(items, APPLICATION_ITEM_SPEC, lambda options, where: parse_request(options, where=where),
                       defaults=dict(force=defaults['force'], verify=defaults['verify']),
                       rejected=ApplicationRequest.rejected)


def parse_request(options, where='', names=None):
    """Validate one application's options (a dict) and return an ApplicationRequest; no network traffic.

    Errors name each option as the user wrote it: ``names`` maps an option to that text (the role passes
    ``{'credentials': "authorize_credentials of host 'expenses'"}``); without an entry, ``where`` prefixes the
    option name, e.g. ``applications[3].`` so the user sees which item is wrong.
    """
    def name_of(option):
        return (names or {}).get(option) or where + option

    target_option, target_value = parse_target(options, where, name_of)
    job_id = options.get('job_id')
    if job_id is not None and job_id.strip() == '':
        raise InvalidInputError('%s is empty; leave it out to use the only job of the application.'
                                % name_of('job_id'))
    if options.get('credentials') is None:
        raise InvalidInputError('%s is required: give the credentials the application\'s connector expects, e.g. %s.'
                                % (name_of('credentials'), CREDENTIALS_EXAMPLE))
    # normalize_credentials registers every value first: that masks a value Graph echoes into an error text too,
    # for every caller of this engine (the role included).
    credentials = normalize_credentials(options.get('credentials'), name_of('credentials'))
    return ApplicationRequest(
        target_option, target_value,
        credentials,
        label=options.get('name'),
        job_id=job_id,
        force=bool(options.get('force')),
        verify=options.get('verify') is not False,
    )


class ApplicationOutcome(object):
    """What happened to one application; ``to_result()`` gives the module's result fields for it."""

    def __init__(self, request):
        self.request = request
        self.object_type = None
        self.object_id = None
        self.app_id = None
        self.display_name = None
        self.path = None
        self.job_id = request.job_id
        self.template_id = None
        self.authorized_before = None
        self.authorized = None
        self.acquired = False
        self.outcome_unknown = False
        self.would_acquire = False
        self.request_id = None
        self.failed = False
        self.msg = None
        self.error = None
        self.warnings = []

    @property
    def changed(self):
        """True when acquireAccessToken was (or in check mode would be) called."""
        return self.acquired or self.would_acquire

    def fail(self, step, error, advice=None):
        """Mark this application failed at ``step`` with an EntraError (or a text)."""
        self.failed = True
        if isinstance(error, EntraError):
            self.error = error.to_dict()
            self.request_id = error.request_id or self.request_id
            reason = error.message
        else:
            reason = error
        self.msg = '%s failed at %s: %s%s' % (self.describe(), step, reason, ' ' + advice if advice else '')

    def describe(self):
        """Name the application for messages: its label and, once resolved, its object."""
        name = "Application '%s'" % self.request.label
        if self.object_id:
            name += ' (%s %s)' % (self.object_type, self.object_id)
        return name

    def to_result(self):
        """Return the per-application result fields (never a credential value)."""
        return dict(
            name=self.request.label,
            changed=self.changed,
            failed=self.failed,
            msg=self.msg or self._summary(),
            authorized=self.authorized,
            acquired=self.acquired,
            target=dict(object_type=self.object_type, object_id=self.object_id, app_id=self.app_id,
                        display_name=self.display_name, path=self.path),
            job_id=self.job_id,
            credential_keys=[pair['key'] for pair in self.request.credentials],
            request_id=self.request_id,
            error=self.error,
        )

    def _summary(self):
        if self.acquired:
            return '%s: provisioning authorized (acquireAccessToken sent).' % self.describe()
        if self.would_acquire:
            return '%s: would call acquireAccessToken (check mode).' % self.describe()
        return '%s: provisioning already authorized; nothing sent.' % self.describe()


class SyncAuthorizer(object):
    """Runs the phases for a list of ApplicationRequests against a GraphClient."""

    def __init__(self, client, check_mode=False, max_concurrency=None, progress=None, before_writes=None):
        self.client = client
        self.check_mode = check_mode
        self.max_concurrency = max_concurrency
        # progress(text) hears the reads start, then each write phase: 'phase 4 of 5, acquireAccessToken (998 ...)'.
        self.progress = progress
        # before_writes(outcomes), after every read and before any write, may fail outcomes (the role refuses an
        # application another sign-in group or part writes in the same run).
        self.before_writes = before_writes
        # The reads, each a step of the BatchPipeline: its request, and what follows its answer.
        self._checking = _Step(_saved_credentials_request, self._take_check)
        self._listing = _Step(self._jobs_request, self._take_jobs)
        self._resolving = _Step(lambda outcome: resolve_request(outcome.request), self._take_target)

    def run(self, requests):
        """Authorize every request; return ApplicationOutcomes in input order. Raises only for a whole-run failure
        (for example no token at all); per-application failures are recorded on their outcome.

        The three phases that only read (resolve the target, list its jobs, check the saved credentials) take each
        application from request to request as the answers come (BatchPipeline), and ``requests`` may be an iterator
        that yields them while the caller is still reading them (the role reads a thousand hosts' variables): the
        reads overlap the reading. The writes (acquireAccessToken, then verifying) start once every read is done, for
        all applications at once; an exception from the iterator ends the run before any of them.
        """
        outcomes = []
        writes = [] if self.check_mode else [('acquireAccessToken', self._acquire), ('verifying', self._verify)]
        total = 3 + len(writes)
        self._tell('phases 1 to 3 of %d, as the applications come: resolving the targets, listing their '
                   'synchronization jobs, checking their saved credentials' % total)
        BatchPipeline(self._send, self.max_concurrency or self.client.settings.max_concurrency).run(
            self._arriving(requests, outcomes), self._resolving)
        # Two requests naming one application were read side by side; only the first may write.
        refuse_repeated_applications(outcomes)
        if self.before_writes is not None:
            self.before_writes(outcomes)
        self._decide(outcomes)
        for number, (step, phase) in enumerate(writes, 4):
            self._tell('phase %d of %d, %s (%d application(s) not failed)'
                       % (number, total, step, sum(1 for outcome in outcomes if not outcome.failed)))
            phase(outcomes)
        return outcomes

    def _arriving(self, requests, outcomes):
        """Yield the outcome of each request as it arrives, keeping them all; a refused one fails at once and is
        not yielded."""
        for request in requests:
            outcome = ApplicationOutcome(request)
            outcomes.append(outcome)
            if request.rejection is not None:
                outcome.fail('validating its options', request.rejection)
                continue
            yield outcome

    def _tell(self, text):
        if self.progress is not None:
            self.progress(text)

    # -- the reads: each step names its request and takes its answer, then says what follows ---------------------

    def _take_target(self, outcome, result):
        take_target(outcome, result, self.client)
        return None if outcome.failed else self._listing

    @staticmethod
    def _jobs_request(outcome):
        return BatchRequest('GET', outcome.path + '/synchronization/jobs')

    def _take_jobs(self, outcome, result):
        if not result.ok:
            outcome.fail('listing synchronization jobs', result.error, synchronization_permission_advice(result.error))
            return None
        jobs = answer_values(result.body)
        if jobs is None or not all(isinstance(job.get('id'), str) and job['id'] for job in jobs):
            outcome.fail('listing synchronization jobs', unreadable_answer('a list of jobs', result))
            return None
        job_ids = [job['id'] for job in jobs]
        if outcome.job_id is not None:
            if outcome.job_id not in job_ids:
                outcome.fail('finding job_id', 'it has no synchronization job %r; its jobs are: %s.'
                             % (outcome.job_id, ', '.join(job_ids) or 'none'))
                return None
        elif not jobs:
            # The provisioning service keeps what acquireAccessToken exchanges with a job; without one the write has
            # nothing to authorize and Graph answers with advice about credentials.
            outcome.fail('finding its provisioning job', 'it has no provisioning (synchronization) job, so there is '
                         'nothing to authorize and nothing was sent.', NO_JOB_ADVICE)
            return None
        elif len(jobs) > 1:
            outcome.fail('choosing a synchronization job', 'it has %d jobs (%s); set job_id to the one to check.'
                         % (len(jobs), ', '.join(job_ids)))
            return None
        else:
            outcome.job_id = job_ids[0]
        for job in jobs:
            if job.get('id') == outcome.job_id:
                outcome.template_id = job.get('templateId')
        # forced: acquireAccessToken is sent whatever the saved credentials are, so they are not checked first
        return None if outcome.request.force else self._checking

    def _take_check(self, outcome, result):
        outcome.authorized_before = self._accepted(outcome, result, 'checking')
        return None

    def _decide(self, outcomes):
        """After the reads: which applications need acquireAccessToken (in check mode: would need it)."""
        for outcome in outcomes:
            if outcome.failed:
                continue
            needs_acquire = outcome.request.force or outcome.authorized_before is not True
            if not needs_acquire:
                outcome.authorized = True
            elif self.check_mode:
                outcome.would_acquire = True
                outcome.authorized = outcome.authorized_before

    # -- the writes: all applications at once ----------------------------------------------------------------------

    def _acquire(self, outcomes):
        to_acquire = [outcome for outcome in outcomes if not outcome.failed and outcome.authorized is not True]
        requests = [BatchRequest('POST', outcome.path + '/synchronization/acquireAccessToken',
                                 body={'credentials': outcome.request.credentials}) for outcome in to_acquire]
        for outcome, result in zip(to_acquire, self._send(requests)):
            if result.ok:
                outcome.acquired = True
                outcome.request_id = request_id_of(result) or outcome.request_id
            elif isinstance(result.error, OutcomeUnknownError):
                outcome.outcome_unknown = True
                outcome.request_id = result.error.request_id or outcome.request_id
            else:
                # Still what the check found (false, or null when forced): the refused call changed nothing.
                outcome.authorized = outcome.authorized_before
                outcome.fail('acquireAccessToken', result.error,
                             synchronization_permission_advice(result.error) or _acquire_advice(result.error))

    def _verify(self, outcomes):
        to_verify = [outcome for outcome in outcomes if not outcome.failed
                     and (outcome.outcome_unknown or (outcome.acquired and outcome.request.verify))]
        for outcome, accepted in zip(to_verify, self._saved_credentials_accepted(to_verify, 'verifying')):
            if outcome.failed:
                continue
            outcome.authorized = accepted
            if outcome.outcome_unknown:
                # The connection died after the POST was sent: what the service now accepts tells what happened.
                outcome.acquired = accepted
                if not accepted:
                    outcome.fail('acquireAccessToken', 'the connection was lost after the request was sent, and the '
                                 'service does not accept the saved credentials, so the authorization did not take '
                                 'effect.', 'Run again; an OAuth authorization code may have been consumed, so get a '
                                 'new one first.')
            elif not accepted:
                outcome.fail('verifying', 'acquireAccessToken answered 204 but validateCredentials does not accept '
                             'the saved credentials.', 'Check the credential values the application expects.')

    # -- helpers --------------------------------------------------------------------------------------------------

    def _saved_credentials_accepted(self, outcomes, step):
        """Ask validateCredentials (saved credentials) for each outcome: True/False, or mark it failed (None)."""
        results = self._send([_saved_credentials_request(outcome) for outcome in outcomes])
        return [self._accepted(outcome, result, step) for outcome, result in zip(outcomes, results)]

    @staticmethod
    def _accepted(outcome, result, step):
        """What a validateCredentials answer says: True/False, or None with the outcome failed at ``step``."""
        if result.ok:
            return True
        if result.status == 400 and not result.outcome_unknown:
            # 400 is how the service says "these saved credentials do not work (yet)"; its error text is not needed,
            # so it is never built.
            return False
        advice = synchronization_permission_advice(result.error)
        if outcome.outcome_unknown:
            advice = ('The answer to acquireAccessToken was lost, so it is unknown whether acquireAccessToken took '
                      'effect: check the application in the portal before sending a single-use code again.%s'
                      % (' ' + advice if advice else ''))
        outcome.fail('%s the saved credentials (validateCredentials)' % step, result.error, advice)
        return None

    def _send(self, requests):
        """Send requests: a single one directly, several through $batch. Returns BatchResults in input order."""
        return send_requests(self.client, requests, self.max_concurrency)


class _Step(object):
    """One request of a BatchPipeline: ``request(outcome)`` builds it, ``take(outcome, result)`` reads its answer and
    returns the next step (or None)."""

    def __init__(self, request, take):
        self.request = request
        self.take = take


def _saved_credentials_request(outcome):
    """validateCredentials with the saved credentials: a POST that only reads, so it is safe to send again."""
    return BatchRequest('POST', '%s/synchronization/jobs/%s/validateCredentials'
                        % (outcome.path, path_segment(outcome.job_id)),
                        body={'useSavedCredentials': True}, idempotent=True)


def _acquire_advice(error):
    if error is not None and error.status == 400:
        return 'Check the credential keys and values the application expects; an OAuth authorization code works once.'
    return None
