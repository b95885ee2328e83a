# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.entra.provisioning.plugins.module_utils._auth.access_token import (
    AccessTokenAuth,
    decode_jwt_claims,
)
from ansible_collections.entra.provisioning.plugins.module_utils._errors import AuthenticationError, InvalidInputError
from ansible_collections.entra.provisioning.tests.unit.plugins.module_utils.helpers import make_auth, make_jwt


def token_auth(token, clock, **extra):
    options = {'access_token': token}
    options.update(extra)
    return make_auth(AccessTokenAuth, options, clock=clock)


def test_valid_token_is_used_as_is_with_its_expiry(clock):
    token = make_jwt(aud='https://graph.microsoft.com', exp=int(clock.now) + 600)
    auth = token_auth(token, clock)
    auth.validate()
    issued = auth.acquire_token()
    assert issued.token == token
    assert issued.expires_on == int(clock.now) + 600
    assert auth.REFRESHABLE is False


def test_expired_token_is_refused_with_when_and_what_to_do(clock):
    auth = token_auth(make_jwt(aud='https://graph.microsoft.com', exp=int(clock.now) - 1800), clock)
    with pytest.raises(InvalidInputError) as caught:
        auth.validate()
    assert 'expired at 2023-11-14T21:43:20Z (30 minutes ago)' in caught.value.message
    assert 'use an auth_method that can refresh' in caught.value.message


def test_token_expiring_during_the_run_fails_sign_in(clock):
    auth = token_auth(make_jwt(aud='https://graph.microsoft.com', exp=int(clock.now) + 60), clock)
    auth.validate()
    clock.advance(120)
    with pytest.raises(AuthenticationError):
        auth.acquire_token()


def test_token_for_another_clouds_graph_is_refused_naming_both_clouds(clock):
    auth = token_auth(make_jwt(aud='https://graph.microsoft.com/', exp=int(clock.now) + 600), clock, cloud='usgov')
    with pytest.raises(InvalidInputError) as caught:
        auth.validate()
    message = caught.value.message
    assert 'for Microsoft Graph in the global cloud (aud https://graph.microsoft.com/)' in message
    assert 'but cloud is usgov' in message and 'https://graph.microsoft.us/.default' in message


def test_token_for_another_api_is_refused(clock):
    auth = token_auth(make_jwt(aud='https://management.azure.com', exp=int(clock.now) + 600), clock)
    with pytest.raises(InvalidInputError) as caught:
        auth.validate()
    assert 'not for Microsoft Graph (aud https://management.azure.com)' in caught.value.message


def test_graph_app_id_audience_is_accepted_in_any_cloud(clock):
    auth = token_auth(make_jwt(aud='00000003-0000-0000-c000-000000000000', exp=int(clock.now) + 600), clock,
                      cloud='china')
    auth.validate()


def test_audience_follows_cloud_not_graph_endpoint(clock):
    token = make_jwt(aud='https://dod-graph.microsoft.us', exp=int(clock.now) + 600)
    auth = token_auth(token, clock, cloud='usgov_dod', graph_endpoint='https://127.0.0.1:8443')
    auth.validate()


def test_opaque_token_is_used_without_checks(clock):
    auth = token_auth('opaque-token-value', clock)
    auth.validate()
    assert auth.acquire_token().token == 'opaque-token-value'


def test_missing_token_is_named():
    with pytest.raises(InvalidInputError) as caught:
        make_auth(AccessTokenAuth, {}).validate()
    assert caught.value.message == 'auth_method access_token needs access_token.'


def test_errors_never_echo_the_token(clock):
    token = make_jwt(aud='https://management.azure.com', exp=int(clock.now) + 600)
    with pytest.raises(InvalidInputError) as caught:
        token_auth(token, clock).validate()
    assert token not in str(caught.value.to_dict())


@pytest.mark.parametrize('value', ['a.b', 'a.!!!.c', 'x.%s.y' % 'bm90IGpzb24', None])
def test_non_jwt_decodes_to_none(value):
    assert decode_jwt_claims(value) is None


# -- crafted claims: every value read from the token is checked ---------------------------------------------------

@pytest.mark.parametrize('exp, problem', [
    (float('nan'), 'is nan, not a time'),
    (float('inf'), 'is inf, not a time'),
    (float('-inf'), 'is -inf, not a time'),
    (-1e15, 'is -1000000000000000 seconds since 1970, outside the years 1970 to 9999'),
    (-1, 'is -1 seconds since 1970'),
    (1e20, 'is 100000000000000000000 seconds since 1970'),
    (2 ** 70, 'is 1180591620717411303424 seconds since 1970, outside the years 1970 to 9999'),
    (10 ** 400, 'is 100000000000000000000000... seconds since 1970'),
    ('1700000000', 'is text, not a number of seconds'),
    ([1], 'is a list, not a number of seconds'),
    ({'a': 1}, 'is an object, not a number of seconds'),
    (True, 'is a boolean, not a number of seconds'),
    (None, 'is null, not a number of seconds'),
])
def test_an_impossible_exp_is_refused_in_words_not_a_traceback(clock, exp, problem):
    auth = token_auth(make_jwt(aud='https://graph.microsoft.com', exp=exp), clock)
    with pytest.raises(InvalidInputError) as caught:
        auth.validate()
    assert caught.value.message.startswith('The given access_token is not one the sign-in service issued: its exp '
                                           'claim %s' % problem)
    assert 'auth_method' in caught.value.message
    with pytest.raises(AuthenticationError):
        auth.acquire_token()


def test_a_token_without_exp_gets_the_default_lifetime(clock):
    auth = token_auth(make_jwt(aud='https://graph.microsoft.com'), clock)
    auth.validate()
    assert auth.acquire_token().expires_on == int(clock.now) + 3600


def test_the_furthest_exp_a_date_can_show_is_accepted(clock):
    auth = token_auth(make_jwt(aud='https://graph.microsoft.com', exp=253402300799), clock)
    auth.validate()
    assert auth.acquire_token().expires_on == 253402300799


@pytest.mark.parametrize('aud', [{'x': 1}, 42, ['https://graph.microsoft.com', 7]])
def test_an_audience_that_is_not_text_is_refused(clock, aud):
    auth = token_auth(make_jwt(aud=aud, exp=int(clock.now) + 600), clock)
    with pytest.raises(InvalidInputError, match='its aud claim is not text'):
        auth.validate()
