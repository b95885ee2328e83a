# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""The spine every sync engine (authorize, jobs, job info, secrets) stands on.

One request type (``SyncRequest``), one outcome family (``SyncOutcome`` and a subclass per engine), one engine base
(``SyncEngine``, which the bulk module runner drives), one step that reads an application's jobs and chooses one
(``take_jobs`` then ``choose_job``), one read of the saved secrets (``take_saved_secrets``), and one saved-credentials
check (``saved_credentials_verdict``: accepted, not accepted, target unavailable, or unknown; ``settle_unavailable``
decides what an unavailable target means). Every answer read here is checked for shape where it is read: a malformed
one fails its application with a message, never the run.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.entra.provisioning.plugins.module_utils._graph.batch import BatchRequest
from ansible_collections.entra.provisioning.plugins.module_utils._errors import EntraError, InvalidInputError
from ansible_collections.entra.provisioning.plugins.module_utils._graph.errors import synchronization_permission_advice
from ansible_collections.entra.provisioning.plugins.module_utils._ids import path_segment
from ansible_collections.entra.provisioning.plugins.module_utils._items import check_items, yaml_kind
from ansible_collections.entra.provisioning.plugins.module_utils._sync.targets import (
    TARGET_OPTIONS,
    answer_values,
    parse_target,
    send_requests,
    unreadable_answer,
)

NO_JOB_ADVICE = ('Create its provisioning job first: in the portal (the enterprise application, Provisioning, Get '
                 'started) or with the entra.provisioning.entra_sync_job module (state: present, which uses the '
                 "application's default template unless template_id is given); then run this again.")
# What choose_job does when no job matches: fail the application, leave it to the caller to create one, or neither.
FAIL, CREATE, IGNORE = 'fail', 'create', 'ignore'
# What the saved credentials check (validateCredentials with useSavedCredentials) found. UNAVAILABLE is never a final
# verdict: settle_unavailable turns it into NOT_ACCEPTED (nothing saved yet) or UNKNOWN.
ACCEPTED, NOT_ACCEPTED, UNKNOWN, UNAVAILABLE = True, False, None, 'unavailable'
# Saved secrets that are settings, not credentials: an application holding only these has no saved credentials.
SETTINGS_KEYS = ('SyncNotificationSettings', 'SyncAll')
# How GET secrets shows a value it will not reveal.
MASKED_VALUE = '*'
# CredentialValidationUnavailable is also the answer when the target erred or did not answer (Microsoft's onboarding
# tooling: a target's 5xx, a timeout, a failed token exchange). Only the message, the connector's free text, tells;
# a target's 401/403 reads exactly like rejected credentials and cannot be told apart.
_TARGET_DOWN = re.compile(r'HTTP/5\d\d|\b50[0-4]\b|did not answer|timed out|time-?out|token exchange|could not be '
                          r'reached|unreachable|service unavailable|bad gateway|internal server error|connection',
                          re.IGNORECASE)
_JOB_OBJECTS = ('schedule', 'status')
_STATUS_OBJECTS = ('quarantine', 'lastExecution', 'lastSuccessfulExecution', 'lastSuccessfulExecutionWithExports')


class SyncRequest(object):
    """One application an engine acts on: which target, its label, and the engine's validated ``settings``
    (credentials, job_id, state, ...). A request whose options were refused carries the error in ``rejection``; it
    is reported as failed without any request being sent for it, while the other applications go on.
    """

    def __init__(self, target_option, target_value, label=None, settings=None):
        self.target_option = target_option
        self.target_value = target_value
        self.label = label or target_value
        self.settings = dict(settings or {})
        self.rejection = None

    @classmethod
    def rejected(cls, label, error):
        """Return a request that stands for an application whose options failed validation."""
        request = cls(None, None, label=label)
        request.rejection = error
        return request


class SyncOutcome(object):
    """What happened to one application: the resolved object, its job, failure state and the Graph request id.

    Each engine's subclass adds its own fields (``fields()``), its success message (``summary()``) and ``changed``.
    """

    def __init__(self, request):
        self.request = request
        self.object_type = None
        self.object_id = None
        self.app_id = None
        self.display_name = None
        self.path = None
        self.job_id = request.settings.get('job_id')
        self.template_id = None
        self.request_id = None
        self.failed = False
        self.msg = None
        self.error = None
        # Why the target could not check the saved credentials (saved_credentials_verdict), or None.
        self.unavailable = None
        if request.rejection is not None:
            self.fail('validating its options', request.rejection)

    @property
    def changed(self):
        """True when a write was (or in check mode would be) sent."""
        return False

    def fail(self, step, error, advice=None):
        """Mark this application failed at ``step`` with an EntraError (or a text)."""
        self.failed = True
        if isinstance(error, EntraError):
            self.error = error.to_dict()
            self.request_id = error.request_id or self.request_id
            reason = error.message
        else:
            reason = error
        self.msg = '%s failed at %s: %s%s' % (self.describe(), step, reason, ' ' + advice if advice else '')

    def describe(self):
        """Name the application for messages: its label and, once resolved, its object."""
        name = "Application '%s'" % self.request.label
        if self.object_id:
            name += ' (%s %s)' % (self.object_type, self.object_id)
        return name

    def target(self):
        """Return the resolved object as a plain dict for results."""
        return dict(object_type=self.object_type, object_id=self.object_id, app_id=self.app_id,
                    display_name=self.display_name, path=self.path)

    def to_result(self):
        """Return the per-application result fields (never a credential value)."""
        result = dict(name=self.request.label, changed=self.changed, failed=self.failed,
                      msg=self.msg or self.summary(), target=self.target(), job_id=self.job_id,
                      request_id=self.request_id, error=self.error)
        result.update(self.fields())
        return result

    def fields(self):
        """The engine's own result fields."""
        return {}

    def diff(self):
        """What ``--diff`` shows for this application (an Ansible diff dict, never a secret value), or None."""
        return None

    def summary(self):
        """The message of an application that did not fail."""
        return '%s: done.' % self.describe()


class SyncEngine(object):
    """What every engine shares, and what the bulk module runner (``_module.run_bulk``) asks of one.

    ``ITEM_SPEC`` is the _items spec of an ``applications`` item, ``INHERITED`` the task options an item takes when it
    does not set them, ``parse(options, where)`` validates one application's options into a SyncRequest (no network),
    ``run(requests)`` returns one outcome per request in order, and ``summarize(results)`` the counts of a bulk run
    beyond ``total`` and ``failed``.
    """

    ITEM_SPEC = {}
    INHERITED = ()

    def __init__(self, client, check_mode=False, max_concurrency=None):
        self.client = client
        self.check_mode = check_mode
        self.max_concurrency = max_concurrency

    @staticmethod
    def parse(options, where=''):
        """Validate one application's options; raise InvalidInputError."""
        raise NotImplementedError

    def run(self, requests):
        """Act on every request; return one outcome per request, in input order."""
        raise NotImplementedError

    @staticmethod
    def summarize(results):
        """The engine's counts for a bulk run's summary."""
        return {}

    def _send(self, requests):
        """Send requests: a single one directly, several through $batch. Returns BatchResults in input order."""
        return send_requests(self.client, requests, self.max_concurrency)

    def _read_jobs(self, outcomes):
        """List the jobs of every outcome that has not failed; return ``(outcome, jobs)`` for each answer that is a
        usable list (take_jobs fails the others)."""
        live = [outcome for outcome in outcomes if not outcome.failed]
        read = []
        for outcome, result in zip(live, self._send([jobs_request(outcome) for outcome in live])):
            jobs = take_jobs(outcome, result)
            if jobs is not None:
                read.append((outcome, jobs))
        return read

    def _check_saved_credentials(self, outcomes, step, advice_of=None, saved_of=None, force_advice=None):
        """Ask validateCredentials about each outcome's saved credentials; return a verdict per outcome (see
        saved_credentials_verdict). ``advice_of(outcome)`` may lead an UNKNOWN's message; ``saved_of(outcome)``
        gives the saved secrets read before (see settle_unavailable), which decide what an unavailable target
        means."""
        results = self._send([saved_credentials_request(outcome) for outcome in outcomes])
        verdicts = []
        for outcome, result in zip(outcomes, results):
            verdict = saved_credentials_verdict(outcome, result, step, advice_of(outcome) if advice_of else None)
            if verdict == UNAVAILABLE:
                advice = ' '.join(text for text in (advice_of(outcome) if advice_of else None, force_advice) if text)
                verdict = settle_unavailable(outcome, saved_of(outcome) if saved_of else None, step, advice or None)
            verdicts.append(verdict)
        return verdicts


class RequestReader(object):
    """Reads one application's options (a dict) into a SyncRequest: each option spelt as the user wrote it, the
    target (exactly one of the target options, checked), blank texts refused.

    ``names`` maps an option to the text that names it (the role passes ``{'credentials': "authorize_credentials of
    host 'expenses'"}``); without an entry ``where`` prefixes the option, e.g. ``applications[3].job_id``. The
    constructor raises InvalidInputError when the target is not exactly one valid target option.
    """

    def __init__(self, options, where='', names=None):
        self.options = options
        self.where = where
        self.names = names or {}
        self.target_option, self.target_value = parse_target(options, where, self.name)

    def name(self, option):
        """How ``option`` is spelt for the user."""
        return self.names.get(option) or self.where + option

    def text(self, option):
        """Return the option's value (None when unset); raise InvalidInputError when it is set but blank."""
        value = self.options.get(option)
        if value is not None and str(value).strip() == '':
            raise InvalidInputError('%s is empty; leave it out to use the only job of the application.'
                                    % self.name(option))
        return value

    def request(self, **settings):
        """The SyncRequest of the target, labelled with the ``name`` option, carrying ``settings``."""
        return SyncRequest(self.target_option, self.target_value, label=self.options.get('name'), settings=settings)


def parse_items(items, spec, parse_one, defaults=None):
    """Validate each ``applications`` item on its own and return one SyncRequest per item, in input order.

    Each item is checked against the item ``spec`` by _items (unknown keys with a did-you-mean, types, choices,
    duplicate names), then its unset keys take ``defaults`` (the task's values) and ``parse_one(options, where)``
    builds the request. A bad item becomes a rejected request, so the others still run. ``items`` that is not a
    list raises InvalidInputError.
    """
    requests = []
    for checked in check_items(items, 'applications', spec, label_fallbacks=TARGET_OPTIONS):
        if checked.error is None:
            options = dict(checked.values)
            for name, value in (defaults or {}).items():
                if options.get(name) is None:
                    options[name] = value
            try:
                requests.append(parse_one(options, checked.where + '.'))
                continue
            except InvalidInputError as error:
                checked.error = error
        requests.append(SyncRequest.rejected(checked.label, checked.error))
    return requests


def target_item_spec(**extra):
    """Return the _items spec of an applications item: ``name``, the four target options, and ``extra``."""
    spec = dict(name=dict(type='str'))
    spec.update((option, dict(type='str')) for option in TARGET_OPTIONS)
    spec.update(extra)
    return spec


# -- an application's jobs: one listing, one choice ---------------------------------------------------------------

def jobs_request(outcome):
    """The GET that lists the jobs of a resolved application."""
    return BatchRequest('GET', outcome.path + '/synchronization/jobs')


def take_jobs(outcome, result):
    """Return the jobs of a listing answer (each checked with job_problem), or None with the outcome failed."""
    if not result.ok:
        outcome.fail('listing synchronization jobs', result.error, synchronization_permission_advice(result.error))
        return None
    jobs = answer_values(result.body)
    problem = _listing_problem(result.body) if jobs is None else _first(job_problem(job, 'value[%d]' % position)
                                                                        for position, job in enumerate(jobs))
    if problem:
        outcome.fail('listing synchronization jobs', unreadable_answer('a list of jobs', result, problem))
        return None
    return jobs


def take_job(outcome, result, step):
    """Return the job of an answer that is one (create, read), or None with the outcome failed at ``step``."""
    problem = job_problem(result.body, 'the job')
    if problem:
        outcome.fail(step, unreadable_answer('a job', result, problem))
        return None
    return result.body


def job_problem(job, where):
    """Return what makes ``job`` unusable as a synchronizationJob (a text naming ``where``), or None."""
    if not isinstance(job, dict):
        return '%s is %s, not an object' % (where, yaml_kind(job))
    if not isinstance(job.get('id'), str) or not job['id']:
        return '%s has no id' % where
    if job.get('templateId') is not None and not isinstance(job['templateId'], str):
        return '%s.templateId is %s, not a string' % (where, yaml_kind(job['templateId']))
    status = job.get('status')
    nested = [(name, job.get(name)) for name in _JOB_OBJECTS]
    nested += [('status.' + name, status.get(name)) for name in _STATUS_OBJECTS if isinstance(status, dict)]
    for name, value in nested:
        if value is not None and not isinstance(value, dict):
            return '%s.%s is %s, not an object' % (where, name, yaml_kind(value))
    if isinstance(status, dict) and status.get('code') is not None and not isinstance(status['code'], str):
        return '%s.status.code is %s, not a string' % (where, yaml_kind(status['code']))
    return None


def choose_job(outcome, jobs, job_id=None, template_id=None, missing=FAIL, purpose='use'):
    """Choose the job to act on from checked ``jobs``: by ``job_id``, else by ``template_id``, else the only one.

    Sets ``outcome.job_id`` and ``outcome.template_id`` and returns the job; returns None when the outcome failed or
    nothing matched. When nothing matches, ``missing`` says what follows: FAIL the application (it needs a job to
    ``purpose``), or the caller will CREATE one (a job id cannot be chosen, so a missing job_id still fails), or
    IGNORE (nothing to delete). Several matches always fail.
    """
    ids = [job['id'] for job in jobs]
    if job_id is not None:
        matches = [job for job in jobs if job['id'] == job_id]
        if not matches and missing != IGNORE:
            outcome.fail('finding job_id', 'it has no synchronization job %r; its jobs are: %s.'
                         % (job_id, ', '.join(ids) or 'none'),
                         'A job id cannot be chosen at creation: use template_id to create one.'
                         if missing == CREATE else None)
            return None
    elif template_id is not None:
        matches = [job for job in jobs if job.get('templateId') == template_id]
    else:
        matches = list(jobs)
    if len(matches) > 1:
        outcome.fail('choosing a synchronization job', 'it has %d jobs%s (%s); set job_id to the one to use.'
                     % (len(matches), ' of template %s' % template_id if template_id else '',
                        ', '.join(job['id'] for job in matches)))
        return None
    if not matches:
        if missing == FAIL:
            # Without a job there is nothing to act on, and Graph would answer a write with unrelated advice.
            outcome.fail('finding its provisioning job', 'it has no provisioning (synchronization) job, so there is '
                         'nothing to %s and nothing was sent.' % purpose, NO_JOB_ADVICE)
        return None
    outcome.job_id = matches[0]['id']
    outcome.template_id = matches[0].get('templateId')
    return matches[0]


def choose_job_or_template(outcome, jobs):
    """Choose the outcome's job (choose_job) where an application without a job is no failure when no job_id was
    asked for: its credentials are then checked through the jobs collection with its default template (see
    validate_credentials_request). Return True when the outcome needs that template (templates_request, then
    take_default_template); False when it has its job or failed (a job_id it does not have, several jobs)."""
    job = choose_job(outcome, jobs, outcome.job_id, missing=FAIL if outcome.job_id else IGNORE)
    return job is None and not outcome.failed


def take_default_template(outcome, result, purpose):
    """Set ``outcome.template_id`` to the default template of a templates listing answer, for an application without
    a job; fail the outcome (saying how to create the job) when there is no single default template. Return whether
    the outcome may go on."""
    outcome.template_id = choose_template(outcome, result, purpose=purpose, advice=NO_JOB_ADVICE)
    return not outcome.failed


def templates_request(outcome):
    """The GET that lists the synchronization templates of a resolved application."""
    return BatchRequest('GET', outcome.path + '/synchronization/templates')


def choose_template(outcome, result, template_id=None, purpose='create the job from', advice=None):
    """Return the template of a templates listing answer: ``template_id`` when the application offers it, else the
    one marked default; None with the outcome failed when there is no such template (``purpose`` says what it was
    for, ``advice`` replaces "set template_id")."""
    if not result.ok:
        outcome.fail('listing synchronization templates', result.error,
                     synchronization_permission_advice(result.error))
        return None
    templates = answer_values(result.body)
    if templates is None or not all(isinstance(template.get('id'), str) for template in templates):
        outcome.fail('listing synchronization templates', unreadable_answer('a list of templates', result))
        return None
    ids = [template['id'] for template in templates]
    if template_id is not None:
        if template_id in ids:
            return template_id
        outcome.fail('finding template_id', 'it has no synchronization template %r; its templates are: %s.'
                     % (template_id, ', '.join(ids) or 'none'), 'Set template_id to one of them; nothing was sent.')
        return None
    if not templates:
        # No template: the application offers no provisioning connector, so no job can be created for it either.
        outcome.fail('listing synchronization templates', 'it has no provisioning (synchronization) job and offers '
                     'no synchronization template, so there is nothing to %s and nothing was sent.' % purpose,
                     'Check that this is the application meant and that it supports provisioning (in the portal: '
                     'Enterprise applications, the application, Provisioning).')
        return None
    defaults = [template['id'] for template in templates if template.get('default')]
    if len(defaults) == 1:
        return defaults[0]
    outcome.fail('choosing a template to %s' % purpose, 'it has no job, and %s of its templates (%s) is marked '
                 'default.' % ('none' if not defaults else 'more than one', ', '.join(ids) or 'none'),
                 advice or 'Set template_id to the template to %s.' % purpose)
    return None


# -- the saved credentials: accepted, not accepted, or unknown ----------------------------------------------------

def saved_credentials_request(outcome):
    """validateCredentials with the saved credentials of the outcome's job (or, for an application without a job,
    of its template through the jobs collection): a POST that only reads, so it is safe to send again."""
    return validate_credentials_request(outcome, {'useSavedCredentials': True})


def validate_credentials_request(outcome, body):
    """validateCredentials bound to the outcome's job, or to the jobs collection with the outcome's template when
    there is no job (v1.0 CSDL: it tests credentials before any job exists)."""
    if outcome.job_id is None:
        return BatchRequest('POST', outcome.path + '/synchronization/jobs/validateCredentials',
                            body=dict(body, templateId=outcome.template_id), idempotent=True)
    return BatchRequest('POST', '%s/synchronization/jobs/%s/validateCredentials'
                        % (outcome.path, path_segment(outcome.job_id)), body=body, idempotent=True)


def saved_credentials_verdict(outcome, result, step, advice=None):
    """What a saved-credentials answer says: ACCEPTED, NOT_ACCEPTED, UNAVAILABLE (the target erred or did not answer;
    the outcome is not failed yet, ``outcome.unavailable`` holds why: see settle_unavailable), or UNKNOWN with the
    outcome failed at ``step`` (``advice`` first in its message). The one place that decides which answer means
    what."""
    if result.ok:
        return ACCEPTED
    if result.status == 400 and not result.outcome_unknown:
        reason = target_unavailable(result)
        if reason:
            outcome.unavailable = reason
            return UNAVAILABLE
        # 400 is how the service says "these saved credentials do not work (yet)".
        return NOT_ACCEPTED
    permission_advice = synchronization_permission_advice(result.error)
    outcome.fail('%s the saved credentials (validateCredentials)' % step, result.error,
                 ' '.join(text for text in (advice, permission_advice) if text) or None)
    return UNKNOWN


def target_unavailable(result):
    """Why a refused validateCredentials (a BatchResult) says the target erred or did not answer: the service's
    message, or None when the refusal reads as "not accepted". Only CredentialValidationUnavailable whose message
    names a 5xx, a timeout, a connection or a token exchange qualifies: the service gives no other sign (the code and
    status are those of rejected credentials)."""
    # The answers are read raw first: a thousand first authorizations are a thousand such 400s, none of them an
    # outage, and building and masking each one's error costs seconds. Only an outage's message is shown, masked.
    if (result.status != 400 or result.error_code != 'CredentialValidationUnavailable'
            or not result.error_says(_TARGET_DOWN)):
        return None
    body = result.body
    message = body.get('error', {}).get('message') if isinstance(body, dict) and isinstance(
        body.get('error'), dict) else None
    message = message if isinstance(message, str) and message else result.error.message
    return message.rstrip('.')


def settle_unavailable(outcome, saved, step, force_advice=None):
    """What an UNAVAILABLE check means for ``outcome``: NOT_ACCEPTED when ``saved`` (the saved secrets as read, a
    list of (key, value)) holds no credential, so a first authorization proceeds; else UNKNOWN with the outcome failed,
    saying why and, with ``force_advice``, how to send anyway. ``saved`` None (not read) counts as saved."""
    if saved is not None and not [key for key, _value in saved if key not in SETTINGS_KEYS]:
        return NOT_ACCEPTED
    outcome.fail('%s the saved credentials (validateCredentials)' % step,
                 'the target of the application erred or did not answer (validateCredentials answered "%s"), so '
                 'whether the saved credentials still work is unknown and nothing was sent.' % outcome.unavailable,
                 force_advice or 'Run again when the target answers.')
    return UNKNOWN


# -- the saved secrets: names and the values the service shows -------------------------------------------------------

def saved_secrets_request(outcome):
    """The GET that reads an application's saved secrets (secret values come back masked)."""
    return BatchRequest('GET', outcome.path + '/synchronization/secrets')


def take_saved_secrets(outcome, result, step='reading the saved secrets (GET secrets)', fail=True):
    """Return the saved secrets of a GET secrets answer as a list of (key, value), in the service's order; or None
    with the outcome failed at ``step`` (only when ``fail``)."""
    problem = None
    if result.ok:
        values = answer_values(result.body)
        if values is None:
            problem = _listing_problem(result.body) or 'it is not a list of secrets'
        else:
            problem = _first('value[%d] has no text key and value' % position for position, pair in enumerate(values)
                             if not isinstance(pair.get('key'), str) or not isinstance(pair.get('value'), str))
            if problem is None:
                return [(pair['key'], pair['value']) for pair in values]
    if fail:
        if problem:
            outcome.fail(step, unreadable_answer('a list of saved secrets', result, problem))
        else:
            outcome.fail(step, result.error, synchronization_permission_advice(result.error))
    return None


def _listing_problem(body):
    if not isinstance(body, dict):
        return 'the answer is %s, not an object' % yaml_kind(body)
    if 'value' not in body:
        return 'it has no value field'
    if not isinstance(body['value'], list):
        return 'its value is %s, not a list' % yaml_kind(body['value'])
    return next('value[%d] is %s, not an object' % (position, yaml_kind(item))
                for position, item in enumerate(body['value']) if not isinstance(item, dict))


def _first(problems):
    return next((problem for problem in problems if problem), None)
