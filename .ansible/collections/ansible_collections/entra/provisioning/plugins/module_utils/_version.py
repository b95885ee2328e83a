# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""The collection's own name and version, for the User-Agent header."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

COLLECTION_NAME = 'entra.provisioning'

# An installed collection has no galaxy.yml to read at run time; a unit test keeps this equal to galaxy.yml.
COLLECTION_VERSION = '0.1.0'
