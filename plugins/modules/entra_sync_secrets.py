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
  - C(PUT secrets) replaces the whole saved set, so the module never sends only what O(credentials) gives. It reads
    the saved set first (C(GET synchronization/secrets)) and writes the merge. Keys O(credentials) does not name keep
    their saved value; C(SyncNotificationSettings) and C(SyncAll) as saved (for example an accidental-deletion
    threshold and notification e-mail set in the portal) are kept, never replaced by defaults. Only when neither
    O(credentials) nor the saved set has one is it added, as V({"Enabled":false,"DeleteThresholdEnabled":false}) or
    V(false) (provision only assigned users and groups; without them the service has been seen to drop the payload),
    and RV(defaults_added) says so.
  - The service shows secret values (V(SecretToken), V(Oauth2ClientSecret), ...) as V(*); other values
    (V(BaseAddress), V(SyncAll), V(SyncNotificationSettings)) as saved. A masked value cannot be sent back; the
    service does not document V(*) as "keep the saved value", so the module never sends it (and refuses it in
    O(credentials)). When the saved set holds a masked secret that O(credentials) does not give, the application
    fails before anything is sent; give its value to keep it, or name it in O(remove_keys) to delete it on purpose.
  - With O(update_secrets=on_create) (the default) nothing is sent when the saved credentials are accepted already
    and the merge changes nothing the service shows (a value that is not masked, a key added or removed, a
    C(SyncNotificationSettings) field), so a re-run changes nothing; a given secret whose saved value is masked
    cannot be compared and alone never causes a write. With O(update_secrets=always) the merged set is tested and
    saved on every run (rotation), and the task always reports a change.
  - With C(--diff) the keys added, removed and changed and the C(SyncNotificationSettings) fields changed are shown
    by name, never a value.
  - When the saved credentials cannot be checked because the application's target erred or did not answer
    (C(CredentialValidationUnavailable) naming a 5xx, a timeout or a failed token exchange), the application fails
    with that reason and nothing is sent, unless nothing is saved yet.
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
      - The credentials to save, merged into the saved set. Keys not listed keep their saved value (see the
        description for secrets the service masks); use O(remove_keys) to delete a saved key.
      - A list of O(credentials.key)/O(credentials.value) pairs or, as a convenience, a mapping of key to value, as
        M(entra.provisioning.entra_sync_acquire_token) and the role take them.
      - Required with a single target.
      - Checked by the module itself; a list item that is not a mapping, a field other than C(key) and C(value),
        a missing or empty value, a key given twice and a value that is a list or a mapping are refused before
        anything is sent, naming the position.
    type: raw
    suboptions:
      key:
        description:
          - A C(synchronizationSecret) name such as V(BaseAddress), V(SecretToken), V(Oauth2ClientId),
            V(SyncNotificationSettings) or V(SyncAll). Matched case-insensitively and sent in Graph's spelling; an
            unknown name fails before anything is sent, with the closest valid names.
        type: str
        required: true
      value:
        description:
          - The value, sent as text. A boolean is sent as V(true) or V(false), a number as its decimal digits. A list
            or a mapping is refused; give V(SyncNotificationSettings) as a JSON string. Never logged or returned.
        type: raw
        required: true
  remove_keys:
    description:
      - Saved keys to delete on purpose, by name (for example V(Oauth2ClientSecret) when moving a connector to a
        bearer token). A name that is not saved is ignored. V(SyncNotificationSettings) and V(SyncAll) cannot be
        removed (the service drops a set without them), nor a key O(credentials) gives.
    type: list
    elements: str
  accidental_deletion_threshold:
    description:
      - Accidental-deletion prevention, merged into the saved C(SyncNotificationSettings) (C(DeleteThresholdEnabled)
        and C(DeleteThresholdValue)). A positive number turns it on with that threshold, V(0) turns it off (the saved
        threshold value is kept). Compared with what is saved, so a re-run is not a change.
      - Unset leaves the saved setting as it is.
    type: int
  notification_email:
    description:
      - The address that gets the provisioning failure e-mails, merged into the saved C(SyncNotificationSettings)
        (C(Recipients), and C(Enabled) true); an empty string stops the e-mails (C(Enabled) false, C(Recipients)
        removed). Compared with what is saved, so a re-run is not a change.
      - Unset leaves the saved setting as it is.
    type: str
  update_secrets:
    description:
      - V(on_create) saves only when the saved credentials are not accepted (none saved yet, or no longer valid), or
        when the merge changes something the service shows (a key added or removed, a value that is not masked, a
        setting).
      - V(always) tests and saves the given values on every run, for example to rotate a token.
    type: str
    choices: [always, on_create]
    default: on_create
  verify:
    description: After saving, check that the service accepts the saved credentials, and fail when it does not.
    type: bool
    default: true
  job_id:
    description: The synchronization job whose credentials are tested. By default the application's only job, or,
      when it has none, its default template through the jobs collection.
    type: str
  applications:
    description:
      - Many applications in one task. Each item names one target and its O(credentials); O(update_secrets) and
        O(verify) of the task are the default of every item.
      - Mutually exclusive with the single-target options, O(credentials), O(job_id), O(remove_keys),
        O(accidental_deletion_threshold) and O(notification_email).
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
        description: As O(credentials) (a list of C({key, value}) or a mapping).
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
      remove_keys:
        description: As O(remove_keys), for this application.
        type: list
        elements: str
      accidental_deletion_threshold:
        description: As O(accidental_deletion_threshold), for this application.
        type: int
      notification_email:
        description: As O(notification_email), for this application.
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
  - An application without a synchronization job is tested through C(validateCredentials) on the jobs collection
    with its default template (the call Graph offers for credentials before a job exists), so its credentials can be
    saved before the job is created with M(entra.provisioning.entra_sync_job); with O(job_id), or when no template
    is marked default, it needs the job.
  - Reading the saved set needs C(Synchronization.Read.All) at least, which C(Synchronization.ReadWrite.All)
    includes.
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

- name: Keep the portal's settings, set a deletion threshold of 50 and send failure e-mails to ops
  entra.provisioning.entra_sync_secrets:
    display_name: Contoso Expenses
    credentials:
      - key: BaseAddress
        value: https://scim.contoso.example/v2
      - key: SecretToken
        value: "{{ vault_contoso_scim_token }}"
    accidental_deletion_threshold: 50
    notification_email: ops@contoso.example

- name: Move a connector from OAuth client credentials to a bearer token, deleting the old keys on purpose
  entra.provisioning.entra_sync_secrets:
    display_name: Contoso Expenses
    credentials:
      - key: BaseAddress
        value: https://scim.contoso.example/v2
      - key: SecretToken
        value: "{{ vault_contoso_scim_token }}"
    remove_keys: [Oauth2ClientId, Oauth2ClientSecret, Oauth2TokenExchangeUri]

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
  description: The names of the merged set tested and saved (or that would be), never their values.
  returned: with a single target
  type: list
  elements: str
  sample: [BaseAddress, SecretToken, SyncNotificationSettings, SyncAll]
defaults_added:
  description: The settings added with safe defaults because neither O(credentials) nor the saved set had them.
  returned: with a single target
  type: list
  elements: str
  sample: [SyncNotificationSettings, SyncAll]
saved_keys:
  description: The names of the keys the service holds after the task (as read before it when nothing was
    written), never their values.
  returned: with a single target, once the saved set was read
  type: list
  elements: str
  sample: [BaseAddress, SecretToken, SyncNotificationSettings, SyncAll]
changes:
  description: What the merge changes, by name only. C(added) and C(removed) keys, C(changed) keys whose saved
    value can be read, C(settings_changed) fields of C(SyncNotificationSettings), and C(not_compared) secrets sent
    again whose saved value the service masks.
  returned: with a single target, once the saved set was read
  type: dict
  sample: {added: [], removed: [], changed: [], settings_changed: [DeleteThresholdValue], not_compared: [SecretToken]}
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

from ansible_collections.entra.provisioning.plugins.module_utils._module import (
    ArgumentSpec,
    bulk_argument_spec,
    run_bulk,
)
from ansible_collections.entra.provisioning.plugins.module_utils._sync.secrets import (
    UPDATE_SECRETS_CHOICES,
    SyncSecrets,
)
from ansible_collections.entra.provisioning.plugins.module_utils._sync.targets import TARGET_OPTIONS


def argument_spec():
    """The module's own options; the targets, applications and max_concurrency come from bulk_argument_spec, the
    shared auth, cloud and connection options from EntraModule."""
    return bulk_argument_spec(
        # Raw and not no_log as a whole, as in entra_sync_acquire_token: the list and the mapping form are both
        # checked in Python, and the values are registered as secrets.
        credentials=dict(type='raw', no_log=False),
        update_secrets=dict(type='str', choices=list(UPDATE_SECRETS_CHOICES), default='on_create'),
        verify=dict(type='bool', default=True),
        job_id=dict(type='str'),
        remove_keys=dict(type='list', elements='str', no_log=False),
        accidental_deletion_threshold=dict(type='int'),
        notification_email=dict(type='str'),
    ).merge(ArgumentSpec(required_by=dict((name, 'credentials') for name in TARGET_OPTIONS)))


def main():
    """Validate, test, save and verify phase by phase, and report per application."""
    run_bulk(argument_spec(), SyncSecrets)


if __name__ == '__main__':
    main()
