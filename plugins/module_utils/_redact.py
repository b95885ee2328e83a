# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""The one place that removes secrets from text: every error, warning and debug text passes through here."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re
import threading

from urllib.parse import quote, quote_plus

MASK = '********'

# Shorter values would turn ordinary words and numbers into masks all over a message; a secret that short
# protects nothing anyway.
MIN_REGISTERED_LENGTH = 4

_SECRET_FIELD_NAMES = (
    'access_token', 'refresh_token', 'id_token', 'client_secret', 'client_assertion', 'assertion',
    'password', 'passphrase', 'client_certificate_password', 'secret',
)
_SECRET_HEADER_NAMES = frozenset(('authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-identity-header'))

_PATTERNS = (
    # "Authorization: Bearer x", "Authorization: Basic x" in a header dump
    (re.compile(r'(?i)\b((?:proxy-)?authorization["\']?\s*[:=]\s*["\']?)(?:bearer\s+|basic\s+)?[^\s"\',}]+'), r'\1' + MASK),
    (re.compile(r'(?i)\b(bearer\s+)[A-Za-z0-9\-._~+/]+=*'), r'\1' + MASK),
    # a JWT (access token, client assertion, federated token) anywhere; the header always starts with eyJ
    (re.compile(r'\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*'), MASK),
    # form or query encoding: client_secret=...&
    (re.compile(r'(?i)\b(%s)=[^&\s"\']+' % '|'.join(_SECRET_FIELD_NAMES)), r'\1=' + MASK),
    # JSON or Python-repr encoding: "client_secret": "..."
    (re.compile(r'(?i)(["\'](?:%s)["\']\s*:\s*)(["\'])(?:\\.|(?!\2).)*\2' % '|'.join(_SECRET_FIELD_NAMES)),
     r'\1\2' + MASK + r'\2'),
)


class _SecretRegistry(object):
    """Secret values known at run time (options, env values, file contents), in every encoding they may appear."""

    def __init__(self):
        self._lock = threading.Lock()
        self._values = set()
        self._ordered = ()

    def add(self, value):
        """Remember ``value`` and its encoded forms."""
        if value is None:
            return
        if not isinstance(value, str):
            value = str(value)
        variants = set()
        for variant in (value, value.strip(), quote(value, safe=''), quote_plus(value, safe=''),
                        json.dumps(value)[1:-1]):
            if len(variant) >= MIN_REGISTERED_LENGTH:
                variants.add(variant)
        if not variants:
            return
        with self._lock:
            if not variants <= self._values:
                self._values.update(variants)
                # sorted once on the next read, not on every add: a bulk run registers thousands of values
                self._ordered = None

    def values(self):
        """Return the remembered forms, longest first (so a secret that contains another is masked whole)."""
        with self._lock:
            if self._ordered is None:
                self._ordered = tuple(sorted(self._values, key=len, reverse=True))
            return self._ordered

    def clear(self):
        """Forget everything."""
        with self._lock:
            self._values = set()
            self._ordered = ()


_REGISTRY = _SecretRegistry()


def register_secret(value):
    """Remember a secret value so that every later ``redact`` masks it (raw, URL-encoded or JSON-escaped)."""
    _REGISTRY.add(value)


def registered_secrets():
    """Return the registered secret values (for handing to AnsibleModule.no_log_values); never print them."""
    return _REGISTRY.values()


def clear_registered_secrets():
    """Forget every registered secret; for tests and for long-lived processes that start a new run."""
    _REGISTRY.clear()


def redact(text):
    """Return ``text`` with registered secrets, tokens, assertions and Authorization values masked.

    ``None`` stays ``None``; anything else is turned into text first.
    """
    if text is None:
        return None
    if not isinstance(text, str):
        text = str(text)
    for value in _REGISTRY.values():
        if value in text:
            text = text.replace(value, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_headers(headers):
    """Return a plain dict copy of ``headers`` with credential-bearing headers masked and the rest redacted."""
    if not headers:
        return {}
    cleaned = {}
    for name, value in headers.items():
        if str(name).lower() in _SECRET_HEADER_NAMES:
            cleaned[name] = MASK
        else:
            cleaned[name] = redact(value)
    return cleaned


def redact_data(data):
    """Return a copy of a JSON-like structure with secret-named keys masked and every string redacted."""
    if isinstance(data, dict):
        cleaned = {}
        for key, value in data.items():
            if isinstance(key, str) and key.lower() in _SECRET_FIELD_NAMES and value is not None:
                cleaned[key] = MASK
            else:
                cleaned[key] = redact_data(value)
        return cleaned
    if isinstance(data, (list, tuple)):
        return [redact_data(item) for item in data]
    if isinstance(data, str):
        return redact(data)
    return data
