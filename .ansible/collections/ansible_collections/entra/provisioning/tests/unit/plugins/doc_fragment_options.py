# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The shared options as the doc fragments document them, for tests that compare them with argument specs."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import yaml

from ansible_collections.entra.provisioning.plugins.doc_fragments.auth import ModuleDocFragment as AuthFragment
from ansible_collections.entra.provisioning.plugins.doc_fragments.connection import (
    ModuleDocFragment as ConnectionFragment,
)
from ansible_collections.entra.provisioning.plugins.doc_fragments.targets import ModuleDocFragment as TargetsFragment


def shared_documented_options():
    """Return the options of the auth and connection fragments, merged (they never share a name)."""
    auth = yaml.safe_load(AuthFragment.DOCUMENTATION)['options']
    connection = yaml.safe_load(ConnectionFragment.DOCUMENTATION)['options']
    assert not set(auth) & set(connection)
    return dict(auth, **connection)


def with_target_options(own_options):
    """Return a module's own documented options plus the targets fragment's (they must never share a name)."""
    targets = yaml.safe_load(TargetsFragment.DOCUMENTATION)['options']
    assert not set(own_options) & set(targets)
    return dict(own_options, **targets)
