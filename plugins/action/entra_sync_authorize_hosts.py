# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The authorize role's work, done once per play batch on the controller (documented in the module stub).

Phases, each a method below: read and validate every host's role variables, group the hosts by sign-in, authorize
each group part by part with the shared engine (the first group starts while the hosts are still read), start the
jobs of the part's authorized applications that asked for it (``authorize_start_job``, with the same client), and
gather the outcomes into one record per application.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import collections
import functools
import socket
import threading
import time
from collections import ChainMap
from collections.abc import Mapping
from urllib.parse import urlsplit
from urllib.request import getproxies_environment, proxy_bypass_environment

from ansible.errors import AnsibleError

from ansible_collections.entra.provisioning.plugins.module_utils._graph.client_factory import build_graph_client
from ansible_collections.entra.provisioning.plugins.module_utils._connection_options import settings_notices
from ansible_collections.entra.provisioning.plugins.module_utils._errors import EntraError, InvalidInputError
from ansible_collections.entra.provisioning.plugins.module_utils._options import OptionAdapter
from ansible_collections.entra.provisioning.plugins.module_utils._redact import start_in_thread
from ansible_collections.entra.provisioning.plugins.module_utils._role_hosts import (
    CONNECTION_OPTIONS,
    HOST_OPTIONS,
    HostApplication,
    RUN_OPTIONS,
    ReadingAbortedError,
    SignInIntake,
    WrittenApplications,
    add_job_result,
    failed_lines,
    failed_outcomes,
    job_start_failure,
    job_target,
    no_job_to_start,
    outcome_record,
    outcome_stats,
    parse_host,
    parse_listed,
    parse_module_defaults,
    parse_run_settings,
    ready_to_start,
    refuse_shared_targets,
    resolve_values,
    summarize,
    summary_lines,
    unknown_variables,
    variable,
)
from ansible_collections.entra.provisioning.plugins.module_utils._sync.authorization import SyncAuthorizer
from ansible_collections.entra.provisioning.plugins.module_utils._sync.common import SyncRequest
from ansible_collections.entra.provisioning.plugins.module_utils._sync.jobs import start_jobs_unless_running
from ansible_collections.entra.provisioning.plugins.module_utils._graph.throttle import observe_throttles
from ansible_collections.entra.provisioning.plugins.plugin_utils._controller_action import (
    ControllerAction,
    connection_plugins_listed_once,
)

# Nothing shown for this long (seconds): a line says where the run is. Shorter runs get no extra line.
QUIET_SECONDS = 10
# A throttling wait shorter than this (seconds) gets no line of its own.
MIN_WAIT_SHOWN = 2
# The action is a member of this group (meta/runtime.yml), so module_defaults for it arrive as the task's arguments.
ACTION_GROUP = 'group/entra.provisioning.entra'


class ActionModule(ControllerAction):
    """Authorize the applications of the play batch (or of authorize_applications) and return every outcome."""

    _supports_check_mode = True

    def run_on_controller(self, task_vars):
        """Resolve, validate, group, authorize; return the records keyed by host (or by item name)."""
        with connection_plugins_listed_once():
            return self._read_and_authorize(task_vars)

    def _read_and_authorize(self, task_vars):
        hostvars = task_vars['hostvars']
        play_layer = self._play_layer()
        # The role gives its task no arguments: what arrives is module_defaults for the action group.
        defaults = self._module_defaults()
        # Read once, from the play alone: no host decides them for the others.
        settings = parse_run_settings(self._values(RUN_OPTIONS, (play_layer,), 'the play'))
        notes = _Notes()
        notes.note_unknown(play_layer, None)
        if settings['applications'] is not None:
            mode = 'list'
            run_host = task_vars['inventory_hostname']
            applications = parse_listed(settings['applications'],
                                        self._host_values(run_host, HOST_OPTIONS, hostvars, play_layer, notes),
                                        defaults)
        else:
            mode = 'hosts'
            # Read as the authorization goes: the first sign-in group starts while later hosts are still read.
            applications = (self._parse_host(host, hostvars, play_layer, notes, defaults)
                            for host in task_vars.get('ansible_play_batch') or ())
        listed = settings['applications'] if mode == 'list' else task_vars.get('ansible_play_batch')
        progress = Progress(self.output, len(listed or ()))
        progress.start()
        try:
            records = self._authorize(applications, _Run(settings, WrittenApplications(), progress))
        finally:
            progress.stop()
        notes.warn(self.output)
        return self._result(records, mode, settings)

    def _result(self, records, mode, settings):
        """The task's result for ``records``; the summary table and the failed applications are shown as text."""
        summary = summarize(records)
        # The per-host report needs hosts that are applications; a list has no such hosts to report on.
        report = settings['report'] if mode == 'hosts' else 'summary'
        result = dict(changed=report == 'summary' and summary['changed'] > 0, mode=mode, report=report,
                      outcomes=records, summary=summary, check_mode=bool(self._task.check_mode))
        if settings['show_summary']:
            result['summary_lines'] = summary_lines(records, check_mode=bool(self._task.check_mode))
            # Shown here as text, the table costs no task of its own (a task, even skipped, costs ansible-core a
            # look at every host) and is never folded into a task result's JSON.
            self.output.display('\n'.join(result['summary_lines']))
        if summary['failed']:
            result['failed_msg'] = ('%d of %d applications failed: %s. See the table of failed applications or %s.'
                                    'outcomes for each reason.' % (summary['failed'], summary['total'],
                                                                   ', '.join(summary['failed_names']),
                                                                   'authorize_result'))
            self.output.display('\n'.join(failed_lines(records) + [result['failed_msg']]))
        # What set_stats would publish, published by this task itself: no task of its own.
        result['ansible_stats'] = outcome_stats(summary)
        return result

    # -- phase 1: each host's variables ----------------------------------------------------------------------------

    def _play_layer(self):
        """The play's variables without any host's: role defaults, play and role vars, extra vars.

        The action's own task_vars cannot serve: they hold the variables of the host it runs on, which must never
        reach another host.
        """
        variable_manager = self._task.get_variable_manager()
        if variable_manager is None:
            return {}
        return variable_manager.get_vars(play=self._task.get_play(), task=self._task, include_hostvars=False)

    def _module_defaults(self):
        """The connection options module_defaults gives the action group, checked; other options are warned
        about (the role takes only connection options from there)."""
        args = dict(self._task.args or {})
        ignored = sorted(str(name) for name in args if name not in CONNECTION_OPTIONS)
        if ignored:
            self.output.warning('module_defaults for %s sets %s, which the authorize role does not take from there '
                                '(only the connection options); set %s instead.'
                                % (ACTION_GROUP, ', '.join(ignored), ', '.join(variable(name) for name in ignored)))
        return parse_module_defaults(args, ACTION_GROUP)

    def _parse_host(self, host, hostvars, play_layer, notes, defaults):
        try:
            values = self._host_values(host, HOST_OPTIONS, hostvars, play_layer, notes)
        except EntraError as error:
            return _rejected(host, error)
        return parse_host(host, values, defaults)

    def _host_values(self, host, options, hostvars, play_layer, notes):
        """The role variables of ``host``: its own (and its groups') first, then the play's, rendered for it.

        The host's ``authorize_*`` names the role does not know, and the play-level ones it sets, go to ``notes``.
        """
        host_layer = hostvars.raw_get(host)
        if not isinstance(host_layer, Mapping):
            raise InvalidInputError("host '%s' is not in the inventory." % host)
        notes.note_host(host_layer, play_layer, host)
        return self._values(options, (host_layer, play_layer), "host '%s'" % host)

    def _values(self, options, layers, whose):
        """The role variables of ``options`` from ``layers`` (highest first), rendered with those layers."""
        templar = []

        def template(name, value):
            if not self._needs_rendering(value):
                # Most values are plain text: rendering each of a thousand hosts' dozen values costs seconds.
                return _plain(value)
            if not templar:
                templar.append(self._templar.copy_with_new_env(available_variables=ChainMap(*layers)))
            try:
                return _plain(templar[0].template(value))
            except AnsibleError as error:
                raise InvalidInputError('%s of %s cannot be rendered: %s' % (name, whose, error.message))

        return resolve_values(options, layers, template)

    def _needs_rendering(self, value):
        """False for plain data only: text without template markers, numbers, booleans, containers of them."""
        if value is None or isinstance(value, (bool, int, float)):
            return False
        if isinstance(value, str):
            return self._templar.is_possibly_template(value)
        if isinstance(value, Mapping):
            return any(self._needs_rendering(key) or self._needs_rendering(item) for key, item in value.items())
        if isinstance(value, (list, tuple)):
            return any(self._needs_rendering(item) for item in value)
        # A vault value or another wrapper: only the templar knows how to turn it into text.
        return True

    # -- phase 2 to 4: group by sign-in, authorize, start jobs ---------------------------------------------------

    def _authorize(self, applications, run):
        """Authorize ``applications`` (read as they come) sign-in group by sign-in group; return records by name.

        The groups are authorized in a thread of their own while this one reads the rest of the hosts: the first
        group signs in and does its reads (targets, jobs, saved credentials) meanwhile. Only reads overlap the
        reading: a part writes once it holds all its applications, when it is full (authorize_applications_per_run)
        or every host is read.
        """
        intake = SignInIntake()
        # Every new pause Graph imposes on a tenant gets its line (once per pause, not per waiting request).
        observe_throttles(lambda wait: run.progress.say(str(wait)))
        authorizing = start_in_thread(lambda: self._authorize_groups(intake, run))
        read, refused = [], []
        try:
            for application in refuse_shared_targets(applications):
                read.append(application)
                run.progress.read = len(read)
                if application.rejected:
                    refused.append(application)
                else:
                    intake.add(application)
        except BaseException:
            intake.close(aborted=True)
            authorizing.result()
            raise
        intake.close()
        run.progress.say('%d application(s) in %d sign-in group(s), %d refused before sending anything'
                         % (len(read), len(intake.groups), len(refused)))
        records = {}
        _keep(records, refused, failed_outcomes(refused, 'validating its variables', None))
        for part, outcomes, jobs in authorizing.result():
            _keep(records, part, outcomes, jobs, check_mode=bool(self._task.check_mode))
        done = summarize(records)
        run.progress.say('done: %(changed)d changed, %(ok)d ok, %(failed)d failed' % done)
        # Records in the order the hosts came, whatever group they went through.
        order = dict((application.name, position) for position, application in enumerate(read))
        return dict(sorted(records.items(), key=lambda item: order.get(item[0], len(order))))

    def _authorize_groups(self, intake, run):
        """Authorize each sign-in group as it appears; return (applications, outcomes, job results) per part."""
        done = []
        try:
            for number, group in enumerate(intake.new_groups(), 1):
                run.progress.say('sign-in %d (%s)' % (number, group.label), phase='signing in as %s' % group.label)
                try:
                    client = build_graph_client(OptionAdapter.from_dict(group.connection),
                                                max_concurrency=run.settings['max_concurrency'])
                    # A name that does not resolve fails the group at once, rather than after every retry.
                    refuse_unresolved_names(client.settings)
                    # Throttling waits: once the Graph client reports them (seconds, why), hand it run.progress.waiting
                    # here, and each wait shows as a line.
                    # Signing in before the first phase makes a refused secret read as what it is, once per group.
                    client.authenticator.get_token()
                except EntraError as error:
                    applications = list(group.arrivals())
                    done.append((applications, failed_outcomes(applications, 'signing in as %s' % group.label,
                                                               error), None))
                    run.progress.done += len(applications)
                    continue
                try:
                    self._authorize_group(client, group, run, done)
                finally:
                    client.close()
        except ReadingAbortedError:
            # Reading the hosts failed: the task reports that error, and nothing was written.
            pass
        return done

    def _authorize_group(self, client, group, run, done):
        warnings, deprecation = settings_notices(client.settings, variable)
        for warning in warnings:
            self.output.warning('%s: %s' % (group.label, warning))
        if deprecation:
            # The role's variable is what the user wrote; the controller shows one identical notice once per run.
            self.output.deprecated(deprecation['msg'].replace('api_version', variable('api_version'), 1),
                                   date=deprecation['date'], collection_name=deprecation['collection_name'])
        settings = run.settings
        for part_number, part in enumerate(group.parts(settings['applications_per_run']), 1):
            where = group.label if part_number == 1 else '%s, part %d' % (group.label, part_number)
            taken = []
            # Before it writes, the part gives up each application an earlier part or group resolved to already.
            authorizer = SyncAuthorizer(client, check_mode=bool(self._task.check_mode),
                                        max_concurrency=settings['max_concurrency'],
                                        progress=functools.partial(run.progress.phase_of, where),
                                        before_writes=functools.partial(run.written.refuse_claimed, taken))
            applications, outcomes = self._run_part(authorizer, group, part, taken)
            done.append((applications, outcomes, self._start_jobs(client, group, applications, outcomes, run)))
            run.progress.done += len(applications)

    def _start_jobs(self, client, group, part, outcomes, run):
        """Start the jobs of the part's applications that asked for it and are authorized; one result (or None) per
        application of the part."""
        check_mode = bool(self._task.check_mode)
        ready = [position for position, (application, outcome) in enumerate(zip(part, outcomes))
                 if ready_to_start(application, outcome, check_mode)]
        jobs = [None] * len(part)
        for position in ready:
            if outcomes[position].job_id is None:
                # Authorized through its template: there is no job to start until one is created.
                jobs[position] = no_job_to_start(job_target(outcomes[position]))
        ready = [position for position in ready if jobs[position] is None]
        if not ready:
            return jobs
        run.progress.say('%s: starting the jobs of %d application(s) unless running' % (group.label, len(ready)),
                         phase='%s: starting jobs' % group.label)
        targets = [job_target(outcomes[position]) for position in ready]
        try:
            results = start_jobs_unless_running(client, targets, check_mode=check_mode,
                                                max_concurrency=run.settings['max_concurrency'])
        except EntraError as error:
            results = [job_start_failure(target, error) for target in targets]
        except Exception as error:  # pylint: disable=broad-exception-caught
            # As for the authorization: a surprise in one group's job phase must not cost the others theirs.
            unexpected = EntraError('unexpected %s: %s' % (type(error).__name__, error))
            results = [job_start_failure(target, unexpected) for target in targets]
        for position, job in zip(ready, results):
            jobs[position] = job
        return jobs

    def _run_part(self, authorizer, group, part, taken):
        """Authorize one part, taking its applications as they arrive (into ``taken``); return (applications,
        outcomes)."""

        def requests():
            for application in part:
                taken.append(application)
                yield application.request

        try:
            outcomes = authorizer.run(requests())
        except Exception as error:  # pylint: disable=broad-exception-caught
            if not isinstance(error, EntraError):
                # One group's surprise must not cost the other groups their run.
                error = EntraError('unexpected %s: %s' % (type(error).__name__, error))
            # The part's applications still to come fail with it (a stopped reading raises here again).
            taken.extend(part)
            return taken, failed_outcomes(taken, 'authorizing with %s' % group.label, error)
        return taken, outcomes


# What one run of the action carries from phase to phase: the play-level settings, which applications are written
# (one host each), and the progress lines.
_Run = collections.namedtuple('_Run', 'settings written progress')


class Progress(object):
    """The run's progress lines (``authorize: ...``), each shown as it happens, and a line saying where the run is
    whenever nothing was shown for ``quiet_seconds``: which phase, how many hosts read, how many applications
    done. A run shorter than that shows no extra line."""

    def __init__(self, output, total, quiet_seconds=QUIET_SECONDS, clock=time.monotonic):
        self.output = output
        self.total = total
        self.read = 0
        self.done = 0
        self.phase = 'reading the hosts'
        self.quiet_seconds = quiet_seconds
        self._clock = clock
        self._started = self._last = clock()
        self._stopped = threading.Event()
        self._thread = None

    def say(self, text, phase=None):
        """Show ``authorize: text`` now; ``phase`` (if given) is what the run does from now on."""
        if phase is not None:
            self.phase = phase
        self._last = self._clock()
        self.output.display('authorize: %s' % text)

    def phase_of(self, where, text):
        """The engine's progress for one sign-in group (or part) ``where``: ``phase 2 of 5, ...``."""
        self.say('%s: %s' % (where, text), phase='%s: %s' % (where, text.split(',')[0]))

    def waiting(self, seconds, reason, where=None):
        """The hook for throttling waits: a wait of a few seconds or more gets its own line (how long, why)."""
        if seconds >= MIN_WAIT_SHOWN:
            self.say('%swaiting %d s: %s' % ('%s: ' % where if where else '', round(seconds), reason))

    def tick(self):
        """Show where the run is if nothing was shown for ``quiet_seconds``."""
        now = self._clock()
        if now - self._last >= self.quiet_seconds:
            self.say('still %s: %d of %d host(s) read, %d application(s) done (%d s so far)'
                     % (self.phase, self.read, self.total, self.done, now - self._started))

    def start(self):
        """Tick once a second in a thread of its own until ``stop``."""
        def ticking():
            while not self._stopped.wait(1):
                self.tick()
        self._thread = threading.Thread(target=ticking, name='authorize-progress')
        self._thread.daemon = True
        self._thread.start()

    def stop(self):
        """Stop ticking."""
        self._stopped.set()
        if self._thread is not None:
            self._thread.join()


def refuse_unresolved_names(settings):
    """Raise EntraError naming the host name of Graph or of the sign-in service (ConnectionSettings) that does not
    resolve, before any request: retried, it would fail the same way after every wait. A URL the environment
    sends through a proxy is the proxy's to resolve."""
    for what, url in (('Graph', settings.graph_base_url), ('the sign-in service', settings.authority_host)):
        parts = urlsplit(url)
        proxies = getproxies_environment()
        if (proxies.get('https') or proxies.get('all')) and not proxy_bypass_environment(parts.hostname or '', proxies):
            continue
        try:
            socket.getaddrinfo(parts.hostname, parts.port or 443, 0, socket.SOCK_STREAM)
        except socket.gaierror as error:
            raise EntraError('the host name %s of %s (%s) does not resolve: %s. Check the name (authorize_cloud, '
                             'authorize_graph_endpoint, authorize_authority_host) and the DNS of the controller.'
                             % (parts.hostname, what, url, error.strerror or error))


class _Notes(object):
    """What the reading of the variables found to warn about, one warning per variable at the end: ``authorize_*``
    names the role does not know (with the closest one), and play-level variables a host sets."""

    def __init__(self):
        self.unknown = {}
        self.play_level = {}

    def note_unknown(self, names, host):
        """Remember the ``authorize_*`` names the role does not know, with the host that has them (None: the
        play)."""
        for name, close in unknown_variables(names).items():
            self.unknown.setdefault((name, close), []).append(host)

    def note_host(self, host_layer, play_layer, host):
        """Look at one host's own variables: unknown names, and play-level variables it sets (a value the play
        holds too, such as an extra var, is the play's)."""
        # The play's own names were looked at once; a name the host shares with the play is the play's.
        self.note_unknown([name for name in host_layer if name not in play_layer], host)
        for option in RUN_OPTIONS:
            name = variable(option)
            if name in host_layer and (name not in play_layer or host_layer[name] != play_layer[name]):
                self.play_level.setdefault(name, []).append(host)

    def warn(self, output):
        """Show one warning per variable, naming a few of its hosts."""
        for (name, close), hosts in sorted(self.unknown.items(), key=lambda item: item[0][0]):
            hint = ('Did you mean %s?' % close if close else
                    'ansible-doc -t role entra.provisioning.authorize lists the role variables.')
            output.warning('%s (set for %s) is not a variable of the entra.provisioning.authorize role, so it is '
                           'ignored. %s' % (name, _name_hosts(hosts), hint))
        for name, hosts in sorted(self.play_level.items()):
            output.warning('%s is set for %s, but it is read from the play only (play vars, role parameters, extra '
                           'vars, role defaults), never from a host: the host value is ignored. Set it in the play.'
                           % (name, _name_hosts(hosts)))


def _name_hosts(hosts):
    """``the play``, ``host 'a'`` or ``hosts 'a', 'b', 'c' and 4 more``."""
    named = ["'%s'" % host for host in hosts if host is not None]
    if not named:
        return 'the play'
    return 'host%s %s%s' % ('s' if len(named) > 1 else '', ', '.join(named[:3]),
                            ' and %d more' % (len(named) - 3) if len(named) > 3 else '')


def _rejected(host, error):
    return HostApplication(host, SyncRequest.rejected(host, error))


def _keep(records, applications, outcomes, jobs=None, check_mode=False):
    """Record each outcome (and its job result, if any) under its application's name (the host, which the engine's
    label may not stay)."""
    for application, outcome, job in zip(applications, outcomes, jobs or [None] * len(applications)):
        record = outcome_record(outcome)
        if job is not None:
            add_job_result(record, job, check_mode)
        name = application.name
        if name in records:
            # Two list items with one name: keep both, the second under a name that says so.
            name = '%s (again, item %d)' % (name, len(records) + 1)
        record['name'] = name
        records[name] = record


def _plain(value):
    """Rendered data as plain Python (str, bool, int, float, list, dict), whatever wrappers templating used."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, Mapping):
        return dict((str(key), _plain(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    # An encrypted vault value and any other text-like wrapper: its text is what the user meant.
    return str(value)
