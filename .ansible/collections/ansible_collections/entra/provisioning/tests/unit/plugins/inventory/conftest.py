# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures for inventory plugin tests: the controller mark kept to these tests, no AZURE_* variables."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import pytest

from ansible.module_utils import _internal as module_utils_internal

# Importing the controller (ansible.plugins, ansible.errors) marks the whole process as the controller, which sends
# module_utils warnings to the controller's display instead of a module's result. Module tests collected in the
# same run expect module behaviour, so the mark is put back here and set only while an inventory test runs.
_WAS_CONTROLLER = module_utils_internal.is_controller
from ansible.plugins import inventory as _inventory_plugins  # noqa: E402,F401  pylint: disable=unused-import,wrong-import-position
setattr(module_utils_internal, 'is_controller', _WAS_CONTROLLER)


@pytest.fixture(autouse=True)
def as_the_controller(monkeypatch):
    """The plugin runs in ansible-inventory, on the controller."""
    monkeypatch.setattr(module_utils_internal, 'is_controller', True)


@pytest.fixture(autouse=True)
def no_azure_variables(monkeypatch):
    """The machine's AZURE_* variables must not choose credentials or clouds for a test."""
    for variable in list(os.environ):
        if variable.startswith('AZURE_'):
            monkeypatch.delenv(variable)
