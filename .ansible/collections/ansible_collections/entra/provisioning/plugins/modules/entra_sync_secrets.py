#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: entra_sync_secrets
short_description: Save the provisioning connector credentials of one or many Microsoft Entra applications
version_added: 0.2.0
description:
  - Saves the credentials a provisioning connector uses (for most SCIM applications V(BaseAddress) and
    V(SecretToken)) with Microsoft Graph C(PUT synchronization/secrets), the documented way for connectors that take
    a bearer token or OAuth client credentials. For the OAuth authorization-code grant use
    M(entra.provisioning.entra_sync_acquire_token).
  - The given values are tested first with C(validateCredentials), as the portal does, so a wrong token is never
    stored; then the whole set is saved; then, with O(verify=true), the saved credentials are checked with
    C(validateCredentials) (C(useSavedCredentials)).
  - Secret values cannot be read back from the service, so whether they changed cannot be told. With
    O(update_secrets=on_create) (the default) nothing is sent when the saved credentials are accepted already, so a
    re-run changes nothing; with O(update_secrets=always) the values are tested and saved on every run (rotation),
    and the task always reports a change.
  - C(PUT secrets) replaces the whole saved set, and without C(SyncNotificationSettings) and C(SyncAll) the service
    has been seen to drop the payload. When O(credentials) leaves them out they are added as
    V({"Enabled":false,"DeleteThresholdEnabled":false}) and V(false) (provision only assigned users and groups), and
    RV(defaults_added) says so. Give them in O(credentials) to choose other values.
  - Key sets the service is known to reject are refused before anything is sent, for example a bearer token
    (V(SecretToken)) mixed with OAuth client-credential keys (V(Oauth2ClientId), V(Oauth2ClientSecret),
    V(Oauth2TokenExchangeUri)), which the service answers with HTTP 500.
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
  credentials:
    description:
      - The whole set of credentials to save; keys that are not listed are removed by the service.
      - Required with a single target.
    type: list
    elements: dict
    suboptions:
      key:
        description:
          - A C(synchronizationSecret) name such as V(BaseAddress), V(SecretToken), V(Oauth2ClientId),
            V(SyncNotificationSettings) or V(SyncAll). Matched case-insensitively and sent in Graph's spelling; an
            unknown name fails before anything is sent, with the closest valid names.
        type: str
        required: true
      value:
        description: The value. Never logged or returned.
        type: str
        required: true
  update_secrets:
    description:
      - V(on_create) saves only when the saved credentials are not accepted (none saved yet, or no longer valid).
      - V(always) tests and saves the given values on every run, for example to rotate a token.
    type: str
    choices: [always, on_create]
    default: on_create
  verify:
    description: After saving, check that the service accepts the saved credentials, and fail when it does not.
    type: bool
    default: true
  job_id:
    description: The synchronization job whose credentials are tested. By default the application's only job.
    type: str
  applications:
    description:
      - Many applications in one task. Each item names one target and its O(credentials); O(update_secrets) and
        O(verify) of the task are the default of every item.
      - Mutually exclusive with the single-target options, O(credentials) and O(job_id).
      - Each item is checked on its own (unknown keys, types, choices, a name given twice); a bad item fails alone,
        and its credential values are kept secret whatever their shape.
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
      credentials:
        description: As O(credentials).
        type: list
        elements: dict
        required: true
        suboptions:
          key:
            description: A C(synchronizationSecret) name.
            type: str
            required: true
          value:
            description: The value. Never logged or returned.
            type: str
            required: true
      job_id:
        description: As O(job_id), for this application.
        type: str
      update_secrets:
        description: As O(update_secrets), for this application.
        type: str
        choices: [always, on_create]
      verify:
        description: As O(verify), for this application.
        type: bool
  max_concurrency:
    description: With O(applications), how many C($batch) requests (of up to 20 calls each) are in flight at once.
    type: int
    default: 4
notes:
  - The identity needs C(Synchronization.ReadWrite.All) (or C(Application.ReadWrite.OwnedBy) and ownership of each
    application) and, to find the application, C(Application.Read.All).
  - The application needs a synchronization job (see M(entra.provisioning.entra_sync_job)), because credentials are
    tested against it.
  - Answers to calls that carried credentials are reported by HTTP status, Graph error code and request id only.
  - The beta schema marks C(synchronization/secrets) and C(validateCredentials) deprecated (removal 2027-07-06); use
    the default O(api_version=v1.0).
seealso:
  - module: entra.provisioning.entra_sync_job
  - module: entra.provisioning.entra_sync_acquire_token
  - name: Save secrets (Microsoft Graph)
    description: The C(PUT synchronization/secrets) call.
    link: https://learn.microsoft.com/en-us/graph/api/synchronization-synchronization-secrets
'''

EXAMPLES = r'''
- name: Save the SCIM endpoint and bearer token of an application
  entra.provisioning.entra_sync_secrets:
    tenant_id: "{{ entra_tenant_id }}"
    client_id: "{{ entra_client_id }}"
    client_secret: "{{ vault_entra_client_secret }}"
    display_name: Contoso Expenses
    credentials:
      - key: BaseAddress
        value: https://scim.contoso.example/v2
      - key: SecretToken
        value: "{{ vault_contoso_scim_token }}"

- name: Rotate the token, with notification e-mails on
  entra.provisioning.entra_sync_secrets:
    app_id: 6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
    update_secrets: always
    credentials:
      - key: BaseAddress
        value: https://scim.contoso.example/v2
      - key: SecretToken
        value: "{{ vault_contoso_scim_token_new }}"
      - key: SyncNotificationSettings
        value: '{"Enabled":true,"Recipients":"ops@contoso.example","DeleteThresholdEnabled":true,"DeleteThresholdValue":500}'
      - key: SyncAll
        value: "false"

- name: Save OAuth client credentials of many applications in one task
  entra.provisioning.entra_sync_secrets:
    applications:
      - display_name: Fabrikam HR
        credentials:
          - {key: BaseAddress, value: "https://hr.fabrikam.example/scim"}
          - {key: Oauth2ClientId, value: fabrikam-provisioning}
          - {key: Oauth2ClientSecret, value: "{{ vault_fabrikam_client_secret }}"}
          - {key: Oauth2TokenExchangeUri, value: "https://login.fabrikam.example/token"}
      - display_name: Contoso Travel
        credentials:
          - {key: BaseAddress, value: "https://travel.contoso.example/scim"}
          - {key: SecretToken, value: "{{ vault_travel_token }}"}
'''

RETURN = r'''
saved:
  description: Whether C(PUT secrets) was sent and answered 204.
  returned: with a single target
  type: bool
  sample: true
validated:
  description: Whether the given values were tested with C(validateCredentials) and accepted.
  returned: with a single target
  type: bool
accepted_before:
  description: With O(update_secrets=on_create), whether the saved credentials were accepted before the task.
  returned: with a single target
  type: bool
accepted:
  description: Whether the service accepts the saved credentials after the task; null when not checked.
  returned: with a single target
  type: bool
credential_keys:
  description: The names of the credentials tested and saved (with any added defaults), never their values.
  returned: with a single target
  type: list
  elements: str
  sample: [BaseAddress, SecretToken, SyncNotificationSettings, SyncAll]
defaults_added:
  description: The settings added with safe defaults because O(credentials) left them out.
  returned: with a single target
  type: list
  elements: str
  sample: [SyncNotificationSettings, SyncAll]
job_id:
  description: The synchronization job the credentials were tested against.
  returned: with a single target
  type: str
target:
  description: The object acted on (C(object_type), C(object_id), C(app_id), C(display_name), C(path)).
  returned: with a single target
  type: dict
request_id:
  description: Graph's C(request-id) of the save (or of the failed call).
  returned: with a single target
  type: str
error:
  description: On failure, status, code and request ids; for calls that carried credentials, not the service's text.
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
  sample: {total: 3, saved: 2, unchanged: 1, failed: 0}
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


from ansible_collections.entra.provisioning.plugins.module_utils._errors import EntraError
from ansible_collections.entra.provisioning.plugins.module_utils._module import EntraModule
from ansible_collections.entra.provisioning.plugins.module_utils._sync_secrets import (
    SECRETS_ITEM_SPEC,
    UPDATE_SECRETS_CHOICES,
    SyncSecrets,
    parse_secrets_request,
)
from ansible_collections.entra.provisioning.plugins.module_utils._sync_targets import TARGET_OPTIONS, parse_items

CREDENTIAL_SPEC = dict(
    key=dict(type='str', required=True, no_log=False),
    value=dict(type='str', required=True, no_log=True),
)
SINGLE_ONLY_OPTIONS = TARGET_OPTIONS + ('credentials', 'job_id')


def argument_spec():
    """The module's own options; the shared auth, cloud and connection options are merged in by EntraModule."""
    targets = dict((name, dict(type='str')) for name in TARGET_OPTIONS)
    return dict(
        credentials=dict(type='list', elements='dict', options=CREDENTIAL_SPEC, no_log=False),
        update_secrets=dict(type='str', choices=list(UPDATE_SECRETS_CHOICES), default='on_create'),
        verify=dict(type='bool', default=True),
        job_id=dict(type='str'),
        # Raw: each item is checked by _items, so one malformed item fails alone instead of the whole task; its
        # credential values are registered as secrets from the raw arguments (main) before any check.
        applications=dict(type='list', elements='raw'),
        max_concurrency=dict(type='int', default=4),
        **targets
    )


def parse_requests(module):
    """Validate every application before anything is sent; a bad item fails alone, the others go on."""
    params = module.params
    try:
        if params['applications'] is None:
            return [parse_secrets_request(params)]
    except EntraError as error:
        module.fail_from_error(error)
    clashing = [name for name in SINGLE_ONLY_OPTIONS if params.get(name) is not None]
    if clashing:
        module.fail_json(msg='applications cannot be combined with %s: set those on each item instead.'
                         % ', '.join(clashing))
    if not params['applications']:
        module.fail_json(msg='applications is empty: list at least one application.')
    if params['max_concurrency'] < 1:
        module.fail_json(msg='max_concurrency must be 1 or more, got %d.' % params['max_concurrency'])
    try:
        return parse_items(params['applications'], SECRETS_ITEM_SPEC, parse_secrets_request,
                           defaults=dict(update_secrets=params['update_secrets'], verify=params['verify']))
    except EntraError as error:
        module.fail_from_error(error)


def main():
    """Validate, test, save and verify phase by phase, and report per application."""
    module = EntraModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[TARGET_OPTIONS + ('applications',)],
        required_one_of=[TARGET_OPTIONS + ('applications',)],
        required_by={name: 'credentials' for name in TARGET_OPTIONS},
        supports_check_mode=True,
    )
    requests = parse_requests(module)
    client = module.graph_client(max_concurrency=module.params['max_concurrency'])
    context = dict(cloud=client.settings.cloud.name, api_version=client.settings.api_version)
    try:
        outcomes = SyncSecrets(client, check_mode=module.check_mode,
                               max_concurrency=module.params['max_concurrency']).run(requests)
    except EntraError as error:
        module.fail_from_error(error, **context)
    results = [outcome.to_result() for outcome in outcomes]

    if module.params['applications'] is None:
        result = dict(results[0], **context)
        for name in ('name', 'failed', 'msg'):
            result.pop(name)
        if outcomes[0].failed:
            module.fail_json(msg=outcomes[0].msg, **result)
        result.pop('error')
        module.exit_json(**result)

    summary = dict(total=len(results), saved=sum(1 for item in results if item['changed']),
                   unchanged=sum(1 for item in results if not item['changed'] and not item['failed']),
                   failed=sum(1 for item in results if item['failed']))
    result = dict(context, results=results, summary=summary, changed=bool(summary['saved']))
    failed_names = [item['name'] for item in results if item['failed']]
    if failed_names:
        module.fail_json(msg='%d of %d applications failed: %s. See results for each reason.'
                         % (len(failed_names), len(results), ', '.join(failed_names)), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
