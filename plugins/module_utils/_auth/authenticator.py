# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""Picks the auth method and keeps the one Graph token of the process fresh."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import threading
import time

from ansible_collections.entra.provisioning.plugins.module_utils._auth.access_token import AccessTokenAuth
from ansible_collections.entra.provisioning.plugins.module_utils._auth.certificate import CertificateAuth
from ansible_collections.entra.provisioning.plugins.module_utils._auth.client_secret import ClientSecretAuth
from ansible_collections.entra.provisioning.plugins.module_utils._auth.common import TransientAuthenticationError
from ansible_collections.entra.provisioning.plugins.module_utils._auth.federated_token import FederatedTokenAuth
from ansible_collections.entra.provisioning.plugins.module_utils._auth.managed_identity import ManagedIdentityAuth
from ansible_collections.entra.provisioning.plugins.module_utils._errors import AuthenticationError, InvalidInputError
from ansible_collections.entra.provisioning.plugins.module_utils._options import ENV_FALLBACKS
from ansible_collections.entra.provisioning.plugins.module_utils._graph.retry import RetryPolicy, sign_in_retry

# please keep in alphabetical order of method name
METHOD_CLASSES = {
    'access_token': AccessTokenAuth,
    'certificate': CertificateAuth,
    'client_secret': ClientSecretAuth,
    'federated_token': FederatedTokenAuth,
    'managed_identity': ManagedIdentityAuth,
}
AUTH_METHODS = ('auto',) + tuple(sorted(METHOD_CLASSES))

# The methods auto can pick, i.e. those a credential option points at; managed_identity must be asked for.
AUTO_CANDIDATES = ('access_token', 'certificate', 'client_secret', 'federated_token')

# Refresh this long before expiry, so no request leaves with a token that dies on the way.
REFRESH_MARGIN = 300


class Authenticator(object):
    """Selects the auth method from the options and hands out one token per process and audience.

    ``auth_method=auto`` looks first at credential options given explicitly, then at environment variables:
    at each of these two levels exactly one kind of credential (access_token, client certificate, client
    secret, federated token file) must be present; two kinds at the same level are refused as contradictory,
    none at both levels is refused as missing. Managed identity is never guessed.
    """

    ARGSPEC = dict(
        auth_method=dict(type='str', default='auto', choices=list(AUTH_METHODS)),
        tenant_id=dict(type='str'),
        client_id=dict(type='str'),
        client_secret=dict(type='str', no_log=True),
        client_certificate_path=dict(type='path', no_log=False),
        client_certificate_password=dict(type='str', no_log=True),
        federated_token_file=dict(type='path', no_log=False),
        access_token=dict(type='str', no_log=True),
    )

    def __init__(self, resolver, settings, session, retry_policy=None, clock=None):
        self._options = resolver
        self._settings = settings
        self._session = session
        self._clock = clock or time.time
        self._retry = retry_policy or RetryPolicy(settings.max_retries)
        self._lock = threading.Lock()
        self._token = None
        self._method = None
        self.token_requests = 0

    def select_method_name(self):
        """Return the auth method to use, resolving ``auto``; raise InvalidInputError when it cannot tell."""
        requested = self._options.get('auth_method') or 'auto'
        if requested != 'auto':
            if requested not in METHOD_CLASSES:
                raise InvalidInputError('auth_method must be one of %s, got %r.' % (', '.join(AUTH_METHODS), requested))
            return requested

        explicit = self._candidates(self._options.is_explicit)
        if len(explicit) == 1:
            return explicit[0][0]
        if len(explicit) > 1:
            raise InvalidInputError(
                'auth_method=auto found credentials for more than one method: %s. Give only one, or set auth_method.'
                % '; '.join('%s (%s)' % (name, ', '.join(options)) for name, options in explicit))

        from_environment = self._candidates(lambda option: self._options.source(option) is not None)
        if len(from_environment) == 1:
            return from_environment[0][0]
        if len(from_environment) > 1:
            raise InvalidInputError(
                'auth_method=auto found credentials for more than one method in the environment: %s. Set '
                'auth_method to choose, or give the credential as an option.'
                % '; '.join('%s (%s)' % (name, ', '.join(self._options.source(option) for option in options))
                            for name, options in from_environment))

        hints = []
        for name in AUTO_CANDIDATES:
            for option in METHOD_CLASSES[name].CREDENTIAL_OPTIONS:
                variables = ENV_FALLBACKS.get(option)
                hints.append('%s%s' % (option, ' (%s)' % ' / '.join(variables) if variables else ''))
        raise InvalidInputError(
            'No credentials were given: set one of %s, or set auth_method=managed_identity on an Azure resource '
            'with a managed identity.' % ', '.join(hints))

    def _candidates(self, is_present):
        found = []
        for name in AUTO_CANDIDATES:
            present = [option for option in METHOD_CLASSES[name].CREDENTIAL_OPTIONS if is_present(option)]
            if present:
                found.append((name, present))
        return found

    @property
    def method(self):
        """The selected auth method object (selected on first use)."""
        if self._method is None:
            name = self.select_method_name()
            self._method = METHOD_CLASSES[name](self._options, self._settings, self._session, clock=self._clock)
        return self._method

    @property
    def method_name(self):
        """The name of the selected auth method, e.g. ``client_secret``."""
        return self.method.NAME

    @property
    def refreshable(self):
        """False when the token cannot be renewed (a given access_token)."""
        return self.method.REFRESHABLE

    def describe_identity(self):
        """Return who signs in, for messages."""
        return self.method.describe_identity()

    def validate(self):
        """Select the method and check its options without any network traffic."""
        self.method.validate()

    def get_token(self):
        """Return a bearer token for the cloud's Graph, reusing it until shortly before it expires."""
        with self._lock:
            if self._token is None or self._needs_refresh(self._token):
                self._token = self._retry.run(self._request_token)
            return self._token.token

    def invalidate(self, token):
        """Forget ``token`` after Graph refused it; return True when a new one can be fetched.

        Only the token that was refused is dropped, so threads that saw the same 401 do not fetch one each.
        """
        with self._lock:
            if self._token is not None and self._token.token == token:
                self._token = None
                self.method.forget_token()
        return self.refreshable

    def _needs_refresh(self, token):
        now = self._clock()
        if now >= token.expires_on - REFRESH_MARGIN:
            return True
        return token.refresh_on is not None and now >= token.refresh_on

    def _request_token(self):
        self.token_requests += 1
        try:
            return self.method.acquire_token()
        except TransientAuthenticationError as exc:
            return _sign_in_retry(exc)


def _sign_in_retry(failure):
    """Return the Retry a transient sign-in failure asks for (RetryPolicy decides); giving up reports that failure."""
    def give_up(reason):
        # the reason opens the message
        return AuthenticationError('%s%s: %s' % (reason[:1].upper(), reason[1:], failure.message), code=failure.code,
                                   request_id=failure.request_id, client_request_id=failure.client_request_id,
                                   date=failure.date)

    return sign_in_retry(give_up, failure.retry_after)
