# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    """The attributes every entra.provisioning module shares; pick the check mode fragment that fits."""

    DOCUMENTATION = r'''
options: {}
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
'''

    ACTION_GROUP = r'''
options: {}
attributes:
  action_group:
    description: Use C(group/entra.provisioning.entra) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - entra.provisioning.entra
'''

    # For modules that write: the reads run for real in check mode, no write is sent.
    CHECK_MODE_WRITES_NOTHING = r'''
options: {}
attributes:
  check_mode:
    support: full
    details:
      - The reads run for real (target resolved, jobs and credentials checked); no write is sent, and the result
        says what would be sent.
'''

    # Should be used together with the standard fragment.
    CHECK_MODE_READ_ONLY = r'''
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This module is read only and operates the same regardless of check mode.
'''
