# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""Authorize the provisioning service for one application or hundreds, phase by phase.

The desired state is "provisioning is authorized". For every application the phases are: resolve the target,
find its synchronization job, ask the service whether the saved credentials are accepted (validateCredentials with
useSavedCredentials), call acquireAccessToken only when they are not (or when forced), and verify afterwards.
acquireAccessToken is bound to the application, not to a job: an application without a job (and no job_id asked for)
is checked and verified through the jobs collection with its default template (validateCredentials with templateId),
so it can be authorized before its job is created.
Requests go through $batch (a request alone goes directly), so the number of round trips grows with N/20, not N;
an application that fails drops out of the later phases and the others go on. The three phases that only read take each
application on as its answers come, so a caller still reading the applications overlaps with them; the two that
write run for all applications at once, after every read.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.entra.provisioning.plugins.module_utils._errors import InvalidInputError, OutcomeUnknownError
from ansible_collections.entra.provisioning.plugins.module_utils._graph.batch import BatchPipeline, BatchRequest
from ansible_collections.entra.provisioning.plugins.module_utils._graph.errors import synchronization_permission_advice
from ansible_collections.entra.provisioning.plugins.module_utils._sync.common import (
    RequestReader,
    UNAVAILABLE,
    SyncEngine,
    SyncOutcome,
    choose_job_or_template,
    jobs_request,
    saved_credentials_request,
    saved_credentials_verdict,
    saved_secrets_request,
    settle_unavailable,
    take_default_template,
    take_jobs,
    take_saved_secrets,
    target_item_spec,
    templates_request,
)
from ansible_collections.entra.provisioning.plugins.module_utils._sync.credentials import normalize_credentials
from ansible_collections.entra.provisioning.plugins.module_utils._sync.targets import (
    refuse_repeated_applications,
    request_id_of,
    resolve_request,
    take_target,
)

CREDENTIALS_EXAMPLE = '[{key: SecretToken, value: ...}] or {SecretToken: ...}'
# What one applications item may hold; every value is checked by _items, then by parse_request.
APPLICATION_ITEM_SPEC = target_item_spec(
    credentials=dict(type='raw', required=True, no_log=True, no_log_except=('key',),
                     example='credentials: ' + CREDENTIALS_EXAMPLE),
    job_id=dict(type='str'),
    force=dict(type='bool'),
    verify=dict(type='bool'),
)
# The answer to acquireAccessToken was lost: what the saved credentials check then means.
# The saved credentials could not be checked because the target erred: what the user may do about it.
FORCE_ADVICE = ('Run again when the target answers, or set force: true to send acquireAccessToken anyway (an OAuth '
                'authorization code is then spent even if the saved authorization still works).')
_LOST_ANSWER_ADVICE = ('The answer to acquireAccessToken was lost, so it is unknown whether acquireAccessToken took '
                       'effect: check the application in the portal before sending a single-use code again.')


def parse_request(options, where='', names=None):
    """Validate one application's options (a dict) and return a SyncRequest; no network traffic.

    Its settings: ``credentials`` (normalized), ``job_id``, ``force``, ``verify``. Errors name each option as the user
    wrote it: ``names`` maps an option to that text (the role passes ``{'credentials': "authorize_credentials of host
    'expenses'"}``); without an entry, ``where`` prefixes the option name, e.g. ``applications[3].`` so the user sees
    which item is wrong.
    """
    reader = RequestReader(options, where, names)
    job_id = reader.text('job_id')
    if options.get('credentials') is None:
        raise InvalidInputError('%s is required: give the credentials the application\'s connector expects, e.g. %s.'
                                % (reader.name('credentials'), CREDENTIALS_EXAMPLE))
    # normalize_credentials registers every value first: that masks a value Graph echoes into an error text too,
    # for every caller of this engine (the role included).
    credentials = normalize_credentials(options.get('credentials'), reader.name('credentials'))
    return reader.request(credentials=credentials, job_id=job_id, force=bool(options.get('force')),
                          verify=options.get('verify') is not False)


class ApplicationOutcome(SyncOutcome):
    """What happened to one application's authorization."""

    def __init__(self, request):
        super(ApplicationOutcome, self).__init__(request)
        self.authorized_before = None
        self.authorized = None
        self.acquired = False
        self.outcome_unknown = False
        self.would_acquire = False

    @property
    def changed(self):
        """True when acquireAccessToken was (or in check mode would be) called."""
        return self.acquired or self.would_acquire

    def fields(self):
        """authorized, acquired and the credential key names (never a value)."""
        return dict(authorized=self.authorized, acquired=self.acquired,
                    credential_keys=[pair['key'] for pair in self.request.settings.get('credentials') or []])

    def summary(self):
        """What was done, or would be; for an application without a job, that provisioning needs one to run."""
        if self.acquired:
            text = '%s: provisioning authorized (acquireAccessToken sent).' % self.describe()
        elif self.would_acquire:
            text = '%s: would call acquireAccessToken (check mode).' % self.describe()
        else:
            text = '%s: provisioning already authorized; nothing sent.' % self.describe()
        if self.job_id is None:
            text += (' It has no provisioning job yet (checked with template %s): create one to provision.'
                     % self.template_id)
        return text


class SyncAuthorizer(SyncEngine):
    """Runs the phases for a list of SyncRequests (from parse_request) against a GraphClient."""

    ITEM_SPEC = APPLICATION_ITEM_SPEC
    INHERITED = ('force', 'verify')
    parse = staticmethod(parse_request)

    def __init__(self, client, check_mode=False, max_concurrency=None, progress=None, before_writes=None):
        super(SyncAuthorizer, self).__init__(client, check_mode=check_mode, max_concurrency=max_concurrency)
        # progress(text) hears the reads start, then each write phase: 'phase 4 of 5, acquireAccessToken (998 ...)'.
        self.progress = progress
        # before_writes(outcomes), after every read and before any write, may fail outcomes (the role refuses an
        # application another sign-in group or part writes in the same run).
        self.before_writes = before_writes
        # The reads, each a step of the BatchPipeline: its request, and what follows its answer.
        self._checking = _Step(saved_credentials_request, self._take_check)
        self._reading_saved = _Step(saved_secrets_request, self._take_saved)
        self._reading_template = _Step(templates_request, self._take_template)
        self._listing = _Step(jobs_request, self._take_jobs)
        self._resolving = _Step(lambda outcome: resolve_request(outcome.request), self._take_target)

    @staticmethod
    def summarize(results):
        """acquired, unchanged and authorized counts."""
        return dict(acquired=sum(1 for result in results if result['acquired']),
                    unchanged=sum(1 for result in results if not result['failed'] and not result['changed']),
                    authorized=sum(1 for result in results if result['authorized']))

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

    @staticmethod
    def _arriving(requests, outcomes):
        """Yield the outcome of each request as it arrives, keeping them all; a refused one fails at once and is
        not yielded."""
        for request in requests:
            outcome = ApplicationOutcome(request)
            outcomes.append(outcome)
            if not outcome.failed:
                yield outcome

    def _tell(self, text):
        if self.progress is not None:
            self.progress(text)

    # -- the reads: each step names its request and takes its answer, then says what follows ---------------------

    def _take_target(self, outcome, result):
        take_target(outcome, result, self.client)
        return None if outcome.failed else self._listing

    def _take_jobs(self, outcome, result):
        jobs = take_jobs(outcome, result)
        if jobs is None:
            return None
        # acquireAccessToken needs no job: an application without one is checked with its default template instead.
        if choose_job_or_template(outcome, jobs):
            return self._reading_template
        return None if outcome.failed else self._after_job(outcome)

    def _take_template(self, outcome, result):
        if not take_default_template(outcome, result, 'check the credentials against'):
            return None
        return self._after_job(outcome)

    def _after_job(self, outcome):
        # forced: acquireAccessToken is sent whatever the saved credentials are, so they are not checked first
        return None if outcome.request.settings['force'] else self._checking

    def _take_check(self, outcome, result):
        outcome.authorized_before = saved_credentials_verdict(outcome, result, 'checking')
        # The target erred: only what is saved tells a first authorization (send) from a re-run (do not spend).
        return self._reading_saved if outcome.authorized_before == UNAVAILABLE else None

    @staticmethod
    def _take_saved(outcome, result):
        saved = take_saved_secrets(outcome, result, fail=False)
        outcome.authorized_before = settle_unavailable(outcome, saved, 'checking', FORCE_ADVICE)

    def _decide(self, outcomes):
        """After the reads: which applications need acquireAccessToken (in check mode: would need it)."""
        for outcome in outcomes:
            if outcome.failed:
                continue
            needs_acquire = outcome.request.settings['force'] or outcome.authorized_before is not True
            if not needs_acquire:
                outcome.authorized = True
            elif self.check_mode:
                outcome.would_acquire = True
                outcome.authorized = outcome.authorized_before

    # -- the writes: all applications at once ----------------------------------------------------------------------

    def _acquire(self, outcomes):
        to_acquire = [outcome for outcome in outcomes if not outcome.failed and outcome.authorized is not True]
        requests = [BatchRequest('POST', outcome.path + '/synchronization/acquireAccessToken',
                                 body={'credentials': outcome.request.settings['credentials']})
                    for outcome in to_acquire]
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
                     and (outcome.outcome_unknown or (outcome.acquired and outcome.request.settings['verify']))]
        verdicts = self._check_saved_credentials(
            to_verify, 'verifying', lambda outcome: _LOST_ANSWER_ADVICE if outcome.outcome_unknown else None)
        for outcome, accepted in zip(to_verify, verdicts):
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


class _Step(object):
    """One request of a BatchPipeline: ``request(outcome)`` builds it, ``take(outcome, result)`` reads its answer and
    returns the next step (or None)."""

    def __init__(self, request, take):
        self.request = request
        self.take = take


def _acquire_advice(error):
    if error is not None and error.status == 400:
        return 'Check the credential keys and values the application expects; an OAuth authorization code works once.'
    return None
