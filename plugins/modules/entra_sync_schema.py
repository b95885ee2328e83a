#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: entra_sync_schema
short_description: Declare the attribute mappings and scoping of Microsoft Entra provisioning jobs
version_added: 0.1.0
description:
  - Reads the schema of an application's provisioning job (C(GET .../jobs/{jobId}/schema)), merges the declared
    O(attribute_mappings) and O(scoping) into it, and writes it with C(PUT) only when something differs, then reads
    it back and checks that Graph kept what was written. Mappings that are not named stay as they are.
  - Before any write, every expression to be written is checked with Graph's own C(parseExpression), and each target
    attribute, source attribute and object mapping is checked against the job's schema; an unknown name is refused
    with the closest names ("did you mean displayName?").
  - The schema is written with C(PUT); the C(PATCH) the official SDKs send for an update fails in the service.
  - In check mode the schema is read and the expressions that would be written are checked with C(parseExpression)
    (which changes nothing); no C(PUT) is sent.
  - With O(applications), many applications are configured in one task through Graph C($batch); one application's
    failure does not stop the others.
author:
  - entra.provisioning maintainers (@entra-provisioning)
extends_documentation_fragment:
  - entra.provisioning.targets
  - entra.provisioning.auth
  - entra.provisioning.connection
  - entra.provisioning.attributes
  - entra.provisioning.attributes.action_group
  - entra.provisioning.attributes.check_mode_writes_nothing
attributes:
  diff_mode:
    support: full
    details: One line per mapping or scope that changes (target, old source, new source), never the whole schema.
options:
  job_id:
    description: The job to configure. By default the application's only job.
    type: str
  attribute_mappings:
    description:
      - Attribute mappings to add, change or (with C(state=absent)) remove; the RV(entra.provisioning.entra_sync_schema_info#module:attribute_mappings)
        of M(entra.provisioning.entra_sync_schema_info) is a valid value.
      - At least one of O(attribute_mappings) and O(scoping) is required.
    type: list
    elements: raw
    suboptions:
      object_mapping:
        description: The object mapping, by its source object (V(User), V(Group)) or its name.
        type: str
        default: User
      target_attribute:
        description: The target attribute, as the job's schema names it (V(displayName), V(emails[type eq "work"].value)).
        type: str
        required: true
      source:
        description:
          - The source in the portal's expression syntax, an attribute V([mail]), a constant V("x") or a function
            such as V(Join(" ", [givenName], [surname])). Required unless O(attribute_mappings[].state=absent).
        type: str
      flow:
        description: When the mapping applies. Left as it is when not given; a new mapping gets V(Always).
        type: str
        choices: [Always, ObjectAddOnly, MultiValueAddOnly, ValueAddOnly, AttributeAddOnly]
      matching_priority:
        description: Above 0 to match objects on this attribute (1 first). Left as it is when not given; 0 for a new mapping.
        type: int
      default_value:
        description: The value used when the source is empty; an empty string removes it. Left as it is when not given.
        type: str
      state:
        description: V(absent) removes the mapping of O(attribute_mappings[].target_attribute).
        type: str
        choices: [present, absent]
        default: present
  purge_mappings:
    description:
      - Also remove the mappings of each object mapping named in O(attribute_mappings) that are not declared there,
        so the job's mappings become exactly the declared ones (for example the output of
        M(entra.provisioning.entra_sync_schema_info) applied to another application).
      - By default mappings that are not named stay as they are.
    type: bool
    default: false
  scoping:
    description:
      - Scoping filters, one entry per object mapping; an entry replaces all the filter groups of its object mapping.
        An object is in scope when any group of O(scoping[].any_of) passes, and a group passes when all its
        clauses do. An empty O(scoping[].any_of) puts everyone in scope.
    type: list
    elements: raw
    suboptions:
      object_mapping:
        description: As O(attribute_mappings[].object_mapping).
        type: str
        default: User
      any_of:
        description: The filter groups.
        type: list
        elements: dict
        required: true
        suboptions:
          name:
            description: The group's name, shown in the portal.
            type: str
          all_of:
            description: The clauses, each with C(attribute) (a source attribute), C(operator) (V(EQUALS),
              V(NOT_EQUALS), V(ISTRUE), V(ISFALSE), V(ISNULL), V(ISNOTNULL), V(REGEX_MATCH), V(NOT_REGEX_MATCH),
              V(GREATER_THAN), V(GREATER_THAN_OR_EQUALS), V(LESS_THAN), V(LESS_THAN_OR_EQUALS), V(INCLUDES)) and
              C(operands) (the values compared with, none for the V(IS...) operators).
            type: list
            elements: dict
            required: true
  applications:
    description:
      - Many applications in one task; each item names one target and sets its own O(job_id),
        O(attribute_mappings), O(scoping) and O(purge_mappings) (the task's O(purge_mappings) is the default).
        Mutually exclusive with the single-target options, O(job_id), O(attribute_mappings) and O(scoping).
      - Each item is checked on its own; a bad item fails alone and nothing is sent for it.
    type: list
    elements: raw
  max_concurrency:
    description: With O(applications), how many C($batch) requests (of up to 20 calls each) are in flight at once.
    type: int
    default: 4
notes:
  - The identity needs C(Synchronization.ReadWrite.All) and, to find the application, C(Application.Read.All).
seealso:
  - module: entra.provisioning.entra_sync_schema_info
  - module: entra.provisioning.entra_sync_provision_on_demand
'''

EXAMPLES = r'''
- name: Format the display name and provision only the sales department
  entra.provisioning.entra_sync_schema:
    display_name: Contoso Expenses
    attribute_mappings:
      - target_attribute: displayName
        source: 'Join(" ", [givenName], [surname])'
      - target_attribute: title
        state: absent
    scoping:
      - object_mapping: User
        any_of:
          - name: Sales only
            all_of:
              - {attribute: department, operator: EQUALS, operands: [Sales]}

- name: Apply the mappings exported from one application to many
  entra.provisioning.entra_sync_schema:
    applications: "{{ expense_apps | map('combine', lookup('ansible.builtin.file', 'mappings.yml') | from_yaml) }}"
'''

RETURN = r'''
changes:
  description: One line per mapping or scope that changed (or would in check mode), as C(User.displayName) then the old
    and the new source.
  returned: with a single target
  type: list
  elements: str
  sample: ['User.displayName: [displayName] -> Join(" ", [givenName], [surname])', 'User.title: [jobTitle] -> (removed)']
written:
  description: True when the schema was written (never in check mode).
  returned: with a single target
  type: bool
job_id:
  description: The job configured.
  returned: with a single target
  type: str
target:
  description: The object configured (C(object_type), C(object_id), C(app_id), C(display_name), C(path)).
  returned: with a single target
  type: dict
results:
  description: With O(applications), one entry per item in input order, with C(name), C(changed), C(failed),
    C(msg), C(target), C(job_id), C(changes), C(written), C(request_id) and C(error).
  returned: with O(applications)
  type: list
  elements: dict
summary:
  description: With O(applications), C(total), C(failed), C(changed) and C(unchanged).
  returned: with O(applications)
  type: dict
'''

from ansible_collections.entra.provisioning.plugins.module_utils._module import bulk_argument_spec, run_bulk
from ansible_collections.entra.provisioning.plugins.module_utils._sync.schema import SyncSchema


def main():
    """Validate what is declared, merge it into each application's job schema, and write only what differs."""
    run_bulk(bulk_argument_spec(job_id=dict(type='str'), attribute_mappings=dict(type='list', elements='raw'),
                                scoping=dict(type='list', elements='raw'),
                                purge_mappings=dict(type='bool', default=False)), SyncSchema)


if __name__ == '__main__':
    main()
