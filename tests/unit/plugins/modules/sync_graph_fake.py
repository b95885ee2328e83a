# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A stand-in for GraphClient with a small directory behind it, for tests of the sync authorization engine.

It answers the calls the engine makes (service principal and application reads, the display name filter,
jobs, validateCredentials, acquireAccessToken) the way Graph does, records every call, and can be told to
refuse a call, answer it with an error, or lose the answer of a POST after (or before) it took effect.
Errors are built with the client's own ``error_from_answer``, so messages look like real ones.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re
from urllib.parse import parse_qs, unquote, urlsplit

from ansible_collections.entra.provisioning.plugins.module_utils._errors import OutcomeUnknownError
from ansible_collections.entra.provisioning.plugins.module_utils._graph.batch import BatchResult
from ansible_collections.entra.provisioning.plugins.module_utils._graph.client import GraphResponse
from ansible_collections.entra.provisioning.plugins.module_utils._graph.errors import error_from_answer

SYNC_ALL = 'Synchronization.ReadWrite.All'
OWNED_BY = 'Application.ReadWrite.OwnedBy'
AUTHORIZATION_CODE = 'Oauth2AuthorizationCode'

_ALTERNATE_KEY = re.compile(r"^/servicePrincipals\(appId='((?:[^']|'')*)'\)$")
_ENTITY = re.compile(r'^/(servicePrincipals|applications)/([^/]+)(/.*)?$')
_DISPLAY_NAME_FILTER = re.compile(r"^displayName eq '((?:[^']|'')*)'$")


class _Cloud(object):
    def __init__(self, name):
        self.name = name


class FakeSettings(object):
    """The settings the engine and the module read: ``cloud.name``, ``api_version`` and ``max_concurrency``."""

    def __init__(self, cloud='global', api_version='v1.0', max_concurrency=4):
        self.cloud = _Cloud(cloud)
        self.api_version = api_version
        self.max_concurrency = max_concurrency


class FakeApp(object):
    """An application with its service principal, jobs and what its provisioning connector accepts."""

    def __init__(self, display_name, number, jobs=('scim',), accepted=None, authorized=False, owned=False,
                 templates=None):
        self.display_name = display_name
        self.service_principal_id = '00000000-0000-4000-8000-%012d' % number
        self.application_id = '00000000-0000-4000-9000-%012d' % number
        self.app_id = '00000000-0000-4000-a000-%012d' % number
        self.job_ids = ['%s.%012d.%d' % (template, number, position) for position, template in enumerate(jobs)]
        # GET templates: given, else one per job template (or scim for an app without a job), the first default
        self.templates = list(templates) if templates is not None else [
            {'id': template, 'default': position == 0}
            for position, template in enumerate(sorted(set(jobs)) or ['scim'])]
        self.accepted = dict(accepted if accepted is not None else {'SecretToken': 'token-of-%d' % number})
        self.authorized = authorized
        self.owned = owned
        self.used_codes = set()

    def credentials(self):
        """The credentials this app accepts, as the module's option takes them (first code for OAuth apps)."""
        pairs = []
        for key, value in self.accepted.items():
            pairs.append({'key': key, 'value': value[0] if isinstance(value, list) else value})
        return pairs


class Call(object):
    """One request the engine made: method, path (no query), query, body and whether it went in a $batch."""

    def __init__(self, method, url, body, batched):
        parts = urlsplit(url)
        self.method = method
        self.url = url
        self.path = unquote(parts.path)
        self.query = dict((name, values[0]) for name, values in parse_qs(parts.query).items())
        self.body = body
        self.batched = batched

    @property
    def operation(self):
        """A short name of what the call does, as the emulator's log names it."""
        if self.path.endswith('/acquireAccessToken'):
            return 'acquireAccessToken'
        if self.path.endswith('/synchronization/jobs/validateCredentials'):
            return 'jobs.validateCredentials'
        if self.path.endswith('/synchronization/templates'):
            return 'templates.list'
        if self.path.endswith('/validateCredentials'):
            return 'validateCredentials'
        if self.path.endswith('/synchronization/jobs'):
            return 'jobs.list'
        if self.path == '/servicePrincipals':
            return 'servicePrincipals.list'
        return 'get'

    def __repr__(self):
        return '<%s %s%s>' % (self.method, self.url, ' (batch)' if self.batched else '')


class _Rule(object):
    def __init__(self, method, pattern, times, answer=None, lost=None, raw=False):
        self.raw = raw
        self.method = method
        self.pattern = re.compile(pattern)
        self.times = times
        self.answer = answer
        self.lost = lost

    def matches(self, method, path):
        return self.times > 0 and method == self.method and self.pattern.search(path) is not None


class FakeGraph(object):
    """Stands in for GraphClient: ``request()``, ``batch()`` and ``settings`` over FakeApps.

    ``permissions`` are the caller's application permissions; with only OwnedBy, synchronization calls on an
    app that is not ``owned`` answer 403 (reads of the objects themselves are allowed, as in Graph).
    """

    def __init__(self, cloud='global', api_version='v1.0', permissions=(SYNC_ALL, 'Application.Read.All')):
        self.settings = FakeSettings(cloud, api_version)
        self.permissions = set(permissions)
        self.apps = []
        self.calls = []
        self.batch_sizes = []
        self._rules = []
        self._request_number = 0

    # -- set-up -----------------------------------------------------------------------------------------------

    def add_app(self, display_name, **kwargs):
        """Add a FakeApp (numbered in order of creation) and return it."""
        app = FakeApp(display_name, len(self.apps) + 1, **kwargs)
        self.apps.append(app)
        return app

    def answer(self, method, pattern, status, code=None, message=None, times=1):
        """Answer the next ``times`` calls whose path matches ``pattern`` with an error, before any effect."""
        body = {'error': {'code': code or 'Error%d' % status, 'message': message or 'Failed with %d.' % status}}
        self._rules.append(_Rule(method, pattern, times, answer=(status, body)))

    def answer_with(self, method, pattern, body, status=200, times=1):
        """Answer the next ``times`` matching calls with ``body`` as it is (a malformed success, for example)."""
        self._rules.append(_Rule(method, pattern, times, answer=(status, body), raw=True))

    def lose_answer(self, method, pattern, took_effect=True, times=1):
        """Lose the answer of the next matching calls: the engine sees OutcomeUnknownError."""
        self._rules.append(_Rule(method, pattern, times, lost='after' if took_effect else 'before'))

    # -- what happened ----------------------------------------------------------------------------------------

    def operations(self):
        """The operation names of every call, in order."""
        return [call.operation for call in self.calls]

    def calls_of(self, operation):
        """The calls of one operation, in order."""
        return [call for call in self.calls if call.operation == operation]

    # -- the GraphClient interface ----------------------------------------------------------------------------

    def request(self, method, path, body=None, params=None, headers=None, idempotent=None):
        """Answer one request like GraphClient.request: a GraphResponse, or raise an EntraError."""
        status, answer_headers, answer_body, lost = self._handle(method, path, body, batched=False)
        if lost:
            raise OutcomeUnknownError('%s %s: the connection was lost after the request was sent.' % (method, path))
        if 200 <= status < 300:
            return GraphResponse(status, answer_headers, answer_body, request_id=answer_headers['request-id'])
        raise error_from_answer('%s /%s%s' % (method, self.settings.api_version, path), status, answer_headers,
                                answer_body)

    def batch(self, batch_requests, max_concurrency=None):
        """Answer BatchRequests like GraphClient.batch: BatchResults in input order."""
        batch_requests = list(batch_requests)
        self.batch_sizes.append(len(batch_requests))
        results = []
        for request in batch_requests:
            status, answer_headers, answer_body, lost = self._handle(request.method, request.url, request.body,
                                                                     batched=True)
            if lost:
                error = OutcomeUnknownError('%s %s: the $batch answer was lost.' % (request.method, request.url))
                results.append(BatchResult(request, error=error, attempts=1))
            elif 200 <= status < 300:
                results.append(BatchResult(request, status=status, headers=answer_headers, body=answer_body,
                                           attempts=1))
            else:
                error = error_from_answer('%s %s' % (request.method, request.url), status, answer_headers,
                                          answer_body)
                results.append(BatchResult(request, status=status, headers=answer_headers, body=answer_body,
                                           error=error, attempts=1))
        return results

    # -- the directory ----------------------------------------------------------------------------------------

    def _handle(self, method, url, body, batched):
        call = Call(method, url, body, batched)
        self.calls.append(call)
        self._request_number += 1
        headers = {'request-id': 'request-%04d' % self._request_number}
        for rule in self._rules:
            if rule.matches(method, call.path):
                rule.times -= 1
                if rule.answer:
                    status, error_body = rule.answer
                    return status, headers, error_body if rule.raw else self._with_ids(error_body, headers), False
                if rule.lost == 'after':
                    self._dispatch(call)
                return None, headers, None, True
        status, answer_body = self._dispatch(call)
        return status, headers, self._with_ids(answer_body, headers) if status >= 400 else answer_body, False

    @staticmethod
    def _with_ids(body, headers):
        error = dict(body['error'])
        error['innerError'] = {'request-id': headers['request-id'], 'date': '2026-01-01T00:00:00'}
        return {'error': error}

    def _dispatch(self, call):
        if call.path == '/servicePrincipals' and call.method == 'GET':
            return self._list_by_display_name(call)
        match = _ALTERNATE_KEY.match(call.path)
        if match:
            app = self._find('app_id', match.group(1).replace("''", "'"))
            return self._entity(app, 'servicePrincipal', match.group(1))
        match = _ENTITY.match(call.path)
        if not match:
            return 400, {'error': {'code': 'BadRequest', 'message': 'Unknown path %s.' % call.path}}
        collection, object_id, rest = match.groups()
        app = self._find('service_principal_id' if collection == 'servicePrincipals' else 'application_id',
                         object_id)
        if rest is None:
            return self._entity(app, 'servicePrincipal' if collection == 'servicePrincipals' else 'application',
                                object_id)
        if app is None:
            return _not_found(object_id)
        if not self._may_act(app):
            return 403, {'error': {'code': 'Authorization_RequestDenied',
                                   'message': 'Insufficient privileges to complete the operation.'}}
        if rest == '/synchronization/jobs' and call.method == 'GET':
            return 200, {'value': [{'id': job_id, 'templateId': job_id.split('.')[0]} for job_id in app.job_ids]}
        if rest == '/synchronization/acquireAccessToken' and call.method == 'POST':
            return self._acquire(app, call.body)
        if rest == '/synchronization/templates' and call.method == 'GET':
            return 200, {'value': app.templates}
        if rest == '/synchronization/jobs/validateCredentials' and call.method == 'POST':
            # bound to the jobs collection: tests credentials before any job exists, for one of the app's templates
            if (call.body or {}).get('templateId') not in [template['id'] for template in app.templates]:
                return 400, {'error': {'code': 'BadRequest', 'message': 'Not a template of this application.'}}
            return self._check_saved(app, call.body)
        match = re.match(r'^/synchronization/jobs/([^/]+)/validateCredentials$', rest)
        if match and call.method == 'POST':
            if match.group(1) not in app.job_ids:
                return _not_found(match.group(1))
            return self._check_saved(app, call.body)
        return 400, {'error': {'code': 'BadRequest', 'message': 'Unknown path %s.' % call.path}}

    @staticmethod
    def _check_saved(app, body):
        if (body or {}).get('useSavedCredentials') is not True:
            return 400, {'error': {'code': 'BadRequest', 'message': 'The engine only checks saved credentials.'}}
        if app.authorized:
            return 204, None
        return 400, {'error': {'code': 'InvalidCredentials',
                               'message': "No valid saved credentials for application '%s'." % app.display_name}}

    def _find(self, attribute, value):
        for app in self.apps:
            if getattr(app, attribute).lower() == str(value).lower():
                return app
        return None

    def _may_act(self, app):
        return SYNC_ALL in self.permissions or (OWNED_BY in self.permissions and app.owned)

    def _entity(self, app, object_type, object_id):
        if app is None:
            return _not_found(object_id)
        if not self.permissions & {'Application.Read.All', OWNED_BY}:
            return 403, {'error': {'code': 'Authorization_RequestDenied',
                                   'message': 'Insufficient privileges to complete the operation.'}}
        return 200, {'id': app.service_principal_id if object_type == 'servicePrincipal' else app.application_id,
                     'appId': app.app_id, 'displayName': app.display_name}

    def _list_by_display_name(self, call):
        match = _DISPLAY_NAME_FILTER.match(call.query.get('$filter', ''))
        if not match:
            return 400, {'error': {'code': 'BadRequest', 'message': 'Unsupported filter.'}}
        wanted = match.group(1).replace("''", "'").lower()
        found = [{'id': app.service_principal_id, 'appId': app.app_id, 'displayName': app.display_name}
                 for app in self.apps if app.display_name.lower() == wanted]
        return 200, {'value': found[:int(call.query.get('$top', '100'))]}

    @staticmethod
    def _acquire(app, body):
        given = dict((pair['key'], pair['value']) for pair in (body or {}).get('credentials') or [])
        for key, expected in app.accepted.items():
            if key == AUTHORIZATION_CODE:
                if given.get(key) not in expected:
                    return 400, {'error': {'code': 'InvalidCredentials', 'message': 'The code is not valid.'}}
                if given[key] in app.used_codes:
                    return 400, {'error': {'code': 'InvalidCredentials',
                                           'message': 'The code was already redeemed.'}}
            elif given.get(key) != expected:
                return 400, {'error': {'code': 'InvalidCredentials',
                                       'message': "The connector rejected the value of '%s'." % key}}
        if AUTHORIZATION_CODE in app.accepted:
            app.used_codes.add(given[AUTHORIZATION_CODE])
        app.authorized = True
        return 204, None


def _not_found(object_id):
    return 404, {'error': {'code': 'Request_ResourceNotFound',
                           'message': "Resource '%s' does not exist or one of its queried reference-property "
                                      "objects are not present." % object_id}}
