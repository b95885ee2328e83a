# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""The one place that removes secrets from text: every error, warning and debug text passes through here.

The secrets themselves belong to a run (one module process, one controller-side action, one inventory parse): the
run creates a SecretRegistry and puts it in use for its duration, and every ``register_secret`` and ``redact`` of that
run, in any thread it starts through ``run_in_threads``, reaches that registry and no other. A secret of one run is
never masked, kept or handed on by another, and nothing is left behind in a long-lived process when the run ends.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import binascii
import contextlib
import contextvars
import json
import re
import threading

from concurrent.futures import ThreadPoolExecutor

from urllib.parse import quote, quote_plus

try:
    # ansible-core 2.22+: secrets registered here are masked by the controller in every output channel.
    from ansible.module_utils.secrets import register_secret as _core_register_secret
except ImportError:
    _core_register_secret = None

MASK = '********'

# A value shorter than this is never masked by the collection: masking every "abc" or "1" in a message would
# make it unreadable and show where the secret occurs. ansible-core still hides the no_log options themselves.
MIN_REGISTERED_LENGTH = 4

# A server or proxy that cuts a secret short still gives it away when the cut is long; this many characters
# of a secret, and whatever continues the secret after them, are masked.
PREFIX_LENGTH = 12

# Every registered form is indexed by its first characters, so masking costs one lookup per character of the
# text whatever the number of secrets (a bulk run registers thousands).
_ANCHOR = MIN_REGISTERED_LENGTH

_SECRET_FIELD_NAMES = (
    'access_token', 'refresh_token', 'id_token', 'client_secret', 'client_assertion', 'assertion',
    'password', 'passphrase', 'client_certificate_password', 'secret',
)
_SECRET_HEADER_NAMES = frozenset(('authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-identity-header'))
_FIELDS = '|'.join(_SECRET_FIELD_NAMES)


def _quoted_value_pattern(quote_char):
    # "secret": "..." with the closing quote optional (a cut message still hides the value). The two
    # alternatives cannot match the same character, so the match is linear whatever the text holds.
    return re.compile(r'(?i)(["\'](?:%s)["\']\s*:\s*%s)(?:[^%s\\]|\\[\s\S])*%s?'
                      % (_FIELDS, quote_char, quote_char, quote_char))


_PATTERNS = (
    # "Authorization: Bearer x", "Authorization: Basic x" in a header dump
    (re.compile(r'(?i)\b((?:proxy-)?authorization["\']?\s*[:=]\s*["\']?)(?:bearer\s+|basic\s+)?[^\s"\',}]+'),
     r'\1' + MASK),
    (re.compile(r'(?i)\b(bearer\s+)[A-Za-z0-9\-._~+/]+=*'), r'\1' + MASK),
    # a JWT (access token, client assertion, federated token) anywhere; the header always starts with eyJ
    (re.compile(r'\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*'), MASK),
    # form or query encoding: client_secret=...&
    (re.compile(r'(?i)\b(%s)=[^&\s"\']+' % _FIELDS), r'\1=' + MASK),
    # JSON or Python-repr encoding: "client_secret": "..."
    (_quoted_value_pattern('"'), r'\1' + MASK + '"'),
    (_quoted_value_pattern("'"), r'\1' + MASK + "'"),
)

# Every pattern above needs one of these words: a text without any (most texts) skips the six substitutions.
_PATTERN_HINT = re.compile(r'(?i)authorization|bearer|eyJ|%s' % _FIELDS)

_PERCENT_ESCAPE = re.compile(r'%[0-9A-F]{2}')


def encoded_forms(value):
    """Return the forms ``value`` can take on its way through servers, proxies and libraries.

    Raw and stripped, percent-encoded (upper and lower case, ``+`` for spaces or not), JSON-escaped (ASCII or
    not, once or twice), Python repr, base64 (standard and URL-safe, padded or not) and hex of its UTF-8 bytes.
    """
    if len(value.strip()) < MIN_REGISTERED_LENGTH:
        # its encodings are longer, but masking them would still point at the value
        return set()
    forms = {value, value.strip()}
    for encoded in (quote(value, safe=''), quote_plus(value, safe='')):
        forms.add(encoded)
        forms.add(_PERCENT_ESCAPE.sub(lambda match: match.group(0).lower(), encoded))
    for ensure_ascii in (True, False):
        once = json.dumps(value, ensure_ascii=ensure_ascii)[1:-1]
        forms.add(once)
        forms.add(json.dumps(once, ensure_ascii=ensure_ascii)[1:-1])
    forms.add(repr(value)[1:-1])
    raw = value.encode('utf-8', 'surrogatepass')
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = encoded.decode('ascii')
        forms.add(text)
        forms.add(text.rstrip('='))
    hexed = binascii.hexlify(raw).decode('ascii')
    forms.update((hexed, hexed.upper()))
    return {form for form in forms if len(form) >= MIN_REGISTERED_LENGTH}


# The registry of the run this code is part of. A context variable rather than a global: a new thread starts with an
# empty context (run_in_threads hands the run's on), and two runs in one process never see each other's secrets.
_RUN_REGISTRY = contextvars.ContextVar('entra_provisioning_run_secrets', default=None)


class SecretRegistry(object):
    """The secret values one run knows (options, env values, file contents), in every form they may take.

    ``mask(text)`` replaces every occurrence of every form, and of a long enough prefix of the value together
    with whatever continues it, by MASK in one pass over the text. ``values()`` are only the values as given:
    what ansible-core masks in a module's result, whose texts this registry has already masked in every form.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._values = set()
        self._forms = set()
        # anchor (first characters) -> {length: set of forms}
        self._index = {}
        # the anchors of _index as a set, so a text with none of them is passed with one C-level set test
        self._anchors = set()
        # prefix -> values it starts, so a cut-off echo is masked as far as it matches
        self._continuations = {}
        self._ordered = ()
        # values registered since the last mask: their forms are indexed when a text is first masked, so a bulk run
        # that never has to mask anything (every application went through) never encodes a thousand secrets
        self._unindexed = []

    def add(self, value):
        """Remember ``value`` (its encoded forms are indexed before the next ``mask``); return True when it is new."""
        if value is None:
            return False
        if not isinstance(value, str):
            value = str(value)
        if len(value.strip()) < MIN_REGISTERED_LENGTH:
            # its encodings are longer, but masking them would still point at the value
            return False
        values = {raw for raw in (value, value.strip()) if len(raw) >= MIN_REGISTERED_LENGTH}
        with self._lock:
            new_values = values - self._values
            if not new_values:
                return False
            self._values.update(new_values)
            self._unindexed.append((value, new_values))
            self._ordered = None
        if _core_register_secret is not None:
            # ansible-core sends what a module registers back to the controller with the result: the values,
            # not their forms, keep that small (the controller masks its own output, not servers' echoes)
            for raw in sorted(new_values):
                _core_register_secret(raw)
        return True

    def _index_unindexed(self):
        """Index the forms of the values added since the last mask (the caller holds the lock)."""
        for value, new_values in self._unindexed:
            new_forms = encoded_forms(value) - self._forms
            for raw in sorted(new_values):
                if len(raw) > PREFIX_LENGTH:
                    self._continuations.setdefault(raw[:PREFIX_LENGTH], set()).add(raw)
                    new_forms.add(raw[:PREFIX_LENGTH])
            for form in new_forms:
                self._forms.add(form)
                self._index.setdefault(form[:_ANCHOR], {}).setdefault(len(form), set()).add(form)
                self._anchors.add(form[:_ANCHOR])
        self._unindexed = []

    def values(self):
        """Return the values as given, longest first (for AnsibleModule.no_log_values); never print them."""
        with self._lock:
            if self._ordered is None:
                self._ordered = tuple(sorted(self._values, key=len, reverse=True))
            return self._ordered

    def activate(self):
        """Make this the registry of the current run until ``deactivate(token)``; return that token.

        A module process is one run from start to exit, so EntraModule activates its registry and never leaves it.
        """
        return _RUN_REGISTRY.set(self)

    @staticmethod
    def deactivate(token):
        """Give the run's context back the registry it had before ``activate`` returned ``token``."""
        _RUN_REGISTRY.reset(token)

    @contextlib.contextmanager
    def in_use(self):
        """Use this registry for the run inside the ``with`` block (a controller action, an inventory parse)."""
        token = self.activate()
        try:
            yield self
        finally:
            self.deactivate(token)

    def mask(self, text):
        """Return ``text`` with every remembered form (and continued prefix) replaced by MASK."""
        with self._lock:
            if self._unindexed:
                self._index_unindexed()
            index, continuations = self._index, self._continuations
            if not index or len(text) < _ANCHOR:
                return text
            grams = {text[start:start + _ANCHOR] for start in range(len(text) - _ANCHOR + 1)}
            if grams.isdisjoint(self._anchors):
                return text
            spans = []
            for start in range(len(text) - _ANCHOR + 1):
                buckets = index.get(text[start:start + _ANCHOR])
                if not buckets:
                    continue
                end = 0
                for length, forms in buckets.items():
                    if length > end - start and text[start:start + length] in forms:
                        end = start + length
                if end - start >= PREFIX_LENGTH:
                    for raw in continuations.get(text[start:start + PREFIX_LENGTH], ()):
                        end = max(end, start + _common_prefix_length(text, start, raw))
                if end:
                    spans.append((start, end))
        return _replace_spans(text, spans)


def _common_prefix_length(text, start, value):
    length = 0
    limit = min(len(value), len(text) - start)
    while length < limit and text[start + length] == value[length]:
        length += 1
    return length


def _replace_spans(text, spans):
    """Replace each run of overlapping or touching spans (sorted by start) with one MASK."""
    if not spans:
        return text
    pieces = []
    position = 0
    run_start, run_end = spans[0]
    for start, end in spans[1:]:
        if start > run_end:
            pieces.extend((text[position:run_start], MASK))
            position = run_end
            run_start, run_end = start, end
        else:
            run_end = max(run_end, end)
    pieces.extend((text[position:run_start], MASK, text[run_end:]))
    return ''.join(pieces)


class NoRunError(RuntimeError):
    """A secret was registered outside any run: a bug, since nothing could mask it later."""


def run_registry():
    """Return the registry of the current run; raise NoRunError when no run has put one in use."""
    registry = _RUN_REGISTRY.get()
    if registry is None:
        raise NoRunError('a secret was registered outside a run (no SecretRegistry is in use); please report this')
    return registry


def register_secret(value):
    """Remember a secret value of this run so that every later ``redact`` of the run masks it in any form
    ``encoded_forms`` knows.

    On ansible-core 2.22 and later the value is also handed to ``ansible.module_utils.secrets``, so the
    controller masks it in every output channel it controls.
    """
    run_registry().add(value)


def registered_secrets():
    """Return this run's secret values (for handing to AnsibleModule.no_log_values); never print them."""
    return run_registry().values()


def run_in_threads(function, items, max_workers):
    """Return ``[function(item) for item in items]``, computed by up to ``max_workers`` threads of this run.

    Each call runs in a copy of the caller's context, so the threads register into and redact with the run's
    registry. With ``start_in_thread``, the only ways the collection starts threads.
    """
    if len(items) == 1:
        # One item (a BatchPipeline's sender sends its envelopes one by one): no thread to start and wait for.
        return [contextvars.copy_context().run(function, items[0])]
    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        futures = [pool.submit(contextvars.copy_context().run, function, item) for item in items]
        return [future.result() for future in futures]


def start_in_thread(function):
    """Start ``function()`` in one thread of this run, in a copy of the caller's context as ``run_in_threads`` does,
    and return its Future at once: ``result()`` waits for it and returns (or raises) what it did."""
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(contextvars.copy_context().run, function)
    finally:
        # the submitted call still runs; the pool only takes no more
        pool.shutdown(wait=False)


def redact(text):
    """Return ``text`` with the run's registered secrets, tokens, assertions and Authorization values masked.

    ``None`` stays ``None``; anything else is turned into text first. Outside a run only the patterns apply.
    """
    if text is None:
        return None
    if not isinstance(text, str):
        text = str(text)
    registry = _RUN_REGISTRY.get()
    if registry is not None:
        text = registry.mask(text)
    if _PATTERN_HINT.search(text):
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
