#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: entra_sync_job_info
short_description: Read the provisioning jobs of one or many Microsoft Entra applications
version_added: 0.2.0
description:
  - Reads every synchronization job of an application (Microsoft Graph C(synchronization/jobs)) with its template,
    schedule, status code, quarantine (reason, since when, next attempt), last execution and last successful one.
  - The result is shaped for a C(when:) or an alert, for example C(jobs[0].quarantined) or
    C(jobs[0].last_execution.state == 'Failed').
  - With O(applications), many applications are read in one task through Graph C($batch). One application's failure
    does not stop the others; the task fails at the end when any of them failed, and RV(results) says which and why.
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
    description: Return only this job. By default every job of the application is returned.
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
        description: Display name of the service principal, matched as O(display_name) is (whole name, ignoring case).
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
  - module: entra.provisioning.entra_sync_job
  - name: synchronizationJob (Microsoft Graph)
    description: The resource whose status this module reads.
    link: https://learn.microsoft.com/en-us/graph/api/resources/synchronization-synchronizationjob
'''

EXAMPLES = r'''
- name: Read the provisioning jobs of an application by its client id
  entra.provisioning.entra_sync_job_info:
    tenant_id: "{{ entra_tenant_id }}"
    client_id: "{{ entra_client_id }}"
    client_secret: "{{ vault_entra_client_secret }}"
    app_id: 6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
  register: expenses_jobs

- name: Alert when the job is quarantined
  ansible.builtin.debug:
    msg: "Provisioning of Contoso Expenses is quarantined: {{ expenses_jobs.jobs[0].quarantine.reason }}"
  when: expenses_jobs.jobs[0].quarantined

- name: Read many applications at once, through $batch
  entra.provisioning.entra_sync_job_info:
    applications:
      - display_name: Contoso Expenses
      - name: travel
        service_principal_id: 3f1e2d4c-5b6a-4798-8a9b-0c1d2e3f4a5b
  register: all_jobs

- name: Fail when any job's last run failed
  ansible.builtin.assert:
    that: all_jobs.summary.last_execution_failed == 0
    fail_msg: "{{ all_jobs.summary.last_execution_failed }} provisioning jobs failed their last run"
'''

RETURN = r'''
jobs:
  description: With a single target, its jobs (only O(job_id) when given), in the order Graph lists them.
  returned: with a single target
  type: list
  elements: dict
  contains:
    id:
      description: The job id.
      type: str
      sample: scim.4a1b2c3d4e5f40718293a4b5c6d7e8f9.3f1e2d4c5b6a47988a9b0c1d2e3f4a5b
    template_id:
      description: The synchronization template the job was created from.
      type: str
      sample: scim
    schedule:
      description: C(state) (V(Active), V(Disabled), V(Paused)), C(interval) (ISO-8601) and C(expiration).
      type: dict
      sample: {state: Active, interval: PT40M, expiration: null}
    status:
      description: C(code) (V(NotConfigured), V(NotRun), V(Active), V(Paused), V(Quarantine)),
        C(count_successive_complete_failures) and C(troubleshooting_url).
      type: dict
      sample: {code: Active, count_successive_complete_failures: 0, troubleshooting_url: null}
    running:
      description: True when the status code is V(Active).
      type: bool
    quarantined:
      description: True when the job is in quarantine.
      type: bool
    quarantine:
      description: C(reason), C(current_began), C(next_attempt), C(series_began), C(series_count) and C(error), why
        the job is quarantined as the service says it (C(code), C(message), C(tenant_actionable), true when an
        admin of the tenant can fix it; null when the service gives none); null when the job is not quarantined.
      type: dict
      sample: {reason: EncounteredQuarantineException, current_began: '2026-12-01T10:00:00Z',
               next_attempt: '2026-12-01T14:00:00Z', series_began: '2026-12-01T10:00:00Z', series_count: 1,
               error: {code: SystemForCrossDomainIdentityManagementCredentialValidationUnavailable,
                       message: 'The provisioning service could not authenticate to the target application.',
                       tenant_actionable: true}}
    last_execution:
      description: C(state) (V(Succeeded), V(Failed), V(EntryLevelErrors)), C(time_began), C(time_ended),
        C(error) (the run's error, C(code), C(message), C(tenant_actionable), or null); null when the job never ran.
      type: dict
    last_successful_execution:
      description: As RV(jobs[].last_execution), for the last run that succeeded.
      type: dict
    last_successful_execution_with_exports:
      description: As RV(jobs[].last_execution), for the last successful run that exported changes.
      type: dict
target:
  description: The object read (C(object_type), C(object_id), C(app_id), C(display_name), C(path)).
  returned: with a single target
  type: dict
results:
  description: With O(applications), one entry per item in input order, with C(name), C(changed), C(failed), C(msg),
    C(target), C(job_id), C(jobs), C(request_id) and C(error).
  returned: with O(applications)
  type: list
  elements: dict
summary:
  description: With O(applications), counts over all items and jobs.
  returned: with O(applications)
  type: dict
  sample: {total: 3, failed: 0, jobs: 3, running: 2, quarantined: 1, last_execution_failed: 1}
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
from ansible_collections.entra.provisioning.plugins.module_utils._sync.jobs import SyncJobInfo


def argument_spec():
    """The module's own options; the targets, applications and max_concurrency come from bulk_argument_spec, the
    shared auth, cloud and connection options from EntraModule."""
    return bulk_argument_spec(job_id=dict(type='str'))


def main():
    """Validate, read every application's jobs, and report per application."""
    run_bulk(argument_spec(), SyncJobInfo)


if __name__ == '__main__':
    main()
