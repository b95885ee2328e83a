# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""EntraModule: an AnsibleModule with the shared auth, cloud and connection options and the Graph client."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import difflib
import re

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.entra.provisioning.plugins.module_utils._authenticator import Authenticator
from ansible_collections.entra.provisioning.plugins.module_utils._connection_options import (
    ConnectionOptions,
    settings_notices,
)
from ansible_collections.entra.provisioning.plugins.module_utils._errors import EntraError, MissingDependencyError
from ansible_collections.entra.provisioning.plugins.module_utils._client_factory import build_graph_client
from ansible_collections.entra.provisioning.plugins.module_utils._options import OptionAdapter
from ansible_collections.entra.provisioning.plugins.module_utils._redact import SecretRegistry

# An option or item key of this name holds credential values in whatever shape the user typed it.
SECRET_CONTAINERS = frozenset(('credentials',))
# Names a user may have misspelt a secret as: 'client_secert', 'credential', 'pasword'.
_SECRET_WORDS = ('secret', 'passw', 'token', 'cred', 'assertion', 'passphrase')
_SECRET_NAMES = ('client_secret', 'client_certificate_password', 'access_token', 'credentials', 'value', 'password')
# "SecretToken=X" typed where a mapping was expected
_NAMED_STRING = re.compile(r'^\s*([A-Za-z_][\w.-]*)\s*[=:]')


def shared_argument_spec():
    """Return a fresh copy of every shared option (auth, cloud, connection) for an argument spec."""
    spec = {}
    for group in (Authenticator.ARGSPEC, ConnectionOptions.ARGSPEC):
        for name, definition in group.items():
            spec[name] = dict(definition)
            if 'choices' in definition:
                spec[name]['choices'] = list(definition['choices'])
    return spec


class EntraModule(AnsibleModule):
    """A module declares only its own options; the shared ones are merged in.

    ``graph_client()`` builds the client from the params (failing the module cleanly on bad options), and
    ``fail_from_error()`` turns any EntraError into ``fail_json(msg=..., error=err.to_dict())``.
    """

    def __init__(self, argument_spec=None, **kwargs):
        # The module process is the run: its secrets live in this registry until the process exits.
        self.secrets = SecretRegistry()
        self.secrets.activate()
        spec = shared_argument_spec()
        spec.update(argument_spec or {})
        super(EntraModule, self).__init__(argument_spec=spec, **kwargs)
        self.option_adapter = OptionAdapter.from_ansible_module(self)
        self._graph_client = None

    @classmethod
    def generate_argspec(cls, **module_options):
        """Return the shared options updated with ``module_options``, for modules that build their own spec."""
        spec = shared_argument_spec()
        spec.update(module_options)
        return spec

    def graph_client(self, max_concurrency=None):
        """Return the module's one GraphClient, built on first call; fails the module on bad options."""
        if self._graph_client is None:
            try:
                self._graph_client = build_graph_client(self.option_adapter, max_concurrency=max_concurrency)
            except EntraError as error:
                self.fail_from_error(error)
            warnings, notice = settings_notices(self._graph_client.settings)
            for warning in warnings:
                self.warn(warning)
            if notice:
                self.deprecate(notice['msg'], date=notice['date'], collection_name=notice['collection_name'])
        return self._graph_client

    def fail_from_error(self, error, **result):
        """Fail the module with an EntraError's message and its plain fields under ``error``."""
        if isinstance(error, MissingDependencyError) and error.library:
            self.fail_json(msg=missing_required_lib(error.library), exception=error.import_error,
                           error=error.to_dict(), **result)
        self.fail_json(msg=error.message, error=error.to_dict(), **result)

    def _load_params(self):
        """Read the params like AnsibleModule, then register every value a user may have meant as a secret.

        This runs before the argument spec is checked, so a secret in a shape the spec rejects or an option it
        does not know (``client_secert``, ``credentials`` as a mapping or a ``"SecretToken=X"`` string, a
        ``vaule:`` typo) is masked in the failure the spec check produces, ``invocation`` included.
        """
        super(EntraModule, self)._load_params()
        for value in secret_values(self.params, self.argument_spec):
            self.secrets.add(value)
        self._remember_runtime_secrets()

    def _remember_runtime_secrets(self):
        # Values read from the environment or files never went through the argument spec's no_log.
        self.no_log_values.update(self.secrets.values())

    def exit_json(self, **kwargs):
        """Exit like AnsibleModule, masking secrets registered at run time too."""
        self._remember_runtime_secrets()
        super(EntraModule, self).exit_json(**kwargs)

    def fail_json(self, msg, **kwargs):
        """Fail like AnsibleModule, masking secrets registered at run time too."""
        self._remember_runtime_secrets()
        super(EntraModule, self).fail_json(msg, **kwargs)


def secret_values(params, spec):
    """Yield every string in ``params`` a user may have meant as a secret, whatever its shape.

    That is: everything under an option the spec does not know (it may be a misspelt secret option), under a
    no_log option, under any ``credentials`` (except the ``key`` of a pair: the name of the credential), and
    under an item key that is not in the spec or whose name looks like a secret's.
    """
    known = _names_with_aliases(spec)
    for name, value in (params or {}).items():
        if str(name).startswith('_ansible_'):
            continue
        definition = known.get(name)
        if definition is None or definition.get('no_log') or name in SECRET_CONTAINERS:
            yield from _credential_strings(value)
        elif definition.get('options'):
            yield from _values_in_suboptions(value, definition['options'])
        else:
            yield from _values_in_unchecked(value)


def _names_with_aliases(spec):
    known = {}
    for name, definition in (spec or {}).items():
        known[name] = definition
        for alias in definition.get('aliases') or ():
            known[alias] = definition
    return known


def _values_in_suboptions(value, suboptions):
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict):
            yield from secret_values(item, suboptions)
        elif any(definition.get('no_log') or name in SECRET_CONTAINERS for name, definition in suboptions.items()):
            # an item the spec cannot read, of a structure that holds secrets
            yield from _credential_strings(item)


def _values_in_unchecked(value):
    """A value whose structure the spec does not describe (elements='raw', a plain list or dict)."""
    if isinstance(value, dict):
        for key, child in value.items():
            if key in SECRET_CONTAINERS or looks_like_a_secret_name(key):
                yield from _credential_strings(child)
            else:
                yield from _values_in_unchecked(child)
    elif isinstance(value, list):
        for child in value:
            yield from _values_in_unchecked(child)
    elif isinstance(value, str):
        named = _NAMED_STRING.match(value)
        if named and looks_like_a_secret_name(named.group(1)):
            yield from _credential_strings(value)


def looks_like_a_secret_name(name):
    """Return True for a name that is, or is a misspelling of, a secret option's."""
    lowered = str(name).lower()
    if any(word in lowered for word in _SECRET_WORDS):
        return True
    return bool(difflib.get_close_matches(lowered, _SECRET_NAMES, n=1, cutoff=0.8))


def _credential_strings(value):
    """Every leaf under ``value`` as text, except the ``key`` of a pair (the credential's name, not a secret)."""
    if isinstance(value, dict):
        for key, child in value.items():
            if key != 'key' or not isinstance(child, str):
                yield from _credential_strings(child)
    elif isinstance(value, (list, tuple)):
        for child in value:
            yield from _credential_strings(child)
    elif isinstance(value, str):
        yield value
        # "SecretToken=X" or "SecretToken: X" typed as one string: X alone may show up in a message
        for separator in ('=', ':'):
            name, found, rest = value.partition(separator)
            if found and rest.strip():
                yield rest.strip()
    elif value is not None and not isinstance(value, bool):
        yield str(value)
