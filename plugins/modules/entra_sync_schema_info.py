#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: entra_sync_schema_info
short_description: Read the attribute mappings and scoping of Microsoft Entra provisioning jobs as code
version_added: 0.1.0
description:
  - Reads the schema of an application's provisioning job (Microsoft Graph C(GET .../jobs/{jobId}/schema)) and
    returns its attribute mappings and scoping filters in exactly the form M(entra.provisioning.entra_sync_schema)
    takes, so an application configured in the portal can be saved as YAML and applied to others.
  - Each source is written in the portal's expression syntax, an attribute V([mail]), a constant V("x") or a
    function such as V(Join(" ", [givenName], [surname])).
  - With O(applications), many applications are read in one task through Graph C($batch); one application's
    failure does not stop the others.
author:
  - entra.provisioning maintainers (@entra-provisioning)
extends_documentation_fragment:
  - entra.provisioning.targets
  - entra.provisioning.auth
  - entra.provisioning.connection
  - entra.provisioning.attributes
  - entra.provisioning.attributes.action_group
  - entra.provisioning.attributes.check_mode_read_only
options:
  job_id:
    description: The job whose schema is read. By default the application's only job.
    type: str
  applications:
    description:
      - Many applications in one task; mutually exclusive with the single-target options and O(job_id).
      - Each item is checked on its own (unknown keys, types, a name given twice); a bad item fails alone.
    type: list
    elements: raw
    suboptions:
      name:
        description: A label for this application in RV(results). Defaults to the display name.
        type: str
      service_principal_id:
        description: Object ID of the service principal.
        type: str
      application_id:
        description: Object ID of the application.
        type: str
      app_id:
        description: Application (client) ID.
        type: str
      display_name:
        description: Display name of the service principal, matched as O(display_name) is.
        type: str
      job_id:
        description: As O(job_id), for this application.
        type: str
  max_concurrency:
    description: With O(applications), how many C($batch) requests (of up to 20 calls each) are in flight at once.
    type: int
    default: 4
notes:
  - The identity needs C(Synchronization.Read.All) (or C(Synchronization.ReadWrite.All)) and, to find the
    application, C(Application.Read.All).
seealso:
  - module: entra.provisioning.entra_sync_schema
  - name: From one application configured in the portal to fifty as code
    description: The walkthrough in the collection's docs/schema.md.
    link: https://github.com/entra-provisioning/entra.provisioning/blob/main/docs/schema.md
'''

EXAMPLES = r'''
- name: Read the mappings of the application configured in the portal
  entra.provisioning.entra_sync_schema_info:
    display_name: Contoso Expenses
  register: expenses_schema

- name: Save them as YAML, to edit and apply to other applications
  ansible.builtin.copy:
    content: "{{ {'attribute_mappings': expenses_schema.attribute_mappings,
                  'scoping': expenses_schema.scoping} | to_nice_yaml }}"
    dest: mappings/contoso-expenses.yml
    mode: "0644"
  delegate_to: localhost
'''

RETURN = r'''
attribute_mappings:
  description: Every attribute mapping of the job, in the form O(entra.provisioning.entra_sync_schema#module:attribute_mappings) takes.
  returned: with a single target
  type: list
  elements: dict
  sample:
    - {object_mapping: User, target_attribute: userName, source: '[userPrincipalName]', flow: Always,
       matching_priority: 1, default_value: null}
    - {object_mapping: User, target_attribute: name.formatted, source: 'Join(" ", [givenName], [surname])',
       flow: Always, matching_priority: 0, default_value: null}
scoping:
  description: The scoping filters of every object mapping, in the form
    O(entra.provisioning.entra_sync_schema#module:scoping) takes; C(any_of) is empty when everyone is in scope.
  returned: with a single target
  type: list
  elements: dict
  sample:
    - object_mapping: User
      any_of:
        - {name: Sales, all_of: [{attribute: department, operator: EQUALS, operands: [Sales]}]}
job_id:
  description: The job whose schema was read.
  returned: with a single target
  type: str
target:
  description: The object read (C(object_type), C(object_id), C(app_id), C(display_name), C(path)).
  returned: with a single target
  type: dict
results:
  description: With O(applications), one entry per item in input order, with C(name), C(failed), C(msg),
    C(target), C(job_id), C(attribute_mappings), C(scoping), C(request_id) and C(error).
  returned: with O(applications)
  type: list
  elements: dict
summary:
  description: With O(applications), C(total) and C(failed).
  returned: with O(applications)
  type: dict
'''

from ansible_collections.entra.provisioning.plugins.module_utils._module import bulk_argument_spec, run_bulk
from ansible_collections.entra.provisioning.plugins.module_utils._sync.schema import SyncSchemaInfo


def main():
    """Validate, read each application's job schema, and report it in the readable form."""
    run_bulk(bulk_argument_spec(job_id=dict(type='str')), SyncSchemaInfo)


if __name__ == '__main__':
    main()
