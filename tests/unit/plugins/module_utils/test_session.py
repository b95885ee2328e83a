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

from ansible_collections.entra.provisioning.plugins.module_utils._session import build_session, user_agent
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
