# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""The one HTTP session shared by the Graph client and msal, so both apply the same TLS, timeout and proxy rules."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import platform
import traceback
from urllib.parse import urljoin, urlsplit

from ansible_collections.entra.provisioning.plugins.module_utils._connection_options import is_loopback_host
from ansible_collections.entra.provisioning.plugins.module_utils._errors import EntraError
from ansible_collections.entra.provisioning.plugins.module_utils._version import COLLECTION_NAME, COLLECTION_VERSION

try:
    from ansible.module_utils.ansible_release import __version__ as ANSIBLE_VERSION
except ImportError:  # pragma: no cover - only outside a full ansible-core install
    ANSIBLE_VERSION = 'unknown'

try:
    import requests
    from requests.adapters import HTTPAdapter
    from requests.utils import get_environ_proxies
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
    _SessionBase = object
else:
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
    _SessionBase = requests.Session

# Pools for hosts beyond Graph and sign-in (a managed identity endpoint, a nextLink on another port) are rare.
_POOL_HOSTS = 4
# Token requests and paging run beside the $batch workers.
_POOL_SPARE = 2
# Plain http is only allowed to this machine; an environment proxy would carry it (bearer token included) off it.
_NO_PROXY = {'http': None, 'https': None, 'all': None}


def user_agent():
    """Return the User-Agent naming the collection, ansible-core and Python versions."""
    return '%s/%s ansible-core/%s python/%s' % (
        COLLECTION_NAME, COLLECTION_VERSION, ANSIBLE_VERSION, platform.python_version())


class RedirectRefusedError(EntraError):
    """An answer redirected a request elsewhere; it was not followed."""


class GraphSession(_SessionBase):
    """A requests session that applies its own ``verify``, timeout and proxies to every request, msal's included.

    requests would look for ``~/.netrc`` on every request and, finding the host there, replace the request's
    Authorization header (the bearer token) with the netrc password, or add it to msal's token request: so the
    session does not trust the environment (``trust_env`` false), and reads once what the environment does decide
    here: the proxies (per address, with NO_PROXY) and, for the default ``verify=True``, the CA bundle that
    REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE name. validate_certs=false and ca_path win over those variables. Plain http
    to a loopback address never goes through a proxy. Redirects are never followed: requests would send the body of
    a 307/308 (an acquireAccessToken body, a client secret) on to wherever it points, past the https and
    same-origin rules, so a redirect is raised as RedirectRefusedError naming its target.
    """

    def __init__(self, verify=True, timeout=None, direct=False):
        super(GraphSession, self).__init__()
        self.trust_env = False
        if verify is True:
            verify = os.environ.get('REQUESTS_CA_BUNDLE') or os.environ.get('CURL_CA_BUNDLE') or True
        self.verify = verify
        self.entra_verify = verify
        self.entra_timeout = timeout
        self.entra_direct = direct
        self._proxies_by_origin = {}

    def request(self, method, url, **kwargs):
        """Send like requests.Session.request, with this session's verify, timeout and proxies, and no redirects."""
        if kwargs.get('verify') is None:
            kwargs['verify'] = self.entra_verify
        if kwargs.get('timeout') is None:
            kwargs['timeout'] = self.entra_timeout
        kwargs['allow_redirects'] = False
        if self.entra_direct:
            kwargs['proxies'] = dict(_NO_PROXY)
        elif kwargs.get('proxies') is None:
            kwargs['proxies'] = self._proxies_for(url)
        response = super(GraphSession, self).request(method, url, **kwargs)
        if response.is_redirect:
            error = redirect_error(method, url, response)
            response.close()
            raise error
        return response

    def _proxies_for(self, url):
        parts = urlsplit(url)
        origin = (parts.scheme.lower(), parts.netloc.lower())
        proxies = self._proxies_by_origin.get(origin)
        if proxies is None:
            if parts.scheme.lower() == 'http' and is_loopback_host(parts.hostname):
                proxies = dict(_NO_PROXY)
            else:
                # what requests itself would take from HTTP(S)_PROXY, ALL_PROXY and NO_PROXY for this address
                proxies = get_environ_proxies(url)
            self._proxies_by_origin[origin] = proxies
        return dict(proxies)


def direct_session(session):
    """Return a session like ``session`` (TLS, timeout, pools, User-Agent, no redirects) that never uses a proxy.

    For the managed identity endpoints: the instance metadata service (``http://169.254.169.254``), App Service, Arc,
    Cloud Shell and Service Fabric all answer on the machine or its host, in plain http for most. Through a proxy
    the token would cross the network in clear and the proxy could answer with a token of its choosing, which would
    be sent to Graph; Azure's own clients never proxy these endpoints either.
    """
    direct = GraphSession(verify=session.entra_verify, timeout=session.entra_timeout, direct=True)
    for prefix, adapter in session.adapters.items():
        direct.mount(prefix, adapter)
    direct.headers.update(session.headers)
    return direct


def redirect_error(method, url, response):
    """Return the RedirectRefusedError for a 3xx ``response`` to ``method url``, naming where it pointed."""
    target = urlsplit(urljoin(url, response.headers.get('Location', '')))
    origin = urlsplit(url)
    # The query of either address may carry a code or a token; scheme, host and path say enough.
    return RedirectRefusedError(
        '%s %s://%s%s was answered with HTTP %s, a redirect to %s://%s%s: not followed, because following it would '
        'send the request\'s body and credentials to another address. Point graph_endpoint or authority_host at '
        'the address that answers directly, or remove the proxy or gateway that redirects.'
        % (method.upper(), origin.scheme, origin.netloc, origin.path, response.status_code,
           target.scheme, target.netloc, target.path),
        status=response.status_code,
        request_id=response.headers.get('request-id') or response.headers.get('x-ms-request-id'))


def build_session(settings):
    """Return a ``GraphSession`` for ``ConnectionSettings``: pool sized for the concurrency, no hidden retries."""
    session = GraphSession(verify=settings.verify, timeout=settings.timeout)
    # Retries are decided by the Graph client, which knows whether a request is safe to repeat; urllib3's own
    # retries would repeat a POST behind its back.
    adapter = HTTPAdapter(pool_connections=_POOL_HOSTS, pool_maxsize=settings.max_concurrency + _POOL_SPARE,
                          max_retries=0)
    session.mount('https://', adapter)
    session.mount('http://', adapter)
    session.headers['User-Agent'] = user_agent()
    return session


TLS_ADVICE = ('The server certificate could not be verified: give ca_path (a CA bundle that signs it), or fix '
              'REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE, or as a last resort set validate_certs=false.')


def tls_advice(verify):
    """Return what to do about a failed certificate check, given the ``verify`` value that was used."""
    if isinstance(verify, str):
        return ('The server certificate could not be verified with ca_path %s: check that it holds the CA that '
                'signed the server certificate (for a directory: hashed with openssl rehash).' % verify)
    return TLS_ADVICE


def is_tls_error(exc):
    """Return True when ``exc`` is a TLS handshake or certificate failure: permanent, not worth a retry."""
    return HAS_REQUESTS and isinstance(exc, requests.exceptions.SSLError)
