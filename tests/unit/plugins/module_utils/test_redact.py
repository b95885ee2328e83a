# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.entra.provisioning.plugins.module_utils._redact import (
    MASK,
    redact,
    redact_data,
    redact_headers,
    register_secret,
    registered_secrets,
)
from ansible_collections.entra.provisioning.tests.unit.plugins.module_utils.helpers import make_jwt

SECRET = 'Zx8Q~not-a-real' + '-secret.value_1'


def test_registered_secret_is_masked_anywhere_in_text():
    register_secret(SECRET)
    assert redact('the value %s was refused' % SECRET) == 'the value %s was refused' % MASK


def test_registered_secret_is_masked_when_url_encoded():
    register_secret('a b&c=d/e+f')
    assert redact('client_id=x&whatever=a%20b%26c%3Dd%2Fe%2Bf') == 'client_id=x&whatever=' + MASK


def test_registered_secret_is_masked_when_json_escaped():
    register_secret('quote"and\\slash')
    assert redact('{"value": "quote\\"and\\\\slash"}') == '{"value": "%s"}' % MASK


def test_longer_secret_containing_a_shorter_one_is_masked_whole():
    register_secret('abcd')
    register_secret('abcdefgh')
    assert redact('x abcdefgh y') == 'x %s y' % MASK


def test_values_shorter_than_four_characters_are_not_registered():
    register_secret('abc')
    assert registered_secrets() == ()
    assert redact('abc stays') == 'abc stays'


def test_bearer_token_is_masked():
    assert redact('sent Bearer abc.def-ghi_jkl=') == 'sent Bearer %s' % MASK


def test_authorization_header_line_is_masked():
    assert redact('Authorization: Basic dXNlcjpwYXNz') == 'Authorization: %s' % MASK


def test_authorization_in_a_dict_repr_is_masked():
    assert redact("{'Authorization': 'Bearer abc'}") == "{'Authorization': '%s'}" % MASK


def test_jwt_is_masked_without_registration():
    token = make_jwt(aud='https://graph.microsoft.com')
    assert redact('token %s here' % token) == 'token %s here' % MASK


def test_form_encoded_secret_fields_are_masked():
    text = 'grant_type=client_credentials&client_secret=s3cr3t&client_assertion=abc&scope=x'
    assert redact(text) == 'grant_type=client_credentials&client_secret=%s&client_assertion=%s&scope=x' % (MASK, MASK)


def test_json_secret_fields_are_masked():
    assert redact('{"access_token": "abc", "token_type": "Bearer"}') == '{"access_token": "%s", "token_type": ' \
                                                                        '"Bearer"}' % MASK


def test_graph_error_code_with_authorization_prefix_is_left_alone():
    text = 'HTTP 403 Authorization_RequestDenied: Insufficient privileges'
    assert redact(text) == text


def test_none_stays_none():
    assert redact(None) is None


def test_secret_headers_are_masked_and_others_kept():
    cleaned = redact_headers({'Authorization': 'Bearer x', 'request-id': 'r-1', 'X-IDENTITY-HEADER': 'h'})
    assert cleaned == {'Authorization': MASK, 'request-id': 'r-1', 'X-IDENTITY-HEADER': MASK}


def test_redact_data_masks_secret_keys_and_registered_values_in_nested_data():
    register_secret(SECRET)
    data = {'credentials': [{'key': 'ClientSecret', 'value': SECRET}], 'password': 'p', 'count': 3}
    assert redact_data(data) == {'credentials': [{'key': 'ClientSecret', 'value': MASK}], 'password': MASK,
                                 'count': 3}
