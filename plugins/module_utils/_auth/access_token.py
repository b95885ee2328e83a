# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""Auth method access_token: a Graph token the user already holds, used as is."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import binascii
import json
import math
from datetime import datetime, timezone

from ansible_collections.entra.provisioning.plugins.module_utils._auth.common import (
    DEFAULT_TOKEN_LIFETIME,
    AccessToken,
    AuthMethodBase,
)
from ansible_collections.entra.provisioning.plugins.module_utils._graph.clouds import GRAPH_APP_ID, cloud_for_graph_audience
from ansible_collections.entra.provisioning.plugins.module_utils._errors import AuthenticationError, InvalidInputError


def decode_jwt_claims(token):
    """Return the payload claims of a JWT WITHOUT checking its signature, or ``None`` when it is not a JWT.

    Only for telling the user early that a token cannot work (expired, another cloud); Graph does the real check.
    """
    if not isinstance(token, str):
        return None
    parts = token.split('.')
    if len(parts) != 3:
        return None
    payload = parts[1] + '=' * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode('ascii')).decode('utf-8'))
    except (ValueError, UnicodeError, binascii.Error):
        return None
    return claims if isinstance(claims, dict) else None


# The last second of year 9999, the largest time datetime (and so any message) can show.
_LATEST_EXPIRY = 253402300799


def _utc(epoch):
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def token_expiry(claims, error_class):
    """Return a JWT's ``exp`` as whole seconds since the epoch, or None when it has none; raise ``error_class``
    when it is not a time a token can carry (not a number, NaN, infinite, before 1970 or after 9999): such a token
    was not issued by the sign-in service, and its value would crash the arithmetic and date formatting below."""
    if 'exp' not in claims:
        return None
    expires = claims['exp']
    problem = None
    if isinstance(expires, bool) or not isinstance(expires, (int, float)):
        problem = 'is %s, not a number of seconds' % _kind(expires)
    elif isinstance(expires, float) and not math.isfinite(expires):
        problem = 'is %s, not a time' % expires
    elif not 0 <= expires <= _LATEST_EXPIRY:
        shown = str(expires) if isinstance(expires, int) else '%.0f' % expires
        problem = 'is %s seconds since 1970, outside the years 1970 to 9999' % (
            shown if len(shown) <= 24 else shown[:24] + '...')
    if problem:
        raise error_class('The given access_token is not one the sign-in service issued: its exp claim %s. Get a '
                          'new token, or use an auth_method that signs in (client_secret, '
                          'certificate, federated_token, managed_identity).' % problem)
    return int(expires)


def _kind(value):
    if value is None:
        return 'null'
    return {str: 'text', list: 'a list', dict: 'an object', bool: 'a boolean'}.get(type(value), type(value).__name__)


class AccessTokenAuth(AuthMethodBase):
    """Send ``access_token`` as the bearer token. It cannot be refreshed, so a long run may outlive it."""

    NAME = 'access_token'
    CREDENTIAL_OPTIONS = ('access_token',)
    REFRESHABLE = False

    def validate(self):
        """Check the token is present and, when it is a JWT, that it has not expired and is for this cloud's Graph."""
        self.require_options('access_token')
        self._check(InvalidInputError)

    def describe_identity(self):
        """Name the credential for messages (never its value)."""
        return 'the given access_token'

    def acquire_token(self):
        """Return the given token, or raise AuthenticationError once it has expired."""
        claims = self._check(AuthenticationError)
        expires_on = token_expiry(claims, AuthenticationError) if claims else None
        if expires_on is None:
            # An opaque token says nothing about its lifetime; Graph will refuse it when it is over.
            expires_on = int(self._clock()) + DEFAULT_TOKEN_LIFETIME
        return AccessToken(token=self._options.get('access_token'), expires_on=expires_on, refresh_on=None)

    def _check(self, error_class):
        claims = decode_jwt_claims(self._options.get('access_token'))
        if claims is None:
            return None
        expires = token_expiry(claims, error_class)
        now = self._clock()
        if expires is not None and expires <= now:
            raise error_class(
                'The given access_token expired at %s (%d minutes ago). Get a new token, or use an auth_method that '
                'can refresh it (client_secret, certificate, federated_token, managed_identity) for long runs.'
                % (_utc(expires), int((now - expires) // 60)))
        audiences = claims.get('aud')
        audiences = audiences if isinstance(audiences, list) else [audiences]
        if not all(isinstance(audience, str) for audience in audiences):
            raise error_class('The given access_token is not one the sign-in service issued: its aud claim is not '
                              'text. Get a new token for scope %s/.default.' % self.cloud.graph_root)
        expected = self.cloud.graph_root
        if any(cloud_for_graph_audience(audience) == self.cloud or audience == GRAPH_APP_ID
               for audience in audiences):
            return claims
        for audience in audiences:
            other_cloud = cloud_for_graph_audience(audience)
            if other_cloud is not None:
                raise error_class(
                    'The given access_token is for Microsoft Graph in the %s cloud (aud %s), but cloud is %s, whose '
                    'Graph only accepts tokens for %s. Set cloud to %s, or get a token for scope %s/.default.'
                    % (other_cloud.name, audience, self.cloud.name, expected, other_cloud.name, expected))
        raise error_class(
            'The given access_token is not for Microsoft Graph (aud %s). Get a token for scope %s/.default.'
            % (', '.join(str(audience) for audience in audiences), expected))
