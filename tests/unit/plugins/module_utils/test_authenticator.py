# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import threading

import pytest
import responses

from ansible_collections.entra.provisioning.plugins.module_utils._auth.common import AccessToken
from ansible_collections.entra.provisioning.plugins.module_utils._auth.authenticator import Authenticator
from ansible_collections.entra.provisioning.plugins.module_utils._connection_options import ConnectionOptions
from ansible_collections.entra.provisioning.plugins.module_utils._errors import AuthenticationError, InvalidInputError
from ansible_collections.entra.provisioning.plugins.module_utils._graph.session import build_session
from ansible_collections.entra.provisioning.tests.unit.plugins.module_utils.helpers import (
    CLIENT_SECRET,
    FakeClock,
    TENANT_ID,
    app_options,
    make_resolver,
)

LOGIN = 'https://login.microsoftonline.com'


def make_authenticator(options=None, environ=None, clock=None, retry_policy=None):
    resolver = make_resolver(options, environ)
    settings = ConnectionOptions(resolver).settings()
    return Authenticator(resolver, settings, build_session(settings), retry_policy=retry_policy, clock=clock)


def selected(options=None, environ=None):
    return make_authenticator(options, environ).select_method_name()


@pytest.mark.parametrize('options, method', [
    ({'client_secret': 's'}, 'client_secret'),
    ({'client_certificate_path': '/c.pem'}, 'certificate'),
    ({'federated_token_file': '/t'}, 'federated_token'),
    ({'access_token': 't'}, 'access_token'),
])
def test_auto_picks_the_one_explicit_credential(options, method):
    assert selected(options) == method


@pytest.mark.parametrize('environ, method', [
    ({'AZURE_CLIENT_SECRET': 's'}, 'client_secret'),
    ({'AZURE_SECRET': 's'}, 'client_secret'),
    ({'AZURE_CLIENT_CERTIFICATE_PATH': '/c.pem'}, 'certificate'),
    ({'AZURE_FEDERATED_TOKEN_FILE': '/t'}, 'federated_token'),
])
def test_auto_picks_the_one_credential_in_the_environment(environ, method):
    assert selected({}, environ) == method


def test_explicit_credential_wins_over_a_different_one_in_the_environment():
    assert selected({'client_certificate_path': '/c.pem'}, {'AZURE_SECRET': 's'}) == 'certificate'


def test_auto_refuses_two_explicit_credentials():
    with pytest.raises(InvalidInputError) as caught:
        selected({'client_secret': 's', 'access_token': 't'})
    assert caught.value.message == ('auth_method=auto found credentials for more than one method: access_token '
                                    '(access_token); client_secret (client_secret). Give only one, or set '
                                    'auth_method.')


def test_auto_refuses_two_credentials_in_the_environment_naming_the_variables():
    with pytest.raises(InvalidInputError) as caught:
        selected({}, {'AZURE_SECRET': 's', 'AZURE_FEDERATED_TOKEN_FILE': '/t'})
    assert 'client_secret (AZURE_SECRET)' in caught.value.message
    assert 'federated_token (AZURE_FEDERATED_TOKEN_FILE)' in caught.value.message
    assert 'Set auth_method to choose' in caught.value.message


def test_auto_refuses_no_credentials_and_points_at_managed_identity():
    with pytest.raises(InvalidInputError) as caught:
        selected(app_options())
    assert caught.value.message.startswith('No credentials were given: set one of access_token, ')
    assert 'client_secret (AZURE_CLIENT_SECRET / AZURE_SECRET)' in caught.value.message
    assert 'auth_method=managed_identity' in caught.value.message


def test_explicit_auth_method_is_used_whatever_else_is_set():
    assert selected({'auth_method': 'managed_identity', 'client_secret': 's'}) == 'managed_identity'


def test_awx_credential_variables_sign_in_unchanged(entra):
    entra.openid_configuration(LOGIN, TENANT_ID)
    entra.token_endpoint(LOGIN, TENANT_ID)
    authenticator = make_authenticator({}, {'AZURE_CLIENT_ID': app_options()['client_id'], 'AZURE_TENANT': TENANT_ID,
                                            'AZURE_SECRET': CLIENT_SECRET,
                                            'AZURE_CLOUD_ENVIRONMENT': 'AzureCloud'})
    authenticator.validate()
    assert authenticator.get_token() == entra.issued[0]
    assert entra.token_requests()[0]['client_secret'] == CLIENT_SECRET


class ScriptedMethod(object):
    """An auth method that hands out numbered tokens, or raises what it is told to."""

    NAME = 'scripted'
    REFRESHABLE = True

    def __init__(self, clock, lifetime=3600, failures=()):
        self.clock = clock
        self.lifetime = lifetime
        self.failures = list(failures)
        self.issued = 0
        self.forgotten = 0

    def acquire_token(self):
        if self.failures:
            raise self.failures.pop(0)
        self.issued += 1
        return AccessToken('token-%d' % self.issued, self.clock() + self.lifetime, None)

    def forget_token(self):
        self.forgotten += 1

    def describe_identity(self):
        return 'scripted'


def scripted_authenticator(clock, retry_policy=None, **method_args):
    authenticator = make_authenticator(app_options(client_secret=CLIENT_SECRET), clock=clock,
                                       retry_policy=retry_policy)
    authenticator._method = ScriptedMethod(clock, **method_args)
    return authenticator


def test_token_is_reused_while_fresh(clock):
    authenticator = scripted_authenticator(clock)
    tokens = {authenticator.get_token() for call in range(50)}
    assert tokens == {'token-1'}


def test_token_is_refreshed_five_minutes_before_expiry(clock):
    authenticator = scripted_authenticator(clock)
    authenticator.get_token()
    clock.advance(3600 - 301)
    assert authenticator.get_token() == 'token-1'
    clock.advance(2)
    assert authenticator.get_token() == 'token-2'


def test_refresh_on_hint_triggers_an_early_refresh(clock):
    authenticator = scripted_authenticator(clock)
    authenticator._token = AccessToken('hinted', clock.now + 7200, clock.now + 10)
    assert authenticator.get_token() == 'hinted'
    clock.advance(11)
    assert authenticator.get_token() == 'token-1'


def test_invalidate_drops_the_refused_token_and_the_cache_below(clock):
    authenticator = scripted_authenticator(clock)
    refused = authenticator.get_token()
    assert authenticator.invalidate(refused) is True
    assert authenticator.get_token() == 'token-2'
    assert authenticator.method.forgotten == 1


def test_invalidate_with_an_older_token_keeps_the_current_one(clock):
    authenticator = scripted_authenticator(clock)
    old = authenticator.get_token()
    authenticator.invalidate(old)
    current = authenticator.get_token()
    authenticator.invalidate(old)
    assert authenticator.get_token() == current


def test_concurrent_callers_share_one_token_request(clock):
    authenticator = scripted_authenticator(clock)
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(authenticator.get_token())) for number in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(seen) == {'token-1'} and authenticator.method.issued == 1


def test_transient_sign_in_failure_is_retried(clock, retry_policy, sleeper):
    from ansible_collections.entra.provisioning.plugins.module_utils._auth.common import TransientAuthenticationError
    authenticator = scripted_authenticator(clock, retry_policy=retry_policy,
                                           failures=[TransientAuthenticationError('busy')] * 2)
    assert authenticator.get_token() == 'token-1'
    assert sleeper.delays == [1.0, 2.0]


def test_transient_sign_in_failure_gives_up_after_all_attempts(clock, retry_policy, sleeper):
    from ansible_collections.entra.provisioning.plugins.module_utils._auth.common import TransientAuthenticationError
    authenticator = scripted_authenticator(clock, retry_policy=retry_policy,
                                           failures=[TransientAuthenticationError('busy', code='server_error')] * 9)
    with pytest.raises(AuthenticationError) as caught:
        authenticator.get_token()
    assert caught.value.message == 'Gave up after 4 attempts: busy'
    assert caught.value.code == 'server_error'
    assert len(sleeper.delays) == 3


def test_a_sign_in_wait_longer_than_the_ceiling_is_refused_not_slept(clock, retry_policy, sleeper):
    from ansible_collections.entra.provisioning.plugins.module_utils._auth.common import TransientAuthenticationError
    authenticator = scripted_authenticator(clock, retry_policy=retry_policy,
                                           failures=[TransientAuthenticationError('throttled', retry_after=3600)])
    with pytest.raises(AuthenticationError) as caught:
        authenticator.get_token()
    assert caught.value.message == ('The sign-in service asked to wait 3601 seconds, longer than 300; run again '
                                    'later: throttled')
    assert sleeper.delays == []


def test_definitive_sign_in_failure_is_not_retried(clock, retry_policy, sleeper):
    authenticator = scripted_authenticator(clock, retry_policy=retry_policy,
                                           failures=[AuthenticationError('wrong secret')])
    with pytest.raises(AuthenticationError):
        authenticator.get_token()
    assert sleeper.delays == []


def test_real_msal_cache_is_bypassed_after_invalidate(entra):
    entra.openid_configuration(LOGIN, TENANT_ID)
    entra.token_endpoint(LOGIN, TENANT_ID)
    authenticator = make_authenticator(app_options(client_secret=CLIENT_SECRET))
    first = authenticator.get_token()
    authenticator.invalidate(first)
    second = authenticator.get_token()
    assert first != second
    assert len(entra.token_requests()) == 2


def test_server_error_from_token_endpoint_is_retried_after_msals_replay_window(entra, monkeypatch):
    import msal.individual_cache
    from ansible_collections.entra.provisioning.plugins.module_utils._graph.retry import RetryPolicy

    # msal replays a 5xx from its cache by the wall clock; let the recorded sleeps move that clock
    msal_clock = FakeClock()
    monkeypatch.setattr(msal.individual_cache, 'time', type('FakeTime', (), {'time': staticmethod(msal_clock)}))
    delays = []

    def sleep(seconds):
        delays.append(seconds)
        msal_clock.advance(seconds)

    entra.openid_configuration(LOGIN, TENANT_ID)
    entra.mock.add(responses.POST, entra.token_url(LOGIN, TENANT_ID), status=503, body='busy')
    entra.token_endpoint(LOGIN, TENANT_ID)
    authenticator = make_authenticator(app_options(client_secret=CLIENT_SECRET),
                                       retry_policy=RetryPolicy(3, sleep=sleep, random_fraction=lambda: 0.0))
    assert authenticator.get_token() == entra.issued[0]
    assert delays == [6]
    assert len(entra.token_requests()) == 2


def test_missing_msal_is_reported_before_any_request(monkeypatch):
    from ansible_collections.entra.provisioning.plugins.module_utils._auth import common as _auth_common
    from ansible_collections.entra.provisioning.plugins.module_utils._errors import MissingDependencyError
    monkeypatch.setattr(_auth_common, 'HAS_MSAL', False)
    authenticator = make_authenticator(app_options(client_secret=CLIENT_SECRET))
    with pytest.raises(MissingDependencyError) as caught:
        authenticator.validate()
    assert caught.value.library == 'msal'


def test_access_token_needs_no_msal(monkeypatch):
    from ansible_collections.entra.provisioning.plugins.module_utils._auth import common as _auth_common
    monkeypatch.setattr(_auth_common, 'HAS_MSAL', False)
    make_authenticator({'access_token': 'opaque-token-value'}).validate()
