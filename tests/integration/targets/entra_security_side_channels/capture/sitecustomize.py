# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Loaded by every Python process of a run of side_channels.py (PYTHONPATH): a test double, never shipped.

ENTRA_TEST_SYSTEM_LOG names a file: what a module hands to syslog (ENTRA_TEST_JOURNALD unset) or to journald (set:
a stand-in ``systemd`` package is installed, as python-systemd on a systemd host) is appended there as JSON lines
instead of being sent. ENTRA_TEST_METADATA_PORT: a connection to the instance metadata address 169.254.169.254:80
reaches that port of 127.0.0.1 instead, so the test can serve the metadata service without leaving this machine.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import socket
import sys
import types

_LOG_PATH = os.environ.get('ENTRA_TEST_SYSTEM_LOG')
_METADATA_PORT = os.environ.get('ENTRA_TEST_METADATA_PORT')


def _write(channel, entry):
    with open(_LOG_PATH, 'a') as log:
        log.write(json.dumps({'channel': channel, 'pid': os.getpid(), 'entry': entry}) + '\n')


if _LOG_PATH:
    import syslog

    syslog.openlog = lambda *args, **kwargs: None
    syslog.syslog = lambda *args: _write('syslog', str(args[-1]))
    if os.environ.get('ENTRA_TEST_JOURNALD'):
        journal = types.ModuleType('systemd.journal')
        journal.send = lambda **fields: _write('journald', dict((name, str(value)) for name, value in fields.items()))
        journal.sendv = journal.send
        daemon = types.ModuleType('systemd.daemon')
        daemon.booted = lambda: True
        package = types.ModuleType('systemd')
        package.journal, package.daemon = journal, daemon
        sys.modules.update({'systemd': package, 'systemd.journal': journal, 'systemd.daemon': daemon})

if _METADATA_PORT:
    _real_getaddrinfo = socket.getaddrinfo

    def _local_metadata(host, port, *args, **kwargs):
        if host == '169.254.169.254':
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, '', ('127.0.0.1', int(_METADATA_PORT)))]
        return _real_getaddrinfo(host, port, *args, **kwargs)

    socket.getaddrinfo = _local_metadata
