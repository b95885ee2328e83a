# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""The authorize role's data logic: read each host's role variables, validate them, group the hosts by sign-in.

Each inventory host is an application. Its variables are read one by one (the first layer that holds a variable
wins: the host's own variables, which include its groups', then the play's, which include the role defaults),
validated on their own so a bad host fails alone, and grouped by everything that decides the sign-in and the
endpoint, secrets included, so a secret is only ever used for the applications that declared it. After the
authorization, the applications that asked for it (``authorize_start_job``) have their job started; that outcome is
written into the same record. Nothing in this file talks to Ansible or the network: the action plugin hands in the
layers, a templating function and the engines' outcomes.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import itertools
import queue

from ansible.module_utils.parsing.convert_bool import BOOLEANS, boolean

from ansible_collections.entra.provisioning.plugins.module_utils._auth.authenticator import AUTH_METHODS
from ansible_collections.entra.provisioning.plugins.module_utils._connection_options import API_VERSIONS
from ansible_collections.entra.provisioning.plugins.module_utils._errors import EntraError, InvalidInputError
from ansible_collections.entra.provisioning.plugins.module_utils._sync.authorization import (
    ApplicationOutcome,
    parse_request,
)
from ansible_collections.entra.provisioning.plugins.module_utils._sync.common import SyncRequest
from ansible_collections.entra.provisioning.plugins.module_utils._sync.targets import TARGET_OPTIONS

PREFIX = 'authorize_'

# Per application: which one, what to send, and the switches that travel with it (they never split a sign-in).
APPLICATION_OPTIONS = TARGET_OPTIONS + ('credentials', 'job_id', 'force', 'verify', 'start_job')
_SWITCHES = ('force', 'verify', 'start_job')

# Everything that decides how and where the sign-in happens. Two hosts share one client only when all of these are
# equal, the secret, certificate password and token included.
CONNECTION_OPTIONS = (
    'tenant_id', 'client_id', 'auth_method', 'client_secret', 'client_certificate_path',
    'client_certificate_password', 'federated_token_file', 'access_token', 'cloud', 'graph_endpoint',
    'authority_host', 'ca_path', 'validate_certs', 'api_version',
)
HOST_OPTIONS = APPLICATION_OPTIONS + CONNECTION_OPTIONS

_BOOL_OPTIONS = frozenset(('force', 'verify', 'validate_certs'))
_CHOICES = {'auth_method': AUTH_METHODS, 'api_version': API_VERSIONS}

# Read once for the play (from the host the role's action runs on), not per application.
REPORTS = ('per_host', 'summary')
# A sign-in group is one part unless it is larger than 5000: progress is shown phase by phase, and every part
# boundary is a barrier where the last envelopes of a phase leave slots idle.
RUN_DEFAULTS = dict(report='per_host', show_summary=True, max_concurrency=4, applications_per_run=5000)
# More envelopes in flight than this only earns 429s from one tenant; a phase of more applications than this
# (250 envelopes, about two seconds at 25 ms each) delays its progress line.
RUN_BOUNDS = dict(max_concurrency=(1, 20), applications_per_run=(1, 5000))
RUN_OPTIONS = tuple(RUN_DEFAULTS) + ('applications',)


def variable(option):
    """Return the role variable that carries ``option``, e.g. ``authorize_client_secret``."""
    return PREFIX + option


def host_variable(option, host):
    """Name a role variable of a host the way error messages do: ``authorize_credentials of host 'expenses'``."""
    return "%s of host '%s'" % (variable(option), host)


def resolve_values(options, layers, template):
    """Read the role variables of ``options`` from ``layers`` (mappings, highest precedence first).

    The first layer holding ``authorize_<option>`` wins and its value goes through ``template`` (which renders
    Jinja and vault in the host's context); options no layer holds are left out. Returns ``{option: value}``.
    ``template`` may raise InvalidInputError for a value it cannot render.
    """
    values = {}
    for option in options:
        name = variable(option)
        for layer in layers:
            if name in layer:
                values[option] = template(name, layer[name])
                break
    return values


def parse_run_settings(values):
    """Validate the play-level variables (report, summary, concurrency, part size); return a dict of them.

    Raises InvalidInputError naming the role variable, its bounds and what was given.
    """
    settings = dict(RUN_DEFAULTS)
    for option in RUN_DEFAULTS:
        value = values.get(option)
        if value is None:
            continue
        if option == 'report':
            if value not in REPORTS:
                raise InvalidInputError('%s must be one of %s, got %r.' % (variable(option), ', '.join(REPORTS), value))
        elif option == 'show_summary':
            value = _boolean(value, variable(option))
        else:
            value = _bounded_int(value, variable(option), *RUN_BOUNDS[option])
        settings[option] = value
    return settings


class HostApplication(object):
    """One application to authorize: its request (or the reason it was refused) and its sign-in settings.

    ``connection`` holds secrets; it is only ever handed to the client factory, never to a result or a message.
    ``start_job`` says whether its job is to be started once it is authorized.
    """

    def __init__(self, name, request, connection=None, start_job=False):
        self.name = name
        self.request = request
        self.connection = connection or {}
        self.start_job = start_job

    @property
    def rejected(self):
        """True when the application's variables were refused; it is reported failed and nothing is sent for it."""
        return self.request.rejection is not None

    @property
    def sign_in_key(self):
        """What decides the sign-in and the endpoint, as a hashable value. Holds secrets: never show it."""
        return tuple(sorted(self.connection.items()))


def parse_host(host, values):
    """Validate one host's role variables (``{option: value}`` from ``resolve_values``) into a HostApplication.

    A bad variable gives a rejected HostApplication whose error names the role variable and the host; the other
    hosts are not affected.
    """
    try:
        connection = parse_connection(values, lambda option: host_variable(option, host))
        options = application_options(values, lambda option: host_variable(option, host))
        options['name'] = host
        names = dict((option, host_variable(option, host)) for option in APPLICATION_OPTIONS)
        request = parse_request(options, where="host '%s'." % host, names=names)
    except EntraError as error:
        return HostApplication(host, SyncRequest.rejected(host, error))
    return HostApplication(host, request, connection, start_job=options.get('start_job', False))


def parse_listed(items, connection_values):
    """Validate ``authorize_applications`` (a list of dicts) into HostApplications that share one sign-in.

    ``connection_values`` are the play's connection variables; each bad item is rejected on its own. Raises
    InvalidInputError when the list itself or the connection variables are unusable.
    """
    if not isinstance(items, list) or not items:
        raise InvalidInputError('%s must be a non-empty list of applications (dicts with a target and credentials), '
                                'got %s.' % (variable('applications'), _describe_type(items)))
    connection = parse_connection(connection_values, variable)
    applications = []
    for index, item in enumerate(items):
        where = '%s[%d]' % (variable('applications'), index)
        label = where
        try:
            if not isinstance(item, dict):
                raise InvalidInputError('%s must be a dict with a target and credentials, got %s.'
                                        % (where, _describe_type(item)))
            label = str(item.get('name') or next((item[name] for name in TARGET_OPTIONS if item.get(name)), where))
            unknown = sorted(str(key) for key in item if key not in APPLICATION_OPTIONS + ('name',))
            if unknown:
                raise InvalidInputError('%s has unknown keys %s; the keys are name, %s.'
                                        % (where, ', '.join(unknown), ', '.join(APPLICATION_OPTIONS)))
            options = application_options(item, lambda option, where=where: '%s.%s' % (where, option))
            options['name'] = label
            request = parse_request(options, where=where + '.')
        except EntraError as error:
            applications.append(HostApplication(label, SyncRequest.rejected(label, error)))
            continue
        applications.append(HostApplication(label, request, connection, start_job=options.get('start_job', False)))
    return applications


def application_options(values, name_of):
    """Return the per-application options of ``values`` shaped for ``parse_request``.

    Credentials pass as written: ``parse_request`` (through ``normalize_credentials``) takes a mapping of key to
    value as well as a list of ``{key, value}`` and refuses every other shape. The switches (``force``,
    ``verify``, ``start_job``) are booleans.
    """
    options = dict((option, values[option]) for option in APPLICATION_OPTIONS if values.get(option) is not None)
    for option in _SWITCHES:
        if option in options:
            options[option] = _boolean(options[option], name_of(option))
    for option in TARGET_OPTIONS + ('job_id',):
        if option in options:
            options[option] = _text(options[option], name_of(option))
    return options


def parse_connection(values, name_of):
    """Return the connection options of ``values`` checked for type and choice (no network, no environment).

    Empty values are left out, so the environment fallbacks of the client factory still apply.
    """
    connection = {}
    for option in CONNECTION_OPTIONS:
        value = values.get(option)
        if value is None or value == '':
            continue
        if option in _BOOL_OPTIONS:
            value = _boolean(value, name_of(option))
        else:
            value = _text(value, name_of(option))
            if option in _CHOICES and value not in _CHOICES[option]:
                raise InvalidInputError('%s must be one of %s, got %r.'
                                        % (name_of(option), ', '.join(_CHOICES[option]), value))
        connection[option] = value
    return connection


class SignInGroup(object):
    """Applications that sign in the same way, at the same endpoint: one client, one token.

    Applications join while the hosts are still being read, and the engine may take them as they come: ``parts``
    waits for each next one until ``close`` says there are no more.
    """

    def __init__(self, connection, label=None):
        self.connection = connection
        self.applications = []
        self.label = label or describe_connection(connection)
        self._arrivals = queue.Queue()

    def add(self, application):
        """Add one application; an engine waiting in ``parts`` gets it at once."""
        self.applications.append(application)
        self._arrivals.put(application)

    def close(self, aborted=False):
        """Say that no application will join any more; with ``aborted`` the reading stopped on an error, so a
        part being taken raises ReadingAbortedError instead of running with the applications read so far."""
        self._arrivals.put(_ABORTED if aborted else _NO_MORE)

    def parts(self, size):
        """Yield the applications in runs of at most ``size``, each run an iterator that yields them as they
        join; take each run to its end before asking for the next."""
        arrivals = self.arrivals()
        for first in arrivals:
            yield itertools.chain((first,), itertools.islice(arrivals, size - 1))

    def arrivals(self):
        """Yield each application as it joins (those not taken yet), until ``close``."""
        while True:
            application = self._arrivals.get()
            if application is _NO_MORE:
                return
            if application is _ABORTED:
                raise ReadingAbortedError('reading the hosts stopped on an error, so nothing more is sent.')
            yield application


class ReadingAbortedError(EntraError):
    """The hosts could not all be read: an engine taking applications as they come must stop before any write."""


# What ends a group's arrivals: every application has joined, or reading the hosts failed.
_NO_MORE = object()
_ABORTED = object()


def describe_connection(connection):
    """Name a sign-in for progress and messages without any secret: cloud / tenant / identity."""
    identity = connection.get('client_id') or connection.get('auth_method') or 'identity from environment'
    return '%s / %s / %s' % (connection.get('cloud') or 'cloud from environment',
                             connection.get('tenant_id') or 'tenant from environment', identity)


class SignInIntake(object):
    """Hands each application to its sign-in group as the hosts are read, so a group can be authorized while
    later hosts are still being read. Groups appear in first-seen order; ``new_groups`` yields each as it appears.

    Groups that read alike (same cloud, tenant and client, but another secret, certificate or endpoint) are
    numbered from the second on, so the progress lines tell them apart without showing what differs; a label is
    fixed when its group appears, since progress may already name it.
    """

    def __init__(self):
        self.groups = []
        self._by_key = {}
        self._alike = {}
        self._appeared = queue.Queue()

    def add(self, application):
        """Add an application that was not rejected to its group (a new one for a new sign-in)."""
        key = application.sign_in_key
        group = self._by_key.get(key)
        if group is None:
            label = describe_connection(application.connection)
            number = self._alike[label] = self._alike.get(label, 0) + 1
            if number > 1:
                label = '%s (sign-in %d of this client, with other credentials or settings)' % (label, number)
            group = self._by_key[key] = SignInGroup(application.connection, label)
            self.groups.append(group)
            self._appeared.put(group)
        group.add(application)

    def close(self, aborted=False):
        """Say that every host has been read (or, ``aborted``, that reading failed): every group's arrivals end."""
        for group in self.groups:
            group.close(aborted)
        self._appeared.put(_ABORTED if aborted else _NO_MORE)

    def new_groups(self):
        """Yield each group as it appears, until ``close``; after an aborted reading, yield nothing more."""
        while True:
            group = self._appeared.get()
            if group is _NO_MORE or group is _ABORTED:
                return
            yield group


def refuse_shared_targets(applications):
    """Yield ``applications`` in order, each one that names the same target as an earlier one of another sign-in
    replaced by a rejected one; ``applications`` may be read as it goes.

    The provisioning service keeps one set of credentials per application, so two sign-ins writing them would leave
    whichever group ran last. Only a target named the same way (the same variable and value, in one cloud and
    tenant) can be seen before anything is sent; a sign-in group catches its own duplicates once they are resolved.
    """
    first_by_target = {}
    for application in applications:
        if not application.rejected:
            request = application.request
            value = request.target_value if request.target_option == 'display_name' else request.target_value.lower()
            key = (application.connection.get('cloud'), application.connection.get('tenant_id'),
                   request.target_option, value)
            first = first_by_target.setdefault(key, application)
            if first.sign_in_key != application.sign_in_key:
                error = InvalidInputError(
                    "%s is %s, the application host '%s' names too, with another sign-in (client, secret, "
                    'certificate, token or endpoint): the service keeps one set of credentials per application, so '
                    'only one of them can be right. Keep the application on one host, or give both hosts the same '
                    'sign-in.' % (host_variable(request.target_option, application.name), request.target_value,
                                  first.name))
                application = HostApplication(application.name, SyncRequest.rejected(application.name, error))
        yield application


def failed_outcomes(applications, step, error):
    """Return ApplicationOutcomes that record ``error`` (an EntraError or a text) at ``step`` for each application."""
    outcomes = []
    for application in applications:
        outcome = ApplicationOutcome(application.request)
        outcome.fail(step, application.request.rejection if application.rejected else error)
        outcomes.append(outcome)
    return outcomes


def outcome_record(outcome):
    """Return what the role keeps of one ApplicationOutcome: its result fields (never a credential value).

    The job fields stay empty (``job_status_before``/``job_status`` None, ``job_started`` false) unless the job
    phase fills them in with ``add_job_result``.
    """
    record = outcome.to_result()
    record.update(job_status_before=None, job_started=False, job_status=None)
    return record


def ready_to_start(application, outcome, check_mode):
    """True when ``application`` asked for its job to be started and its ApplicationOutcome allows it.

    That is: not failed and authorized; in check mode also when acquireAccessToken would be sent, so the run shows
    what would be started.
    """
    if not application.start_job or outcome.failed:
        return False
    return outcome.authorized is True or bool(check_mode and outcome.would_acquire)


def job_target(outcome):
    """Return the job engine's target (``label``, ``path``, ``job_id``) for an ApplicationOutcome the authorize
    engine resolved: the same object and the same job it authorized."""
    return dict(label=outcome.request.label, path=outcome.path, job_id=outcome.job_id)


def job_start_failure(target, error):
    """Return a job result shaped like ``start_jobs_unless_running``'s for a target whose whole job phase failed
    (``error`` an EntraError)."""
    return dict(label=target['label'], job_id=target['job_id'], status_before=None, started=False, job=None,
                failed=True, msg="Application '%s' failed at starting its job: %s" % (target['label'], error.message),
                error=error.to_dict())


def add_job_result(record, job, check_mode):
    """Write one job result (from ``start_jobs_unless_running``) into the application's ``record``.

    Sets ``job_status_before``, ``job_started`` (sent, or in check mode would be) and ``job_status`` (the job's
    status code after the phase), and adds what happened to ``msg``. A failed start fails the application with the
    engine's reason; ``authorized`` keeps what the authorization found.
    """
    status = ((job.get('job') or {}).get('status') or {}).get('code')
    record.update(job_status_before=job.get('status_before'), job_started=bool(job.get('started')),
                  job_status=status or job.get('status_before'))
    record['changed'] = bool(record['changed'] or record['job_started'])
    if job.get('failed'):
        record.update(failed=True, error=job.get('error'),
                      msg='%s Its authorization is not affected (authorized: %s); only starting the job failed, so '
                          'run again to retry it.' % (job.get('msg'), str(record['authorized']).lower()))
        return
    record['msg'] = '%s %s' % (record['msg'], _job_sentence(record, check_mode))


def _job_sentence(record, check_mode):
    job = 'Its job %s' % record['job_id']
    if not record['job_started']:
        return '%s is already running (%s); not started.' % (job, record['job_status_before'])
    if check_mode:
        return '%s would be started (it is %s; check mode).' % (job, record['job_status_before'])
    return '%s was started (it was %s, now %s).' % (job, record['job_status_before'], record['job_status'])


def summarize(records):
    """Count ``{name: record}``: total, changed, ok (neither changed nor failed), failed; with the failed names."""
    failed = sorted(name for name, record in records.items() if record['failed'])
    changed = sum(1 for record in records.values() if record['changed'] and not record['failed'])
    return dict(total=len(records), changed=changed, ok=len(records) - changed - len(failed), failed=len(failed),
                failed_names=failed)


def host_report(result, host):
    """Return the report task's result for ``host`` from the authorize action's ``result``.

    Per host: the host's own outcome. With the summary report (or a list of applications) the task runs once and
    is the summary: its lines as the task's message, failed when any application failed.
    """
    if result.get('report') != 'per_host':
        return summary_report(result)
    record = result['outcomes'].get(host)
    if record is None:
        return dict(failed=True, changed=False,
                    msg="Host '%s' has no outcome: it was not in the play batch the authorize action ran for." % host)
    report = dict(changed=bool(record['changed']), failed=bool(record['failed']), msg=record['msg'])
    if record.get('job_status_before') is not None or record.get('job_started'):
        report.update((name, record[name]) for name in ('job_status_before', 'job_started', 'job_status'))
    return report


def summary_report(result):
    """The one report of ``authorize_report: summary``: the summary table shown like a debug message (unless
    ``authorize_show_summary`` is false), and a failure naming the failed applications when there are any."""
    lines = result.get('summary_lines')
    if result.get('failed_msg'):
        report = dict(failed=True, changed=False, msg=result['failed_msg'])
        if lines:
            report['summary_lines'] = lines
        return report
    if not lines:
        return dict(changed=False, msg='%(total)d application(s): %(changed)d changed, %(ok)d ok, none failed.'
                    % result['summary'])
    # What ansible.builtin.debug sets: the callback shows the message without -v.
    return dict(changed=False, msg=lines, _ansible_verbose_always=True)


def summary_lines(records, check_mode=False):
    """Return the summary table for people: one line per application (its job too, when it was to be started),
    then the counts."""
    width = max([len('application')] + [len(name) for name in records])
    lines = ['%-*s  %-7s  %s' % (width, 'application', 'result', 'detail')]
    for name in sorted(records):
        record = records[name]
        lines.append('%-*s  %-7s  %s' % (width, name, _result_word(record), _detail(record, check_mode)))
    counts = summarize(records)
    lines.append('total %(total)d, changed %(changed)d, ok %(ok)d, failed %(failed)d' % counts)
    return lines


def _result_word(record):
    if record['failed']:
        return 'FAILED'
    return 'changed' if record['changed'] else 'ok'


def _detail(record, check_mode):
    if record['failed']:
        return record['msg']
    if record['acquired']:
        detail = 'acquireAccessToken sent; %s' % ('verified' if record['authorized'] else 'not verified')
    elif record['changed'] and record['authorized'] is not True:
        # Changed, yet nothing sent and not authorized: only check mode leaves an application so (a started job
        # alone leaves it authorized).
        detail = 'would send acquireAccessToken (check mode)'
    else:
        detail = 'already authorized; nothing sent'
    return detail + _job_detail(record, check_mode)


def _job_detail(record, check_mode):
    if record['job_started']:
        if check_mode:
            return '; job would be started (%s)' % record['job_status_before']
        return '; job started (%s -> %s)' % (record['job_status_before'], record['job_status'])
    if record['job_status_before'] is not None:
        return '; job already running (%s)' % record['job_status_before']
    return ''


def _boolean(value, name):
    if isinstance(value, bool):
        return value
    if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).lower() in BOOLEANS:
        return boolean(value, strict=True)
    raise InvalidInputError('%s must be true or false, got %r.' % (name, value))


def _bounded_int(value, name, low, high):
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InvalidInputError('%s must be a whole number from %d to %d, got %s.' % (name, low, high,
                                                                                      _describe_type(value)))
    try:
        number = int(str(value).strip())
    except ValueError:
        raise InvalidInputError('%s must be a whole number from %d to %d, got %r.' % (name, low, high, value))
    if not low <= number <= high:
        raise InvalidInputError('%s must be from %d to %d, got %d.' % (name, low, high, number))
    return number


def _text(value, name):
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInputError('%s must be a string, got %s.' % (name, _describe_type(value)))
    return str(value)


def _describe_type(value):
    if isinstance(value, str):
        return 'a string'
    if isinstance(value, dict):
        return 'a mapping'
    if isinstance(value, list):
        return 'a list'
    if value is None:
        return 'nothing'
    return 'a %s' % type(value).__name__
