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

import contextlib
import multiprocessing
import os
import stat

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.entra.provisioning.plugins.module_utils._errors import EntraError
from ansible_collections.entra.provisioning.plugins.module_utils._redact import SecretRegistry, redact


@contextlib.contextmanager
def connection_plugins_listed_once():
    """Inside the block, ansible-core lists its connection plugin files once, however many hosts' variables are read.

    ``VariableManager.get_vars`` cleans each host's facts of the names of every connection plugin, which it lists
    with a glob of each plugin folder on every call: four fifths of reading one host's variables, about a second for a
    thousand hosts. The block reads variables only; it loads no plugin and adds no plugin folder, so the list cannot
    change inside it. Only the worker process running the action keeps the list, and only until the block ends.
    """
    from ansible.plugins.loader import connection_loader
    listed = []
    list_all = connection_loader.all
    # set on the instance before (a block inside a block): put back, not removed
    was_set = 'all' in vars(connection_loader)

    def all_once(*args, **kwargs):
        if args or kwargs != {'path_only': True}:
            return list_all(*args, **kwargs)
        if not listed:
            listed.append(list(list_all(path_only=True)))
        return iter(listed[0])

    connection_loader.all = all_once
    try:
        yield
    finally:
        if was_set:
            connection_loader.all = list_all
        else:
            del connection_loader.all


class ControllerOutput(object):
    """What an action tells the user: lines on standard output as it goes, warnings and deprecations with its result.

    A line an action displays in its worker process is written by ansible-core's results thread in the main process;
    when that output is a pipe whose reader has gone (``ansible-playbook ... | head``), the write fails and the
    results thread stops, so the play waits forever for its results. So when the main process writes into a pipe,
    a line goes into that pipe directly (and to ansible's log through the results thread, which then writes
    nothing), and once nobody reads it, nowhere. Warnings and deprecations travel in the task's result, where the
    callback shows them and a failed write is harmless.
    """

    def __init__(self, display=None):
        self._display = display or Display()
        self.warnings = []
        self.deprecations = []
        self._pipe = None
        self._looked = False
        self._pipe_gone = False

    def display(self, text):
        """Show ``text`` on standard output now."""
        pipe = self._main_stdout_pipe()
        if pipe is None:
            self._display.display(text)
            return
        self._display.display(text, log_only=True)
        if self._pipe_gone:
            return
        try:
            os.write(pipe, (text + '\n').encode('utf-8', 'replace'))
        except OSError:
            # The reader has gone (EPIPE): nothing more is shown, the play goes on.
            self._pipe_gone = True

    def warning(self, text):
        """Have the task's result show ``text`` as a warning."""
        self.warnings.append(text)

    def deprecated(self, text, date=None, collection_name=None):
        """Have the task's result show ``text`` as a deprecation (the controller shows an identical one once)."""
        self.deprecations.append(dict(msg=text, date=date, collection_name=collection_name))

    def result_fields(self):
        """The ``warnings`` and ``deprecations`` of the result, those there are."""
        fields = dict(warnings=list(self.warnings), deprecations=list(self.deprecations))
        return dict((name, value) for name, value in fields.items() if value)

    def close(self):
        """Let go of the main process's standard output."""
        if self._pipe is not None:
            os.close(self._pipe)
            self._pipe = None

    def _main_stdout_pipe(self):
        """A descriptor of the main process's standard output when it is a pipe (a worker's own is /dev/null),
        else None: a terminal, a file, AWX's pseudo-terminal or a system without /proc."""
        if not self._looked:
            self._looked = True
            parent = multiprocessing.parent_process()
            if parent is None:
                # Not a worker (a unit test, a direct call): the display writes itself.
                return None
            path = '/proc/%d/fd/1' % parent.pid
            try:
                if stat.S_ISFIFO(os.stat(path).st_mode):
                    self._pipe = os.open(path, os.O_WRONLY)
            except OSError:
                self._pipe = None
        return self._pipe


class ControllerAction(ActionBase):
    """Subclasses implement ``run_on_controller(task_vars)`` and return a result dict; raising is always safe."""

    TRANSFERS_FILES = False
    # Applications are not machines: nothing here ever opens the host's connection.
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        """Run the subclass's work and turn any exception into a failed result."""
        result = super(ControllerAction, self).run(tmp, task_vars)
        # What the run shows as it goes, and the warnings its result carries.
        self.output = ControllerOutput()
        # One task is one run: the secrets it meets are masked in everything it reports and forgotten after it.
        try:
            with SecretRegistry().in_use():
                self._run_and_report(result, task_vars or {})
                result.update(self.output.result_fields())
        finally:
            self.output.close()
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
