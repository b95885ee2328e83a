# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""Authorize the provisioning service for one application or hundreds, phase by phase.

The desired state is "provisioning is authorized". For every application the phases are: resolve the target,
find its synchronization job, ask the service whether the saved credentials are accepted (validateCredentials with
useSavedCredentials), call acquireAccessToken only when they are not (or when forced), and verify afterwards.
Each phase runs for all applications at once (one request alone, many through $batch), so the number of round
trips grows with N/20, not N; an application that fails drops out of the later phases and the others go on.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from urllib.parse import quote

from ansible_collections.entra.provisioning.plugins.module_utils._errors import (
    EntraError,
    InvalidInputError,
    OutcomeUnknownError,
)
from ansible_collections.entra.provisioning.plugins.module_utils._batch import BatchRequest, BatchResult
from ansible_collections.entra.provisioning.plugins.module_utils._graph_errors import (
    read_permission_advice,
    synchronization_permission_advice,
)
from ansible_collections.entra.provisioning.plugins.module_utils._ids import (
    alternate_key_segment,
    odata_eq_filter,
    path_segment,
    validate_guid,
)
from ansible_collections.entra.provisioning.plugins.module_utils._redact import register_secret
from ansible_collections.entra.provisioning.plugins.module_utils._sync_credentials import normalize_credentials

TARGET_OPTIONS = ('service_principal_id', 'application_id', 'app_id', 'display_name')
_SELECT = 'id,appId,displayName'
# Two is enough to tell "one match" from "several"; five lets the failure name a few of them.
_DISPLAY_NAME_PAGE = 5


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


def parse_request(options, where='', names=None):
    """Validate one application's options (a dict) and return an ApplicationRequest; no network traffic.

    Errors name each option as the user wrote it: ``names`` maps an option to that text (the role passes
    ``{'credentials': "authorize_credentials of host 'expenses'"}``); without an entry, ``where`` prefixes the
    option name, e.g. ``applications[3].`` so the user sees which item is wrong.
    """
    def name_of(option):
        return (names or {}).get(option) or where + option

    given = [name for name in TARGET_OPTIONS if options.get(name) not in (None, '')]
    if len(given) != 1:
        raise InvalidInputError(
            '%s: give exactly one of %s to name the application, got %s.'
            % (where.rstrip('.') or 'target', ', '.join(name_of(name) for name in TARGET_OPTIONS),
               ', '.join(name_of(name) for name in given) if given else 'none'))
    target_option = given[0]
    target_value = options[target_option]
    if target_option != 'display_name':
        target_value = validate_guid(target_value, name_of(target_option))
    job_id = options.get('job_id')
    if job_id is not None and job_id.strip() == '':
        raise InvalidInputError('%s is empty; leave it out to use the only job of the application.'
                                % name_of('job_id'))
    credentials = normalize_credentials(options.get('credentials'), name_of('credentials'))
    for pair in credentials:
        # AnsibleModule's no_log masks these only in what a module returns; registering them also masks a value
        # that Graph echoes into an error text, for every caller of this engine (the role included).
        register_secret(pair['value'])
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

    def __init__(self, client, check_mode=False, max_concurrency=None):
        self.client = client
        self.check_mode = check_mode
        self.max_concurrency = max_concurrency

    def run(self, requests):
        """Authorize every request; return ApplicationOutcomes in input order. Raises only for a whole-run failure
        (for example no token at all); per-application failures are recorded on their outcome."""
        outcomes = [ApplicationOutcome(request) for request in requests]
        for outcome in outcomes:
            if outcome.request.rejection is not None:
                outcome.fail('validating its options', outcome.request.rejection)
        self._resolve(outcomes)
        self._find_jobs(outcomes)
        self._check(outcomes)
        if not self.check_mode:
            self._acquire(outcomes)
            self._verify(outcomes)
        for outcome in outcomes:
            if not outcome.failed and outcome.job_id is None and outcome.changed:
                outcome.warnings.append(
                    '%s has no synchronization job, so whether it was already authorized cannot be checked; '
                    'acquireAccessToken was %s.' % (outcome.describe(), 'called' if outcome.acquired else
                                                    'going to be called'))
        return outcomes

    # -- phases -------------------------------------------------------------------------------------------------

    def _resolve(self, outcomes):
        outcomes = [outcome for outcome in outcomes if not outcome.failed]
        requests = [_resolve_request(outcome.request) for outcome in outcomes]
        for outcome, result in zip(outcomes, self._send(requests)):
            request = outcome.request
            if not result.ok:
                outcome.fail('resolving %s %s' % (request.target_option, request.target_value), result.error,
                             _resolve_advice(result.error, self.client))
                continue
            body = result.body or {}
            if request.target_option == 'display_name':
                matches = body.get('value') or []
                if len(matches) != 1:
                    outcome.fail('resolving display_name', _display_name_problem(request.target_value, matches))
                    continue
                body = matches[0]
            outcome.object_type = 'application' if request.target_option == 'application_id' else 'servicePrincipal'
            outcome.object_id = body.get('id')
            outcome.app_id = body.get('appId')
            outcome.display_name = body.get('displayName')
            collection = 'applications' if outcome.object_type == 'application' else 'servicePrincipals'
            outcome.path = '/%s/%s' % (collection, path_segment(outcome.object_id))
            if request.label == request.target_value and outcome.display_name:
                request.label = outcome.display_name
        self._refuse_repeated_applications(outcomes)

    @staticmethod
    def _refuse_repeated_applications(outcomes):
        # Two items naming one application (perhaps by different ids) would be sent in the same batch in no
        # defined order: a single-use code would be spent twice and which credentials win would be chance.
        first_by_app_id = {}
        for outcome in outcomes:
            if outcome.failed or not outcome.app_id:
                continue
            earlier = first_by_app_id.setdefault(outcome.app_id.lower(), outcome)
            if earlier is not outcome:
                outcome.fail('resolving %s %s' % (outcome.request.target_option, outcome.request.target_value),
                             "it is the same application (appId %s) as '%s', earlier in the list."
                             % (outcome.app_id, earlier.request.label),
                             'List each application once, with the credentials to send.')

    def _find_jobs(self, outcomes):
        live = [outcome for outcome in outcomes if not outcome.failed]
        requests = [BatchRequest('GET', outcome.path + '/synchronization/jobs') for outcome in live]
        for outcome, result in zip(live, self._send(requests)):
            if not result.ok:
                outcome.fail('listing synchronization jobs', result.error, synchronization_permission_advice(result.error))
                continue
            jobs = (result.body or {}).get('value') or []
            job_ids = [job.get('id') for job in jobs]
            if outcome.job_id is not None:
                if outcome.job_id not in job_ids:
                    outcome.fail('finding job_id', 'it has no synchronization job %r; its jobs are: %s.'
                                 % (outcome.job_id, ', '.join(job_ids) or 'none'))
                    continue
            elif len(jobs) > 1:
                outcome.fail('choosing a synchronization job', 'it has %d jobs (%s); set job_id to the one to check.'
                             % (len(jobs), ', '.join(job_ids)))
                continue
            elif jobs:
                outcome.job_id = job_ids[0]
            for job in jobs:
                if job.get('id') == outcome.job_id:
                    outcome.template_id = job.get('templateId')

    def _check(self, outcomes):
        live = [outcome for outcome in outcomes if not outcome.failed]
        to_check = [outcome for outcome in live if outcome.job_id is not None and not outcome.request.force]
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
                outcome.request_id = _request_id(result) or outcome.request_id
            elif isinstance(result.error, OutcomeUnknownError):
                outcome.outcome_unknown = True
                outcome.request_id = result.error.request_id or outcome.request_id
            else:
                # Still what the check found (false, or null without a job): the refused call changed nothing.
                outcome.authorized = outcome.authorized_before
                outcome.fail('acquireAccessToken', result.error,
                             synchronization_permission_advice(result.error) or _acquire_advice(result.error))

    def _verify(self, outcomes):
        to_verify = [outcome for outcome in outcomes if not outcome.failed and outcome.job_id is not None
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
        for outcome in outcomes:
            if outcome.outcome_unknown and outcome.job_id is None and not outcome.failed:
                outcome.fail('acquireAccessToken', 'the connection was lost after the request was sent and the '
                             'application has no synchronization job to check the outcome with.',
                             'Check the application in the portal before sending a single-use code again.')

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
            elif result.status == 400 and not isinstance(result.error, OutcomeUnknownError):
                # 400 is how the service says "these saved credentials do not work (yet)".
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
        if not requests:
            return []
        if len(requests) == 1:
            request = requests[0]
            try:
                response = self.client.request(request.method, request.url, body=request.body,
                                               idempotent=request.idempotent)
            except EntraError as error:
                return [BatchResult(request, status=error.status, error=error, attempts=1)]
            return [BatchResult(request, status=response.status, headers=dict(response.headers or {}),
                                body=response.json, attempts=1)]
        return self.client.batch(requests, max_concurrency=self.max_concurrency)


def _resolve_request(request):
    """Return the GET that reads the target's id, appId and displayName."""
    if request.target_option == 'service_principal_id':
        return BatchRequest('GET', '/servicePrincipals/%s?$select=%s' % (path_segment(request.target_value), _SELECT))
    if request.target_option == 'application_id':
        return BatchRequest('GET', '/applications/%s?$select=%s' % (path_segment(request.target_value), _SELECT))
    if request.target_option == 'app_id':
        return BatchRequest('GET', '/%s?$select=%s'
                            % (alternate_key_segment('servicePrincipals', 'appId', request.target_value), _SELECT))
    query_filter = _query_value(odata_eq_filter('displayName', request.target_value))
    return BatchRequest('GET', '/servicePrincipals?$filter=%s&$select=%s&$top=%d'
                        % (query_filter, _SELECT, _DISPLAY_NAME_PAGE))


def _query_value(text):
    """Percent-encode a query value, keeping the OData quote readable (it is escaped by doubling, not encoding)."""
    return quote(text, safe="'")


def _display_name_problem(display_name, matches):
    if not matches:
        return ("no service principal is named %r in this tenant; check the spelling (the match is exact) and that "
                "tenant_id and cloud are the application's." % display_name)
    found = ', '.join('%s (appId %s)' % (match.get('id'), match.get('appId')) for match in matches)
    # Only one page is read, so a full page means there may be more.
    count = ('%d or more' if len(matches) >= _DISPLAY_NAME_PAGE else '%d') % len(matches)
    return ('%s service principals are named %r: %s. Use service_principal_id or app_id to pick one.'
            % (count, display_name, found))


def _resolve_advice(error, client):
    if error is not None and error.status == 404:
        return ('Check the id, and that tenant_id and cloud (%s) are those of the application.'
                % client.settings.cloud.name)
    return read_permission_advice(error)


def _acquire_advice(error):
    if error is not None and error.status == 400:
        return 'Check the credential keys and values the application expects; an OAuth authorization code works once.'
    return None


def _request_id(result):
    for name, value in (result.headers or {}).items():
        if str(name).lower() == 'request-id':
            return value
    return None
