# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""Identifiers that go into Graph URLs: GUID checks, OData literal escaping and path quoting.

Every value a user gives that ends up in a URL passes through here, so no input can change which endpoint
a request reaches.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re
from urllib.parse import quote

from ansible_collections.entra.provisioning.plugins.module_utils._errors import InvalidInputError

_GUID_RE = re.compile(r'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')
# A verified domain such as contoso.onmicrosoft.com: DNS labels only, so nothing but a host-like name can pass.
_NAME_RE = re.compile(r'^[A-Za-z][A-Za-z0-9]*$')
_TENANT_DOMAIN_RE = re.compile(r'^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$')


def is_guid(value):
    """Return True when ``value`` is a GUID in its 8-4-4-4-12 hexadecimal form."""
    return isinstance(value, str) and bool(_GUID_RE.fullmatch(value))


def validate_guid(value, what):
    """Return ``value`` as a lower-case GUID, or raise InvalidInputError naming ``what`` (e.g. "object_id")."""
    if not is_guid(value):
        raise InvalidInputError(
            '%s must be a GUID like 00000000-0000-0000-0000-000000000000, got %r.' % (what, _shorten(value)))
    return value.lower()


def validate_tenant(value, what='tenant_id'):
    """Return a tenant id (GUID) or verified domain name usable in an authority URL, else raise InvalidInputError."""
    if is_guid(value):
        return value.lower()
    if isinstance(value, str) and _TENANT_DOMAIN_RE.fullmatch(value):
        return value.lower()
    raise InvalidInputError(
        '%s must be the directory (tenant) GUID or a verified domain such as contoso.onmicrosoft.com, got %r.'
        % (what, _shorten(value)))


def odata_literal(value):
    """Return ``value`` as an OData string literal: wrapped in single quotes, inner single quotes doubled."""
    if not isinstance(value, str):
        raise InvalidInputError('An OData string literal needs text, got %s.' % type(value).__name__)
    return "'" + value.replace("'", "''") + "'"


def odata_eq_filter(property_name, value):
    """Return a ``$filter`` expression ``<property> eq '<value>'`` with the value escaped."""
    if not re.fullmatch(r'[A-Za-z][A-Za-z0-9_/]*', property_name or ''):
        raise InvalidInputError('Not a property name for an OData filter: %r.' % (property_name,))
    return '%s eq %s' % (property_name, odata_literal(value))


def path_segment(value):
    """Return ``value`` percent-encoded as one URL path segment (a ``/``, ``?`` or ``#`` cannot escape it)."""
    if value is None or str(value) == '':
        raise InvalidInputError('An empty value cannot name an object in a URL.')
    return quote(str(value), safe='')


def alternate_key_segment(collection, key_name, value):
    """Return ``<collection>(<key_name>='<value>')``, e.g. ``servicePrincipals(appId='...')``, fully escaped.

    The OData literal is escaped first, then the whole key is percent-encoded as part of one segment.
    """
    for name in (collection, key_name):
        if not _NAME_RE.fullmatch(name or ''):
            raise InvalidInputError('Not a collection or key name: %r.' % (name,))
    return '%s(%s=%s)' % (collection, key_name, quote(odata_literal(value), safe="'"))


def _shorten(value, limit=80):
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[:limit] + '...'
