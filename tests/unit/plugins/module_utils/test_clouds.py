# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.entra.provisioning.plugins.module_utils._graph.clouds import (
    CLOUDS,
    DOCUMENTED_ALIASES,
    cloud_for_graph_audience,
    clouds_for_authority_host,
    graph_scope,
    resolve_cloud,
)
from ansible_collections.entra.provisioning.plugins.module_utils._errors import InvalidInputError


@pytest.mark.parametrize('name, graph_root, authority_host', [
    ('global', 'https://graph.microsoft.com', 'https://login.microsoftonline.com'),
    ('usgov', 'https://graph.microsoft.us', 'https://login.microsoftonline.us'),
    ('usgov_dod', 'https://dod-graph.microsoft.us', 'https://login.microsoftonline.us'),
    ('china', 'https://microsoftgraph.chinacloudapi.cn', 'https://login.chinacloudapi.cn'),
])
def test_each_cloud_has_its_graph_root_and_sign_in_host(name, graph_root, authority_host):
    cloud = resolve_cloud(name)
    assert (cloud.name, cloud.graph_root, cloud.authority_host) == (name, graph_root, authority_host)


@pytest.mark.parametrize('alias, canonical', [
    ('AzureCloud', 'global'), ('AzurePublicCloud', 'global'), ('public', 'global'),
    ('AzureUSGovernment', 'usgov'), ('usgovernment', 'usgov'), ('usgovernmentl4', 'usgov'), ('gcchigh', 'usgov'),
    ('dod', 'usgov_dod'), ('usgovernmentl5', 'usgov_dod'), ('USGovDoD', 'usgov_dod'),
    ('AzureChinaCloud', 'china'),
])
def test_alias_names_its_cloud(alias, canonical):
    assert resolve_cloud(alias).name == canonical


@pytest.mark.parametrize('spelling', ['AZURECLOUD', 'azureusgovernment', 'Global', ' usgov_dod ', 'CHINA'])
def test_names_are_compared_case_insensitively(spelling):
    assert resolve_cloud(spelling).name in CLOUDS


def test_every_documented_alias_resolves_to_its_cloud():
    for canonical, aliases in DOCUMENTED_ALIASES.items():
        for alias in aliases:
            assert resolve_cloud(alias).name == canonical


def test_no_cloud_means_global():
    assert resolve_cloud(None).name == 'global'
    assert resolve_cloud('').name == 'global'


def test_unknown_cloud_is_refused_listing_accepted_names():
    with pytest.raises(InvalidInputError) as caught:
        resolve_cloud('AzureGermanCloud')
    assert caught.value.message.startswith("cloud 'AzureGermanCloud' is not a known cloud: use one of global, ")
    assert 'usgov_dod' in caught.value.message and 'AzureChinaCloud' in caught.value.message


def test_scope_is_the_graph_root_with_default():
    assert graph_scope(resolve_cloud('usgov_dod')) == 'https://dod-graph.microsoft.us/.default'


def test_audience_with_trailing_slash_names_its_cloud():
    assert cloud_for_graph_audience('https://graph.microsoft.us/').name == 'usgov'


def test_foreign_audience_names_no_cloud():
    assert cloud_for_graph_audience('https://management.azure.com') is None


def test_us_gov_sign_in_host_belongs_to_both_us_gov_clouds():
    owners = clouds_for_authority_host('https://login.microsoftonline.us/')
    assert sorted(cloud.name for cloud in owners) == ['usgov', 'usgov_dod']
