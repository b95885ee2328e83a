#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: entra_sync_credentials_info
short_description: Ask whether the provisioning credentials of Microsoft Entra applications work, true or false
version_added: 0.1.0
description:
  - Asks Microsoft Graph's C(validateCredentials) whether the application's target accepts its saved credentials,
    or the given O(credentials), and answers RV(valid) V(true) or V(false). Credentials that do not work are an
    answer, not a failure; nothing is saved and no authorization code is redeemed.
  - Works before a job exists (with O(template_id), through C(POST .../synchronization/jobs/validateCredentials))
    and after (through the job's own C(validateCredentials)).
  - RV(valid=false) with RV(reason=CredentialValidationUnavailable) may also mean the target could not be reached,
    since the service answers an outage and rejected credentials alike.
  - The task fails only when the question could not be asked (the application or its job not found, no
    permission, Graph unavailable). To save credentials, use M(entra.provisioning.entra_sync_secrets).
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
  credentials:
    description:
      - The credentials to test, a list of C({key, value}) (synchronizationSecret names such as V(BaseAddress) and
        V(SecretToken)) or a mapping of key to value. Every value is treated as a secret.
      - Without it, the credentials saved for the application are tested.
    type: raw
  job_id:
    description: The job to test through. By default the job of O(template_id), or the application's only job.
    type: str
  template_id:
    description:
      - The synchronization template (for example V(scim)). When the application has no job of it, the credentials
        are tested for the template, before any job exists.
    type: str
  applications:
    description:
      - Many applications in one task; each item names one target and sets its own O(credentials), O(job_id) and
        O(template_id). A bad item fails alone and nothing is sent for it.
    type: list
    elements: raw
  max_concurrency:
    description: With O(applications), how many C($batch) requests (of up to 20 calls each) are in flight at once.
    type: int
    default: 4
notes:
  - The identity needs C(Synchronization.ReadWrite.All) (validateCredentials is an action) and, to find the
    application, C(Application.Read.All).
seealso:
  - module: entra.provisioning.entra_sync_secrets
'''

EXAMPLES = r'''
- name: Do the saved credentials still work?
  entra.provisioning.entra_sync_credentials_info:
    display_name: Contoso Expenses
  register: expenses_credentials

- name: Alert when they do not
  ansible.builtin.debug:
    msg: "Contoso Expenses provisioning credentials rejected: {{ expenses_credentials.reason }}"
  when: not expenses_credentials.valid

- name: Test a new token before any job exists
  entra.provisioning.entra_sync_credentials_info:
    display_name: Contoso Travel
    template_id: scim
    credentials:
      BaseAddress: https://travel.contoso.example/scim
      SecretToken: "{{ vault_travel_token }}"
'''

RETURN = r'''
valid:
  description: True when the target accepts the credentials, false when it does not (or could not be reached).
  returned: with a single target
  type: bool
reason:
  description: When RV(valid) is false, Graph's error code (for example V(CredentialValidationUnavailable)).
  returned: with a single target
  type: str
checked:
  description: V(saved) or V(given).
  returned: with a single target
  type: str
job_id:
  description: The job tested through; null when tested for O(template_id) before a job exists.
  returned: with a single target
  type: str
target:
  description: The object checked (C(object_type), C(object_id), C(app_id), C(display_name), C(path)).
  returned: with a single target
  type: dict
results:
  description: With O(applications), one entry per item, with C(name), C(failed), C(msg), C(valid), C(reason),
    C(checked), C(target), C(job_id) and C(error).
  returned: with O(applications)
  type: list
  elements: dict
summary:
  description: With O(applications), C(total), C(failed), C(valid) and C(invalid).
  returned: with O(applications)
  type: dict
'''

from ansible_collections.entra.provisioning.plugins.module_utils._module import bulk_argument_spec, run_bulk
from ansible_collections.entra.provisioning.plugins.module_utils._sync.credential_check import SyncCredentialCheck


def main():
    """Validate, ask validateCredentials for each application, and answer true or false."""
    # credentials is raw and checked in Python (list or mapping); its values are registered as secrets there and by
    # EntraModule, which masks everything under an option named credentials.
    run_bulk(bulk_argument_spec(credentials=dict(type='raw', no_log=False), job_id=dict(type='str'),
                                template_id=dict(type='str')), SyncCredentialCheck)


if __name__ == '__main__':
    main()
