# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers for module_utils tests: options, settings, a clock, a sleep recorder and a fake sign-in service."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import contextlib
import json
from urllib.parse import parse_qs

import responses

from ansible_collections.entra.provisioning.plugins.module_utils._connection_options import ConnectionOptions
from ansible_collections.entra.provisioning.plugins.module_utils._options import OptionAdapter, OptionResolver
from ansible_collections.entra.provisioning.plugins.module_utils._graph.session import build_session

# Module tests feed arguments the way AnsibleModule reads them; 2.19 has a helper for it, 2.18 does not.
try:
    from ansible.module_utils.testing import patch_module_args as _core_patch_module_args
    patch_module_args = _core_patch_module_args  # re-exported for the module tests
except ImportError:  # ansible-core before 2.19
    from unittest import mock

    @contextlib.contextmanager
    def patch_module_args(args):
        from ansible.module_utils import basic
        with mock.patch.object(basic, '_ANSIBLE_ARGS', json.dumps({'ANSIBLE_MODULE_ARGS': args}).encode()):
            yield

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

    def instance_discovery(self, authority_host):
        """Answer msal's instance metadata look-up, which it makes after a token error on a known host."""
        host = authority_host.split('://', 1)[1]
        self.mock.add(responses.GET, '%s/common/discovery/instance' % authority_host, json={
            'tenant_discovery_endpoint': '%s/common/v2.0/.well-known/openid-configuration' % authority_host,
            'metadata': [{'preferred_network': host, 'preferred_cache': host, 'aliases': [host]}],
        })

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
        self.instance_discovery(authority_host)
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


def make_key_and_certificate(common_name='entra.provisioning unit test', key=None, issuer=None, issuer_key=None):
    """Return (RSA key, self-signed or issuer-signed certificate) made on the spot."""
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder()
                   .subject_name(subject)
                   .issuer_name(issuer.subject if issuer is not None else subject)
                   .public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=2))
                   .sign(issuer_key or key, hashes.SHA256()))
    return key, certificate


def pem_of(key=None, certificates=(), password=None):
    """Return PEM bytes: the key (encrypted with ``password`` if given) followed by the certificates."""
    from cryptography.hazmat.primitives import serialization

    data = b''
    if key is not None:
        encryption = (serialization.BestAvailableEncryption(password.encode()) if password
                      else serialization.NoEncryption())
        data += key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    for certificate in certificates:
        data += certificate.public_bytes(serialization.Encoding.PEM)
    return data


def pfx_of(key, certificate, password=None):
    """Return PKCS#12 bytes holding the key and certificate."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    encryption = (serialization.BestAvailableEncryption(password.encode()) if password
                  else serialization.NoEncryption())
    return pkcs12.serialize_key_and_certificates(b'unit', key, certificate, None, encryption)


def jwt_header(token):
    """Return the decoded header of a JWT."""
    part = token.split('.')[0]
    return json.loads(base64.urlsafe_b64decode(part + '=' * (-len(part) % 4)))


def make_auth(method_class, options, environ=None, clock=None):
    """Return an auth method object over a real session, options and settings as a module would build them."""
    resolver = make_resolver(options, environ)
    settings = ConnectionOptions(resolver).settings()
    return method_class(resolver, settings, build_session(settings), clock=clock)


def app_options(**extra):
    """Return tenant_id and client_id (the test app) plus ``extra``."""
    options = {'tenant_id': TENANT_ID, 'client_id': CLIENT_ID}
    options.update(extra)
    return options


def graph_token(cloud_graph_root='https://graph.microsoft.com', lifetime=3600):
    """Return a JWT-shaped Graph token for ``cloud_graph_root`` valid for ``lifetime`` seconds from now."""
    import time
    return make_jwt(aud=cloud_graph_root, exp=int(time.time()) + lifetime)


def make_client(options=None, environ=None, retry_policy=None, max_concurrency=None):
    """Return a GraphClient built the way modules build it; the default signs in with a given access token."""
    from ansible_collections.entra.provisioning.plugins.module_utils._graph.client_factory import build_graph_client

    options = dict(options or {'access_token': graph_token()})
    return build_graph_client(OptionAdapter.from_dict(options), environ=dict(environ or {}),
                              max_concurrency=max_concurrency, retry_policy=retry_policy)
