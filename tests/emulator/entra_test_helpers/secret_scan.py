"""One scanner for secrets in whatever a run leaves behind: playbook output, log files, callbacks' files, registered
results, ansible-runner's artifacts.

The secrets are (label, value) pairs: every string under a key that names a secret in the fixtures (``collect_secrets``),
what the emulator handed out (``emulator_secrets``), or what a test gives. Each is searched raw and in every encoding
a library or server may turn it into (percent, JSON, repr, XML, base64, hex, each line of a multi-line value, a long
prefix); any JWT counts as an access token. A leak is reported by place, secret label and encoding, never by printing
the secret, and ``self_test`` proves the scan finds a planted leak of each encoding, so it cannot pass by being blind.
"""

import base64
import binascii
import html
import json
import os
import re
import tempfile
from urllib.parse import quote, quote_plus

JWT = re.compile(r'eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*')
# Keys whose values are secrets in the fixtures (credential values, codes, client secrets, the canaries).
SECRET_KEY = re.compile(r'(^value$|^codes$|secret|password|_code$|_value$|_token$|^canary_)', re.IGNORECASE)
PREFIX_LENGTH = 12
# Shorter forms would match ordinary text; a secret must be at least this long to be searched for.
SHORTEST_FORM = 8
JWT_LABEL = 'an access token'
PLANTED_JWT = 'Bearer eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwcyJ9.c2lnbmF0dXJl'


def collect_secrets(data, path='', found=None):
    """Return ``found`` (a new list by default) with (path, value) added for every string under a key that names a
    secret, at any depth of ``data``."""
    found = [] if found is None else found
    if isinstance(data, dict):
        for key, value in data.items():
            child = '%s.%s' % (path, key) if path else str(key)
            if SECRET_KEY.search(str(key)):
                _add_strings(value, child, found)
            else:
                collect_secrets(value, child, found)
    elif isinstance(data, list):
        for position, item in enumerate(data):
            collect_secrets(item, '%s[%d]' % (path, position), found)
    return found


def _add_strings(value, path, found):
    if isinstance(value, str):
        found.append((path, value))
    elif isinstance(value, list):
        for position, item in enumerate(value):
            _add_strings(item, '%s[%d]' % (path, position), found)


def emulator_secrets(config):
    """The certificate passwords and the managed identity header the emulator handed out, from the integration
    config (``{"emulator": info}``)."""
    emulator = config['emulator']
    found = [('emulator.certificates.%s.pfx_password' % client_id, certificate['pfx_password'])
             for client_id, certificate in emulator['certificates'].items()]
    found.append(('emulator.managed_identity.header', emulator['managed_identity']['header']))
    return found


def too_short(secrets):
    """The labels of secrets too short to be searched for (a test should not have any)."""
    return [label for label, value in secrets if len(value) < SHORTEST_FORM]


def encodings(value):
    """Return {encoding name: form} for the forms ``value`` may take in output."""
    raw = value.encode('utf-8')
    forms = {
        'raw': value,
        'percent': quote(value, safe=''),
        'percent, lower case': re.sub(r'%[0-9A-F]{2}', lambda match: match.group(0).lower(), quote(value, safe='')),
        'form encoding': quote_plus(value, safe=''),
        'JSON': json.dumps(value)[1:-1],
        'JSON with non-ASCII kept': json.dumps(value, ensure_ascii=False)[1:-1],
        'double JSON': json.dumps(json.dumps(value))[1:-1],
        'repr': repr(value)[1:-1],
        'XML': html.escape(value, quote=True),
        'base64': base64.b64encode(raw).decode('ascii').rstrip('='),
        'URL-safe base64': base64.urlsafe_b64encode(raw).decode('ascii').rstrip('='),
        'hex': binascii.hexlify(raw).decode('ascii'),
        'HEX': binascii.hexlify(raw).decode('ascii').upper(),
    }
    for line_number, line in enumerate(value.splitlines()):
        # a multi-line value printed as it is shows up one line at a time
        forms['line %d' % (line_number + 1)] = line
    if len(value) > PREFIX_LENGTH + 3:
        forms['prefix'] = value[:PREFIX_LENGTH]
    return {name: form for name, form in forms.items() if len(form) >= SHORTEST_FORM}


def build_needles(secrets):
    """Return [(form, secret label, encoding)] for (label, value) pairs, without duplicates, longest first."""
    needles = {}
    for label, value in secrets:
        for name, form in encodings(value).items():
            needles.setdefault(form, (label, name))
    return sorted(((form, label, name) for form, (label, name) in needles.items()), key=lambda item: -len(item[0]))


def find_leaks(text, needles):
    """Return [(line number, secret label, encoding)] for every form of a secret, and every JWT, in ``text``."""
    leaks = []
    for number, line in enumerate(text.splitlines(), 1):
        for form, label, name in needles:
            if form in line:
                leaks.append((number, label, name))
        if JWT.search(line):
            leaks.append((number, JWT_LABEL, 'JWT'))
    return leaks


def scan_tree(root, needles, only=None):
    """Return [(relative path, line, label, encoding)] over every file below ``root`` (or the one named)."""
    leaks = []
    for directory, _subdirectories, files in os.walk(root):
        for name in files:
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, root)
            if only is not None and relative != only:
                continue
            with open(path, 'rb') as handle:
                text = handle.read().decode('utf-8', 'replace')
            leaks.extend((relative, number, label, encoding) for number, label, encoding in find_leaks(text, needles))
    return leaks


def masked(text, needles):
    """``text`` with every form of every secret, and every JWT, replaced: safe to print."""
    for form, _label, _name in needles:
        text = text.replace(form, '********')
    return JWT.sub('********', text)


def self_test(needles, label, value):
    """Plant each encoding of one secret (and a JWT) in a file of its own and return what the scan missed.

    One file per encoding: a form may hold a newline (XML keeps it), so line numbers would not say which."""
    problems = []
    with tempfile.TemporaryDirectory(prefix='secret-scan-self-test-') as planted_dir:
        for number, (name, form) in enumerate(sorted(encodings(value).items())):
            file_name = '%02d.txt' % number
            with open(os.path.join(planted_dir, file_name), 'w') as planted:
                planted.write('some output before %s and after\n' % form)
            if not any(leak[2] == label for leak in scan_tree(planted_dir, needles, only=file_name)):
                problems.append('the scan missed the %s form of %s' % (name, label))
        with open(os.path.join(planted_dir, 'jwt.txt'), 'w') as planted:
            planted.write(PLANTED_JWT + '\n')
        if not any(leak[3] == 'JWT' for leak in scan_tree(planted_dir, needles, only='jwt.txt')):
            problems.append('the scan missed a planted JWT')
    return problems
