# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""Turning Graph error answers into EntraErrors, and the advice they carry (written once, used by every caller)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.entra.provisioning.plugins.module_utils._errors import EntraError

# What the identity needs, in the words of the Graph permission reference; every 403 hint is built from these.
READ_OBJECTS_PERMISSIONS = ('Application.Read.All, or Application.ReadWrite.OwnedBy and ownership of the '
                            'application (admin consent in both cases)')
SYNCHRONIZATION_PERMISSIONS = ('Synchronization.ReadWrite.All, or Application.ReadWrite.OwnedBy and ownership of '
                               'the application (admin consent in both cases)')
SYNCHRONIZATION_READ_PERMISSIONS = ('Synchronization.Read.All (or Synchronization.ReadWrite.All), or '
                                    'Application.ReadWrite.OwnedBy and ownership of the application (admin consent '
                                    'in every case)')

# The code of a 401 that is about the token itself (expired, wrong audience, bad signature).
INVALID_TOKEN = 'InvalidAuthenticationToken'

GATEWAY_TIMEOUT_ADVICE = ('The gateway timed out after the request was sent, so it is unknown whether it took '
                          'effect: check the object\'s state before sending it again.')

_STATUS_ADVICE = {
    403: 'The identity lacks a Graph permission or directory role for this call: check its API permissions '
         '(with admin consent) and, for OwnedBy permissions, that it owns the object.',
    404: 'The object was not found; a newly created object can take a minute to become visible.',
}


def read_permission_advice(error):
    """The advice for a 403 on reading a service principal or application; None for any other error."""
    if error is not None and error.status == 403:
        return ('Reading the application needs %s; Synchronization.ReadWrite.All alone does not allow it.'
                % READ_OBJECTS_PERMISSIONS)
    return None


def is_synchronization_denial(status, code):
    """Whether a synchronization call's answer says the identity lacks a permission.

    403 always; 401 too unless its code is InvalidAuthenticationToken: the synchronization service answers a missing
    Synchronization permission (or an OwnedBy identity that does not own the application) with 401 UnknownError and
    an empty message, to a token Entra just issued (docs-contrib #8800, zerotrustassessment #1382,
    terraform-provider-azuread #1628), so a 401 there is read as a permission problem, not a token problem.
    """
    return status == 403 or (status == 401 and code != INVALID_TOKEN)


def synchronization_permission_advice(error):
    """The advice for a denied synchronization call (jobs, secrets, validateCredentials, acquireAccessToken)."""
    if error is not None and is_synchronization_denial(error.status, error.code):
        return 'Grant the identity %s.' % SYNCHRONIZATION_PERMISSIONS
    return None


def not_in_allow_list_advice(error, keys=()):
    """The advice for a secrets write the service refuses as NotInAllowList (``keys``: the names sent); None for any
    other error. Microsoft's own onboarding tooling reports it for Oauth2TokenExchangeUri through PUT v1.0 secrets
    (single source) and saves those settings another way, which Graph does not document."""
    if error is None or error.code != 'NotInAllowList':
        return None
    suspects = [key for key in keys if key == 'Oauth2TokenExchangeUri']
    return ('The service refused a key of the set as not in its allow list%s, so nothing was saved: it does not take '
            'that key through PUT secrets. Enter the OAuth client-credential settings (client id, client secret, '
            'token endpoint) in the portal instead (the enterprise application, Provisioning, Admin Credentials, '
            'Test Connection, Save); a later run with the same credentials and update_secrets: on_create then finds '
            'them saved and sends nothing.'
            % (' (most likely %s, which Microsoft\'s own onboarding tooling reports refused this way)'
               % ', '.join(suspects) if suspects else ''))


def synchronization_read_permission_advice(error):
    """The advice for a denied read of synchronization jobs (the inventory plugin needs no write permission)."""
    if error is not None and is_synchronization_denial(error.status, error.code):
        return 'Grant the identity %s.' % SYNCHRONIZATION_READ_PERMISSIONS
    return None


def error_from_answer(what, status, headers, payload, error_class=EntraError, prefix=None, advice=None):
    """Build an EntraError from a Graph error answer: ``what`` failed with status, code and Graph's message.

    ``headers`` may be any mapping; ids come from the body's innerError first, then from the headers.
    """
    error = payload.get('error') if isinstance(payload, dict) else None
    error = error if isinstance(error, dict) else {}
    inner = error.get('innerError') or error.get('innererror') or {}
    inner = inner if isinstance(inner, dict) else {}
    code = error.get('code')
    detail = 'HTTP %s%s' % (status, ' %s' % code if code else '')
    if error.get('message'):
        detail += ': %s' % str(error['message']).rstrip('.')
    advice = advice or _STATUS_ADVICE.get(status)
    message = '%s%s failed with %s.%s' % (what, ': %s,' % prefix if prefix else '', detail,
                                          ' ' + advice if advice else '')
    return error_class(
        message,
        status=status,
        code=code,
        request_id=inner.get('request-id') or header_value(headers, 'request-id'),
        client_request_id=inner.get('client-request-id') or header_value(headers, 'client-request-id'),
        date=inner.get('date') or header_value(headers, 'Date'),
    )


def error_code(payload):
    """Return ``error.code`` of a Graph error body, else None."""
    if isinstance(payload, dict) and isinstance(payload.get('error'), dict):
        return payload['error'].get('code')
    return None


def header_value(headers, name):
    """Return a header's value from any mapping, matching the name case-insensitively; None when absent."""
    if not headers:
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if str(key).lower() == wanted:
            return value
    return None
