# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.entra.provisioning.plugins.module_utils._errors import InvalidInputError
from ansible_collections.entra.provisioning.tests.unit.plugins.module_utils.helpers import make_settings


def test_defaults_are_the_global_cloud_v1_and_certificate_checks_on():
    settings = make_settings()
    assert settings.cloud.name == 'global'
    assert settings.graph_base_url == 'https://graph.microsoft.com'
    assert settings.authority_host == 'https://login.microsoftonline.com'
    assert settings.api_version == 'v1.0'
    assert settings.verify is True
    assert settings.instance_discovery is None


def test_cloud_comes_from_awx_variable_when_not_given():
    settings = make_settings({}, {'AZURE_CLOUD_ENVIRONMENT': 'AzureUSGovernment'})
    assert settings.cloud.name == 'usgov'
    assert settings.graph_base_url == 'https://graph.microsoft.us'


def test_unknown_cloud_from_awx_variable_names_the_variable():
    with pytest.raises(InvalidInputError) as caught:
        make_settings({}, {'AZURE_CLOUD_ENVIRONMENT': 'AzureGermanCloud'})
    assert caught.value.message.startswith("cloud (from AZURE_CLOUD_ENVIRONMENT) 'AzureGermanCloud' is not a known")


def test_cloud_option_wins_over_awx_variable():
    settings = make_settings({'cloud': 'china'}, {'AZURE_CLOUD_ENVIRONMENT': 'AzureUSGovernment'})
    assert settings.cloud.name == 'china'


def test_graph_endpoint_changes_where_requests_go_but_not_the_cloud():
    settings = make_settings({'cloud': 'usgov_dod', 'graph_endpoint': 'https://127.0.0.1:8443/dod/'})
    assert settings.graph_base_url == 'https://127.0.0.1:8443/dod'
    assert settings.cloud.graph_root == 'https://dod-graph.microsoft.us'


def test_custom_authority_host_turns_instance_discovery_off():
    settings = make_settings({'authority_host': 'https://127.0.0.1:8444'})
    assert settings.authority_host == 'https://127.0.0.1:8444'
    assert settings.instance_discovery is False


def test_cloud_own_authority_host_keeps_instance_discovery_default():
    settings = make_settings({'cloud': 'usgov'}, {'AZURE_AUTHORITY_HOST': 'login.microsoftonline.us/'})
    assert settings.authority_host == 'https://login.microsoftonline.us'
    assert settings.instance_discovery is None


def test_other_clouds_sign_in_host_is_refused():
    with pytest.raises(InvalidInputError) as caught:
        make_settings({'cloud': 'usgov'}, {'AZURE_AUTHORITY_HOST': 'https://login.microsoftonline.com/'})
    assert 'authority_host (from AZURE_AUTHORITY_HOST)' in caught.value.message
    assert 'global' in caught.value.message


def test_plain_http_graph_endpoint_is_refused_off_loopback():
    with pytest.raises(InvalidInputError):
        make_settings({'graph_endpoint': 'http://graph.example.com'})


def test_plain_http_graph_endpoint_is_accepted_on_loopback():
    assert make_settings({'graph_endpoint': 'http://127.0.0.1:8080'}).graph_base_url == 'http://127.0.0.1:8080'


def test_authority_host_must_be_https_even_on_loopback():
    with pytest.raises(InvalidInputError):
        make_settings({'authority_host': 'http://127.0.0.1:8444'})


def test_authority_host_with_a_tenant_path_is_refused():
    with pytest.raises(InvalidInputError):
        make_settings({'authority_host': 'https://login.microsoftonline.com/contoso.com'})


def test_graph_endpoint_with_credentials_or_query_is_refused():
    with pytest.raises(InvalidInputError):
        make_settings({'graph_endpoint': 'https://user:pw@graph.example.com'})
    with pytest.raises(InvalidInputError):
        make_settings({'graph_endpoint': 'https://graph.example.com/?x=1'})


def test_beta_api_version_is_accepted():
    assert make_settings({'api_version': 'beta'}).api_version == 'beta'


def test_timeout_caps_connect_at_ten_seconds():
    assert make_settings({'timeout': 45}).timeout == (10, 45)
    assert make_settings({'timeout': 3}).timeout == (3, 3)


@pytest.mark.parametrize('options', [{'timeout': 0}, {'max_retries': -1}, {'api_version': 'v2'}])
def test_out_of_range_values_are_refused(options):
    with pytest.raises(InvalidInputError):
        make_settings(options)


def test_validate_certs_false_wins_over_ca_path():
    assert make_settings({'validate_certs': False, 'ca_path': '/nonexistent/ca.pem'}).verify is False


def test_ca_path_becomes_the_verify_value(tmp_path):
    bundle = tmp_path / 'ca.pem'
    bundle.write_text('-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n')
    assert make_settings({'ca_path': str(bundle)}).verify == str(bundle)


def test_missing_ca_path_is_refused_before_any_request():
    with pytest.raises(InvalidInputError) as caught:
        make_settings({'ca_path': '/nonexistent/ca.pem'})
    assert '/nonexistent/ca.pem' in caught.value.message


# -- foreign endpoints (finding 5) --------------------------------------------------------------------------------

@pytest.mark.parametrize('cloud, endpoint, owner', [
    ('usgov_dod', 'https://graph.microsoft.com', 'global'),
    ('usgov_dod', 'https://GRAPH.microsoft.com/v1.0/', 'global'),
    ('global', 'https://graph.microsoft.us', 'usgov'),
    ('usgov', 'https://dod-graph.microsoft.us', 'usgov_dod'),
    ('global', 'https://microsoftgraph.chinacloudapi.cn', 'china'),
])
def test_another_clouds_graph_is_refused_as_graph_endpoint(cloud, endpoint, owner):
    with pytest.raises(InvalidInputError) as caught:
        make_settings({'cloud': cloud, 'graph_endpoint': endpoint})
    message = caught.value.message
    assert 'is the Graph of the %s cloud, but cloud is %s' % (owner, cloud) in message
    assert 'Set cloud to %s, or remove graph_endpoint' % owner in message


def test_the_clouds_own_graph_given_as_graph_endpoint_gives_no_warning():
    assert make_settings({'cloud': 'usgov', 'graph_endpoint': 'https://graph.microsoft.us/'}).warnings == ()


def test_a_graph_endpoint_that_is_not_the_clouds_own_is_warned_about():
    settings = make_settings({'graph_endpoint': 'https://127.0.0.1:8443'})
    assert len(settings.warnings) == 1
    assert 'graph_endpoint https://127.0.0.1:8443 is not the Graph of the global cloud' in settings.warnings[0]


def test_an_explicit_non_microsoft_authority_host_is_used_with_a_warning():
    settings = make_settings({'authority_host': 'https://login.example.test'})
    assert settings.authority_host == 'https://login.example.test'
    assert any('authority_host https://login.example.test is not the sign-in host of the global cloud' in warning
               for warning in settings.warnings)


def test_a_non_microsoft_authority_host_from_the_environment_alone_is_refused():
    with pytest.raises(InvalidInputError) as caught:
        make_settings({}, {'AZURE_AUTHORITY_HOST': 'https://login.example.test'})
    message = caught.value.message
    assert 'authority_host (from AZURE_AUTHORITY_HOST) is https://login.example.test' in message
    assert 'not a Microsoft sign-in host' in message and 'give authority_host as an option' in message


def test_a_loopback_authority_host_from_the_environment_is_used_with_a_warning():
    settings = make_settings({}, {'AZURE_AUTHORITY_HOST': 'https://127.0.0.1:9443'})
    assert settings.authority_host == 'https://127.0.0.1:9443'
    assert any('(from AZURE_AUTHORITY_HOST) https://127.0.0.1:9443 is not the sign-in host' in warning
               for warning in settings.warnings)


def test_the_clouds_own_authority_from_the_environment_gives_no_warning():
    assert make_settings({}, {'AZURE_AUTHORITY_HOST': 'login.microsoftonline.com'}).warnings == ()


# -- connection messages that say what to do (issue 12) -----------------------------------------------------------

@pytest.mark.parametrize('version', ['v1.0', 'beta', 'V1.0'])
def test_a_graph_endpoint_ending_in_the_api_version_is_stripped_with_a_warning(version):
    settings = make_settings({'graph_endpoint': 'https://127.0.0.1:8443/%s/' % version})
    assert settings.graph_base_url == 'https://127.0.0.1:8443'
    assert any('ends in /%s, the API version' % version in warning and 'was removed' in warning
               for warning in settings.warnings)


def test_a_graph_endpoint_with_another_path_keeps_it():
    assert make_settings({'graph_endpoint': 'https://127.0.0.1:8443/gateway'}).graph_base_url == \
        'https://127.0.0.1:8443/gateway'


def test_http_authority_on_loopback_says_msal_needs_https_not_that_it_is_not_loopback():
    with pytest.raises(InvalidInputError) as caught:
        make_settings({'authority_host': 'http://127.0.0.1:9443'})
    message = caught.value.message
    assert 'must use https, even for a loopback address' in message
    assert 'only accepted for a loopback address' not in message


def test_a_ca_path_that_is_not_pem_is_refused_saying_so(tmp_path):
    der = tmp_path / 'ca.der'
    der.write_bytes(b'\x30\x82\x01\x0a\x02\x82\x01\x01\x00')
    with pytest.raises(InvalidInputError) as caught:
        make_settings({'ca_path': str(der)})
    message = caught.value.message
    assert 'ca_path %s is not a PEM bundle' % der in message and 'openssl x509 -inform der' in message
    assert 'give ca_path' not in message


def test_a_ca_path_directory_without_hash_links_is_refused_saying_so(tmp_path):
    (tmp_path / 'my-ca.pem').write_text('-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n')
    with pytest.raises(InvalidInputError) as caught:
        make_settings({'ca_path': str(tmp_path)})
    assert 'is a directory without hash links' in caught.value.message
    assert 'openssl rehash %s' % tmp_path in caught.value.message


def test_a_hashed_ca_path_directory_is_accepted(tmp_path):
    (tmp_path / '5ed36f99.0').write_text('-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n')
    assert make_settings({'ca_path': str(tmp_path)}).verify == str(tmp_path)
