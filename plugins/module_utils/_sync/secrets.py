# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""Save a provisioning connector's credentials (PUT synchronization/secrets) for one application or hundreds.

PUT secrets replaces the whole saved set, so a write never sends only what the user gave: the saved set is read first
(GET secrets; secret values come back as ``*``) and the merge is written (``merge_secrets``): keys the user did not
name keep their saved value, SyncNotificationSettings and SyncAll as saved are never replaced by defaults, and the
accidental-deletion threshold and notification e-mail options change only the fields they name. A masked value
cannot be sent back (the service does not document ``*`` as "keep"), so a saved secret the user neither gives nor
removes on purpose stops the write for that application before anything is sent.

Phases, each for all applications at once: resolve the target, find its job (or, without one, its default template:
validateCredentials on the jobs collection tests credentials before a job exists), read the saved secrets, merge, ask
whether the saved credentials are accepted (only with update_secrets=on_create), test the merged set with
validateCredentials (so a wrong token is never stored), PUT it, and verify. Answers to calls that carried
credentials are reported by status, code and request id only: their text is never copied, because a service may
echo what it was sent.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re

from ansible_collections.entra.provisioning.plugins.module_utils._graph.batch import BatchRequest
from ansible_collections.entra.provisioning.plugins.module_utils._errors import EntraError, InvalidInputError
from ansible_collections.entra.provisioning.plugins.module_utils._graph.errors import (
    not_in_allow_list_advice,
    synchronization_permission_advice,
)
from ansible_collections.entra.provisioning.plugins.module_utils._redact import register_secret
from ansible_collections.entra.provisioning.plugins.module_utils._sync.common import (
    MASKED_VALUE,
    RequestReader,
    SyncEngine,
    SyncOutcome,
    choose_job_or_template,
    saved_secrets_request,
    take_default_template,
    take_saved_secrets,
    target_item_spec,
    target_unavailable,
    templates_request,
    validate_credentials_request,
)
from ansible_collections.entra.provisioning.plugins.module_utils._sync.credentials import (
    canonical_key,
    normalize_credentials,
)
from ansible_collections.entra.provisioning.plugins.module_utils._sync.targets import request_id_of, resolve_targets

UPDATE_SECRETS_CHOICES = ('always', 'on_create')
# What one applications item of entra_sync_secrets may hold (checked by _items; credential values are secrets).
SECRETS_ITEM_SPEC = target_item_spec(
    job_id=dict(type='str'), verify=dict(type='bool'),
    update_secrets=dict(type='str', choices=list(UPDATE_SECRETS_CHOICES)),
    credentials=dict(type='raw', required=True, no_log=True, no_log_except=('key',),
                     example='credentials: [{key: BaseAddress, value: ...}, {key: SecretToken, value: ...}]'),
    remove_keys=dict(type='list', elements='str'),
    accidental_deletion_threshold=dict(type='int'),
    notification_email=dict(type='str'),
)
BEARER_TOKEN_KEYS = ('SecretToken',)
CLIENT_CREDENTIAL_KEYS = ('Oauth2ClientId', 'Oauth2ClientSecret', 'Oauth2TokenExchangeUri')
NOTIFICATION_SETTINGS = 'SyncNotificationSettings'
# Without these two Graph has dropped a PUT secrets payload (reported, not documented): when neither the user nor
# the saved set has one, it is added with a safe value and the result says so. Notifications off and no delete
# threshold; SyncAll false = provision only assigned users and groups.
DEFAULT_NOTIFICATION_SETTINGS = {'Enabled': False, 'DeleteThresholdEnabled': False}
DEFAULT_SETTINGS = (
    (NOTIFICATION_SETTINGS, '{"Enabled":false,"DeleteThresholdEnabled":false}'),
    ('SyncAll', 'false'),
)
_ADDRESS = re.compile(r'^[^@\s;,]+@[^@\s;,]+\.[^@\s;,]+$')


def parse_secrets_request(options, where='', names=None):
    """Validate one application's secrets options (a dict) and return a SyncRequest; no network traffic.

    Reads the target options, ``name``, ``job_id``, ``credentials``, ``remove_keys``,
    ``accidental_deletion_threshold``, ``notification_email``, ``update_secrets`` and ``verify``. Refuses key sets
    the service is known to reject, a masked value (``*``) given back, and bad settings. Every value is registered as
    a secret.
    """
    reader = RequestReader(options, where, names)
    name_of = reader.name
    credentials = normalize_credentials(options.get('credentials'), name_of('credentials'))
    for pair in credentials:
        register_secret(pair['value'])
    keys = [pair['key'] for pair in credentials]
    masked = [key for key, pair in zip(keys, credentials) if pair['value'] == MASKED_VALUE]
    if masked:
        raise InvalidInputError(
            '%s gives %s the value "*", which is how the service shows a saved secret it will not reveal; it is not '
            'a way to keep one (the service does not document it so). Give the real value.'
            % (name_of('credentials'), ', '.join(masked)))
    bearer = [key for key in keys if key in BEARER_TOKEN_KEYS]
    client_credential = [key for key in keys if key in CLIENT_CREDENTIAL_KEYS]
    if bearer and client_credential:
        raise InvalidInputError(
            '%s mixes bearer-token keys (%s) with OAuth client-credential keys (%s); the service answers such a set '
            'with HTTP 500. Give either BaseAddress and SecretToken, or BaseAddress with Oauth2ClientId, '
            'Oauth2ClientSecret and Oauth2TokenExchangeUri.'
            % (name_of('credentials'), ', '.join(bearer), ', '.join(client_credential)))
    _check_settings(credentials, name_of('credentials'))
    update = options.get('update_secrets') or 'on_create'
    if update not in UPDATE_SECRETS_CHOICES:
        raise InvalidInputError('%s must be one of %s, got %r.'
                                % (name_of('update_secrets'), ', '.join(UPDATE_SECRETS_CHOICES), update))
    return reader.request(job_id=reader.text('job_id'), credentials=credentials, update_secrets=update,
                          remove_keys=_remove_keys(options.get('remove_keys'), keys, name_of('remove_keys')),
                          deletion_threshold=_threshold(options.get('accidental_deletion_threshold'),
                                                        name_of('accidental_deletion_threshold')),
                          notification_email=_email(options.get('notification_email'), name_of('notification_email')),
                          verify=options.get('verify') is not False)


def _remove_keys(names, given, where):
    if names is None:
        return []
    if not isinstance(names, list):
        raise InvalidInputError('%s must be a list of synchronizationSecret names, such as [Oauth2ClientSecret].'
                                % where)
    removed = [canonical_key(name, '%s[%d]' % (where, position)) for position, name in enumerate(names)]
    both = [key for key in removed if key in given]
    if both:
        raise InvalidInputError('%s names %s, which credentials gives too; a key is either saved or removed.'
                                % (where, ', '.join(both)))
    if NOTIFICATION_SETTINGS in removed or 'SyncAll' in removed:
        raise InvalidInputError('%s cannot remove SyncNotificationSettings or SyncAll: the service drops a set '
                                'without them. Change them with accidental_deletion_threshold, notification_email or '
                                'credentials instead.' % where)
    return removed


def _threshold(value, where):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInputError('%s must be a whole number: a positive one turns accidental-deletion prevention on '
                                'with that threshold, 0 turns it off; got %r.' % (where, value))
    return value


def _email(value, where):
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInputError('%s must be an e-mail address, or empty to stop the notification e-mails.' % where)
    value = value.strip()
    if value and not _ADDRESS.match(value):
        raise InvalidInputError('%s must be one e-mail address such as ops@contoso.example (or empty to stop the '
                                'notification e-mails), got %r.' % (where, value))
    return value


def _check_settings(credentials, where):
    for position, pair in enumerate(credentials):
        if pair['key'] == NOTIFICATION_SETTINGS and not isinstance(_json_object(pair['value']), dict):
            raise InvalidInputError('%s[%d].value (SyncNotificationSettings) must be a JSON object such as '
                                    '{"Enabled":false,"DeleteThresholdEnabled":false}; the service refuses '
                                    'anything else (InvalidNotificationSettings).' % (where, position))
        if pair['key'] == 'SyncAll' and pair['value'].lower() not in ('true', 'false'):
            raise InvalidInputError('%s[%d].value (SyncAll) must be true (provision every user) or false (only '
                                    'assigned users and groups).' % (where, position))


def _json_object(text):
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


class SecretsPlan(object):
    """The set to write for one application (``pairs``, a list of {key, value}) and what it changes, by name only:
    ``added`` (keys not saved before), ``removed`` (saved keys dropped on purpose), ``changed`` (keys whose saved
    value can be read and differs), ``settings_changed`` (SyncNotificationSettings fields), ``not_compared`` (given
    secrets whose saved value is masked: sent again, never compared) and ``defaults_added``."""

    def __init__(self):
        self.pairs = []
        self.added = []
        self.removed = []
        self.changed = []
        self.settings_changed = []
        self.not_compared = []
        self.defaults_added = []

    @property
    def changes(self):
        """True when the merge changes something the service shows (a masked secret given again does not count)."""
        return bool(self.added or self.removed or self.changed or self.settings_changed)

    def keys(self):
        """The names of the set to write, in order."""
        return [pair['key'] for pair in self.pairs]

    def describe(self):
        """Each change as a line of text (names only, never a value)."""
        lines = ['+ %s (added)' % key for key in self.added]
        lines += ['- %s (removed)' % key for key in self.removed]
        lines += ['~ %s (changed)' % key for key in self.changed]
        if self.settings_changed:
            lines.append('~ SyncNotificationSettings: %s (changed)' % ', '.join(self.settings_changed))
        lines += ['* %s (sent again; the service masks its saved value, so it is not compared)' % key
                  for key in self.not_compared]
        lines += ['+ %s (added with a safe default)' % key for key in self.defaults_added]
        return lines

    def to_result(self):
        """The changes as result fields."""
        return dict(added=list(self.added), removed=list(self.removed), changed=list(self.changed),
                    settings_changed=list(self.settings_changed), not_compared=list(self.not_compared))


def merge_secrets(saved, settings):
    """Return the SecretsPlan that writes ``settings`` (a secrets request's) over ``saved`` (a list of (key, value) as
    GET secrets shows them, masked values as ``*``) without losing a setting. Raise InvalidInputError when a saved
    secret the user neither gives nor removes is masked: it cannot be sent back, and leaving it out deletes it."""
    given = dict((pair['key'], pair['value']) for pair in settings['credentials'])
    removing = set(settings.get('remove_keys') or ())
    threshold, email = settings.get('deletion_threshold'), settings.get('notification_email')
    plan = SecretsPlan()
    lost = [key for key, value in saved if value == MASKED_VALUE and key not in given and key not in removing]
    if lost:
        raise InvalidInputError(
            'the saved set holds %s, whose value the service masks, and credentials does not give it: PUT secrets '
            'replaces the whole set, so saving now would delete it. Give its value in credentials to keep it, or '
            'list it in remove_keys to delete it on purpose.' % ', '.join(lost))
    saved_keys = [key for key, _value in saved]
    for key, value in saved:
        if key in removing:
            plan.removed.append(key)
            continue
        new_value = given.get(key, value)
        if key == NOTIFICATION_SETTINGS:
            new_value = _notification_settings(plan, value, given.get(key), threshold, email)
        elif key in given:
            if value == MASKED_VALUE:
                plan.not_compared.append(key)
            elif not _same(key, value, new_value):
                plan.changed.append(key)
        plan.pairs.append({'key': key, 'value': new_value})
    for pair in settings['credentials']:
        if pair['key'] not in saved_keys:
            plan.added.append(pair['key'])
            value = pair['value']
            if pair['key'] == NOTIFICATION_SETTINGS:
                value = _notification_settings(plan, None, value, threshold, email)
            plan.pairs.append({'key': pair['key'], 'value': value})
    for key, default in DEFAULT_SETTINGS:
        if key in plan.keys():
            continue
        if key == NOTIFICATION_SETTINGS and (threshold is not None or email is not None):
            plan.added.append(key)
            default = _notification_settings(plan, None, None, threshold, email)
        else:
            plan.defaults_added.append(key)
        plan.pairs.append({'key': key, 'value': default})
    return plan


def _notification_settings(plan, saved_text, given_text, threshold, email):
    """The SyncNotificationSettings to write: the given one, else the saved one, else the default, with the two
    options applied; records the fields that differ from the saved one in ``plan.settings_changed``."""
    base_text = given_text if given_text is not None else saved_text
    if threshold is None and email is None:
        final_text = base_text
    else:
        base = _json_object(base_text) if base_text is not None else dict(DEFAULT_NOTIFICATION_SETTINGS)
        if base is None:
            raise InvalidInputError('the saved SyncNotificationSettings is not a JSON object, so '
                                    'accidental_deletion_threshold and notification_email cannot be merged into it; '
                                    'give the whole SyncNotificationSettings in credentials instead.')
        final = dict(base)
        if threshold is not None:
            final['DeleteThresholdEnabled'] = threshold > 0
            if threshold > 0:
                final['DeleteThresholdValue'] = threshold
        if email is not None:
            final['Enabled'] = bool(email)
            if email:
                final['Recipients'] = email
            else:
                final.pop('Recipients', None)
        final_text = base_text if final == base else json.dumps(final, separators=(',', ':'))
    if saved_text is not None:
        before, after = _json_object(saved_text), _json_object(final_text)
        if before is None or after is None:
            if saved_text != final_text:
                plan.settings_changed.append('the whole value')
        else:
            plan.settings_changed.extend(sorted(name for name in set(before) | set(after)
                                                if before.get(name) != after.get(name)))
    return final_text


def _same(key, saved, given):
    if key == 'SyncAll':
        return saved.lower() == given.lower()
    return saved == given


class SecretsOutcome(SyncOutcome):
    """What happened to one application's secrets."""

    def __init__(self, request):
        super(SecretsOutcome, self).__init__(request)
        self.saved_before = None
        self.plan = None
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
        """Key names (never a value), the merge's changes by name, and what each check found."""
        plan = self.plan
        if self.saved:
            saved_keys = plan.keys()
        else:
            saved_keys = [key for key, _value in self.saved_before] if self.saved_before is not None else None
        given = [pair['key'] for pair in self.request.settings.get('credentials') or []]
        return dict(credential_keys=plan.keys() if plan else given,
                    defaults_added=list(plan.defaults_added) if plan else [], saved_keys=saved_keys,
                    changes=plan.to_result() if plan else None, accepted_before=self.accepted_before,
                    validated=self.validated, saved=self.saved, accepted=self.accepted)

    def diff(self):
        """The keys added, removed and changed by the write (or the one check mode would send); never a value."""
        if not self.changed or self.plan is None:
            return None
        return dict(prepared='secrets of %s:\n%s\n' % (self.describe(), '\n'.join(self.plan.describe())))

    def summary(self):
        """What was saved, or would be."""
        plan = self.plan
        added = plan.defaults_added if plan else []
        note = (' Added %s with safe defaults because neither credentials nor the saved set had them.'
                % ' and '.join(added) if added and self.changed else '')
        if self.saved:
            return '%s: secrets tested, saved%s.%s' % (self.describe(), ' and verified' if self.accepted else '', note)
        if self.would_save:
            return '%s: would save the secrets (check mode; the given values were tested).%s' % (self.describe(), note)
        return ('%s: the saved credentials are accepted and the saved settings are as asked; nothing sent '
                '(update_secrets=on_create).' % self.describe())


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
        self._read_saved([outcome for outcome in outcomes if not outcome.failed])
        on_create = [outcome for outcome in outcomes
                     if not outcome.failed and outcome.request.settings['update_secrets'] == 'on_create']
        for outcome, accepted in zip(on_create, self._saved_accepted(on_create, 'checking')):
            outcome.accepted_before = accepted
            if accepted and not outcome.plan.changes:
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
        """Choose each application's job; one without a job (and no job_id asked for) is tested through the jobs
        collection with its default template instead, so credentials can be saved before the job is created."""
        jobless = [outcome for outcome, jobs in self._read_jobs(outcomes)
                   if choose_job_or_template(outcome, jobs)]
        for outcome, result in zip(jobless, self._send([templates_request(outcome) for outcome in jobless])):
            take_default_template(outcome, result, 'test the credentials against')

    def _read_saved(self, outcomes):
        """Read each application's saved set and merge the request into it (the plan); a masked secret that would
        be lost fails the application before anything is written."""
        for outcome, result in zip(outcomes, self._send([saved_secrets_request(outcome) for outcome in outcomes])):
            outcome.saved_before = take_saved_secrets(outcome, result)
            if outcome.saved_before is None:
                continue
            try:
                outcome.plan = merge_secrets(outcome.saved_before, outcome.request.settings)
            except InvalidInputError as error:
                outcome.fail('merging with the saved secrets', error, 'Nothing was sent.')

    def _validate_given(self, outcomes):
        requests = [validate_credentials_request(outcome, {
            'useSavedCredentials': False, 'templateId': outcome.template_id,
            'applicationIdentifier': outcome.app_id, 'credentials': outcome.plan.pairs}) for outcome in outcomes]
        for outcome, result in zip(outcomes, self._send(requests)):
            if result.ok:
                outcome.validated = True
            elif target_unavailable(result):
                outcome.fail('testing the given credentials (validateCredentials)',
                             _without_answer_text('validateCredentials', result.error),
                             'The target erred or did not answer, so the values could not be tested; nothing was '
                             'saved. Run again when the target answers.')
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
                                 body={'value': outcome.plan.pairs}) for outcome in outcomes]
        for outcome, result in zip(outcomes, self._send(requests)):
            if result.ok:
                outcome.saved = True
                outcome.request_id = request_id_of(result) or outcome.request_id
            else:
                outcome.fail('saving the secrets (PUT secrets)', _without_answer_text('PUT secrets', result.error),
                             synchronization_permission_advice(result.error)
                             or not_in_allow_list_advice(result.error, outcome.plan.keys()))

    # -- helpers --------------------------------------------------------------------------------------------------

    def _saved_accepted(self, outcomes, step):
        """The saved-credentials verdict of each outcome (see _sync_common.saved_credentials_verdict); the saved
        set read first tells a first save from a target outage."""
        return self._check_saved_credentials(
            outcomes, step, saved_of=lambda outcome: outcome.saved_before if step == 'checking' else None,
            force_advice='Run again when the target answers, or set update_secrets: always to test and save the given '
                         'values anyway.' if step == 'checking' else None)


def _without_answer_text(call, error):
    """The error of a call that carried credentials, keeping status, code and ids but not the service's text."""
    if error is None:
        return EntraError('%s failed.' % call)
    return EntraError('%s failed with HTTP %s%s (the answer text is not shown: the request carried credentials).'
                      % (call, error.status, ' %s' % error.code if error.code else ''),
                      status=error.status, code=error.code, request_id=error.request_id,
                      client_request_id=error.client_request_id, date=error.date)
