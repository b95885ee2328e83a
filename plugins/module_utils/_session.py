# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""The one HTTP session shared by the Graph client and msal, so both apply the same TLS, timeout and proxy rules."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import platform
import traceback

from ansible_collections.entra.provisioning.plugins.module_utils._version import COLLECTION_NAME, COLLECTION_VERSION

try:
    from ansible.module_utils.ansible_release import __version__ as ANSIBLE_VERSION
except ImportError:  # pragma: no cover - only outside a full ansible-core install
    ANSIBLE_VERSION = 'unknown'

try:
    import requests
    from requests.adapters import HTTPAdapter
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


def user_agent():
    """Return the User-Agent naming the collection, ansible-core and Python versions."""
    return '%s/%s ansible-core/%s python/%s' % (
        COLLECTION_NAME, COLLECTION_VERSION, ANSIBLE_VERSION, platform.python_version())


class GraphSession(_SessionBase):
    """A requests session that applies its own ``verify`` and timeout to every request, msal's included.

    requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE replace a session-level ``verify`` (even ``False``) but
    not a ``verify`` passed with the request unless it is ``True``, so passing it per request is what makes
    validate_certs=false and ca_path win over those variables. Proxies still come from the environment.
    """

    def __init__(self, verify=True, timeout=None):
        super(GraphSession, self).__init__()
        self.verify = verify
        self.entra_verify = verify
        self.entra_timeout = timeout

    def request(self, method, url, **kwargs):
        """Send like requests.Session.request, with this session's verify and timeout unless given."""
        if kwargs.get('verify') is None:
            kwargs['verify'] = self.entra_verify
        if kwargs.get('timeout') is None:
            kwargs['timeout'] = self.entra_timeout
        return super(GraphSession, self).request(method, url, **kwargs)


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


def is_tls_error(exc):
    """Return True when ``exc`` is a TLS handshake or certificate failure: permanent, not worth a retry."""
    return HAS_REQUESTS and isinstance(exc, requests.exceptions.SSLError)
