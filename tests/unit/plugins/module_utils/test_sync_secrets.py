# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The secrets engine: refused key sets, added settings, test-then-save order, on_create, no server text kept."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest

from ansible_collections.entra.provisioning.plugins.module_utils._errors import InvalidInputError
from ansible_collections.entra.provisioning.plugins.module_utils._redact import redact
from ansible_collections.entra.provisioning.plugins.module_utils._sync.secrets import (
    SyncSecrets,
    parse_secrets_request,
)
from ansible_collections.entra.provisioning.tests.unit.plugins.module_utils.lifecycle_graph_fake import (
    SP_ID,
    LifecycleGraph,
)

TOKEN = 'canary-unit-token-value'
SCIM = [{'key': 'BaseAddress', 'value': 'https://scim.example.invalid'}, {'key': 'secrettoken', 'value': TOKEN}]
VALIDATE = r'/jobs/job-1/validateCredentials$'


def graph(saved_accepted=False, given_accepted=True):
    fake = LifecycleGraph()
    fake.answer('GET', r'/synchronization/jobs$', 200, {'value': [{'id': 'job-1', 'templateId': 'scim'}]})
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


def test_missing_settings_are_added_with_safe_defaults_and_reported():
    request = parse_secrets_request({'service_principal_id': SP_ID, 'credentials': SCIM})
    keys = dict((pair['key'], pair['value']) for pair in request.settings['credentials'])
    assert json.loads(keys['SyncNotificationSettings']) == {'Enabled': False, 'DeleteThresholdEnabled': False}
    assert keys['SyncAll'] == 'false'
    assert request.settings['defaults_added'] == ['SyncNotificationSettings', 'SyncAll']


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
    assert fake[0].calls[2][2]['useSavedCredentials'] is False and fake[0].calls[2][2]['templateId'] == 'scim'
    assert outcome.saved and outcome.validated and outcome.accepted and outcome.changed


def test_on_create_sends_nothing_when_the_saved_credentials_are_accepted():
    fake = graph(saved_accepted=True)
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


def test_an_application_without_a_job_is_told_to_create_one():
    fake, saved = graph()
    fake.answer('GET', r'/synchronization/jobs$', 200, {'value': []})
    outcome = run((fake, saved))
    assert outcome.failed and 'entra_sync_job' in outcome.msg and fake.writes() == []
