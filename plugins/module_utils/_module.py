# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""EntraModule: an AnsibleModule with the shared auth, cloud and connection options and the Graph client."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.entra.provisioning.plugins.module_utils._authenticator import Authenticator
from ansible_collections.entra.provisioning.plugins.module_utils._connection_options import ConnectionOptions
from ansible_collections.entra.provisioning.plugins.module_utils._deprecations import beta_deprecation
from ansible_collections.entra.provisioning.plugins.module_utils._errors import EntraError, MissingDependencyError
from ansible_collections.entra.provisioning.plugins.module_utils._client_factory import build_graph_client
from ansible_collections.entra.provisioning.plugins.module_utils._options import OptionAdapter
from ansible_collections.entra.provisioning.plugins.module_utils._redact import registered_secrets


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
            if self._graph_client.settings.verify is False:
                self.warn('validate_certs is false: TLS certificates of Graph and the sign-in service are not '
                          'checked, so the token could be handed to an impostor.')
            notice = beta_deprecation(self._graph_client.settings.api_version)
            if notice:
                self.deprecate(notice['msg'], date=notice['date'], collection_name=notice['collection_name'])
        return self._graph_client

    def fail_from_error(self, error, **result):
        """Fail the module with an EntraError's message and its plain fields under ``error``."""
        if isinstance(error, MissingDependencyError) and error.library:
            self.fail_json(msg=missing_required_lib(error.library), exception=error.import_error,
                           error=error.to_dict(), **result)
        self.fail_json(msg=error.message, error=error.to_dict(), **result)

    def _remember_runtime_secrets(self):
        # Values read from the environment or files never went through the argument spec's no_log.
        self.no_log_values.update(registered_secrets())

    def exit_json(self, **kwargs):
        """Exit like AnsibleModule, masking secrets registered at run time too."""
        self._remember_runtime_secrets()
        super(EntraModule, self).exit_json(**kwargs)

    def fail_json(self, msg, **kwargs):
        """Fail like AnsibleModule, masking secrets registered at run time too."""
        self._remember_runtime_secrets()
        super(EntraModule, self).fail_json(msg, **kwargs)
