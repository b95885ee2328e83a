# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A small stand-in for GraphClient for the job and secrets engines: scripted answers by method and path."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.entra.provisioning.plugins.module_utils._graph.batch import BatchResult
from ansible_collections.entra.provisioning.plugins.module_utils._graph.errors import error_from_answer

SP_ID = '3f1e2d4c-5b6a-4798-8a9b-0c1d2e3f4a5b'
SP_PATH = '/servicePrincipals/' + SP_ID


class _Settings(object):
    class cloud(object):  # noqa: N801 (mirrors settings.cloud.name)
        name = 'global'
    api_version = 'v1.0'


class _Request(object):
    def __init__(self, method, url, body):
        self.method, self.url, self.body = method, url, body


class _Response(object):
    def __init__(self, status, headers, body):
        self.status, self.headers, self.json = status, headers, body


class LifecycleGraph(object):
    """``answer(method, pattern, status, body)`` scripts a reply; every call is kept in ``calls`` (method, url)."""

    def __init__(self):
        self.settings = _Settings()
        self.calls = []
        self._answers = []
        self.answer('GET', r'^/servicePrincipals/[^/?]+\?', 200, {'id': SP_ID, 'appId': 'app-1', 'displayName': 'App'})
        # Nothing saved yet, unless a test says otherwise.
        self.answer('GET', r'/synchronization/secrets$', 200, {'value': []})

    def answer(self, method, pattern, status, body=None, times=None):
        """Answer calls matching method and regex ``pattern`` (latest rule first; ``times`` limits its use)."""
        self._answers.insert(0, [method, re.compile(pattern), status, body, times])

    def _reply(self, method, url, body):
        self.calls.append((method, url, body))
        for rule in self._answers:
            if rule[0] == method and rule[1].search(url) and rule[4] != 0:
                if rule[4] is not None:
                    rule[4] -= 1
                return rule[2], rule[3]
        return 404, {'error': {'code': 'Request_ResourceNotFound', 'message': 'No rule for %s %s' % (method, url)}}

    def _result(self, request):
        status, body = self._reply(request.method, request.url, request.body)
        if status >= 400:
            error = error_from_answer('%s %s' % (request.method, request.url), status, {'request-id': 'r-1'}, body)
            return BatchResult(request, status=status, error=error, headers={'request-id': 'r-1'})
        return BatchResult(request, status=status, body=body, headers={'request-id': 'r-1'})

    def request(self, method, url, body=None, idempotent=None):
        """Answer one direct request as GraphClient does: a response, or the EntraError raised."""
        result = self._result(_Request(method, url, body))
        if result.error is not None:
            raise result.error
        return _Response(result.status, result.headers, result.body)

    def batch(self, requests, max_concurrency=None):
        """Answer each request as $batch would."""
        return [self._result(request) for request in requests]

    def writes(self):
        """The calls that are writes (validateCredentials is a read sent as POST)."""
        return [call for call in self.calls if call[0] != 'GET' and not call[1].endswith('/validateCredentials')]
