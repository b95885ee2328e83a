# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""A base for actions that do their work on the controller with the collection's module_utils.

Nothing is sent to a host: the work runs in the worker process, so there is no module payload to build and no
result to scrub afterwards. Every failure becomes a task failure with a plain message; no traceback reaches the
user, and every text passes the collection's redaction first.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.entra.provisioning.plugins.module_utils._errors import EntraError
from ansible_collections.entra.provisioning.plugins.module_utils._redact import SecretRegistry, redact


class ControllerAction(ActionBase):
    """Subclasses implement ``run_on_controller(task_vars)`` and return a result dict; raising is always safe."""

    TRANSFERS_FILES = False
    # Applications are not machines: nothing here ever opens the host's connection.
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        """Run the subclass's work and turn any exception into a failed result."""
        result = super(ControllerAction, self).run(tmp, task_vars)
        # One task is one run: the secrets it meets are masked in everything it reports and forgotten after it.
        with SecretRegistry().in_use():
            self._run_and_report(result, task_vars or {})
        return result

    def _run_and_report(self, result, task_vars):
        try:
            result.update(self.run_on_controller(task_vars))
        except EntraError as error:
            result.update(failed=True, msg=error.message, error=error.to_dict())
        except AnsibleError as error:
            result.update(failed=True, msg=redact('%s: %s' % (self._task.action, error.message)))
        except Exception as error:  # pylint: disable=broad-exception-caught
            # A bug of ours must still read as a failure, not as a traceback with values in its frames.
            result.update(failed=True, msg=redact('%s stopped on an unexpected %s: %s. Please report this.'
                                                  % (self._task.action, type(error).__name__, error)))

    def run_on_controller(self, task_vars):
        """Do the work and return the result fields; subclasses implement it."""
        raise NotImplementedError()
