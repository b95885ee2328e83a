# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The entra_sync inventory plugin with Graph replaced by a fake reader: options, inventory, cache, errors."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re

import pytest

from ansible.errors import AnsibleParserError
from ansible.template import Templar, is_trusted_as_template, trust_as_template
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible import constants
from ansible.plugins.doc_fragments import constructed, inventory_cache
from ansible.module_utils.common.yaml import yaml_load

from ansible_collections.entra.provisioning.plugins.inventory import entra_sync
from ansible_collections.entra.provisioning.plugins.module_utils._errors import EntraError
from ansible_collections.entra.provisioning.plugins.module_utils._redact import SecretRegistry, register_secret
from ansible_collections.entra.provisioning.plugins.module_utils._sync.inventory import ReadOutcome
from ansible_collections.entra.provisioning.plugins.module_utils._sync.jobs import describe_job
from ansible_collections.entra.provisioning.tests.unit.plugins.doc_fragment_options import shared_documented_options

SECRET = 'unit-test-' + 'inventory-secret-' + 'x' * 6
TENANT_ID = '11111111-2222-3333-4444-555555555555'
CLIENT_ID = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee'


def graph_application(display_name, number, code='Active'):
    """An application as read_applications returns it."""
    return {'id': 'sp-%d' % number, 'appId': '%08d-0000-0000-0000-000000000000' % number,
            'displayName': display_name, 'tags': [], 'applicationTemplateId': None,
            'jobs': [describe_job({'id': 'job-%d' % number, 'templateId': 'scim', 'schedule': {'interval': 'PT40M'},
                                   'status': {'code': code}})]}


class FakeReads(object):
    """Stands in for Graph: records each read and what the client was built from."""

    def __init__(self, monkeypatch, applications=(), skipped=(), error=None):
        self.calls = []
        self.options = []
        self.applications = list(applications)
        self.skipped = list(skipped)
        self.error = error
        self.templates_seen = []

        class Client(object):
            def close(self):
                pass

        def build(adapter, max_concurrency=None):
            self.options.append(dict((key, adapter.get_option(key)) for key in ('tenant_id', 'client_secret')))
            return Client()

        def read(client, filters):
            self.calls.append(filters)
            if self.error:
                raise self.error
            return ReadOutcome(self.applications, self.skipped, len(self.applications) + 1, self.templates_seen)

        monkeypatch.setattr(entra_sync, 'build_graph_client', build)
        monkeypatch.setattr(entra_sync, 'read_applications', read)


@pytest.fixture(autouse=True)
def run_secrets():
    """Each test is one run, with its own secret registry."""
    with SecretRegistry().in_use():
        yield


def inventory_file(tmp_path, name='contoso.entra_sync.yml', **options):
    """Write an inventory file with the tenant, client and secret plus ``options``; return its path."""
    config = {'plugin': 'entra.provisioning.entra_sync', 'tenant_id': TENANT_ID, 'client_id': CLIENT_ID,
              'client_secret': SECRET}
    config.update(options)
    path = tmp_path / name
    path.write_text(json.dumps(config))
    return str(path)


def load_plugin():
    """The plugin with its documented options (fragments merged), as Ansible's plugin loader gives it."""
    options = shared_documented_options()
    for documentation in (constructed.ModuleDocFragment.DOCUMENTATION, inventory_cache.ModuleDocFragment.DOCUMENTATION,
                          entra_sync.DOCUMENTATION):
        options.update(yaml_load(documentation)['options'])
    constants.config.initialize_plugin_configuration_definitions('inventory', entra_sync.InventoryModule.NAME, options)
    plugin = entra_sync.InventoryModule()
    plugin._load_name = entra_sync.InventoryModule.NAME
    return plugin


def parse(path, cache=True):
    """Run the plugin on ``path`` as ansible-inventory would; return (inventory, plugin)."""
    plugin = load_plugin()
    inventory = InventoryData()
    plugin.parse(inventory, DataLoader(), path, cache=cache)
    if getattr(plugin, "_cache", None):  # as InventoryManager does
        plugin.update_cache_if_changed()
    return inventory, plugin


@pytest.mark.parametrize('name, text, accepted', [
    ('contoso.entra_sync.yml', 'plugin: entra.provisioning.entra_sync\n', True),
    ('entra_sync.yaml', 'plugin: entra.provisioning.entra_sync\n', True),
    ('entra_sync.json', 'plugin: entra.provisioning.entra_sync\n', False),
    # another YAML file is taken only when it names this plugin, so that parse can say how to name it
    ('hosts.yml', 'plugin: "entra.provisioning.entra_sync"  # the tenant\n', True),
    ('hosts.yml', 'all:\n  hosts:\n    entra_sync: {}\n', False),
    ('aws.yml', 'plugin: amazon.aws.aws_ec2\n', False),
])
def test_entra_sync_files_are_accepted(tmp_path, name, text, accepted):
    path = tmp_path / name
    path.write_text(text)
    assert entra_sync.InventoryModule().verify_file(str(path)) is accepted


def test_a_file_named_otherwise_is_told_what_its_name_must_end_in(tmp_path, monkeypatch):
    reads = FakeReads(monkeypatch, [graph_application('App', 1)])
    with pytest.raises(AnsibleParserError, match=r'hosts\.yml: the file name must end with entra_sync\.yml or '
                                                 r'entra_sync\.yaml \(for example contoso\.entra_sync\.yml\)'):
        parse(inventory_file(tmp_path, name='hosts.yml'))
    assert reads.calls == []


def test_hosts_groups_and_variables_reach_the_inventory(tmp_path, monkeypatch):
    FakeReads(monkeypatch, [graph_application('HR App', 1, 'Quarantine'), graph_application('Mail', 2)])
    inventory, _plugin = parse(inventory_file(tmp_path))
    assert sorted(inventory.hosts) == ['hr-app', 'mail']
    assert [host.name for host in inventory.groups['entra_sync_quarantine'].get_hosts()] == ['hr-app']
    assert sorted(host.name for host in inventory.groups['entra_sync_template_scim'].get_hosts()) == ['hr-app', 'mail']
    variables = inventory.get_host('hr-app').get_vars()
    assert variables['authorize_service_principal_id'] == 'sp-1'
    assert variables['authorize_tenant_id'] == TENANT_ID
    assert SECRET not in json.dumps(variables, default=str)


def test_connection_settings_given_in_the_file_reach_the_role_but_defaults_do_not(tmp_path, monkeypatch):
    FakeReads(monkeypatch, [graph_application('App', 1)])
    inventory, _plugin = parse(inventory_file(tmp_path, graph_endpoint='https://127.0.0.1:8443', cloud='usgov'))
    variables = inventory.get_host('app').get_vars()
    assert variables['authorize_graph_endpoint'] == 'https://127.0.0.1:8443'
    assert variables['authorize_cloud'] == 'usgov'
    assert 'authorize_validate_certs' not in variables and 'authorize_api_version' not in variables


def test_the_tenant_comes_from_the_environment_like_the_modules(tmp_path, monkeypatch):
    reads = FakeReads(monkeypatch, [graph_application('App', 1)])
    monkeypatch.setenv('AZURE_TENANT', TENANT_ID)
    path = tmp_path / 'env.entra_sync.yml'
    path.write_text(json.dumps({'plugin': 'entra.provisioning.entra_sync', 'client_id': CLIENT_ID}))
    inventory, _plugin = parse(str(path))
    assert inventory.get_host('app').get_vars()['authorize_tenant_id'] == TENANT_ID
    assert reads.options[0]['tenant_id'] is None  # the factory resolves the environment itself


def test_compose_groups_and_keyed_groups(tmp_path, monkeypatch):
    FakeReads(monkeypatch, [graph_application('App', 1, 'Paused')])
    inventory, _plugin = parse(inventory_file(
        tmp_path, strict=True, compose={'job_count': 'entra_sync_job_ids | length'},
        groups={'paused_ones': "entra_sync_status == 'Paused'"},
        keyed_groups=[{'key': 'entra_sync_status', 'prefix': 'status'}]))
    assert inventory.get_host('app').get_vars()['job_count'] == 1
    assert 'paused_ones' in inventory.groups and 'status_Paused' in inventory.groups


def test_a_second_run_is_served_from_the_cache(tmp_path, monkeypatch):
    reads = FakeReads(monkeypatch, [graph_application('App', 1)])
    path = inventory_file(tmp_path, cache=True, cache_plugin='jsonfile',
                          cache_connection=str(tmp_path / 'cache'))
    parse(path)
    inventory, _plugin = parse(path)
    assert len(reads.calls) == 1 and sorted(inventory.hosts) == ['app']
    cached = ''.join(item.read_text() for item in (tmp_path / 'cache').iterdir())
    assert 'sp-1' in cached and SECRET not in cached


def test_a_cache_of_another_shape_is_read_again(tmp_path, monkeypatch):
    reads = FakeReads(monkeypatch, [graph_application('App', 1)])
    path = inventory_file(tmp_path, cache=True, cache_plugin='jsonfile', cache_connection=str(tmp_path / 'cache'))
    _inventory, plugin = parse(path)
    plugin._cache[plugin.get_cache_key(path)] = {'hosts': ['from another version']}
    plugin.update_cache_if_changed()
    inventory, _plugin = parse(path)
    assert len(reads.calls) == 2 and sorted(inventory.hosts) == ['app']


def test_refresh_reads_again_and_no_cache_option_never_caches(tmp_path, monkeypatch):
    reads = FakeReads(monkeypatch, [graph_application('App', 1)])
    cached = inventory_file(tmp_path, cache=True, cache_plugin='jsonfile',
                            cache_connection=str(tmp_path / 'cache'))
    parse(cached)
    parse(cached, cache=False)  # what --flush-cache asks for
    uncached = inventory_file(tmp_path, name='plain.entra_sync.yml')
    parse(uncached)
    parse(uncached)
    assert len(reads.calls) == 4


def test_a_run_that_skipped_applications_warns_and_is_not_cached(tmp_path, monkeypatch):
    reads = FakeReads(monkeypatch, [graph_application('App', 1)], skipped=[('Other', 'HTTP 403')])
    warnings = []
    monkeypatch.setattr(entra_sync.display, 'warning', warnings.append)
    path = inventory_file(tmp_path, cache=True, cache_plugin='jsonfile',
                          cache_connection=str(tmp_path / 'cache'))
    parse(path)
    parse(path)
    assert len(reads.calls) == 2
    assert len(warnings) == 2 and 'Other (HTTP 403)' in warnings[0]


def test_a_graph_failure_is_a_parser_error_naming_the_file_without_the_secret(tmp_path, monkeypatch):
    register_secret(SECRET)  # as the option resolver does before any request
    FakeReads(monkeypatch, error=EntraError('Listing failed with HTTP 403: grant Application.Read.All; '
                                            'secret was ' + SECRET))
    path = inventory_file(tmp_path)
    with pytest.raises(AnsibleParserError) as caught:
        parse(path)
    assert path in str(caught.value) and 'Application.Read.All' in str(caught.value)
    assert SECRET not in str(caught.value)


def test_bad_filters_fail_before_any_read(tmp_path, monkeypatch):
    reads = FakeReads(monkeypatch, [graph_application('App', 1)])
    with pytest.raises(AnsibleParserError, match="filters: 'name' is not an option"):
        parse(inventory_file(tmp_path, filters={'name': 'x'}))
    assert reads.calls == []


def test_secret_options_reach_the_client_as_plain_text(tmp_path, monkeypatch):
    reads = FakeReads(monkeypatch, [graph_application('App', 1)])
    parse(inventory_file(tmp_path))
    assert reads.options[0]['client_secret'] == SECRET and reads.options[0]['client_secret'].__class__ is str  # no vault or unsafe wrapper


# ---- what --export writes and what is never templated ---------------------------------------------------------

def test_strings_without_template_characters_are_trusted_so_export_writes_them_plainly():
    value = entra_sync.inventory_value({'id': 'sp-1', 'jobs': [{'id': 'job-1', 'status': {'code': 'Active'}}],
                                        'count': 3, 'flag': True, 'nothing': None})
    assert is_trusted_as_template(value['id']) and is_trusted_as_template(value['jobs'][0]['status']['code'])
    assert value['count'] == 3 and value['flag'] is True and value['nothing'] is None


@pytest.mark.parametrize('text', ['Payroll {{ lookup("pipe", "id") }}', 'a } b', '{% raw %}',
                                  "#jinja2:variable_start_string:'[['\n[[ 7 * 6 ]]"])
def test_strings_jinja_could_act_on_stay_untrusted(text):
    value = entra_sync.inventory_value({'names': [text]})
    assert value['names'] == [text] and not is_trusted_as_template(value['names'][0])


def test_a_display_name_holding_a_template_is_never_templated(tmp_path, monkeypatch):
    FakeReads(monkeypatch, [graph_application('Payroll {{ 7 * 6 }}', 1)])
    inventory, _plugin = parse(inventory_file(tmp_path))
    variables = inventory.get_host('payroll-7-6').get_vars()
    templar = Templar(loader=DataLoader(), variables=variables)
    assert templar.template(trust_as_template('{{ entra_sync_display_name }}')) == 'Payroll {{ 7 * 6 }}'
    assert templar.template(trust_as_template('{{ authorize_service_principal_id }}')) == 'sp-1'
    assert is_trusted_as_template(variables['authorize_service_principal_id'])
    assert not is_trusted_as_template(variables['entra_sync_display_name'])


# ---- the whole configuration is checked before any request ---------------------------------------------------

@pytest.mark.parametrize('options, message', [
    ({'filter': {'tag': 'x'}}, "'filter' is not an option. Did you mean filters?"),
    ({'client_secert': 'x'}, "'client_secert' is not an option. Did you mean client_secret?"),
    ({'host_name_prefix': 'contoso.'}, 'host_name_prefix may hold only letters, digits, - and _'),
    ({'cache': True, 'cache_timeout': -100}, 'cache_timeout must be 0 (never expires) or a number of seconds, '
                                             'got -100.'),
    ({'cache': True, 'cache_plugin': 'ansible.builtin.jsonfile'},
     'cache_plugin ansible.builtin.jsonfile keeps the cache in files: set cache_connection to a directory'),
    ({'max_concurrency': 0}, 'max_concurrency must be 1 or more, got 0.'),
    ({'timeout': 0}, 'timeout must be a positive number of seconds, got 0.'),
])
def test_a_bad_option_fails_before_any_read_naming_it(tmp_path, monkeypatch, options, message):
    reads = FakeReads(monkeypatch, [graph_application('App', 1)])
    with pytest.raises(AnsibleParserError) as caught:
        parse(inventory_file(tmp_path, **options))
    assert message in str(caught.value) and reads.calls == [] and reads.options == []


def test_a_cache_connection_that_is_a_file_is_refused(tmp_path, monkeypatch):
    reads = FakeReads(monkeypatch, [graph_application('App', 1)])
    cache_file = tmp_path / 'cache'
    cache_file.write_text('not a directory')
    with pytest.raises(AnsibleParserError, match='cache_connection %s is a file; .* name a directory'
                                                 % re.escape(str(cache_file))):
        parse(inventory_file(tmp_path, cache=True, cache_plugin='jsonfile', cache_connection=str(cache_file)))
    assert reads.calls == []


@pytest.mark.parametrize('value', [[SECRET, 'second'], {'value': SECRET}])
@pytest.mark.parametrize('option', ['client_secret', 'client_certificate_password', 'access_token'])
def test_a_secret_given_as_a_list_or_mapping_is_refused_without_showing_it(tmp_path, monkeypatch, option, value):
    FakeReads(monkeypatch, [graph_application('App', 1)])
    with pytest.raises(AnsibleParserError) as caught:
        parse(inventory_file(tmp_path, **{option: value}))
    message = str(caught.value)
    assert '%s must be text (the secret itself, or !vault), got a ' % option in message
    assert SECRET not in message and 'second' not in message


def test_unknown_options_and_a_bad_secret_are_reported_together(tmp_path, monkeypatch):
    FakeReads(monkeypatch)
    with pytest.raises(AnsibleParserError) as caught:
        parse(inventory_file(tmp_path, filter={}, client_secret=[SECRET]))
    assert "Did you mean filters?; client_secret must be text" in str(caught.value)


def test_a_foreign_endpoint_and_unchecked_certificates_warn_as_the_modules_do(tmp_path, monkeypatch):
    FakeReads(monkeypatch, [graph_application('App', 1)])
    warnings = []
    monkeypatch.setattr(entra_sync.display, 'warning', warnings.append)
    parse(inventory_file(tmp_path, graph_endpoint='https://graph.example.test', validate_certs=False))
    assert any('graph_endpoint https://graph.example.test is not the Graph of the global cloud' in warning
               for warning in warnings)
    assert any('validate_certs is false' in warning for warning in warnings)


def test_the_microsoft_endpoints_give_no_warning(tmp_path, monkeypatch):
    FakeReads(monkeypatch, [graph_application('App', 1)])
    warnings = []
    monkeypatch.setattr(entra_sync.display, 'warning', warnings.append)
    parse(inventory_file(tmp_path, graph_endpoint='https://graph.microsoft.com'))
    assert warnings == []


def test_a_filter_that_matched_nothing_warns_with_what_was_seen(tmp_path, monkeypatch):
    reads = FakeReads(monkeypatch, [])
    reads.templates_seen = ['scim']
    warnings = []
    monkeypatch.setattr(entra_sync.display, 'warning', warnings.append)
    inventory, _plugin = parse(inventory_file(tmp_path, filters={'template_id': 'scimx'}))
    assert not inventory.hosts
    (warning,) = warnings
    assert 'filters.template_id scimx matched no job' in warning and 'templates scim' in warning


@pytest.mark.parametrize('text, message', [
    ('', 'is empty'), ('plugin: other.collection.thing\n', 'Incorrect plugin name'),
    ('[1, 2]\n', 'the file must hold a mapping of options'),
])
def test_a_file_that_is_not_an_entra_sync_configuration_says_so(tmp_path, monkeypatch, text, message):
    reads = FakeReads(monkeypatch)
    path = tmp_path / 'odd.entra_sync.yml'
    path.write_text(text)
    with pytest.raises(AnsibleParserError, match=message):
        parse(str(path))
    assert reads.calls == []


def test_api_version_beta_gets_the_modules_deprecation_notice(tmp_path, monkeypatch):
    FakeReads(monkeypatch, [graph_application('App', 1)])
    notices = []
    monkeypatch.setattr(entra_sync.display, 'deprecated', lambda msg, **kwargs: notices.append((msg, kwargs)))
    parse(inventory_file(tmp_path, api_version='beta'))
    ((message, details),) = notices
    assert message.startswith('api_version beta:') and details['collection_name'] == 'entra.provisioning'
    parse(inventory_file(tmp_path, name='v1.entra_sync.yml', api_version='v1.0'))
    assert len(notices) == 1
