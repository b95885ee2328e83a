# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Graph client against the local emulator: real HTTPS, real msal, real tokens, nothing faked.

Run from the checkout with a Python that has the emulator's requirements (tests/emulator/requirements.txt)
and ansible-core, e.g. ``.venv/tools/bin/python -m pytest tests/functional -q``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import importlib
import json
import os
import sys
import tempfile
import time

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _make_collection_importable():
    """Expose the checkout as ansible_collections.entra.provisioning when it is not installed as such."""
    try:
        importlib.import_module('ansible_collections.entra.provisioning.plugins.module_utils._graph.client')
        return
    except ImportError:
        pass
    parent = tempfile.mkdtemp(prefix='entra-provisioning-functional-')
    os.makedirs(os.path.join(parent, 'ansible_collections', 'entra'))
    os.symlink(REPO_ROOT, os.path.join(parent, 'ansible_collections', 'entra', 'provisioning'))
    sys.path.insert(0, parent)
    for name in [module for module in sys.modules if module.startswith('ansible_collections')]:
        del sys.modules[name]


_make_collection_importable()

from entra_emulator import EmulatorProcess  # noqa: E402

from ansible_collections.entra.provisioning.plugins.module_utils._errors import (  # noqa: E402
    AuthenticationError,
    EntraError,
    InvalidInputError,
    OutcomeUnknownError,
)
from ansible_collections.entra.provisioning.plugins.module_utils._graph.batch import BatchRequest  # noqa: E402
from ansible_collections.entra.provisioning.plugins.module_utils._graph.client_factory import build_graph_client  # noqa: E402
from ansible_collections.entra.provisioning.plugins.module_utils._graph.throttle import forget_shared_throttles  # noqa: E402
from ansible_collections.entra.provisioning.plugins.module_utils._options import OptionAdapter  # noqa: E402
from ansible_collections.entra.provisioning.plugins.module_utils._redact import SecretRegistry  # noqa: E402

CLOUDS = ('global', 'usgov', 'usgov_dod', 'china')
GRAPH_ROOTS = {
    'global': 'https://graph.microsoft.com',
    'usgov': 'https://graph.microsoft.us',
    'usgov_dod': 'https://dod-graph.microsoft.us',
    'china': 'https://microsoftgraph.chinacloudapi.cn',
}
TENANTS = {
    'global': '1a000000-0000-4000-8000-000000000001',
    'usgov': '1a000000-0000-4000-8000-000000000002',
    'usgov_dod': '1a000000-0000-4000-8000-000000000003',
    'china': '1a000000-0000-4000-8000-000000000004',
}
APP_CLIENTS = {cloud: '2b000000-0000-4000-8000-00000000000%d' % (index + 1) for index, cloud in enumerate(CLOUDS)}
FEDERATED_CLIENTS = {cloud: '3c000000-0000-4000-8000-00000000000%d' % (index + 1) for index, cloud in enumerate(CLOUDS)}
USER_IDENTITY = '4d000000-0000-4000-8000-000000000001'
FEDERATED_SUBJECT = 'repo:entra/provisioning:ref:refs/heads/main'
# Test values, built at run time so no line looks like a real credential.
APP_SECRET = 'emulator-secret-' + 'functional'
GENERATED_APPS = 120
PERMISSIONS = ['Synchronization.ReadWrite.All', 'Application.Read.All']


def _tenant(cloud):
    tenant = {
        'id': TENANTS[cloud],
        'cloud': cloud,
        'display_name': 'functional %s' % cloud,
        'clients': [
            {'client_id': APP_CLIENTS[cloud], 'secrets': [APP_SECRET], 'certificate': 'generate',
             'permissions': PERMISSIONS},
            {'client_id': FEDERATED_CLIENTS[cloud], 'permissions': PERMISSIONS,
             'federated_credentials': [{'issuer': 'emulator', 'subject': FEDERATED_SUBJECT}]},
        ],
        'managed_identities': [{'type': 'system', 'permissions': PERMISSIONS}],
        'applications': [{'display_name': "O'Brien %s" % cloud, 'jobs': [{'templateId': 'scim'}]}],
    }
    if cloud == 'global':
        tenant['managed_identities'].append({'type': 'user', 'client_id': USER_IDENTITY, 'permissions': PERMISSIONS})
        tenant['generate'] = [{'count': GENERATED_APPS, 'name_prefix': 'bulk-',
                               'template': {'jobs': [{'templateId': 'scim'}]}}]
    return tenant


SEED = {'tenants': [_tenant(cloud) for cloud in CLOUDS]}


@pytest.fixture(scope='module')
def emulator():
    """One emulator for the module, in its own process."""
    with tempfile.TemporaryDirectory(prefix='entra-functional-emulator-') as state_dir:
        with EmulatorProcess(seed=SEED, state_dir=state_dir, latency_ms=0) as running:
            yield running


@pytest.fixture(autouse=True)
def run_secrets():
    """Each test is one run of the client, with its own secret registry and its own tenant throttles (a pause or
    pace learned by an earlier test's throttled tenant would otherwise carry over), as a module or a plugin task is."""
    forget_shared_throttles()
    with SecretRegistry().in_use():
        yield
    forget_shared_throttles()


@pytest.fixture(autouse=True)
def fresh_emulator_and_environment(request, monkeypatch):
    """Each test starts from the seed, without faults; CA variables set as on our machines, proxies off."""
    for variable in [name for name in os.environ if name.startswith('AZURE_') or name.startswith('IDENTITY_')
                     or name.startswith('MSI_') or name.lower().endswith('_proxy')]:
        monkeypatch.delenv(variable)
    monkeypatch.setenv('NO_PROXY', '127.0.0.1,localhost')
    # A bundle that does not hold the emulator's CA: only an explicit choice can make TLS succeed.
    system_bundle = '/etc/ssl/certs/ca-certificates.crt'
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', system_bundle)
    monkeypatch.setenv('CURL_CA_BUNDLE', system_bundle)
    if 'emulator' in request.fixturenames:
        request.getfixturevalue('emulator').reset()


def endpoints(emulator, cloud):
    """The options that point the client at the emulator's listener for ``cloud``."""
    listener = emulator.info['clouds'][cloud]
    return {'cloud': cloud, 'graph_endpoint': listener['graph_endpoint'],
            'authority_host': listener['authority_host'], 'ca_path': emulator.info['ca_path']}


def client_for(emulator, cloud, max_retries=5, **options):
    merged = endpoints(emulator, cloud)
    merged.update({'tenant_id': TENANTS[cloud], 'client_id': APP_CLIENTS[cloud], 'max_retries': max_retries})
    merged.update(options)
    merged = {key: value for key, value in merged.items() if value is not None}
    return build_graph_client(OptionAdapter.from_dict(merged))


def token_audience(token):
    payload = token.split('.')[1]
    return json.loads(base64.urlsafe_b64decode(payload + '=' * (-len(payload) % 4)))['aud']


def display_names(client):
    return sorted(item['displayName'] for item in client.get_all('servicePrincipals', {'$select': 'displayName'}))


def assert_signed_in_to(client, cloud):
    """The client reads its own tenant's Graph with a token whose audience is the cloud's Graph root."""
    assert "O'Brien %s" % cloud in display_names(client)
    assert token_audience(client.authenticator.get_token()) == GRAPH_ROOTS[cloud]


# -- each auth method in each cloud --------------------------------------------------------------------------------

@pytest.mark.parametrize('cloud', CLOUDS)
def test_client_secret_in_each_cloud(emulator, cloud):
    client = client_for(emulator, cloud, client_secret=APP_SECRET)
    assert client.authenticator.method_name == 'client_secret'
    assert_signed_in_to(client, cloud)


@pytest.mark.parametrize('cloud', CLOUDS)
def test_certificate_pem_in_each_cloud(emulator, cloud):
    certificate = emulator.info['certificates'][APP_CLIENTS[cloud]]
    client = client_for(emulator, cloud, client_certificate_path=certificate['pem'])
    assert client.authenticator.method_name == 'certificate'
    assert client.authenticator.method.sha256_thumbprint == certificate['thumbprint_sha256']
    assert_signed_in_to(client, cloud)


@pytest.mark.parametrize('cloud', CLOUDS)
def test_certificate_pfx_in_each_cloud(emulator, cloud):
    certificate = emulator.info['certificates'][APP_CLIENTS[cloud]]
    client = client_for(emulator, cloud, client_certificate_path=certificate['pfx'],
                        client_certificate_password=certificate['pfx_password'])
    assert_signed_in_to(client, cloud)


@pytest.mark.parametrize('cloud', CLOUDS)
def test_federated_token_in_each_cloud(emulator, cloud, tmp_path):
    token_file = tmp_path / 'federated-token'
    token_file.write_text(emulator.federation_token(FEDERATED_SUBJECT))
    client = client_for(emulator, cloud, client_id=FEDERATED_CLIENTS[cloud], federated_token_file=str(token_file))
    assert client.authenticator.method_name == 'federated_token'
    assert_signed_in_to(client, cloud)


@pytest.mark.parametrize('cloud', CLOUDS)
def test_system_assigned_managed_identity_in_each_cloud(emulator, cloud, monkeypatch):
    for variable, value in emulator.managed_identity_environment(TENANTS[cloud]).items():
        monkeypatch.setenv(variable, value)
    client = client_for(emulator, cloud, tenant_id=None, client_id=None, auth_method='managed_identity')
    assert_signed_in_to(client, cloud)


def test_user_assigned_managed_identity_by_client_id(emulator, monkeypatch):
    for variable, value in emulator.managed_identity_environment(TENANTS['global']).items():
        monkeypatch.setenv(variable, value)
    client = client_for(emulator, 'global', tenant_id=None, client_id=USER_IDENTITY, auth_method='managed_identity')
    assert_signed_in_to(client, 'global')
    assert any(entry.get('client_id') == USER_IDENTITY for entry in emulator.log())


@pytest.mark.parametrize('cloud', CLOUDS)
def test_given_access_token_in_each_cloud(emulator, cloud):
    token = client_for(emulator, cloud, client_secret=APP_SECRET).authenticator.get_token()
    client = client_for(emulator, cloud, tenant_id=None, client_id=None, access_token=token)
    assert client.authenticator.method_name == 'access_token'
    assert_signed_in_to(client, cloud)


def test_environment_only_sign_in_as_awx_injects_it(emulator, monkeypatch):
    monkeypatch.setenv('AZURE_TENANT', TENANTS['usgov'])
    monkeypatch.setenv('AZURE_CLIENT_ID', APP_CLIENTS['usgov'])
    monkeypatch.setenv('AZURE_SECRET', APP_SECRET)
    monkeypatch.setenv('AZURE_CLOUD_ENVIRONMENT', 'AzureUSGovernment')
    monkeypatch.setenv('AZURE_AUTHORITY_HOST', emulator.info['clouds']['usgov']['authority_host'])
    listener = emulator.info['clouds']['usgov']
    client = build_graph_client(OptionAdapter.from_dict({'graph_endpoint': listener['graph_endpoint'],
                                                         'ca_path': emulator.info['ca_path']}))
    assert_signed_in_to(client, 'usgov')


# -- the audience rule ---------------------------------------------------------------------------------------------

def test_scope_is_the_clouds_graph_root_whatever_the_endpoint(emulator):
    client = client_for(emulator, 'usgov_dod', client_secret=APP_SECRET)
    client.get_all('servicePrincipals')
    assert client.settings.graph_base_url.startswith('https://127.0.0.1:')
    assert token_audience(client.authenticator.get_token()) == 'https://dod-graph.microsoft.us'


def test_token_for_another_cloud_is_refused_before_any_request(emulator):
    token = client_for(emulator, 'global', client_secret=APP_SECRET).authenticator.get_token()
    emulator.clear_log()
    with pytest.raises(InvalidInputError) as caught:
        client_for(emulator, 'usgov', tenant_id=None, client_id=None, access_token=token)
    assert 'for Microsoft Graph in the global cloud' in caught.value.message
    assert emulator.log() == []


def test_wrong_cloud_for_the_listener_is_explained(emulator):
    # the usgov listener's sign-in service has no Graph named graph.microsoft.com
    options = endpoints(emulator, 'usgov')
    options.update(cloud='global', tenant_id=TENANTS['usgov'], client_id=APP_CLIENTS['usgov'],
                   client_secret=APP_SECRET)
    client = build_graph_client(OptionAdapter.from_dict(options))
    with pytest.raises(AuthenticationError) as caught:
        client.get_all('servicePrincipals')
    assert caught.value.code == 'AADSTS500011'
    assert "set cloud to the tenant's cloud" in caught.value.message


@pytest.mark.parametrize('case, options, code, advice', [
    ('wrong secret', {'client_secret': 'wrong-' + APP_SECRET}, 'AADSTS7000215', 'Secret ID'),
    ('unknown app', {'client_secret': APP_SECRET, 'client_id': '5e000000-0000-4000-8000-000000000009'},
     'AADSTS700016', 'is where the app is registered'),
    ('unknown tenant', {'client_secret': APP_SECRET, 'tenant_id': '5e000000-0000-4000-8000-00000000000a'},
     'AADSTS90002', 'was not found'),
])
def test_sign_in_failures_are_actionable_and_secret_free(emulator, case, options, code, advice):
    with pytest.raises(AuthenticationError) as caught:
        client_for(emulator, 'global', **options).get_all('servicePrincipals')
    assert caught.value.code == code, case
    assert advice in caught.value.message, case
    assert APP_SECRET not in json.dumps(caught.value.to_dict())


# -- token lifetime ------------------------------------------------------------------------------------------------

def test_token_revoked_mid_run_is_refreshed_once_and_the_run_goes_on(emulator):
    client = client_for(emulator, 'global', client_secret=APP_SECRET)
    before = client.authenticator.get_token()
    client.get_all('servicePrincipals')
    emulator.expire_tokens()
    assert len(client.get_all('servicePrincipals')) == GENERATED_APPS + 1
    assert client.counters['token_refreshes_after_401'] == 1
    assert client.authenticator.get_token() != before


def test_token_close_to_expiry_is_replaced_before_it_is_sent(emulator):
    emulator.set_faults(token_lifetime=302)
    client = client_for(emulator, 'global', client_secret=APP_SECRET)
    first = client.authenticator.get_token()
    time.sleep(3)
    client.request('GET', 'servicePrincipals', params={'$top': 1})
    assert client.authenticator.get_token() != first
    assert client.counters['token_refreshes_after_401'] == 0


def test_given_access_token_revoked_mid_run_fails_clearly(emulator):
    token = client_for(emulator, 'global', client_secret=APP_SECRET).authenticator.get_token()
    client = client_for(emulator, 'global', tenant_id=None, client_id=None, access_token=token)
    emulator.expire_tokens()
    with pytest.raises(AuthenticationError) as caught:
        client.request('GET', 'servicePrincipals')
    assert caught.value.status == 401 and 'cannot be refreshed' in caught.value.message


# -- throttling and transient failures -----------------------------------------------------------------------------

@pytest.mark.parametrize('form', ['seconds', 'http-date'])
def test_rate_limited_run_survives(emulator, form):
    emulator.set_faults(rate_limit={'requests_per_second': 20, 'burst': 3, 'retry_after': form})
    client = client_for(emulator, 'global', client_secret=APP_SECRET)
    for request_number in range(12):
        assert client.request('GET', 'servicePrincipals', params={'$top': 1}).status == 200
    assert client.counters['retries'] > 0
    assert emulator.counters()['throttled'] > 0


def test_server_error_bursts_are_survived(emulator):
    emulator.set_faults(error_bursts=[{'status': 503, 'count': 2, 'retry_after': 1},
                                      {'status': 504, 'count': 1}])
    client = client_for(emulator, 'global', client_secret=APP_SECRET)
    assert client.request('GET', 'servicePrincipals', params={'$top': 1}).status == 200
    assert client.counters['retries'] == 3


def test_sign_in_server_errors_are_survived(emulator):
    emulator.set_faults(error_bursts=[{'status': 503, 'count': 1, 'target': 'token'}])
    client = client_for(emulator, 'global', client_secret=APP_SECRET)
    assert client.request('GET', 'servicePrincipals', params={'$top': 1}).status == 200
    assert client.authenticator.token_requests == 2


def test_concurrency_violation_is_survived(emulator):
    client = client_for(emulator, 'global', client_secret=APP_SECRET)
    job_path = _first_job_path(client)
    emulator.set_faults(concurrency_violations=[{'count': 2, 'methods': ['GET'], 'path_regex': 'jobs/'}])
    assert client.request('GET', job_path).json['id'] == job_path.rsplit('/', 1)[1]
    assert client.counters['retries'] == 2


def test_connection_dropped_before_sending_is_retried(emulator):
    emulator.set_faults(drop_connections=[{'when': 'before', 'count': 1}])
    client = client_for(emulator, 'global', client_secret=APP_SECRET)
    assert client.request('GET', 'servicePrincipals', params={'$top': 1}).status == 200


def test_connection_dropped_after_a_post_was_processed_is_outcome_unknown(emulator):
    client = client_for(emulator, 'global', client_secret=APP_SECRET)
    job_path = _first_job_path(client)
    emulator.set_faults(drop_connections=[{'when': 'after', 'count': 1, 'path_regex': 'acquireAccessToken'}])
    with pytest.raises(OutcomeUnknownError):
        client.request('POST', job_path.split('/synchronization/')[0] + '/synchronization/acquireAccessToken',
                       body={'credentials': [{'key': 'SecretToken', 'value': 'x'}]})
    posts = [entry for entry in emulator.log() if 'acquireAccessToken' in entry.get('path', '')]
    assert len(posts) == 1


@pytest.mark.parametrize('status', [307, 308])
def test_a_redirected_acquire_is_refused_and_nothing_reaches_the_target(emulator, status):
    client = client_for(emulator, 'global', client_secret=APP_SECRET)
    job_path = _first_job_path(client)
    target = emulator.info['clouds']['usgov']['graph_endpoint'] + '/v1.0/collect'
    emulator.set_faults(redirects=[{'status': status, 'location': target, 'path_regex': 'acquireAccessToken'}])
    with pytest.raises(EntraError) as caught:
        client.request('POST', job_path.split('/synchronization/')[0] + '/synchronization/acquireAccessToken',
                       body={'credentials': [{'key': 'SecretToken', 'value': 'emulator-redirected-value'}]})
    assert 'HTTP %d, a redirect to %s' % (status, target) in caught.value.message
    assert not [entry for entry in emulator.log() if entry.get('path', '').endswith('/collect')]


def test_a_redirect_from_the_token_endpoint_keeps_the_client_secret_here(emulator):
    target = emulator.info['clouds']['usgov']['authority_host'] + '/collect/oauth2/v2.0/token'
    emulator.set_faults(redirects=[{'status': 307, 'location': target, 'target': 'token'}])
    client = client_for(emulator, 'global', client_secret=APP_SECRET)
    with pytest.raises(EntraError) as caught:
        client.get_json('servicePrincipals', {'$top': 1})
    assert 'a redirect to %s' % target in caught.value.message
    assert [entry['status'] for entry in emulator.log() if entry.get('kind') == 'token'] == [307]


def test_plain_http_to_the_tls_port_says_to_use_https_at_once(emulator):
    listener = endpoints(emulator, 'global')
    client = client_for(emulator, 'global', client_secret=APP_SECRET,
                        graph_endpoint=listener['graph_endpoint'].replace('https://', 'http://'))
    with pytest.raises(InvalidInputError) as caught:
        client.get_json('servicePrincipals', {'$top': 1})
    assert 'speaks TLS' in caught.value.message
    assert client.counters['retries'] == 0


def _first_job_path(client):
    service_principal = client.get_json('servicePrincipals', {'$filter': "displayName eq 'O''Brien global'"})
    object_id = service_principal['value'][0]['id']
    jobs = client.get_json('servicePrincipals/%s/synchronization/jobs' % object_id)['value']
    return 'servicePrincipals/%s/synchronization/jobs/%s' % (object_id, jobs[0]['id'])


# -- paging and $batch ---------------------------------------------------------------------------------------------

def test_paging_follows_next_links_on_the_emulator(emulator):
    client = client_for(emulator, 'global', client_secret=APP_SECRET)
    pages = list(client.iter_pages('servicePrincipals', {'$top': 25}))
    assert len(pages) == 5
    assert sum(len(page['value']) for page in pages) == GENERATED_APPS + 1


def test_batch_of_many_gets_under_throttling_returns_everything_in_order(emulator):
    client = client_for(emulator, 'global', client_secret=APP_SECRET, max_retries=8)
    service_principals = client.get_all('servicePrincipals', {'$select': 'id'})
    emulator.set_faults(rate_limit={'requests_per_second': 200, 'burst': 30})
    requests_in = [BatchRequest('GET', '/servicePrincipals/%s?$select=id' % item['id'])
                   for item in service_principals]
    results = client.batch(requests_in, max_concurrency=4)
    assert [result.body['id'] for result in results] == [item['id'] for item in service_principals]
    assert all(result.ok for result in results)
    assert any(result.attempts > 1 for result in results)


# -- TLS -----------------------------------------------------------------------------------------------------------

def test_ca_path_wins_over_ca_variables_for_sign_in_and_graph(emulator):
    assert os.environ['REQUESTS_CA_BUNDLE'] != emulator.info['ca_path']
    client = client_for(emulator, 'china', client_secret=APP_SECRET)
    assert_signed_in_to(client, 'china')


def test_validate_certs_false_wins_over_ca_variables(emulator):
    client = client_for(emulator, 'global', client_secret=APP_SECRET, ca_path=None, validate_certs=False)
    assert_signed_in_to(client, 'global')


def test_without_explicit_choice_the_ca_variables_decide_and_fail_clearly(emulator):
    client = client_for(emulator, 'global', client_secret=APP_SECRET, ca_path=None)
    started = time.monotonic()
    with pytest.raises(EntraError) as caught:
        client.get_all('servicePrincipals')
    assert 'ca_path' in caught.value.message
    assert time.monotonic() - started < 10


def test_ca_variable_naming_the_emulator_ca_is_honoured_by_default(emulator, monkeypatch):
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', emulator.info['ca_path'])
    client = client_for(emulator, 'global', client_secret=APP_SECRET, ca_path=None)
    assert_signed_in_to(client, 'global')
