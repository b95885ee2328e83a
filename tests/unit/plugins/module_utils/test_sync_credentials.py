# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The synchronizationSecret names and the checks a credentials list passes before anything is sent."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.entra.provisioning.plugins.module_utils._errors import InvalidInputError
from ansible_collections.entra.provisioning.plugins.module_utils._redact import redact, registered_secrets
from ansible_collections.entra.provisioning.plugins.module_utils._sync.credentials import (
    SYNCHRONIZATION_SECRET_KEYS,
    canonical_key,
    normalize_credentials,
)

# Graph's enum as published in the reference, kept here independently of the module's copy.
GRAPH_ENUM = (
    'None UserName Password SecretToken AppKey BaseAddress ClientIdentifier ClientSecret SingleSignOnType Sandbox '
    'Url Domain ConsumerKey ConsumerSecret TokenKey TokenExpiration Oauth2AccessToken Oauth2AccessTokenCreationTime '
    'Oauth2RefreshToken SyncAll InstanceName Oauth2ClientId Oauth2ClientSecret CompanyId UpdateKeyOnSoftDelete '
    'SynchronizationSchedule SystemOfRecord SandboxName EnforceDomain SyncNotificationSettings '
    'SkipOutOfScopeDeletions Oauth2AuthorizationCode Oauth2RedirectUri ApplicationTemplateIdentifier '
    'Oauth2TokenExchangeUri Oauth2AuthorizationUri AuthenticationType Server PerformInboundEntitlementGrants '
    'HardDeletesEnabled SyncAgentCompatibilityKey SyncAgentADContainer ValidateDomain TestReferences '
    'ConnectionString').split()
VALUE = 'a-credential-value-' + 'x' * 6


def test_the_45_names_are_graphs_enum_in_its_order():
    assert len(SYNCHRONIZATION_SECRET_KEYS) == 45
    assert list(SYNCHRONIZATION_SECRET_KEYS) == GRAPH_ENUM


@pytest.mark.parametrize('name', GRAPH_ENUM)
def test_every_name_is_found_in_any_case(name):
    assert canonical_key(name, 'key') == name
    assert canonical_key(name.lower(), 'key') == name
    assert canonical_key(name.upper(), 'key') == name


def test_surrounding_blanks_are_ignored():
    assert canonical_key('  secrettoken ', 'key') == 'SecretToken'


def test_the_future_marker_is_not_a_key():
    with pytest.raises(InvalidInputError, match="'unknownFutureValue' is not a synchronizationSecret name"):
        canonical_key('unknownFutureValue', 'credentials[0].key')


def test_a_typo_is_refused_with_the_closest_names():
    with pytest.raises(InvalidInputError) as caught:
        canonical_key('Oauth2AuthCode', 'credentials[2].key')
    assert caught.value.message == ("credentials[2].key: 'Oauth2AuthCode' is not a synchronizationSecret name. "
                                    "Did you mean Oauth2AuthorizationCode or Oauth2AuthorizationUri?")


def test_a_name_far_from_any_suggests_nothing_but_lists_the_valid_names():
    with pytest.raises(InvalidInputError) as caught:
        canonical_key('qqqqqqqq', 'key')
    assert 'Did you mean' not in caught.value.message
    assert caught.value.message.rstrip('.').endswith(', '.join(GRAPH_ENUM))


@pytest.mark.parametrize('key', [None, '', '   ', 42])
def test_a_missing_or_non_text_key_is_refused(key):
    with pytest.raises(InvalidInputError, match=r'credentials\[0\]\.key must be a synchronizationSecret name'):
        canonical_key(key, 'credentials[0].key')


def test_a_list_is_returned_canonical_and_in_order():
    assert normalize_credentials([{'key': 'oauth2authorizationcode', 'value': VALUE},
                                  {'key': 'OAUTH2REDIRECTURI', 'value': 'https://portal.azure.com/TokenAuthorize'}]) \
        == [{'key': 'Oauth2AuthorizationCode', 'value': VALUE},
            {'key': 'Oauth2RedirectUri', 'value': 'https://portal.azure.com/TokenAuthorize'}]


def test_a_field_besides_key_and_value_is_refused_by_name():
    with pytest.raises(InvalidInputError) as caught:
        normalize_credentials([{'key': 'SecretToken', 'valeu': VALUE}])
    assert caught.value.message == ("credentials[0] has 'valeu' besides key and value; each item is one {key, value} "
                                    "pair, for example [{key: Oauth2AuthorizationCode, value: ...}].")


def test_a_mapping_is_taken_as_key_to_value_in_its_order():
    assert normalize_credentials({'baseaddress': 'https://scim.example.invalid', 'SecretToken': VALUE}) == [
        {'key': 'BaseAddress', 'value': 'https://scim.example.invalid'}, {'key': 'SecretToken', 'value': VALUE}]


def test_a_mapping_names_the_bad_key_by_its_name():
    with pytest.raises(InvalidInputError, match=r"^credentials\.SecretTokn: 'SecretTokn' is not a synchronizationSecret"):
        normalize_credentials({'SecretTokn': VALUE})


@pytest.mark.parametrize('credentials, kind', [(None, 'null'), (VALUE, 'a string'), (3, 'a number')])
def test_credentials_that_are_neither_list_nor_mapping_are_refused(credentials, kind):
    with pytest.raises(InvalidInputError) as caught:
        normalize_credentials(credentials, 'applications[1].credentials')
    assert caught.value.message.startswith('applications[1].credentials is %s; give a list of {key, value}' % kind)
    assert VALUE not in caught.value.message


@pytest.mark.parametrize('credentials', [[], {}])
def test_an_empty_list_is_refused(credentials):
    with pytest.raises(InvalidInputError, match=r'applications\[1\]\.credentials must list at least one'):
        normalize_credentials(credentials, 'applications[1].credentials')


def test_an_item_that_is_not_a_dict_is_refused():
    with pytest.raises(InvalidInputError, match=r'credentials\[1\] is a string; each item is a mapping with key'):
        normalize_credentials([{'key': 'SecretToken', 'value': VALUE}, 'SecretToken=abc'])


@pytest.mark.parametrize('value', [None, ''])
def test_an_empty_value_is_refused_naming_the_key(value):
    with pytest.raises(InvalidInputError, match=r'credentials\[0\]\.value \(for SecretToken\) is empty'):
        normalize_credentials([{'key': 'secrettoken', 'value': value}])


def test_the_same_key_twice_in_any_case_is_refused_naming_both_positions():
    with pytest.raises(InvalidInputError) as caught:
        normalize_credentials([{'key': 'SecretToken', 'value': VALUE}, {'key': 'BaseAddress', 'value': VALUE},
                               {'key': 'SECRETTOKEN', 'value': VALUE + '2'}])
    assert caught.value.message == 'credentials[2]: SecretToken is given twice (also at credentials[0]); give each key once.'


def test_a_scalar_value_is_sent_as_the_text_graph_expects():
    # Graph's own PUT secrets example writes SyncAll as "false"; JSON spelling, not Python's.
    assert normalize_credentials([{'key': 'SyncAll', 'value': True}, {'key': 'CompanyId', 'value': 1234},
                                  {'key': 'TokenExpiration', 'value': 1.5},
                                  {'key': 'SkipOutOfScopeDeletions', 'value': False}]) == [
        {'key': 'SyncAll', 'value': 'true'}, {'key': 'CompanyId', 'value': '1234'},
        {'key': 'TokenExpiration', 'value': '1.5'}, {'key': 'SkipOutOfScopeDeletions', 'value': 'false'}]


@pytest.mark.parametrize('value, kind', [([VALUE], 'a list'), ({'Enabled': False}, 'a mapping')])
def test_a_list_or_mapping_value_is_refused_before_anything_is_sent(value, kind):
    with pytest.raises(InvalidInputError) as caught:
        normalize_credentials([{'key': 'SecretToken', 'value': value}])
    assert caught.value.message.startswith('credentials[0].value (for SecretToken) is %s, which Graph cannot take' % kind)
    assert VALUE not in caught.value.message


def test_notification_settings_as_a_mapping_is_told_to_be_json_text():
    with pytest.raises(InvalidInputError, match=r'to_json'):
        normalize_credentials({'SyncNotificationSettings': {'Enabled': False}})


@pytest.mark.parametrize('value', [float('nan'), float('inf'), float('-inf')])
def test_a_value_that_is_not_a_finite_number_is_refused(value):
    with pytest.raises(InvalidInputError, match=r'is not a finite number; give the value as text'):
        normalize_credentials([{'key': 'TokenExpiration', 'value': value}])


def test_every_value_is_registered_before_a_check_fails():
    with pytest.raises(InvalidInputError):
        normalize_credentials([{'key': 'SecretToken', 'value': VALUE}, {'key': 'Bad', 'value': VALUE + '-2'}])
    assert redact(VALUE + '-2') == '********'
    assert 'SecretToken' not in registered_secrets()


@pytest.mark.parametrize('credentials', [
    [{'key': 'Oauth2AuthCode', 'value': VALUE}],
    [{'key': 'SecretToken', 'value': VALUE}, {'key': 'secrettoken', 'value': VALUE}],
    [{'key': 'SecretToken', 'value': VALUE}, {'key': 'BaseAddress', 'value': ''}],
    [{'key': '', 'value': VALUE}],
])
def test_no_error_text_carries_a_value(credentials):
    with pytest.raises(InvalidInputError) as caught:
        normalize_credentials(credentials)
    assert VALUE not in caught.value.message
