# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ControllerOutput: lines go straight into the main process's pipe while someone reads it, and nowhere after."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import subprocess
import sys
from unittest import mock

import pytest

from ansible_collections.entra.provisioning.plugins.plugin_utils import _controller_action
from ansible_collections.entra.provisioning.plugins.plugin_utils._controller_action import ControllerOutput


@pytest.fixture
def main_process_on_a_pipe():
    """A process standing in for ansible-playbook's main process, its standard output a pipe we hold the reader
    of; the output under test believes it is that process's worker."""
    reader, writer = os.pipe()
    main = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'], stdout=writer)
    os.close(writer)
    with mock.patch.object(_controller_action.multiprocessing, 'parent_process', return_value=mock.Mock(pid=main.pid)):
        yield reader
    main.kill()
    main.wait()


def test_a_line_goes_into_the_main_processs_pipe_and_to_the_log_only_through_the_display(main_process_on_a_pipe):
    display = mock.Mock()
    output = ControllerOutput(display)
    output.display('authorize: phase 4 of 5')
    output.close()
    assert os.read(main_process_on_a_pipe, 100) == b'authorize: phase 4 of 5\n'
    display.display.assert_called_once_with('authorize: phase 4 of 5', log_only=True)


def test_once_nobody_reads_the_pipe_lines_are_dropped_and_nothing_fails(main_process_on_a_pipe):
    os.close(main_process_on_a_pipe)
    display = mock.Mock()
    output = ControllerOutput(display)
    output.display('first')
    output.display('second')
    output.close()
    assert [call.kwargs for call in display.display.call_args_list] == [{'log_only': True}] * 2


def test_outside_a_worker_the_display_writes_and_warnings_travel_in_the_result():
    display = mock.Mock()
    output = ControllerOutput(display)
    output.display('table')
    output.warning('careful')
    output.deprecated('going', date='2027-07-06', collection_name='entra.provisioning')
    display.display.assert_called_once_with('table')
    assert output.result_fields() == {'warnings': ['careful'], 'deprecations': [
        {'msg': 'going', 'date': '2027-07-06', 'collection_name': 'entra.provisioning'}]}
    assert ControllerOutput(display).result_fields() == {}
