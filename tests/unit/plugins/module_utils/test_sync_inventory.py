# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from ansible_collections.entra.provisioning.plugins.module_utils._errors import EntraError, InvalidInputError
from ansible_collections.entra.provisioning.plugins.module_utils._sync.jobs import describe_job
from ansible_collections.entra.provisioning.plugins.module_utils._sync.inventory import (
    InventoryFilters,
    ReadOutcome,
    build_hosts,
    check_host_name_prefix,
    filter_warnings,
    host_names,
    listing_params,
    primary_job,
    read_applications,
    skipped_warning,
    status_group,
    template_group,
)
from ansible_collections.entra.provisioning.tests.unit.plugins.module_utils.helpers import make_client

GRAPH = 'https://graph.microsoft.com/v1.0'
LIST_URL = re.compile(re.escape(GRAPH + '/servicePrincipals') + r'(\?.*)?$')


def application(display_name, app_id, jobs=None, tags=('WindowsAzureActiveDirectoryIntegratedApp',)):
    """A service principal as this module keeps it; ``jobs`` are given in Graph's shape (default: one active scim
    job) and kept described."""
    jobs = jobs if jobs is not None else [job('scim.' + app_id, 'scim', 'Active')]
    return {'id': 'sp-' + app_id, 'appId': app_id, 'displayName': display_name, 'tags': list(tags),
            'applicationTemplateId': None, 'jobs': [describe_job(graph_job) for graph_job in jobs]}


def job(job_id, template_id, code, quarantine=None, last_execution=None):
    """A synchronization job in Graph's shape."""
    return {'id': job_id, 'templateId': template_id, 'schedule': {'interval': 'PT40M', 'state': 'Active'},
            'status': {'code': code, 'quarantine': quarantine, 'lastExecution': last_execution,
                       'lastSuccessfulExecution': None}}


# ---- host names ---------------------------------------------------------------------------------------------

def test_host_name_is_the_display_name_made_safe():
    names = host_names([application("O'Brien & Co. (HR) – Ünïcode", '11111111-0000-0000-0000-000000000001')])
    assert list(names.values()) == ['o-brien-co-hr-n-code']


def test_host_name_of_a_display_name_without_letters_or_digits_is_application():
    assert list(host_names([application('***', '11111111-0000-0000-0000-000000000001')]).values()) == ['application']


def test_colliding_names_all_get_their_app_id_prefix():
    twins = [application('Twin', 'aaaaaaaa-0000-0000-0000-000000000001'),
             application('twin', 'bbbbbbbb-0000-0000-0000-000000000002'),
             application('Single', 'cccccccc-0000-0000-0000-000000000003')]
    assert sorted(host_names(twins).values()) == ['single', 'twin-aaaaaaaa', 'twin-bbbbbbbb']


def test_host_names_do_not_depend_on_the_listing_order():
    twins = [application('Twin', 'aaaaaaaa-0000-0000-0000-000000000001'),
             application('Twin', 'bbbbbbbb-0000-0000-0000-000000000002')]
    assert host_names(twins) == host_names(list(reversed(twins)))


def test_names_still_colliding_after_eight_digits_get_the_whole_app_id():
    twins = [application('Twin', 'aaaaaaaa-0000-0000-0000-000000000001'),
             application('Twin', 'aaaaaaaa-0000-0000-0000-000000000002')]
    assert sorted(host_names(twins).values()) == ['twin-aaaaaaaa000000000000000000000001',
                                                  'twin-aaaaaaaa000000000000000000000002']


def test_host_name_prefix_goes_first():
    names = host_names([application('App', '11111111-0000-0000-0000-000000000001')], prefix='contoso_')
    assert list(names.values()) == ['contoso_app']


def test_host_name_prefix_with_other_characters_is_refused_naming_the_option():
    with pytest.raises(InvalidInputError, match='host_name_prefix'):
        host_names([], prefix='bad prefix{{')


@pytest.mark.parametrize('prefix', ['bad prefix', 'x.y', None, 3])
def test_host_name_prefix_is_checked_on_its_own(prefix):
    with pytest.raises(InvalidInputError, match='host_name_prefix may hold only letters, digits, - and _'):
        check_host_name_prefix(prefix)


# ---- groups and variables -----------------------------------------------------------------------------------

@pytest.mark.parametrize('code, group', [
    ('Active', 'entra_sync_active'), ('Paused', 'entra_sync_paused'), ('Quarantine', 'entra_sync_quarantine'),
    ('NotRun', 'entra_sync_not_run'), ('NotConfigured', 'entra_sync_not_configured'),
    ('SomethingNew', 'entra_sync_something_new'), (None, 'entra_sync_unknown'),
])
def test_status_groups(code, group):
    assert status_group(code) == group


def test_template_group_is_sanitized():
    assert template_group('Azure2Azure.v2-beta') == 'entra_sync_template_azure2azure_v2_beta'


def test_a_host_joins_the_status_and_template_group_of_every_job():
    hosts = build_hosts([application('Two Jobs', '11111111-0000-0000-0000-000000000001', jobs=[
        job('b-job', 'scim', 'Active'), job('a-job', 'scimGroups', 'Quarantine')])])
    (_name, _variables, groups), = hosts
    assert groups == ['entra_sync_active', 'entra_sync_quarantine', 'entra_sync_template_scim',
                      'entra_sync_template_scimgroups']


def test_primary_job_is_the_most_urgent_then_the_smallest_id():
    jobs = [{'id': 'c', 'status': {'code': 'Active'}}, {'id': 'b', 'status': {'code': 'Paused'}},
            {'id': 'a', 'status': {'code': 'Paused'}}]
    assert primary_job(jobs)['id'] == 'a'
    assert primary_job(jobs + [{'id': 'z', 'status': {'code': 'Quarantine'}}])['id'] == 'z'


def test_host_variables_name_the_application_for_the_authorize_role():
    quarantine = {'reason': 'EncounteredQuarantineException', 'currentBegan': '2026-01-01T00:00:00Z',
                  'seriesBegan': '2025-12-31T00:00:00Z', 'nextAttempt': '2026-01-01T04:00:00Z', 'seriesCount': 2}
    execution = {'state': 'Failed', 'timeBegan': '2026-01-01T00:00:00Z', 'timeEnded': '2026-01-01T00:01:00Z'}
    hosts = build_hosts([application('App', '11111111-0000-0000-0000-000000000001', jobs=[
        job('job-1', 'scim', 'Quarantine', quarantine=quarantine, last_execution=execution)])],
        common_vars={'authorize_tenant_id': 'tenant'})
    (name, variables, _groups), = hosts
    assert name == 'app'
    assert variables['authorize_service_principal_id'] == 'sp-11111111-0000-0000-0000-000000000001'
    assert variables['authorize_job_id'] == 'job-1'
    assert variables['authorize_tenant_id'] == 'tenant'
    assert variables['entra_sync_app_id'] == '11111111-0000-0000-0000-000000000001'
    assert variables['entra_sync_display_name'] == 'App'
    assert variables['entra_sync_status'] == 'Quarantine'
    assert variables['entra_sync_job_ids'] == ['job-1']
    (described,) = variables['entra_sync_jobs']
    # the shape entra_sync_job_info returns (describe_job), so a playbook reads both the same way
    assert described['id'] == 'job-1' and described['template_id'] == 'scim'
    assert described['schedule']['interval'] == 'PT40M' and described['status']['code'] == 'Quarantine'
    assert described['quarantine']['reason'] == 'EncounteredQuarantineException'
    assert described['quarantine']['current_began'] == '2026-01-01T00:00:00Z'
    assert described['quarantine']['next_attempt'] == '2026-01-01T04:00:00Z'
    assert described['last_execution']['state'] == 'Failed'
    assert described['last_successful_execution'] is None
    assert 'authorize_display_name' not in variables and 'authorize_app_id' not in variables


def test_hosts_come_sorted_by_name():
    hosts = build_hosts([application('Zeta', '11111111-0000-0000-0000-000000000001'),
                         application('Alpha', '11111111-0000-0000-0000-000000000002')])
    assert [name for name, _variables, _groups in hosts] == ['alpha', 'zeta']


# ---- filters ------------------------------------------------------------------------------------------------

def test_no_filters_lists_everything_with_the_largest_page_and_only_the_fields_used():
    assert listing_params(InventoryFilters.from_option(None)) == {
        '$select': 'id,appId,displayName,tags,applicationTemplateId', '$top': '999'}


def test_display_name_prefixes_become_one_escaped_graph_filter():
    filters = InventoryFilters.from_option({'display_name_prefix': ["O'Brien", 'HR']})
    assert listing_params(filters)['$filter'] == "startswith(displayName,'O''Brien') or startswith(displayName,'HR')"


def test_a_single_string_is_a_list_of_one():
    assert InventoryFilters.from_option({'tag': 'x'}).tags == ('x',)


@pytest.mark.parametrize('value, message', [
    ('prefix', 'filters must be a mapping'),
    ({'display_name': 'x'}, "filters: 'display_name' is not an option. Did you mean display_name_prefix?"),
    ({'templates': 'x'}, "filters: 'templates' is not an option. Did you mean template_id?"),
    ({'colour': 'x'}, "filters: 'colour' is not an option. Valid options: display_name_prefix, template_id, tag."),
    ({'tag': ['']}, 'filters.tag must be a string or a list of non-empty strings'),
    ({'template_id': [1]}, 'filters.template_id must be'),
])
def test_bad_filters_are_refused_naming_the_key(value, message):
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        InventoryFilters.from_option(value)


def test_tags_become_a_graph_filter_with_any_of_them():
    filters = InventoryFilters.from_option({'tag': ['a', "O'b"]})
    assert listing_params(filters)['$filter'] == "tags/any(t:t eq 'a') or tags/any(t:t eq 'O''b')"


def test_prefixes_and_tags_must_both_match():
    filters = InventoryFilters.from_option({'tag': 'hr', 'display_name_prefix': ['A', 'B']})
    assert listing_params(filters)['$filter'] == ("(startswith(displayName,'A') or startswith(displayName,'B')) "
                                                  "and (tags/any(t:t eq 'hr'))")


def test_template_filter_keeps_only_those_jobs():
    filters = InventoryFilters.from_option({'template_id': 'scim'})
    assert filters.keeps_job({'templateId': 'scim'})
    assert not filters.keeps_job({'templateId': 'scimGroups'})


# ---- reading Graph ------------------------------------------------------------------------------------------

class FakeTenant(object):
    """Answers the service principal listing (pages of ``page_size``) and $batch job reads."""

    def __init__(self, http, service_principals, jobs, page_size=2, job_status=None, job_bodies=None):
        self.service_principals = service_principals
        self.jobs = jobs
        self.page_size = page_size
        self.job_status = job_status or {}
        self.job_bodies = job_bodies or {}
        self.list_queries = []
        self.envelopes = []
        http.add_callback(responses.GET, LIST_URL, callback=self._list)
        http.add_callback(responses.POST, GRAPH + '/$batch', callback=self._batch)

    def _list(self, request):
        query = dict((key, values[0]) for key, values in parse_qs(urlsplit(request.url).query).items())
        self.list_queries.append(query)
        offset = int(query.get('$skiptoken', 0))
        page = {'value': self.service_principals[offset:offset + self.page_size]}
        if offset + self.page_size < len(self.service_principals):
            page['@odata.nextLink'] = '%s/servicePrincipals?$skiptoken=%d' % (GRAPH, offset + self.page_size)
        return 200, {}, json.dumps(page)

    def _batch(self, request):
        envelope = json.loads(request.body)
        self.envelopes.append(envelope)
        answers = []
        for item in envelope['requests']:
            service_principal_id = item['url'].split('/')[2]
            status = self.job_status.get(service_principal_id, 200)
            body = {'value': self.jobs.get(service_principal_id, [])} if status == 200 else {
                'error': {'code': 'Authorization_RequestDenied', 'message': 'Insufficient privileges.'}}
            body = self.job_bodies.get(service_principal_id, body)
            answers.append({'id': item['id'], 'status': status, 'headers': {'request-id': 'req-' + service_principal_id},
                            'body': body})
        return 200, {}, json.dumps({'responses': answers})


def service_principal(number, tags=('WindowsAzureActiveDirectoryIntegratedApp',)):
    """A service principal as Graph lists it with $select, with an extra field Graph might add."""
    return {'id': 'sp-%d' % number, 'appId': 'app-%d' % number, 'displayName': 'App %d' % number,
            'tags': list(tags), 'applicationTemplateId': None, 'unexpected': 'dropped'}


def test_every_page_is_read_and_jobs_come_from_batches_of_twenty(http):
    service_principals = [service_principal(number) for number in range(45)]
    jobs = dict(('sp-%d' % number, [job('job-%d' % number, 'scim', 'Active')]) for number in range(0, 45, 3))
    tenant = FakeTenant(http, service_principals, jobs, page_size=20)
    outcome = read_applications(make_client(), InventoryFilters())
    assert len(tenant.list_queries) == 3 and outcome.listed == 45
    assert sorted(len(envelope['requests']) for envelope in tenant.envelopes) == [5, 20, 20]
    assert sorted(app['id'] for app in outcome.applications) == sorted(jobs)
    assert outcome.skipped == []


def test_only_used_fields_are_kept_for_the_cache(http):
    job_with_settings = dict(job('job-1', 'scim', 'Active'), synchronizationJobSettings=[{'name': 'x'}])
    FakeTenant(http, [service_principal(1)], {'sp-1': [job_with_settings]})
    (kept,) = read_applications(make_client(), InventoryFilters()).applications
    assert 'unexpected' not in kept
    assert kept['jobs'] == [describe_job(job('job-1', 'scim', 'Active'))]


def test_service_principals_without_a_job_are_dropped(http):
    FakeTenant(http, [service_principal(1), service_principal(2), service_principal(3)],
               {'sp-1': [job('job-1', 'scim', 'Active')], 'sp-2': [job('job-2', 'scimGroups', 'Active')]})
    outcome = read_applications(make_client(), InventoryFilters(template_ids=['scim']))
    assert [app['id'] for app in outcome.applications] == ['sp-1']


def test_prefix_filter_is_sent_to_graph(http):
    tenant = FakeTenant(http, [], {})
    read_applications(make_client(), InventoryFilters(display_name_prefixes=['HR']))
    assert tenant.list_queries[0]['$filter'] == "startswith(displayName,'HR')"
    assert tenant.envelopes == []


def test_an_application_whose_jobs_cannot_be_read_is_skipped_with_the_permission_to_grant(http):
    FakeTenant(http, [service_principal(1), service_principal(2)],
               {'sp-1': [job('job-1', 'scim', 'Active')]}, job_status={'sp-2': 403})
    outcome = read_applications(make_client(), InventoryFilters())
    assert [app['id'] for app in outcome.applications] == ['sp-1']
    assert [name for name, _reason in outcome.skipped] == ['App 2']
    warning = skipped_warning(outcome.skipped)
    assert warning.startswith('1 service principal(s) left out') and 'Synchronization.Read.All' in warning


def test_a_service_principal_whose_jobs_are_not_found_has_no_job(http):
    FakeTenant(http, [service_principal(1), service_principal(2)],
               {'sp-1': [job('job-1', 'scim', 'Active')]}, job_status={'sp-2': 404})
    outcome = read_applications(make_client(), InventoryFilters())
    assert [app['id'] for app in outcome.applications] == ['sp-1'] and outcome.skipped == []


def test_when_no_job_can_be_read_the_identity_lacks_the_permission(http):
    FakeTenant(http, [service_principal(1), service_principal(2)], {}, job_status={'sp-1': 403, 'sp-2': 403})
    with pytest.raises(EntraError, match='failed for every one of them.*Grant the identity Synchronization.Read.All'):
        read_applications(make_client(), InventoryFilters())


def test_a_listing_refused_names_the_permission_to_read_objects(http):
    http.add(responses.GET, LIST_URL, status=403, json={'error': {'code': 'Authorization_RequestDenied',
                                                                  'message': 'Insufficient privileges.'}})
    with pytest.raises(EntraError, match='Listing the service principals of the tenant: .*Application.Read.All'):
        read_applications(make_client(), InventoryFilters())


def test_skipped_warning_names_five_then_counts_the_rest():
    warning = skipped_warning([('App %d' % number, 'HTTP 500') for number in range(8)])
    assert 'App 4 (HTTP 500)' in warning and 'App 5' not in warning and warning.endswith('and 3 more.')
    assert skipped_warning([]) is None


# ---- answers of the wrong shape fail their application, never the inventory -----------------------------------

@pytest.mark.parametrize('body, reason', [
    ({'value': 'not a list'}, 'its jobs answer is an object whose "value" is a string, not a list of synchronization '
                              'jobs. Run again; if it lasts, give Microsoft support the request id req-sp-2.'),
    ({'jobs': []}, 'its jobs answer is an object without a "value" list, not a list of synchronization jobs.'),
    ('<html>Service Unavailable</html>', 'its jobs answer is text (not JSON), not a list of synchronization jobs.'),
    ([{'id': 'job-2'}], 'its jobs answer is a list, not a list of synchronization jobs.'),
    ({'value': ['job-2']}, 'its jobs answer is an object whose "value" is a list holding something else than '
                           'objects, not a list of synchronization jobs.'),
    ({'value': [{'templateId': 'scim'}]}, 'job 1 of its jobs answer has no id.'),
    ({'value': [{'id': 7}]}, 'job 1 of its jobs answer has an id that is a number, not text.'),
    ({'value': [{'id': 'job-2', 'status': 'Active'}]},
     'job 1 of its jobs answer (job-2) has a status that is a string, not an object.'),
    ({'value': [{'id': 'job-2', 'status': {'quarantine': ['x']}}]},
     'job 1 of its jobs answer (job-2) has a status.quarantine that is a list, not an object.'),
    ({'value': [{'id': 'job-2', 'status': {'code': 3}}]},
     'job 1 of its jobs answer (job-2) has a status.code that is a number, not text.'),
    ({'value': [{'id': 'job-2', 'schedule': 'PT40M'}]},
     'job 1 of its jobs answer (job-2) has a schedule that is a string, not an object.'),
    ({'value': [{'id': 'job-2', 'templateId': ['scim']}]},
     'job 1 of its jobs answer (job-2) has a templateId that is a list, not text.'),
])
def test_a_jobs_answer_of_the_wrong_shape_leaves_out_that_application_only(http, body, reason):
    FakeTenant(http, [service_principal(1), service_principal(2), service_principal(3)],
               {'sp-1': [job('job-1', 'scim', 'Active')], 'sp-3': [job('job-3', 'scim', 'Paused')]},
               job_bodies={'sp-2': body})
    outcome = read_applications(make_client(), InventoryFilters())
    assert [app['id'] for app in outcome.applications] == ['sp-1', 'sp-3']
    ((name, why),) = outcome.skipped
    assert name == 'App 2' and why.startswith(reason)
    assert 'App 2 (%s' % reason in skipped_warning(outcome.skipped)


@pytest.mark.parametrize('listed, name, reason', [
    ('sp-x', 'item 2 of the listing', 'the listing gave it as a string, not an object'),
    ({'displayName': 'No Id'}, 'No Id', 'the listing gave it without an id'),
    ({'id': 'sp-2', 'displayName': 5}, 'sp-2', 'the listing gave its displayName as a number, not text'),
    ({'id': 'sp-2', 'displayName': 'Tagged', 'tags': 'hr'}, 'Tagged',
     'the listing gave its tags as a string, not a list of text'),
])
def test_a_listed_service_principal_of_the_wrong_shape_is_left_out_without_its_jobs_read(http, listed, name, reason):
    tenant = FakeTenant(http, [service_principal(1), listed], {'sp-1': [job('job-1', 'scim', 'Active')]})
    outcome = read_applications(make_client(), InventoryFilters())
    assert [app['id'] for app in outcome.applications] == ['sp-1']
    assert outcome.skipped == [(name, reason)]
    assert [item['url'] for envelope in tenant.envelopes for item in envelope['requests']] == [
        '/servicePrincipals/sp-1/synchronization/jobs']


@pytest.mark.parametrize('page', [['sp-1'], {'items': []}, {'value': 'none'}])
def test_a_listing_page_of_the_wrong_shape_fails_the_inventory_with_a_message(http, page):
    http.add(responses.GET, LIST_URL, json=page)
    with pytest.raises(EntraError, match='Listing the service principals of the tenant: Graph answered page 1 of the '
                                         'listing servicePrincipals with .* where an object with a "value" list'):
        read_applications(make_client(), InventoryFilters())


def test_malformed_answers_are_not_mistaken_for_a_missing_permission(http):
    FakeTenant(http, [service_principal(1), service_principal(2)], {},
               job_bodies={'sp-1': 'not json', 'sp-2': {'value': [{}]}})
    outcome = read_applications(make_client(), InventoryFilters())
    assert outcome.applications == [] and [name for name, _reason in outcome.skipped] == ['App 1', 'App 2']


# ---- filters that matched nothing ---------------------------------------------------------------------------

def test_the_templates_seen_are_recorded_before_the_template_filter(http):
    FakeTenant(http, [service_principal(1), service_principal(2)],
               {'sp-1': [job('job-1', 'scim', 'Active')], 'sp-2': [job('job-2', 'scimGroups', 'Active')]})
    outcome = read_applications(make_client(), InventoryFilters(template_ids=['nothing']))
    assert outcome.applications == [] and outcome.templates_seen == frozenset(['scim', 'scimGroups'])


def test_a_template_filter_that_matched_nothing_names_the_templates_seen():
    (warning,) = filter_warnings(InventoryFilters(template_ids=['scimx', 'SCIM', 'scimGroups']),
                                 ReadOutcome([], [], 27, ['scim', 'scimGroups']))
    assert warning.startswith('filters.template_id SCIM (did you mean scim?) matched no job of the 27 service '
                              'principals listed; their jobs use the templates scim, scimGroups.')
    (warning,) = filter_warnings(InventoryFilters(template_ids=['scimx']), ReadOutcome([], [], 27, ['scim']))
    assert warning.startswith('filters.template_id scimx matched no job')


def test_a_template_filter_on_a_tenant_without_jobs_says_so():
    (warning,) = filter_warnings(InventoryFilters(template_ids=['scim']), ReadOutcome([], [], 3, []))
    assert 'none of them has a job' in warning


def test_listing_filters_that_matched_nothing_say_which():
    (warning,) = filter_warnings(InventoryFilters(display_name_prefixes=['HR'], tags=['x']), ReadOutcome([], [], 0))
    assert warning.startswith('filters.display_name_prefix HR and filters.tag x matched no service principal')


def test_filters_that_matched_say_nothing():
    assert filter_warnings(InventoryFilters(template_ids=['scim'], tags=['x']),
                           ReadOutcome([{'id': 'sp-1'}], [], 1, ['scim'])) == []
    assert filter_warnings(InventoryFilters(), ReadOutcome([], [], 0)) == []
