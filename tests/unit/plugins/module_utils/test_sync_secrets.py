# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The secrets engine: refused key sets, the merge with the saved set, the diff text, test-then-save order, on_create,
the target outage, no server text kept."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest

from ansible_collections.entra.provisioning.plugins.module_utils._errors import InvalidInputError
from ansible_collections.entra.provisioning.plugins.module_utils._redact import redact
from ansible_collections.entra.provisioning.plugins.module_utils._sync.secrets import (
    SyncSecrets,
    merge_secrets,
    parse_secrets_request,
)
from ansible_collections.entra.provisioning.tests.unit.plugins.module_utils.lifecycle_graph_fake import (
    SP_ID,
    LifecycleGraph,
)

TOKEN = 'canary-unit-token-value'
SCIM = [{'key': 'BaseAddress', 'value': 'https://scim.example.invalid'}, {'key': 'secrettoken', 'value': TOKEN}]
VALIDATE = r'/jobs/job-1/validateCredentials$'
PORTAL = '{"Enabled":true,"Recipients":"ops@contoso.example","DeleteThresholdEnabled":true,"DeleteThresholdValue":17}'
SAVED = [('BaseAddress', 'https://scim.example.invalid'), ('SecretToken', '*'), ('SyncNotificationSettings', PORTAL),
         ('SyncAll', 'false')]


def graph(saved_accepted=False, given_accepted=True, saved=()):
    fake = LifecycleGraph()
    fake.answer('GET', r'/synchronization/jobs$', 200, {'value': [{'id': 'job-1', 'templateId': 'scim'}]})
    fake.answer('GET', r'/synchronization/secrets$', 200, {'value': [{'key': key, 'value': value}
                                                                     for key, value in saved]})
    rejected = (400, {'error': {'code': 'CredentialValidationUnavailable', 'message': 'echo %s' % TOKEN}})
    fake.answer('POST', VALIDATE, *(rejected if not given_accepted else (204,)))
    fake.answer('PUT', r'/secrets$', 204)
    return fake, saved_accepted


def run(fake_and_saved, check_mode=False, **options):
    fake, saved_accepted = fake_and_saved
    request = parse_secrets_request(dict(dict(service_principal_id=SP_ID, credentials=SCIM), **options))
    engine = SyncSecrets(fake, check_mode=check_mode)
    original = engine._saved_accepted  # pylint: disable=protected-access

    def saved(outcomes, step):
        if step == 'checking':
            return [saved_accepted for _outcome in outcomes]
        return original(outcomes, step)
    engine._saved_accepted = saved  # pylint: disable=protected-access
    return engine.run([request])[0]


def test_bearer_token_mixed_with_client_credential_keys_is_refused():
    with pytest.raises(InvalidInputError, match=r'mixes bearer-token keys \(SecretToken\) with OAuth '
                                                r'client-credential keys \(Oauth2ClientId\)'):
        parse_secrets_request({'service_principal_id': SP_ID, 'credentials': SCIM + [
            {'key': 'Oauth2ClientId', 'value': 'x'}]})


def request_settings(**options):
    return parse_secrets_request(dict(dict(service_principal_id=SP_ID, credentials=SCIM), **options)).settings


def pairs(plan):
    return dict((pair['key'], pair['value']) for pair in plan.pairs)


def test_missing_settings_are_added_with_safe_defaults_when_nothing_is_saved():
    plan = merge_secrets([], request_settings())
    assert json.loads(pairs(plan)['SyncNotificationSettings']) == {'Enabled': False, 'DeleteThresholdEnabled': False}
    assert pairs(plan)['SyncAll'] == 'false'
    assert plan.defaults_added == ['SyncNotificationSettings', 'SyncAll']
    assert plan.added == ['BaseAddress', 'SecretToken'] and plan.keys()[-2:] == ['SyncNotificationSettings', 'SyncAll']


def test_saved_settings_are_kept_and_no_default_replaces_them():
    plan = merge_secrets(SAVED, request_settings())
    assert pairs(plan)['SyncNotificationSettings'] == PORTAL and pairs(plan)['SyncAll'] == 'false'
    assert plan.defaults_added == [] and not plan.changes and plan.not_compared == ['SecretToken']


def test_keys_the_user_did_not_name_keep_their_saved_value():
    saved = SAVED + [('InstanceName', 'contoso-eu')]
    plan = merge_secrets(saved, request_settings())
    assert pairs(plan)['InstanceName'] == 'contoso-eu' and plan.keys() == [key for key, _value in saved]


def test_a_masked_secret_the_user_does_not_give_stops_the_write():
    with pytest.raises(InvalidInputError, match=r'holds Oauth2ClientSecret, whose value the service masks.*'
                                                r'remove_keys'):
        merge_secrets(SAVED + [('Oauth2ClientSecret', '*')], request_settings())


def test_remove_keys_deletes_a_saved_key_on_purpose():
    plan = merge_secrets(SAVED + [('Oauth2ClientSecret', '*')], request_settings(remove_keys=['oauth2clientsecret']))
    assert 'Oauth2ClientSecret' not in plan.keys() and plan.removed == ['Oauth2ClientSecret'] and plan.changes


def test_a_readable_value_that_differs_is_a_change():
    plan = merge_secrets([('BaseAddress', 'https://old.example.invalid')] + SAVED[1:], request_settings())
    assert plan.changed == ['BaseAddress'] and plan.changes


def test_the_threshold_changes_only_its_fields_and_is_compared_with_the_saved_ones():
    plan = merge_secrets(SAVED, request_settings(accidental_deletion_threshold=50))
    settings = json.loads(pairs(plan)['SyncNotificationSettings'])
    assert settings == dict(json.loads(PORTAL), DeleteThresholdValue=50)
    assert plan.settings_changed == ['DeleteThresholdValue']
    assert not merge_secrets(SAVED, request_settings(accidental_deletion_threshold=17)).changes


def test_a_threshold_of_zero_turns_the_protection_off():
    plan = merge_secrets(SAVED, request_settings(accidental_deletion_threshold=0))
    assert json.loads(pairs(plan)['SyncNotificationSettings'])['DeleteThresholdEnabled'] is False
    assert plan.settings_changed == ['DeleteThresholdEnabled']


def test_an_empty_notification_email_stops_the_mails():
    plan = merge_secrets(SAVED, request_settings(notification_email=''))
    settings = json.loads(pairs(plan)['SyncNotificationSettings'])
    assert settings['Enabled'] is False and 'Recipients' not in settings
    assert plan.settings_changed == ['Enabled', 'Recipients']


def test_the_options_build_on_the_default_settings_when_none_are_saved():
    plan = merge_secrets([], request_settings(notification_email='ops@contoso.example'))
    assert json.loads(pairs(plan)['SyncNotificationSettings']) == {
        'Enabled': True, 'Recipients': 'ops@contoso.example', 'DeleteThresholdEnabled': False}
    assert 'SyncNotificationSettings' in plan.added and plan.defaults_added == ['SyncAll']


def test_the_diff_names_keys_and_settings_never_a_value():
    plan = merge_secrets(SAVED + [('Oauth2ClientSecret', '*')], request_settings(
        remove_keys=['Oauth2ClientSecret'], accidental_deletion_threshold=50,
        credentials=[{'key': 'BaseAddress', 'value': 'https://new.example.invalid'},
                     {'key': 'SecretToken', 'value': TOKEN}, {'key': 'InstanceName', 'value': 'eu'}]))
    text = '\n'.join(plan.describe())
    assert text == ('+ InstanceName (added)\n- Oauth2ClientSecret (removed)\n~ BaseAddress (changed)\n'
                    '~ SyncNotificationSettings: DeleteThresholdValue (changed)\n'
                    '* SecretToken (sent again; the service masks its saved value, so it is not compared)')
    assert TOKEN not in text and 'new.example' not in text and '50' not in text


@pytest.mark.parametrize('options, message', [
    (dict(credentials=SCIM[:1] + [{'key': 'SecretToken', 'value': '*'}]), 'gives SecretToken the value "\\*"'),
    (dict(remove_keys=['SecretToken']), 'which credentials gives too'),
    (dict(remove_keys=['SyncAll']), 'cannot remove SyncNotificationSettings or SyncAll'),
    (dict(accidental_deletion_threshold=-1), 'accidental_deletion_threshold must be a whole number'),
    (dict(notification_email='not an address'), 'notification_email must be one e-mail address'),
])
def test_bad_merge_options_are_refused_before_anything_is_sent(options, message):
    with pytest.raises(InvalidInputError, match=message):
        request_settings(**options)


@pytest.mark.parametrize('key, value, message', [('SyncNotificationSettings', '{bad', 'must be a JSON object'),
                                                 ('SyncAll', 'yes', 'must be true')])
def test_bad_settings_are_refused(key, value, message):
    with pytest.raises(InvalidInputError, match=message):
        parse_secrets_request({'service_principal_id': SP_ID, 'credentials': SCIM + [{'key': key, 'value': value}]})


def test_values_are_registered_as_secrets():
    parse_secrets_request({'service_principal_id': SP_ID, 'credentials': SCIM})
    assert TOKEN not in redact('the token %s' % TOKEN)


def test_given_values_are_tested_before_the_put_and_the_saved_ones_after():
    fake = graph()
    outcome = run(fake)
    sync_calls = [(method, url.rsplit('/', 1)[-1]) for method, url, _body in fake[0].calls if method != 'GET']
    assert sync_calls == [('POST', 'validateCredentials'), ('PUT', 'secrets'), ('POST', 'validateCredentials')]
    validate = [body for method, url, body in fake[0].calls if url.endswith('validateCredentials')][0]
    assert validate['useSavedCredentials'] is False and validate['templateId'] == 'scim'
    assert outcome.saved and outcome.validated and outcome.accepted and outcome.changed


def test_on_create_sends_nothing_when_the_saved_credentials_are_accepted_and_the_merge_changes_nothing():
    fake = graph(saved_accepted=True, saved=SAVED)
    outcome = run(fake)
    assert not outcome.changed and fake[0].writes() == []


def test_always_saves_even_when_accepted():
    fake = graph(saved_accepted=True)
    assert run(fake, update_secrets='always').saved


def test_rejected_values_are_never_stored_and_the_answer_text_is_not_kept():
    fake = graph(given_accepted=False)
    outcome = run(fake)
    assert outcome.failed and fake[0].writes() == []
    assert outcome.error['code'] == 'CredentialValidationUnavailable' and outcome.error['status'] == 400
    assert 'echo' not in outcome.msg and TOKEN not in json.dumps(outcome.to_result())


def test_check_mode_tests_the_values_and_writes_nothing():
    fake = graph()
    outcome = run(fake, check_mode=True)
    assert outcome.would_save and outcome.changed and not outcome.saved and fake[0].writes() == []


def test_an_application_without_a_job_is_tested_through_the_jobs_collection_with_its_default_template():
    fake, saved = graph()
    fake.answer('GET', r'/synchronization/jobs$', 200, {'value': []})
    fake.answer('GET', r'/synchronization/templates$', 200,
                {'value': [{'id': 'other'}, {'id': 'scim', 'default': True}]})
    fake.answer('POST', r'/synchronization/jobs/validateCredentials$', 204)
    outcome = run((fake, saved))
    checks = [body for method, url, body in fake.calls if url.endswith('/synchronization/jobs/validateCredentials')]
    assert outcome.saved and outcome.accepted and outcome.job_id is None
    assert [body['useSavedCredentials'] for body in checks] == [False, True]
    assert all(body['templateId'] == 'scim' for body in checks)


def test_an_application_without_a_job_or_a_default_template_is_told_to_create_a_job():
    fake, saved = graph()
    fake.answer('GET', r'/synchronization/jobs$', 200, {'value': []})
    fake.answer('GET', r'/synchronization/templates$', 200, {'value': [{'id': 'a'}, {'id': 'b'}]})
    outcome = run((fake, saved))
    assert outcome.failed and 'entra_sync_job' in outcome.msg and fake.writes() == []


def test_a_job_id_the_application_does_not_have_still_fails():
    fake, saved = graph()
    outcome = run((fake, saved), job_id='job-9')
    assert outcome.failed and "no synchronization job 'job-9'" in outcome.msg and fake.writes() == []


def test_the_put_carries_the_merge_and_the_result_names_the_saved_keys():
    fake = graph(saved=SAVED)
    outcome = run(fake, accidental_deletion_threshold=30)
    put = [body for method, _url, body in fake[0].calls if method == 'PUT'][0]
    settings = json.loads(dict((pair['key'], pair['value']) for pair in put['value'])['SyncNotificationSettings'])
    assert settings['Recipients'] == 'ops@contoso.example' and settings['DeleteThresholdValue'] == 30
    result = outcome.to_result()
    assert result['saved_keys'] == ['BaseAddress', 'SecretToken', 'SyncNotificationSettings', 'SyncAll']
    assert result['changes']['settings_changed'] == ['DeleteThresholdValue']
    assert 'DeleteThresholdValue' in outcome.diff()['prepared'] and TOKEN not in outcome.diff()['prepared']


def test_on_create_writes_when_accepted_but_a_setting_differs():
    fake = graph(saved_accepted=True, saved=SAVED)
    assert run(fake, notification_email='ops@contoso.example').changed is False
    assert run(graph(saved_accepted=True, saved=SAVED), notification_email='hr@contoso.example').saved


def test_a_masked_secret_that_would_be_lost_fails_before_any_write():
    fake = graph(saved=SAVED + [('Oauth2RefreshToken', '*')])
    outcome = run(fake)
    assert outcome.failed and 'Oauth2RefreshToken' in outcome.msg and fake[0].writes() == []
    assert not [call for call in fake[0].calls if call[1].endswith('validateCredentials')]


def test_an_unreadable_saved_set_fails_before_any_write():
    fake, saved = graph()
    fake.answer('GET', r'/synchronization/secrets$', 200, {'value': [{'key': 'SyncAll'}]})
    outcome = run((fake, saved))
    assert outcome.failed and 'not a list of saved secrets' in outcome.msg and fake.writes() == []


OUTAGE = (400, {'error': {'code': 'CredentialValidationUnavailable', 'message': "Could not validate the credentials "
                          "of application 'App': the target answered HTTP/503 Service Unavailable."}})


def test_an_outage_with_saved_credentials_is_unknown_and_sends_nothing():
    fake = LifecycleGraph()
    fake.answer('GET', r'/synchronization/jobs$', 200, {'value': [{'id': 'job-1', 'templateId': 'scim'}]})
    fake.answer('GET', r'/synchronization/secrets$', 200, {'value': [{'key': k, 'value': v} for k, v in SAVED]})
    fake.answer('POST', VALIDATE, *OUTAGE)
    outcome = SyncSecrets(fake).run([parse_secrets_request(dict(service_principal_id=SP_ID, credentials=SCIM))])[0]
    assert outcome.failed and outcome.accepted_before is None and fake.writes() == []
    assert 'erred or did not answer' in outcome.msg and 'update_secrets: always' in outcome.msg


def test_not_in_allow_list_says_what_was_refused_and_what_to_do_instead():
    fake, saved = graph()
    fake.answer('PUT', r'/secrets$', 400, {'error': {'code': 'NotInAllowList', 'message': 'echo %s' % TOKEN}})
    outcome = run((fake, saved), credentials=[{'key': 'BaseAddress', 'value': 'https://x.example.invalid'},
                                              {'key': 'Oauth2ClientId', 'value': 'id'},
                                              {'key': 'Oauth2ClientSecret', 'value': TOKEN},
                                              {'key': 'Oauth2TokenExchangeUri',
                                               'value': 'https://x.example.invalid/t'}])
    assert outcome.failed and outcome.error['code'] == 'NotInAllowList'
    assert 'not in its allow list (most likely Oauth2TokenExchangeUri' in outcome.msg
    assert 'in the portal instead' in outcome.msg and TOKEN not in outcome.msg and 'echo' not in outcome.msg
