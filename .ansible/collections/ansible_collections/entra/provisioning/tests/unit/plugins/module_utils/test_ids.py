# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.entra.provisioning.plugins.module_utils._errors import InvalidInputError
from ansible_collections.entra.provisioning.plugins.module_utils._ids import (
    alternate_key_segment,
    is_guid,
    odata_eq_filter,
    odata_literal,
    path_segment,
    validate_guid,
    validate_tenant,
)


def test_guid_is_returned_lower_case():
    assert validate_guid('AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE', 'object_id') == 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee'


@pytest.mark.parametrize('value', [
    None, '', 'not-a-guid', '{aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee}', 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/../x',
    'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeeg', 'aaaaaaaabbbbccccddddeeeeeeeeeeee', 123,
])
def test_non_guid_is_refused_naming_the_option(value):
    with pytest.raises(InvalidInputError) as caught:
        validate_guid(value, 'object_id')
    assert caught.value.message.startswith('object_id must be a GUID')


def test_is_guid_tells_guid_from_text():
    assert is_guid('aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee')
    assert not is_guid('aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\n')


@pytest.mark.parametrize('tenant', ['contoso.onmicrosoft.com', 'Contoso.OnMicrosoft.us', '11111111-2222-3333-4444-555555555555'])
def test_tenant_accepts_guid_or_domain(tenant):
    assert validate_tenant(tenant) == tenant.lower()


@pytest.mark.parametrize('tenant', ['contoso', 'evil.example/../x', 'a b.com', 'host.example?x=1', '', None])
def test_tenant_refuses_anything_else(tenant):
    with pytest.raises(InvalidInputError):
        validate_tenant(tenant)


def test_odata_literal_doubles_single_quotes():
    assert odata_literal("O'Brien's app") == "'O''Brien''s app'"


def test_eq_filter_escapes_the_value():
    assert odata_eq_filter('displayName', "x' or 1 eq 1 or 'a") == "displayName eq 'x'' or 1 eq 1 or ''a'"


def test_eq_filter_refuses_an_expression_as_property():
    with pytest.raises(InvalidInputError):
        odata_eq_filter('displayName eq 1 or id', 'x')


def test_path_segment_cannot_leave_its_segment():
    assert path_segment('../me?x=1#y') == '..%2Fme%3Fx%3D1%23y'


def test_empty_path_segment_is_refused():
    with pytest.raises(InvalidInputError):
        path_segment('')


def test_alternate_key_is_escaped_and_encoded():
    assert alternate_key_segment('servicePrincipals', 'appId', "a'/b") == "servicePrincipals(appId='a''%2Fb')"


def test_alternate_key_refuses_odd_collection_names():
    with pytest.raises(InvalidInputError):
        alternate_key_segment('servicePrincipals/x', 'appId', 'v')
