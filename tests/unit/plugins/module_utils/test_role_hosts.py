# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The authorize role's data logic: variable resolution, per-host validation, grouping by sign-in, outcomes."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.entra.provisioning.plugins.module_utils._errors import EntraError, InvalidInputError
from ansible_collections.entra.provisioning.plugins.module_utils._redact import start_in_thread
from ansible_collections.entra.provisioning.plugins.module_utils._sync.authorization import ApplicationOutcome
from ansible_collections.entra.provisioning.plugins.module_utils._sync.common import NO_JOB_ADVICE
from ansible_collections.entra.provisioning.plugins.module_utils._role_hosts import (
    CONNECTION_OPTIONS,
    HOST_OPTIONS,
    HOST_SPEC,
    OptionChecker,
    ReadingAbortedError,
    SignInIntake,
    WrittenApplications,
    add_job_result,
    failed_lines,
    failed_outcomes,
    host_report,
    refuse_shared_targets,
    job_start_failure,
    no_job_to_start,
    job_target,
    outcome_record,
    outcome_stats,
    parse_host,
    parse_listed,
    parse_module_defaults,
    parse_run_settings,
    ready_to_start,
    resolve_values,
    summarize,
    summary_lines,
    unknown_variables,
)
from ansible_collections.entra.provisioning.plugins.module_utils._module import shared_argument_spec

GUID = '3f1e2d4c-5b6a-4798-8a9b-0c1d2e3f4a5b'
OTHER_GUID = '4a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d'
# Built at run time so no line of the tests looks like a real credential.
SECRET_ONE = 'unit-test-' + 'secret-one'
SECRET_TWO = 'unit-test-' + 'secret-two'
CONNECTION = dict(tenant_id='contoso.example', client_id=OTHER_GUID, client_secret=SECRET_ONE, cloud='global')


def host_values(**overrides):
    values = dict(CONNECTION, service_principal_id=GUID, credentials={'SecretToken': 'unit-test-token'})
    values.update(overrides)
    return dict((key, value) for key, value in values.items() if value is not None)


def plain(name, value):
    return value


# -- resolution ---------------------------------------------------------------------------------------------------

def test_host_variable_wins_over_the_play_and_the_play_over_nothing():
    host_layer = {'authorize_client_secret': SECRET_TWO}
    play_layer = {'authorize_client_secret': SECRET_ONE, 'authorize_tenant_id': 'contoso.example'}
    values = resolve_values(HOST_OPTIONS, (host_layer, play_layer), plain)
    assert values == {'client_secret': SECRET_TWO, 'tenant_id': 'contoso.example'}


def test_unset_variables_are_left_out_so_the_environment_fallbacks_apply():
    assert resolve_values(HOST_OPTIONS, ({}, {'authorize_force': False}), plain) == {'force': False}


def test_each_value_is_rendered_with_the_variable_name():
    seen = []

    def template(name, value):
        seen.append(name)
        return value.upper()

    values = resolve_values(('tenant_id',), ({'authorize_tenant_id': 'contoso'},), template)
    assert values == {'tenant_id': 'CONTOSO'} and seen == ['authorize_tenant_id']


# -- play-level settings ------------------------------------------------------------------------------------------

def test_run_settings_default_to_the_documented_defaults():
    assert parse_run_settings({}) == dict(report='per_host', show_summary=True, max_concurrency=4,
                                          applications_per_run=5000, applications=None)


PLAY = "The play's role variables: "


@pytest.mark.parametrize('option, value, message', [
    # bounds: the modules' minimum for max_concurrency, the role's own range for the part size
    ('applications_per_run', 0, PLAY + 'authorize_applications_per_run must be from 1 to 5000, got 0.'),
    ('applications_per_run', '-1', PLAY + 'authorize_applications_per_run must be from 1 to 5000, got -1.'),
    ('max_concurrency', 0, PLAY + 'authorize_max_concurrency must be 1 or more, got 0.'),
    # types and choices, in ansible-core's words, naming the role variable
    ('max_concurrency', 'many', PLAY + "argument 'authorize_max_concurrency' is of type str and we were unable to "
                                       "convert to int"),
    ('report', 'all', PLAY + 'value of authorize_report must be one of: per_host, summary, got: all.'),
    ('show_summary', 'perhaps', PLAY + "argument 'authorize_show_summary' is of type str and we were unable to "
                                       "convert to bool"),
])
def test_run_settings_out_of_bounds_are_refused_naming_the_variable(option, value, message):
    with pytest.raises(InvalidInputError) as raised:
        parse_run_settings({option: value})
    assert raised.value.message.startswith(message)


def test_run_settings_accept_numbers_given_as_text_and_the_modules_concurrency_bound():
    settings = parse_run_settings({'max_concurrency': '8', 'show_summary': 'no'})
    assert settings['max_concurrency'] == 8 and settings['show_summary'] is False
    # The modules take any concurrency from 1: so does the role (it stopped at 20).
    assert parse_run_settings({'max_concurrency': 32})['max_concurrency'] == 32


def test_every_problem_of_a_play_is_named_at_once():
    with pytest.raises(InvalidInputError) as raised:
        parse_run_settings({'report': 'all', 'max_concurrency': 'many'})
    assert 'authorize_report' in raised.value.message and 'authorize_max_concurrency' in raised.value.message


# -- the same options as the modules ------------------------------------------------------------------------------

def test_every_shared_module_option_is_a_role_variable():
    assert set(shared_argument_spec()) == set(CONNECTION_OPTIONS)
    assert set(CONNECTION_OPTIONS) <= set(HOST_OPTIONS)


def test_connection_numbers_reach_the_sign_in_converted():
    application = parse_host('expenses', host_values(timeout='60', max_retries=0))
    assert not application.rejected
    assert application.connection['timeout'] == 60 and application.connection['max_retries'] == 0


@pytest.mark.parametrize('overrides, message', [
    ({'timeout': 0}, "host 'expenses': authorize_timeout must be 1 or more, got 0."),
    ({'max_retries': -1}, "host 'expenses': authorize_max_retries must be 0 or more, got -1."),
    ({'timeout': 'soon'}, "host 'expenses': argument 'authorize_timeout' is of type str and we were unable to "
                          "convert to int"),
    ({'api_version': 'v2.0'}, "host 'expenses': value of authorize_api_version must be one of: v1.0, beta, got: "
                              "v2.0."),
])
def test_connection_options_keep_the_modules_types_choices_and_bounds(overrides, message):
    application = parse_host('expenses', host_values(**overrides))
    assert application.rejected and application.request.rejection.message.startswith(message)


def test_module_defaults_are_checked_in_the_modules_own_words():
    assert parse_module_defaults({'timeout': '45', 'tenant_id': 'contoso.example'}, 'group/e.p.entra') == {
        'timeout': 45, 'tenant_id': 'contoso.example'}
    with pytest.raises(InvalidInputError) as raised:
        parse_module_defaults({'timeout': 0}, 'group/e.p.entra')
    assert raised.value.message == 'module_defaults for group/e.p.entra: timeout must be 1 or more, got 0.'


def test_module_defaults_come_after_the_hosts_variables():
    application = parse_host('expenses', host_values(timeout=12), defaults={'timeout': 45, 'max_retries': 1})
    assert application.connection['timeout'] == 12 and application.connection['max_retries'] == 1


@pytest.mark.parametrize('overrides', [
    {},
    {'timeout': 45, 'force': True, 'api_version': 'beta', 'ca_path': '/etc/ssl/ca.pem', 'job_id': 'scim.1'},
    {'timeout': '45', 'force': 'yes', 'ca_path': '~/ca.pem', 'app_id': 2024, 'service_principal_id': None},
])
def test_values_taken_as_they_are_are_what_ansible_cores_validator_returns(overrides):
    checker = OptionChecker(HOST_SPEC)
    values = dict((option, value) for option, value in host_values(**overrides).items() if value is not None)
    validated, problems = checker._validate(values)  # pylint: disable=protected-access
    assert not problems and checker.check(values, "host 'a'") == validated


@pytest.mark.parametrize('names, expected', [
    (['authorize_timout'], {'authorize_timout': 'authorize_timeout'}),
    (['authorize_client_secert', 'authorize_force'], {'authorize_client_secert': 'authorize_client_secret'}),
    (['authorize_colour'], {'authorize_colour': None}),
    (['authorize_result', 'ansible_host', 'authorize_max_concurrency'], {}),
])
def test_an_unknown_role_variable_is_found_with_its_closest_name(names, expected):
    assert unknown_variables(names) == expected


# -- per-host validation ------------------------------------------------------------------------------------------

def test_a_good_host_becomes_a_request_labelled_by_the_host():
    application = parse_host('expenses', host_values())
    assert not application.rejected
    assert application.request.label == 'expenses'
    assert application.request.settings['credentials'] == [{'key': 'SecretToken', 'value': 'unit-test-token'}]
    assert application.connection['client_secret'] == SECRET_ONE


@pytest.mark.parametrize('overrides, named', [
    ({'credentials': 'SecretToken=abc'}, "authorize_credentials of host 'expenses' is a string; give a list of {key"),
    ({'credentials': [{'key': 'SecretToken'}]}, "authorize_credentials of host 'expenses'[0].value"),
    ({'credentials': [{'key': 'SecretToken', 'value': 'x1234', 'note': 'y'}]},
     "authorize_credentials of host 'expenses'[0] has 'note' besides key and value"),
    ({'service_principal_id': 'not-a-guid'}, "authorize_service_principal_id of host 'expenses'"),
    ({'force': 'sometimes'}, "host 'expenses': argument 'authorize_force' is of type str and we were unable to "
                             "convert to bool"),
    ({'auth_method': 'password'}, "host 'expenses': value of authorize_auth_method must be one of: auto"),
    ({'validate_certs': 'maybe'}, "host 'expenses': argument 'authorize_validate_certs' is of type str"),
    ({'tenant_id': ['a', 'b']}, "host 'expenses': authorize_tenant_id must be a string, got a list"),
    ({'client_secret': {'value': SECRET_TWO}}, "host 'expenses': authorize_client_secret must be a string, got a "
                                               "mapping"),
    ({'service_principal_id': None}, "host 'expenses': give exactly one of authorize_service_principal_id"),
])
def test_a_bad_host_is_rejected_naming_the_variable_and_the_host(overrides, named):
    application = parse_host('expenses', host_values(**overrides))
    assert application.rejected
    assert named in application.request.rejection.message


def test_a_rejection_never_repeats_a_credential_or_secret_value():
    application = parse_host('expenses', host_values(credentials=[{'key': 'SecretTokn', 'value': 'unit-test-token'}],
                                                     client_secret=SECRET_ONE))
    assert application.rejected
    assert 'unit-test-token' not in application.request.rejection.message
    assert SECRET_ONE not in application.request.rejection.message


def test_switches_accept_ansible_booleans():
    application = parse_host('expenses', host_values(force='yes', verify='false'))
    assert application.request.settings['force'] is True and application.request.settings['verify'] is False


# -- grouping -------------------------------------------------------------------------------------------------------

def group_by_sign_in(applications):
    """The groups the action's intake makes of ``applications`` once all are read (the rejected ones left out)."""
    intake = SignInIntake()
    for application in applications:
        if not application.rejected:
            intake.add(application)
    intake.close()
    return intake.groups


def test_hosts_of_one_client_with_different_secrets_sign_in_separately():
    first = parse_host('first', host_values(client_secret=SECRET_ONE))
    second = parse_host('second', host_values(client_secret=SECRET_TWO, service_principal_id=OTHER_GUID))
    groups = group_by_sign_in([first, second])
    assert [[application.name for application in group.applications] for group in groups] == [['first'], ['second']]
    assert [group.connection['client_secret'] for group in groups] == [SECRET_ONE, SECRET_TWO]


def test_groups_that_read_alike_are_numbered_and_their_labels_hold_no_secret():
    groups = group_by_sign_in([parse_host('first', host_values(client_secret=SECRET_ONE)),
                               parse_host('second', host_values(client_secret=SECRET_TWO))])
    labels = [group.label for group in groups]
    # The first keeps the plain label: progress may name a group before the next one appears.
    assert labels[0] != labels[1] and 'sign-in 2 of this client' in labels[1]
    assert not any(secret in label for label in labels for secret in (SECRET_ONE, SECRET_TWO))


@pytest.mark.parametrize('overrides', [{'force': True}, {'verify': False}, {'job_id': 'scim.1'}])
def test_per_application_switches_never_split_a_sign_in(overrides):
    groups = group_by_sign_in([parse_host('first', host_values()), parse_host('second', host_values(**overrides))])
    assert len(groups) == 1 and len(groups[0].applications) == 2


@pytest.mark.parametrize('option, value', [('cloud', 'usgov'), ('graph_endpoint', 'https://proxy.example'),
                                           ('ca_path', '/etc/pki/ca.pem'), ('validate_certs', False),
                                           ('api_version', 'beta'), ('auth_method', 'client_secret')])
def test_every_sign_in_and_endpoint_setting_splits_a_group(option, value):
    groups = group_by_sign_in([parse_host('first', host_values()), parse_host('second', host_values(**{option: value}))])
    assert len(groups) == 2


def test_rejected_hosts_join_no_group():
    groups = group_by_sign_in([parse_host('bad', host_values(credentials='x')), parse_host('good', host_values())])
    assert [application.name for group in groups for application in group.applications] == ['good']


def test_a_target_named_again_with_another_sign_in_is_refused_naming_both_hosts():
    first = parse_host('first', host_values(client_secret=SECRET_ONE))
    same_sign_in = parse_host('same', host_values(client_secret=SECRET_ONE))
    other_sign_in = parse_host('other', host_values(client_secret=SECRET_TWO,
                                                    service_principal_id=first.request.target_value.upper()))
    other_tenant = parse_host('elsewhere', host_values(client_secret=SECRET_TWO, tenant_id='fabrikam.example'))
    kept = list(refuse_shared_targets([first, same_sign_in, other_sign_in, other_tenant]))
    assert [application.name for application in kept] == ['first', 'same', 'other', 'elsewhere']
    # One sign-in's own duplicates are the engine's to catch once resolved; another tenant is another application.
    assert [application.rejected for application in kept] == [False, False, True, False]
    message = kept[2].request.rejection.message
    assert message.startswith("authorize_service_principal_id of host 'other' is ") and "host 'first'" in message
    assert SECRET_ONE not in message and SECRET_TWO not in message
    assert [group.applications for group in group_by_sign_in(kept)][1] == [other_tenant]


def test_a_cloud_is_kept_by_its_canonical_name_and_an_unknown_one_names_the_host():
    assert parse_host('a', host_values(cloud='AzureCloud')).connection['cloud'] == 'global'
    application = parse_host('a', host_values(cloud='mars'))
    assert application.rejected
    assert application.request.rejection.message.startswith("host 'a': authorize_cloud 'mars' is not a known cloud")


def test_one_target_in_two_spellings_of_a_cloud_with_two_sign_ins_is_refused():
    first = parse_host('first', host_values(cloud='AzureCloud'))
    second = parse_host('second', host_values(cloud='global', client_secret=SECRET_TWO))
    refused = list(refuse_shared_targets([first, second]))[1]
    assert refused.rejected and "host 'first' names too" in refused.request.rejection.message


class Resolved(object):
    """An outcome after the reads: resolved (appId) or failed."""

    def __init__(self, app_id, failed=False):
        self.app_id = app_id
        self.failed = failed
        self.msg = None

    def fail(self, step, error, advice=None):
        self.failed = True
        self.msg = '%s: %s %s' % (step, error, advice)


def test_each_application_is_written_once_per_run_and_the_refusal_names_every_host():
    written = WrittenApplications()
    hosts = [parse_host(name, host_values()) for name in ('a', 'b', 'c')]
    outcomes = [Resolved('APP-1'), Resolved('app-1'), Resolved('app-1')]
    written.refuse_claimed(hosts[:1], outcomes[:1])
    written.refuse_claimed(hosts[1:], outcomes[1:])
    assert [outcome.failed for outcome in outcomes] == [False, True, True]
    assert "as host 'a':" in outcomes[1].msg and "as hosts 'a', 'b':" in outcomes[2].msg
    assert "authorize_service_principal_id of host 'c' resolves to the same application" in outcomes[2].msg


def test_the_same_app_id_in_another_tenant_is_another_application():
    written = WrittenApplications()
    outcomes = [Resolved('app-1'), Resolved('app-1')]
    written.refuse_claimed([parse_host('a', host_values())], outcomes[:1])
    written.refuse_claimed([parse_host('b', host_values(tenant_id='fabrikam.example'))], outcomes[1:])
    assert not any(outcome.failed for outcome in outcomes)


def test_a_group_splits_into_parts_of_the_configured_size():
    group = group_by_sign_in([parse_host('h%d' % number, host_values()) for number in range(5)])[0]
    assert [len(list(part)) for part in group.parts(2)] == [2, 2, 1]


def test_a_group_hands_out_applications_as_they_are_read_until_the_intake_closes():
    intake = SignInIntake()
    intake.add(parse_host('h0', host_values()))
    groups = intake.new_groups()
    group = next(groups)
    part = next(group.parts(3))
    # the first application is there before the second host has even been read
    assert next(part).name == 'h0'
    intake.add(parse_host('h1', host_values()))
    intake.add(parse_host('other', host_values(client_secret=SECRET_TWO)))
    assert next(part).name == 'h1'
    taker = start_in_thread(lambda: [application.name for application in part])
    intake.add(parse_host('h2', host_values()))
    intake.close()
    assert taker.result(timeout=10) == ['h2']
    assert [application.name for application in next(groups).applications] == ['other']
    assert list(groups) == []


def test_an_aborted_reading_stops_a_group_instead_of_ending_it():
    intake = SignInIntake()
    intake.add(parse_host('h0', host_values()))
    group = next(intake.new_groups())
    part = next(group.parts(5))
    assert next(part).name == 'h0'
    intake.close(aborted=True)
    # the engine taking this part must not go on to write with the one application read so far
    with pytest.raises(ReadingAbortedError):
        next(part)
    assert list(intake.new_groups()) == []


# -- list mode ------------------------------------------------------------------------------------------------------

def test_listed_applications_share_the_play_connection_and_fail_one_by_one():
    applications = parse_listed([{'name': 'one', 'service_principal_id': GUID, 'credentials': {'SecretToken': 'ab12'}},
                                 {'name': 'two', 'app_id': GUID, 'credentials': 'oops'},
                                 {'name': 'three', 'display_name': 'Three', 'credentials': {'SecretToken': 'cd34'},
                                  'colour': 'blue'}], CONNECTION)
    assert [application.rejected for application in applications] == [False, True, True]
    assert 'authorize_applications[1].credentials' in applications[1].request.rejection.message
    assert ("authorize_applications[2]: 'colour' is not an option. Valid options"
            in applications[2].request.rejection.message)
    assert applications[0].connection['client_secret'] == SECRET_ONE


def test_a_misspelt_listed_key_gets_the_closest_name():
    listed = parse_listed([{'name': 'one', 'service_principal_id': GUID, 'credentials': {'SecretToken': 'ab12'},
                            'forse': True}], CONNECTION)
    assert listed[0].rejected
    assert "authorize_applications[0]: 'forse' is not an option. Did you mean force?" in (
        listed[0].request.rejection.message)


def test_listed_items_take_the_plays_switches_unless_they_set_their_own():
    listed = parse_listed([{'service_principal_id': GUID, 'credentials': {'SecretToken': 'ab12'}},
                           {'app_id': GUID, 'credentials': {'SecretToken': 'cd34'}, 'force': False}],
                          dict(CONNECTION, force=True))
    assert [application.request.settings['force'] for application in listed] == [True, False]


@pytest.mark.parametrize('items, message', [
    ([], 'authorize_applications is empty'),
    ('expenses', 'authorize_applications must be a list with one mapping per application, got a string'),
    ({'name': 'expenses'}, 'authorize_applications must be a list with one mapping per application, got a mapping'),
])
def test_a_list_that_is_no_list_is_refused(items, message):
    with pytest.raises(InvalidInputError, match=message):
        parse_listed(items, CONNECTION)


# -- outcomes -------------------------------------------------------------------------------------------------------

def record(name, changed=False, failed=False, acquired=False, authorized=None, msg='done'):
    return dict(name=name, changed=changed, failed=failed, acquired=acquired, authorized=authorized, msg=msg,
                job_id='scim.1', job_status_before=None, job_started=False, job_status=None)


def test_a_group_failure_reaches_every_application_of_the_group():
    applications = [parse_host('first', host_values()), parse_host('second', host_values())]
    outcomes = failed_outcomes(applications, 'signing in as contoso', InvalidInputError('the secret expired'))
    assert [outcome.to_result()['msg'] for outcome in outcomes] == [
        "Application 'first' failed at signing in as contoso: the secret expired",
        "Application 'second' failed at signing in as contoso: the secret expired"]


def test_a_rejected_application_keeps_its_own_reason_in_a_group_failure():
    outcome = failed_outcomes([parse_host('bad', host_values(credentials='x'))], 'validating its variables', None)[0]
    assert outcome.failed and "authorize_credentials of host 'bad'" in outcome.msg


def test_the_summary_counts_changed_ok_and_failed_and_names_the_failed():
    records = {'a': record('a', changed=True, acquired=True, authorized=True), 'b': record('b'),
               'c': record('c', failed=True, changed=True, msg='it broke')}
    assert summarize(records) == dict(total=3, changed=1, ok=1, failed=1, failed_names=['c'])
    lines = summary_lines(records)
    assert lines[0].split() == ['application', 'result', 'detail']
    assert lines[1:] == ['a            changed  acquireAccessToken sent; verified',
                         'b            ok       already authorized; nothing sent',
                         'c            FAILED   it broke',
                         'total 3, changed 1, ok 1, failed 1']


def test_the_summary_tells_check_mode_from_a_real_change():
    assert 'would send acquireAccessToken (check mode)' in summary_lines({'a': record('a', changed=True)})[1]


# -- per-host report --------------------------------------------------------------------------------------------------

def test_the_per_host_report_is_the_hosts_own_outcome():
    result = {'mode': 'hosts', 'report': 'per_host', 'outcomes': {'a': record('a', changed=True, msg='sent'),
                                                                  'b': record('b', failed=True, msg='it broke')}}
    assert host_report(result, 'a') == {'changed': True, 'failed': False, 'msg': 'sent'}
    assert host_report(result, 'b') == {'changed': False, 'failed': True, 'msg': 'it broke'}


def test_the_summary_report_with_nothing_failed_is_one_report_of_the_counts():
    result = {'mode': 'hosts', 'report': 'summary', 'outcomes': {}, 'summary_lines': ['total 1'],
              'summary': {'total': 1, 'changed': 1, 'ok': 0, 'failed': 0}}
    assert host_report(result, 'a') == {'changed': False, 'msg': '1 application(s): 1 changed, 0 ok, none failed.'}


def test_the_summary_report_with_a_failure_fails_only_the_failed_applications_hosts():
    result = {'mode': 'hosts', 'report': 'summary', 'failed_msg': '1 of 2 applications failed: b.',
              'outcomes': {'a': record('a', changed=True, msg='sent'), 'b': record('b', failed=True, msg='it broke')},
              'summary': {'total': 2, 'changed': 1, 'ok': 0, 'failed': 1}}
    assert host_report(result, 'a') == {'changed': True, 'failed': False, 'msg': 'sent'}
    assert host_report(result, 'b') == {'changed': False, 'failed': True, 'msg': 'it broke'}


def test_a_failed_list_fails_its_one_report_with_a_short_message_and_no_table():
    result = {'mode': 'list', 'report': 'summary', 'failed_msg': '1 of 2 applications failed: b.',
              'summary_lines': ['total 2'], 'outcomes': {'b': record('b', failed=True)},
              'summary': {'total': 2, 'changed': 1, 'ok': 0, 'failed': 1}}
    assert host_report(result, 'localhost') == {'failed': True, 'changed': False,
                                                'msg': '1 of 2 applications failed: b.'}


def test_the_failed_applications_table_gives_each_reason_as_text():
    records = {'a': record('a', changed=True), 'long-name': record('long-name', failed=True, msg='it broke'),
               'b': record('b', failed=True, msg='not found')}
    assert failed_lines(records) == ['failed application  reason', 'b                   not found',
                                     'long-name           it broke']
    assert failed_lines({'a': record('a')}) == []


def test_the_outcome_counts_are_published_as_stats_added_up_over_batches():
    stats = outcome_stats({'total': 3, 'changed': 1, 'ok': 1, 'failed': 1, 'failed_names': ['b']})
    assert stats == {'per_host': False, 'aggregate': True, 'data': {
        'authorize_total': 3, 'authorize_changed': 1, 'authorize_ok': 1, 'authorize_failed': 1,
        'authorize_failed_applications': ['b']}}


def test_a_host_outside_the_batch_fails_its_report_saying_why():
    report = host_report({'report': 'per_host', 'outcomes': {}}, 'late')
    assert report['failed'] and "Host 'late' has no outcome" in report['msg']


# -- authorize_start_job ----------------------------------------------------------------------------------------------

def authorized_outcome(name='app', start_job=True, authorized=True, would_acquire=False, failed=False):
    application = parse_host(name, host_values(start_job=start_job))
    outcome = ApplicationOutcome(application.request)
    outcome.path, outcome.job_id, outcome.authorized, outcome.would_acquire = (
        '/servicePrincipals/' + GUID, 'scim.1', authorized, would_acquire)
    if failed:
        outcome.fail('acquireAccessToken', 'refused')
    return application, outcome


def job(status_before='Paused', started=True, status_after='Active', failed=False, msg='started'):
    return dict(label='app', job_id='scim.1', status_before=status_before, started=started,
                job=dict(status=dict(code=status_after)) if status_after else None, failed=failed, msg=msg,
                error=dict(status=403) if failed else None)


@pytest.mark.parametrize('value, expected', [(True, True), ('yes', True), ('false', False), (None, False)])
def test_start_job_is_a_per_host_switch(value, expected):
    assert parse_host('app', host_values(start_job=value)).start_job is expected


def test_a_start_job_that_is_not_a_boolean_fails_its_host_naming_it():
    application = parse_host('app', host_values(start_job='sometimes'))
    assert application.rejected
    assert ("host 'app': argument 'authorize_start_job' is of type str and we were unable to convert to bool: The "
            "value 'sometimes' is not a valid boolean" in application.request.rejection.message)


def test_start_job_never_splits_a_sign_in_group():
    groups = group_by_sign_in([parse_host('a', host_values(start_job=True)), parse_host('b', host_values())])
    assert [[application.name for application in group.applications] for group in groups] == [['a', 'b']]


def test_a_listed_item_may_ask_for_its_job_to_be_started():
    listed = parse_listed([{'service_principal_id': GUID, 'credentials': {'SecretToken': 'unit-test-token'},
                            'start_job': True}], CONNECTION)
    assert not listed[0].rejected and listed[0].start_job is True


@pytest.mark.parametrize('options, check_mode, ready', [
    (dict(), False, True),
    (dict(start_job=False), False, False),
    (dict(failed=True), False, False),
    (dict(authorized=False, would_acquire=True), False, False),
    (dict(authorized=False, would_acquire=True), True, True),
    (dict(authorized=None), True, False),
])
def test_only_an_authorized_application_that_asked_is_ready_to_start(options, check_mode, ready):
    application, outcome = authorized_outcome(**options)
    assert ready_to_start(application, outcome, check_mode) is ready


def test_the_job_target_is_the_object_and_job_the_authorization_used():
    _application, outcome = authorized_outcome()
    assert job_target(outcome) == dict(label='app', path='/servicePrincipals/' + GUID, job_id='scim.1')


def test_a_record_without_a_job_phase_has_empty_job_fields():
    kept = outcome_record(authorized_outcome()[1])
    assert (kept['job_status_before'], kept['job_started'], kept['job_status']) == (None, False, None)


def test_a_started_job_changes_the_application_and_says_so():
    kept = record('app', authorized=True, msg="Application 'app': provisioning already authorized; nothing sent.")
    add_job_result(kept, job(), check_mode=False)
    assert (kept['job_status_before'], kept['job_started'], kept['job_status']) == ('Paused', True, 'Active')
    assert kept['changed'] and not kept['failed']
    assert kept['msg'].endswith('Its job scim.1 was started (it was Paused, now Active).')
    assert summary_lines({'app': kept})[1].split('  ')[-1] == 'already authorized; nothing sent; job started (Paused -> Active)'


def test_a_running_job_is_reported_and_changes_nothing():
    kept = record('app', authorized=True)
    add_job_result(kept, job(status_before='Active', started=False), check_mode=False)
    assert not kept['changed'] and kept['job_status'] == 'Active'
    assert kept['msg'].endswith('Its job scim.1 is already running (Active); not started.')
    assert summary_lines({'app': kept})[1].endswith('; job already running (Active)')


def test_check_mode_says_what_would_be_started():
    kept = record('app', changed=True, authorized=False)
    add_job_result(kept, job(status_before='Quarantine', status_after='Quarantine'), check_mode=True)
    assert kept['job_started'] and kept['job_status'] == 'Quarantine'
    assert kept['msg'].endswith('would be started (it is Quarantine; check mode).')
    assert summary_lines({'app': kept}, check_mode=True)[1].endswith(
        'would send acquireAccessToken (check mode); job would be started (Quarantine)')


def test_a_failed_start_fails_the_application_alone_and_keeps_it_authorized():
    kept = record('app', changed=True, acquired=True, authorized=True)
    add_job_result(kept, job(started=False, status_after='Paused', failed=True,
                             msg="Application 'app' failed at start of job scim.1: Forbidden."), check_mode=False)
    assert kept['failed'] and kept['authorized'] is True and kept['error'] == {'status': 403}
    assert kept['msg'].startswith("Application 'app' failed at start of job scim.1: Forbidden.")
    assert 'authorization is not affected (authorized: true)' in kept['msg']


def test_a_job_phase_that_failed_as_a_whole_fails_each_of_its_targets():
    failure = job_start_failure(dict(label='app', path='/servicePrincipals/' + GUID, job_id='scim.1'),
                                EntraError('the token expired'))
    assert failure['failed'] and not failure['started']
    assert failure['msg'] == "Application 'app' failed at starting its job: the token expired"


def test_an_application_without_a_job_that_asked_for_a_start_fails_alone_saying_how_to_create_the_job():
    kept = record('app', changed=True, acquired=True, authorized=True)
    kept['job_id'] = None
    add_job_result(kept, no_job_to_start(dict(label='app', path='/servicePrincipals/' + GUID, job_id=None)),
                   check_mode=False)
    assert kept['failed'] and kept['changed'] and kept['authorized'] is True and kept['error'] is None
    assert (kept['job_status_before'], kept['job_started'], kept['job_status']) == (None, False, None)
    assert kept['msg'] == (
        "Application 'app' failed at starting its job: it has no provisioning (synchronization) job, so there is no "
        "job to start and nothing was sent. Its authorization is not affected (authorized: true). " + NO_JOB_ADVICE)
    assert 'retry' not in kept['msg']


def test_the_summary_says_an_authorized_application_has_no_job_yet():
    kept = record('app', changed=True, acquired=True, authorized=True)
    kept['job_id'] = None
    assert summary_lines({'app': kept})[1].split('  ')[-1] == (
        'acquireAccessToken sent; verified; no provisioning job yet (create one to provision)')


def test_the_per_host_report_carries_the_job_fields_when_the_job_was_to_be_started():
    kept = record('app', authorized=True)
    add_job_result(kept, job(), check_mode=False)
    report = host_report({'report': 'per_host', 'outcomes': {'app': kept, 'other': record('other')}}, 'app')
    assert (report['job_status_before'], report['job_started'], report['job_status']) == ('Paused', True, 'Active')
    assert 'job_started' not in host_report({'report': 'per_host', 'outcomes': {'other': record('other')}}, 'other')
