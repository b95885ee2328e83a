#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: entra_sync_job
short_description: Create, start, pause, restart or delete the provisioning job of Microsoft Entra applications
version_added: 0.2.0
description:
  - Brings the synchronization job of an application to the desired O(state), judged from the job's own status, so
    a re-run sends nothing. This matters for V(started) because Microsoft warns that calling C(start) again on a
    running job can stop it.
  - The job is picked by O(job_id), by O(template_id), or is the application's only job. When the application has
    no job (of that template), V(present), V(started), V(paused) and V(restarted) create it with C(POST jobs) from
    O(template_id), or from the template Graph marks default.
  - With O(applications), many applications are handled in one task, each phase for all of them at once through
    Graph C($batch). Every item is validated before anything is sent; one application's failure does not stop the
    others, and RV(results) says which failed and why.
author:
  - entra.provisioning maintainers (@entra-provisioning)
extends_documentation_fragment:
  - entra.provisioning.targets
  - entra.provisioning.auth
  - entra.provisioning.connection
  - entra.provisioning.attributes
  - entra.provisioning.attributes.action_group
  - entra.provisioning.attributes.check_mode_writes_nothing
options:
  state:
    description:
      - V(present) makes sure the job exists (created, schedule Disabled, when it does not).
      - V(started) makes sure it runs; C(start) is sent unless the status code is V(Active). A paused job is
        resumed, a quarantined one is started again (which clears the quarantine).
      - V(paused) sends C(pause) unless the status code is V(Paused).
      - V(restarted) always sends C(restart) (with O(reset_scope) as C(criteria.resetScope)), so it always reports
        a change; a job created by this task is started instead. Without O(reset_scope) it sends empty criteria
        (C({})), which is the portal's "Restart provisioning" and lifts a quarantine; RV(quarantine_lifted) says
        whether the job read after the restart is out of quarantine.
      - V(absent) deletes the job when it exists.
    type: str
    choices: [present, started, paused, restarted, absent]
    default: present
  job_id:
    description:
      - The job to act on. By default the job of O(template_id), or the application's only job. A job id cannot be
        chosen at creation.
    type: str
  template_id:
    description:
      - The synchronization template of the job (for example V(scim)); the job is created from it when missing.
      - By default the application's template marked default is used to create a job.
      - Before a job is created, the application's templates are read; a O(template_id) that is not one of them
        fails the application, naming the templates it has, and nothing is created.
    type: str
  reset_scope:
    description:
      - With O(state=restarted), what the restart clears, sent as C(criteria.resetScope).
      - The portal's "Restart provisioning" sends V(Watermark), V(Escrows) and V(QuarantineState). Without it a
        plain C(restart) is sent.
    type: list
    elements: str
    choices: [Watermark, Escrows, QuarantineState, Full, ForceDeletes]
  applications:
    description:
      - Many applications in one task. Each item names one target and may set its own O(state), O(job_id),
        O(template_id) and O(reset_scope); the task's O(state) is the default.
      - Mutually exclusive with the single-target options, O(job_id), O(template_id) and O(reset_scope).
      - Each item is checked on its own (unknown keys, types, choices, a name given twice); a bad item fails alone.
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
        description: Display name of the service principal, matched as O(display_name) is (whole name, ignoring case).
        type: str
      state:
        description: As O(state), for this application.
        type: str
        choices: [present, started, paused, restarted, absent]
      job_id:
        description: As O(job_id), for this application.
        type: str
      template_id:
        description: As O(template_id), for this application.
        type: str
      reset_scope:
        description: As O(reset_scope), for this application.
        type: list
        elements: str
        choices: [Watermark, Escrows, QuarantineState, Full, ForceDeletes]
  max_concurrency:
    description: With O(applications), how many C($batch) requests (of up to 20 calls each) are in flight at once.
    type: int
    default: 4
notes:
  - The identity needs C(Synchronization.ReadWrite.All) (or C(Application.ReadWrite.OwnedBy) and ownership of each
    application) and, to find the application, C(Application.Read.All).
  - A job only provisions once its credentials are saved; see M(entra.provisioning.entra_sync_secrets).
seealso:
  - module: entra.provisioning.entra_sync_job_info
  - module: entra.provisioning.entra_sync_secrets
  - name: synchronizationJob (Microsoft Graph)
    description: The resource and its start, pause and restart actions.
    link: https://learn.microsoft.com/en-us/graph/api/resources/synchronization-synchronizationjob
'''

EXAMPLES = r'''
- name: Create the provisioning job of a SCIM application from its default template
  entra.provisioning.entra_sync_job:
    tenant_id: "{{ entra_tenant_id }}"
    client_id: "{{ entra_client_id }}"
    client_secret: "{{ vault_entra_client_secret }}"
    display_name: Contoso Expenses
    state: present

- name: Start it (sends nothing when it already runs)
  entra.provisioning.entra_sync_job:
    display_name: Contoso Expenses
    state: started

- name: Restart a quarantined job the way the portal does
  entra.provisioning.entra_sync_job:
    app_id: 6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
    state: restarted
    reset_scope: [Watermark, Escrows, QuarantineState]

- name: Start many applications' jobs in one task, creating the groups job of one of them
  entra.provisioning.entra_sync_job:
    state: started
    applications:
      - display_name: Contoso Expenses
      - name: travel-groups
        service_principal_id: 3f1e2d4c-5b6a-4798-8a9b-0c1d2e3f4a5b
        template_id: scimGroups

- name: Pause a job, see what would be sent first
  entra.provisioning.entra_sync_job:
    display_name: Contoso Expenses
    state: paused
  check_mode: true
'''

RETURN = r'''
job_id:
  description: The job acted on (created by this task, when RV(actions) has V(create)); null when there is none.
  returned: with a single target
  type: str
  sample: scim.4a1b2c3d4e5f40718293a4b5c6d7e8f9.3f1e2d4c5b6a47988a9b0c1d2e3f4a5b
actions:
  description: The writes sent (in check mode, that would be sent), in order; empty when nothing needed changing.
  returned: with a single target
  type: list
  elements: str
  sample: [create, start]
quarantine_lifted:
  description: For a job that was quarantined and got C(start) or C(restart), whether the job read after it is no
    longer quarantined (false with C(job.quarantine.error) saying why it still is); null otherwise.
  returned: with a single target
  type: bool
  sample: true
status_before:
  description: The job's status code before the task; null when it had no job.
  returned: with a single target
  type: str
  sample: Paused
job:
  description: The job as read after the task, in the shape of RV(entra.provisioning.entra_sync_job_info#module:jobs);
    null after a delete. In check mode, the job as it was.
  returned: with a single target
  type: dict
target:
  description: The object acted on (C(object_type), C(object_id), C(app_id), C(display_name), C(path)).
  returned: with a single target
  type: dict
state:
  description: The desired state.
  returned: with a single target
  type: str
request_id:
  description: Graph's C(request-id) of the last write (or of the failed call).
  returned: with a single target
  type: str
error:
  description: On failure, the fields of the Graph error as plain strings.
  returned: when a Graph call failed
  type: dict
results:
  description: With O(applications), one entry per item in input order, with the single-target fields plus C(name),
    C(changed), C(failed) and C(msg).
  returned: with O(applications)
  type: list
  elements: dict
summary:
  description: With O(applications), counts over all items.
  returned: with O(applications)
  type: dict
  sample: {total: 3, changed: 2, unchanged: 1, failed: 0}
cloud:
  description: The cloud used.
  returned: always
  type: str
  sample: global
api_version:
  description: The Graph API version used.
  returned: always
  type: str
  sample: v1.0
'''

from ansible_collections.entra.provisioning.plugins.module_utils._module import bulk_argument_spec, run_bulk
from ansible_collections.entra.provisioning.plugins.module_utils._sync.jobs import (
    JOB_STATES,
    RESET_SCOPE_FLAGS,
    SyncJobs,
)


def argument_spec():
    """The module's own options; the targets, applications and max_concurrency come from bulk_argument_spec, the
    shared auth, cloud and connection options from EntraModule."""
    return bulk_argument_spec(
        state=dict(type='str', choices=list(JOB_STATES), default='present'),
        job_id=dict(type='str'),
        template_id=dict(type='str'),
        reset_scope=dict(type='list', elements='str', choices=list(RESET_SCOPE_FLAGS)),
    )


def main():
    """Validate, bring every job to its state phase by phase, and report per application."""
    run_bulk(argument_spec(), SyncJobs)


if __name__ == '__main__':
    main()
