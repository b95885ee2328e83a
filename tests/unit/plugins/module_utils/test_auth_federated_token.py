# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.entra.provisioning.plugins.module_utils._auth.federated_token import FederatedTokenAuth
from ansible_collections.entra.provisioning.plugins.module_utils._errors import AuthenticationError, InvalidInputError
from ansible_collections.entra.provisioning.plugins.module_utils._redact import MASK, redact
from ansible_collections.entra.provisioning.tests.unit.plugins.module_utils.helpers import (
    TENANT_ID,
    app_options,
    make_auth,
    make_jwt,
)

LOGIN = 'https://login.microsoftonline.com'


@pytest.fixture
def token_file(tmp_path):
    path = tmp_path / 'azure-identity-token'
    path.write_text(make_jwt(iss='https://issuer.example', sub='system:serviceaccount:ns:sa', n=1) + '\n')
    return path


def federated_auth(path):
    return make_auth(FederatedTokenAuth, app_options(federated_token_file=str(path)))


def test_token_file_content_is_sent_as_client_assertion(entra, token_file):
    entra.openid_configuration(LOGIN, TENANT_ID)
    entra.token_endpoint(LOGIN, TENANT_ID)
    auth = federated_auth(token_file)
    auth.validate()
    auth.acquire_token()
    sent = entra.token_requests()[0]
    assert sent['client_assertion'] == token_file.read_text().strip()
    assert sent['client_assertion_type'] == 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'


def test_file_is_read_again_for_every_token_request(entra, token_file):
    entra.openid_configuration(LOGIN, TENANT_ID)
    entra.token_endpoint(LOGIN, TENANT_ID)
    auth = federated_auth(token_file)
    auth.acquire_token()
    rotated = make_jwt(iss='https://issuer.example', sub='system:serviceaccount:ns:sa', n=2)
    token_file.write_text(rotated)
    auth.forget_token()
    auth.acquire_token()
    assert [sent['client_assertion'] for sent in entra.token_requests()][1] == rotated


def test_assertion_is_registered_for_redaction(tmp_path):
    # not JWT-shaped, so only the registration can mask it
    opaque = tmp_path / 'token'
    opaque.write_text('opaque-federated-token-value\n')
    federated_auth(opaque).validate()
    assert redact('saw opaque-federated-token-value') == 'saw %s' % MASK


def test_missing_file_is_refused_before_sign_in(tmp_path):
    with pytest.raises(InvalidInputError) as caught:
        federated_auth(tmp_path / 'absent').validate()
    assert 'does not exist' in caught.value.message


def test_empty_file_is_refused(tmp_path):
    empty = tmp_path / 'token'
    empty.write_text('\n')
    with pytest.raises(InvalidInputError) as caught:
        federated_auth(empty).validate()
    assert 'is empty' in caught.value.message


def test_file_gone_during_a_run_fails_sign_in_clearly(entra, token_file):
    entra.openid_configuration(LOGIN, TENANT_ID)
    auth = federated_auth(token_file)
    auth.validate()
    token_file.unlink()
    with pytest.raises(AuthenticationError) as caught:
        auth.acquire_token()
    assert 'does not exist' in caught.value.message


def test_unmatched_federated_credential_names_the_file(entra, token_file):
    entra.openid_configuration(LOGIN, TENANT_ID)
    entra.token_error(LOGIN, TENANT_ID, 700213, 'No matching federated identity record found for presented '
                                                'assertion subject.', error='invalid_request', status=400)
    with pytest.raises(AuthenticationError) as caught:
        federated_auth(token_file).acquire_token()
    assert str(token_file) in caught.value.message
    assert "federated credentials with the token's iss, sub and aud" in caught.value.message
