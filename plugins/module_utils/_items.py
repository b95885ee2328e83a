# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""Validate a bulk option (a list of mappings, one per application) item by item, in the user's own words.

ansible-core's argument spec rejects a whole ``type=list, elements=dict`` option when one item is malformed, so one
typo would stop every application. A bulk module declares such an option ``type='list', elements='raw'`` (or
``type='raw'``) and passes it here instead:

    for checked in check_items(params['applications'], 'applications', ITEM_SPEC, label_fallbacks=(...)):
        if checked.error: report checked.label as failed with checked.error, send nothing for it
        else: use checked.values (every spec key present; None when unset)

An item spec is a small argument spec: ``{key: {'type': 'str'|'bool'|'int'|'list'|'raw', 'required': bool,
'choices': [...], 'no_log': bool, 'no_log_except': (field, ...), 'example': 'text'}}``. ``no_log`` marks a key whose
every leaf string (and number) is a secret; ``no_log_except`` names fields of mappings under it that are not (the
``key`` of ``{key, value}`` pairs). Keys the spec does not know are treated as secret too: a misspelt ``valeu`` may
hold one.

Messages start with the item's position as the user can find it (``applications[3]``, ``applications[3].force``),
say what is wrong and how to fix it, and never show a value under a secret key. ``CheckedItem.label`` names the item
(its ``name``, else a fallback such as its display name): report it beside the message, e.g. as the result's ``name``
and in "Application 'expenses' failed at validating its options: applications[3]: ...", so the user gets both.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import difflib

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.entra.provisioning.plugins.module_utils._errors import InvalidInputError
from ansible_collections.entra.provisioning.plugins.module_utils._redact import register_secret

# How a wrong type is described to someone who wrote YAML, not Python.
_YAML_KINDS = ((bool, 'a boolean'), (int, 'a number'), (float, 'a number'), (str, 'a string'),
               (list, 'a list'), (tuple, 'a list'), (dict, 'a mapping'))
_TYPE_WORDS = {'str': 'a string', 'bool': 'a boolean (true or false)', 'int': 'a whole number', 'list': 'a list',
               'raw': 'a value'}
_SHOWN_LENGTH = 60


def yaml_kind(value):
    """Name the kind of ``value`` as YAML calls it: 'a string', 'a mapping', 'a list', 'null', ..."""
    if value is None:
        return 'null'
    for python_type, word in _YAML_KINDS:
        if isinstance(value, python_type):
            return word
    return 'a %s' % type(value).__name__


def listing_kind(body):
    """What a Graph answer that should be a collection (an object with a ``value`` list) is instead, in words."""
    if isinstance(body, dict):
        values = body.get('value')
        if values is None:
            return 'an object without a "value" list'
        return 'an object whose "value" is %s' % (
            'a list holding something else than objects' if isinstance(values, list) else yaml_kind(values))
    if isinstance(body, str):
        return 'text (not JSON)'
    return yaml_kind(body)


def register_leaves(value, except_fields=()):
    """Register every string and number under ``value`` as a secret, except mapping fields named in
    ``except_fields`` (their values are names, such as the ``key`` of a ``{key, value}`` pair). Booleans and null
    carry no secret and are skipped, so ``true`` does not become a mask everywhere."""
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, dict):
        for field, inner in value.items():
            if not (isinstance(field, str) and field.lower() in except_fields and isinstance(inner, str)):
                register_leaves(inner, except_fields)
        return
    if isinstance(value, (list, tuple)):
        for inner in value:
            register_leaves(inner, except_fields)
        return
    register_secret(value)


def register_item_secrets(items, spec):
    """Register the secrets a raw bulk option may hold, whatever its shape, before any check can fail.

    For each mapping item: the leaves under ``no_log`` keys and under keys the spec does not know. A non-list or a
    non-mapping item is left alone (it is refused without being shown).
    """
    if not isinstance(items, (list, tuple)):
        return
    for item in items:
        if not isinstance(item, dict):
            continue
        for key, value in item.items():
            definition = spec.get(key) if isinstance(key, str) else None
            if definition is None:
                register_leaves(value)
            elif definition.get('no_log'):
                register_leaves(value, tuple(field.lower() for field in definition.get('no_log_except', ())))


class CheckedItem(object):
    """One item after its checks: ``values`` (each spec key, None when unset) or ``error`` (InvalidInputError).

    ``label`` names the item in results: its label key, else the first fallback key it has, else ``where``.
    ``where`` is its position as the user can find it, e.g. ``applications[3]``.
    """

    def __init__(self, index, where, label, values=None, error=None):
        self.index = index
        self.where = where
        self.label = label
        self.values = values
        self.error = error


def check_items(items, option, spec, label_key='name', label_fallbacks=()):
    """Check each item of the bulk option ``option`` against ``spec``; return one CheckedItem per item, in order.

    A bad item never stops the others: its CheckedItem carries the error. ``items`` itself must be a list (raises
    InvalidInputError otherwise, since nothing can be done). The same ``label_key`` value twice is refused on the
    later items, so every result can be told apart. The secrets the items may hold (see register_item_secrets)
    are registered first, so no message or result built from them shows one; a module calls this after
    AnsibleModule has started (EntraModule registers the same shapes before the argument spec is checked), so
    ansible-core 2.22+ hands every one to the controller for masking.
    """
    register_item_secrets(items, spec)
    if not isinstance(items, (list, tuple)):
        raise InvalidInputError('%s must be a list with one mapping per application, got %s; start each item with '
                                '"- ".' % (option, yaml_kind(items)))
    checked = []
    first_by_label = {}
    for index, item in enumerate(items):
        where = '%s[%d]' % (option, index)
        label = _label(item, label_key, label_fallbacks) or where
        # Counted for every item that has one, valid or not: two results of one name cannot be told apart either way.
        own_label = _convert(item.get(label_key), 'str') if isinstance(item, dict) else None
        try:
            if isinstance(own_label, str) and own_label in first_by_label:
                raise InvalidInputError(
                    "%s: %s %r is already the %s of %s; give each item its own %s so results can be told apart."
                    % (where, label_key, own_label, label_key, first_by_label[own_label], label_key))
            if isinstance(own_label, str):
                first_by_label[own_label] = where
            values = _check_item(item, where, spec)
        except InvalidInputError as error:
            checked.append(CheckedItem(index, where, label, error=error))
            continue
        checked.append(CheckedItem(index, where, label, values=values))
    return checked


def _label(item, label_key, label_fallbacks):
    if not isinstance(item, dict):
        return None
    for key in (label_key,) + tuple(label_fallbacks):
        value = item.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _check_item(item, where, spec):
    if not isinstance(item, dict):
        if item is None:
            raise InvalidInputError('%s is empty (null): remove the stray "-" or give the options of the application.'
                                    % where)
        raise InvalidInputError('%s is %s, not a mapping of options: write each item as "- name: ..." followed by its '
                                'options (%s).' % (where, yaml_kind(item), ', '.join(spec)))
    unknown = [key for key in item if key not in spec]
    if unknown:
        raise InvalidInputError('%s: %s' % (where, '; '.join(_unknown_key_problem(key, spec) for key in unknown)))
    values = {}
    for key, definition in spec.items():
        values[key] = _check_value(item.get(key), where, key, definition)
    return values


def _unknown_key_problem(key, spec):
    if not isinstance(key, str):
        return '%s is not an option name (options are words such as %s)' % (yaml_kind(key), ', '.join(spec))
    folded = dict((name.replace('_', '').lower(), name) for name in spec)
    close = folded.get(key.replace('_', '').replace('-', '').lower())
    if close is None:
        matches = difflib.get_close_matches(key.lower(), list(spec), n=1, cutoff=0.6)
        close = matches[0] if matches else None
    if close is not None:
        return '%r is not an option. Did you mean %s?' % (key, close)
    return '%r is not an option. Valid options: %s.' % (key, ', '.join(spec))


def _check_value(value, item_where, key, definition):
    expected = definition.get('type', 'raw')
    example = definition.get('example')
    fix = ' For example: %s' % example if example else ''
    if value is None:
        if definition.get('required'):
            raise InvalidInputError('%s: %s is required.%s' % (item_where, key, fix))
        return None
    where = '%s.%s' % (item_where, key)
    converted = _convert(value, expected)
    if converted is _INVALID:
        got = yaml_kind(value)
        if not definition.get('no_log') and isinstance(value, (str, int, float)) and not isinstance(value, bool):
            got += ' (%s)' % _shorten(value)
        raise InvalidInputError('%s must be %s, got %s.%s' % (where, _TYPE_WORDS[expected], got, fix))
    choices = definition.get('choices')
    if choices and converted not in choices:
        allowed = ', '.join(str(choice) for choice in choices)
        raise InvalidInputError('%s must be one of %s, got %s.' % (where, allowed, _shorten(converted)))
    return converted


_INVALID = object()


def _convert(value, expected):
    if expected == 'raw':
        return value
    if expected == 'str':
        if isinstance(value, str):
            return value
        # A YAML number where text is expected (a label such as 2024) is what the user meant; a boolean is not.
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        return _INVALID
    if expected == 'bool':
        if isinstance(value, (dict, list, tuple)):
            return _INVALID
        try:
            return boolean(value, strict=True)
        except TypeError:
            return _INVALID
    if expected == 'int':
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lstrip('-').isdigit():
            return int(value.strip())
        return _INVALID
    if expected == 'list':
        return list(value) if isinstance(value, (list, tuple)) else _INVALID
    raise ValueError('Unknown item type %r in an item spec.' % expected)


def _shorten(value):
    text = value if isinstance(value, str) else repr(value)
    text = repr(text) if isinstance(value, str) else text
    return text if len(text) <= _SHOWN_LENGTH else text[:_SHOWN_LENGTH] + "...'"
