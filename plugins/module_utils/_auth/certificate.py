# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""Auth method certificate: an app registration's certificate (PEM with its key, or PFX/PKCS#12), through msal."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re
import traceback

from ansible_collections.entra.provisioning.plugins.module_utils._auth.common import MsalConfidentialClientMethod
from ansible_collections.entra.provisioning.plugins.module_utils._errors import (
    InvalidInputError,
    MissingDependencyError,
)

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
except ImportError:
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None

_PEM_BLOCK_RE = re.compile(r'-----BEGIN ([A-Z0-9 ]+)-----.+?-----END \1-----', re.DOTALL)


class CertificateAuth(MsalConfidentialClientMethod):
    """Sign in as ``client_id`` in ``tenant_id`` with the certificate in ``client_certificate_path``.

    PEM: msal gets the key and the matching certificate, so it signs with PS256 and sends ``x5t#S256``.
    PFX: msal reads the file itself through ``private_key_pfx_path``.
    """

    NAME = 'certificate'
    CREDENTIAL_OPTIONS = ('client_certificate_path',)

    def __init__(self, resolver, settings, session, clock=None):
        super(CertificateAuth, self).__init__(resolver, settings, session, clock=clock)
        self._credential = None
        self.sha1_thumbprint = None
        self.sha256_thumbprint = None
        self.not_valid_after = None

    def validate(self):
        """Check the ids, then open the certificate file: readable, key decrypts, RSA, key matches certificate."""
        self.require_options('tenant_id', 'client_id', 'client_certificate_path')
        super(CertificateAuth, self).validate()
        if not HAS_CRYPTOGRAPHY:
            raise MissingDependencyError('The cryptography Python library (installed together with msal) is '
                                         'required to read client_certificate_path.', library='cryptography',
                                         import_error=CRYPTOGRAPHY_IMPORT_ERROR)
        path = self._options.get('client_certificate_path')
        try:
            with open(path, 'rb') as certificate_file:
                data = certificate_file.read()
        except (IOError, OSError) as exc:
            raise InvalidInputError('%s cannot be read: %s.' % (self._describe_path(), exc.strerror or exc))
        if b'-----BEGIN' in data:
            self._credential = self._pem_credential(data)
        else:
            self._credential = self._pfx_credential(data, path)

    def client_credential(self):
        """Return msal's certificate credential dict (built by ``validate``)."""
        if self._credential is None:
            self.validate()
        return self._credential

    def describe_identity(self):
        """Name the app, tenant and, once read, the certificate's SHA-1 thumbprint (as the portal shows it)."""
        identity = super(CertificateAuth, self).describe_identity()
        if self.sha1_thumbprint:
            identity += ' with certificate %s' % self.sha1_thumbprint
        return identity

    def hint(self, code):
        """Explain the certificate-specific AADSTS codes, naming the certificate's thumbprints."""
        if code in ('AADSTS700027', 'AADSTS700023'):
            return ('the certificate in %s (SHA-1 thumbprint %s, SHA-256 %s, valid until %s) is not registered '
                    'on application {client_id}, or its signature was refused'
                    % (self._options.get('client_certificate_path'), self.sha1_thumbprint, self.sha256_thumbprint,
                       self.not_valid_after),
                    'Upload this certificate\'s public part under the app registration\'s "Certificates & secrets", '
                    'or point client_certificate_path at the certificate that is registered there.')
        if code == 'AADSTS700024':
            return ('the signed client assertion is outside its validity window',
                    'Check that this machine\'s clock is right.')
        return None

    def _describe_path(self):
        return '%s %s' % (self._options.describe('client_certificate_path'),
                          self._options.get('client_certificate_path'))

    def _password_bytes(self):
        password = self._options.get('client_certificate_password')
        return password.encode('utf-8') if password else None

    def _pem_credential(self, data):
        text = data.decode('utf-8', 'replace')
        key_blocks, certificate_blocks = [], []
        for match in _PEM_BLOCK_RE.finditer(text):
            label = match.group(1)
            if label.endswith('PRIVATE KEY'):
                key_blocks.append(match.group(0))
            elif label == 'CERTIFICATE':
                certificate_blocks.append(match.group(0))
        if len(key_blocks) != 1 or not certificate_blocks:
            raise InvalidInputError(
                '%s must hold one private key and its certificate in PEM form (found %d key(s), %d '
                'certificate(s)); join them into one file, or use a PFX/PKCS#12 file.'
                % (self._describe_path(), len(key_blocks), len(certificate_blocks)))
        key_pem = key_blocks[0]
        password = self._password_bytes()
        encrypted = 'ENCRYPTED' in key_pem.split('\n', 1)[0] or 'Proc-Type: 4,ENCRYPTED' in key_pem
        try:
            private_key = serialization.load_pem_private_key(key_pem.encode('ascii'),
                                                             password=password if encrypted else None)
        except TypeError:
            raise InvalidInputError('The private key in %s is encrypted: give client_certificate_password (or '
                                    'AZURE_CLIENT_CERTIFICATE_PASSWORD).' % self._describe_path())
        except ValueError:
            raise InvalidInputError('The private key in %s cannot be read: check client_certificate_password and '
                                    'that the key is not damaged.' % self._describe_path())
        self._require_rsa(private_key)
        certificate, certificate_pem = self._matching_certificate(private_key, certificate_blocks)
        self._remember_certificate(certificate)
        credential = {'private_key': key_pem, 'public_certificate': certificate_pem}
        if encrypted:
            credential['passphrase'] = self._options.get('client_certificate_password')
        return credential

    def _pfx_credential(self, data, path):
        password = self._password_bytes()
        try:
            private_key, certificate, _additional = pkcs12.load_key_and_certificates(data, password)
        except (ValueError, TypeError):
            raise InvalidInputError('%s is neither PEM nor a PKCS#12 (PFX) file that opens with the given '
                                    'client_certificate_password: check the file and the password.'
                                    % self._describe_path())
        if private_key is None or certificate is None:
            raise InvalidInputError('The PKCS#12 file %s must contain the private key and its certificate.'
                                    % self._describe_path())
        self._require_rsa(private_key)
        self._require_match(private_key, certificate)
        self._remember_certificate(certificate)
        credential = {'private_key_pfx_path': path}
        if password:
            credential['passphrase'] = self._options.get('client_certificate_password')
        return credential

    def _require_rsa(self, private_key):
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise InvalidInputError('The key in %s is not an RSA key; Microsoft Entra certificate credentials '
                                    'need RSA.' % self._describe_path())

    def _matching_certificate(self, private_key, certificate_blocks):
        # A PEM file often carries the chain too; the credential is the certificate of this key.
        for block in certificate_blocks:
            try:
                certificate = x509.load_pem_x509_certificate(block.encode('ascii'))
            except ValueError:
                continue
            if _same_public_key(private_key, certificate):
                return certificate, block
        raise InvalidInputError('No certificate in %s belongs to its private key: put the key and its own '
                                'certificate in the file.' % self._describe_path())

    def _require_match(self, private_key, certificate):
        if not _same_public_key(private_key, certificate):
            raise InvalidInputError('The certificate in %s does not belong to its private key.'
                                    % self._describe_path())

    def _remember_certificate(self, certificate):
        self.sha1_thumbprint = certificate.fingerprint(hashes.SHA1()).hex().upper()
        self.sha256_thumbprint = certificate.fingerprint(hashes.SHA256()).hex().upper()
        not_after = getattr(certificate, 'not_valid_after_utc', None) or certificate.not_valid_after
        self.not_valid_after = not_after.strftime('%Y-%m-%dT%H:%M:%SZ')


def _same_public_key(private_key, certificate):
    return private_key.public_key().public_numbers() == certificate.public_key().public_numbers()
