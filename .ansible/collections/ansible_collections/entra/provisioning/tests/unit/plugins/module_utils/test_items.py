# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Item-by-item checks of a bulk option: each bad item refused on its own, in the user's words, secrets unseen."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.entra.provisioning.plugins.module_utils._errors import InvalidInputError
from ansible_collections.entra.provisioning.plugins.module_utils._items import (
    check_items,
    register_item_secrets,
    register_leaves,
    yaml_kind,
)
from ansible_collections.entra.provisioning.plugins.module_utils._redact import redact, registered_secrets

SPEC = dict(
    name=dict(type='str'),
    display_name=dict(type='str'),
    credentials=dict(type='raw', required=True, no_log=True, no_log_except=('key',),
                     example='credentials: [{key: SecretToken, value: ...}]'),
    force=dict(type='bool'),
    retries=dict(type='int'),
    tags=dict(type='list'),
    state=dict(type='str', choices=['present', 'absent']),
)
CANARY = 'canary-item-secret-4711'
GOOD = dict(name='expenses', credentials=[dict(key='SecretToken', value=CANARY)])


def check_one(item, **kwargs):
    return check_items([item], 'applications', SPEC, label_fallbacks=('display_name',), **kwargs)[0]


def message_of(item):
    checked = check_one(item)
    assert checked.values is None
    assert isinstance(checked.error, InvalidInputError)
    return checked.error.message


def test_a_good_item_has_every_spec_key_and_none_for_the_unset_ones():
    checked = check_one(GOOD)
    assert checked.error is None
    assert checked.label == 'expenses'
    assert checked.where == 'applications[0]'
    assert checked.values == dict(GOOD, display_name=None, force=None, retries=None, tags=None, state=None)


def test_a_bad_item_does_not_stop_the_others():
    checked = check_items([GOOD, 'expenses', None, dict(GOOD, name='travel')], 'applications', SPEC)
    assert [item.error is None for item in checked] == [True, False, False, True]
    assert [item.label for item in checked] == ['expenses', 'applications[1]', 'applications[2]', 'travel']


def test_a_string_item_is_named_by_index_and_told_how_to_write_a_mapping():
    message = message_of('expenses')
    assert message.startswith('applications[0] is a string, not a mapping of options')
    assert '"- name: ..."' in message
    # the string is not shown: it may be a value pasted in the wrong place
    assert 'expenses' not in message


def test_a_null_item_is_a_stray_dash():
    assert message_of(None) == ('applications[0] is empty (null): remove the stray "-" or give the options of the '
                                'application.')


def test_a_list_item_is_named_as_a_list():
    assert message_of([GOOD]).startswith('applications[0] is a list, not a mapping')


def test_an_unknown_option_gets_the_closest_known_one():
    message = message_of(dict(GOOD, displayname='Contoso Expenses'))
    assert message == "applications[0]: 'displayname' is not an option. Did you mean display_name?"


def test_an_unknown_option_far_from_any_lists_the_valid_ones():
    message = message_of(dict(GOOD, colour='blue'))
    assert message.endswith("'colour' is not an option. Valid options: name, display_name, credentials, force, "
                            "retries, tags, state.")


def test_a_non_text_option_name_is_refused():
    item = dict(GOOD)
    item[1] = 'x'
    assert 'a number is not an option name' in message_of(item)


def test_the_label_falls_back_to_the_first_fallback_key():
    checked = check_one(dict(display_name='Contoso Travel', credentials=GOOD['credentials'], colour='blue'))
    assert checked.label == 'Contoso Travel'
    assert checked.error.message.startswith("applications[0]: 'colour' is not an option")


def test_a_missing_required_option_says_how_to_give_it():
    assert message_of(dict(name='expenses')) == ("applications[0]: credentials is required. For example: "
                                                 "credentials: [{key: SecretToken, value: ...}]")


def test_a_wrong_type_names_the_option_the_kind_and_the_value():
    assert message_of(dict(GOOD, force='maybe')) == ("applications[0].force must be a boolean (true or false), got a "
                                                     "string ('maybe').")
    assert message_of(dict(GOOD, retries='many')) == "applications[0].retries must be a whole number, got a string ('many')."
    assert message_of(dict(GOOD, tags='a,b')) == "applications[0].tags must be a list, got a string ('a,b')."
    assert message_of(dict(GOOD, name=True)) == "applications[0].name must be a string, got a boolean."


def test_conversions_are_those_a_yaml_writer_expects():
    values = check_one(dict(GOOD, name=2024, force='yes', retries='3', tags=('a',))).values
    assert (values['name'], values['force'], values['retries'], values['tags']) == ('2024', True, 3, ['a'])


def test_a_value_outside_the_choices_is_refused_with_them():
    assert message_of(dict(GOOD, state='gone')) == "applications[0].state must be one of present, absent, got 'gone'."


def test_a_long_value_is_shortened_in_the_message():
    message = message_of(dict(GOOD, force='y' * 500))
    assert len(message) < 200


def test_a_repeated_label_is_refused_on_the_later_item_naming_the_first():
    checked = check_items([GOOD, dict(GOOD, name='travel'), GOOD], 'applications', SPEC)
    assert [item.error is None for item in checked] == [True, True, False]
    assert checked[2].error.message == ("applications[2]: name 'expenses' is already the name of "
                                        "applications[0]; give each item its own name so results can be told apart.")


def test_a_label_counts_even_when_its_item_is_bad():
    checked = check_items([dict(GOOD, colour='blue'), GOOD], 'applications', SPEC)
    assert "name 'expenses' is already the name of applications[0]" in checked[1].error.message


def test_a_numeric_label_repeats_as_its_text():
    checked = check_items([dict(GOOD, name=2024), dict(GOOD, name='2024')], 'applications', SPEC)
    assert "name '2024' is already the name of applications[0]" in checked[1].error.message


def test_fallback_labels_may_repeat():
    # Two items with one display name are one application: the caller refuses that with what it resolved.
    item = dict(display_name='Contoso', credentials=GOOD['credentials'])
    assert [checked.error for checked in check_items([item, item], 'applications', SPEC,
                                                     label_fallbacks=('display_name',))] == [None, None]


def test_the_option_itself_must_be_a_list():
    with pytest.raises(InvalidInputError, match=r'^applications must be a list with one mapping per application, '
                                                r'got a mapping; start each item with "- "\.$'):
        check_items(GOOD, 'applications', SPEC)


def test_an_empty_list_gives_no_items():
    assert check_items([], 'applications', SPEC) == []


def test_an_unknown_spec_type_is_a_programming_error():
    with pytest.raises(ValueError):
        check_items([dict(x=1)], 'applications', dict(x=dict(type='float')))


@pytest.mark.parametrize('value, kind', [(None, 'null'), (True, 'a boolean'), (1, 'a number'), (1.5, 'a number'),
                                         ('x', 'a string'), ([], 'a list'), ({}, 'a mapping'), (object(), 'a object')])
def test_yaml_kinds(value, kind):
    assert yaml_kind(value) == kind


# -- secrets ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('credentials', [
    [dict(key='SecretToken', value=CANARY)],
    {'SecretToken': CANARY},
    CANARY,
    [CANARY],
    [dict(SecretToken=CANARY)],
    [dict(key='SecretToken', value=[CANARY])],
    [dict(key='SecretToken', value=dict(nested=CANARY))],
    [dict(key='SecretToken', valeu=CANARY)],
])
def test_every_shape_of_credentials_has_its_values_registered(credentials):
    register_item_secrets([dict(name='expenses', credentials=credentials)], SPEC)
    assert redact('sent %s' % CANARY) == 'sent ********'


def test_the_key_names_of_pairs_are_not_registered():
    register_item_secrets([dict(name='expenses', credentials=[dict(key='SecretToken', value=CANARY)])], SPEC)
    assert 'SecretToken' not in registered_secrets()
    assert redact('keys: SecretToken') == 'keys: SecretToken'


def test_values_under_unknown_options_are_registered():
    register_item_secrets([dict(name='expenses', credential=[dict(key='SecretToken', value=CANARY)])], SPEC)
    assert redact(CANARY) == '********'


def test_known_plain_options_are_not_registered():
    register_item_secrets([dict(name='expenses', display_name='Contoso Expenses', credentials=[])], SPEC)
    assert registered_secrets() == ()


def test_booleans_and_null_are_never_registered_but_numbers_are():
    register_leaves([True, None, False, 12345678])
    assert registered_secrets() == ('12345678',)


def test_shapes_that_are_not_lists_of_mappings_register_nothing_and_do_not_fail():
    for items in (None, 'x', 3, {'credentials': CANARY}, ['x', None, 3]):
        register_item_secrets(items, SPEC)
    assert registered_secrets() == ()


def test_no_message_shows_a_value_under_a_secret_option():
    register_item_secrets([dict(name='expenses', credentials=CANARY)], SPEC)
    spec = dict(SPEC, credentials=dict(SPEC['credentials'], type='list'))
    message = check_items([dict(name='expenses', credentials=CANARY)], 'applications', spec)[0].error.message
    assert message == ("applications[0].credentials must be a list, got a string. For example: "
                       "credentials: [{key: SecretToken, value: ...}]")
