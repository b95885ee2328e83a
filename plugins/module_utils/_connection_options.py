# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""Cloud and connection options: where requests go, how long they may take, how TLS is checked."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re
from collections import namedtuple
from urllib.parse import urlsplit

from ansible_collections.entra.provisioning.plugins.module_utils._graph.clouds import (
    CLOUDS,
    clouds_for_authority_host,
    resolve_cloud,
)
from ansible_collections.entra.provisioning.plugins.module_utils._deprecations import beta_deprecation
from ansible_collections.entra.provisioning.plugins.module_utils._errors import InvalidInputError

API_VERSIONS = ('v1.0', 'beta')
DEFAULT_API_VERSION = 'v1.0'
DEFAULT_TIMEOUT = 30
DEFAULT_MAX_RETRIES = 5
DEFAULT_MAX_CONCURRENCY = 4
# The lowest value each number option takes; the same for a module option and the role variable that feeds it.
MINIMUMS = dict(timeout=1, max_retries=0, max_concurrency=1)
# A connection that takes longer than this will not come; failing early leaves time for a retry.
MAX_CONNECT_TIMEOUT = 10
_LOOPBACK_HOSTS = frozenset(('localhost', '127.0.0.1', '::1'))
# OpenSSL finds a CA in a directory only through links named after the subject hash, e.g. 5ed36f99.0
_HASH_LINK = re.compile(r'^[0-9a-f]{8}\.r?[0-9]+$')
_PEM_CERTIFICATE = b'-----BEGIN CERTIFICATE-----'

ConnectionSettings = namedtuple('ConnectionSettings', [
    'cloud',               # Cloud from _clouds: the audience and default hosts
    'graph_base_url',      # where Graph requests go, no trailing slash, without the version
    'authority_host',      # where sign-in requests go, no trailing slash
    'instance_discovery',  # False for a custom authority host, None lets msal decide for the cloud's own host
    'api_version',
    'timeout',             # (connect, read) seconds for requests
    'max_retries',
    'verify',              # what requests gets as verify= on every call: True, False or a CA bundle path
    'max_concurrency',
    'warnings',            # texts for the user: an endpoint that is not the cloud's own, a path that was removed
], defaults=((),))


class ConnectionOptions(object):
    """The cloud and connection option group: argument spec plus validation into ``ConnectionSettings``."""

    ARGSPEC = dict(
        cloud=dict(type='str'),
        graph_endpoint=dict(type='str'),
        authority_host=dict(type='str'),
        api_version=dict(type='str', default=DEFAULT_API_VERSION, choices=list(API_VERSIONS)),
        timeout=dict(type='int', default=DEFAULT_TIMEOUT),
        max_retries=dict(type='int', default=DEFAULT_MAX_RETRIES),
        validate_certs=dict(type='bool', default=True),
        ca_path=dict(type='path'),
    )

    def __init__(self, resolver):
        self._options = resolver

    def settings(self, max_concurrency=None):
        """Validate the options without any network traffic and return ``ConnectionSettings``.

        ``max_concurrency`` sizes the connection pool; a module that runs $batch envelopes in parallel passes
        its own concurrency here.
        """
        cloud = resolve_cloud(self._options.get('cloud'), self._options.describe('cloud'))
        warnings = []
        graph_base_url = self._graph_base_url(cloud, warnings)
        authority_host = self._authority_host(cloud, warnings)
        is_own_authority = authority_host.lower() == cloud.authority_host.lower()

        api_version = self._options.get('api_version') or DEFAULT_API_VERSION
        if api_version not in API_VERSIONS:
            raise InvalidInputError('api_version must be one of %s, got %r.' % (', '.join(API_VERSIONS), api_version))

        timeout = self._options.get('timeout')
        timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        if timeout <= 0:
            raise InvalidInputError('timeout must be a positive number of seconds, got %r.' % (timeout,))

        max_retries = self._options.get('max_retries')
        max_retries = DEFAULT_MAX_RETRIES if max_retries is None else max_retries
        if max_retries < 0:
            raise InvalidInputError('max_retries must be 0 or more, got %r.' % (max_retries,))

        max_concurrency = DEFAULT_MAX_CONCURRENCY if max_concurrency is None else max_concurrency
        if max_concurrency < 1:
            raise InvalidInputError('max_concurrency must be 1 or more, got %r.' % (max_concurrency,))

        return ConnectionSettings(
            cloud=cloud,
            graph_base_url=graph_base_url,
            authority_host=authority_host,
            instance_discovery=None if is_own_authority else False,
            api_version=api_version,
            timeout=(min(MAX_CONNECT_TIMEOUT, timeout), timeout),
            max_retries=max_retries,
            verify=self._verify(),
            max_concurrency=max_concurrency,
            warnings=tuple(warnings),
        )

    def _graph_base_url(self, cloud, warnings):
        """graph_endpoint, checked: never another cloud's Graph, the version path removed, a warning if foreign."""
        graph_endpoint = self._options.get('graph_endpoint')
        if not graph_endpoint:
            return cloud.graph_root
        base_url = _normalize_base_url(graph_endpoint, 'graph_endpoint')
        version = base_url.rsplit('/', 1)[-1]
        if version.lower() in API_VERSIONS:
            base_url = base_url[:-len(version) - 1]
            warnings.append('graph_endpoint %s ends in /%s, the API version, which the collection adds from '
                            'api_version: /%s was removed, requests go to %s/%s/...'
                            % (graph_endpoint, version, version, base_url, self._options.get('api_version')
                               or DEFAULT_API_VERSION))
        origin = _origin(base_url)
        for other in CLOUDS.values():
            if other is not cloud and origin == _origin(other.graph_root):
                raise InvalidInputError(
                    'graph_endpoint %s is the Graph of the %s cloud, but cloud is %s, whose Graph is %s: its token '
                    'would be sent to another cloud. Set cloud to %s, or remove graph_endpoint.'
                    % (graph_endpoint, other.name, cloud.name, cloud.graph_root, other.name))
        if origin != _origin(cloud.graph_root):
            warnings.append('graph_endpoint %s is not the Graph of the %s cloud (%s): the bearer token is sent '
                            'there. Expected for an emulator or a test gateway; otherwise remove graph_endpoint.'
                            % (base_url, cloud.name, cloud.graph_root))
        return base_url

    def _authority_host(self, cloud, warnings):
        """authority_host, checked: https only, never another cloud's, a non-Microsoft host only when explicit."""
        authority_option = self._options.get('authority_host')
        if not authority_option:
            return cloud.authority_host
        what = self._options.describe('authority_host')
        authority_host = _normalize_base_url(authority_option, what, allow_path=False, require_https=True)
        _refuse_other_clouds_authority(authority_host, cloud, what)
        if authority_host.lower() == cloud.authority_host.lower():
            return authority_host
        hostname = urlsplit(authority_host).hostname
        if not self._options.is_explicit('authority_host') and not is_loopback_host(hostname):
            # An environment variable alone must not route the client secret to a host nobody named here.
            raise InvalidInputError(
                '%s is %s, which is not a Microsoft sign-in host: the client credential would be sent there. To '
                'sign in there, give authority_host as an option (for the role: authorize_authority_host); '
                'otherwise unset AZURE_AUTHORITY_HOST.' % (what, authority_host))
        warnings.append('%s %s is not the sign-in host of the %s cloud (%s): the client credential is sent there. '
                        'Expected for an emulator; otherwise remove it.'
                        % (what, authority_host, cloud.name, cloud.authority_host))
        return authority_host

    def _verify(self):
        """Turn validate_certs/ca_path into the value passed as ``verify=`` on every request.

        requests replaces a session's ``verify`` with REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE, even ``False``; the
        session passes this value per request, where requests only lets the environment replace ``True``.
        So: validate_certs=false disables checks, ca_path names the bundle, and only the default (true, no
        ca_path) lets those environment variables choose the bundle, as requests always does.
        """
        validate_certs = self._options.get('validate_certs')
        if validate_certs is False:
            return False
        ca_path = self._options.get('ca_path')
        if ca_path:
            _check_ca_path(ca_path)
            return ca_path
        return True


def settings_notices(settings, name_of=None):
    """Return what a run must tell the user about ``settings`` (ConnectionSettings): ``(warnings, deprecation)``.

    The warnings are the endpoint notices (an endpoint that is not the cloud's own, a version path removed) and the
    one for ``validate_certs`` false; ``deprecation`` is ``beta_deprecation``'s (or None). ``name_of`` names an
    option the way the caller's user wrote it (the role: ``authorize_validate_certs``).
    """
    name_of = name_of or str
    warnings = list(settings.warnings)
    if settings.verify is False:
        warnings.append('%s is false: TLS certificates of Graph and the sign-in service are not checked, so the '
                        'token could be handed to an impostor.' % name_of('validate_certs'))
    return warnings, beta_deprecation(settings.api_version)


def _check_ca_path(ca_path):
    """Refuse a ca_path OpenSSL cannot use, before a handshake fails with an SSL error that does not say why."""
    if not os.path.exists(ca_path):
        raise InvalidInputError('ca_path %s does not exist: give a PEM bundle file or a hashed certificate '
                                'directory.' % ca_path)
    if os.path.isdir(ca_path):
        if not any(_HASH_LINK.match(name) for name in os.listdir(ca_path)):
            raise InvalidInputError(
                'ca_path %s is a directory without hash links (files named like 5ed36f99.0), so OpenSSL finds no '
                'CA in it: run "openssl rehash %s" (or c_rehash), or give a PEM bundle file.' % (ca_path, ca_path))
        return
    try:
        with open(ca_path, 'rb') as bundle:
            content = bundle.read()
    except (IOError, OSError) as exc:
        raise InvalidInputError('ca_path %s cannot be read: %s.' % (ca_path, getattr(exc, 'strerror', None) or exc))
    if _PEM_CERTIFICATE not in content:
        raise InvalidInputError(
            'ca_path %s is not a PEM bundle (it has no "-----BEGIN CERTIFICATE-----" block): convert a DER '
            'certificate with "openssl x509 -inform der -in %s -out ca.pem" and give that file.' % (ca_path, ca_path))


def _origin(url):
    parts = urlsplit(url)
    return '%s://%s' % (parts.scheme.lower(), (parts.netloc or '').lower())


def is_loopback_host(host):
    """Return True for a name or address of this machine, where plain http cannot be overheard."""
    return bool(host) and str(host).strip('[]').lower() in _LOOPBACK_HOSTS


def _normalize_base_url(value, what, allow_path=True, require_https=False):
    text = str(value).strip()
    if '://' not in text:
        # AZURE_AUTHORITY_HOST is often set as a bare host name, as the Azure SDKs accept it.
        text = 'https://' + text
    parts = urlsplit(text)
    if parts.scheme not in ('https', 'http') or not parts.hostname:
        raise InvalidInputError('%s must be an https URL such as https://host.example, got %r.' % (what, value))
    if parts.query or parts.fragment or parts.username or parts.password:
        raise InvalidInputError('%s must be a plain URL without user, query or fragment, got %r.' % (what, value))
    if parts.scheme == 'http' and require_https:
        raise InvalidInputError('%s must use https, even for a loopback address: the sign-in library (msal) only '
                                'talks to an https sign-in host. Got %r.' % (what, value))
    if parts.scheme == 'http' and not is_loopback_host(parts.hostname):
        # A bearer token sent in clear text to anything but this machine is a token given away.
        raise InvalidInputError('%s must use https (plain http is only accepted for a loopback address), got %r.'
                                % (what, value))
    path = parts.path.rstrip('/')
    if path and not allow_path:
        raise InvalidInputError('%s must be a scheme and host only (the tenant is added from tenant_id), got %r.'
                                % (what, value))
    return '%s://%s%s' % (parts.scheme, parts.netloc.lower(), path)


def _refuse_other_clouds_authority(authority_host, cloud, what):
    """A known sign-in host of another cloud would issue tokens Graph in the chosen cloud refuses."""
    owners = clouds_for_authority_host(authority_host)
    if owners and cloud not in owners:
        raise InvalidInputError(
            '%s is %s, the sign-in host of the %s cloud, but cloud is %s (sign-in host %s). Set cloud to match, '
            'or unset authority_host/AZURE_AUTHORITY_HOST.'
            % (what, authority_host, ' / '.join(owner.name for owner in owners), cloud.name, cloud.authority_host))
