# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""The attribute-mapping expression syntax of the portal, both ways: text to a parsed form, and Graph's
``attributeMappingSource`` ``{expression, type: Attribute|Constant|Function, name, parameters}`` back to text.

The parse here is for reading and comparing only (``[mail]`` and ``[ mail ]`` are the same mapping); whether an
expression is valid is decided by Graph's own ``parseExpression`` before anything is written. The parsed form is a
tuple: ``('Attribute', name)``, ``('Constant', text)``, ``('Number', text)``, ``('Function', name, [argument or
None])`` (None: an argument left out, as in ``Switch([IsSoftDeleted], , "False", "True")``) and
``('Compare', operator, left, right)`` (the comparisons ``IIF`` takes).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.entra.provisioning.plugins.module_utils._errors import InvalidInputError

_COMPARISONS = ('<>', '>=', '<=', '=', '>', '<')
_NAME = re.compile(r'[A-Za-z_][A-Za-z0-9_]*')
_NUMBER = re.compile(r'-?(?:&H[0-9A-Fa-f]+|[0-9]+(?:\.[0-9]+)?)')


class ExpressionSyntaxError(InvalidInputError):
    """An expression that is not in the portal's syntax; the message says where."""


def parse_expression(text):
    """Parse ``text`` (the portal's expression syntax) into the parsed form; raise ExpressionSyntaxError."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionSyntaxError('the expression is empty; write an attribute such as [mail], a constant such as '
                                    '"x", or a function such as Join(" ", [givenName], [surname]).')
    parser = _Parser(text)
    parsed = parser.comparison()
    parser.skip_spaces()
    if parser.position != len(text):
        parser.fail('unexpected %r' % text[parser.position])
    return parsed


def render(parsed):
    """Return the parsed form as text in one spelling: ``Join(" ", [givenName], [surname])``."""
    kind = parsed[0]
    if kind == 'Attribute':
        return '[%s]' % parsed[1]
    if kind == 'Constant':
        return '"%s"' % parsed[1].replace('\\', '\\\\').replace('"', '\\"')
    if kind == 'Number':
        return parsed[1]
    if kind == 'Compare':
        return '%s %s %s' % (render(parsed[2]), parsed[1], render(parsed[3]))
    return '%s(%s)' % (parsed[1], ', '.join('' if argument is None else render(argument) for argument in parsed[2]))


def canonical(text):
    """``text`` in the one spelling render gives; an expression that does not parse is returned unchanged."""
    try:
        return render(parse_expression(text))
    except ExpressionSyntaxError:
        return text


def attributes_in(parsed):
    """The source attribute names an expression reads, in order of appearance."""
    if parsed[0] == 'Attribute':
        return [parsed[1]]
    if parsed[0] == 'Compare':
        return attributes_in(parsed[2]) + attributes_in(parsed[3])
    if parsed[0] == 'Function':
        return [name for argument in parsed[2] if argument is not None for name in attributes_in(argument)]
    return []


def source_to_text(source):
    """Return an attributeMappingSource as expression text: its ``expression`` when Graph gave one (in the one
    spelling), else written from its structure; None for a missing source."""
    if not isinstance(source, dict):
        return None
    if isinstance(source.get('expression'), str) and source['expression'].strip():
        return canonical(source['expression'])
    kind, name = source.get('type'), source.get('name')
    name = '' if name is None else str(name)
    if kind == 'Attribute':
        return '[%s]' % name
    if kind == 'Constant':
        return render(('Constant', name))
    arguments = [source_to_text(pair.get('value')) or '' for pair in source.get('parameters') or []
                 if isinstance(pair, dict)]
    if name in _COMPARISONS and len(arguments) == 2:
        return '%s %s %s' % (arguments[0], name, arguments[1])
    return '%s(%s)' % (name, ', '.join(arguments))


def text_to_source(text):
    """Return expression ``text`` as an attributeMappingSource (raise ExpressionSyntaxError). Parameter keys are
    positions (``1``, ``2``, ...); Graph's parseExpression gives the function's own parameter names, so its answer is
    what gets written, and this form stands in only where Graph gave none."""
    return _to_source(parse_expression(text))


def _to_source(parsed):
    kind = parsed[0]
    source = dict(expression=render(parsed), parameters=[])
    if kind == 'Attribute':
        source.update(type='Attribute', name=parsed[1])
    elif kind in ('Constant', 'Number'):
        source.update(type='Constant', name=parsed[1])
    elif kind == 'Compare':
        source.update(type='Function', name=parsed[1],
                      parameters=[dict(key='left', value=_to_source(parsed[2])),
                                  dict(key='right', value=_to_source(parsed[3]))])
    else:
        source.update(type='Function', name=parsed[1],
                      parameters=[dict(key=str(position + 1), value=_to_source(argument))
                                  for position, argument in enumerate(parsed[2]) if argument is not None])
    return source


class _Parser(object):
    def __init__(self, text):
        self.text = text
        self.position = 0

    def fail(self, problem):
        raise ExpressionSyntaxError('%s at character %d of %s.' % (problem, self.position + 1, self.text))

    def skip_spaces(self):
        while self.position < len(self.text) and self.text[self.position].isspace():
            self.position += 1

    def peek(self):
        self.skip_spaces()
        return self.text[self.position] if self.position < len(self.text) else ''

    def comparison(self):
        left = self.term()
        self.skip_spaces()
        for operator in _COMPARISONS:
            if self.text.startswith(operator, self.position):
                self.position += len(operator)
                return ('Compare', operator, left, self.term())
        return left

    def term(self):
        character = self.peek()
        if character == '[':
            end = self.text.find(']', self.position)
            if end < 0:
                self.fail('an attribute opened with [ is never closed')
            name = self.text[self.position + 1:end].strip()
            if not name:
                self.fail('an attribute name is empty')
            self.position = end + 1
            return ('Attribute', name)
        if character == '"':
            return ('Constant', self.string())
        number = _NUMBER.match(self.text, self.position)
        if number:
            self.position = number.end()
            return ('Number', number.group(0))
        name = _NAME.match(self.text, self.position)
        if not name:
            self.fail('expected an attribute, a "constant", a number or a function' if character
                      else 'the expression ends too early')
        self.position = name.end()
        if self.peek() != '(':
            self.fail('%s is not a function call (a function is written Name(...); an attribute [%s])'
                      % (name.group(0), name.group(0)))
        self.position += 1
        return ('Function', name.group(0), self.arguments())

    def arguments(self):
        arguments = []
        if self.peek() == ')':
            self.position += 1
            return arguments
        while True:
            arguments.append(None if self.peek() in (',', ')') else self.comparison())
            character = self.peek()
            self.position += 1
            if character == ')':
                return arguments
            if character != ',':
                self.position -= 1
                self.fail('expected , or ) in the arguments' if character else 'the expression ends too early')

    def string(self):
        self.position += 1
        characters = []
        while self.position < len(self.text):
            character = self.text[self.position]
            self.position += 1
            if character == '\\' and self.position < len(self.text):
                characters.append(self.text[self.position])
                self.position += 1
            elif character == '"':
                return ''.join(characters)
            else:
                characters.append(character)
        self.fail('a "constant" is never closed')
        return None
