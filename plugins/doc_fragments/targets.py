# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    """The four ways to name one application, shared by every module that acts on applications
    (module_utils/_sync/targets.py TARGET_OPTIONS)."""

    DOCUMENTATION = r'''
options:
  service_principal_id:
    description:
      - Object ID of the application's service principal (enterprise application). Uses the
        C(/servicePrincipals/{id}) path.
      - Exactly one of O(service_principal_id), O(application_id), O(app_id), O(display_name) or O(applications)
        is required.
    type: str
  application_id:
    description:
      - Object ID of the application (app registration). Uses the C(/applications/{id}) path.
    type: str
  app_id:
    description:
      - Application (client) ID, looked up with C(/servicePrincipals(appId='...')).
    type: str
  display_name:
    description:
      - Display name of the service principal, matched as Graph's C($filter=displayName eq '...') matches it, the
        whole name, ignoring case (V(contoso expenses) finds V(Contoso Expenses)), nothing else. No match or
        several matches fail with what was found.
      - At most 256 characters, Graph's limit for a display name; a longer one is refused before anything is sent.
    type: str
'''
