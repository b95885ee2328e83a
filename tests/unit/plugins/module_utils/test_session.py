# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re

import pytest
import requests
import responses

from ansible_collections.entra.provisioning.plugins.module_utils._graph.session import (
    RedirectRefusedError,
    build_session,
    direct_session,
    tls_advice,
    user_agent,
)
from ansible_collections.entra.provisioning.plugins.module_utils._version import COLLECTION_VERSION
from ansible_collections.entra.provisioning.tests.unit.plugins.module_utils.helpers import make_settings

URL = 'https://graph.microsoft.com/v1.0/organization'
ENV_BUNDLE = '/env/bundle-from-REQUESTS_CA_BUNDLE.pem'


@pytest.fixture
def ca_variables(monkeypatch):
    """Set both CA variables, as they are on the machines this runs on."""
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', ENV_BUNDLE)
    monkeypatch.setenv('CURL_CA_BUNDLE', ENV_BUNDLE)


def _verify_sent(http, session):
    http.add(responses.GET, URL, json={})
    session.get(URL)
    return http.calls[-1].request.req_kwargs['verify']


def test_plain_requests_session_lets_the_environment_override_verify_false(http, ca_variables):
    # the trap this module exists to avoid: if this stops holding, the tests below prove nothing
    session = requests.Session()
    session.verify = False
    assert _verify_sent(http, session) == ENV_BUNDLE


def test_validate_certs_false_wins_over_ca_variables(http, ca_variables):
    session = build_session(make_settings({'validate_certs': False}))
    assert _verify_sent(http, session) is False


def test_ca_path_wins_over_ca_variables(http, ca_variables, tmp_path):
    bundle = tmp_path / 'private-ca.pem'
    bundle.write_text('-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n')
    session = build_session(make_settings({'ca_path': str(bundle)}))
    assert _verify_sent(http, session) == str(bundle)


def test_default_lets_ca_variables_choose_the_bundle(http, ca_variables):
    session = build_session(make_settings())
    assert _verify_sent(http, session) == ENV_BUNDLE


def test_default_without_ca_variables_verifies_with_requests_default(http, monkeypatch):
    monkeypatch.delenv('REQUESTS_CA_BUNDLE', raising=False)
    monkeypatch.delenv('CURL_CA_BUNDLE', raising=False)
    session = build_session(make_settings())
    assert _verify_sent(http, session) is True


def test_every_request_gets_the_connect_and_read_timeout(http):
    session = build_session(make_settings({'timeout': 42}))
    http.add(responses.GET, URL, json={})
    session.get(URL)
    assert http.calls[-1].request.req_kwargs['timeout'] == (10, 42)


def test_proxies_from_the_environment_still_apply(http, monkeypatch):
    monkeypatch.setenv('HTTPS_PROXY', 'http://proxy.invalid:3128')
    monkeypatch.delenv('NO_PROXY', raising=False)
    monkeypatch.delenv('no_proxy', raising=False)
    session = build_session(make_settings())
    http.add(responses.GET, URL, json={})
    session.get(URL)
    assert http.calls[-1].request.req_kwargs['proxies'].get('https') == 'http://proxy.invalid:3128'


def test_no_proxy_from_the_environment_still_applies(http, monkeypatch):
    monkeypatch.setenv('HTTPS_PROXY', 'http://proxy.invalid:3128')
    monkeypatch.setenv('NO_PROXY', 'graph.microsoft.com')
    session = build_session(make_settings())
    http.add(responses.GET, URL, json={})
    session.get(URL)
    assert not http.calls[-1].request.req_kwargs['proxies'].get('https')


def test_a_netrc_entry_for_the_host_never_replaces_or_adds_an_authorization(http, monkeypatch, tmp_path):
    netrc = tmp_path / 'netrc'
    netrc.write_text('machine graph.microsoft.com login someone password netrc-password\n')
    netrc.chmod(0o600)
    monkeypatch.setenv('NETRC', str(netrc))
    # the trap: a plain session sends the netrc password in place of the bearer token
    http.add(responses.GET, URL, json={})
    requests.Session().get(URL, headers={'Authorization': 'Bearer token-value'})
    assert http.calls[-1].request.headers['Authorization'].startswith('Basic ')
    session = build_session(make_settings())
    http.add(responses.GET, URL, json={})
    session.get(URL, headers={'Authorization': 'Bearer token-value'})
    assert http.calls[-1].request.headers['Authorization'] == 'Bearer token-value'
    http.add(responses.GET, URL, json={})
    session.get(URL)
    assert 'Authorization' not in http.calls[-1].request.headers


def test_pool_is_sized_for_the_concurrency():
    session = build_session(make_settings(max_concurrency=16))
    assert session.get_adapter(URL)._pool_maxsize >= 16


def test_user_agent_names_collection_ansible_and_python(http):
    session = build_session(make_settings())
    http.add(responses.GET, URL, json={})
    session.get(URL)
    sent = http.calls[-1].request.headers['User-Agent']
    assert sent == user_agent()
    assert re.match(r'^entra\.provisioning/\S+ ansible-core/\S+ python/\d+\.\d+\.\d+$', sent)


def test_collection_version_matches_galaxy_yml():
    galaxy = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'galaxy.yml')
    with open(galaxy) as galaxy_file:
        version = re.search(r'^version:\s*(\S+)', galaxy_file.read(), re.M).group(1)
    assert COLLECTION_VERSION == version


# -- redirects are never followed (finding 2) -------------------------------------------------------------------

@pytest.mark.parametrize('status', [301, 302, 303, 307, 308])
def test_a_redirect_is_an_error_naming_where_it_pointed_and_is_not_followed(http, status):
    token_url = 'https://login.microsoftonline.com/tenant/oauth2/v2.0/token'
    http.add(responses.POST, token_url, status=status,
             headers={'Location': 'http://collector.example:8080/steal?code=canary-in-the-query'})
    session = build_session(make_settings())
    with pytest.raises(RedirectRefusedError) as caught:
        session.post(token_url, data={'client_secret': 'canary-redirected-secret'})
    assert len(http.calls) == 1
    message = caught.value.message
    assert 'HTTP %d' % status in message and 'http://collector.example:8080/steal' in message
    assert 'canary-in-the-query' not in message and 'not followed' in message
    assert caught.value.status == status


def test_a_relative_redirect_names_the_absolute_address(http):
    http.add(responses.POST, URL, status=307, headers={'Location': '/elsewhere'})
    with pytest.raises(RedirectRefusedError) as caught:
        build_session(make_settings()).post(URL, data='{}')
    assert 'https://graph.microsoft.com/elsewhere' in caught.value.message


def test_a_3xx_without_location_is_handed_back_as_an_answer(http):
    http.add(responses.GET, URL, status=304)
    assert build_session(make_settings()).get(URL).status_code == 304


# -- a proxy never carries plain http to this machine (finding 6) ----------------------------------------------

@pytest.fixture
def proxy_variables(monkeypatch):
    for name in ('HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy'):
        monkeypatch.setenv(name, 'http://proxy.example:3128')
    for name in ('NO_PROXY', 'no_proxy'):
        monkeypatch.delenv(name, raising=False)


def _proxies_sent(http, url):
    http.add(responses.GET, url, json={})
    build_session(make_settings()).get(url)
    return http.calls[-1].request.req_kwargs['proxies']


@pytest.mark.parametrize('url', ['http://localhost:8080/v1.0/x', 'http://127.0.0.1:8080/v1.0/x',
                                 'http://[::1]:8080/v1.0/x'])
def test_plain_http_to_loopback_bypasses_every_proxy_variable(http, proxy_variables, url):
    assert not any(_proxies_sent(http, url).values())


def test_https_still_uses_the_environment_proxy(http, proxy_variables):
    assert _proxies_sent(http, URL).get('https') == 'http://proxy.example:3128'


def test_tls_advice_names_the_ca_path_that_was_given():
    assert 'with ca_path /etc/ca.pem' in tls_advice('/etc/ca.pem')
    assert 'give ca_path' in tls_advice(True)


def test_a_direct_session_never_uses_a_proxy_and_keeps_the_rest(http, proxy_variables):
    session = build_session(make_settings())
    direct = direct_session(session)
    http.add(responses.GET, 'http://169.254.169.254/metadata/identity/oauth2/token', json={})
    http.add(responses.GET, URL, json={})
    direct.get('http://169.254.169.254/metadata/identity/oauth2/token')
    direct.get(URL, proxies={'https': 'http://proxy.example:3128'})
    assert len(http.calls) == 2
    assert not any(any(call.request.req_kwargs['proxies'].values()) for call in http.calls)
    assert direct.headers['User-Agent'] == session.headers['User-Agent']
    assert direct.get_adapter(URL) is session.get_adapter(URL)
    assert (direct.entra_verify, direct.entra_timeout) == (session.entra_verify, session.entra_timeout)
