# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""The logic of the entra_sync inventory plugin: what to ask Graph, and how answers become hosts and groups.

Reading (``read_applications``) is the only part that talks to Graph; everything else is pure, so the plugin
only hands options in and copies hosts, groups and variables into Ansible's inventory.

Graph cannot filter service principals by "has a synchronization job", so every service principal of the
tenant (narrowed by the display name and tag ``filters``, which Graph applies) is listed in pages of 999 with only
the fields used here, and the jobs of all of them are read through ``$batch``, 20 to an envelope. Service principals
without a job are dropped afterwards.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.entra.provisioning.plugins.module_utils._graph.batch import BatchRequest
from ansible_collections.entra.provisioning.plugins.module_utils._errors import EntraError, InvalidInputError
from ansible_collections.entra.provisioning.plugins.module_utils._graph.errors import (
    read_permission_advice,
    synchronization_read_permission_advice,
)
from ansible_collections.entra.provisioning.plugins.module_utils._ids import odata_literal, path_segment
from ansible_collections.entra.provisioning.plugins.module_utils._items import (
    _unknown_key_problem,
    listing_kind,
    yaml_kind,
)
from ansible_collections.entra.provisioning.plugins.module_utils._sync.jobs import describe_job
from ansible_collections.entra.provisioning.plugins.module_utils._sync.targets import answer_values, request_id_of

# Graph's largest page for directory objects: 2,000 service principals take 3 pages instead of 20.
PAGE_SIZE = 999
SELECTED_FIELDS = ('id', 'appId', 'displayName', 'tags', 'applicationTemplateId')
GROUP_PREFIX = 'entra_sync_'

# Status codes of a synchronization job, as Graph spells them, and the group each puts its application in.
STATUS_GROUPS = (
    ('Quarantine', 'entra_sync_quarantine'),
    ('Paused', 'entra_sync_paused'),
    ('NotRun', 'entra_sync_not_run'),
    ('NotConfigured', 'entra_sync_not_configured'),
    ('Active', 'entra_sync_active'),
)
# The order above is also urgency: an application's primary job (the one the authorize role checks) is its most
# urgent one, so re-authorizing a quarantined application checks the quarantined job.
_URGENCY = dict((code, position) for position, (code, _group) in enumerate(STATUS_GROUPS))
_STATUS_GROUP = dict(STATUS_GROUPS)

FILTER_KEYS = ('display_name_prefix', 'template_id', 'tag')

_UNSAFE_HOST_CHARACTERS = re.compile(r'[^a-z0-9]+')
_UNSAFE_GROUP_CHARACTERS = re.compile(r'[^a-z0-9_]+')
_HOST_PREFIX_RE = re.compile(r'^[A-Za-z0-9_-]*$')
# How many applications a warning names before it says "and N more".
_NAMED_IN_WARNING = 5


class InventoryFilters(object):
    """The ``filters`` option, checked: lists of display name prefixes, job template ids and tags (any of each)."""

    def __init__(self, display_name_prefixes=(), template_ids=(), tags=()):
        self.display_name_prefixes = tuple(display_name_prefixes)
        self.template_ids = tuple(template_ids)
        self.tags = tuple(tags)

    @classmethod
    def from_option(cls, value):
        """Build from the plugin's ``filters`` option (a dict or None); raise InvalidInputError naming the key."""
        if value is None:
            return cls()
        if not isinstance(value, dict):
            raise InvalidInputError('filters must be a mapping with the keys %s, got %s.'
                                    % (', '.join(FILTER_KEYS), type(value).__name__))
        unknown = [key for key in value if key not in FILTER_KEYS]
        if unknown:
            raise InvalidInputError('filters: %s' % '; '.join(_unknown_key_problem(key, FILTER_KEYS) for key in unknown))
        lists = dict((key, _text_list(value.get(key), 'filters.' + key)) for key in FILTER_KEYS)
        return cls(lists['display_name_prefix'], lists['template_id'], lists['tag'])

    def graph_filter(self):
        """Return the ``$filter`` Graph applies while listing (display name prefixes and tags), or None."""
        clauses = []
        if self.display_name_prefixes:
            clauses.append(' or '.join('startswith(displayName,%s)' % odata_literal(prefix)
                                       for prefix in self.display_name_prefixes))
        if self.tags:
            clauses.append(' or '.join('tags/any(t:t eq %s)' % odata_literal(tag) for tag in self.tags))
        if len(clauses) > 1:
            return ' and '.join('(%s)' % clause for clause in clauses)
        return clauses[0] if clauses else None

    def keeps_job(self, job):
        """Return True when the job passes the template filter (a service principal keeps only such jobs)."""
        return not self.template_ids or job.get('templateId') in self.template_ids


class ReadOutcome(object):
    """What ``read_applications`` found: ``applications`` (each a service principal with its ``jobs``),
    ``skipped`` (display name, reason) for service principals whose jobs could not be read, how many were
    ``listed``, and the ``templates_seen`` by the jobs read (before the template filter)."""

    def __init__(self, applications, skipped, listed, templates_seen=()):
        self.applications = applications
        self.skipped = skipped
        self.listed = listed
        self.templates_seen = frozenset(templates_seen)


def listing_params(filters):
    """Return the query of the service principal listing: the fields used here, the largest page, the filter."""
    params = {'$select': ','.join(SELECTED_FIELDS), '$top': str(PAGE_SIZE)}
    graph_filter = filters.graph_filter()
    if graph_filter:
        params['$filter'] = graph_filter
    return params


def read_applications(client, filters):
    """List the service principals and read their jobs through $batch; return a ReadOutcome.

    Jobs are kept as ``describe_job`` gives them (the shape entra_sync_job_info returns), so what is cached
    holds only those fields and the listing's selected ones. Graph's answers are checked for shape where they are
    read: a listed service principal, a jobs answer or a job of the wrong shape leaves that one service principal
    out (in ``skipped``, with the reason), never the inventory. Raises EntraError when the listing fails, or when no
    job could be read at all (then the reason is the identity's).
    """
    listed = _listed_service_principals(client, filters)
    candidates, skipped = [], []
    for position, service_principal in enumerate(listed):
        problem = _service_principal_problem(service_principal)
        if problem:
            skipped.append((_listed_name(service_principal, position), problem))
        else:
            candidates.append(service_principal)
    results = client.batch([BatchRequest('GET', '/servicePrincipals/%s/synchronization/jobs'
                                         % path_segment(service_principal['id']))
                            for service_principal in candidates]) if candidates else []
    applications, failures, templates_seen = [], [], set()
    for service_principal, result in zip(candidates, results):
        if result.status == 404:
            # Deleted since the listing, or (inferred, no source says) a principal Graph keeps no synchronization
            # for: either way it has no job, and it must not turn every run into a warning that is never cached.
            continue
        name = service_principal.get('displayName') or service_principal['id']
        if not result.ok:
            failures.append(result.error)
            skipped.append((name, _job_read_failure(result.error)))
            continue
        jobs, problem = _jobs_of(result)
        if problem:
            skipped.append((name, problem))
            continue
        templates_seen.update(job.get('templateId') for job in jobs if job.get('templateId'))
        jobs = [describe_job(job) for job in jobs if filters.keeps_job(job)]
        if jobs:
            application = dict((field, service_principal.get(field)) for field in SELECTED_FIELDS)
            application['jobs'] = jobs
            applications.append(application)
    if candidates and len(failures) == len(candidates):
        # Not one application could be read: that is the identity's problem, not the applications'.
        first = failures[0]
        raise EntraError('Reading the synchronization jobs of the tenant\'s %d service principals failed for every '
                         'one of them; the first: %s' % (len(candidates), _job_read_failure(first)),
                         status=first.status, code=first.code, request_id=first.request_id,
                         client_request_id=first.client_request_id)
    return ReadOutcome(applications, skipped, len(listed), templates_seen)


def filter_warnings(filters, outcome):
    """Return the warnings for filters that matched nothing in ``outcome`` (a ReadOutcome), each naming the filter
    and what was there instead, so an empty inventory is never a silent one."""
    warnings = []
    if not outcome.listed and (filters.display_name_prefixes or filters.tags):
        given = ['%s %s' % (key, ', '.join(values)) for key, values in (
            ('filters.display_name_prefix', filters.display_name_prefixes), ('filters.tag', filters.tags)) if values]
        warnings.append('%s matched no service principal of the tenant, so the inventory is empty. Check the '
                        'spelling (a tag is compared exactly, a display name prefix ignoring case).'
                        % ' and '.join(given))
    unmatched = [template_id for template_id in filters.template_ids if template_id not in outcome.templates_seen]
    if unmatched and outcome.listed:
        seen = sorted(outcome.templates_seen, key=str.lower)
        hints = ['%s (did you mean %s?)' % (template_id, close) for template_id in unmatched
                 for close in seen if close.lower() == template_id.lower()]
        warnings.append('filters.template_id %s matched no job of the %d service principals listed; %s. Template '
                        'ids are compared exactly.'
                        % ('; '.join(hints) or ', '.join(unmatched), outcome.listed,
                           'their jobs use the templates %s' % ', '.join(seen) if seen else 'none of them has a job'))
    return warnings


def skipped_warning(skipped):
    """Return one warning text for the applications whose jobs could not be read, or None when there are none."""
    if not skipped:
        return None
    named = '; '.join('%s (%s)' % pair for pair in skipped[:_NAMED_IN_WARNING])
    more = ' and %d more' % (len(skipped) - _NAMED_IN_WARNING) if len(skipped) > _NAMED_IN_WARNING else ''
    return ('%d service principal(s) left out of the inventory because their synchronization jobs could not be '
            'read: %s%s.' % (len(skipped), named, more))


def host_names(applications, prefix=''):
    """Return {service principal id: host name} for the applications, stable across runs and listing order.

    A name is the display name in lower case with every run of other characters than letters and digits turned
    into one ``-``. Applications sharing a name all get ``-`` and the first 8 hex digits of their app id
    appended (the whole app id if even those collide), so which of them Graph listed first never matters.
    """
    check_host_name_prefix(prefix)
    base = dict((application['id'], (prefix or '') + _safe_name(application)) for application in applications)
    names = dict(base)
    for suffix in (lambda application: _hex(application)[:8], _hex):
        colliding = _colliding(names)
        for application in applications:
            if names[application['id']] in colliding:
                names[application['id']] = base[application['id']] + '-' + suffix(application)
    return names


def check_host_name_prefix(prefix):
    """Raise InvalidInputError unless ``prefix`` (the host_name_prefix option) is letters, digits, - and _ only."""
    if not isinstance(prefix, str) or not _HOST_PREFIX_RE.match(prefix):
        raise InvalidInputError('host_name_prefix may hold only letters, digits, - and _ (it starts every host '
                                'name), got %r.' % (prefix,))


def primary_job(jobs):
    """Return the job the authorize role is pointed at: the most urgent status first, then the smallest id."""
    return sorted(jobs, key=lambda job: (_URGENCY.get(_code(job), len(_URGENCY)), job['id']))[0]


def status_group(code):
    """Return the group of a job status code: ``entra_sync_quarantine`` for Quarantine, and so on."""
    return _STATUS_GROUP.get(code) or GROUP_PREFIX + sanitized_group_part(_snake_case(code or 'unknown'))


def template_group(template_id):
    """Return the group of a synchronization template id, e.g. ``entra_sync_template_scim``."""
    return GROUP_PREFIX + 'template_' + sanitized_group_part(template_id or 'unknown')


def sanitized_group_part(text):
    """Return ``text`` in lower case with every run of other characters than letters, digits and _ as one _."""
    return _UNSAFE_GROUP_CHARACTERS.sub('_', str(text).lower()).strip('_') or 'unknown'


def build_hosts(applications, prefix='', common_vars=None):
    """Return [(host name, host variables, groups)] for the applications, sorted by host name.

    A host joins the status group and the template group of every one of its jobs, so an application with an
    active and a quarantined job is in both entra_sync_active and entra_sync_quarantine. ``common_vars`` (the
    tenant and cloud) are copied into every host.
    """
    names = host_names(applications, prefix)
    hosts = []
    for application in applications:
        jobs = sorted(application['jobs'], key=lambda job: job['id'])
        primary = primary_job(jobs)
        variables = dict(common_vars or {})
        variables.update({
            'authorize_service_principal_id': application['id'],
            'authorize_job_id': primary['id'],
            'entra_sync_display_name': application.get('displayName'),
            'entra_sync_app_id': application.get('appId'),
            'entra_sync_application_template_id': application.get('applicationTemplateId'),
            'entra_sync_tags': list(application.get('tags') or []),
            'entra_sync_status': _code(primary),
            'entra_sync_job_ids': [job['id'] for job in jobs],
            'entra_sync_jobs': jobs,
        })
        groups = sorted(set([status_group(_code(job)) for job in jobs]
                            + [template_group(job['template_id']) for job in jobs]))
        hosts.append((names[application['id']], variables, groups))
    return sorted(hosts, key=lambda host: host[0])


# ---- internals --------------------------------------------------------------------------------------------

def _text_list(value, what):
    if value is None:
        return []
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, (list, tuple)) or not all(isinstance(item, str) and item.strip() for item in values):
        raise InvalidInputError('%s must be a string or a list of non-empty strings, got %r.' % (what, value))
    return [item.strip() for item in values]


def _listed_service_principals(client, filters):
    """Every service principal the listing gives (iter_pages checks each page for the shape of a collection answer)."""
    what = 'Listing the service principals of the tenant'
    pages = client.iter_pages('servicePrincipals', params=listing_params(filters))
    listed = []
    while True:
        try:
            page = next(pages, None)
        except EntraError as exc:
            raise _with_advice(exc.with_context(what), read_permission_advice(exc))
        if page is None:
            return listed
        listed.extend(page['value'])


def _service_principal_problem(service_principal):
    """Why a listed service principal cannot be read (its shape is not the one Graph documents), or None."""
    if not isinstance(service_principal, dict):
        return 'the listing gave it as %s, not an object' % yaml_kind(service_principal)
    if not isinstance(service_principal.get('id'), str) or not service_principal['id'].strip():
        return 'the listing gave it without an id'
    for field in ('appId', 'displayName', 'applicationTemplateId'):
        if service_principal.get(field) is not None and not isinstance(service_principal[field], str):
            return 'the listing gave its %s as %s, not text' % (field, yaml_kind(service_principal[field]))
    tags = service_principal.get('tags')
    if tags is not None and not (isinstance(tags, list) and all(isinstance(tag, str) for tag in tags)):
        return 'the listing gave its tags as %s, not a list of text' % yaml_kind(tags)
    return None


def _listed_name(service_principal, position):
    if isinstance(service_principal, dict):
        for field in ('displayName', 'id'):
            if isinstance(service_principal.get(field), str) and service_principal[field].strip():
                return service_principal[field]
    return 'item %d of the listing' % (position + 1)


def _jobs_of(result):
    """Return (the jobs of a jobs answer, None), or (None, why the answer cannot be used)."""
    request_id = request_id_of(result)
    retry = ('Run again; if it lasts, give Microsoft support the request id %s.' % request_id if request_id
             else 'Run again; if it lasts, report it.')
    jobs = answer_values(result.body)
    if jobs is None:
        return None, ('its jobs answer is %s, not a list of synchronization jobs. %s'
                      % (listing_kind(result.body),
                         retry))
    for position, job in enumerate(jobs):
        problem = _job_problem(job)
        if problem:
            return None, 'job %d of its jobs answer %s. %s' % (position + 1, problem, retry)
    return jobs, None


# The fields of a synchronizationJob that are read, each an object when present.
_JOB_OBJECTS = (('schedule',), ('status',), ('status', 'quarantine'), ('status', 'lastExecution'),
                ('status', 'lastSuccessfulExecution'), ('status', 'lastSuccessfulExecutionWithExports'))


def _job_problem(job):
    """Why one job of a jobs answer cannot be read, or None."""
    if job.get('id') is not None and not isinstance(job['id'], str):
        return 'has an id that is %s, not text' % yaml_kind(job['id'])
    if not (job.get('id') or '').strip():
        return 'has no id'
    if job.get('templateId') is not None and not isinstance(job['templateId'], str):
        return '(%s) has a templateId that is %s, not text' % (job['id'], yaml_kind(job['templateId']))
    for path in _JOB_OBJECTS:
        value = job
        for field in path:
            value = value.get(field) if isinstance(value, dict) else None
        if value is not None and not isinstance(value, dict):
            return '(%s) has a %s that is %s, not an object' % (job['id'], '.'.join(path), yaml_kind(value))
    code = (job.get('status') or {}).get('code')
    if code is not None and not isinstance(code, str):
        return '(%s) has a status.code that is %s, not text' % (job['id'], yaml_kind(code))
    return None


def _job_read_failure(error):
    advice = synchronization_read_permission_advice(error)
    text = error.message if error is not None else 'no answer'
    return '%s %s' % (text, advice) if advice and advice not in text else text


def _code(job):
    return (job.get('status') or {}).get('code')


def _safe_name(application):
    name = _UNSAFE_HOST_CHARACTERS.sub('-', str(application.get('displayName') or '').lower()).strip('-')
    return name or 'application'


def _hex(application):
    return re.sub('[^0-9a-f]', '', str(application.get('appId') or application['id']).lower())


def _colliding(names):
    counts = {}
    for name in names.values():
        counts[name] = counts.get(name, 0) + 1
    return set(name for name, count in counts.items() if count > 1)


def _with_advice(error, advice):
    if advice:
        error.message = '%s %s' % (error.message, advice)
        error.args = (error.message,)
    return error


def _snake_case(code):
    return re.sub(r'(?<=[a-z0-9])(?=[A-Z])', '_', str(code))
