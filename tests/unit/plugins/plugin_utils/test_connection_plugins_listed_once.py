# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""connection_plugins_listed_once: ansible-core's connection plugin files are listed once inside the block, and the
loader is as it was after it."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob

from ansible.plugins.loader import connection_loader
from ansible.vars.clean import clean_facts

from ansible_collections.entra.provisioning.plugins.plugin_utils._controller_action import (
    connection_plugins_listed_once,
)


def _counting_globs(monkeypatch):
    calls = []
    real_glob = glob.glob

    def counting(pattern, *args, **kwargs):
        calls.append(pattern)
        return real_glob(pattern, *args, **kwargs)

    monkeypatch.setattr(glob, 'glob', counting)
    return calls


def test_facts_are_cleaned_as_before_with_one_listing(monkeypatch):
    facts = {'ansible_ssh_user': 'x', 'ansible_local': {}, 'authorize_client_id': 'kept',
             'ansible_python_interpreter': 'y'}
    expected = clean_facts(facts)
    calls = _counting_globs(monkeypatch)
    with connection_plugins_listed_once():
        cleaned = [clean_facts(facts) for _host in range(5)]
    listings = len(calls)
    assert cleaned == [expected] * 5
    assert 0 < listings == len(list(connection_loader._get_paths_with_context()))
    assert 'all' not in vars(connection_loader)
    list(connection_loader.all(path_only=True))
    assert len(calls) == 2 * listings


def test_other_calls_pass_through_and_a_block_inside_a_block_restores_the_outer_one():
    with connection_plugins_listed_once():
        outer = connection_loader.all
        with connection_plugins_listed_once():
            pass
        assert connection_loader.all is outer
        assert list(connection_loader.all(class_only=True))
    assert 'all' not in vars(connection_loader)
