# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""Name an application, find its object in Graph, and send a phase's requests: shared by every sync engine.

An application is named by exactly one of service_principal_id, application_id, app_id (its client id, looked up
through ``/servicePrincipals(appId='...')``) or display_name. ``resolve_targets`` reads all of them at once (one
request alone, many through $batch) and records on each outcome what it found, or why it failed.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from urllib.parse import quote

from ansible_collections.entra.provisioning.plugins.module_utils._graph.batch import BatchRequest, BatchResult
from ansible_collections.entra.provisioning.plugins.module_utils._errors import EntraError, InvalidInputError
from ansible_collections.entra.provisioning.plugins.module_utils._graph.errors import read_permission_advice
from ansible_collections.entra.provisioning.plugins.module_utils._ids import (
    alternate_key_segment,
    is_guid,
    odata_eq_filter,
    path_segment,
    validate_guid,
)

TARGET_OPTIONS = ('service_principal_id', 'application_id', 'app_id', 'display_name')
# Graph's limit for an application's displayName (the application resource reference), which its service principal
# carries; a longer text cannot name anything, and would come back quoted whole in a 400 answer.
DISPLAY_NAME_MAX_LENGTH = 256
_SELECT = 'id,appId,displayName'
# Two is enough to tell "one match" from "several"; five lets the failure name a few of them.
_DISPLAY_NAME_PAGE = 5


def parse_target(options, where='', name_of=None):
    """Return ``(target_option, target_value)`` from a dict of options; raise InvalidInputError unless exactly one
    target option is given, or when an id is not a GUID. ``name_of(option)`` spells an option for the user."""
    name_of = name_of or (lambda option: where + option)
    given = [name for name in TARGET_OPTIONS if options.get(name) not in (None, '')]
    if len(given) != 1:
        raise InvalidInputError(
            '%s: give exactly one of %s to name the application, got %s.'
            % (where.rstrip('.') or 'target', ', '.join(name_of(name) for name in TARGET_OPTIONS),
               ', '.join(name_of(name) for name in given) if given else 'none'))
    target_option = given[0]
    target_value = options[target_option]
    if target_option != 'display_name':
        target_value = validate_guid(target_value, name_of(target_option))
    elif len(target_value) > DISPLAY_NAME_MAX_LENGTH:
        raise InvalidInputError(
            '%s is %d characters long (it starts %r); Graph limits a display name to %d characters, so nothing can '
            'match it. Give the application\'s display name, or its app_id.'
            % (name_of('display_name'), len(target_value), target_value[:40], DISPLAY_NAME_MAX_LENGTH))
    return target_option, target_value


def resolve_targets(outcomes, send, client):
    """Resolve every outcome that has not failed: set object_type, object_id, app_id, display_name and path.

    An outcome has ``request`` (with ``target_option``, ``target_value``, ``label``), those five attributes,
    ``failed`` and ``fail(step, error, advice=None)``. ``send(requests)`` returns BatchResults in input order.
    Two outcomes naming one application fail from the second on: their writes would race in one batch.
    """
    outcomes = [outcome for outcome in outcomes if not outcome.failed]
    for outcome, result in zip(outcomes, send([resolve_request(outcome.request) for outcome in outcomes])):
        take_target(outcome, result, client)
    refuse_repeated_applications(outcomes)


def take_target(outcome, result, client):
    """Record what the answer to an outcome's resolve request (``resolve_request``) says, or fail the outcome."""
    request = outcome.request
    if not result.ok:
        outcome.fail('resolving %s %s' % (request.target_option, request.target_value), result.error,
                     _resolve_advice(result.error, client))
        return
    body = result.body
    if request.target_option == 'display_name':
        matches = answer_values(body)
        if matches is not None and len(matches) != 1:
            outcome.fail('resolving display_name', _display_name_problem(request.target_value, matches))
            return
        body = matches[0] if matches else None
    if answer_object(body) is None:
        outcome.fail('resolving %s %s' % (request.target_option, request.target_value),
                     unreadable_answer('a service principal or application', result))
        return
    outcome.object_type = 'application' if request.target_option == 'application_id' else 'servicePrincipal'
    outcome.object_id = body.get('id')
    outcome.app_id = body.get('appId')
    outcome.display_name = body.get('displayName')
    collection = 'applications' if outcome.object_type == 'application' else 'servicePrincipals'
    outcome.path = '/%s/%s' % (collection, path_segment(outcome.object_id))
    if request.label == request.target_value and outcome.display_name:
        request.label = outcome.display_name


def refuse_repeated_applications(outcomes):
    """Fail each outcome that names the same application (by appId) as an earlier one, from the second on."""
    # Two items naming one application (perhaps by different ids) would be sent in the same batch in no
    # defined order: a single-use code would be spent twice and which credentials win would be chance.
    first_by_app_id = {}
    for outcome in outcomes:
        if outcome.failed or not outcome.app_id:
            continue
        earlier = first_by_app_id.setdefault(outcome.app_id.lower(), outcome)
        if earlier is not outcome:
            outcome.fail('resolving %s %s' % (outcome.request.target_option, outcome.request.target_value),
                         "it is the same application (appId %s) as '%s', earlier in the list."
                         % (outcome.app_id, earlier.request.label),
                         'List each application once, with the credentials to send.')


def send_requests(client, requests, max_concurrency=None):
    """Send requests: a single one directly, several through $batch. Returns BatchResults in input order."""
    if not requests:
        return []
    if len(requests) == 1:
        request = requests[0]
        try:
            response = client.request(request.method, request.url, body=request.body,
                                      idempotent=request.idempotent)
        except EntraError as error:
            return [BatchResult(request, status=error.status, error=error, attempts=1)]
        return [BatchResult(request, status=response.status, headers=dict(response.headers or {}),
                            body=response.json, attempts=1)]
    return client.batch(requests, max_concurrency=max_concurrency)


def unreadable_answer(what, result, problem=None):
    """The failure text for an answer that is not ``what`` the call returns (``problem`` says what is wrong with it,
    e.g. ``value[1] has no id``). Graph's answers are data from the network: such an answer fails its application,
    never the run (and never with a traceback)."""
    request_id = request_id_of(result)
    return ('Graph answered with something that is not %s%s%s, so nothing more was sent for it. Run again; if it '
            'lasts, give Microsoft support the request id.'
            % (what, ' (request-id %s)' % request_id if request_id else '', ': %s' % problem if problem else ''))


def answer_object(body):
    """Return a service principal or application read from an answer (an object id that is a GUID, appId and
    displayName text or absent), or None when the answer is not one."""
    if not isinstance(body, dict) or not is_guid(body.get('id')):
        return None
    if any(body.get(name) is not None and not isinstance(body.get(name), str) for name in ('appId', 'displayName')):
        return None
    return body


def answer_values(body):
    """Return the ``value`` list of a collection answer when every entry is an object, else None."""
    values = body.get('value') if isinstance(body, dict) else None
    if not isinstance(values, list) or not all(isinstance(value, dict) for value in values):
        return None
    return values


def request_id_of(result):
    """Return Graph's request-id header of a BatchResult, or None."""
    for name, value in (result.headers or {}).items():
        if str(name).lower() == 'request-id':
            return value
    return None


def resolve_request(request):
    """Return the GET that reads the target's id, appId and displayName."""
    if request.target_option == 'service_principal_id':
        return BatchRequest('GET', '/servicePrincipals/%s?$select=%s' % (path_segment(request.target_value), _SELECT))
    if request.target_option == 'application_id':
        return BatchRequest('GET', '/applications/%s?$select=%s' % (path_segment(request.target_value), _SELECT))
    if request.target_option == 'app_id':
        return BatchRequest('GET', '/%s?$select=%s'
                            % (alternate_key_segment('servicePrincipals', 'appId', request.target_value), _SELECT))
    query_filter = _query_value(odata_eq_filter('displayName', request.target_value))
    return BatchRequest('GET', '/servicePrincipals?$filter=%s&$select=%s&$top=%d'
                        % (query_filter, _SELECT, _DISPLAY_NAME_PAGE))


def _query_value(text):
    """Percent-encode a query value, keeping the OData quote readable (it is escaped by doubling, not encoding)."""
    return quote(text, safe="'")


def _display_name_problem(display_name, matches):
    if not matches:
        return ("no service principal is named %r in this tenant; check the spelling (the match ignores case, as "
                "Graph's eq filter does, but nothing else) and that tenant_id and cloud are the application's."
                % display_name)
    found = ', '.join('%s (appId %s)' % (match.get('id'), match.get('appId')) for match in matches)
    # Only one page is read, so a full page means there may be more.
    count = ('%d or more' if len(matches) >= _DISPLAY_NAME_PAGE else '%d') % len(matches)
    return ('%s service principals are named %r: %s. Use service_principal_id or app_id to pick one.'
            % (count, display_name, found))


def _resolve_advice(error, client):
    if error is not None and error.status == 404:
        return ('Check the id, and that tenant_id and cloud (%s) are those of the application.'
                % client.settings.cloud.name)
    return read_permission_advice(error)
