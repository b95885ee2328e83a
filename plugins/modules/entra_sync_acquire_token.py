#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: entra_sync_acquire_token
short_description: Authorize the Microsoft Entra provisioning service for one or many applications
version_added: 0.1.0
description:
  - Makes sure the Microsoft Entra provisioning service is authorized for an application whose provisioning connector
    needs credentials exchanged through Microsoft Graph C(synchronization/acquireAccessToken), typically an OAuth
    authorization code for a gallery application.
  - The desired state is "provisioning is authorized". Before acting, the module asks the service whether the saved
    credentials of the application's synchronization job are accepted (C(validateCredentials) with
    C(useSavedCredentials)). When they are and O(force=false), nothing is sent and the task reports no change, so a
    re-run never sends a single-use authorization code twice.
  - Otherwise it calls C(acquireAccessToken) and, with O(verify=true), checks the result with C(validateCredentials).
  - If the connection is lost after C(acquireAccessToken) was sent, the module does not send it again; it asks
    C(validateCredentials) what happened and reports that.
  - With O(applications), many applications are authorized in one task through Graph C($batch). The reads
    (resolve, find jobs, check) take each application on as its answers come, in full envelopes; the writes
    (acquire, then verify) each run for all of them at once, after every read. Every item is validated before anything
    is sent, each on its own (the module checks O(applications) and O(credentials) itself rather than leaving
    them to ansible-core, which would refuse the whole list for one bad item). An item that is not a mapping, an
    unknown option (with the closest valid name), a missing O(applications[].credentials), a bad value and a
    O(applications[].name) used twice are reported as failed for that item alone, with its index, and nothing is
    sent for it. One application's failure does not stop the others; the task fails at the end when any of them
    failed, and RV(results) says which and why.
  - C(acquireAccessToken) belongs to the application, not to a job, so an application whose provisioning
    (synchronization) job is not created yet can be authorized too. When it has no job and O(job_id) is not set, the
    module reads its synchronization templates and runs the checks through C(validateCredentials) on the jobs
    collection with the template marked default (C(templateId)), then authorizes as for any application. RV(job_id)
    is then null and, with O(applications), the item's C(msg) says it has no job yet. Create the job afterwards, in the
    portal or with the M(entra.provisioning.entra_sync_job) module, to start provisioning.
  - An application without a job fails, with nothing sent, when O(job_id) names a job (it must exist), when none of its
    templates is marked default (create the job from the template you mean first), or when it offers no
    synchronization template at all (it does not support provisioning).
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
    description: Can run in check_mode and return changed status prediction without modifying target.
    details: The read-only steps run for real (target resolved, job or default template found, current
      authorization checked); no write is sent.
  diff_mode:
    support: none
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  action_group:
    support: full
    description: Use C(group/entra.provisioning.entra) in C(module_defaults) to set defaults for this module.
    membership:
      - entra.provisioning.entra
options:
  credentials:
    description:
      - The credentials to send, as the application's provisioning connector expects them, as a list of
        O(credentials.key)/O(credentials.value) pairs or, as a convenience, a mapping of key to value
        (see EXAMPLES), the form the role's C(authorize_credentials) takes too.
      - Required with a single target.
      - Checked by the module itself; a list item that is not a mapping, a field other than C(key) and C(value),
        a missing or empty value, a key given twice and a value that is a list or a mapping are refused before
        anything is sent, naming the position.
    type: raw
    suboptions:
      key:
        description:
          - A C(synchronizationSecret) name such as V(Oauth2AuthorizationCode), V(Oauth2RedirectUri),
            V(BaseAddress) or V(SecretToken). Matched case-insensitively and sent in Graph's spelling; an unknown name
            fails before anything is sent, with the closest valid names.
        type: str
        required: true
      value:
        description:
          - The value, sent as text (Graph's C(synchronizationSecretKeyStringValuePair.value) is a string). A
            boolean is sent as V(true) or V(false), the spelling of Graph's own examples (C(SyncAll)); a number as
            its decimal digits. A list or a mapping is refused; give V(SyncNotificationSettings) as a JSON string,
            for example V({"Enabled":false,"DeleteThresholdEnabled":false}).
          - Never logged or returned.
        type: raw
        required: true
  force:
    description:
      - Call C(acquireAccessToken) even when provisioning is already authorized, for example to rotate a secret
        token.
      - Also the way past a target outage. When the check of the saved credentials fails because the application's
        target erred or did not answer (C(validateCredentials) answers C(CredentialValidationUnavailable) with a
        message naming a 5xx, a timeout, a connection or a failed token exchange), whether they still work is
        unknown, so nothing is sent and the application fails saying why, unless nothing is saved yet (a first
        authorization goes ahead). With O(force=true) the check is skipped and the code is spent.
    type: bool
    default: false
  verify:
    description:
      - After acquiring, confirm with C(validateCredentials) that the service accepts the saved credentials, and
        fail when it does not.
    type: bool
    default: true
  job_id:
    description:
      - The synchronization job used for the checks. By default the application's only job; when it has several,
        this is required. An application without a job is checked with its default template instead (see the
        description); a O(job_id) it does not have always fails.
    type: str
  applications:
    description:
      - Many applications in one task. Each item names one target and its credentials; the authentication, cloud
        and connection options of the task apply to all of them.
      - Mutually exclusive with the single-target options, O(credentials) and O(job_id) (set those per item).
        O(force) and O(verify) of the task are the default of every item.
      - Each item is checked on its own (see the description); a bad item fails alone.
    type: list
    elements: raw
    suboptions:
      name:
        description:
          - A label for this application in RV(results) and messages. Defaults to the display name.
          - Unique in the list, so results can be told apart; a repeated name fails that item.
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
        description: Display name of the service principal, matched as O(display_name).
        type: str
      credentials:
        description: The credentials to send, as in O(credentials) (a list of C({key, value}) or a mapping).
        type: raw
        required: true
        suboptions:
          key:
            description: A C(synchronizationSecret) name.
            type: str
            required: true
          value:
            description: The value, converted as in O(credentials.value). Never logged or returned.
            type: raw
            required: true
      job_id:
        description: As O(job_id), for this application.
        type: str
      force:
        description: As O(force), for this application. Defaults to the task's O(force).
        type: bool
      verify:
        description: As O(verify), for this application. Defaults to the task's O(verify).
        type: bool
  max_concurrency:
    description:
      - With O(applications), how many C($batch) requests (of up to 20 calls each) are in flight at once.
    type: int
    default: 4
notes:
  - The identity needs the Graph application permissions C(Synchronization.ReadWrite.All) and
    C(Application.Read.All) (reading the service principal or application it acts on needs the latter), or
    C(Application.ReadWrite.OwnedBy) alone and ownership of each application; admin consent in both cases. A 403
    answer repeats what the failed call needs.
  - The action is in Graph v1.0 and beta; the default O(api_version=v1.0) is recommended because the beta schema of
    some US government clouds marks it deprecated.
seealso:
  - module: entra.provisioning.entra_sync_job
    description: Create the provisioning job an application needs before it can be authorized.
  - name: acquireAccessToken (Microsoft Graph)
    description: The Graph action this module calls.
    link: https://learn.microsoft.com/en-us/graph/api/synchronization-synchronization-acquireaccesstoken
  - name: validateCredentials (Microsoft Graph)
    description: The Graph action used to check the saved credentials.
    link: https://learn.microsoft.com/en-us/graph/api/synchronization-synchronizationjob-validatecredentials
'''

EXAMPLES = r'''
- name: Authorize provisioning for a gallery OAuth app, by display name, with a code kept in a vault
  entra.provisioning.entra_sync_acquire_token:
    tenant_id: "{{ entra_tenant_id }}"
    client_id: "{{ entra_client_id }}"
    client_secret: "{{ vault_entra_client_secret }}"
    display_name: Contoso Expenses
    credentials:
      - key: Oauth2AuthorizationCode
        value: "{{ vault_contoso_authorization_code }}"
      - key: Oauth2RedirectUri
        value: https://portal.azure.com/TokenAuthorize

- name: Rotate the secret token of an application even though it is authorized
  entra.provisioning.entra_sync_acquire_token:
    service_principal_id: 3f1e2d4c-5b6a-4798-8a9b-0c1d2e3f4a5b
    credentials:
      - key: BaseAddress
        value: https://scim.example.com/v2
      - key: SecretToken
        value: "{{ vault_scim_token }}"
    force: true

- name: Authorize an application in a US Gov L5 (DoD) tenant with a certificate
  entra.provisioning.entra_sync_acquire_token:
    cloud: usgov_dod
    tenant_id: "{{ dod_tenant_id }}"
    client_id: "{{ dod_client_id }}"
    client_certificate_path: /etc/pki/entra/automation.pem
    app_id: 6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
    credentials:
      - key: Oauth2AuthorizationCode
        value: "{{ vault_dod_app_code }}"

- name: Share the connection settings of a group of tasks with module_defaults
  module_defaults:
    group/entra.provisioning.entra:
      tenant_id: "{{ entra_tenant_id }}"
      client_id: "{{ entra_client_id }}"
      client_secret: "{{ vault_entra_client_secret }}"
      cloud: global
  block:
    - name: Authorize the HR application
      entra.provisioning.entra_sync_acquire_token:
        display_name: Fabrikam HR
        credentials:
          - key: SecretToken
            value: "{{ vault_fabrikam_token }}"

    - name: Authorize many applications in one task
      entra.provisioning.entra_sync_acquire_token:
        applications:
          - name: expenses
            app_id: 6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
            credentials:
              - key: SecretToken
                value: "{{ vault_expenses_token }}"
          - name: travel
            display_name: Contoso Travel
            # a mapping of key to value works too
            credentials:
              BaseAddress: https://travel.example.com/scim
              SecretToken: "{{ vault_travel_token }}"

- name: See what would change, without sending any write
  entra.provisioning.entra_sync_acquire_token:
    display_name: Contoso Expenses
    credentials:
      - key: Oauth2AuthorizationCode
        value: "{{ vault_contoso_authorization_code }}"
  check_mode: true
'''

RETURN = r'''
authorized:
  description:
    - True when the service accepts the saved credentials after the run, false when it does not, null when it
      was not checked (O(verify=false) after an acquire, or the run failed before the check).
  returned: with a single target
  type: bool
  sample: true
acquired:
  description: Whether C(acquireAccessToken) was called (and got through).
  returned: with a single target
  type: bool
  sample: true
target:
  description: The object the module acted on.
  returned: with a single target, once resolved
  type: dict
  contains:
    object_type:
      description: V(servicePrincipal) or V(application).
      type: str
      sample: servicePrincipal
    object_id:
      description: Object ID.
      type: str
      sample: 3f1e2d4c-5b6a-4798-8a9b-0c1d2e3f4a5b
    app_id:
      description: Application (client) ID.
      type: str
      sample: 6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
    display_name:
      description: Display name.
      type: str
      sample: Contoso Expenses
    path:
      description: The Graph path used, relative to the version root.
      type: str
      sample: /servicePrincipals/3f1e2d4c-5b6a-4798-8a9b-0c1d2e3f4a5b
job_id:
  description: The synchronization job used for the checks (null when the application has no job yet, so its
    default template was used, or when the run failed before one was found).
  returned: with a single target
  type: str
  sample: scim.4a1b2c3d4e5f40718293a4b5c6d7e8f9.3f1e2d4c-5b6a-4798-8a9b-0c1d2e3f4a5b
credential_keys:
  description: The names of the credentials sent or checked, never their values.
  returned: with a single target
  type: list
  elements: str
  sample: [Oauth2AuthorizationCode, Oauth2RedirectUri]
request_id:
  description:
    - Graph's C(request-id) of the acquire call (or of the failed call), for Microsoft support.
    - Null when nothing was acquired. In RV(results), also null for an acquire that succeeded inside C($batch),
      because Graph gives a batch item no request id of its own (a failed item carries the id of the C($batch)
      call).
  returned: with a single target
  type: str
  sample: 7f8e9d0c-1b2a-4394-8576-a1b2c3d4e5f6
error:
  description: On failure, the fields of the Graph or sign-in error as plain strings.
  returned: when a Graph call or the sign-in failed (a failure found by the module itself, such as several jobs, has
    only the message)
  type: dict
  contains:
    message:
      description: What failed and why.
      type: str
    status:
      description: HTTP status.
      type: int
    code:
      description: Graph's C(error.code), or the AADSTS error of the sign-in service.
      type: str
    request_id:
      description: Graph's C(request-id).
      type: str
    client_request_id:
      description: The C(client-request-id) the module sent.
      type: str
    date:
      description: The time Graph reported.
      type: str
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
results:
  description:
    - With O(applications), one entry per item in input order, each with the single-target fields (RV(authorized),
      RV(acquired), RV(target), RV(job_id), RV(credential_keys), RV(request_id), RV(error)) plus C(name),
      C(changed), C(failed) and C(msg).
  returned: with O(applications)
  type: list
  elements: dict
  sample:
    - name: expenses
      changed: true
      failed: false
      msg: "Application 'expenses' (servicePrincipal 3f1e2d4c-5b6a-4798-8a9b-0c1d2e3f4a5b): provisioning authorized."
      authorized: true
      acquired: true
      job_id: scim.4a1b2c3d4e5f40718293a4b5c6d7e8f9.3f1e2d4c-5b6a-4798-8a9b-0c1d2e3f4a5b
      credential_keys: [SecretToken]
summary:
  description: With O(applications), counts over all items.
  returned: with O(applications)
  type: dict
  sample: {total: 40, acquired: 38, unchanged: 1, authorized: 39, failed: 1}
'''

from ansible_collections.entra.provisioning.plugins.module_utils._module import bulk_argument_spec, run_bulk
from ansible_collections.entra.provisioning.plugins.module_utils._sync.authorization import SyncAuthorizer


def argument_spec():
    """The module's own options; the targets, applications and max_concurrency come from bulk_argument_spec, the
    shared auth, cloud and connection options from EntraModule."""
    return bulk_argument_spec(
        # Raw and not no_log as a whole: each shape is checked in Python (a bad item fails alone), and no_log would
        # mask the key names everywhere; the values are registered as secrets.
        credentials=dict(type='raw', no_log=False),
        force=dict(type='bool', default=False),
        verify=dict(type='bool', default=True),
        job_id=dict(type='str'),
    )


def main():
    """Validate, authorize phase by phase, and report per application."""
    run_bulk(argument_spec(), SyncAuthorizer)


if __name__ == '__main__':
    main()
