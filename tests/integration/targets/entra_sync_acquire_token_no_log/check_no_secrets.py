# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fail when a secret shows up in the -vvvv output of this target's playbook.

The secrets are read from the fixtures (every credential value, authorization code and client secret) and from the
emulator's config (certificate passwords), and searched in every encoding by the shared scanner
(entra_test_helpers.secret_scan), which also matches access tokens by shape (JWTs). A leak is reported by the
fixture key, line number and encoding, never by printing the secret.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import argparse
import json
import sys

import yaml
from entra_test_helpers.secret_scan import (build_needles, collect_secrets, emulator_secrets, find_leaks, masked,
                                            self_test, too_short)

# Proof that the playbook ran at -vvvv and that module arguments were printed, masked. Each entry is a tuple of
# alternatives: ansible-core 2.22 masks no_log values as $REDACTED$ at output instead of the older placeholder.
REQUIRED_MARKERS = (('ESTABLISH LOCAL CONNECTION',), ('VALUE_SPECIFIED_IN_NO_LOG_PARAMETER', '$REDACTED$'),
                    ('PLAY RECAP',))
MINIMUM_SECRETS = 15


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
    needles = build_needles(secrets)
    with open(arguments.output, errors='replace') as output_file:
        text = output_file.read()
    lines = text.splitlines()

    problems = []
    # Short values would match ordinary text; the fixtures have none, and this keeps it so.
    if too_short(secrets):
        problems.append('fixture values too short to search for: %s' % ', '.join(too_short(secrets)))
    if len(secrets) < MINIMUM_SECRETS:
        problems.append('only %d secrets were collected from the fixtures; expected at least %d'
                        % (len(secrets), MINIMUM_SECRETS))
    problems += self_test(needles, *secrets[0])
    problems += ['the output lacks %s, so it does not prove anything' % ' or '.join(repr(one) for one in markers)
                 for markers in REQUIRED_MARKERS if not any(one in text for one in markers)]
    if arguments.playbook_status != 0:
        problems.append('the playbook failed (exit status %d); its last lines, secrets masked:\n%s'
                        % (arguments.playbook_status, masked('\n'.join(lines[-60:]), needles)))
    leaks = find_leaks(text, needles)
    problems += ['line %d of the -vvvv output holds %s (%s)' % leak for leak in leaks]

    print('checked %d lines of -vvvv output for %d secrets and access tokens: %d leaks'
          % (len(lines), len(secrets), len(leaks)))
    if problems:
        print('\n'.join(problems))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
