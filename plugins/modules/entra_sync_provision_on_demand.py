#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: entra_sync_provision_on_demand
short_description: Provision a user or group now through a Microsoft Entra provisioning job, and see each step
version_added: 0.1.0
description:
  - Runs one or more users or groups through an application's provisioning job now (Microsoft Graph
    C(POST .../jobs/{jobId}/provisionOnDemand)), as the portal's "Provision on demand" does, and returns each step
    Graph reports (import, matching, scoping, the action, the export) with its status, description and details.
  - The task fails when a step failed, naming the step and its reason. A subject out of scope is not a failure;
    its status is V(Skipped) and its export step says why.
  - The rule is the job schema's rule that maps the subject's object type, unless O(rule_id) names one.
  - Subjects of one application are sent one after another (the service allows only a few calls per job in ten
    seconds; throttled calls are retried after the time Graph asks for).
author:
  - entra.provisioning maintainers (@entra-provisioning)
extends_documentation_fragment:
  - entra.provisioning.targets
  - entra.provisioning.auth
  - entra.provisioning.connection
  - entra.provisioning.attributes
  - entra.provisioning.attributes.action_group
attributes:
  check_mode:
    support: full
    details: The application, its job and its rules are read; nothing is provisioned (no provisionOnDemand is sent).
options:
  object_id:
    description: Object ID of the user or group to provision. Mutually exclusive with O(subjects).
    type: str
  object_type:
    description: V(User) or V(Group); V(User) when not given. The default of each O(subjects) item.
    type: str
  subjects:
    description: Several users or groups, each a mapping with C(object_id) and optionally C(object_type).
    type: list
    elements: raw
  rule_id:
    description: The synchronization rule to use. By default the job schema's rule that maps the subject's type.
    type: str
  job_id:
    description: The job to provision through. By default the application's only job.
    type: str
  applications:
    description:
      - Many applications in one task; each item names one target and sets its own O(object_id) or O(subjects),
        O(object_type), O(rule_id) and O(job_id) (the task's O(object_type) is the default).
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
  - module: entra.provisioning.entra_sync_schema
  - name: synchronizationJob provisionOnDemand (Microsoft Graph)
    description: The call this module makes.
    link: https://learn.microsoft.com/en-us/graph/api/synchronization-synchronizationjob-provisionondemand
'''

EXAMPLES = r'''
- name: Test one user before turning the job on
  entra.provisioning.entra_sync_provision_on_demand:
    display_name: Contoso Expenses
    object_id: 5c1f0a2b-8d3e-4f6a-9b7c-0d1e2f3a4b5c
  register: trial

- name: Show what was exported
  ansible.builtin.debug:
    msg: "{{ trial.subjects[0].modified_properties }}"

- name: A user and a group
  entra.provisioning.entra_sync_provision_on_demand:
    display_name: Contoso Expenses
    subjects:
      - object_id: 5c1f0a2b-8d3e-4f6a-9b7c-0d1e2f3a4b5c
      - {object_id: 0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d, object_type: Group}
'''

RETURN = r'''
subjects:
  description: One entry per subject provisioned, in order.
  returned: with a single target, when not in check mode
  type: list
  elements: dict
  contains:
    object_id:
      description: The subject's object id.
      type: str
    object_type:
      description: V(User) or V(Group).
      type: str
    status:
      description: Graph's status for it, such as V(Success), V(Skipped) or V(Failure).
      type: str
    error_code:
      description: Why it was skipped or failed, for example V(OutOfScope) or V(RedundantExport).
      type: str
    reason:
      description: Graph's reason text.
      type: str
    action:
      description: What was done in the target, for example V(Create).
      type: str
    exported:
      description: True when an export step succeeded.
      type: bool
    steps:
      description: Each step Graph reported, with C(name), C(type) (V(Import), V(Matching), V(Scoping),
        V(Processing), V(Export)), C(status), C(description) and C(details).
      type: list
      elements: dict
    modified_properties:
      description: The target attributes written, each with C(name), C(old_value) and C(new_value).
      type: list
      elements: dict
rule_ids:
  description: The synchronization rules used.
  returned: with a single target
  type: list
  elements: str
job_id:
  description: The job used.
  returned: with a single target
  type: str
results:
  description: With O(applications), one entry per item, with C(name), C(changed), C(failed), C(msg), C(target),
    C(job_id), C(subjects), C(rule_ids), C(request_id) and C(error).
  returned: with O(applications)
  type: list
  elements: dict
'''

from ansible_collections.entra.provisioning.plugins.module_utils._module import bulk_argument_spec, run_bulk
from ansible_collections.entra.provisioning.plugins.module_utils._sync.provision import SyncProvisionOnDemand


def main():
    """Validate the subjects, provision each through its application's job, and report every step."""
    run_bulk(bulk_argument_spec(job_id=dict(type='str'), rule_id=dict(type='str'), object_id=dict(type='str'),
                                object_type=dict(type='str'), subjects=dict(type='list', elements='raw')),
             SyncProvisionOnDemand)


if __name__ == '__main__':
    main()
