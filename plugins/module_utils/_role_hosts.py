# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""The authorize role's data logic: read each host's role variables, validate them, group the hosts by sign-in.

Each inventory host is an application. Its variables are read one by one (the first layer that holds a variable
wins: the host's own variables, which include its groups', then the play's, which include the role defaults),
validated on their own so a bad host fails alone (against the modules' own argument specs, with ansible-core's
ArgumentSpecValidator: a role variable is ``authorize_`` + a module option), and grouped by everything that decides the
endpoint, secrets included, so a secret is only ever used for the applications that declared it. After the
authorization, the applications that asked for it (``authorize_start_job``) have their job started; that outcome is
written into the same record. Nothing in this file talks to Ansible or the network: the action plugin hands in the
layers, a templating function and the engines' outcomes.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import difflib
import itertools
import queue

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.entra.provisioning.plugins.module_utils._graph.clouds import resolve_cloud
from ansible_collections.entra.provisioning.plugins.module_utils._connection_options import (
    DEFAULT_MAX_CONCURRENCY,
    MINIMUMS,
)
from ansible_collections.entra.provisioning.plugins.module_utils._errors import EntraError, InvalidInputError
from ansible_collections.entra.provisioning.plugins.module_utils._items import check_items, register_leaves, yaml_kind
from ansible_collections.entra.provisioning.plugins.module_utils._module import shared_argument_spec
from ansible_collections.entra.provisioning.plugins.module_utils._sync.authorization import (
    APPLICATION_ITEM_SPEC,
    ApplicationOutcome,
    parse_request,
)
from ansible_collections.entra.provisioning.plugins.module_utils._sync.common import NO_JOB_ADVICE, SyncRequest
from ansible_collections.entra.provisioning.plugins.module_utils._sync.targets import TARGET_OPTIONS

PREFIX = 'authorize_'
# The role registers the action's result under this name; it is no setting.
RESULT_VARIABLE = 'authorize_result'
REPORTS = ('per_host', 'summary')
# What ansible-core's argument spec knows of an _items spec entry (the rest is for _items' own messages).
_SPEC_KEYS = ('type', 'choices', 'no_log', 'default', 'elements')


def _argument_spec(item_spec):
    return dict((key, value) for key, value in item_spec.items() if key in _SPEC_KEYS)


# Per application, the options of an entra_sync_acquire_token applications item (with the module's defaults for the
# switches) and the role's own start_job; none of them splits a sign-in. A list of authorize_applications takes the
# same keys per item.
APPLICATION_SPEC = dict((option, _argument_spec(definition)) for option, definition in APPLICATION_ITEM_SPEC.items()
                        if option != 'name')
APPLICATION_SPEC['force'].update(default=False)
APPLICATION_SPEC['verify'].update(default=True)
APPLICATION_SPEC['start_job'] = dict(type='bool', default=False)
LISTED_ITEM_SPEC = dict(APPLICATION_ITEM_SPEC, start_job=dict(type='bool'))
# Everything that decides how and where the sign-in happens: the modules' shared options. Two hosts share one client
# only when all of these are equal, the secret, certificate password and token included.
CONNECTION_SPEC = shared_argument_spec()
# Read once for the play, from the play's variables (never a host's).
RUN_SPEC = dict(
    report=dict(type='str', choices=list(REPORTS), default='per_host'),
    show_summary=dict(type='bool', default=True),
    max_concurrency=dict(type='int', default=DEFAULT_MAX_CONCURRENCY),
    # A sign-in group is one part unless it is larger than this: every part boundary is a barrier where the last
    # envelopes of a phase leave slots idle.
    applications_per_run=dict(type='int', default=5000),
    # Checked item by item (a bad item fails alone), not here.
    applications=dict(type='raw'),
)
# (lowest, highest or None) of the number options: the modules' minimums, and the role's part size.
BOUNDS = dict(((option, (lowest, None)) for option, lowest in MINIMUMS.items()), applications_per_run=(1, 5000))
HOST_SPEC = dict(APPLICATION_SPEC, **CONNECTION_SPEC)
ROLE_SPEC = dict(HOST_SPEC, **RUN_SPEC)
APPLICATION_OPTIONS = tuple(APPLICATION_SPEC)
CONNECTION_OPTIONS = tuple(CONNECTION_SPEC)
HOST_OPTIONS = tuple(HOST_SPEC)
RUN_OPTIONS = tuple(RUN_SPEC)
ROLE_VARIABLES = frozenset(PREFIX + option for option in ROLE_SPEC)


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


class OptionChecker(object):
    """Checks options against an argument spec with ansible-core's ArgumentSpecValidator, as a module's are.

    ``name_of`` turns an option into what the user wrote (``authorize_timeout`` for the role, ``timeout`` for
    module_defaults); ansible-core's messages then name it. On top of the spec: a text option refuses a list or a
    mapping (ansible-core would turn it into its Python text), and numbers keep their BOUNDS.

    Values that already have their spec's type (text for ``str``, a boolean for ``bool``, ...) and are among its
    choices are what the validator would return unchanged, so they are taken as they are: a thousand hosts whose
    variables need no conversion cost no validator run each (about 1.5 ms a host). Any other value set goes through
    the validator, which converts it or says what is wrong.
    """

    def __init__(self, spec, name_of=variable):
        self.spec = spec
        self.name_of = name_of
        self._defaults = dict((option, definition.get('default')) for option, definition in spec.items())
        self._as_validated = dict((option, _as_validated(definition)) for option, definition in spec.items())
        self._validator = ArgumentSpecValidator(dict((name_of(option), dict(definition))
                                                     for option, definition in spec.items()))

    def check(self, values, where):
        """Return every option of the spec (``values`` checked and converted, defaults for the rest).

        ``values`` is ``{option: value}``; ``where`` says whose values they are in a message (``host 'expenses'``).
        Raises InvalidInputError naming every problem; the values of secret options are registered before any
        message is built.
        """
        # null is unset, as it is for a module option: the default (or the environment) applies.
        given = dict((option, value) for option, value in values.items() if value is not None and option in self.spec)
        as_validated = self._as_validated
        if all(as_validated[option](value) for option, value in given.items()):
            checked = dict(self._defaults, **given)
            problems = []
        else:
            checked, problems = self._validate(given)
        if not problems:
            problems.extend(self._out_of_bounds(checked))
        if problems:
            raise InvalidInputError('%s: %s.' % (where, '; '.join(problem.rstrip('.') for problem in problems)))
        return checked

    def _validate(self, given):
        """Run ansible-core's validator; return (every option of the spec, the problems found)."""
        problems = []
        parameters = {}
        for option, value in given.items():
            definition = self.spec[option]
            if definition.get('no_log'):
                # The ``key`` of a credentials pair is its name, not a secret (the only no_log option with pairs).
                register_leaves(value, ('key',))
            if definition.get('type') in ('str', 'path') and isinstance(value, (dict, list, tuple)):
                problems.append('%s must be a string, got %s' % (self.name_of(option), yaml_kind(value)))
                continue
            parameters[self.name_of(option)] = value
        result = self._validator.validate(parameters)
        problems.extend(error.msg for error in result.errors.errors)
        return dict((option, result.validated_parameters.get(self.name_of(option))) for option in self.spec), problems

    def _out_of_bounds(self, checked):
        for option, (lowest, highest) in sorted(BOUNDS.items()):
            value = checked.get(option)
            if option not in self.spec or value is None:
                continue
            if value < lowest or (highest is not None and value > highest):
                wanted = '%d or more' % lowest if highest is None else 'from %d to %d' % (lowest, highest)
                yield '%s must be %s, got %d' % (self.name_of(option), wanted, value)


def _as_validated(definition):
    """Return a test of a value: True when ansible-core's validator would return it unchanged for ``definition``
    (it has the type already, a path has no ``~`` or ``$`` to expand, and it is one of the choices, if any)."""
    kind = definition.get('type', 'str')
    choices = definition.get('choices')
    if choices:
        return lambda value: isinstance(value, str) and kind == 'str' and value in choices
    if kind == 'raw':
        return lambda value: True
    if kind == 'int':
        return lambda value: isinstance(value, int) and not isinstance(value, bool)
    if kind == 'bool':
        return lambda value: isinstance(value, bool)
    if kind == 'path':
        return lambda value: isinstance(value, str) and '~' not in value and '$' not in value
    return lambda value: kind == 'str' and isinstance(value, str)


_HOST_CHECKER = OptionChecker(HOST_SPEC)
_RUN_CHECKER = OptionChecker(RUN_SPEC)
_DEFAULTS_CHECKER = OptionChecker(CONNECTION_SPEC, name_of=str)


def parse_run_settings(values):
    """Validate the play-level variables (report, summary, concurrency, part size, list); return a dict of them.

    Raises InvalidInputError naming each role variable, what is wrong and what was given.
    """
    return _RUN_CHECKER.check(values, "The play's role variables")


def parse_module_defaults(args, action_group):
    """Validate the connection options ``module_defaults`` gives the role's action (as ``args``) for
    ``action_group``; return the ones set. Options that are not connection options are left out."""
    values = dict((option, value) for option, value in (args or {}).items()
                  if option in CONNECTION_SPEC and value not in (None, ''))
    checked = _DEFAULTS_CHECKER.check(values, 'module_defaults for %s' % action_group)
    return dict((option, checked[option]) for option in values)


def unknown_variables(names):
    """Return ``{name: closest role variable or None}`` for each ``authorize_*`` name of ``names`` that the role
    does not know (a misspelling is otherwise silently ignored)."""
    unknown = {}
    for name in names:
        if isinstance(name, str) and name.startswith(PREFIX) and name not in ROLE_VARIABLES \
                and name != RESULT_VARIABLE:
            # Compared without the prefix every name shares, which would make any two names look alike.
            close = difflib.get_close_matches(name[len(PREFIX):], sorted(ROLE_SPEC), n=1, cutoff=0.75)
            unknown[name] = variable(close[0]) if close else None
    return unknown


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


def parse_host(host, values, defaults=None):
    """Validate one host's role variables (``{option: value}`` from ``resolve_values``) into a HostApplication.

    ``defaults`` are the connection options module_defaults gives (checked by ``parse_module_defaults``); the host's
    variables come first. A bad variable gives a rejected HostApplication whose error names the role variable and
    the host; the other hosts are not affected.
    """
    try:
        checked = _HOST_CHECKER.check(dict(defaults or {}, **values), "host '%s'" % host)
        options = dict((option, checked[option]) for option in APPLICATION_OPTIONS)
        options['name'] = host
        names = dict((option, host_variable(option, host)) for option in APPLICATION_OPTIONS)
        request = parse_request(options, where="host '%s'." % host, names=names)
        connection = _connection(checked, "host '%s': %s" % (host, variable('cloud')))
    except EntraError as error:
        return HostApplication(host, SyncRequest.rejected(host, error))
    return HostApplication(host, request, connection, start_job=checked['start_job'])


def parse_listed(items, play_values, defaults=None):
    """Validate ``authorize_applications`` (a list of mappings) into HostApplications that share one sign-in.

    ``play_values`` are the play's role variables: its connection variables sign in for every item, its
    ``authorize_force``/``authorize_verify``/``authorize_start_job`` are the items' defaults. Each item is checked
    like an ``applications`` item of entra_sync_acquire_token (unknown keys with the closest name, types, repeated
    names) and fails alone. Raises InvalidInputError when the list itself or the play's variables are unusable.
    """
    if items == []:
        raise InvalidInputError('%s is empty: list at least one application.' % variable('applications'))
    checked_play = _HOST_CHECKER.check(dict(defaults or {}, **play_values), "The play's role variables")
    connection = _connection(checked_play, variable('cloud'))
    applications = []
    for checked in check_items(items, variable('applications'), LISTED_ITEM_SPEC, label_fallbacks=TARGET_OPTIONS):
        try:
            if checked.error is not None:
                raise checked.error
            options = dict(checked.values)
            for switch in ('force', 'verify', 'start_job'):
                if options.get(switch) is None:
                    options[switch] = checked_play[switch]
            options['name'] = checked.label
            request = parse_request(options, where=checked.where + '.')
        except EntraError as error:
            applications.append(HostApplication(checked.label, SyncRequest.rejected(checked.label, error)))
            continue
        applications.append(HostApplication(checked.label, request, connection, start_job=options['start_job']))
    return applications


def _connection(checked, where):
    """The connection options of checked values; empty ones are left out, so the environment fallbacks apply.

    The cloud is its canonical name (``AzureCloud`` is ``global``), so two spellings make one sign-in and the
    clash checks see one cloud. ``where`` names the cloud variable in an error.
    """
    connection = dict((option, checked[option]) for option in CONNECTION_OPTIONS if checked[option] not in (None, ''))
    if 'cloud' in connection:
        cloud = connection['cloud']
        canonical = _CANONICAL_CLOUDS.get(cloud)
        if canonical is None:
            canonical = _CANONICAL_CLOUDS[cloud] = resolve_cloud(cloud, where).name
        connection['cloud'] = canonical
    return connection


# Each cloud name seen, with its canonical name: a thousand hosts of one group name the same cloud.
_CANONICAL_CLOUDS = {}


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


class WrittenApplications(object):
    """The applications this run writes, by what their names resolved to: one application, one write per run.

    Each sign-in group (and each part of one) resolves its hosts' targets on its own, and the engine refuses a
    repeat only within one part. Before a part writes, ``refuse_claimed`` fails each of its applications that a
    host of an earlier part or group resolved to already (same cloud, tenant and appId), naming every host
    involved; the first one keeps it.
    """

    def __init__(self):
        self._hosts = {}

    def refuse_claimed(self, applications, outcomes):
        """Claim each resolved application of ``applications`` (HostApplications, with their ApplicationOutcomes
        in the same order) or fail its outcome when another host claimed it first."""
        for application, outcome in zip(applications, outcomes):
            if outcome.failed or not outcome.app_id:
                continue
            key = (application.connection.get('cloud'), str(application.connection.get('tenant_id') or '').lower(),
                   outcome.app_id.lower())
            hosts = self._hosts.setdefault(key, [])
            if hosts:
                outcome.fail('checking that no other host writes it', '%s resolves to the same application (appId '
                             '%s) as %s: the service keeps one set of credentials per application, so it is written '
                             'once per run, for %s.'
                             % (host_variable(application.request.target_option, application.name), outcome.app_id,
                                _hosts_named(hosts), "host '%s'" % hosts[0]),
                             'Keep the application on one host.')
            hosts.append(application.name)


def _hosts_named(hosts):
    return ('host ' if len(hosts) == 1 else 'hosts ') + ', '.join("'%s'" % host for host in hosts)


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


def no_job_to_start(target):
    """Return a job result shaped like ``start_jobs_unless_running``'s for an application that asked for its job to
    be started but has none (it was authorized through its template): nothing is sent, and the application fails,
    since what was asked for (provisioning running) cannot happen until the job is created."""
    return dict(label=target['label'], job_id=None, status_before=None, started=False, job=None, failed=True,
                msg="Application '%s' failed at starting its job: it has no provisioning (synchronization) job, so "
                    "there is no job to start and nothing was sent." % target['label'], error=None)


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
        authorized = str(record['authorized']).lower()
        if job.get('job_id') is None:
            message = '%s Its authorization is not affected (authorized: %s). %s' % (
                job.get('msg'), authorized, NO_JOB_ADVICE)
        else:
            message = ('%s Its authorization is not affected (authorized: %s); only starting the job failed, so run '
                       'again to retry it.' % (job.get('msg'), authorized))
        record.update(failed=True, error=job.get('error'), msg=message)
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

    Per host, the host's own outcome. With the summary report the task runs once, as the summary, unless an
    application failed: then it runs on every host of the batch and each reports its own outcome, so the PLAY
    RECAP (and AWX's host summary) fails exactly the failed applications and never a healthy one. A list of
    applications has no hosts to report on: its one report is the summary.
    """
    if result.get('mode') == 'list' or (result.get('report') != 'per_host' and not result['summary']['failed']):
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
    """The one report of a summary: the counts (the action showed the tables already), failing with the names of
    the failed applications when there are any."""
    if result.get('failed_msg'):
        return dict(failed=True, changed=False, msg=result['failed_msg'])
    return dict(changed=False, msg='%(total)d application(s): %(changed)d changed, %(ok)d ok, none failed.'
                % result['summary'])


def failed_lines(records):
    """Return the table of the failed applications and why each failed, for people; empty when none failed."""
    failed = [(name, record['msg']) for name, record in records.items() if record['failed']]
    if not failed:
        return []
    width = max([len('failed application')] + [len(name) for name, _reason in failed])
    return ['%-*s  %s' % (width, 'failed application', 'reason')] + [
        '%-*s  %s' % (width, name, reason) for name, reason in sorted(failed)]


def outcome_stats(summary):
    """The run's counts and failed applications as ``set_stats`` data (``ansible_stats`` of a result): added up
    over the play's batches, shown by ``show_custom_stats`` and handed to AWX as the job's artifacts, so a workflow
    can branch on them."""
    return dict(per_host=False, aggregate=True, data=dict(
        authorize_total=summary['total'], authorize_changed=summary['changed'], authorize_ok=summary['ok'],
        authorize_failed=summary['failed'], authorize_failed_applications=list(summary['failed_names'])))


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
    if record['job_id'] is None:
        return '; no provisioning job yet (create one to provision)'
    return ''
