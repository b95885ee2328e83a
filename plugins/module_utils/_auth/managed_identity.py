# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""Auth method managed_identity: the Azure resource's own identity, system-assigned or user-assigned."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
from urllib.parse import urlsplit

from ansible_collections.entra.provisioning.plugins.module_utils._auth import common as _auth_common
from ansible_collections.entra.provisioning.plugins.module_utils._auth.common import (
    AuthMethodBase,
    MsalServiceError,
    RequestException,
    TransientAuthenticationError,
    first_line,
    require_msal,
    token_from_result,
)
from ansible_collections.entra.provisioning.plugins.module_utils._errors import AuthenticationError
from ansible_collections.entra.provisioning.plugins.module_utils._ids import validate_guid
from ansible_collections.entra.provisioning.plugins.module_utils._redact import register_secret
from ansible_collections.entra.provisioning.plugins.module_utils._graph.session import direct_session


# Where msal asks when no App Service, Arc, Cloud Shell or Service Fabric variable names another endpoint.
IMDS_ADDRESS = '169.254.169.254'
IMDS_PATH = '/metadata/identity/oauth2/token'
# What msal sends as the proof of being on the resource (App Service, Service Fabric; Cloud Shell's MSI_SECRET):
# an error or a server's echo of a request must never show it.
SECRET_VARIABLES = ('IDENTITY_HEADER', 'MSI_SECRET')


class ManagedIdentityAuth(AuthMethodBase):
    """Get the token from the managed identity endpoint msal finds (IMDS, App Service, Arc, Cloud Shell...).

    Without ``client_id`` the system-assigned identity is used; with it, the user-assigned identity whose
    client id it is. ``auth_method=auto`` never picks this method: it has to be asked for.
    """

    NAME = 'managed_identity'
    CREDENTIAL_OPTIONS = ()

    def __init__(self, resolver, settings, session, clock=None):
        super(ManagedIdentityAuth, self).__init__(resolver, settings, session, clock=clock)
        self._client = None
        self._token_cache = None

    def validate(self):
        """Check msal is there and client_id, when given, is a GUID; tenant and secrets are not used."""
        require_msal()
        if self._options.get('client_id') is not None:
            self.validated_client_id()
        register_environment_secrets()

    def describe_identity(self):
        """Name the identity (system-assigned, or user-assigned with its client id and where that came from)."""
        client_id = self._options.get('client_id')
        if not client_id:
            return 'the system-assigned managed identity'
        source = self._options.source('client_id')
        from_environment = ' (client_id from %s)' % source if not self._options.is_explicit('client_id') else ''
        return 'the user-assigned managed identity %s%s' % (client_id, from_environment)

    def _managed_identity_client(self):
        if self._client is None:
            require_msal()
            msal = _auth_common.msal
            client_id = self._options.get('client_id')
            if client_id:
                identity = msal.UserAssignedManagedIdentity(client_id=validate_guid(client_id, 'client_id'))
            else:
                identity = msal.SystemAssignedManagedIdentity()
            self._token_cache = msal.TokenCache()
            # msal reads the endpoint and its header from the environment when it asks, so register them again
            register_environment_secrets()
            self._client = msal.ManagedIdentityClient(identity, http_client=direct_session(self._session),
                                                      token_cache=self._token_cache)
        return self._client

    def acquire_token(self):
        """Ask the managed identity endpoint for a token whose audience is the cloud's Graph root."""
        client = self._managed_identity_client()
        started = self._clock()
        try:
            # Managed identity endpoints take a resource, not a scope.
            result = client.acquire_token_for_client(resource=self.cloud.graph_root)
        except (RequestException, MsalServiceError) as exc:
            raise self.network_error(exc, where=_endpoint_tried(exc))
        except ValueError as exc:
            raise AuthenticationError(
                '%s gave no usable answer for %s: %s. Check this runs on an Azure resource with that identity '
                'enabled.' % (_capitalized(_endpoint_tried()), self.describe_identity(), exc))
        if result and 'access_token' in result:
            return token_from_result(result, started)
        result = result or {}
        error = result.get('error') or 'unknown_error'
        message = ('Getting a token for %s from %s failed: %s. Check the identity is enabled on this Azure '
                   'resource%s and that cloud (%s) matches it.'
                   % (self.describe_identity(), _endpoint_tried(), first_line(result.get('error_description')) or error,
                      ' and client_id names one of its user-assigned identities' if self._options.get('client_id')
                      else '', self.cloud.name))
        fields = dict(code=error, request_id=result.get('trace_id'), client_request_id=result.get('correlation_id'))
        if error in _auth_common.TRANSIENT_TOKEN_ERRORS:
            raise TransientAuthenticationError(message, retry_after=_auth_common.MSAL_THROTTLE_SECONDS, **fields)
        raise AuthenticationError(message, **fields)

    def forget_token(self):
        """Remove the access tokens msal cached for the identity."""
        if self._token_cache is not None:
            msal = _auth_common.msal
            for entry in list(self._token_cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
                self._token_cache.remove_at(entry)


def register_environment_secrets(environ=None):
    """Register the managed identity headers msal will send (IDENTITY_HEADER, MSI_SECRET) as secrets of the run."""
    environ = os.environ if environ is None else environ
    for name in SECRET_VARIABLES:
        if environ.get(name):
            register_secret(environ[name])


def _endpoint_tried(exc=None, environ=None):
    """Name the managed identity endpoint msal called: from the failed request, else as msal picks it."""
    request = getattr(exc, 'request', None)
    url = getattr(request, 'url', None)
    if url:
        parts = urlsplit(url)
        url = '%s://%s%s' % (parts.scheme, parts.netloc, parts.path)
        is_imds = parts.hostname == IMDS_ADDRESS
    else:
        url, is_imds = _endpoint_msal_picks(os.environ if environ is None else environ)
    where = 'the managed identity endpoint %s' % url
    if is_imds:
        where += (' (the Azure Instance Metadata Service, used when neither IDENTITY_ENDPOINT nor MSI_ENDPOINT is '
                  'set; it only answers on an Azure VM or scale set)')
    return where


def _endpoint_msal_picks(environ):
    """Return (url, is the metadata service) in the order msal chooses a managed identity source."""
    if 'IDENTITY_ENDPOINT' in environ and 'IDENTITY_HEADER' in environ:
        return environ['IDENTITY_ENDPOINT'], False
    if 'MSI_ENDPOINT' in environ and 'MSI_SECRET' in environ:
        return environ['MSI_ENDPOINT'], False
    if 'IDENTITY_ENDPOINT' in environ and 'IMDS_ENDPOINT' in environ:
        return environ['IDENTITY_ENDPOINT'], False
    host = environ.get('AZURE_POD_IDENTITY_AUTHORITY_HOST') or 'http://%s' % IMDS_ADDRESS
    return host.strip('/') + IMDS_PATH, True


def _capitalized(text):
    return text[:1].upper() + text[1:]
