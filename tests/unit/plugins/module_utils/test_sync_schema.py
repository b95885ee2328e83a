# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The schema's readable form, the merge of what is declared, and the diff lines."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy

import pytest

from ansible_collections.entra.provisioning.plugins.module_utils._errors import InvalidInputError
from ansible_collections.entra.provisioning.plugins.module_utils._sync.schema import (
    describe_schema,
    merge_schema,
    parse_schema_request,
)


def mapping(target, expression, priority=0):
    return {'targetAttributeName': target, 'source': {'expression': expression}, 'flowType': 'Always',
            'matchingPriority': priority, 'defaultValue': None, 'flowBehavior': 'FlowWhenChanged',
            'exportMissingReferences': False}


def objects(name, *attributes):
    return {'name': name, 'attributes': [{'name': attribute} for attribute in attributes]}


SCHEMA = {
    'id': 'job-1',
    'synchronizationRules': [{'id': 'rule-1', 'sourceDirectoryName': 'Azure Active Directory',
                              'targetDirectoryName': 'customappsso', 'objectMappings': [
                                  {'name': 'Provision Azure Active Directory Users', 'sourceObjectName': 'User',
                                   'targetObjectName': 'User', 'scope': None, 'attributeMappings': [
                                       mapping('userName', '[userPrincipalName]', 1),
                                       mapping('displayName', '[displayName]'),
                                       mapping('title', '[jobTitle]')]},
                                  {'name': 'Provision Azure Active Directory Groups', 'sourceObjectName': 'Group',
                                   'targetObjectName': 'Group', 'scope': None, 'attributeMappings': [
                                       mapping('displayName', '[displayName]', 1)]}]}],
    'directories': [
        {'name': 'Azure Active Directory', 'objects': [
            objects('User', 'userPrincipalName', 'displayName', 'givenName', 'surname', 'jobTitle', 'department',
                    'mail'),
            objects('Group', 'displayName', 'mail')]},
        {'name': 'customappsso', 'objects': [
            objects('User', 'userName', 'displayName', 'title', 'name.formatted', 'preferredLanguage'),
            objects('Group', 'displayName', 'externalId')]}],
}


def declared(**options):
    options.setdefault('service_principal_id', '10000000-0000-4000-8000-00000000d001')
    return parse_schema_request(options).settings


def merge(**options):
    settings = declared(**options)
    return merge_schema(SCHEMA, settings['mappings'], settings['scoping'])


def users(schema):
    return schema['synchronizationRules'][0]['objectMappings'][0]['attributeMappings']


def test_a_mapping_added_changed_and_removed_leaves_every_other_mapping_as_it_was():
    merged, changes = merge(attribute_mappings=[
        {'target_attribute': 'name.formatted', 'source': 'Join(" ", [givenName], [surname])'},
        {'target_attribute': 'displayName', 'source': '[mail]'},
        {'target_attribute': 'title', 'state': 'absent'}])
    assert [change.line() for change in changes] == [
        'User.name.formatted: (none) -> Join(" ", [givenName], [surname])',
        'User.displayName: [displayName] -> [mail]',
        'User.title: [jobTitle] -> (removed)']
    targets = [item['targetAttributeName'] for item in users(merged)]
    assert targets == ['userName', 'displayName', 'name.formatted']
    assert users(merged)[0] == users(SCHEMA)[0]
    assert merged['synchronizationRules'][0]['objectMappings'][1] == SCHEMA['synchronizationRules'][0][
        'objectMappings'][1]
    assert users(SCHEMA)[1]['source'] == {'expression': '[displayName]'}


def test_what_is_already_there_changes_nothing_whatever_the_spacing():
    merged, changes = merge(attribute_mappings=[
        {'target_attribute': 'displayName', 'source': '[ displayName ]', 'flow': 'Always'},
        {'target_attribute': 'userName', 'source': '[userPrincipalName]', 'matching_priority': 1},
        {'target_attribute': 'preferredLanguage', 'state': 'absent'}])
    assert changes == []
    assert merged == SCHEMA


def test_flow_and_matching_priority_changes_are_one_line_each_without_a_new_expression():
    _merged, changes = merge(attribute_mappings=[{'target_attribute': 'displayName', 'source': '[displayName]',
                                                  'flow': 'ObjectAddOnly', 'default_value': 'n/a'}])
    assert [change.line() for change in changes] == [
        "User.displayName: [displayName] -> [displayName] (flow ObjectAddOnly, default 'n/a')"]
    assert changes[0].expression is None


def test_the_group_object_mapping_is_named_by_its_source_object():
    merged, changes = merge(attribute_mappings=[{'object_mapping': 'group', 'target_attribute': 'externalId',
                                                 'source': '[mail]'}])
    assert changes[0].line() == 'Group.externalId: (none) -> [mail]'
    assert merged['synchronizationRules'][0]['objectMappings'][1]['attributeMappings'][-1]['source']['name'] == 'mail'


@pytest.mark.parametrize('item, message', [
    ({'target_attribute': 'dispalyName', 'source': '[mail]'},
     "attribute_mappings[0].target_attribute: 'dispalyName' is not a target attribute of this object mapping. "
     "Did you mean displayName?"),
    ({'target_attribute': 'displayName', 'source': '[givenNmae]'},
     "attribute_mappings[0].source: 'givenNmae' is not a source attribute of this object mapping. "
     "Did you mean givenName?"),
    ({'object_mapping': 'Usr', 'target_attribute': 'displayName', 'source': '[mail]'},
     "attribute_mappings[0].object_mapping: the job has no object mapping 'Usr'. Did you mean User?"),
])
def test_an_unknown_name_is_refused_with_the_closest_ones(item, message):
    with pytest.raises(InvalidInputError) as raised:
        merge(attribute_mappings=[item])
    assert raised.value.message.startswith(message)


def test_scoping_replaces_the_groups_and_is_one_readable_line():
    merged, changes = merge(scoping=[{'any_of': [{'name': 'Sales', 'all_of': [
        {'attribute': 'department', 'operator': 'equals', 'operands': ['Sales']},
        {'attribute': 'mail', 'operator': 'ISNOTNULL'}]}]}])
    assert [change.line() for change in changes] == [
        'User.(scoping): everyone (no scoping filter) -> (department EQUALS Sales and mail ISNOTNULL)']
    scope = merged['synchronizationRules'][0]['objectMappings'][0]['scope']
    assert scope == {'groups': [{'name': 'Sales', 'clauses': [
        {'sourceOperandName': 'department', 'operatorName': 'EQUALS', 'targetOperand': {'values': ['Sales']}},
        {'sourceOperandName': 'mail', 'operatorName': 'ISNOTNULL', 'targetOperand': {'values': []}}]}]}
    _again, none = merge_schema(merged, [], declared(scoping=[{'any_of': [{'name': 'Sales', 'all_of': [
        {'attribute': 'department', 'operator': 'EQUALS', 'operands': ['Sales']},
        {'attribute': 'mail', 'operator': 'ISNOTNULL'}]}]}])['scoping'])
    assert none == []


def test_the_readable_form_applied_to_the_same_schema_changes_nothing():
    source = copy.deepcopy(SCHEMA)
    source['synchronizationRules'][0]['objectMappings'][0]['scope'] = {'groups': [{'name': 'S', 'clauses': [
        {'sourceOperandName': 'department', 'operatorName': 'EQUALS', 'targetOperand': {'values': ['Sales']}}]}]}
    readable = describe_schema(source)
    assert readable['attribute_mappings'][0] == {'object_mapping': 'User', 'target_attribute': 'userName',
                                                 'source': '[userPrincipalName]', 'flow': 'Always',
                                                 'matching_priority': 1, 'default_value': None}
    settings = declared(**readable)
    _merged, changes = merge_schema(source, settings['mappings'], settings['scoping'])
    assert changes == []
    merged, changes = merge_schema(SCHEMA, settings['mappings'], settings['scoping'])
    assert [change.line() for change in changes] == [
        'User.(scoping): everyone (no scoping filter) -> (department EQUALS Sales)']
    assert describe_schema(merged) == readable


@pytest.mark.parametrize('options, message', [
    ({'attribute_mappings': 'displayName'}, 'attribute_mappings must be a list, got a string'),
    ({'attribute_mappings': [{'source': '[mail]'}]}, 'attribute_mappings[0]: target_attribute is required'),
    ({'attribute_mappings': [{'target_attribute': 'x'}]}, 'attribute_mappings[0].source is required unless'),
    ({'attribute_mappings': [{'target_attribute': 'x', 'source': 'Join([a]'}]}, 'attribute_mappings[0].source: '),
    ({'attribute_mappings': [{'target_attribute': 'x', 'source': '[a]', 'flow': 'Sometimes'}]},
     'attribute_mappings[0].flow must be one of Always'),
    ({'attribute_mappings': [{'target_attribute': 'x', 'source': '[a]', 'matching_priority': -1}]},
     'attribute_mappings[0].matching_priority must be 0 or more'),
    ({'attribute_mappings': [{'target_attribute': 'x', 'state': 'absent', 'source': '[a]'}]},
     'attribute_mappings[0]: state is absent'),
    ({'attribute_mappings': [{'target_attribute': 'x', 'source': '[a]'}, {'target_attribute': 'x', 'source': '[b]'}]},
     'attribute_mappings[1].target_attribute: x is already declared by attribute_mappings[0]'),
    ({'attribute_mappings': [{'target_attribute': 'x', 'sorce': '[a]'}]},
     "attribute_mappings[0]: 'sorce' is not an option. Did you mean source?"),
    ({'scoping': [{'any_of': [{'all_of': [{'attribute': 'a', 'operator': 'LIKE', 'operands': ['x']}]}]}]},
     "scoping[0].any_of[0].all_of[0].operator: 'LIKE' is not a scoping operator"),
    ({'scoping': [{'any_of': [{'all_of': [{'attribute': 'a', 'operator': 'EQUALS'}]}]}]},
     'scoping[0].any_of[0].all_of[0].operands: EQUALS needs at least one operand'),
    ({'scoping': [{'any_of': [{'all_of': [{'attribute': 'a', 'operator': 'ISNULL', 'operands': ['x']}]}]}]},
     'scoping[0].any_of[0].all_of[0].operands: ISNULL takes no operands'),
    ({'scoping': [{'any_of': [{'all_of': []}]}]}, 'scoping[0].any_of[0].all_of is empty'),
    ({'scoping': [{'all_of': []}]}, "scoping[0]: 'all_of' is not an option"),
    ({}, 'attribute_mappings and scoping are both empty'),
])
def test_bad_input_names_the_option(options, message):
    with pytest.raises(InvalidInputError) as raised:
        declared(**options)
    assert message in raised.value.message


def test_bad_input_in_a_bulk_item_names_the_item():
    with pytest.raises(InvalidInputError) as raised:
        parse_schema_request({'display_name': 'A', 'attribute_mappings': [{'target_attribute': 'x'}]},
                             'applications[3].')
    assert raised.value.message.startswith('applications[3].attribute_mappings[0].source is required')


def test_a_scope_group_without_a_name_matches_any_name_and_a_new_name_is_a_change():
    scoped, _changes = merge(scoping=[{'any_of': [{'all_of': [
        {'attribute': 'department', 'operator': 'EQUALS', 'operands': ['Sales']}]}]}])
    assert scoped['synchronizationRules'][0]['objectMappings'][0]['scope']['groups'][0]['name'] == 'Scoping filter 1'
    clause = {'attribute': 'department', 'operator': 'EQUALS', 'operands': ['Sales']}
    unnamed = declared(scoping=[{'any_of': [{'all_of': [clause]}]}])['scoping']
    assert merge_schema(scoped, [], unnamed)[1] == []
    renamed = declared(scoping=[{'any_of': [{'name': 'Sales', 'all_of': [clause]}]}])['scoping']
    assert len(merge_schema(scoped, [], renamed)[1]) == 1
