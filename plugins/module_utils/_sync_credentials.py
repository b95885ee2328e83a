# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""The synchronizationSecret key names and the checks a credentials list passes before anything is sent."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import difflib

from ansible_collections.entra.provisioning.plugins.module_utils._errors import InvalidInputError

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


def normalize_credentials(credentials, where='credentials'):
    """Return ``credentials`` as a list of ``{'key': canonical, 'value': str}``; raise InvalidInputError when bad.

    An empty list, an item without a key or value, and the same key twice (in any case) are refused. Error texts
    name keys and positions, never values.
    """
    if not credentials:
        raise InvalidInputError('%s must list at least one {key, value} pair, for example '
                                '[{key: Oauth2AuthorizationCode, value: ...}].' % where)
    normalized = []
    first_position = {}
    for position, item in enumerate(credentials):
        item_where = '%s[%d]' % (where, position)
        if not isinstance(item, dict):
            raise InvalidInputError('%s must be a dict with key and value.' % item_where)
        key = canonical_key(item.get('key'), item_where + '.key')
        value = item.get('value')
        if value is None or (isinstance(value, str) and value == ''):
            raise InvalidInputError('%s.value (for %s) is empty; give the value the application expects.'
                                    % (item_where, key))
        if key in first_position:
            raise InvalidInputError('%s.key %s repeats %s[%d].key; give each key once.'
                                    % (item_where, key, where, first_position[key]))
        first_position[key] = position
        normalized.append({'key': key, 'value': value if isinstance(value, str) else str(value)})
    return normalized
