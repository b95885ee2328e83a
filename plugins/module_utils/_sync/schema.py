# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""A provisioning job's attribute mappings and scoping as code: read them in a readable form, and declare them.

The readable form (what entra_sync_schema_info returns and entra_sync_schema takes)::

    attribute_mappings:
      - {object_mapping: User, target_attribute: displayName, source: 'Join(" ", [givenName], [surname])',
         flow: Always, matching_priority: 0, default_value: null}
    scoping:
      - object_mapping: User
        any_of:                      # the object is in scope when any group passes ...
          - name: Sales
            all_of:                  # ... and a group passes when all its clauses do
              - {attribute: department, operator: EQUALS, operands: [Sales]}

Declaring merges into the job's schema (``GET .../jobs/{jobId}/schema``): a named mapping is added or changed, one
with ``state: absent`` removed, every other mapping stays; a declared ``scoping`` entry replaces that object
mapping's filter groups. The schema is written whole with ``PUT`` (the service answers the SDKs' ``PATCH`` with 404)
only when something differs, after Graph's own ``parseExpression`` accepted every expression written, and read back.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import difflib

from ansible_collections.entra.provisioning.plugins.module_utils._graph.batch import BatchRequest
from ansible_collections.entra.provisioning.plugins.module_utils._errors import InvalidInputError
from ansible_collections.entra.provisioning.plugins.module_utils._sync.expressions import (
    ExpressionSyntaxError,
    attributes_in,
    parse_expression,
    render,
    source_to_text,
    text_to_source,
)
from ansible_collections.entra.provisioning.plugins.module_utils._graph.errors import synchronization_permission_advice
from ansible_collections.entra.provisioning.plugins.module_utils._ids import path_segment
from ansible_collections.entra.provisioning.plugins.module_utils._items import check_items, yaml_kind
from ansible_collections.entra.provisioning.plugins.module_utils._sync.common import (
    RequestReader,
    SyncEngine,
    SyncOutcome,
    choose_job,
    target_item_spec,
)
from ansible_collections.entra.provisioning.plugins.module_utils._sync.jobs import SyncJobs
from ansible_collections.entra.provisioning.plugins.module_utils._sync.targets import (
    request_id_of,
    resolve_targets,
    unreadable_answer,
)

FLOW_TYPES = ('Always', 'ObjectAddOnly', 'MultiValueAddOnly', 'ValueAddOnly', 'AttributeAddOnly')
# synchronizationSchema: filterOperators (Graph); the unary ones take no operands. A clause's right-hand side is
# called operands, not values: a key named like a credential's value is masked as a possible secret (_module).
UNARY_OPERATORS = ('ISTRUE', 'ISFALSE', 'ISNULL', 'ISNOTNULL')
OPERATORS = UNARY_OPERATORS + ('EQUALS', 'NOT_EQUALS', 'REGEX_MATCH', 'NOT_REGEX_MATCH', 'GREATER_THAN',
                               'GREATER_THAN_OR_EQUALS', 'LESS_THAN', 'LESS_THAN_OR_EQUALS', 'INCLUDES')
DEFAULT_OBJECT_MAPPING = 'User'
MAPPING_SPEC = dict(
    object_mapping=dict(type='str'), target_attribute=dict(type='str', required=True),
    source=dict(type='str', example="source: '[mail]'"), flow=dict(type='str', choices=list(FLOW_TYPES)),
    matching_priority=dict(type='int'), default_value=dict(type='str'),
    state=dict(type='str', choices=['present', 'absent']),
)
SCOPING_SPEC = dict(object_mapping=dict(type='str'), any_of=dict(type='list', required=True,
                                                                 example='any_of: [{all_of: [...]}]'))
GROUP_SPEC = dict(name=dict(type='str'), all_of=dict(type='list', required=True,
                                                     example='all_of: [{attribute: department, operator: EQUALS, '
                                                             'operands: [Sales]}]'))
CLAUSE_SPEC = dict(attribute=dict(type='str', required=True), operator=dict(type='str', required=True),
                   operands=dict(type='list'))
SCHEMA_INFO_ITEM_SPEC = target_item_spec(job_id=dict(type='str'))
SCHEMA_ITEM_SPEC = target_item_spec(job_id=dict(type='str'), attribute_mappings=dict(type='list'),
                                    scoping=dict(type='list'), purge_mappings=dict(type='bool'))


# -- the readable form --------------------------------------------------------------------------------------------

def object_mappings(schema):
    """Every (rule, object mapping) of a schema, in order."""
    return [(rule, mapping) for rule in schema.get('synchronizationRules') or [] if isinstance(rule, dict)
            for mapping in rule.get('objectMappings') or [] if isinstance(mapping, dict)]


def mapping_label(schema, object_mapping):
    """How an object mapping is named in the readable form: its source object (``User``) when no other object
    mapping has that source object, else its own name."""
    source = object_mapping.get('sourceObjectName')
    twins = [mapping for _rule, mapping in object_mappings(schema) if mapping.get('sourceObjectName') == source]
    return source if len(twins) == 1 and source else object_mapping.get('name')


def describe_schema(schema):
    """Return a schema's mappings and scoping in the readable form: ``dict(attribute_mappings=[...],
    scoping=[...])``, which entra_sync_schema takes as it is."""
    mappings, scoping = [], []
    for _rule, object_mapping in object_mappings(schema):
        label = mapping_label(schema, object_mapping)
        for mapping in object_mapping.get('attributeMappings') or []:
            mappings.append(dict(object_mapping=label, target_attribute=mapping.get('targetAttributeName'),
                                 source=source_to_text(mapping.get('source')), flow=mapping.get('flowType'),
                                 matching_priority=mapping.get('matchingPriority') or 0,
                                 default_value=mapping.get('defaultValue')))
        scoping.append(dict(object_mapping=label, any_of=describe_scope(object_mapping.get('scope'))))
    return dict(attribute_mappings=mappings, scoping=scoping)


def describe_scope(scope):
    """A filter's ``groups`` as readable any-of groups of all-of clauses."""
    groups = scope.get('groups') if isinstance(scope, dict) else None
    return [dict(name=group.get('name'),
                 all_of=[dict(attribute=clause.get('sourceOperandName'), operator=clause.get('operatorName'),
                              operands=list((clause.get('targetOperand') or {}).get('values') or []))
                         for clause in group.get('clauses') or [] if isinstance(clause, dict)])
            for group in groups or [] if isinstance(group, dict)]


def scope_text(any_of):
    """One line for a scope: ``(department EQUALS Sales) or (...)``; ``everyone`` when there is no filter."""
    if not any_of:
        return 'everyone (no scoping filter)'
    return ' or '.join('(%s)' % ' and '.join(' '.join([clause['attribute'], clause['operator']] + clause['operands'])
                                             for clause in group['all_of']) for group in any_of)


# -- reading what is declared -------------------------------------------------------------------------------------

def parse_schema_request(options, where='', names=None):
    """Validate one application's declared mappings and scoping; return a SyncRequest (no network)."""
    reader = RequestReader(options, where, names)
    mappings = _checked(options.get('attribute_mappings'), reader.name('attribute_mappings'), MAPPING_SPEC)
    scoping = _checked(options.get('scoping'), reader.name('scoping'), SCOPING_SPEC)
    if not mappings and not scoping:
        raise InvalidInputError('%s and %s are both empty: declare at least one attribute mapping or scoping entry.'
                                % (reader.name('attribute_mappings'), reader.name('scoping')))
    for place, mapping in mappings:
        mapping['where'] = place
        state = mapping['state'] or 'present'
        if state == 'present' and mapping['source'] is None:
            raise InvalidInputError('%s.source is required unless state is absent. For example: source: '
                                    "'[mail]'." % place)
        if state == 'absent' and any(mapping[key] is not None for key in ('source', 'flow', 'matching_priority',
                                                                          'default_value')):
            raise InvalidInputError('%s: state is absent, so source, flow, matching_priority and default_value '
                                    'have no meaning; leave them out.' % place)
        if mapping['matching_priority'] is not None and mapping['matching_priority'] < 0:
            raise InvalidInputError('%s.matching_priority must be 0 or more (0: not used for matching), got %d.'
                                    % (place, mapping['matching_priority']))
        if mapping['source'] is not None:
            try:
                mapping['parsed'] = parse_expression(mapping['source'])
            except ExpressionSyntaxError as error:
                raise InvalidInputError('%s.source: %s' % (place, error.message))
    seen = {}
    for place, mapping in mappings:
        key = (mapping['object_mapping'] or DEFAULT_OBJECT_MAPPING, mapping['target_attribute'])
        if key in seen:
            raise InvalidInputError('%s.target_attribute: %s is already declared by %s; declare each target once.'
                                    % (place, mapping['target_attribute'], seen[key]))
        seen[key] = place
    return reader.request(job_id=reader.text('job_id'), mappings=[mapping for _place, mapping in mappings],
                          scoping=[_scoping(place, entry) for place, entry in scoping],
                          purge=bool(options.get('purge_mappings')))


def _checked(items, option, spec):
    """(where, values) of each item of a declared list, checked by _items; raise on the first bad one."""
    if items is None:
        return []
    if not isinstance(items, list):
        raise InvalidInputError('%s must be a list, got %s; start each item with "- ".' % (option, yaml_kind(items)))
    checked = []
    for item in check_items(items, option, spec, label_key='-'):
        if item.error is not None:
            raise item.error
        checked.append((item.where, dict(item.values)))
    return checked


def _scoping(place, entry):
    groups = []
    for group_place, group in _checked(entry['any_of'], place + '.any_of', GROUP_SPEC):
        clauses = []
        for clause_place, clause in _checked(group['all_of'], group_place + '.all_of', CLAUSE_SPEC):
            operator = clause['operator'].strip().upper()
            if operator not in OPERATORS:
                raise InvalidInputError('%s.operator: %r is not a scoping operator; use one of %s.'
                                        % (clause_place, clause['operator'], ', '.join(OPERATORS)))
            operands = [str(operand) for operand in clause['operands'] or []]
            if operator in UNARY_OPERATORS and operands:
                raise InvalidInputError('%s.operands: %s takes no operands; leave operands out.'
                                        % (clause_place, operator))
            if operator not in UNARY_OPERATORS and not operands:
                raise InvalidInputError('%s.operands: %s needs at least one operand, e.g. operands: [Sales].'
                                        % (clause_place, operator))
            clauses.append(dict(attribute=clause['attribute'], operator=operator, operands=operands,
                                where=clause_place))
        if not clauses:
            raise InvalidInputError('%s.all_of is empty: give at least one clause, or remove the group.' % group_place)
        groups.append(dict(name=group['name'], all_of=clauses))
    return dict(object_mapping=entry['object_mapping'] or DEFAULT_OBJECT_MAPPING, any_of=groups, where=place)


# -- the merge ----------------------------------------------------------------------------------------------------

class Change(object):
    """One difference the merge makes: a mapping added, changed or removed, or a scope replaced. ``mapping`` is the
    attributeMapping in the merged schema (its source is replaced once Graph parsed ``expression``)."""

    def __init__(self, label, target, old, new, expression=None, mapping=None, where=None):
        self.where = where
        self.label = label
        self.target = target
        self.old = old
        self.new = new
        self.expression = expression
        self.mapping = mapping

    def line(self):
        """The change as one readable line: ``User.displayName: [displayName] -> Join(...)``."""
        return '%s.%s: %s -> %s' % (self.label, self.target, self.old or '(none)', self.new or '(removed)')


def merge_schema(schema, mappings, scoping, purge=False):
    """Merge declared ``mappings`` and ``scoping`` (from parse_schema_request) into a copy of ``schema``; with
    ``purge``, the mappings of each object mapping named in ``mappings`` that are not declared are removed.

    Returns ``(merged, changes)``; raises InvalidInputError naming the option for an unknown object mapping or
    attribute (with the closest names). A changed or added mapping's source is the local parse of its expression
    until the caller puts Graph's in its place.
    """
    merged = copy.deepcopy(schema)
    changes = []
    declared_targets = {}
    for mapping in mappings:
        rule, object_mapping = _find_object_mapping(merged, mapping['object_mapping'], mapping['where'])
        changes.extend(_merge_mapping(merged, rule, object_mapping, mapping))
        declared_targets.setdefault(id(object_mapping), (object_mapping, set()))[1].add(mapping['target_attribute'])
    for object_mapping, targets in declared_targets.values() if purge else ():
        kept = []
        for item in object_mapping.get('attributeMappings') or []:
            if isinstance(item, dict) and item.get('targetAttributeName') not in targets:
                changes.append(Change(mapping_label(merged, object_mapping), item.get('targetAttributeName'),
                                      _mapping_text(item), None))
            else:
                kept.append(item)
        object_mapping['attributeMappings'] = kept
    for entry in scoping:
        rule, object_mapping = _find_object_mapping(merged, entry['object_mapping'], entry['where'])
        source_attributes = _attribute_names(merged, rule.get('sourceDirectoryName'),
                                             object_mapping.get('sourceObjectName'))
        for group in entry['any_of']:
            for clause in group['all_of']:
                _known(clause['attribute'], source_attributes, clause['where'] + '.attribute', 'source attribute')
        readable = ('attribute', 'operator', 'operands')
        wanted = [dict(name=group['name'], all_of=[dict((key, clause[key]) for key in readable)
                                                   for clause in group['all_of']])
                  for group in entry['any_of']]
        current = describe_scope(object_mapping.get('scope'))
        if not _same_scope(current, wanted):
            scope = dict(object_mapping.get('scope') or {})
            scope['groups'] = [dict(name=group['name'] or 'Scoping filter %d' % (position + 1),
                                    clauses=[dict(sourceOperandName=clause['attribute'],
                                                  operatorName=clause['operator'],
                                                  targetOperand=dict(values=clause['operands']))
                                             for clause in group['all_of']])
                               for position, group in enumerate(wanted)]
            object_mapping['scope'] = scope
            changes.append(Change(mapping_label(merged, object_mapping), '(scoping)', scope_text(current),
                                  scope_text(wanted)))
    return merged, changes


def _merge_mapping(schema, rule, object_mapping, mapping):
    label = mapping_label(schema, object_mapping)
    target = mapping['target_attribute']
    existing = [item for item in object_mapping.get('attributeMappings') or []
                if isinstance(item, dict) and item.get('targetAttributeName') == target]
    current = existing[0] if existing else None
    if mapping['state'] == 'absent':
        if current is None:
            return []
        object_mapping['attributeMappings'] = [item for item in object_mapping['attributeMappings']
                                               if item is not current]
        return [Change(label, target, _mapping_text(current), None)]
    _known(target, _attribute_names(schema, rule.get('targetDirectoryName'), object_mapping.get('targetObjectName')),
           mapping['where'] + '.target_attribute', 'target attribute')
    sources = _attribute_names(schema, rule.get('sourceDirectoryName'), object_mapping.get('sourceObjectName'))
    for name in attributes_in(mapping['parsed']):
        _known(name, sources, mapping['where'] + '.source', 'source attribute')
    if current is None:
        current = dict(targetAttributeName=target, flowType='Always', matchingPriority=0, defaultValue=None,
                       flowBehavior='FlowWhenChanged', exportMissingReferences=False, source=None)
        object_mapping.setdefault('attributeMappings', []).append(current)
        old = None
    else:
        old = _mapping_text(current)
    expression = render(mapping['parsed'])
    rewrite = source_to_text(current.get('source')) != expression
    if rewrite:
        current['source'] = text_to_source(expression)
    for key, field in (('flow', 'flowType'), ('matching_priority', 'matchingPriority')):
        if mapping[key] is not None:
            current[field] = mapping[key]
    if mapping['default_value'] is not None:
        current['defaultValue'] = mapping['default_value'] or None
    new = _mapping_text(current)
    if new == old:
        return []
    return [Change(label, target, old, new, expression=expression if rewrite else None, mapping=current,
                   where=mapping['where'])]


def _mapping_text(mapping):
    text = source_to_text(mapping.get('source')) or '(no source)'
    extras = []
    if mapping.get('flowType') not in (None, 'Always'):
        extras.append('flow %s' % mapping['flowType'])
    if mapping.get('matchingPriority'):
        extras.append('matching priority %s' % mapping['matchingPriority'])
    if mapping.get('defaultValue') not in (None, ''):
        extras.append('default %r' % mapping['defaultValue'])
    return text + (' (%s)' % ', '.join(extras) if extras else '')


def _same_scope(current, wanted):
    """Whether two readable scopes filter alike; a wanted group without a name matches any name."""
    def clauses(group):
        return [(clause['attribute'], clause['operator'], list(clause['operands'])) for clause in group['all_of']]
    return len(current) == len(wanted) and all(
        clauses(have) == clauses(want) and want['name'] in (None, have['name'])
        for have, want in zip(current, wanted))


def _find_object_mapping(schema, wanted, where):
    option = where + '.object_mapping'
    wanted = wanted or DEFAULT_OBJECT_MAPPING
    candidates = object_mappings(schema)
    matches = [(rule, mapping) for rule, mapping in candidates
               if str(mapping.get('name', '')).lower() == wanted.lower()]
    matches = matches or [(rule, mapping) for rule, mapping in candidates
                          if str(mapping.get('sourceObjectName', '')).lower() == wanted.lower()]
    if len(matches) == 1:
        return matches[0]
    names = [mapping_label(schema, mapping) for _rule, mapping in candidates]
    if matches:
        twins = ', '.join(str(mapping.get('name')) for _rule, mapping in matches)
        raise InvalidInputError('%s: %r names %d object mappings; use one of their names: %s.'
                                % (option, wanted, len(matches), twins))
    raise InvalidInputError('%s: the job has no object mapping %r.%s Its object mappings: %s.'
                            % (option, wanted, _did_you_mean(wanted, names), ', '.join(names) or 'none'))


def _attribute_names(schema, directory_name, object_name):
    for directory in schema.get('directories') or []:
        if isinstance(directory, dict) and directory.get('name') == directory_name:
            for item in directory.get('objects') or []:
                if isinstance(item, dict) and item.get('name') == object_name:
                    return [attribute.get('name') for attribute in item.get('attributes') or []
                            if isinstance(attribute, dict)]
    return None


def _known(name, names, option, what):
    """Refuse ``name`` when the schema lists its object's attributes and it is not one of them."""
    if names is None or name in names:
        return
    raise InvalidInputError('%s: %r is not a %s of this object mapping.%s Nothing was written.'
                            % (option, name, what, _did_you_mean(name, names)))


def _did_you_mean(name, names):
    folded = dict((str(candidate).lower(), candidate) for candidate in names)
    close = [folded[match] for match in difflib.get_close_matches(str(name).lower(), list(folded), n=3, cutoff=0.6)]
    return ' Did you mean %s?' % ' or '.join(close) if close else ''


# -- the engines ----------------------------------------------------------------------------------------------------

class SchemaInfoOutcome(SyncOutcome):
    """What was read of one application's job schema."""

    def __init__(self, request):
        super(SchemaInfoOutcome, self).__init__(request)
        self.schema = None

    def fields(self):
        """The readable form (empty lists when the schema was not read)."""
        return describe_schema(self.schema) if self.schema else dict(attribute_mappings=[], scoping=[])

    def summary(self):
        """How many mappings were read."""
        return '%s: %d attribute mapping(s) read from job %s.' % (
            self.describe(), len(self.fields()['attribute_mappings']), self.job_id)


class SchemaOutcome(SchemaInfoOutcome):
    """What was (or in check mode would be) changed in one application's job schema."""

    def __init__(self, request):
        super(SchemaOutcome, self).__init__(request)
        self.changes = []
        self.written = False

    @property
    def changed(self):
        """True when the schema was written, or (in check mode, or not yet failed) differs from what is declared."""
        return bool(self.changes) and (self.written or not self.failed)

    def fields(self):
        """The readable lines of what changed, and the diff ansible-playbook --diff shows."""
        lines = [change.line() for change in self.changes]
        result = dict(changes=lines, written=self.written)
        if lines:
            result['diff'] = dict(prepared='\n'.join('%s: %s' % (self.request.label, line) for line in lines) + '\n')
        return result

    def summary(self):
        """What changed, or that nothing needed to."""
        if not self.changes:
            return '%s: the mappings and scoping are already as declared; nothing written.' % self.describe()
        return '%s: %s %d change(s) to job %s.' % (self.describe(), 'wrote' if self.written else 'would write',
                                                   len(self.changes), self.job_id)


class SyncSchemaInfo(SyncEngine):
    """Reads the mappings and scoping of each application's job (the only one, or ``job_id``)."""

    ITEM_SPEC = SCHEMA_INFO_ITEM_SPEC
    OUTCOME = SchemaInfoOutcome

    @staticmethod
    def parse(options, where=''):
        """Validate the target options and job_id."""
        reader = RequestReader(options, where)
        return reader.request(job_id=reader.text('job_id'))

    def run(self, requests):
        """Resolve, list jobs, choose one and read its schema; return outcomes in input order."""
        outcomes = [self.OUTCOME(request) for request in requests]
        self._choose_jobs(outcomes, 'read the mappings of')
        self._read_schemas([outcome for outcome in outcomes if not outcome.failed], 'reading the job schema')
        return outcomes

    def _choose_jobs(self, outcomes, purpose):
        """Resolve each application, list its jobs and choose one (``job_id``, else the only one)."""
        resolve_targets(outcomes, self._send, self.client)
        for outcome, jobs in self._read_jobs(outcomes):
            choose_job(outcome, jobs, outcome.request.settings.get('job_id'), purpose=purpose)

    def _read_schemas(self, outcomes, step):
        for outcome, result in zip(outcomes, self._send([BatchRequest('GET', schema_path(outcome))
                                                         for outcome in outcomes])):
            if not result.ok:
                outcome.fail(step, result.error, synchronization_permission_advice(result.error))
            elif not isinstance(result.body, dict) or not isinstance(result.body.get('synchronizationRules'), list):
                outcome.fail(step, unreadable_answer('a synchronization schema', result))
            else:
                outcome.schema = dict((key, value) for key, value in result.body.items()
                                      if not key.startswith('@odata'))


class SyncSchema(SyncSchemaInfo):
    """Merges declared mappings and scoping into each application's job schema, checks every expression it writes
    with Graph's parseExpression, writes with PUT only what differs, and reads the schema back."""

    ITEM_SPEC = SCHEMA_ITEM_SPEC
    INHERITED = ('purge_mappings',)
    OUTCOME = SchemaOutcome
    parse = staticmethod(parse_schema_request)
    # changed and unchanged counts, as the job engine counts them
    summarize = staticmethod(SyncJobs.summarize)

    def run(self, requests):
        """Read, merge, check, write and verify; return outcomes in input order."""
        outcomes = super(SyncSchema, self).run(requests)
        merged = {}
        for outcome in outcomes:
            if outcome.failed:
                continue
            try:
                merged[id(outcome)], outcome.changes = merge_schema(outcome.schema, **_declared(outcome))
            except InvalidInputError as error:
                outcome.fail('checking what is declared against the job schema', error)
        self._check_expressions([outcome for outcome in outcomes if not outcome.failed and outcome.changes])
        if self.check_mode:
            return outcomes
        writing = [outcome for outcome in outcomes if not outcome.failed and outcome.changes]
        requests = [BatchRequest('PUT', schema_path(outcome), body=merged[id(outcome)]) for outcome in writing]
        for outcome, result in zip(writing, self._send(requests)):
            if not result.ok:
                outcome.fail('writing the job schema (PUT)', result.error,
                             synchronization_permission_advice(result.error))
                continue
            outcome.written = True
            outcome.request_id = request_id_of(result) or outcome.request_id
        written = [outcome for outcome in writing if outcome.written]
        self._read_schemas(written, 'reading the job schema back')
        for outcome in written:
            if outcome.schema is not None and not outcome.failed:
                self._verify(outcome)
        return outcomes

    @staticmethod
    def _verify(outcome):
        """Fail the outcome when the schema read back differs from what is declared."""
        step = 'reading the job schema back'
        try:
            left = [change.line() for change in merge_schema(outcome.schema, **_declared(outcome))[1]]
        except InvalidInputError as error:
            left = [error.message]
        if left:
            outcome.fail(step, 'Graph kept a different schema than was written: %s.' % '; '.join(left),
                         'Read it with entra_sync_schema_info before running again.')

    def _check_expressions(self, outcomes):
        """parseExpression for every expression a write would carry; Graph's parse becomes the written source."""
        checks = [(outcome, change) for outcome in outcomes for change in outcome.changes if change.expression]
        requests = [BatchRequest('POST', schema_path(outcome) + '/parseExpression',
                                 body=dict(expression=change.expression), idempotent=True)
                    for outcome, change in checks]
        for (outcome, change), result in zip(checks, self._send(requests)):
            if outcome.failed:
                continue
            body = result.body if isinstance(result.body, dict) else {}
            if not result.ok:
                outcome.fail('checking the expression of %s.%s (parseExpression)' % (change.label, change.target),
                             result.error, synchronization_permission_advice(result.error))
            elif body.get('parsingSucceeded') is not True:
                reason = (body.get('error') or {}).get('message') if isinstance(body.get('error'), dict) else None
                outcome.fail('checking expressions', "%s.source: Graph's parseExpression refused %s (for %s.%s): %s"
                             % (change.where, change.expression, change.label, change.target,
                                reason or 'no reason given'),
                             'Fix the expression (the portal\'s syntax: [attribute], "constant", Function(...)); '
                             'nothing was written.')
            elif isinstance(body.get('parsedExpression'), dict):
                change.mapping['source'] = dict(body['parsedExpression'], expression=change.expression)


def _declared(outcome):
    settings = outcome.request.settings
    return dict(mappings=settings['mappings'], scoping=settings['scoping'], purge=settings['purge'])


def schema_path(outcome):
    """The path of the outcome's job schema."""
    return '%s/synchronization/jobs/%s/schema' % (outcome.path, path_segment(outcome.job_id))
