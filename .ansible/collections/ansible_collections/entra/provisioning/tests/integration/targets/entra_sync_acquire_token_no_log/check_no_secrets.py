# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fail when a secret shows up in the -vvvv output of this target's playbook.

The secrets are read from the fixtures (every credential value, authorization code and client secret), from the
emulator's config (certificate passwords) and matched by shape (access tokens are JWTs). A leak is reported by
the fixture key and line number, never by printing the secret.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import argparse
import json
import re
import sys

import yaml

JWT = re.compile(r'eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*')
SECRET_KEY = re.compile(r'(^value$|^codes$|secret|password|_code$|_value$|_token$)', re.IGNORECASE)
# Proof that the playbook ran at -vvvv and that module arguments were printed, masked. Each entry is a tuple of
# alternatives: ansible-core 2.22 masks no_log values as $REDACTED$ at output instead of the older placeholder.
REQUIRED_MARKERS = (('ESTABLISH LOCAL CONNECTION',), ('VALUE_SPECIFIED_IN_NO_LOG_PARAMETER', '$REDACTED$'),
                    ('PLAY RECAP',))
MINIMUM_SECRETS = 15


def collect_secrets(data, path, found):
    """Add (path, value) for every string under a key that names a secret, at any depth."""
    if isinstance(data, dict):
        for key, value in data.items():
            child = '%s.%s' % (path, key) if path else str(key)
            if SECRET_KEY.search(str(key)):
                add_strings(value, child, found)
            else:
                collect_secrets(value, child, found)
    elif isinstance(data, list):
        for position, item in enumerate(data):
            collect_secrets(item, '%s[%d]' % (path, position), found)


def add_strings(value, path, found):
    """Add every string in ``value`` (a string or a list of them) as a secret found at ``path``."""
    if isinstance(value, str):
        found.append((path, value))
    elif isinstance(value, list):
        for position, item in enumerate(value):
            add_strings(item, '%s[%d]' % (path, position), found)


def emulator_secrets(config):
    """The certificate passwords and the managed identity header the emulator handed out."""
    emulator = config['emulator']
    found = [('emulator.certificates.%s.pfx_password' % client_id, certificate['pfx_password'])
             for client_id, certificate in emulator['certificates'].items()]
    found.append(('emulator.managed_identity.header', emulator['managed_identity']['header']))
    return found


def find_leaks(lines, secrets):
    """Return (line number, what) for each secret or token found in ``lines``."""
    leaks = []
    for number, line in enumerate(lines, 1):
        for path, value in secrets:
            if value in line:
                leaks.append((number, path))
        if JWT.search(line):
            leaks.append((number, 'an access token (JWT)'))
    return leaks


def self_test(secrets):
    """Make sure the scanner would catch a leak; a checker that cannot fail proves nothing."""
    planted = ['ok line', 'a leak: %s here' % secrets[0][1],
               'Bearer eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwcyJ9.c2lnbmF0dXJl']
    return find_leaks(planted, secrets) == [(2, secrets[0][0]), (3, 'an access token (JWT)')]


def masked(line, secrets):
    """A line with every secret and token replaced, safe to print."""
    for _path, value in secrets:
        line = line.replace(value, '********')
    return JWT.sub('********', line)


def main():
    """Check the output file; exit non-zero with a reason when a secret leaked or the run proves nothing."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--output', required=True)
    parser.add_argument('--playbook-status', type=int, required=True)
    parser.add_argument('--emulator-config', required=True)
    parser.add_argument('--fixtures', action='append', required=True)
    arguments = parser.parse_args()

    secrets = []
    for path in arguments.fixtures:
        with open(path) as fixture_file:
            collect_secrets(yaml.safe_load(fixture_file), '', secrets)
    with open(arguments.emulator_config) as config_file:
        secrets += emulator_secrets(json.load(config_file))
    # Short values would match ordinary text; the fixtures have none, and this keeps it so.
    too_short = [path for path, value in secrets if len(value) < 8]
    with open(arguments.output, errors='replace') as output_file:
        lines = output_file.read().splitlines()

    problems = []
    if too_short:
        problems.append('fixture values too short to search for: %s' % ', '.join(too_short))
    if len(secrets) < MINIMUM_SECRETS:
        problems.append('only %d secrets were collected from the fixtures; expected at least %d'
                        % (len(secrets), MINIMUM_SECRETS))
    if not self_test(secrets):
        problems.append('the scanner did not find a planted secret')
    text = '\n'.join(lines)
    problems += ['the output lacks %s, so it does not prove anything' % ' or '.join(repr(one) for one in markers)
                 for markers in REQUIRED_MARKERS if not any(one in text for one in markers)]
    if arguments.playbook_status != 0:
        problems.append('the playbook failed (exit status %d); its last lines, secrets masked:\n%s'
                        % (arguments.playbook_status, '\n'.join(masked(line, secrets) for line in lines[-60:])))
    leaks = find_leaks(lines, secrets)
    problems += ['line %d of the -vvvv output holds %s' % (number, what) for number, what in leaks]

    print('checked %d lines of -vvvv output for %d secrets and access tokens: %d leaks'
          % (len(lines), len(secrets), len(leaks)))
    if problems:
        print('\n'.join(problems))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
