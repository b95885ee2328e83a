# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""The one table of national clouds: Graph root (also the token audience) and sign-in authority host."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import namedtuple

from ansible_collections.entra.provisioning.plugins.module_utils._errors import InvalidInputError

Cloud = namedtuple('Cloud', ['name', 'display_name', 'graph_root', 'authority_host'])

CLOUDS = {
    'global': Cloud('global', 'Global', 'https://graph.microsoft.com', 'https://login.microsoftonline.com'),
    'usgov': Cloud('usgov', 'US Gov L4 (GCC High)', 'https://graph.microsoft.us', 'https://login.microsoftonline.us'),
    'usgov_dod': Cloud('usgov_dod', 'US Gov L5 (DoD)', 'https://dod-graph.microsoft.us',
                       'https://login.microsoftonline.us'),
    'china': Cloud('china', 'China (21Vianet)', 'https://microsoftgraph.chinacloudapi.cn',
                   'https://login.chinacloudapi.cn'),
}

DEFAULT_CLOUD = 'global'

# Names users already have from the Azure CLI and SDKs, AWX's AZURE_CLOUD_ENVIRONMENT and Graph PowerShell
# (whose Global, USGov and China match a canonical name once case is ignored).
CLOUD_ALIASES = {
    'azurecloud': 'global',
    'azurepubliccloud': 'global',
    'public': 'global',
    'azureusgovernment': 'usgov',
    'usgovernment': 'usgov',
    'usgovernmentl4': 'usgov',
    'gcchigh': 'usgov',
    'dod': 'usgov_dod',
    'usgovernmentl5': 'usgov_dod',
    'usgovdod': 'usgov_dod',
    'azurechinacloud': 'china',
}

# Spelled as users write them, for documentation and error messages.
DOCUMENTED_ALIASES = {
    'global': ['AzureCloud', 'AzurePublicCloud', 'public'],
    'usgov': ['AzureUSGovernment', 'usgovernment', 'usgovernmentl4', 'gcchigh'],
    'usgov_dod': ['dod', 'usgovernmentl5', 'USGovDoD'],
    'china': ['AzureChinaCloud'],
}

# Graph's own application id: tokens from the v1 endpoint may carry it as audience in every cloud alike.
GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000'


def resolve_cloud(name, what='cloud'):
    """Return the ``Cloud`` for a canonical name or alias, compared case-insensitively; ``None`` means global.

    Raises InvalidInputError naming ``what`` (the option, or where its value came from) and the accepted values.
    """
    if name is None or str(name).strip() == '':
        return CLOUDS[DEFAULT_CLOUD]
    key = str(name).strip().lower()
    key = CLOUD_ALIASES.get(key, key)
    if key in CLOUDS:
        return CLOUDS[key]
    accepted = []
    for canonical in CLOUDS:
        accepted.append(canonical)
        accepted.extend(DOCUMENTED_ALIASES[canonical])
    raise InvalidInputError('%s %r is not a known cloud: use one of %s (case does not matter).'
                            % (what, name, ', '.join(accepted)))


def graph_scope(cloud):
    """Return the client-credentials scope for ``cloud``: always its own Graph root, whatever endpoint is used."""
    return cloud.graph_root + '/.default'


def _normalize_origin(url):
    return str(url).strip().rstrip('/').lower()


def cloud_for_graph_audience(audience):
    """Return the ``Cloud`` whose Graph root is ``audience`` (a token's ``aud``), or ``None`` when none is."""
    if not audience:
        return None
    wanted = _normalize_origin(audience)
    for cloud in CLOUDS.values():
        if _normalize_origin(cloud.graph_root) == wanted:
            return cloud
    return None


def clouds_for_authority_host(authority_host):
    """Return the clouds whose sign-in host is ``authority_host`` (two US Gov clouds share one), maybe empty."""
    wanted = _normalize_origin(authority_host)
    return [cloud for cloud in CLOUDS.values() if _normalize_origin(cloud.authority_host) == wanted]
