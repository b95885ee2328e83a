# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""Auth method client_secret: an app registration's client secret, through msal."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.entra.provisioning.plugins.module_utils._auth.common import MsalConfidentialClientMethod


class ClientSecretAuth(MsalConfidentialClientMethod):
    """Sign in as ``client_id`` in ``tenant_id`` with ``client_secret``."""

    NAME = 'client_secret'
    CREDENTIAL_OPTIONS = ('client_secret',)

    def validate(self):
        """Check tenant_id, client_id and client_secret are present and well-formed."""
        self.require_options('tenant_id', 'client_id', 'client_secret')
        super(ClientSecretAuth, self).validate()

    def client_credential(self):
        """Return the secret string, as msal takes it."""
        return self._options.get('client_secret')

    def hint(self, code):
        """Explain the secret-specific AADSTS codes."""
        return _HINTS.get(code)


_HINTS = {
    'AADSTS7000215': ('the client secret is not valid for application {client_id}',
                      'Check that client_secret holds the secret\'s Value (not its Secret ID) and that the secret '
                      'was created on this app registration.'),
    'AADSTS7000222': ('the client secret of application {client_id} has expired',
                      'Create a new client secret on the app registration and update client_secret.'),
}
