# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.entra.provisioning.plugins.module_utils._auth.certificate import CertificateAuth
from ansible_collections.entra.provisioning.plugins.module_utils._errors import AuthenticationError, InvalidInputError
from ansible_collections.entra.provisioning.tests.unit.plugins.module_utils.helpers import (
    TENANT_ID,
    app_options,
    jwt_header,
    make_auth,
    make_key_and_certificate,
    pem_of,
    pfx_of,
)

LOGIN = 'https://login.microsoftonline.com'
PASSWORD = 'unit-test-' + 'key-password'


@pytest.fixture(scope='module')
def key_and_certificate():
    return make_key_and_certificate()


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def certificate_auth(path, **extra):
    return make_auth(CertificateAuth, app_options(client_certificate_path=path, **extra))


def x5t_s256(certificate):
    return base64.urlsafe_b64encode(certificate.fingerprint(hashes.SHA256())).rstrip(b'=').decode()


def sent_x5t_s256(sent):
    # msal keeps the base64 padding; the value is what matters
    return jwt_header(sent['client_assertion'])['x5t#S256'].rstrip('=')


def sign_in(entra, auth):
    entra.openid_configuration(LOGIN, TENANT_ID)
    entra.token_endpoint(LOGIN, TENANT_ID)
    auth.validate()
    auth.acquire_token()
    return entra.token_requests()[-1]


def test_pem_signs_with_ps256_and_sends_the_sha256_thumbprint(entra, tmp_path, key_and_certificate):
    key, certificate = key_and_certificate
    auth = certificate_auth(write(tmp_path, 'app.pem', pem_of(key, [certificate])))
    sent = sign_in(entra, auth)
    assert sent['client_assertion_type'] == 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
    assert jwt_header(sent['client_assertion'])['alg'] == 'PS256'
    assert sent_x5t_s256(sent) == x5t_s256(certificate)
    assert 'client_secret' not in sent


def test_thumbprints_are_exposed_for_messages(tmp_path, key_and_certificate):
    key, certificate = key_and_certificate
    auth = certificate_auth(write(tmp_path, 'app.pem', pem_of(key, [certificate])))
    auth.validate()
    assert auth.sha1_thumbprint == certificate.fingerprint(hashes.SHA1()).hex().upper()
    assert auth.sha256_thumbprint == certificate.fingerprint(hashes.SHA256()).hex().upper()


def test_encrypted_pem_key_opens_with_the_password(entra, tmp_path, key_and_certificate):
    key, certificate = key_and_certificate
    path = write(tmp_path, 'app.pem', pem_of(key, [certificate], password=PASSWORD))
    sent = sign_in(entra, certificate_auth(path, client_certificate_password=PASSWORD))
    assert sent_x5t_s256(sent) == x5t_s256(certificate)


def test_encrypted_pem_key_without_password_is_refused(tmp_path, key_and_certificate):
    key, certificate = key_and_certificate
    auth = certificate_auth(write(tmp_path, 'app.pem', pem_of(key, [certificate], password=PASSWORD)))
    with pytest.raises(InvalidInputError) as caught:
        auth.validate()
    assert 'give client_certificate_password' in caught.value.message


def test_encrypted_pem_key_with_wrong_password_is_refused(tmp_path, key_and_certificate):
    key, certificate = key_and_certificate
    path = write(tmp_path, 'app.pem', pem_of(key, [certificate], password=PASSWORD))
    with pytest.raises(InvalidInputError) as caught:
        certificate_auth(path, client_certificate_password='wrong-password').validate()
    assert 'check client_certificate_password' in caught.value.message


def test_password_for_a_plain_pem_key_is_not_needed(entra, tmp_path, key_and_certificate):
    key, certificate = key_and_certificate
    path = write(tmp_path, 'app.pem', pem_of(key, [certificate]))
    sent = sign_in(entra, certificate_auth(path, client_certificate_password=PASSWORD))
    assert sent_x5t_s256(sent) == x5t_s256(certificate)


def test_pem_with_chain_uses_the_certificate_of_its_key(entra, tmp_path, key_and_certificate):
    ca_key, ca_certificate = make_key_and_certificate('unit test CA')
    key = key_and_certificate[0]
    leaf = make_key_and_certificate('unit test leaf', key=key, issuer=ca_certificate, issuer_key=ca_key)[1]
    path = write(tmp_path, 'chain.pem', pem_of(key, [ca_certificate, leaf]))
    sent = sign_in(entra, certificate_auth(path))
    assert sent_x5t_s256(sent) == x5t_s256(leaf)


def test_pem_without_key_is_refused(tmp_path, key_and_certificate):
    certificate = key_and_certificate[1]
    with pytest.raises(InvalidInputError) as caught:
        certificate_auth(write(tmp_path, 'cert.pem', pem_of(None, [certificate]))).validate()
    assert 'found 0 key(s), 1 certificate(s)' in caught.value.message


def test_pem_whose_certificate_belongs_to_another_key_is_refused(tmp_path, key_and_certificate):
    key = key_and_certificate[0]
    other_certificate = make_key_and_certificate('someone else')[1]
    with pytest.raises(InvalidInputError) as caught:
        certificate_auth(write(tmp_path, 'mixed.pem', pem_of(key, [other_certificate]))).validate()
    assert 'No certificate' in caught.value.message


def test_non_rsa_key_is_refused(tmp_path):
    key, certificate = make_key_and_certificate('ec', key=ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(InvalidInputError) as caught:
        certificate_auth(write(tmp_path, 'ec.pem', pem_of(key, [certificate]))).validate()
    assert 'not an RSA key' in caught.value.message


def test_pfx_is_handed_to_msal_by_path_and_sends_the_sha256_thumbprint(entra, tmp_path, key_and_certificate):
    key, certificate = key_and_certificate
    path = write(tmp_path, 'app.pfx', pfx_of(key, certificate, password=PASSWORD))
    auth = certificate_auth(path, client_certificate_password=PASSWORD)
    auth.validate()
    assert auth.client_credential() == {'private_key_pfx_path': path, 'passphrase': PASSWORD}
    sent = sign_in(entra, auth)
    assert jwt_header(sent['client_assertion'])['alg'] == 'PS256'
    assert sent_x5t_s256(sent) == x5t_s256(certificate)


def test_pfx_without_password_opens_when_not_encrypted(entra, tmp_path, key_and_certificate):
    key, certificate = key_and_certificate
    sent = sign_in(entra, certificate_auth(write(tmp_path, 'app.pfx', pfx_of(key, certificate))))
    assert sent_x5t_s256(sent) == x5t_s256(certificate)


def test_pfx_with_wrong_password_is_refused(tmp_path, key_and_certificate):
    key, certificate = key_and_certificate
    path = write(tmp_path, 'app.pfx', pfx_of(key, certificate, password=PASSWORD))
    with pytest.raises(InvalidInputError) as caught:
        certificate_auth(path, client_certificate_password='wrong-password').validate()
    assert 'PKCS#12' in caught.value.message


def test_missing_file_is_refused_naming_its_source(tmp_path):
    missing = str(tmp_path / 'absent.pem')
    auth = make_auth(CertificateAuth, app_options(), environ={'AZURE_CLIENT_CERTIFICATE_PATH': missing})
    with pytest.raises(InvalidInputError) as caught:
        auth.validate()
    assert caught.value.message.startswith('client_certificate_path (from AZURE_CLIENT_CERTIFICATE_PATH) %s '
                                           'cannot be read' % missing)


def test_unknown_certificate_error_names_both_thumbprints(entra, tmp_path, key_and_certificate):
    key, certificate = key_and_certificate
    auth = certificate_auth(write(tmp_path, 'app.pem', pem_of(key, [certificate])))
    auth.validate()
    entra.openid_configuration(LOGIN, TENANT_ID)
    entra.token_error(LOGIN, TENANT_ID, 700027, 'Client assertion failed signature validation.')
    with pytest.raises(AuthenticationError) as caught:
        auth.acquire_token()
    message = caught.value.message
    assert auth.sha1_thumbprint in message and auth.sha256_thumbprint in message
    assert 'Certificates & secrets' in message
    assert caught.value.code == 'AADSTS700027'


def test_password_never_appears_in_errors(tmp_path, key_and_certificate):
    key, certificate = key_and_certificate
    path = write(tmp_path, 'app.pfx', pfx_of(key, certificate, password=PASSWORD))
    with pytest.raises(InvalidInputError) as caught:
        certificate_auth(path, client_certificate_password=PASSWORD + '-wrong').validate()
    assert PASSWORD not in str(caught.value.to_dict())


def test_assertion_is_signed_by_the_key_for_the_token_endpoint(entra, tmp_path, key_and_certificate):
    import json
    from cryptography.hazmat.primitives.asymmetric import padding

    key, certificate = key_and_certificate
    sent = sign_in(entra, certificate_auth(write(tmp_path, 'app.pem', pem_of(key, [certificate]))))
    header_part, payload_part, signature_part = sent['client_assertion'].split('.')
    signature = base64.urlsafe_b64decode(signature_part + '=' * (-len(signature_part) % 4))
    certificate.public_key().verify(signature, ('%s.%s' % (header_part, payload_part)).encode(),
                                    padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
    claims = json.loads(base64.urlsafe_b64decode(payload_part + '=' * (-len(payload_part) % 4)))
    assert claims['aud'] == entra.token_url(LOGIN, TENANT_ID)
