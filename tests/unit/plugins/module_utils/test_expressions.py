# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The expression syntax both ways: text to attributeMappingSource, attributeMappingSource back to text."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.entra.provisioning.plugins.module_utils._sync.expressions import (
    ExpressionSyntaxError,
    attributes_in,
    canonical,
    parse_expression,
    source_to_text,
    text_to_source,
)

# As Graph's parseExpression answers them (the emulator follows the documented example).
JOIN_SOURCE = {'expression': None, 'name': 'Join', 'type': 'Function', 'parameters': [
    {'key': 'separator', 'value': {'name': ' ', 'type': 'Constant', 'parameters': []}},
    {'key': 'source1', 'value': {'name': 'givenName', 'type': 'Attribute', 'parameters': []}},
    {'key': 'source2', 'value': {'name': 'surname', 'type': 'Attribute', 'parameters': []}}]}


@pytest.mark.parametrize('text', [
    '[mail]',
    '"x"',
    '"say \\"hi\\" \\\\ there"',
    'Join(" ", [givenName], [surname])',
    'Switch([IsSoftDeleted], , "False", "True", "True", "False")',
    'Replace([mail], "-", , , "_", , )',
    'IIF([department] = "Sales", "S", &HF)',
    'ToLower(Coalesce([mail], [userPrincipalName]), )',
    'Now()',
])
def test_text_survives_the_round_trip_through_a_source(text):
    source = text_to_source(text)
    assert source['expression'] == text
    assert source_to_text(source) == text


@pytest.mark.parametrize('text', [
    '[mail]',
    '"x"',
    'Join(" ", [givenName], [surname])',
    'IIF([department] = "Sales", "S", "O")',
    'ToLower(Coalesce([mail], [userPrincipalName]))',
])
def test_the_structure_alone_gives_the_text_back_when_no_argument_is_left_out(text):
    assert source_to_text(dict(text_to_source(text), expression=None)) == text


def test_an_attribute_a_constant_and_a_function_become_their_source_types():
    assert text_to_source('[mail]') == {'expression': '[mail]', 'type': 'Attribute', 'name': 'mail', 'parameters': []}
    assert text_to_source('"x"')['type'] == 'Constant'
    assert text_to_source('"x"')['name'] == 'x'
    joined = text_to_source('Join(" ",[givenName],[surname])')
    assert (joined['type'], joined['name']) == ('Function', 'Join')
    assert [pair['value']['name'] for pair in joined['parameters']] == [' ', 'givenName', 'surname']


def test_a_source_without_expression_text_is_written_from_its_structure():
    assert source_to_text(JOIN_SOURCE) == 'Join(" ", [givenName], [surname])'
    assert source_to_text({'type': 'Attribute', 'name': 'mail'}) == '[mail]'
    assert source_to_text({'type': 'Constant', 'name': 'a "b"'}) == '"a \\"b\\""'
    compare = {'type': 'Function', 'name': '=', 'parameters': [
        {'key': 'left', 'value': {'type': 'Attribute', 'name': 'a'}},
        {'key': 'right', 'value': {'type': 'Constant', 'name': 'x'}}]}
    assert source_to_text(compare) == '[a] = "x"'
    assert source_to_text(None) is None


def test_graphs_expression_text_wins_and_is_spelt_one_way():
    assert source_to_text(dict(JOIN_SOURCE, expression='Join(" ",[givenName],  [surname])')) == \
        'Join(" ", [givenName], [surname])'


def test_spacing_does_not_make_two_expressions_differ():
    assert canonical('Join( " " ,[givenName] , [surname] )') == canonical('Join(" ", [givenName], [surname])')
    assert canonical('[ mail ]') == '[mail]'


@pytest.mark.parametrize('text, problem', [
    ('', 'empty'),
    ('[mail', 'never closed'),
    ('"x', 'never closed'),
    ('Join(" ", [a]', 'ends too early'),
    ('mail', 'not a function call'),
    ('[mail] [x]', "unexpected '['"),
    ('Join(" " [a])', 'expected , or )'),
])
def test_text_outside_the_syntax_is_refused_with_where(text, problem):
    with pytest.raises(ExpressionSyntaxError) as raised:
        text_to_source(text)
    assert problem in raised.value.message


def test_the_attributes_an_expression_reads():
    assert attributes_in(parse_expression('IIF([a] = "x", [b], Join(",", [c], "d"))')) == ['a', 'b', 'c']
