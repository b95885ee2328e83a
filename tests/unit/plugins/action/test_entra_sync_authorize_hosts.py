# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The authorize role's action: which variables each host gets, which client each group signs in with, results.

The action runs with real ansible-core templating over fake host variables; Graph is the FakeGraph of the module
tests, handed out by a patched client factory that records the options of every sign-in.

Controller code switches ansible-core's module_utils into controller mode for the whole process (module warnings
then go to the display), so these tests run in their own process, as ``ansible-test units`` runs the controller
group apart from module_utils and modules; with plain pytest, run this directory on its own.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from unittest import mock

import pytest

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
from ansible.utils.display import Display

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core before 2.19 renders every string
    def trust_as_template(value):
        return value

from ansible_collections.entra.provisioning.plugins.action import entra_sync_authorize_hosts
from ansible_collections.entra.provisioning.plugins.module_utils._errors import AuthenticationError
from ansible_collections.entra.provisioning.tests.unit.plugins.modules.sync_graph_fake import FakeGraph

# Built at run time so no line of the tests looks like a real credential.
GROUP_SECRET = 'unit-test-' + 'group-secret'
HOST_SECRET = 'unit-test-' + 'host-secret'


class FakeHostVars(object):
    """Stands in for ansible-core's HostVars: ``raw_get`` gives a host's variables before templating."""

    def __init__(self, hosts):
        self.hosts = hosts

    def raw_get(self, host):
        return self.hosts[host]


class SignIns(object):
    """The patched client factory: one FakeGraph per sign-in, the options of each remembered."""

    def __init__(self, graph, refuse_secret=None):
        self.graph = graph
        self.refuse_secret = refuse_secret
        self.options = []
        self.clients = []

    def __call__(self, option_adapter, max_concurrency=None):
        names = ('tenant_id', 'client_id', 'client_secret', 'cloud', 'auth_method', 'access_token')
        options = dict((name, option_adapter.get_option(name)) for name in names)
        self.options.append(options)
        client = mock.Mock(wraps=self.graph)
        self.clients.append(client)
        client.settings = mock.Mock(verify=True, cloud=self.graph.settings.cloud, api_version='v1.0', warnings=(),
                                    graph_base_url='https://localhost', authority_host='https://localhost')
        client.authenticator = mock.Mock()
        client.close = mock.Mock()
        if options['client_secret'] == self.refuse_secret:
            client.authenticator.get_token.side_effect = AuthenticationError('AADSTS7000215: Invalid client secret.')
        return client


def make_action(play_layer=None, check_mode=False, args=None):
    task = mock.Mock()
    task.action = 'entra.provisioning.entra_sync_authorize_hosts'
    task.args = dict(args or {})
    task.async_val = 0
    task.check_mode = check_mode
    task.get_variable_manager.return_value.get_vars.return_value = dict(play_layer or {})
    connection = mock.Mock()
    connection._shell.tmpdir = '/nowhere'
    loader = DataLoader()
    return entra_sync_authorize_hosts.ActionModule(task, connection, mock.Mock(), loader, Templar(loader=loader))


def run(hosts, play_layer=None, batch=None, graph=None, refuse_secret=None, **action_options):
    graph = graph or FakeGraph()
    sign_ins = SignIns(graph, refuse_secret)
    batch = list(batch or hosts)
    task_vars = dict(hostvars=FakeHostVars(hosts), ansible_play_batch=batch, inventory_hostname=batch[0])
    with mock.patch.object(entra_sync_authorize_hosts, 'build_graph_client', sign_ins):
        result = make_action(play_layer, **action_options).run(task_vars=task_vars)
    return result, sign_ins


def application(graph, name, jobs=('scim',), **variables):
    app = graph.add_app(name, jobs=jobs)
    values = {'authorize_service_principal_id': app.service_principal_id,
              'authorize_credentials': dict((pair['key'], pair['value']) for pair in app.credentials())}
    values.update(variables)
    return app, values


PLAY = {'authorize_tenant_id': 'contoso.example', 'authorize_client_id': '0c6a1f57-3e2d-4b8a-9f41-7d5e2c9b1a01',
        'authorize_client_secret': GROUP_SECRET, 'authorize_report': 'per_host'}


def test_each_host_signs_in_with_its_own_secret_never_the_first_hosts():
    graph = FakeGraph()
    hosts = dict([('first', application(graph, 'First', authorize_client_secret=HOST_SECRET)[1]),
                  ('second', application(graph, 'Second')[1])])
    result, sign_ins = run(hosts, PLAY, graph=graph)
    assert sorted(options['client_secret'] for options in sign_ins.options) == [GROUP_SECRET, HOST_SECRET]
    assert [record['changed'] for record in result['outcomes'].values()] == [True, True]


def test_two_hosts_naming_one_application_with_other_sign_ins_leave_it_to_the_first():
    graph = FakeGraph()
    app, first = application(graph, 'Shared')
    second = dict(first, authorize_client_secret=HOST_SECRET)
    result, sign_ins = run(dict([('first', first), ('second', second)]), PLAY, graph=graph)
    assert result['outcomes']['first']['changed'] and not result['outcomes']['first']['failed']
    refused = result['outcomes']['second']
    assert refused['failed'] and "host 'first' names too" in refused['msg'] and HOST_SECRET not in refused['msg']
    # Nothing is sent for the second host: not even a sign-in with its secret.
    assert [options['client_secret'] for options in sign_ins.options] == [GROUP_SECRET]
    assert len(graph.calls_of('acquireAccessToken')) == 1 and app.authorized


def test_one_application_named_two_ways_with_two_sign_ins_is_written_once_naming_both_hosts():
    graph = FakeGraph()
    app, by_id = application(graph, 'Shared')
    by_name = {'authorize_display_name': 'Shared', 'authorize_credentials': by_id['authorize_credentials'],
               'authorize_client_secret': HOST_SECRET}
    result, sign_ins = run(dict([('by-id', by_id), ('by-name', by_name)]), PLAY, graph=graph)
    assert sorted(options['client_secret'] for options in sign_ins.options) == [GROUP_SECRET, HOST_SECRET]
    assert result['outcomes']['by-id']['changed'] and not result['outcomes']['by-id']['failed']
    refused = result['outcomes']['by-name']
    assert refused['failed'] and not refused['changed']
    assert ("authorize_display_name of host 'by-name' resolves to the same application (appId %s) as host 'by-id'"
            % app.app_id) in refused['msg']
    assert len(graph.calls_of('acquireAccessToken')) == 1


def test_one_application_in_two_parts_of_one_sign_in_is_written_once():
    graph = FakeGraph()
    app, by_id = application(graph, 'Shared')
    by_app_id = {'authorize_app_id': app.app_id, 'authorize_credentials': by_id['authorize_credentials']}
    result, _sign_ins = run(dict([('by-id', by_id), ('by-app-id', by_app_id)]),
                            dict(PLAY, authorize_applications_per_run=1), graph=graph)
    assert result['outcomes']['by-app-id']['failed'] and "as host 'by-id'" in result['outcomes']['by-app-id']['msg']
    assert len(graph.calls_of('acquireAccessToken')) == 1


def test_a_cloud_spelt_two_ways_is_one_sign_in():
    graph = FakeGraph()
    hosts = dict([('first', application(graph, 'First', authorize_cloud='AzureCloud')[1]),
                  ('second', application(graph, 'Second', authorize_cloud='global')[1])])
    result, sign_ins = run(hosts, PLAY, graph=graph)
    assert [options['cloud'] for options in sign_ins.options] == ['global']
    assert result['summary']['changed'] == 2


def test_a_refused_secret_fails_only_the_hosts_that_declared_it():
    graph = FakeGraph()
    hosts = dict([('wrong', application(graph, 'Wrong', authorize_client_secret=HOST_SECRET)[1]),
                  ('right', application(graph, 'Right')[1])])
    result, _sign_ins = run(hosts, PLAY, graph=graph, refuse_secret=HOST_SECRET)
    assert result['outcomes']['wrong']['failed'] and 'AADSTS7000215' in result['outcomes']['wrong']['msg']
    assert 'signing in as' in result['outcomes']['wrong']['msg']
    assert not result['outcomes']['right']['failed']
    assert result['summary']['failed_names'] == ['wrong']
    assert '1 of 2 applications failed: wrong.' in result['failed_msg']


def test_play_values_are_rendered_in_each_hosts_own_context():
    graph = FakeGraph()
    hosts = dict([('first', application(graph, 'First', tenant='one.example')[1]),
                  ('second', application(graph, 'Second', tenant='two.example')[1])])
    # Inventory and playbook files mark their strings as templates; a test has to say so itself.
    play = dict(PLAY, authorize_tenant_id=trust_as_template('{{ tenant }}'))
    _result, sign_ins = run(hosts, play, graph=graph)
    assert sorted(options['tenant_id'] for options in sign_ins.options) == ['one.example', 'two.example']


def test_a_value_that_cannot_be_rendered_fails_its_host_alone():
    graph = FakeGraph()
    hosts = dict([('broken', application(graph, 'Broken',
                                                authorize_client_secret=trust_as_template('{{ undefined_vault_value }}'))[1]),
                  ('fine', application(graph, 'Fine')[1])])
    result, _sign_ins = run(hosts, PLAY, graph=graph)
    assert "authorize_client_secret of host 'broken' cannot be rendered" in result['outcomes']['broken']['msg']
    assert not result['outcomes']['fine']['failed']


def test_only_the_play_batch_is_authorized():
    graph = FakeGraph()
    hosts = dict([('in', application(graph, 'In')[1]), ('out', application(graph, 'Out')[1])])
    result, _sign_ins = run(hosts, PLAY, batch=['in'], graph=graph)
    assert list(result['outcomes']) == ['in']
    assert len(graph.calls_of('acquireAccessToken')) == 1


def test_check_mode_sends_no_write():
    graph = FakeGraph()
    result, _sign_ins = run({'app': application(graph, 'App')[1]}, PLAY, graph=graph, check_mode=True)
    assert result['outcomes']['app']['changed'] and not graph.calls_of('acquireAccessToken')
    assert result['check_mode'] is True


def test_the_summary_report_counts_as_the_change_and_the_per_host_report_does_not():
    graph = FakeGraph()
    per_host, _sign_ins = run({'app': application(graph, 'App')[1]}, PLAY, graph=graph)
    graph = FakeGraph()
    summary, _sign_ins = run({'app': application(graph, 'App')[1]}, dict(PLAY, authorize_report='summary'),
                             graph=graph)
    assert (per_host['changed'], summary['changed']) == (False, True)
    assert summary['summary_lines'][-1] == 'total 1, changed 1, ok 0, failed 0'


@pytest.mark.parametrize('report, show_summary, shown', [('per_host', True, True), ('per_host', False, False),
                                                         ('summary', True, True), ('summary', False, False)])
def test_the_action_shows_the_table_itself_as_text(report, show_summary, shown):
    graph = FakeGraph()
    play = dict(PLAY, authorize_report=report, authorize_show_summary=show_summary)
    with mock.patch.object(Display(), 'display') as display:
        run({'app': application(graph, 'App')[1]}, play, graph=graph)
    texts = [call.args[0] for call in display.call_args_list]
    assert any(text.endswith('total 1, changed 1, ok 0, failed 0') for text in texts) is shown


@pytest.mark.parametrize('show_summary', [True, False])
def test_failed_applications_are_shown_as_a_table_of_reasons_and_published_as_stats(show_summary):
    graph = FakeGraph()
    hosts = {'good': application(graph, 'Good')[1],
             'gone': {'authorize_service_principal_id': '00000000-0000-4000-8000-00000000dead',
                      'authorize_credentials': {'SecretToken': 'x1234'}}}
    play = dict(PLAY, authorize_report='summary', authorize_show_summary=show_summary)
    with mock.patch.object(Display(), 'display') as display:
        result, _sign_ins = run(hosts, play, graph=graph)
    table = [call.args[0] for call in display.call_args_list if call.args[0].startswith('failed application')]
    assert len(table) == 1
    lines = table[0].splitlines()
    assert lines[1].startswith("gone                ") and "Application 'gone'" in lines[1]
    assert lines[-1].startswith('1 of 2 applications failed: gone.')
    assert result['ansible_stats'] == {'per_host': False, 'aggregate': True, 'data': {
        'authorize_total': 2, 'authorize_changed': 1, 'authorize_ok': 0, 'authorize_failed': 1,
        'authorize_failed_applications': ['gone']}}


def test_list_mode_authorizes_the_items_with_the_play_connection():
    graph = FakeGraph()
    app = graph.add_app('Listed')
    listed = [{'name': 'listed', 'service_principal_id': app.service_principal_id, 'credentials': app.credentials()}]
    result, sign_ins = run({'localhost': {}}, dict(PLAY, authorize_applications=listed), graph=graph)
    assert result['mode'] == 'list' and result['report'] == 'summary'
    assert list(result['outcomes']) == ['listed'] and result['outcomes']['listed']['changed']
    assert [options['client_secret'] for options in sign_ins.options] == [GROUP_SECRET]


def test_a_bad_play_level_variable_fails_the_task_before_any_request():
    graph = FakeGraph()
    result, sign_ins = run({'app': application(graph, 'App')[1]}, dict(PLAY, authorize_applications_per_run=0),
                           graph=graph)
    assert result['failed'] and result['msg'] == ("The play's role variables: authorize_applications_per_run must be "
                                                  "from 1 to 5000, got 0.")
    assert not sign_ins.options and not graph.calls


def test_module_defaults_give_connection_options_after_the_role_variables():
    graph = FakeGraph()
    hosts = {'own': application(graph, 'Own', authorize_client_secret=HOST_SECRET)[1],
             'group': application(graph, 'Group')[1]}
    play = dict((name, value) for name, value in PLAY.items() if name != 'authorize_client_secret')
    result, sign_ins = run(hosts, play, graph=graph, args={'client_secret': GROUP_SECRET, 'timeout': '45'})
    assert not result.get('failed') and result['summary']['failed'] == 0
    assert sorted(options['client_secret'] for options in sign_ins.options) == [GROUP_SECRET, HOST_SECRET]


def test_module_defaults_are_checked_and_other_options_are_ignored_with_a_warning():
    graph = FakeGraph()
    hosts = {'app': application(graph, 'App')[1]}
    result, sign_ins = run(hosts, PLAY, graph=graph, args={'timeout': 0})
    assert result['failed'] and result['msg'] == (
        'module_defaults for group/entra.provisioning.entra: timeout must be 1 or more, got 0.')
    assert not sign_ins.options
    result, _sign_ins = run(hosts, PLAY, graph=graph, args={'force': True})
    assert not result.get('failed')
    assert ('module_defaults for group/entra.provisioning.entra sets force, which the authorize role does not take '
            'from there (only the connection options); set authorize_force instead.' in result['warnings'])


def test_play_level_settings_come_from_the_play_and_a_host_setting_one_is_warned_about():
    graph = FakeGraph()
    hosts = {'first': dict(application(graph, 'First')[1], authorize_max_concurrency=0),
             'second': dict(application(graph, 'Second')[1], authorize_report='summary')}
    result, _sign_ins = run(hosts, PLAY, graph=graph)
    assert not result.get('failed') and result['report'] == 'per_host' and result['summary']['changed'] == 2
    texts = result['warnings']
    assert ("authorize_max_concurrency is set for host 'first', but it is read from the play only (play vars, role "
            "parameters, extra vars, role defaults), never from a host: the host value is ignored. Set it in the "
            "play.") in texts
    assert any(text.startswith("authorize_report is set for host 'second'") for text in texts)


def test_an_extra_var_seen_on_every_host_is_the_plays_and_not_warned_about():
    graph = FakeGraph()
    hosts = {'app': dict(application(graph, 'App')[1], authorize_report='summary')}
    result, _sign_ins = run(hosts, dict(PLAY, authorize_report='summary'), graph=graph)
    assert result['report'] == 'summary'
    assert not [text for text in result.get('warnings', []) if 'authorize_report' in text]


def test_an_unexpected_error_is_a_failure_without_a_traceback(monkeypatch):
    monkeypatch.setattr(entra_sync_authorize_hosts, 'parse_run_settings', mock.Mock(side_effect=KeyError('boom')))
    graph = FakeGraph()
    result, _sign_ins = run({'app': application(graph, 'App')[1]}, PLAY, graph=graph)
    assert result['failed'] and 'stopped on an unexpected KeyError' in result['msg']
    assert 'exception' not in result


class BrokenHostVars(FakeHostVars):
    """HostVars that fail, as no bad variable would, on reading one host: after the first ones were read."""

    def raw_get(self, host):
        if host == 'broken':
            raise RuntimeError('the inventory went away')
        return self.hosts[host]


def test_a_reading_that_stops_midway_fails_the_task_and_writes_nothing():
    graph = FakeGraph()
    hosts = dict((name, application(graph, name)[1]) for name in ('first', 'second', 'broken', 'last'))
    task_vars = dict(hostvars=BrokenHostVars(hosts), ansible_play_batch=list(hosts), inventory_hostname='first')
    with mock.patch.object(entra_sync_authorize_hosts, 'build_graph_client', SignIns(graph)):
        result = make_action(PLAY).run(task_vars=task_vars)
    assert result['failed'] and 'unexpected RuntimeError: the inventory went away' in result['msg']
    # the first group may have signed in and read its first targets meanwhile, but it wrote nothing
    assert 'acquireAccessToken' not in graph.operations()


@pytest.mark.parametrize('secret', [GROUP_SECRET, HOST_SECRET])
def test_no_secret_reaches_the_result(secret):
    graph = FakeGraph()
    hosts = dict([('first', application(graph, 'First', authorize_client_secret=HOST_SECRET)[1]),
                  ('second', application(graph, 'Second')[1])])
    result, _sign_ins = run(hosts, PLAY, graph=graph, refuse_secret=HOST_SECRET)
    assert secret not in repr(result)
    assert not any(pair['value'] in repr(result) for app in graph.apps for pair in app.credentials())


def test_each_task_is_a_run_whose_secrets_are_forgotten_when_it_ends():
    from ansible_collections.entra.provisioning.plugins.module_utils import _redact

    seen = []
    graph = FakeGraph()
    hosts = {'first': application(graph, 'First', authorize_client_secret=HOST_SECRET)[1]}
    real_parse = entra_sync_authorize_hosts.parse_run_settings

    def parse_and_look(values):
        seen.append(_redact.registered_secrets())
        return real_parse(values)

    with mock.patch.object(entra_sync_authorize_hosts, 'parse_run_settings', parse_and_look):
        run(hosts, PLAY, graph=graph)
        run(hosts, PLAY, graph=graph)
    # each run starts empty (nothing of the first run is handed to the second), and none is left in use after
    assert seen == [(), ()]
    assert _redact.redact(HOST_SECRET) == HOST_SECRET
    with pytest.raises(_redact.NoRunError):
        _redact.register_secret(HOST_SECRET)


# -- authorize_start_job ------------------------------------------------------------------------------------------

class JobStarts(object):
    """The patched job engine: remembers each call (client, targets, check mode) and answers as told."""

    def __init__(self, status_before='Paused', error=None):
        self.status_before = status_before
        self.error = error
        self.calls = []

    def __call__(self, client, targets, check_mode=False, max_concurrency=None):
        self.calls.append(dict(client=client, targets=targets, check_mode=check_mode))
        if self.error:
            raise self.error
        started = self.status_before != 'Active'
        return [dict(label=target['label'], job_id=target['job_id'], status_before=self.status_before,
                     started=started, job=dict(status=dict(code='Active' if started and not check_mode
                                                           else self.status_before)),
                     failed=False, msg='done', error=None) for target in targets]


def run_with_jobs(hosts, job_starts, **options):
    with mock.patch.object(entra_sync_authorize_hosts, 'start_jobs_unless_running', job_starts):
        return run(hosts, **options)


def test_only_the_authorized_hosts_that_asked_get_their_job_started_with_the_same_sign_in():
    graph = FakeGraph()
    starter, starter_values = application(graph, 'Starter', authorize_start_job=True)
    hosts = dict([('starter', starter_values), ('quiet', application(graph, 'Quiet')[1]),
                  ('missing', dict(application(graph, 'Missing', authorize_start_job=True)[1],
                                   authorize_service_principal_id='5a000000-0000-4000-8000-0000000000e1'))])
    job_starts = JobStarts()
    result, sign_ins = run_with_jobs(hosts, job_starts, play_layer=PLAY, graph=graph)
    assert len(sign_ins.options) == 1 and len(job_starts.calls) == 1
    assert [target['label'] for target in job_starts.calls[0]['targets']] == ['starter']
    assert job_starts.calls[0]['targets'][0]['path'].endswith(starter.service_principal_id)
    assert job_starts.calls[0]['check_mode'] is False
    outcomes = result['outcomes']
    assert (outcomes['starter']['job_status_before'], outcomes['starter']['job_started'],
            outcomes['starter']['job_status']) == ('Paused', True, 'Active')
    assert (outcomes['quiet']['job_started'], outcomes['quiet']['job_status']) == (False, None)
    assert outcomes['missing']['failed'] and not outcomes['missing']['job_started']
    assert any(line.startswith('starter') and line.endswith('job started (Paused -> Active)')
               for line in result['summary_lines'])


def test_check_mode_asks_the_job_engine_for_a_forecast_only():
    graph = FakeGraph()
    job_starts = JobStarts()
    result, _sign_ins = run_with_jobs({'app': application(graph, 'App', authorize_start_job=True)[1]}, job_starts,
                                      play_layer=PLAY, graph=graph, check_mode=True)
    assert job_starts.calls[0]['check_mode'] is True and not graph.calls_of('acquireAccessToken')
    assert result['outcomes']['app']['job_started'] and result['outcomes']['app']['job_status'] == 'Paused'
    assert result['summary_lines'][1].endswith('job would be started (Paused)')


def test_a_job_phase_that_fails_fails_its_applications_and_keeps_them_authorized():
    graph = FakeGraph()
    job_starts = JobStarts(error=AuthenticationError('AADSTS700024: the token expired.'))
    result, _sign_ins = run_with_jobs({'app': application(graph, 'App', authorize_start_job=True)[1]}, job_starts,
                                      play_layer=PLAY, graph=graph)
    outcome = result['outcomes']['app']
    assert outcome['failed'] and outcome['authorized'] is True and outcome['acquired']
    assert "failed at starting its job: AADSTS700024" in outcome['msg']
    assert result['summary']['failed_names'] == ['app']


@pytest.mark.parametrize('check_mode', [False, True])
def test_a_host_without_a_job_that_asked_for_a_start_is_authorized_and_fails_alone_saying_there_is_no_job(check_mode):
    graph = FakeGraph()
    hosts = {'jobless': application(graph, 'Jobless', jobs=(), authorize_start_job=True)[1],
             'starter': application(graph, 'Starter', authorize_start_job=True)[1]}
    job_starts = JobStarts()
    result, _sign_ins = run_with_jobs(hosts, job_starts, play_layer=PLAY, graph=graph, check_mode=check_mode)
    assert [target['label'] for target in job_starts.calls[0]['targets']] == ['starter']
    jobless = result['outcomes']['jobless']
    assert jobless['failed'] and jobless['authorized'] is not check_mode and jobless['job_id'] is None
    assert not jobless['job_started'] and jobless['error'] is None
    assert "failed at starting its job: it has no provisioning (synchronization) job, so there is no job to start" \
        in jobless['msg']
    assert 'entra.provisioning.entra_sync_job module' in jobless['msg']
    assert not result['outcomes']['starter']['failed'] and result['summary']['failed_names'] == ['jobless']
    assert len(graph.calls_of('acquireAccessToken')) == (0 if check_mode else 2)


def test_a_host_without_a_job_and_no_start_is_authorized_and_the_summary_says_it_has_no_job_yet():
    graph = FakeGraph()
    job_starts = JobStarts()
    result, _sign_ins = run_with_jobs({'jobless': application(graph, 'Jobless', jobs=())[1]}, job_starts,
                                      play_layer=PLAY, graph=graph)
    assert not job_starts.calls and not result['outcomes']['jobless']['failed']
    assert result['outcomes']['jobless']['authorized'] is True
    assert result['summary_lines'][1].endswith(
        'acquireAccessToken sent; verified; no provisioning job yet (create one to provision)')


def test_start_job_false_never_calls_the_job_engine():
    graph = FakeGraph()
    job_starts = JobStarts()
    run_with_jobs({'app': application(graph, 'App', authorize_start_job=False)[1]}, job_starts, play_layer=PLAY,
                  graph=graph)
    assert not job_starts.calls


def test_a_misspelt_role_variable_is_warned_about_with_its_closest_name():
    graph = FakeGraph()
    hosts = dict(('app%d' % number, dict(application(graph, 'App%d' % number)[1], authorize_timout=60))
                 for number in range(5))
    result, _sign_ins = run(hosts, dict(PLAY, authorize_forse=True), graph=graph)
    assert not result.get('failed')
    texts = result['warnings']
    assert ("authorize_forse (set for the play) is not a variable of the entra.provisioning.authorize role, so it is "
            "ignored. Did you mean authorize_force?") in texts
    assert ("authorize_timout (set for hosts 'app0', 'app1', 'app2' and 2 more) is not a variable of the "
            "entra.provisioning.authorize role, so it is ignored. Did you mean authorize_timeout?") in texts


def test_beta_and_the_endpoint_notices_are_shown_as_the_modules_show_them():
    graph = FakeGraph()
    hosts = {'app': application(graph, 'App')[1]}
    sign_ins = SignIns(graph)

    def client_with_notices(option_adapter, max_concurrency=None):
        client = sign_ins(option_adapter, max_concurrency)
        client.settings = mock.Mock(verify=False, cloud=graph.settings.cloud, api_version='beta',
                                    warnings=('graph_endpoint https://gw.example is not the global Graph',),
                                    graph_base_url='https://localhost', authority_host='https://localhost')
        return client

    task_vars = dict(hostvars=FakeHostVars(hosts), ansible_play_batch=['app'], inventory_hostname='app')
    with mock.patch.object(entra_sync_authorize_hosts, 'build_graph_client', client_with_notices):
        result = make_action(dict(PLAY, authorize_api_version='beta')).run(task_vars=task_vars)
    texts = ' '.join(result['warnings'])
    assert 'graph_endpoint https://gw.example is not the global Graph' in texts
    assert 'authorize_validate_certs is false: TLS certificates of Graph and the sign-in service' in texts
    [deprecation] = result['deprecations']
    assert deprecation['msg'].startswith('authorize_api_version beta: Microsoft Graph beta marks')
    assert (deprecation['date'], deprecation['collection_name']) == ('2027-07-06', 'entra.provisioning')


def test_a_host_name_that_does_not_resolve_fails_its_group_at_once_naming_it():
    graph = FakeGraph()
    sign_ins = SignIns(graph)

    def unresolvable(option_adapter, max_concurrency=None):
        client = sign_ins(option_adapter, max_concurrency)
        client.settings.graph_base_url = 'https://graph.no-such-cloud.invalid'
        return client

    task_vars = dict(hostvars=FakeHostVars({'app': application(graph, 'App')[1]}), ansible_play_batch=['app'],
                     inventory_hostname='app')
    with mock.patch.object(entra_sync_authorize_hosts, 'build_graph_client', unresolvable), \
            mock.patch.object(entra_sync_authorize_hosts.socket, 'getaddrinfo',
                              side_effect=entra_sync_authorize_hosts.socket.gaierror(-2, 'Name or service not known')):
        result = make_action(PLAY).run(task_vars=task_vars)
    message = result['outcomes']['app']['msg']
    assert result['outcomes']['app']['failed'] and 'the host name graph.no-such-cloud.invalid of Graph' in message
    assert 'does not resolve: Name or service not known' in message
    # Failed before signing in: no token was asked for, nothing reached Graph.
    assert not sign_ins.clients[0].authenticator.get_token.called and not graph.calls


def test_a_proxy_resolves_the_names_itself(monkeypatch):
    monkeypatch.setenv('HTTPS_PROXY', 'http://proxy.example:3128')
    monkeypatch.delenv('NO_PROXY', raising=False)
    monkeypatch.delenv('no_proxy', raising=False)
    settings = mock.Mock(graph_base_url='https://graph.no-such-cloud.invalid', authority_host='https://login.invalid')
    with mock.patch.object(entra_sync_authorize_hosts.socket, 'getaddrinfo') as getaddrinfo:
        entra_sync_authorize_hosts.refuse_unresolved_names(settings)
    assert not getaddrinfo.called


def test_progress_says_where_a_quiet_run_is_and_a_short_run_gets_no_extra_line():
    shown = []
    clock = [100.0]
    progress = entra_sync_authorize_hosts.Progress(mock.Mock(display=shown.append), 1000, quiet_seconds=10,
                                                   clock=lambda: clock[0])
    progress.phase_of('global / contoso / client', 'phases 1 to 3 of 5, as the applications come: resolving')
    progress.read, progress.done = 400, 0
    clock[0] += 9
    progress.tick()
    assert len(shown) == 1
    clock[0] += 1
    progress.tick()
    assert shown[-1] == ('authorize: still global / contoso / client: phases 1 to 3 of 5: 400 of 1000 host(s) read, '
                         '0 application(s) done (10 s so far)')
    progress.waiting(1, 'Retry-After')
    progress.waiting(12, 'Graph answered 429 with Retry-After: 12', where='global / contoso / client')
    assert shown[-1] == 'authorize: global / contoso / client: waiting 12 s: Graph answered 429 with Retry-After: 12'
    assert len(shown) == 3
