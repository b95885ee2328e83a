# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The role's ansible-doc page (roles/authorize/meta/argument_specs.yml) against what the action validates."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import pytest
import yaml

from ansible_collections.entra.provisioning.plugins.module_utils._role_hosts import BOUNDS, ROLE_SPEC, variable

ARGUMENT_SPECS = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'roles', 'authorize', 'meta',
                              'argument_specs.yml')


def documented():
    with open(ARGUMENT_SPECS) as specs:
        return yaml.safe_load(specs)['argument_specs']


def test_no_main_entry_point_so_ansible_core_adds_no_task_per_host():
    # ansible-core prepends a validate_argument_spec task, run on every host, only for the entry point the role is
    # entered by: `main` under roles:.
    assert list(documented()) == ['authorize']


def test_every_variable_the_action_validates_is_documented_and_no_other():
    assert sorted(documented()['authorize']['options']) == sorted(variable(option) for option in ROLE_SPEC)


@pytest.mark.parametrize('option', sorted(ROLE_SPEC))
def test_each_variable_is_documented_as_it_is_validated(option):
    page = documented()['authorize']['options'][variable(option)]
    spec = ROLE_SPEC[option]
    assert page.get('type', 'str') == spec.get('type', 'str')
    assert page.get('default') == spec.get('default')
    assert page.get('choices') == spec.get('choices')
    assert bool(page.get('no_log')) == bool(spec.get('no_log'))
    assert page.get('description')


@pytest.mark.parametrize('option', sorted(BOUNDS))
def test_each_bound_is_documented(option):
    lowest, highest = BOUNDS[option]
    words = '%d or more' % lowest if highest is None else 'from %d to %d' % (lowest, highest)
    description = documented()['authorize']['options'][variable(option)]['description']
    text = ' '.join(description) if isinstance(description, list) else description
    assert words in text.lower()
