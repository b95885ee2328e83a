#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: entra_sync_authorize_hosts
short_description: Authorize provisioning for every application of the play batch (the authorize role's action)
version_added: 0.1.0
description:
  - This is the work of the C(entra.provisioning.authorize) role
    as an action plugin. It runs on the controller, in the worker process, with the collection's shared engine;
    no module is sent anywhere and no host is contacted. The role is the way to use it; this page documents what
    it does and what it returns.
  - It takes the hosts of the play batch (C(ansible_play_batch), so C(--limit), C(serial) and hosts that already
    failed are honoured); each host is an application. For each host it reads the role's C(authorize_*)
    variables (the host's own and its groups' first, then the play's, then the role defaults; unset connection
    variables then come from C(module_defaults), then the environment, such as E(AZURE_CLIENT_SECRET)), renders
    them in that host's context and validates them on their own. A host with a bad variable fails alone, with a
    message naming the variable and the host.
  - Hosts are grouped by everything that decides the sign-in and the endpoint (tenant, client, auth method, the
    secret, certificate or token itself, cloud, endpoints, CA, TLS setting, API version). Each group signs in
    once and is authorized part by part (C(authorize_applications_per_run)), every phase through Graph
    C($batch), exactly as M(entra.provisioning.entra_sync_acquire_token) does in bulk. A secret is only ever used
    for the applications that declared it.
  - An application whose C(authorize_start_job) is true (default false; per host, like C(authorize_force), so it
    never splits a sign-in group) has its synchronization job started once it is authorized, with the same
    client, unless the job is already running. A job whose status is V(Active) is left alone (a second C(start)
    can stop it), a V(Paused), V(Quarantine), V(NotRun) or V(NotConfigured) one is started (C(start) clears a
    quarantine). In check mode the job is read and what would be started is reported; nothing is sent. A failed
    start fails that application alone; its C(authorized) stays what the authorization found.
  - When C(authorize_applications) is set, its items are authorized instead, with the connection variables of
    the host the action runs on (and C(module_defaults)).
  - It takes no options of its own; everything comes from the role variables (C(ansible-doc -t role
    entra.provisioning.authorize)). A connection option no role variable sets is taken from C(module_defaults)
    for C(group/entra.provisioning.entra), then from the environment. Other options from C(module_defaults) are
    ignored with a warning. Run-level variables (C(authorize_report), C(authorize_show_summary),
    C(authorize_max_concurrency), C(authorize_applications_per_run), C(authorize_applications)) are read once,
    from the play (play vars, role parameters, extra vars, role defaults), never from a host (a host that sets
    one gets a warning); C(authorize_max_concurrency) must be 1 or more (as the modules'
    O(entra.provisioning.entra_sync_acquire_token#module:max_concurrency))
    and C(authorize_applications_per_run) 1 to 5000.
  - It does not fail when applications fail; it returns every outcome, and the role reports them per host (with
    O(ignore:authorize_report=summary), per host only when an application failed). It prints the summary table and
    a table of the failed applications with their reasons as text, and publishes the counts as
    C(ansible.builtin.set_stats) does (C(authorize_total), C(authorize_changed), C(authorize_ok),
    C(authorize_failed), C(authorize_failed_applications)), added up over the play's batches. It fails only when a play-level variable
    is unusable, before anything is sent.
author:
  - entra.provisioning maintainers (@entra-provisioning)
options: {}
attributes:
  action_group:
    description: Use C(group/entra.provisioning.entra) in C(module_defaults) to set the connection options for the
      role; the role's C(authorize_*) variables come first, the environment after.
    support: full
    membership:
      - entra.provisioning.entra
  action:
    support: full
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on
      the controller.
  async:
    support: none
    description: Supports being used with the C(async) keyword.
  bypass_host_loop:
    support: none
    description: Forces a 'global' task that does not execute per host; the role runs it with C(run_once).
  check_mode:
    support: full
    description: Can run in check_mode and return changed status prediction without modifying target.
    details: The read-only phases run for real; no write is sent.
  diff_mode:
    support: none
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  platform:
    support: full
    platforms: all
    description: Target OS/families that can be operated against.
    details: Nothing runs on the hosts; the action runs on the controller.
notes:
  - The identity needs the Graph application permission C(Synchronization.ReadWrite.All), or
    C(Application.ReadWrite.OwnedBy) and ownership of each application.
  - A C(environment:) keyword does not reach this action (nothing is executed on a host); set the variables in
    the environment of C(ansible-playbook) itself, as an AWX credential does.
seealso:
  - module: entra.provisioning.entra_sync_acquire_token
'''

EXAMPLES = r'''
# The role is the way to use this action: it adds the summary and the per-host report.
- name: Authorize provisioning for every application in the inventory
  hosts: all
  gather_facts: false
  roles:
    - role: entra.provisioning.authorize

- name: Call the action directly and keep every outcome
  hosts: all
  gather_facts: false
  tasks:
    # Once per batch, for every host of it: the play needs a strategy that waits for each task (linear, the
    # default), not free.
    - name: Authorize the applications of this batch
      entra.provisioning.entra_sync_authorize_hosts:
      run_once: true  # noqa: run-once[task]
      register: authorize_result
    - name: Show which applications failed
      ansible.builtin.debug:
        var: authorize_result.summary.failed_names
      run_once: true  # noqa: run-once[task]
'''

RETURN = r'''
mode:
  description: V(hosts) when the play's hosts were the applications, V(list) for C(authorize_applications).
  returned: always
  type: str
  sample: hosts
report:
  description: V(per_host) or V(summary), as the role reports; always V(summary) in V(list) mode.
  returned: always
  type: str
  sample: per_host
check_mode:
  description: Whether the run was in check mode (nothing written).
  returned: always
  type: bool
outcomes:
  description:
    - Every application's outcome, keyed by host (or item name in V(list) mode), in the order of the hosts.
    - Each holds the fields of one item of the RV(entra.provisioning.entra_sync_acquire_token#module:results)
      of the module (C(name), C(changed), C(failed), C(msg), C(authorized), C(acquired), C(target), C(job_id),
      C(credential_keys), C(request_id), C(error)); never a credential value.
    - And the job fields, filled in only for applications with C(authorize_start_job) true that were authorized
      (or, in check mode, would be), namely C(job_status_before) (the job's status code before, for example V(Paused)),
      C(job_started) (true when C(start) was sent, or in check mode would be; a started job makes the application
      changed) and C(job_status) (its status code afterwards). Otherwise they are null, false and null.
  returned: always
  type: dict
  sample:
    expenses:
      name: expenses
      changed: true
      failed: false
      msg: "Application 'expenses' (servicePrincipal 3f1e2d4c-5b6a-4798-8a9b-0c1d2e3f4a5b): provisioning authorized."
      authorized: true
      acquired: true
      credential_keys: [Oauth2AuthorizationCode, Oauth2RedirectUri]
      job_id: scim.3f1e2d4c5b6a47988a9b0c1d2e3f4a5b.3f1e2d4c-5b6a-4798-8a9b-0c1d2e3f4a5b
      job_status_before: Paused
      job_started: true
      job_status: Active
summary:
  description: Counts over all applications, and the names of those that failed.
  returned: always
  type: dict
  sample: {total: 40, changed: 38, ok: 1, failed: 1, failed_names: [hr-scim]}
summary_lines:
  description: The summary as a table for people, one line per application and the counts.
  returned: when C(authorize_show_summary) is true
  type: list
  elements: str
failed_msg:
  description: How many applications failed and which; what the role fails with in the summary report.
  returned: when any application failed
  type: str
'''

# The work is done by the action plugin of the same name (plugins/action/entra_sync_authorize_hosts.py); this
# file exists for ansible-doc. Run as a module, it refuses with an explanation rather than doing anything.
from ansible.module_utils.basic import AnsibleModule


def main():
    """Refuse: this module only documents the controller-side action."""
    module = AnsibleModule(argument_spec={}, supports_check_mode=True)
    module.fail_json(msg='entra_sync_authorize_hosts runs as an action plugin on the controller; it cannot run as '
                         'a module on a host.')


if __name__ == '__main__':
    main()
