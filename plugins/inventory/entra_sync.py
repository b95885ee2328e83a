# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: entra_sync
short_description: Applications of a Microsoft Entra tenant with provisioning, grouped by the state of their jobs
version_added: 0.1.0
description:
  - Every application (service principal) of one tenant that has at least one synchronization (provisioning) job
    becomes a host, named after its display name.
  - Hosts are grouped by the status of their jobs (V(entra_sync_active), V(entra_sync_paused),
    V(entra_sync_quarantine), V(entra_sync_not_run), V(entra_sync_not_configured)) and by the template of their
    jobs (V(entra_sync_template_<template id>), for example V(entra_sync_template_scim)).
  - An application with several jobs joins the status group and the template group of each of them.
  - Its host variables carry what the C(entra.provisioning.authorize) role reads
    (C(authorize_service_principal_id), C(authorize_job_id), C(authorize_tenant_id), C(authorize_cloud)), so
    C(ansible-playbook -i contoso.entra_sync.yml -i secrets.yml authorize.yml --limit entra_sync_quarantine)
    re-authorizes every quarantined application.
  - Graph cannot list only the service principals that have a job, so all service principals of the tenant
    (narrowed by O(filters)) are listed in pages of 999, and their jobs are read through C($batch), 20 to a
    request. 2,000 applications take 3 listing requests and 100 C($batch) requests.
  - Needs the Graph application permissions C(Application.Read.All) (to list the service principals) and
    C(Synchronization.Read.All) (to read their jobs); write permissions are not needed.
  - The inventory file name must end with C(entra_sync.yml) or C(entra_sync.yaml); a YAML file of another name
    that names this plugin is refused with that advice.
  - The whole configuration is checked before any request, and each problem is named with the option and how to
    fix it. That covers an unknown option (with the closest valid name, for example C(filter) for O(filters)), a bad
    O(host_name_prefix), a negative O(cache_timeout), a O(cache_connection) that is a file, O(max_concurrency),
    O(timeout) and O(max_retries) out of bounds, another cloud's O(graph_endpoint).
  - Secret options (O(client_secret), O(client_certificate_password), O(access_token)) may be vaulted
    (C(!vault)) or marked C(!unsafe); they are never templated, and they never reach host variables, the cache or
    error messages. A secret option given as a list or a mapping is refused without showing its value.
  - A O(graph_endpoint) or O(authority_host) that is not the cloud's own, and O(validate_certs=false), get the
    warnings the modules give; O(api_version=beta) gets their deprecation notice.
  - Values from Graph that Jinja could act on (a display name holding V({) or V(}), or starting a template header)
    are never templated, and C(ansible-inventory --list --export) marks them with C(__ansible_unsafe). Every other
    value, ids included, is written as plain text, which is what AWX's inventory import needs.
  - An answer of the wrong shape for one service principal (its jobs listing or one of its jobs) leaves that
    application out with a warning naming it and why; the other applications are still hosts.
author:
  - entra.provisioning maintainers (@entra-provisioning)
extends_documentation_fragment:
  - entra.provisioning.auth
  - entra.provisioning.connection
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description:
      - The name of this plugin; it tells Ansible the file is an entra_sync inventory.
    type: str
    required: true
    choices: [entra.provisioning.entra_sync]
  filters:
    description:
      - Narrow the inventory. Each key takes a string or a list; an application must match one value of every key
        given.
      - C(display_name_prefix) keeps the applications whose display name starts with one of the prefixes
        (compared case-insensitively). Graph applies it while listing, so it also makes the inventory faster.
      - C(tag) keeps the service principals that carry one of the tags, for example
        V(WindowsAzureActiveDirectoryIntegratedApp). Graph applies it while listing too.
      - C(template_id) keeps only the jobs of these synchronization templates (for example V(scim)); an
        application left without a job is not a host. Template ids are compared exactly.
      - A filter that matched nothing gives a warning (for C(template_id), with the templates the jobs do use).
    type: dict
    default: {}
  host_name_prefix:
    description:
      - Put this before every host name, for example V(contoso_) when one play reads several tenants whose
        applications could share names.
      - Letters, digits, V(-) and V(_) only.
    type: str
    default: ''
  max_concurrency:
    description:
      - How many C($batch) requests of 20 job reads are sent at the same time; at least V(1).
    type: int
    default: 4
notes:
  - Host names are the display name in lower case with every run of other characters than letters and digits
    replaced by V(-) (C(Contoso HR & Payroll) becomes C(contoso-hr-payroll)). Applications sharing a name all get V(-)
    and the first 8 hexadecimal digits of their application (client) ID appended, so the names do not depend on the
    order Graph lists them in.
  - C(authorize_job_id) is the application's most urgent job (quarantined, then paused, not run, not configured,
    active; ties by job ID), which is the one the role checks.
  - With O(cache=true) a second run within O(cache_timeout) reads nothing from Graph. Service principals whose jobs
    could not be read are left out with a warning, and such a run is not cached.
'''

EXAMPLES = r'''
# contoso.entra_sync.yml: every application of the tenant with provisioning
plugin: entra.provisioning.entra_sync
tenant_id: 6f1d2c4e-8a3b-4c5d-9e7f-0a1b2c3d4e5f
client_id: 0c6a1f57-3e2d-4b8a-9f41-7d5e2c9b1a01
# client_secret from AZURE_CLIENT_SECRET, or vaulted here:
# client_secret: !vault |
#   $ANSIBLE_VAULT;1.1;AES256
#   ...

---
# gcchigh.entra_sync.yml: only SCIM jobs of applications named "HR ...", cached for an hour,
# with a group per quarantine reason
plugin: entra.provisioning.entra_sync
cloud: usgov
host_name_prefix: gcchigh_
filters:
  display_name_prefix: HR
  template_id: [scim]
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/entra_sync
cache_timeout: 3600
keyed_groups:
  - key: entra_sync_jobs | map(attribute='quarantine') | select | map(attribute='reason')
    prefix: quarantine_reason
compose:
  entra_sync_job_count: entra_sync_job_ids | length
'''

import os
import re
from collections.abc import Mapping

from ansible import constants
from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.template import trust_as_template
from ansible.utils.display import Display
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.entra.provisioning.plugins.module_utils._graph.client_factory import build_graph_client
from ansible_collections.entra.provisioning.plugins.module_utils._connection_options import (
    ConnectionOptions,
    settings_notices,
)
from ansible_collections.entra.provisioning.plugins.module_utils._errors import EntraError
from ansible_collections.entra.provisioning.plugins.module_utils._items import _unknown_key_problem, yaml_kind
from ansible_collections.entra.provisioning.plugins.module_utils._options import (
    SECRET_OPTIONS,
    OptionAdapter,
    OptionResolver,
)
from ansible_collections.entra.provisioning.plugins.module_utils._redact import SecretRegistry
from ansible_collections.entra.provisioning.plugins.module_utils._sync.inventory import (
    InventoryFilters,
    build_hosts,
    check_host_name_prefix,
    filter_warnings,
    read_applications,
    skipped_warning,
)

# Settings given in the inventory file that the authorize role needs to reach the same tenant the same way.
_CONNECTION_VARIABLES = ('graph_endpoint', 'authority_host', 'ca_path', 'validate_certs', 'api_version')
_FILE_ENDINGS = ('entra_sync.yml', 'entra_sync.yaml')
# A line that names this plugin, so a file with another name is recognised as meant for it (and told its name).
_NAMES_THIS_PLUGIN = re.compile(r'^plugin:\s*[\'"]?(entra\.provisioning\.)?entra_sync[\'"]?\s*(#.*)?$', re.MULTILINE)
# What Jinja could act on: its delimiters, or the header that changes them (ansible-core reads
# "#jinja2:variable_start_string:'[['" at the start of a template, after which "[[ ... ]]" is one).
_TEMPLATABLE = re.compile(r'[{}]|#jinja2:')
# Cache plugins that keep one file per key below cache_connection, which must then be a directory.
_FILE_CACHES = ('jsonfile', 'yaml', 'pickle')

display = Display()


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    """Builds the inventory of a tenant's provisioned applications from Microsoft Graph."""

    NAME = 'entra.provisioning.entra_sync'

    def verify_file(self, path):
        """Accept files named ``*entra_sync.yml`` or ``*entra_sync.yaml``, and a YAML file of another name that
        names this plugin (so parse can say what the name must end in, instead of ansible-core's vague refusal)."""
        if not super(InventoryModule, self).verify_file(path):
            return False
        if path.endswith(_FILE_ENDINGS):
            return True
        return path.endswith(('.yml', '.yaml')) and _names_this_plugin(path)

    def parse(self, inventory, loader, path, cache=True):
        """Check the whole configuration, then read the tenant (or the cache) and fill the inventory."""
        super(InventoryModule, self).parse(inventory, loader, path, cache=cache)
        if not path.endswith(_FILE_ENDINGS):
            raise AnsibleParserError('entra_sync inventory %s: the file name must end with entra_sync.yml or '
                                     'entra_sync.yaml (for example contoso.entra_sync.yml); rename it.' % path)
        if not self._check_given(path):
            self._read_config_data(path)  # it says what is wrong with the file
        # One source is one run: its secrets are masked in its errors and forgotten when it is read.
        with SecretRegistry().in_use():
            try:
                filters = self._checked_options()
                given = set(self._read_config_data(path) or {})
                applications = self._applications(path, filters, cache)
                hosts = build_hosts(applications, prefix=self.get_option('host_name_prefix'),
                                    common_vars=self._connection_vars(given))
            except EntraError as exc:
                raise AnsibleParserError('entra_sync inventory %s: %s' % (path, exc.message))
        strict = self.get_option('strict')
        for name, variables, groups in hosts:
            self.inventory.add_host(name)
            for group in groups:
                self.inventory.add_group(group)
                self.inventory.add_child(group, name)
            for key, value in variables.items():
                self.inventory.set_variable(name, key, inventory_value(value))
            self._set_composite_vars(self.get_option('compose'), variables, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option('groups'), variables, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option('keyed_groups'), variables, name, strict=strict)

    def _check_given(self, path):
        """Refuse unknown options (with the closest name) and secrets that are not text, then set the options, so
        that every check runs before ansible-core builds the cache in _read_config_data. ansible-core ignores
        unknown keys, and its own refusal of a list given as client_secret prints the list. Returns False, having
        set nothing, for a file that cannot be loaded, is empty or names another plugin."""
        try:
            config = self.loader.load_from_file(path, cache='none')
        except Exception:  # pylint: disable=broad-exception-caught
            return False
        if config and not isinstance(config, Mapping):
            # ansible-core would try config.get() on it and fail with an AttributeError
            raise AnsibleParserError('entra_sync inventory %s: the file must hold a mapping of options (plugin: %s, '
                                     'tenant_id: ..., client_id: ...), got %s.' % (path, self.NAME, yaml_kind(config)))
        if not config or config.get('plugin') != self.NAME:
            return False
        known = self._documented_options()
        problems = [_unknown_key_problem(key, known) for key in config if key not in known]
        problems += ['%s must be text (the secret itself, or !vault), got %s; its value is not shown'
                     % (key, yaml_kind(config[key])) for key in sorted(SECRET_OPTIONS)
                     if isinstance(config.get(key), (Mapping, list, tuple, set))]
        if problems:
            problems = '; '.join(problem.rstrip('.') for problem in problems)
            raise AnsibleParserError('entra_sync inventory %s: %s.' % (path, problems))
        self.set_options(direct=config, var_options=self._vars)
        return True

    def _documented_options(self):
        return sorted(constants.config.get_configuration_definitions('inventory', self._load_name or self.NAME))

    def _checked_options(self):
        """Check every option that needs no network (filters, host_name_prefix, cache, connection settings),
        show the connection warnings and the deprecation notice the modules show, and return the filters."""
        filters = InventoryFilters.from_option(self.get_option('filters'))
        check_host_name_prefix(self.get_option('host_name_prefix'))
        self._check_cache_options()
        settings = ConnectionOptions(OptionResolver(self._options_adapter())).settings(
            max_concurrency=self.get_option('max_concurrency'))
        warnings, notice = settings_notices(settings)
        for warning in warnings:
            display.warning('entra_sync inventory: %s' % warning)
        if notice:
            display.deprecated(notice['msg'], date=notice['date'], collection_name=notice['collection_name'])
        return filters

    def _check_cache_options(self):
        if not self.get_option('cache'):
            return
        timeout = self.get_option('cache_timeout')
        if timeout is not None and timeout < 0:
            raise EntraError('cache_timeout must be 0 (never expires) or a number of seconds, got %r.' % (timeout,))
        connection = self.get_option('cache_connection')
        plugin_name = str(self.get_option('cache_plugin') or '').rsplit('.', 1)[-1]
        if plugin_name in _FILE_CACHES:
            if not connection:
                raise EntraError('cache_plugin %s keeps the cache in files: set cache_connection to a directory '
                                 '(for example ~/.cache/entra_sync).' % self.get_option('cache_plugin'))
            directory = os.path.expanduser(str(connection))
            if os.path.exists(directory) and not os.path.isdir(directory):
                raise EntraError('cache_connection %s is a file; the %s cache keeps one file per inventory in a '
                                 'directory: name a directory (it is created when missing).'
                                 % (connection, self.get_option('cache_plugin')))

    def _applications(self, path, filters, cache):
        """Return the applications with their jobs, from the cache when it may and can serve them."""
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option('cache') and cache
        if use_cache:
            try:
                cached = self._cache[cache_key]
            except KeyError:
                cached = None
            # A cache written by another version of this plugin is read again rather than misread.
            if isinstance(cached, list) and all(isinstance(application, dict) and 'id' in application
                                                and isinstance(application.get('jobs'), list)
                                                for application in cached):
                return cached
        outcome = self._read(filters)
        for warning in filter_warnings(filters, outcome):
            display.warning('entra_sync inventory %s: %s' % (path, warning))
        warning = skipped_warning(outcome.skipped)
        if warning:
            display.warning('entra_sync inventory %s: %s' % (path, warning))
        elif self.get_option('cache'):
            self._cache[cache_key] = outcome.applications
        return outcome.applications

    def _read(self, filters):
        client = build_graph_client(self._options_adapter(), max_concurrency=self.get_option('max_concurrency'))
        try:
            return read_applications(client, filters)
        finally:
            client.close()

    def _options_adapter(self):
        """The shared option adapter, with vaulted or unsafe secrets turned into the plain text msal needs."""
        adapter = OptionAdapter.from_ansible_plugin(self)
        plain_getter = adapter.get_option

        def getter(key):
            value = plain_getter(key)
            return str(value) if key in SECRET_OPTIONS and value is not None else value
        return OptionAdapter(getter=getter)

    def _connection_vars(self, given):
        """The tenant and cloud of every host, plus the connection settings the file gave (``given``)."""
        resolver = OptionResolver(OptionAdapter.from_ansible_plugin(self))
        variables = {'authorize_tenant_id': resolver.get('tenant_id'), 'authorize_cloud': resolver.get('cloud')}
        for option in _CONNECTION_VARIABLES:
            value = self.get_option(option)
            if value is not None and option in given:
                variables['authorize_' + option] = value
        return dict((key, value) for key, value in variables.items() if value is not None)


def inventory_value(value):
    """Return Graph's ``value`` as a host variable: a string Jinja could act on (see _TEMPLATABLE) stays untrusted,
    so it is never templated and ``ansible-inventory --export`` writes it as ``{"__ansible_unsafe": ...}``; every
    other string is trusted, which changes nothing when it is used (it holds no template) and lets --export write it
    as plain text, as AWX's inventory import needs (community.general#8212). Ids are never marked."""
    if isinstance(value, str):
        return wrap_var(value) if _TEMPLATABLE.search(value) else trust_as_template(value)
    if isinstance(value, Mapping):
        return dict((key, inventory_value(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return [inventory_value(item) for item in value]
    return value


def _names_this_plugin(path):
    try:
        with open(path, 'rb') as source:
            text = source.read(65536).decode('utf-8', 'replace')
    except OSError:
        return False
    return bool(_NAMES_THIS_PLUGIN.search(text))
