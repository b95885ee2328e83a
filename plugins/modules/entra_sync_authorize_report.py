#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: entra_sync_authorize_report
short_description: Report one application's outcome on its own host, or the summary once (the authorize role)
version_added: 0.1.0
description:
  - The per-host report task of the C(entra.provisioning.authorize) role, as an action plugin that runs on the
    controller. No host is contacted.
  - It reads C(authorize_result), registered earlier in the play by M(entra.provisioning.entra_sync_authorize_hosts),
    and makes this host's task V(ok), V(changed) or V(failed) with that application's message, so the PLAY RECAP
    reads per application. It reads the variable directly rather than through templates, which keeps the report of
    a large inventory as cheap as a bare per-host task.
  - When C(authorize_result) says the report is a summary (C(authorize_report=summary) with no failed
    application, or a list of applications), the role runs it once and it is the summary, the counts (the action
    printed the tables), failing with the names of the applications that failed when a listed one did.
  - With C(authorize_report=summary) and a failed application, the role runs it on every host and each reports its
    own outcome, so the PLAY RECAP fails exactly the failed applications.
  - It takes no options.
author:
  - entra.provisioning maintainers (@entra-provisioning)
options: {}
attributes:
  action:
    support: full
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on
      the controller.
  async:
    support: none
    description: Supports being used with the C(async) keyword.
  bypass_host_loop:
    support: none
    description: Forces a 'global' task that does not execute per host.
  check_mode:
    support: full
    description: Can run in check_mode and return changed status prediction without modifying target.
    details: It only reports what the authorize action found or would change.
  diff_mode:
    support: none
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  platform:
    support: full
    platforms: all
    description: Target OS/families that can be operated against.
    details: Nothing runs on the hosts; the action runs on the controller.
seealso:
  - module: entra.provisioning.entra_sync_authorize_hosts
'''

EXAMPLES = r'''
- name: Authorize the applications of this batch, then report each on its own host
  hosts: all
  gather_facts: false
  tasks:
    # Once per batch, before any host reports: the play needs a strategy that waits for each task (linear, the
    # default), not free.
    - name: Authorize the applications of this batch
      entra.provisioning.entra_sync_authorize_hosts:
      run_once: true  # noqa: run-once[task]
      register: authorize_result
    - name: Report this application's outcome
      entra.provisioning.entra_sync_authorize_report:
'''

RETURN = r'''
msg:
  description:
    - Per host, the application's outcome (a text), as in
      RV(entra.provisioning.entra_sync_authorize_hosts#module:outcomes).
    - As the summary, the counts when no application failed, else the text naming the applications that failed.
  returned: always
  type: str
  sample: "Application 'expenses' (servicePrincipal 3f1e2d4c-5b6a-4798-8a9b-0c1d2e3f4a5b): provisioning authorized."
job_status_before:
  description: The status code of the application's job before the role started it (C(authorize_start_job)).
  returned: when C(authorize_start_job) is true and the application was authorized
  type: str
  sample: Paused
job_started:
  description: Whether C(start) was sent for the job (in check mode, whether it would be).
  returned: when C(authorize_start_job) is true and the application was authorized
  type: bool
  sample: true
job_status:
  description: The status code of the job afterwards.
  returned: when C(authorize_start_job) is true and the application was authorized
  type: str
  sample: Active
'''

# The work is done by the action plugin of the same name (plugins/action/entra_sync_authorize_report.py); this file
# exists for ansible-doc. Run as a module, it refuses with an explanation rather than doing anything.
from ansible.module_utils.basic import AnsibleModule


def main():
    """Refuse: this module only documents the controller-side action."""
    module = AnsibleModule(argument_spec={}, supports_check_mode=True)
    module.fail_json(msg='entra_sync_authorize_report runs as an action plugin on the controller; it cannot run as '
                         'a module on a host.')


if __name__ == '__main__':
    main()
