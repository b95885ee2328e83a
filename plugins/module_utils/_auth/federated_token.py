# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""Auth method federated_token: workload identity federation with a token file (Kubernetes, CI systems)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.entra.provisioning.plugins.module_utils._auth.common import MsalConfidentialClientMethod
from ansible_collections.entra.provisioning.plugins.module_utils._errors import AuthenticationError, InvalidInputError
from ansible_collections.entra.provisioning.plugins.module_utils._redact import register_secret


class FederatedTokenAuth(MsalConfidentialClientMethod):
    """Sign in as ``client_id`` in ``tenant_id`` with the token in ``federated_token_file`` as client assertion.

    The file is read again for every token request, because the platform rotates it while a run goes on.
    """

    NAME = 'federated_token'
    CREDENTIAL_OPTIONS = ('federated_token_file',)

    def validate(self):
        """Check the ids, and that the token file exists, is readable and not empty."""
        self.require_options('tenant_id', 'client_id', 'federated_token_file')
        super(FederatedTokenAuth, self).validate()
        self.read_assertion(InvalidInputError)

    def client_credential(self):
        """Return msal's assertion credential: a callable, so each token request sees the current file."""
        return {'client_assertion': self._assertion_for_msal}

    def _assertion_for_msal(self):
        return self.read_assertion(AuthenticationError)

    def read_assertion(self, error_class):
        """Return the token in the file (registered for redaction); raise ``error_class`` when it is unusable."""
        path = self._options.get('federated_token_file')
        described = '%s %s' % (self._options.describe('federated_token_file'), path)
        if not os.path.isfile(path):
            raise error_class('%s does not exist or is not a file.' % described)
        try:
            with open(path, 'r') as token_file:
                assertion = token_file.read().strip()
        except (IOError, OSError, UnicodeDecodeError) as exc:
            raise error_class('%s cannot be read: %s.' % (described, getattr(exc, 'strerror', None) or exc))
        if not assertion:
            raise error_class('%s is empty: the platform has not written the token yet.' % described)
        register_secret(assertion)
        return assertion

    def hint(self, code):
        """Explain the federation-specific AADSTS codes, naming the token file."""
        path = self._options.get('federated_token_file')
        if code in ('AADSTS70021', 'AADSTS700211', 'AADSTS700212', 'AADSTS700213'):
            return ('no federated identity credential on application {client_id} matches the issuer, subject and '
                    'audience of the token in %s' % path,
                    'Compare the app\'s federated credentials with the token\'s iss, sub and aud claims.')
        if code == 'AADSTS700024':
            return ('the token in %s has expired or is not valid yet' % path,
                    'The platform should rotate that file; check it is still being refreshed.')
        return None
