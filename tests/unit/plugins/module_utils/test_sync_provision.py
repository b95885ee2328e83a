# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Provision on demand: the subjects read from the options, and Graph's summary read into steps and a failure."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.entra.provisioning.plugins.module_utils._errors import InvalidInputError
from ansible_collections.entra.provisioning.plugins.module_utils._sync.provision import (
    describe_summary,
    failed_step,
    parse_provision_request,
)

USER = '5C1F0A2B-8D3E-4F6A-9B7C-0D1E2F3A4B5C'
SUBJECT = {'object_id': USER.lower(), 'object_type': 'User'}


def parse(**options):
    options.setdefault('display_name', 'Contoso Expenses')
    return parse_provision_request(options).settings


def step(name, kind, status, description, details=None):
    return {'name': name, 'type': kind, 'status': status, 'description': description, 'details': details or {}}


def test_one_subject_is_a_user_unless_said_and_a_list_takes_each_its_own_type():
    assert parse(object_id=USER)['subjects'] == [SUBJECT]
    subjects = parse(subjects=[{'object_id': USER}, {'object_id': USER, 'object_type': 'group'}],
                     object_type='Group')['subjects']
    assert [subject['object_type'] for subject in subjects] == ['Group', 'Group']


@pytest.mark.parametrize('options, message', [
    ({}, 'give exactly one of object_id (one user or group) and subjects'),
    ({'object_id': USER, 'subjects': [{'object_id': USER}]}, 'give exactly one of object_id'),
    ({'object_id': 'me'}, "object_id must be the object id (a GUID) of a user or group, got 'me'"),
    ({'object_id': USER, 'object_type': 'Device'}, "object_type must be User or Group, got 'Device'"),
    ({'subjects': []}, 'subjects must be a non-empty list of {object_id, object_type}, got an empty list'),
    ({'subjects': [{'object_id': USER, 'object_type': 'x'}]}, 'subjects[0].object_type must be User or Group'),
    ({'subjects': [{'object_id': 'x'}]}, 'subjects[0].object_id must be the object id (a GUID)'),
    ({'object_id': USER, 'rule_id': ''}, "rule_id is empty; leave it out to use the job's rule"),
])
def test_bad_subjects_name_the_option(options, message):
    with pytest.raises(InvalidInputError) as raised:
        parse(**options)
    assert message in raised.value.message


def test_a_summary_becomes_steps_and_modified_properties():
    summary = {'action': 'Create', 'statusInfo': {'status': 'Success', 'errorCode': None, 'reason': None},
               'provisioningSteps': [step('EntryImport', 'Import', 'Success', 'Retrieved'),
                                     step('EntryExportAdd', 'Export', 'Success', 'Created')],
               'modifiedProperties': [{'displayName': 'userName', 'oldValue': None, 'newValue': 'adele@x'}]}
    described = describe_summary(SUBJECT, summary)
    assert described['exported'] is True
    assert described['modified_properties'] == [{'name': 'userName', 'old_value': None, 'new_value': 'adele@x'}]
    assert [item['name'] for item in described['steps']] == ['EntryImport', 'EntryExportAdd']
    assert failed_step(described) is None


def test_out_of_scope_is_skipped_not_failed():
    summary = {'statusInfo': {'status': 'Skipped', 'errorCode': 'OutOfScope'}, 'provisioningSteps': [
        step('EntrySynchronizationSkip', 'Export', 'Skipped', 'out of scope', {'SkipReason': 'OutOfScope'})]}
    described = describe_summary(SUBJECT, summary)
    assert (described['status'], described['error_code'], described['exported']) == ('Skipped', 'OutOfScope', False)
    assert failed_step(described) is None


def test_the_failed_step_and_its_reason_make_the_message():
    summary = {'statusInfo': {'status': 'Failure', 'errorCode': 'EntryNotFound'}, 'provisioningSteps': [
        step('EntryImport', 'Import', 'Failure', "The User 'x' was not found.")]}
    assert failed_step(describe_summary(SUBJECT, summary)) == "EntryImport (Import): The User 'x' was not found."
    no_steps = describe_summary(SUBJECT, {'statusInfo': {'status': 'Failure', 'reason': 'Throttled'}})
    assert failed_step(no_steps) == 'the provisioning of it: Throttled'
