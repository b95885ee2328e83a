# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""Save a provisioning connector's credentials (PUT synchronization/secrets) for one application or hundreds.

Phases, each for all applications at once: resolve the target, find its job, ask whether the saved credentials are
accepted (only with update_secrets=on_create: the service cannot read values back, so "accepted" is the only way to
tell), test the given values with validateCredentials (so a wrong token is never stored), PUT the whole set, and
verify the saved ones. Answers to calls that carried credentials are reported by status, code and request id only:
their text is never copied, because a service may echo what it was sent.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

from ansible_collections.entra.provisioning.plugins.module_utils._graph.batch import BatchRequest
from ansible_collections.entra.provisioning.plugins.module_utils._errors import EntraError, InvalidInputError
from ansible_collections.entra.provisioning.plugins.module_utils._graph.errors import synchronization_permission_advice
from ansible_collections.entra.provisioning.plugins.module_utils._ids import path_segment
from ansible_collections.entra.provisioning.plugins.module_utils._redact import register_secret
from ansible_collections.entra.provisioning.plugins.module_utils._sync.common import (
    RequestReader,
    SyncEngine,
    SyncOutcome,
    choose_job,
    target_item_spec,
)
from ansible_collections.entra.provisioning.plugins.module_utils._sync.credentials import normalize_credentials
from ansible_collections.entra.provisioning.plugins.module_utils._sync.targets import request_id_of, resolve_targets

UPDATE_SECRETS_CHOICES = ('always', 'on_create')
# What one applications item of entra_sync_secrets may hold (checked by _items; credential values are secrets).
SECRETS_ITEM_SPEC = target_item_spec(
    job_id=dict(type='str'), verify=dict(type='bool'),
    update_secrets=dict(type='str', choices=list(UPDATE_SECRETS_CHOICES)),
    credentials=dict(type='raw', required=True, no_log=True, no_log_except=('key',),
                     example='credentials: [{key: BaseAddress, value: ...}, {key: SecretToken, value: ...}]'),
)
BEARER_TOKEN_KEYS = ('SecretToken',)
CLIENT_CREDENTIAL_KEYS = ('Oauth2ClientId', 'Oauth2ClientSecret', 'Oauth2TokenExchangeUri')
# PUT secrets replaces the whole set, and without these two Graph has dropped the payload (reported, not
# documented): when the user leaves them out, these safe values are added and the result says so.
# Notifications off and no delete threshold e-mail; SyncAll false = provision only assigned users and groups.
DEFAULT_SETTINGS = (
    ('SyncNotificationSettings', '{"Enabled":false,"DeleteThresholdEnabled":false}'),
    ('SyncAll', 'false'),
)


def parse_secrets_request(options, where='', names=None):
    """Validate one application's secrets options (a dict) and return a SyncRequest; no network traffic.

    Reads the target options, ``name``, ``job_id``, ``credentials``, ``update_secrets`` and ``verify``. Refuses key
    sets the service is known to reject, checks SyncNotificationSettings and SyncAll, and adds them when missing.
    Every value is registered as a secret.
    """
    reader = RequestReader(options, where, names)
    name_of = reader.name
    credentials = normalize_credentials(options.get('credentials'), name_of('credentials'))
    for pair in credentials:
        register_secret(pair['value'])
    keys = [pair['key'] for pair in credentials]
    bearer = [key for key in keys if key in BEARER_TOKEN_KEYS]
    client_credential = [key for key in keys if key in CLIENT_CREDENTIAL_KEYS]
    if bearer and client_credential:
        raise InvalidInputError(
            '%s mixes bearer-token keys (%s) with OAuth client-credential keys (%s); the service answers such a set '
            'with HTTP 500. Give either BaseAddress and SecretToken, or BaseAddress with Oauth2ClientId, '
            'Oauth2ClientSecret and Oauth2TokenExchangeUri.'
            % (name_of('credentials'), ', '.join(bearer), ', '.join(client_credential)))
    _check_settings(credentials, name_of('credentials'))
    defaults_added = []
    for key, value in DEFAULT_SETTINGS:
        if key not in keys:
            credentials.append({'key': key, 'value': value})
            defaults_added.append(key)
    update = options.get('update_secrets') or 'on_create'
    if update not in UPDATE_SECRETS_CHOICES:
        raise InvalidInputError('%s must be one of %s, got %r.'
                                % (name_of('update_secrets'), ', '.join(UPDATE_SECRETS_CHOICES), update))
    return reader.request(job_id=reader.text('job_id'), credentials=credentials, defaults_added=defaults_added,
                          update_secrets=update, verify=options.get('verify') is not False)


def _check_settings(credentials, where):
    for position, pair in enumerate(credentials):
        if pair['key'] == 'SyncNotificationSettings':
            try:
                settings = json.loads(pair['value'])
            except ValueError:
                settings = None
            if not isinstance(settings, dict):
                raise InvalidInputError('%s[%d].value (SyncNotificationSettings) must be a JSON object such as '
                                        '{"Enabled":false,"DeleteThresholdEnabled":false}; the service refuses '
                                        'anything else (InvalidNotificationSettings).' % (where, position))
        if pair['key'] == 'SyncAll' and pair['value'].lower() not in ('true', 'false'):
            raise InvalidInputError('%s[%d].value (SyncAll) must be true (provision every user) or false (only '
                                    'assigned users and groups).' % (where, position))


class SecretsOutcome(SyncOutcome):
    """What happened to one application's secrets."""

    def __init__(self, request):
        super(SecretsOutcome, self).__init__(request)
        self.accepted_before = None
        self.validated = False
        self.would_save = False
        self.saved = False
        self.accepted = None

    @property
    def changed(self):
        """True when PUT secrets was (or in check mode would be) sent."""
        return self.saved or self.would_save

    def fields(self):
        """Key names (never a value), the settings added, and what each check found."""
        settings = self.request.settings
        return dict(credential_keys=[pair['key'] for pair in settings.get('credentials') or []],
                    defaults_added=list(settings.get('defaults_added') or []),
                    accepted_before=self.accepted_before, validated=self.validated, saved=self.saved,
                    accepted=self.accepted)

    def summary(self):
        """What was saved, or would be."""
        added = self.request.settings.get('defaults_added')
        note = (' Added %s with safe defaults because they were not given.' % ' and '.join(added)
                if added and self.changed else '')
        if self.saved:
            return '%s: secrets tested, saved%s.%s' % (self.describe(), ' and verified' if self.accepted else '', note)
        if self.would_save:
            return '%s: would save the secrets (check mode; the given values were tested).%s' % (self.describe(), note)
        return ('%s: the saved credentials are accepted; nothing sent (update_secrets=on_create).'
                % self.describe())


class SyncSecrets(SyncEngine):
    """Runs the phases for a list of SyncRequests (from parse_secrets_request) against a GraphClient."""

    ITEM_SPEC = SECRETS_ITEM_SPEC
    INHERITED = ('update_secrets', 'verify')
    parse = staticmethod(parse_secrets_request)

    @staticmethod
    def summarize(results):
        """saved (or would be) and unchanged counts."""
        return dict(saved=sum(1 for result in results if result['changed']),
                    unchanged=sum(1 for result in results if not result['changed'] and not result['failed']))

    def run(self, requests):
        """Save every request's secrets; return SecretsOutcomes in input order."""
        outcomes = [SecretsOutcome(request) for request in requests]
        resolve_targets(outcomes, self._send, self.client)
        self._find_jobs(outcomes)
        on_create = [outcome for outcome in outcomes
                     if not outcome.failed and outcome.request.settings['update_secrets'] == 'on_create']
        for outcome, accepted in zip(on_create, self._saved_accepted(on_create, 'checking')):
            outcome.accepted_before = accepted
            if accepted:
                outcome.accepted = True
        to_save = [outcome for outcome in outcomes if not outcome.failed and outcome.accepted is not True]
        self._validate_given(to_save)
        to_save = [outcome for outcome in to_save if not outcome.failed]
        if self.check_mode:
            for outcome in to_save:
                outcome.would_save = True
            return outcomes
        self._put(to_save)
        to_verify = [outcome for outcome in to_save if outcome.saved and outcome.request.settings['verify']]
        for outcome, accepted in zip(to_verify, self._saved_accepted(to_verify, 'verifying')):
            outcome.accepted = accepted
            if accepted is False:
                outcome.fail('verifying', 'PUT secrets answered 204 but validateCredentials does not accept the '
                             'saved credentials.', 'The service may have dropped the payload; run again, and check '
                             'SyncNotificationSettings and SyncAll.')
        return outcomes

    # -- phases -------------------------------------------------------------------------------------------------

    def _find_jobs(self, outcomes):
        for outcome, jobs in self._read_jobs(outcomes):
            choose_job(outcome, jobs, outcome.job_id, purpose='test the credentials against')

    def _validate_given(self, outcomes):
        requests = [BatchRequest('POST', self._validate_url(outcome), idempotent=True, body={
            'useSavedCredentials': False, 'templateId': outcome.template_id,
            'applicationIdentifier': outcome.app_id, 'credentials': outcome.request.settings['credentials']})
            for outcome in outcomes]
        for outcome, result in zip(outcomes, self._send(requests)):
            if result.ok:
                outcome.validated = True
            elif result.status == 400:
                outcome.fail('testing the given credentials (validateCredentials)',
                             _without_answer_text('validateCredentials', result.error),
                             'The target rejected them or could not be reached; nothing was saved. Check BaseAddress '
                             'and the secret or client credentials.')
            else:
                outcome.fail('testing the given credentials (validateCredentials)',
                             _without_answer_text('validateCredentials', result.error),
                             synchronization_permission_advice(result.error))

    def _put(self, outcomes):
        requests = [BatchRequest('PUT', outcome.path + '/synchronization/secrets',
                                 body={'value': outcome.request.settings['credentials']}) for outcome in outcomes]
        for outcome, result in zip(outcomes, self._send(requests)):
            if result.ok:
                outcome.saved = True
                outcome.request_id = request_id_of(result) or outcome.request_id
            else:
                outcome.fail('saving the secrets (PUT secrets)', _without_answer_text('PUT secrets', result.error),
                             synchronization_permission_advice(result.error))

    # -- helpers --------------------------------------------------------------------------------------------------

    def _saved_accepted(self, outcomes, step):
        """The saved-credentials verdict of each outcome (see _sync_common.saved_credentials_verdict)."""
        return self._check_saved_credentials(outcomes, step)

    @staticmethod
    def _validate_url(outcome):
        return '%s/synchronization/jobs/%s/validateCredentials' % (outcome.path, path_segment(outcome.job_id))


def _without_answer_text(call, error):
    """The error of a call that carried credentials, keeping status, code and ids but not the service's text."""
    if error is None:
        return EntraError('%s failed.' % call)
    return EntraError('%s failed with HTTP %s%s (the answer text is not shown: the request carried credentials).'
                      % (call, error.status, ' %s' % error.code if error.code else ''),
                      status=error.status, code=error.code, request_id=error.request_id,
                      client_request_id=error.client_request_id, date=error.date)
