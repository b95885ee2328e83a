# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""The one error type raised by module_utils; modules and plugins turn it into a failure."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.entra.provisioning.plugins.module_utils._redact import redact


class EntraError(Exception):
    """A failure talking to Microsoft Graph or the sign-in service, or a bad option.

    Every text field is redacted on the way in, so nothing read from an instance can carry a secret.
    """

    def __init__(self, message, status=None, code=None, request_id=None, client_request_id=None, date=None):
        self.message = redact(message)
        self.status = status
        self.code = redact(code) if code else None
        self.request_id = redact(request_id) if request_id else None
        self.client_request_id = redact(client_request_id) if client_request_id else None
        self.date = redact(date) if date else None
        super(EntraError, self).__init__(self.message)

    def __str__(self):
        return self.message

    def to_dict(self):
        """Return the plain fields for a module result: message, status, code, request ids and date."""
        return dict(
            message=self.message,
            status=self.status,
            code=self.code,
            request_id=self.request_id,
            client_request_id=self.client_request_id,
            date=self.date,
        )

    def with_context(self, context):
        """Return a copy of the same class whose message starts with ``context`` (which object, which step)."""
        copy = self.__class__.__new__(self.__class__)
        copy.__dict__.update(self.__dict__)
        copy.message = redact('%s: %s' % (context, self.message))
        copy.args = (copy.message,)
        return copy


class InvalidInputError(EntraError):
    """The options given cannot work; found before any network traffic."""


class AuthenticationError(EntraError):
    """The sign-in service (or a managed identity endpoint) did not give a token, or Graph refused it."""


class OutcomeUnknownError(EntraError):
    """A non-idempotent request was sent but no answer came back: it may or may not have taken effect."""


class RetriesExhaustedError(EntraError):
    """A request was throttled or failed transiently on every allowed attempt."""


class MissingDependencyError(EntraError):
    """A Python library the collection needs (requests, msal) is not installed on the target.

    ``library`` names it for ``missing_required_lib``; ``import_error`` holds the import traceback.
    """

    def __init__(self, message, library=None, import_error=None):
        super(MissingDependencyError, self).__init__(message)
        self.library = library
        self.import_error = import_error
