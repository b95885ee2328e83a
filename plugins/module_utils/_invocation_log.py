# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""The parameters a module writes to syslog and journald when it starts, each secret masked where it sits.

ansible-core logs ``Invoked with name=value ...`` on the host that runs a module (for this collection the
controller). For an option that is not ``no_log`` it writes ``str(value)`` and then masks the secret values it knows
as they were given; but ``str()`` of a list escapes a backslash, a newline, a tab or a quote, so such a value comes
out escaped and in clear, and a value nobody registered (an ``AppKey`` typed on a bulk item without the
``credentials:`` wrapper) comes out as typed. Here every value is masked by its position before it is turned into
text: no rendering can undo it, and the identifiers that make the line useful (names, ids, switches) stay readable.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.entra.provisioning.plugins.module_utils._redact import MASK

# The keys of an ``applications`` item (entra_sync_acquire_token, entra_sync_secrets, entra_sync_job,
# entra_sync_job_info) that name or steer an application and never hold a secret. Any other key of an item may
# hold one: a ``credentials`` list, a synchronizationSecret such as ``AppKey`` typed without the wrapper, a typo.
# tests/unit/plugins/module_utils/test_invocation_log.py checks this is every non-secret key of the item specs.
PLAIN_ITEM_KEYS = frozenset((
    'name', 'service_principal_id', 'application_id', 'app_id', 'display_name', 'job_id', 'template_id', 'state',
    'reset_scope', 'force', 'verify', 'update_secrets', 'remove_keys', 'accidental_deletion_threshold',
    'notification_email',
    # entra_sync_schema, entra_sync_provision_on_demand: their items and the mappings, scoping groups, clauses and
    # subjects inside them (attribute names, expressions, object ids: nothing a secret is typed into)
    'attribute_mappings', 'scoping', 'purge_mappings', 'rule_id', 'object_id', 'object_type', 'subjects',
    'object_mapping', 'target_attribute', 'source', 'flow', 'matching_priority', 'default_value', 'any_of', 'all_of',
    'attribute', 'operator', 'operands',
))


def invocation_log_args(params, spec, mask, secret_containers):
    """Return ``{option: text}`` for ansible-core's ``Invoked with`` line and its journal fields.

    ``mask(text)`` masks the run's registered secrets in every form. Masked whole: an option the spec does not know
    (it may be a misspelt secret option) and a ``no_log`` one. Under an option named in ``secret_containers``
    only the ``key`` of a pair stays. Under an option whose structure the spec does not describe (``type='raw'``,
    ``elements='raw'``) only the values of PLAIN_ITEM_KEYS stay. Everything else keeps its shape, each string passed
    through ``mask``. Booleans and null stay: they carry no secret.
    """
    known = {}
    for name, definition in (spec or {}).items():
        known[name] = definition
        for alias in definition.get('aliases') or ():
            known[alias] = definition
    logged = {}
    for name, value in (params or {}).items():
        if str(name).startswith('_ansible_'):
            continue
        shown = _logged_value(name, value, known.get(name), mask, secret_containers)
        logged[name] = shown if isinstance(shown, str) else str(shown)
    return logged


def _logged_value(name, value, definition, mask, secret_containers):
    if definition is None or definition.get('no_log'):
        return _hidden(value)
    if name in secret_containers:
        return _credentials_shape(value)
    suboptions = definition.get('options')
    if suboptions:
        if isinstance(value, dict):
            return dict((key, _logged_value(key, child, _definition(suboptions, key), mask, secret_containers))
                        for key, child in value.items())
        if isinstance(value, list):
            return [_logged_value(name, item, definition, mask, secret_containers) if isinstance(item, dict)
                    else _hidden(item) for item in value]
        return _hidden(value)
    if definition.get('type') == 'raw' or definition.get('elements') == 'raw':
        return _raw_shape(value, mask, secret_containers)
    return _masked_leaves(value, mask)


def _definition(suboptions, key):
    for name, definition in suboptions.items():
        if key == name or key in (definition.get('aliases') or ()):
            return definition
    return None


def _hidden(value):
    """MASK for anything but a boolean or null; the shape of a container stays, so the line still reads."""
    if isinstance(value, dict):
        return dict((key, _hidden(child)) for key, child in value.items())
    if isinstance(value, (list, tuple)):
        return [_hidden(child) for child in value]
    if value is None or isinstance(value, bool):
        return value
    return MASK


def _credentials_shape(value):
    """Only the ``key`` of a ``{key, value}`` pair (a synchronizationSecret name) stays."""
    if isinstance(value, dict):
        return dict((key, child if key == 'key' and isinstance(child, str) else _credentials_shape(child))
                    for key, child in value.items())
    if isinstance(value, (list, tuple)):
        return [_credentials_shape(child) for child in value]
    return _hidden(value)


def _raw_shape(value, mask, secret_containers):
    if isinstance(value, dict):
        shown = {}
        for key, child in value.items():
            if key in secret_containers:
                shown[key] = _credentials_shape(child)
            elif key in PLAIN_ITEM_KEYS and not isinstance(child, dict):
                shown[key] = _masked_leaves(child, mask)
            else:
                shown[key] = _hidden(child)
        return shown
    if isinstance(value, (list, tuple)):
        return [_raw_shape(child, mask, secret_containers) for child in value]
    return _hidden(value)


def _masked_leaves(value, mask):
    if isinstance(value, dict):
        return dict((key, _masked_leaves(child, mask)) for key, child in value.items())
    if isinstance(value, (list, tuple)):
        return [_masked_leaves(child, mask) for child in value]
    if value is None or isinstance(value, bool):
        return value
    text = value if isinstance(value, str) else str(value)
    masked = mask(text)
    if masked != text or isinstance(value, str):
        return masked
    return value
