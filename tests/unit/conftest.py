# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures for every unit test."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.entra.provisioning.plugins.module_utils._graph.throttle import forget_shared_throttles


@pytest.fixture(autouse=True)
def fresh_throttles():
    """Each test is a run of its own: no pause or pace learned by an earlier test's tenant carries over."""
    forget_shared_throttles()
    yield
    forget_shared_throttles()
