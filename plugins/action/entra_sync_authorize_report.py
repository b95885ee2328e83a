# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The authorize role's report: this host's outcome as the task's own ok/changed/failed, or the summary once.

It reads the registered ``authorize_result`` directly instead of through templates: with a thousand hosts, three
templated expressions over a thousand outcomes cost more than the task itself.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections.abc import Mapping

from ansible_collections.entra.provisioning.plugins.module_utils._errors import InvalidInputError
from ansible_collections.entra.provisioning.plugins.module_utils._role_hosts import host_report
from ansible_collections.entra.provisioning.plugins.plugin_utils._controller_action import ControllerAction

RESULT_VARIABLE = 'authorize_result'


class ActionModule(ControllerAction):
    """Report the outcome ``entra_sync_authorize_hosts`` recorded for this host."""

    _supports_check_mode = True

    def run_on_controller(self, task_vars):
        """Return this host's outcome (changed, failed, msg), or the summary when it reports for everyone."""
        if self._task.args:
            raise InvalidInputError('%s takes no options (got %s).'
                                    % (self._task.action, ', '.join(sorted(self._task.args))))
        result = task_vars.get(RESULT_VARIABLE)
        if not isinstance(result, Mapping) or not isinstance(result.get('outcomes'), Mapping):
            raise InvalidInputError('%s needs %s, registered by entra.provisioning.entra_sync_authorize_hosts earlier '
                                    'in the play.' % (self._task.action, RESULT_VARIABLE))
        return host_report(result, task_vars['inventory_hostname'])
