# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""What Microsoft has deprecated that a run may use, and the one notice each gets."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

COLLECTION_NAME = 'entra.provisioning'
# The beta CSDL of the Global and US Government clouds marks acquireAccessToken, synchronization/secrets,
# synchronizationSecret and validateCredentials deprecated (2026-02-06) with this removal date; v1.0 has no mark.
BETA_SYNCHRONIZATION_REMOVAL_DATE = '2027-07-06'


def beta_deprecation(api_version):
    """Return the ``deprecate()`` arguments (msg, date, collection_name) for ``api_version``, or None.

    Only ``beta`` gets one. The controller shows an identical deprecation once per run, however many tasks or
    hosts raise it, so every module may call this for every task.
    """
    if api_version != 'beta':
        return None
    return dict(
        msg='api_version beta: Microsoft Graph beta marks acquireAccessToken, synchronization/secrets and '
            'validateCredentials deprecated, to be removed on %s (replacements are announced but not defined '
            'yet); use api_version v1.0, which carries no such mark.' % BETA_SYNCHRONIZATION_REMOVAL_DATE,
        date=BETA_SYNCHRONIZATION_REMOVAL_DATE,
        collection_name=COLLECTION_NAME,
    )
