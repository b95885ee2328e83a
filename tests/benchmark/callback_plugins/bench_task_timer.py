# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark instrument: write when each play and task started to the JSON file named by BENCH_TASK_TIMES."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: bench_task_timer
type: aggregate
short_description: Record each task's wall time for the benchmark
description:
  - Writes when each play and task started (system-wide monotonic clock) to the file named by the BENCH_TASK_TIMES
    environment variable when the playbook ends. Used only by tests/benchmark; it records names and times, never
    results or variables.
requirements:
  - enabled in callbacks_enabled
'''

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    """Note when each play and task starts and when the run ends, on the system-wide monotonic clock.

    The benchmark shares that clock, so it can also tell how long start-up took (from launching ansible-playbook to
    the first play) and how long each task ran (from its start to the next task's start or the end).
    """

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'bench_task_timer'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self._marks = []

    def v2_playbook_on_play_start(self, play):
        self._marks.append({'event': 'play', 'name': play.get_name(), 'at': time.monotonic()})

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._marks.append({'event': 'task', 'name': task.get_name(), 'at': time.monotonic()})

    def v2_playbook_on_handler_task_start(self, task):
        self._marks.append({'event': 'task', 'name': task.get_name(), 'at': time.monotonic()})

    def v2_playbook_on_stats(self, stats):
        self._marks.append({'event': 'end', 'name': 'PLAY RECAP', 'at': time.monotonic()})
        path = os.environ.get('BENCH_TASK_TIMES')
        if path:
            with open(path, 'w') as handle:
                json.dump(self._marks, handle)
