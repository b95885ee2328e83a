# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""What every auth method shares: the base class, the token value, msal glue and sign-in error advice."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re
import time
import traceback
from collections import namedtuple

from ansible_collections.entra.provisioning.plugins.module_utils._graph.clouds import graph_scope
from ansible_collections.entra.provisioning.plugins.module_utils._errors import (
    AuthenticationError,
    InvalidInputError,
    MissingDependencyError,
)
from ansible_collections.entra.provisioning.plugins.module_utils._ids import validate_guid, validate_tenant
from ansible_collections.entra.provisioning.plugins.module_utils._options import ENV_FALLBACKS
from ansible_collections.entra.provisioning.plugins.module_utils._graph.retry import parse_retry_after
from ansible_collections.entra.provisioning.plugins.module_utils._graph.session import is_tls_error, tls_advice

try:
    import msal
    from msal.exceptions import MsalServiceError
except ImportError:
    HAS_MSAL = False
    MSAL_IMPORT_ERROR = traceback.format_exc()

    class MsalServiceError(Exception):
        """Stands in for msal's type when msal is missing; never raised then."""
else:
    HAS_MSAL = True
    MSAL_IMPORT_ERROR = None

try:
    from requests.exceptions import ReadTimeout, RequestException
except ImportError:
    class RequestException(Exception):
        """Stands in for requests' type when requests is missing; never raised then."""

    class ReadTimeout(RequestException):
        """Stands in for requests' type when requests is missing; never raised then."""


# ``token`` is the bearer value; ``expires_on`` and ``refresh_on`` are epoch seconds (refresh_on may be None).
AccessToken = namedtuple('AccessToken', ['token', 'expires_on', 'refresh_on'])

# Without an expiry in the answer, assume the shortest lifetime Entra issues for app tokens.
DEFAULT_TOKEN_LIFETIME = 3600
TRANSIENT_TOKEN_ERRORS = frozenset(('temporarily_unavailable', 'server_error'))
_AADSTS_RE = re.compile(r'AADSTS(\d+)')


# msal replays a 429/5xx answer from its own cache for this long (or the answer's Retry-After) before it asks
# the service again; a retry sooner would only see the same answer.
MSAL_THROTTLE_SECONDS = 5


class TransientAuthenticationError(AuthenticationError):
    """The sign-in service could not be reached or answered with a server-side error: worth another try.

    ``retry_after`` (seconds or None) is the least wait before a retry can reach the service again.
    """

    def __init__(self, message, retry_after=None, **fields):
        super(TransientAuthenticationError, self).__init__(message, **fields)
        self.retry_after = retry_after


def require_msal():
    """Raise MissingDependencyError when msal is not installed."""
    if not HAS_MSAL:
        raise MissingDependencyError('The msal Python library is required for this auth method; install msal '
                                     'on the host that runs the module.', library='msal',
                                     import_error=MSAL_IMPORT_ERROR)


def token_from_result(result, now):
    """Turn an msal success dict into ``AccessToken`` (msal gives relative seconds)."""
    expires_in = result.get('expires_in') or DEFAULT_TOKEN_LIFETIME
    refresh_on = result.get('refresh_on')
    return AccessToken(token=result['access_token'], expires_on=now + int(expires_in),
                       refresh_on=int(refresh_on) if refresh_on else None)


def aadsts_code(result):
    """Return ``AADSTSnnnn`` from an msal error dict (``error_codes`` or the description), else ``None``."""
    codes = result.get('error_codes') or []
    if codes:
        return 'AADSTS%s' % codes[0]
    match = _AADSTS_RE.search(result.get('error_description') or '')
    return 'AADSTS%s' % match.group(1) if match else None


def first_line(text):
    """Return the first line of a service message (msal appends trace ids and timestamps on later lines)."""
    return (text or '').strip().splitlines()[0].strip() if (text or '').strip() else ''


class AuthMethodBase(object):
    """One way to get a Graph token. ``validate()`` needs no network; ``acquire_token()`` may use it.

    Subclasses set NAME, CREDENTIAL_OPTIONS (the options whose presence makes ``auth_method=auto`` pick
    them) and implement ``validate``, ``acquire_token`` and, when they cache, ``forget_token``.
    """

    NAME = None
    CREDENTIAL_OPTIONS = ()
    REFRESHABLE = True

    def __init__(self, resolver, settings, session, clock=None):
        self._options = resolver
        self._settings = settings
        self._session = session
        self._clock = clock or time.time

    @property
    def cloud(self):
        """The cloud whose Graph root is the audience of every token."""
        return self._settings.cloud

    @property
    def scope(self):
        """The scope asked for: the cloud's Graph root + /.default, whatever graph_endpoint says."""
        return graph_scope(self._settings.cloud)

    def validate(self):
        """Check the options as far as possible without the network; raise InvalidInputError."""
        raise NotImplementedError('validate must be implemented')

    def acquire_token(self):
        """Return a fresh ``AccessToken``; raise AuthenticationError (TransientAuthenticationError to retry)."""
        raise NotImplementedError('acquire_token must be implemented')

    def forget_token(self):
        """Drop any token cached below us so the next ``acquire_token`` asks the service again."""

    def describe_identity(self):
        """Return a short phrase naming who signs in, for messages."""
        return 'auth_method %s' % self.NAME

    def network_error(self, exc, where=None):
        """Turn a failure to talk to the token service into an error; only non-TLS failures are worth a retry."""
        where = where or 'the sign-in service at %s' % self._settings.authority_host
        if is_tls_error(exc):
            return AuthenticationError('Could not connect to %s for %s: %s %s'
                                       % (where, self.describe_identity(), exc, tls_advice(self._settings.verify)))
        if isinstance(exc, ReadTimeout):
            return TransientAuthenticationError(
                '%s gave no answer within timeout=%s seconds for %s (raise the timeout option if it is this slow)'
                % (where[0].upper() + where[1:], self._settings.timeout[1], self.describe_identity()),
                retry_after=_throttle_seconds(exc))
        return TransientAuthenticationError('Could not reach %s for %s: %s' % (where, self.describe_identity(), exc),
                                            retry_after=_throttle_seconds(exc))

    def require_options(self, *names):
        """Raise InvalidInputError naming each missing option and the environment variables that could set it."""
        missing = [name for name in names if self._options.get(name) is None]
        if missing:
            described = []
            for name in missing:
                variables = ENV_FALLBACKS.get(name)
                described.append('%s (or %s)' % (name, ' / '.join(variables)) if variables else name)
            raise InvalidInputError('auth_method %s needs %s.' % (self.NAME, ', '.join(described)))

    def validated_tenant(self):
        """Return tenant_id checked as a GUID or domain (it becomes part of the authority URL)."""
        return validate_tenant(self._options.get('tenant_id'), self._options.describe('tenant_id'))

    def validated_client_id(self):
        """Return client_id checked as a GUID."""
        return validate_guid(self._options.get('client_id'), self._options.describe('client_id'))


class MsalConfidentialClientMethod(AuthMethodBase):
    """Shared body of the app-registration methods (secret, certificate, federated token) on msal."""

    def __init__(self, resolver, settings, session, clock=None):
        super(MsalConfidentialClientMethod, self).__init__(resolver, settings, session, clock=clock)
        self._app = None

    def client_credential(self):
        """Return what msal takes as ``client_credential`` for this method."""
        raise NotImplementedError('client_credential must be implemented')

    def validate(self):
        """Check msal is there and tenant_id and client_id are present and well-formed."""
        require_msal()
        self.require_options('tenant_id', 'client_id')
        self.validated_tenant()
        self.validated_client_id()

    def describe_identity(self):
        """Name the app, tenant, cloud and sign-in host, for messages."""
        return 'application %s in tenant %s (%s cloud, sign-in host %s)' % (
            self._options.get('client_id'), self._options.get('tenant_id'), self.cloud.name,
            self._settings.authority_host)

    def _application(self):
        if self._app is None:
            require_msal()
            tenant = self.validated_tenant()
            authority = '%s/%s' % (self._settings.authority_host, tenant)
            try:
                # Constructing the application already reads the tenant's OpenID configuration.
                self._app = msal.ConfidentialClientApplication(
                    self.validated_client_id(),
                    client_credential=self.client_credential(),
                    authority=authority,
                    http_client=self._session,
                    instance_discovery=self._settings.instance_discovery,
                    token_cache=msal.TokenCache(),
                )
            except (RequestException, MsalServiceError) as exc:  # msal raises its own type for a cached 5xx
                raise self.network_error(exc)
            except ValueError as exc:
                raise self._authority_error(exc)
        return self._app

    def _authority_error(self, exc):
        # msal folds the service's answer (e.g. AADSTS90002) into the exception it re-raises.
        detail = '%s %s' % (exc, exc.__context__ or '')
        match = _AADSTS_RE.search(detail)
        code = 'AADSTS%s' % match.group(1) if match else None
        if code in ('AADSTS90002', 'AADSTS900023') or 'authority configuration' in detail:
            return AuthenticationError(
                'Sign-in failed for %s: tenant %s was not found at %s. Check tenant_id, and that cloud (%s) is '
                'the cloud the tenant lives in.%s'
                % (self.describe_identity(), self._options.get('tenant_id'), self._settings.authority_host,
                   self.cloud.name, ' (%s)' % code if code else ''), code=code)
        return InvalidInputError('Sign-in could not start for %s: %s' % (self.describe_identity(), exc), code=code)

    def acquire_token(self):
        """Ask msal for a client-credentials token for the cloud's Graph (from its cache when still fresh)."""
        app = self._application()
        started = self._clock()
        try:
            result = app.acquire_token_for_client(scopes=[self.scope])
        except (RequestException, MsalServiceError) as exc:  # msal raises its own type for a cached 5xx
            raise self.network_error(exc)
        except ValueError as exc:
            # a token endpoint that answers with something other than JSON (a proxy's error page, say)
            raise AuthenticationError('The sign-in service at %s gave an unreadable answer for %s: %s'
                                      % (self._settings.authority_host, self.describe_identity(), exc))
        if result and 'access_token' in result:
            return token_from_result(result, started)
        raise self.token_error(result or {})

    def forget_token(self):
        """Remove the access tokens msal cached, so the next request goes to the token endpoint."""
        if self._app is not None:
            cache = self._app.token_cache
            for entry in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
                cache.remove_at(entry)

    def hint(self, code):
        """Return (why, what to do) for an AADSTS code this method knows better than the shared table."""
        return None

    def token_error(self, result):
        """Turn an msal error dict into an AuthenticationError that says what failed, why and what to check."""
        code = aadsts_code(result)
        error = result.get('error') or 'unknown_error'
        service_says = first_line(result.get('error_description')) or error
        advice = self.hint(code) or _SHARED_HINTS.get(code)
        identity = self.describe_identity()
        if advice:
            why, todo = advice
            message = 'Sign-in failed for %s: %s. %s (%s)' % (
                identity, why.format(**self._hint_values()), todo.format(**self._hint_values()), service_says)
        else:
            message = ('Sign-in failed for %s: %s. Check tenant_id, client_id, the credential and cloud.'
                       % (identity, service_says))
        fields = dict(code=code or error, request_id=result.get('trace_id'),
                      client_request_id=result.get('correlation_id'), date=result.get('timestamp'))
        if error in TRANSIENT_TOKEN_ERRORS:
            return TransientAuthenticationError(message, retry_after=MSAL_THROTTLE_SECONDS, **fields)
        return AuthenticationError(message, **fields)

    def _hint_values(self):
        return dict(tenant=self._options.get('tenant_id'), client_id=self._options.get('client_id'),
                    cloud=self.cloud.name, graph_root=self.cloud.graph_root,
                    authority_host=self._settings.authority_host)


def _throttle_seconds(exc):
    """How long msal will replay the answer behind ``exc``; None when no answer came (nothing is cached)."""
    response = getattr(exc, 'response', None)
    if response is not None and getattr(response, 'status_code', None) is not None:
        asked = parse_retry_after(response.headers.get('Retry-After'))
        return max(asked or 0, MSAL_THROTTLE_SECONDS)
    if isinstance(exc, MsalServiceError):
        return MSAL_THROTTLE_SECONDS
    return None


# (why, what to do) per AADSTS code; method files add their own for codes only they can explain.
_SHARED_HINTS = {
    'AADSTS700016': ('application {client_id} was not found in tenant {tenant}',
                     'Check client_id and tenant_id; an app registered in another cloud is not found here, so '
                     'also check that cloud ({cloud}) is where the app is registered.'),
    'AADSTS90002': ('tenant {tenant} was not found',
                    'Check tenant_id, and that cloud ({cloud}) is the cloud the tenant lives in.'),
    'AADSTS900023': ('tenant_id {tenant} is neither a tenant GUID nor a verified domain',
                     'Use the directory (tenant) ID from the app registration overview.'),
    'AADSTS500011': ('the tenant has no Microsoft Graph at {graph_root}',
                     'The tenant is probably in another cloud than {cloud}: set cloud to the tenant\'s cloud.'),
    'AADSTS7000112': ('application {client_id} is disabled in tenant {tenant}',
                      'Enable the app (or its service principal) or use another one.'),
    'AADSTS7000229': ('application {client_id} has no service principal in tenant {tenant}',
                      'Create the enterprise application (service principal) for it in that tenant.'),
    'AADSTS53003': ('a Conditional Access policy in tenant {tenant} blocked the sign-in',
                    'Ask the tenant\'s administrators to exempt this workload identity or its location.'),
    'AADSTS700025': ('application {client_id} is a public client and cannot use a credential',
                     'Use a confidential app registration, or turn off "Allow public client flows".'),
    'AADSTS7000215': ('the credential is not valid for application {client_id}',
                      'Check the credential belongs to this client_id.'),
}
