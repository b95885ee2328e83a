# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.entra.provisioning.plugins.module_utils._errors import (
    EntraError,
    OutcomeUnknownError,
)
from ansible_collections.entra.provisioning.plugins.module_utils._redact import MASK, register_secret


def test_to_dict_holds_the_plain_fields():
    error = EntraError('failed', status=404, code='Request_ResourceNotFound', request_id='r', client_request_id='c',
                       date='2026-01-01T00:00:00')
    assert error.to_dict() == dict(message='failed', status=404, code='Request_ResourceNotFound', request_id='r',
                                   client_request_id='c', date='2026-01-01T00:00:00')


def test_message_is_redacted_on_the_way_in():
    register_secret('very-secret-value')
    error = EntraError('bad value very-secret-value')
    assert error.message == 'bad value %s' % MASK
    assert str(error) == 'bad value %s' % MASK
    assert 'very-secret-value' not in repr(error.args)


def test_with_context_prefixes_the_message_and_keeps_class_and_fields():
    error = OutcomeUnknownError('connection lost', status=None, code='X', request_id='r')
    wrapped = error.with_context('Authorizing app 1234')
    assert isinstance(wrapped, OutcomeUnknownError)
    assert wrapped.message == 'Authorizing app 1234: connection lost'
    assert wrapped.args == ('Authorizing app 1234: connection lost',)
    assert wrapped.request_id == 'r' and wrapped.code == 'X'
    assert error.message == 'connection lost'
