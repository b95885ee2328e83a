# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""The synchronizationSecret key names and the checks a credentials list passes before anything is sent."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import difflib
import math

from ansible_collections.entra.provisioning.plugins.module_utils._errors import InvalidInputError
from ansible_collections.entra.provisioning.plugins.module_utils._items import register_leaves, yaml_kind

# Microsoft Graph's synchronizationSecret enum, in its canonical spelling and order (unknownFutureValue excluded:
# it is a marker for future members, never a key a connector reads).
SYNCHRONIZATION_SECRET_KEYS = (
    'None', 'UserName', 'Password', 'SecretToken', 'AppKey', 'BaseAddress', 'ClientIdentifier', 'ClientSecret',
    'SingleSignOnType', 'Sandbox', 'Url', 'Domain', 'ConsumerKey', 'ConsumerSecret', 'TokenKey', 'TokenExpiration',
    'Oauth2AccessToken', 'Oauth2AccessTokenCreationTime', 'Oauth2RefreshToken', 'SyncAll', 'InstanceName',
    'Oauth2ClientId', 'Oauth2ClientSecret', 'CompanyId', 'UpdateKeyOnSoftDelete', 'SynchronizationSchedule',
    'SystemOfRecord', 'SandboxName', 'EnforceDomain', 'SyncNotificationSettings', 'SkipOutOfScopeDeletions',
    'Oauth2AuthorizationCode', 'Oauth2RedirectUri', 'ApplicationTemplateIdentifier', 'Oauth2TokenExchangeUri',
    'Oauth2AuthorizationUri', 'AuthenticationType', 'Server', 'PerformInboundEntitlementGrants',
    'HardDeletesEnabled', 'SyncAgentCompatibilityKey', 'SyncAgentADContainer', 'ValidateDomain', 'TestReferences',
    'ConnectionString',
)

_CANONICAL_BY_LOWER = dict((key.lower(), key) for key in SYNCHRONIZATION_SECRET_KEYS)


def canonical_key(key, where):
    """Return the canonical spelling of a synchronizationSecret name, matched case-insensitively.

    ``where`` names the option for the error, e.g. ``credentials[2].key``. An unknown name fails with the closest
    valid names, so a typo such as ``Oauth2AuthCode`` is caught before any request is sent.
    """
    if not isinstance(key, str) or not key.strip():
        raise InvalidInputError('%s must be a synchronizationSecret name such as SecretToken, got %r.' % (where, key))
    canonical = _CANONICAL_BY_LOWER.get(key.strip().lower())
    if canonical:
        return canonical
    close = difflib.get_close_matches(key.strip().lower(), list(_CANONICAL_BY_LOWER), n=3, cutoff=0.6)
    if close:
        hint = 'Did you mean %s?' % ' or '.join(_CANONICAL_BY_LOWER[name] for name in close)
    else:
        hint = 'Valid names: %s.' % ', '.join(SYNCHRONIZATION_SECRET_KEYS)
    raise InvalidInputError('%s: %r is not a synchronizationSecret name. %s' % (where, key, hint))


def register_credential_secrets(credentials):
    """Register every value ``credentials`` may hold, in any shape (right or wrong), before any check can fail.

    The ``key`` of a ``{key, value}`` pair is a synchronizationSecret name, not a secret, and stays readable.
    """
    register_leaves(credentials, except_fields=('key',))


def normalize_credentials(credentials, where='credentials'):
    """Return ``credentials`` as a list of ``{'key': canonical, 'value': str}``; raise InvalidInputError when bad.

    Takes a list of ``{key, value}`` or, as a convenience, a mapping of key to value (as the role's
    ``authorize_credentials``). An empty list, an item without a key or value, a value that is a list or a mapping,
    and the same key twice (in any case) are refused. Error texts name keys and positions, never values.
    """
    register_credential_secrets(credentials)
    normalized = []
    first_where = {}
    for item_where, key_where, is_pair, raw_key, value in _pairs(credentials, where):
        key = canonical_key(raw_key, key_where)
        value_where = '%s.value (for %s)' % (item_where, key) if is_pair else item_where
        if key in first_where:
            raise InvalidInputError('%s: %s is given twice (also at %s); give each key once.'
                                    % (item_where, key, first_where[key]))
        first_where[key] = item_where
        normalized.append({'key': key, 'value': credential_text(value, value_where)})
    return normalized


def credential_text(value, name):
    """Return a credential value as the text Graph takes (synchronizationSecretKeyStringValuePair.value is a String).

    Booleans become ``true``/``false`` (as Graph's own examples write ``SyncAll``), whole numbers their decimal
    digits, other finite numbers their shortest decimal form. Null, empty text, NaN, infinities, lists and mappings
    are refused: Graph would get a Python rendering of them. ``name`` says where the value was written.
    """
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return repr(value)
        raise InvalidInputError('%s is not a finite number; give the value as text.' % name)
    if isinstance(value, str):
        if value == '':
            raise InvalidInputError('%s is empty; give the value the application expects.' % name)
        return value
    if value is None:
        raise InvalidInputError('%s is empty (null); give the value the application expects, or leave the key out.'
                                % name)
    advice = ('Graph takes each value as text: give it as a string'
              + (", e.g. '{\"Enabled\":false,\"DeleteThresholdEnabled\":false}' or \"{{ settings | to_json }}\""
                 if 'SyncNotificationSettings' in name else ', one value per key') + '.')
    raise InvalidInputError('%s is %s, which Graph cannot take; nothing was sent. %s'
                            % (name, yaml_kind(value), advice))


def _pairs(credentials, where):
    """Yield ``(item where, key where, is a {key, value} pair, key, value)`` for a list of {key, value} or a
    mapping of key to value; each "where" names the place as the user wrote it, e.g. ``credentials[1].key``."""
    if isinstance(credentials, dict):
        if not credentials:
            raise InvalidInputError(_EMPTY % where)
        for key, value in credentials.items():
            item_where = '%s.%s' % (where, key)
            yield item_where, item_where, False, key, value
        return
    if not isinstance(credentials, (list, tuple)):
        raise InvalidInputError('%s is %s; give a list of {key, value} (or a mapping of key to value), for example %s.'
                                % (where, yaml_kind(credentials), _EXAMPLE))
    if not credentials:
        raise InvalidInputError(_EMPTY % where)
    for position, item in enumerate(credentials):
        item_where = '%s[%d]' % (where, position)
        if not isinstance(item, dict):
            raise InvalidInputError('%s is %s; each item is a mapping with key and value, for example %s.'
                                    % (item_where, yaml_kind(item), _EXAMPLE))
        unknown = sorted(str(field) for field in item if field not in ('key', 'value'))
        if unknown:
            raise InvalidInputError('%s has %s besides key and value; each item is one {key, value} pair, for '
                                    'example %s.' % (item_where, ', '.join(repr(field) for field in unknown), _EXAMPLE))
        yield item_where, item_where + '.key', True, item.get('key'), item.get('value')


_EXAMPLE = '[{key: Oauth2AuthorizationCode, value: ...}]'
_EMPTY = '%s must list at least one {key, value} pair, for example ' + _EXAMPLE + '.'
