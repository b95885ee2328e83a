# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    """The sign-in options of every entra.provisioning module and plugin (module_utils/_auth/authenticator.py)."""

    # Keep in step with Authenticator.ARGSPEC; a unit test compares them.
    DOCUMENTATION = r'''
options:
  auth_method:
    description:
      - How to sign in to Microsoft Entra ID.
      - V(auto) picks the method from the credential that was given. Options given to the task are looked at
        first, then environment variables. At each of these two levels exactly one kind of credential may be
        present (O(access_token), O(client_certificate_path), O(client_secret) or O(federated_token_file));
        two kinds at the same level fail as contradictory, and none at both levels fails as missing.
      - V(auto) never picks V(managed_identity); ask for it explicitly.
      - V(client_secret) signs in as the app O(client_id) in O(tenant_id) with O(client_secret).
      - V(certificate) signs in with the certificate in O(client_certificate_path).
      - V(federated_token) uses workload identity federation with the token in O(federated_token_file).
      - V(managed_identity) uses the Azure resource's system-assigned identity, or the user-assigned identity
        whose client ID is O(client_id).
      - V(access_token) sends O(access_token) as it is; it cannot be refreshed.
    type: str
    choices: [auto, access_token, certificate, client_secret, federated_token, managed_identity]
    default: auto
    version_added: 0.1.0
  tenant_id:
    description:
      - The directory (tenant) ID, or a verified domain of the tenant such as V(contoso.onmicrosoft.com).
      - If not set, the environment variable E(AZURE_TENANT_ID) is used, then E(AZURE_TENANT) (set by the AWX
        Azure credential).
      - Not used with O(auth_method=managed_identity) or O(auth_method=access_token).
    type: str
    version_added: 0.1.0
  client_id:
    description:
      - The application (client) ID of the app registration that signs in.
      - With O(auth_method=managed_identity), the client ID of a user-assigned managed identity; without it the
        system-assigned identity is used.
      - If not set, the environment variable E(AZURE_CLIENT_ID) is used.
    type: str
    version_added: 0.1.0
  client_secret:
    description:
      - A client secret of the app registration (the secret's value, not its ID).
      - If not set, the environment variable E(AZURE_CLIENT_SECRET) is used, then E(AZURE_SECRET) (set by the AWX
        Azure credential).
    type: str
    version_added: 0.1.0
  client_certificate_path:
    description:
      - Path to the app's certificate with its private key, either a PEM file holding the RSA key and the
        certificate (a chain may follow), or a PFX/PKCS#12 file.
      - The certificate is identified to Microsoft Entra ID by its SHA-256 thumbprint.
      - If not set, the environment variable E(AZURE_CLIENT_CERTIFICATE_PATH) is used.
    type: path
    version_added: 0.1.0
  client_certificate_password:
    description:
      - The password of an encrypted private key in O(client_certificate_path), or of the PFX file.
      - If not set, the environment variable E(AZURE_CLIENT_CERTIFICATE_PASSWORD) is used.
    type: str
    version_added: 0.1.0
  federated_token_file:
    description:
      - Path to a file holding a token from a trusted identity provider (for example a Kubernetes service
        account token), exchanged for a Microsoft Entra token through the app's federated identity credential.
      - The file is read again for every token request, because the platform replaces it as the token rotates.
      - If not set, the environment variable E(AZURE_FEDERATED_TOKEN_FILE) is used.
    type: path
    version_added: 0.1.0
  access_token:
    description:
      - A Microsoft Graph access token obtained elsewhere, used as it is.
      - Its audience must be the Graph of O(cloud). A token that has expired, or whose audience is another
        cloud's Graph, is refused with an explanation before any request is sent.
      - It cannot be refreshed; a run that outlives it fails. Prefer another O(auth_method) for long runs.
    type: str
    version_added: 0.1.0
'''
