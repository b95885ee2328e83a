# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""Provision on demand: run one user or group through an application's provisioning job now, and report each step
Graph took (import, matching, scoping, the action, the export) as data.

``POST .../jobs/{jobId}/provisionOnDemand`` takes ``{"parameters": [{"ruleId", "subjects": [{"objectId",
"objectTypeName"}]}]}`` and answers a stringKeyStringValuePair whose ``value`` is the JSON text of the provisioning
summary (``provisioningSteps``, ``statusInfo``, ``action``, ``modifiedProperties``). The rule is the job schema's
rule that maps the subject's object type, unless ``rule_id`` names one. One subject per call, in order: the service
allows only a few calls per job in ten seconds, and the client waits out its 429s.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

from ansible_collections.entra.provisioning.plugins.module_utils._graph.batch import BatchRequest
from ansible_collections.entra.provisioning.plugins.module_utils._errors import InvalidInputError
from ansible_collections.entra.provisioning.plugins.module_utils._graph.errors import synchronization_permission_advice
from ansible_collections.entra.provisioning.plugins.module_utils._ids import is_guid, path_segment
from ansible_collections.entra.provisioning.plugins.module_utils._items import check_items, yaml_kind
from ansible_collections.entra.provisioning.plugins.module_utils._sync.common import (
    RequestReader,
    SyncOutcome,
    target_item_spec,
)
from ansible_collections.entra.provisioning.plugins.module_utils._sync.schema import SyncSchemaInfo, object_mappings
from ansible_collections.entra.provisioning.plugins.module_utils._sync.targets import request_id_of, unreadable_answer

OBJECT_TYPES = ('User', 'Group')
SUBJECT_SPEC = dict(object_id=dict(type='str', required=True), object_type=dict(type='str'))
PROVISION_ITEM_SPEC = target_item_spec(job_id=dict(type='str'), rule_id=dict(type='str'), object_id=dict(type='str'),
                                       object_type=dict(type='str'), subjects=dict(type='list'))


def parse_provision_request(options, where=''):
    """Validate one application's subjects (``object_id`` with ``object_type``, or ``subjects``) and ``rule_id``."""
    reader = RequestReader(options, where)
    default_type = _object_type(options.get('object_type') or 'User', reader.name('object_type'))
    if (options.get('object_id') is None) == (options.get('subjects') is None):
        raise InvalidInputError('give exactly one of %s (one user or group) and %s (a list of them).'
                                % (reader.name('object_id'), reader.name('subjects')))
    if options.get('subjects') is None:
        subjects = [(reader.name('object_id'), dict(object_id=options['object_id'], object_type=None))]
    else:
        if not isinstance(options['subjects'], list) or not options['subjects']:
            raise InvalidInputError('%s must be a non-empty list of {object_id, object_type}, got %s.'
                                    % (reader.name('subjects'), 'an empty list' if options['subjects'] == []
                                       else yaml_kind(options['subjects'])))
        subjects = []
        for checked in check_items(options['subjects'], reader.name('subjects'), SUBJECT_SPEC, label_key='-'):
            if checked.error is not None:
                raise checked.error
            subjects.append((checked.where + '.object_id', checked.values))
    parsed = []
    for place, subject in subjects:
        if not is_guid(subject['object_id']):
            raise InvalidInputError('%s must be the object id (a GUID) of a user or group, got %r.'
                                    % (place, subject['object_id']))
        object_type = default_type if subject['object_type'] is None else _object_type(
            subject['object_type'], place.rsplit('.', 1)[0] + '.object_type')
        parsed.append(dict(object_id=subject['object_id'].lower(), object_type=object_type))
    rule_id = options.get('rule_id')
    if rule_id is not None and not str(rule_id).strip():
        raise InvalidInputError("%s is empty; leave it out to use the job's rule for the subject's object type."
                                % reader.name('rule_id'))
    return reader.request(job_id=reader.text('job_id'), rule_id=rule_id, subjects=parsed)


def _object_type(value, option):
    for object_type in OBJECT_TYPES:
        if str(value).strip().lower() == object_type.lower():
            return object_type
    raise InvalidInputError('%s must be User or Group, got %r.' % (option, value))


def describe_summary(subject, summary):
    """One subject's provisioning summary (Graph's JSON text, parsed) as the result shows it."""
    status_info = summary.get('statusInfo') if isinstance(summary.get('statusInfo'), dict) else {}
    steps = [dict(name=step.get('name'), type=step.get('type'), status=step.get('status'),
                  description=step.get('description'), details=step.get('details') or {})
             for step in summary.get('provisioningSteps') or [] if isinstance(step, dict)]
    return dict(object_id=subject['object_id'], object_type=subject['object_type'], status=status_info.get('status'),
                error_code=status_info.get('errorCode'), reason=status_info.get('reason'),
                action=summary.get('action'), steps=steps,
                exported=any(step['type'] == 'Export' and step['status'] == 'Success' for step in steps),
                modified_properties=[dict(name=item.get('displayName'), old_value=item.get('oldValue'),
                                          new_value=item.get('newValue'))
                                     for item in summary.get('modifiedProperties') or [] if isinstance(item, dict)])


def failed_step(described):
    """The first step that failed, as ``name (type): description``, or None."""
    for step in described['steps']:
        if step['status'] == 'Failure':
            return '%s (%s): %s' % (step['name'], step['type'], step['description'])
    if described['status'] == 'Failure':
        return 'the provisioning of it: %s' % (described['reason'] or described['error_code'] or 'no reason given')
    return None


class ProvisionOutcome(SyncOutcome):
    """What provisioning on demand did for one application's subjects."""

    def __init__(self, request):
        super(ProvisionOutcome, self).__init__(request)
        self.schema = None
        self.subjects = []
        self.planned = []
        self.check_mode = False

    @property
    def changed(self):
        """True when an export was made (or, in check mode, a subject would be sent)."""
        if self.check_mode:
            return bool(self.planned) and not self.failed
        return any(subject['exported'] for subject in self.subjects)

    def fields(self):
        """Each subject's status and steps, and the rule used."""
        return dict(subjects=list(self.subjects), rule_ids=sorted(set(rule for _subject, rule in self.planned)))

    def summary(self):
        """One line per subject."""
        if self.check_mode:
            return '%s: would provision %d subject(s) on demand.' % (self.describe(), len(self.planned))
        return '%s: %s.' % (self.describe(), '; '.join('%s %s: %s%s' % (
            subject['object_type'], subject['object_id'], subject['status'],
            ' (%s)' % subject['error_code'] if subject['error_code'] else '') for subject in self.subjects))


class SyncProvisionOnDemand(SyncSchemaInfo):
    """Provisions each request's subjects on demand through its job; check mode sends nothing that provisions."""

    ITEM_SPEC = PROVISION_ITEM_SPEC
    INHERITED = ('object_type',)
    OUTCOME = ProvisionOutcome
    parse = staticmethod(parse_provision_request)

    def run(self, requests):
        """Resolve, choose the job, find each subject's rule, then provision subject after subject."""
        outcomes = [self.OUTCOME(request) for request in requests]
        self._choose_jobs(outcomes, 'provision through')
        self._read_schemas([outcome for outcome in outcomes if not outcome.failed
                            and outcome.request.settings['rule_id'] is None], 'reading the job schema for its rules')
        for outcome in outcomes:
            outcome.check_mode = self.check_mode
            if not outcome.failed:
                self._plan(outcome)
        if self.check_mode:
            return outcomes
        live = [outcome for outcome in outcomes if not outcome.failed]
        for position in range(max([len(outcome.planned) for outcome in live] or [0])):
            # the n-th subject of every application at once; one application's subjects one after another
            sending = [outcome for outcome in live if position < len(outcome.planned) and not outcome.failed]
            requests = [self._provision_request(outcome, *outcome.planned[position]) for outcome in sending]
            for outcome, result in zip(sending, self._send(requests)):
                self._take_answer(outcome, outcome.planned[position][0], result)
        return outcomes

    @staticmethod
    def _plan(outcome):
        rule_id = outcome.request.settings['rule_id']
        for subject in outcome.request.settings['subjects']:
            if rule_id is None:
                rules = [rule.get('id') for rule, mapping in object_mappings(outcome.schema)
                         if str(mapping.get('sourceObjectName', '')).lower() == subject['object_type'].lower()]
                if len(set(rules)) != 1:
                    outcome.fail('choosing the synchronization rule', '%s rule(s) of job %s map %s objects (%s).'
                                 % (len(set(rules)), outcome.job_id, subject['object_type'],
                                    ', '.join(sorted(set(str(rule) for rule in rules))) or 'none'),
                                 'Set rule_id to the rule to use (entra_sync_schema_info shows the object mappings).')
                    return
                outcome.planned.append((subject, rules[0]))
            else:
                outcome.planned.append((subject, rule_id))

    @staticmethod
    def _provision_request(outcome, subject, rule_id):
        return BatchRequest('POST', '%s/synchronization/jobs/%s/provisionOnDemand'
                            % (outcome.path, path_segment(outcome.job_id)),
                            body={'parameters': [{'ruleId': rule_id, 'subjects': [
                                {'objectId': subject['object_id'], 'objectTypeName': subject['object_type']}]}]})

    @staticmethod
    def _take_answer(outcome, subject, result):
        name = '%s %s' % (subject['object_type'], subject['object_id'])
        if not result.ok:
            outcome.fail('provisioning %s on demand' % name, result.error,
                         synchronization_permission_advice(result.error))
            return
        outcome.request_id = request_id_of(result) or outcome.request_id
        try:
            summary = json.loads(result.body.get('value'))
        except (AttributeError, TypeError, ValueError):
            summary = None
        if not isinstance(summary, dict):
            outcome.fail('provisioning %s on demand' % name,
                         unreadable_answer('a provisioning summary (value: JSON text)', result))
            return
        described = describe_summary(subject, summary)
        outcome.subjects.append(described)
        step = failed_step(described)
        if step:
            outcome.fail('provisioning %s on demand' % name, 'step %s' % step,
                         'See subjects[].steps for every step Graph reported.')
