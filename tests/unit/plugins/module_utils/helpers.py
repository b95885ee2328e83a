# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers for module_utils tests: options, settings, a clock, a sleep recorder and a fake sign-in service."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import json
from urllib.parse import parse_qs

import responses

from ansible_collections.entra.provisioning.plugins.module_utils._connection_options import ConnectionOptions
from ansible_collections.entra.provisioning.plugins.module_utils._options import OptionAdapter, OptionResolver
from ansible_collections.entra.provisioning.plugins.module_utils._session import build_session

TENANT_ID = '11111111-2222-3333-4444-555555555555'
CLIENT_ID = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee'
# Built at run time so no line of the tests looks like a real credential.
CLIENT_SECRET = 'unit-test-' + 'client-secret-' + 'x' * 8


def make_jwt(**claims):
    """Return an unsigned JWT-shaped token with ``claims`` (signature is junk: nobody verifies it here)."""
    def encode(part):
        return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b'=').decode()
    return '%s.%s.%s' % (encode({'alg': 'RS256', 'typ': 'JWT'}), encode(claims), 'c2lnbmF0dXJl')


def make_resolver(options=None, environ=None):
    """Return an OptionResolver over plain dicts (environment defaults to empty, never the real one)."""
    return OptionResolver(OptionAdapter.from_dict(dict(options or {})), environ=dict(environ or {}))


def make_settings(options=None, environ=None, max_concurrency=None):
    """Return ConnectionSettings for the options."""
    return ConnectionOptions(make_resolver(options, environ)).settings(max_concurrency=max_concurrency)


class SleepRecorder(object):
    """Stands in for time.sleep: records the delays, never waits."""

    def __init__(self):
        self.delays = []

    def __call__(self, seconds):
        self.delays.append(seconds)


class FakeClock(object):
    """A settable clock for token lifetimes."""

    def __init__(self, now=1700000000.0):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


class FakeEntra(object):
    """Registers the sign-in endpoints msal calls (OpenID configuration, token) on a responses mock."""

    def __init__(self, mock):
        self.mock = mock
        self.issued = []

    def openid_configuration(self, authority_host, tenant, status=200, body=None):
        """Answer msal's tenant discovery for ``authority_host``/``tenant``."""
        url = '%s/%s/v2.0/.well-known/openid-configuration' % (authority_host, tenant)
        if body is None and status == 200:
            body = {
                'authorization_endpoint': '%s/%s/oauth2/v2.0/authorize' % (authority_host, tenant),
                'token_endpoint': '%s/%s/oauth2/v2.0/token' % (authority_host, tenant),
                'issuer': '%s/%s/v2.0' % (authority_host, tenant),
            }
        self.mock.add(responses.GET, url, json=body, status=status)

    def token_url(self, authority_host, tenant):
        """Return the token endpoint URL the OpenID configuration above names."""
        return '%s/%s/oauth2/v2.0/token' % (authority_host, tenant)

    def token_endpoint(self, authority_host, tenant, expires_in=3600):
        """Issue a new, distinct token on every POST; remember each one in ``issued``."""
        def issue(request):
            token = make_jwt(aud='https://graph.microsoft.com', n=len(self.issued))
            self.issued.append(token)
            return 200, {}, json.dumps({'token_type': 'Bearer', 'expires_in': expires_in, 'access_token': token})
        self.mock.add_callback(responses.POST, self.token_url(authority_host, tenant), callback=issue)

    def token_error(self, authority_host, tenant, code, description, error='invalid_client', status=401):
        """Answer the token endpoint with an Entra error for AADSTS ``code``."""
        self.mock.add(responses.POST, self.token_url(authority_host, tenant), status=status, json={
            'error': error,
            'error_description': 'AADSTS%d: %s\r\nTrace ID: 0000-trace\r\nCorrelation ID: 0000-corr\r\n'
                                 'Timestamp: 2026-01-01 00:00:00Z' % (code, description),
            'error_codes': [code],
            'timestamp': '2026-01-01 00:00:00Z',
            'trace_id': '0000-trace',
            'correlation_id': '0000-corr',
        })

    def token_requests(self):
        """Return the form fields of each token request sent."""
        return [{key: values[0] for key, values in parse_qs(call.request.body).items()}
                for call in self.mock.calls if call.request.method == 'POST' and '/oauth2/v2.0/token' in
                call.request.url]


def session_for(settings):
    """Return the real GraphSession for ``settings``."""
    return build_session(settings)
