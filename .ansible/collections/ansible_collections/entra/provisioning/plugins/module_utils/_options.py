# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""Option adapter and environment fallbacks shared by modules and (later) lookup or inventory plugins.

Environment variables are read here, late, rather than through ``env_fallback`` in the argument spec: auth
method selection must know whether a credential was given explicitly or came from the environment, so that an
explicit option is never contradicted by a variable an AWX credential happened to inject.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.entra.provisioning.plugins.module_utils._redact import register_secret

# Checked in this order, first non-empty wins; explicit options always win over all of them.
ENV_FALLBACKS = {
    'tenant_id': ('AZURE_TENANT_ID', 'AZURE_TENANT'),
    'client_id': ('AZURE_CLIENT_ID',),
    'client_secret': ('AZURE_CLIENT_SECRET', 'AZURE_SECRET'),
    'client_certificate_path': ('AZURE_CLIENT_CERTIFICATE_PATH',),
    'client_certificate_password': ('AZURE_CLIENT_CERTIFICATE_PASSWORD',),
    'federated_token_file': ('AZURE_FEDERATED_TOKEN_FILE',),
    'authority_host': ('AZURE_AUTHORITY_HOST',),
    'cloud': ('AZURE_CLOUD_ENVIRONMENT',),
}

SECRET_OPTIONS = frozenset(('client_secret', 'client_certificate_password', 'access_token'))

SOURCE_OPTION = 'option'


class OptionAdapter(object):
    """A uniform ``get_option`` over module params, a plugin's options or a plain dict."""

    def __init__(self, getter, haver=None):
        self._getter = getter
        self._haver = haver

    @classmethod
    def from_dict(cls, options):
        """Wrap a dict (e.g. ``module.params``); missing keys read as ``None``."""
        return cls(getter=options.get, haver=options.__contains__)

    @classmethod
    def from_ansible_module(cls, module):
        """Wrap an AnsibleModule's params."""
        return cls.from_dict(module.params)

    @classmethod
    def from_ansible_plugin(cls, plugin):
        """Wrap an AnsiblePlugin; its documented options must not declare ``env:`` for the fallbacks above."""
        def getter(key):
            """Read an option, None when the plugin does not have it."""
            try:
                return plugin.get_option(key)
            except KeyError:
                return None
        return cls(getter=getter, haver=getattr(plugin, 'has_option', None))

    def get_option(self, key):
        """Return the option's value, ``None`` when unset or unknown."""
        if self._haver is not None and not self._haver(key):
            return None
        return self._getter(key)


class OptionResolver(object):
    """Reads options with their environment fallbacks and remembers where each value came from."""

    def __init__(self, adapter, environ=None):
        self._adapter = adapter
        self._environ = os.environ if environ is None else environ
        self._cache = {}

    def _resolve(self, key):
        if key not in self._cache:
            value, source = self._adapter.get_option(key), SOURCE_OPTION
            if _is_empty(value):
                value, source = None, None
                for variable in ENV_FALLBACKS.get(key, ()):
                    candidate = self._environ.get(variable)
                    if not _is_empty(candidate):
                        value, source = candidate.strip(), variable
                        break
            if key in SECRET_OPTIONS and value is not None:
                register_secret(value)
            self._cache[key] = (value, source)
        return self._cache[key]

    def get(self, key):
        """Return the option, else the first set environment variable, else ``None``."""
        return self._resolve(key)[0]

    def source(self, key):
        """Return ``'option'``, the environment variable's name, or ``None`` when the value is unset."""
        return self._resolve(key)[1]

    def is_explicit(self, key):
        """Return True when the option itself (not the environment) gave the value."""
        return self.source(key) == SOURCE_OPTION

    def describe(self, key):
        """Return how to name this setting in a message, e.g. ``client_secret (from AZURE_SECRET)``."""
        source = self.source(key)
        if source in (None, SOURCE_OPTION):
            return key
        return '%s (from %s)' % (key, source)


def _is_empty(value):
    return value is None or (isinstance(value, str) and value.strip() == '')
