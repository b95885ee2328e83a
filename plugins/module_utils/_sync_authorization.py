# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""Authorize the provisioning service for one application or hundreds, phase by phase.

The desired state is "provisioning is authorized". For every application the phases are: resolve the target,
find its synchronization job, ask the service whether the saved credentials are accepted (validateCredentials with
useSavedCredentials), call acquireAccessToken only when they are not (or when forced), and verify afterwards.
Each phase runs for all applications at once (one request alone, many through $batch), so the number of round
trips grows with N/20, not N; an application that fails drops out of the later phases and the others go on. The
first phase, which only reads, takes the applications as they come, so a caller still reading them overlaps with it.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.entra.provisioning.plugins.module_utils._errors import (
    EntraError,
    InvalidInputError,
    OutcomeUnknownError,
)
from ansible_collections.entra.provisioning.plugins.module_utils._batch import BATCH_LIMIT, BatchRequest
from ansible_collections.entra.provisioning.plugins.module_utils._graph_errors import synchronization_permission_advice
from ansible_collections.entra.provisioning.plugins.module_utils._ids import path_segment
from ansible_collections.entra.provisioning.plugins.module_utils._sync_credentials import normalize_credentials
from ansible_collections.entra.provisioning.plugins.module_utils._sync_targets import (
    answer_values,
    parse_items,
    parse_target,
    request_id_of,
    resolve_targets,
    send_requests,
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

    def __init__(self, client, check_mode=False, max_concurrency=None, progress=None):
        self.client = client
        self.check_mode = check_mode
        self.max_concurrency = max_concurrency
        # progress(text) hears each phase as it starts: 'phase 2 of 5, listing synchronization jobs (998 ...)'.
        self.progress = progress

    def run(self, requests):
        """Authorize every request; return ApplicationOutcomes in input order. Raises only for a whole-run failure
        (for example no token at all); per-application failures are recorded on their outcome.

        ``requests`` may be an iterator that yields them while the caller is still reading them (the role reads a
        thousand hosts' variables): the targets are resolved a wave of envelopes at a time as they come, and no
        write is sent before the last one has arrived. An exception from the iterator ends the run before any write.
        """
        outcomes = []
        phases = [('listing synchronization jobs', self._find_jobs), ('checking the saved credentials', self._check)]
        if not self.check_mode:
            phases += [('acquireAccessToken', self._acquire), ('verifying', self._verify)]
        self._tell('phase 1 of %d, resolving the targets' % (len(phases) + 1))
        resolve_targets(self._arriving(requests, outcomes), self._send, self.client, wave=self._wave())
        for number, (step, phase) in enumerate(phases, 2):
            self._tell('phase %d of %d, %s (%d application(s) not failed)'
                       % (number, len(phases) + 1, step, sum(1 for outcome in outcomes if not outcome.failed)))
            phase(outcomes)
        return outcomes

    def _arriving(self, requests, outcomes):
        """Yield an outcome for each request as it arrives (a refused one already failed), keeping them all."""
        for request in requests:
            outcome = ApplicationOutcome(request)
            if request.rejection is not None:
                outcome.fail('validating its options', request.rejection)
            outcomes.append(outcome)
            yield outcome

    def _wave(self):
        """How many requests fill every envelope that may be in flight at once."""
        return BATCH_LIMIT * (self.max_concurrency or self.client.settings.max_concurrency)

    def _tell(self, text):
        if self.progress is not None:
            self.progress(text)

    # -- phases -------------------------------------------------------------------------------------------------

    def _find_jobs(self, outcomes):
        live = [outcome for outcome in outcomes if not outcome.failed]
        requests = [BatchRequest('GET', outcome.path + '/synchronization/jobs') for outcome in live]
        for outcome, result in zip(live, self._send(requests)):
            if not result.ok:
                outcome.fail('listing synchronization jobs', result.error,
                             synchronization_permission_advice(result.error))
                continue
            jobs = answer_values(result.body)
            if jobs is None or not all(isinstance(job.get('id'), str) and job['id'] for job in jobs):
                outcome.fail('listing synchronization jobs', unreadable_answer('a list of jobs', result))
                continue
            job_ids = [job['id'] for job in jobs]
            if outcome.job_id is not None:
                if outcome.job_id not in job_ids:
                    outcome.fail('finding job_id', 'it has no synchronization job %r; its jobs are: %s.'
                                 % (outcome.job_id, ', '.join(job_ids) or 'none'))
                    continue
            elif not jobs:
                # The provisioning service keeps what acquireAccessToken exchanges with a job; without one the
                # write has nothing to authorize and Graph answers with advice about credentials.
                outcome.fail('finding its provisioning job', 'it has no provisioning (synchronization) job, so there '
                             'is nothing to authorize and nothing was sent.', NO_JOB_ADVICE)
                continue
            elif len(jobs) > 1:
                outcome.fail('choosing a synchronization job', 'it has %d jobs (%s); set job_id to the one to check.'
                             % (len(jobs), ', '.join(job_ids)))
                continue
            else:
                outcome.job_id = job_ids[0]
            for job in jobs:
                if job.get('id') == outcome.job_id:
                    outcome.template_id = job.get('templateId')

    def _check(self, outcomes):
        live = [outcome for outcome in outcomes if not outcome.failed]
        to_check = [outcome for outcome in live if not outcome.request.force]
        for outcome, accepted in zip(to_check, self._saved_credentials_accepted(to_check, 'checking')):
            outcome.authorized_before = accepted
        for outcome in live:
            if outcome.failed:
                continue
            needs_acquire = outcome.request.force or outcome.authorized_before is not True
            if not needs_acquire:
                outcome.authorized = True
            elif self.check_mode:
                outcome.would_acquire = True
                outcome.authorized = outcome.authorized_before

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
        requests = [BatchRequest('POST', '%s/synchronization/jobs/%s/validateCredentials'
                                 % (outcome.path, path_segment(outcome.job_id)),
                                 body={'useSavedCredentials': True}, idempotent=True) for outcome in outcomes]
        answers = []
        for outcome, result in zip(outcomes, self._send(requests)):
            if result.ok:
                answers.append(True)
            elif result.status == 400 and not result.outcome_unknown:
                # 400 is how the service says "these saved credentials do not work (yet)"; its error text is not
                # needed, so it is never built.
                answers.append(False)
            else:
                advice = synchronization_permission_advice(result.error)
                if outcome.outcome_unknown:
                    advice = ('The answer to acquireAccessToken was lost, so it is unknown whether acquireAccessToken '
                              'took effect: check the application in the portal before sending a single-use code '
                              'again.%s' % (' ' + advice if advice else ''))
                outcome.fail('%s the saved credentials (validateCredentials)' % step, result.error, advice)
                answers.append(None)
        return answers

    def _send(self, requests):
        """Send requests: a single one directly, several through $batch. Returns BatchResults in input order."""
        return send_requests(self.client, requests, self.max_concurrency)


def _acquire_advice(error):
    if error is not None and error.status == 400:
        return 'Check the credential keys and values the application expects; an OAuth authorization code works once.'
    return None
