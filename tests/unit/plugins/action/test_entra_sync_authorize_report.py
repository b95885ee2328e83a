# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The authorize role's per-host report action: this host's outcome from the registered result, no templating."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from unittest import mock

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.entra.provisioning.plugins.action import entra_sync_authorize_report


def make_report_action(args=None):
    task = mock.Mock(action='entra.provisioning.entra_sync_authorize_report', args=dict(args or {}), async_val=0,
                     check_mode=False)
    connection = mock.Mock()
    connection._shell.tmpdir = '/nowhere'
    loader = DataLoader()
    return entra_sync_authorize_report.ActionModule(task, connection, mock.Mock(), loader, Templar(loader=loader))


def test_the_report_action_reads_the_registered_result_for_its_host():
    action = make_report_action()
    result = {'report': 'per_host', 'outcomes': {'app': {'changed': True, 'failed': False, 'msg': 'sent'}}}
    report = action.run(task_vars={'authorize_result': result, 'inventory_hostname': 'app'})
    assert (report['changed'], report.get('failed'), report['msg']) == (True, False, 'sent')


def test_the_report_action_without_a_registered_result_fails_saying_why():
    action = make_report_action()
    report = action.run(task_vars={'inventory_hostname': 'app'})
    assert report['failed'] and 'needs authorize_result' in report['msg']


def test_the_report_action_is_the_summary_for_the_summary_report():
    registered = {'mode': 'list', 'report': 'summary', 'outcomes': {}, 'summary_lines': ['total 0'],
                  'summary': {'total': 0, 'changed': 0, 'ok': 0, 'failed': 0}}
    report = make_report_action().run(task_vars={'authorize_result': registered, 'inventory_hostname': 'app'})
    assert report['msg'] == '0 application(s): 0 changed, 0 ok, none failed.' and report['changed'] is False
    assert not report.get('failed')
    registered['failed_msg'] = '1 of 1 applications failed: app.'
    registered['summary']['failed'] = 1
    report = make_report_action().run(task_vars={'authorize_result': registered, 'inventory_hostname': 'app'})
    assert report['failed'] is True and report['msg'] == '1 of 1 applications failed: app.'
