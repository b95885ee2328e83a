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
import bisect
import contextlib
import contextvars
import html
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

# Every registered form is indexed by its first characters, and a form of PREFIX_LENGTH or more by its first
# PREFIX_LENGTH characters in sorted order, so masking costs a bounded number of lookups per character of the text
# whatever the number of secrets (a bulk run registers thousands, often sharing a prefix such as a connector's).
_ANCHOR = MIN_REGISTERED_LENGTH
# How much text is first compared with the forms that share its first PREFIX_LENGTH characters.
_FIRST_WINDOW = 64

_SECRET_FIELD_NAMES = (
    'access_token', 'refresh_token', 'id_token', 'client_secret', 'client_assertion', 'assertion',
    'password', 'passphrase', 'client_certificate_password', 'secret',
)
_SECRET_HEADER_NAMES = frozenset(('authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-identity-header'))
_FIELDS = '|'.join(_SECRET_FIELD_NAMES)


# A run of the characters a JWT is made of: base64url segments and the dots between them. Each run is read once and
# searched for tokens with plain string operations; a regular expression that looks for the three segments from every
# "eyJ" backtracks over the whole run each time, which is quadratic ("eyJ-" repeated: 27 s for 256 KB).
_TOKEN_RUN = re.compile(r'[A-Za-z0-9_\-.]+')
_WORD_CHARACTER = re.compile(r'\w')


def _mask_jwts(run):
    """Mask in one run of token characters every ``eyJ<segment>.<segment>.<segment>`` that starts a word.

    A token starts at an ``eyJ`` at the start of the run or after a ``-`` (the only character of a run that ends a
    word), needs at least one more character in its segment, a non-empty second segment and a third one (possibly
    empty), and runs to the end of the third segment.
    """
    if 'eyJ' not in run or run.count('.') < 2:
        return run
    segments = run.split('.')
    starts = []
    position = 0
    for segment in segments:
        starts.append(position)
        position += len(segment) + 1
    pieces = []
    done = 0
    for number in range(len(segments) - 2):
        if starts[number] < done or not segments[number + 1]:
            continue
        begin = _token_start(segments[number])
        if begin is None:
            continue
        pieces.extend((run[done:starts[number] + begin], MASK))
        done = starts[number + 2] + len(segments[number + 2])
    if not pieces:
        return run
    pieces.append(run[done:])
    return ''.join(pieces)


def _token_start(segment):
    """Where in a dot-free ``segment`` the first ``eyJ`` that starts a word and is followed by more begins, or None."""
    found = segment.find('eyJ')
    while found != -1:
        if found + 3 < len(segment) and (found == 0 or not _WORD_CHARACTER.match(segment[found - 1])):
            return found
        found = segment.find('eyJ', found + 1)
    return None


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
    (_TOKEN_RUN, lambda match: _mask_jwts(match.group(0))),
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

    Raw and stripped, upper and lower case, percent-encoded (``quote`` with no safe character and with its default
    ``/``, upper and lower case escapes, ``+`` for spaces or not), JSON-escaped (ASCII or not, once or twice), Python
    repr, HTML-escaped (an HTML error page of a sign-in service), base64 (standard and URL-safe, padded or not, and
    at each of the three byte offsets it can sit at inside a longer encoded text, as the secret of HTTP Basic
    ``client:secret`` does) and hex of its UTF-8 bytes.
    """
    if len(value.strip()) < MIN_REGISTERED_LENGTH:
        # its encodings are longer, but masking them would still point at the value
        return set()
    forms = {value, value.strip(), value.lower(), value.upper()}
    for encoded in (quote(value, safe=''), quote(value), quote_plus(value, safe=''), quote_plus(value)):
        forms.add(encoded)
        forms.add(_PERCENT_ESCAPE.sub(lambda match: match.group(0).lower(), encoded))
    for ensure_ascii in (True, False):
        once = json.dumps(value, ensure_ascii=ensure_ascii)[1:-1]
        forms.add(once)
        forms.add(json.dumps(once, ensure_ascii=ensure_ascii)[1:-1])
    forms.add(repr(value)[1:-1])
    forms.update((html.escape(value, quote=True), html.escape(value, quote=False)))
    raw = value.encode('utf-8', 'surrogatepass')
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        text = encode(raw).decode('ascii')
        forms.add(text)
        forms.add(text.rstrip('='))
        # followed by more bytes, the last group of 4 characters mixes the secret's last bytes with them
        forms.add(text[:len(raw) // 3 * 4])
        for offset in (1, 2):
            # after ``offset`` bytes of something else, the first group of 4 characters mixes those bytes in
            shifted = encode(b'\0' * offset + raw).decode('ascii')
            forms.add(shifted[4:].rstrip('='))
            forms.add(shifted[4:(offset + len(raw)) // 3 * 4])
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
        # anchor (first _ANCHOR characters) of every form -> the lengths below PREFIX_LENGTH of its short forms
        self._anchors = {}
        # length (_ANCHOR to PREFIX_LENGTH - 1) -> the forms of that length
        self._short_forms = {}
        # first PREFIX_LENGTH characters -> (sorted forms that start with them, the longest one's length)
        self._long_forms = {}
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
        grown = {}
        for value, _new_values in self._unindexed:
            for form in encoded_forms(value) - self._forms:
                self._forms.add(form)
                lengths = self._anchors.setdefault(form[:_ANCHOR], ())
                if len(form) < PREFIX_LENGTH:
                    self._short_forms.setdefault(len(form), set()).add(form)
                    if len(form) not in lengths:
                        self._anchors[form[:_ANCHOR]] = lengths + (len(form),)
                else:
                    key = form[:PREFIX_LENGTH]
                    grown.setdefault(key, list(self._long_forms.get(key, ((), 0))[0])).append(form)
        for key, forms in grown.items():
            forms.sort()
            self._long_forms[key] = (tuple(forms), max(len(form) for form in forms))
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
        """Return ``text`` with every remembered form replaced by MASK, and every run of PREFIX_LENGTH characters or
        more that starts a form replaced as far as it continues that form (a server or proxy that cut it short)."""
        with self._lock:
            if self._unindexed:
                self._index_unindexed()
            anchors, short_forms, long_forms = self._anchors, self._short_forms, self._long_forms
            if not anchors or len(text) < _ANCHOR:
                return text
            grams = {text[start:start + _ANCHOR] for start in range(len(text) - _ANCHOR + 1)}
            if grams.isdisjoint(anchors):
                return text
            spans = []
            for start in range(len(text) - _ANCHOR + 1):
                lengths = anchors.get(text[start:start + _ANCHOR])
                if lengths is None:
                    continue
                end = 0
                for length in lengths:
                    if text[start:start + length] in short_forms[length]:
                        end = max(end, start + length)
                group = long_forms.get(text[start:start + PREFIX_LENGTH])
                if group is not None:
                    end = max(end, start + _longest_common_prefix(text, start, group[0], group[1]))
                if end:
                    spans.append((start, end))
        return _replace_spans(text, spans)


def _longest_common_prefix(text, start, forms, longest):
    """The longest common prefix of ``text[start:]`` with any of the sorted ``forms`` (the longest is ``longest``).

    One of the two sorted neighbours of a string has its longest common prefix, so each step is a binary search
    whatever the number of forms; the window of text compared grows fourfold only while every character of it
    matches, so the cost follows the length masked, not the length of the longest form.
    """
    size = _FIRST_WINDOW
    while True:
        window = text[start:start + min(size, longest)]
        position = bisect.bisect_left(forms, window)
        best = 0
        for neighbour in forms[max(position - 1, 0):position + 1]:
            best = max(best, _common_prefix_length(window, neighbour))
        if best < len(window) or size >= longest or len(window) < size:
            return best
        size *= 4


def _common_prefix_length(first, second):
    """Length of the common prefix of two strings, found by halving: O(length) character comparisons in C."""
    limit = min(len(first), len(second))
    if first[:limit] == second[:limit]:
        return limit
    low, high = 0, limit
    while high - low > 1:
        middle = (low + high) // 2
        if first[low:middle] == second[low:middle]:
            low = middle
        else:
            high = middle
    return low


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
