# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Paging stops on a next link seen before and at the bound of a listing (issue 24)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

import pytest
import responses

from ansible_collections.entra.provisioning.plugins.module_utils._graph import client as _graph_client
from ansible_collections.entra.provisioning.plugins.module_utils._errors import EntraError
from ansible_collections.entra.provisioning.tests.unit.plugins.module_utils.helpers import make_client

GRAPH = 'https://graph.microsoft.com/v1.0'
LISTING = GRAPH + '/servicePrincipals'


@pytest.fixture
def client(retry_policy):
    return make_client(retry_policy=retry_policy)


def test_a_next_link_that_points_back_to_its_own_page_stops_the_listing(http, client):
    http.add(responses.GET, LISTING, json={'value': [1], '@odata.nextLink': LISTING + '?$skiptoken=a'})
    http.add(responses.GET, LISTING + '?$skiptoken=a', json={'value': [2], '@odata.nextLink': LISTING + '?$skiptoken=a'})
    with pytest.raises(EntraError) as caught:
        client.get_all('servicePrincipals?$select=id')
    assert len(http.calls) == 2
    assert caught.value.message.startswith('Listing servicePrincipals: page 2 gave as @odata.nextLink the link of '
                                           'an earlier page')


def test_a_loop_over_several_pages_stops_too(http, client):
    links = [LISTING + '?$skiptoken=%s' % name for name in 'abc']
    http.add(responses.GET, LISTING, json={'value': [0], '@odata.nextLink': links[0]})
    for number, link in enumerate(links):
        http.add(responses.GET, link, json={'value': [number], '@odata.nextLink': links[(number + 1) % 3]})
    with pytest.raises(EntraError, match='link of an earlier page'):
        client.get_all('servicePrincipals')
    assert len(http.calls) == 4


def _endless_pages(http, items_per_page):
    def next_page(request):
        number = int(re.search(r'page=(\d+)', request.url).group(1)) if 'page=' in request.url else 0
        body = '{"value": [%s], "@odata.nextLink": "%s?page=%d"}' % (
            ','.join(['1'] * items_per_page), LISTING, number + 1)
        return 200, {'Content-Type': 'application/json'}, body
    http.add_callback(responses.GET, re.compile(re.escape(LISTING) + r'.*'), callback=next_page)


def test_a_listing_stops_past_its_bound_of_items(http, client, monkeypatch):
    monkeypatch.setattr(_graph_client, 'MAX_LISTING_ITEMS', 25)
    _endless_pages(http, items_per_page=10)
    seen = []
    with pytest.raises(EntraError) as caught:
        for item in client.iter_items('servicePrincipals'):
            seen.append(item)
    # the third page crosses the bound: it is refused whole, and no request follows it
    assert len(seen) == 20 and len(http.calls) == 3
    assert 'Graph kept sending pages past 25 items or 10000 pages (30 items in 3 pages so far)' in caught.value.message


def test_empty_pages_without_end_stop_at_the_bound_of_pages(http, client, monkeypatch):
    monkeypatch.setattr(_graph_client, 'MAX_LISTING_PAGES', 50)
    _endless_pages(http, items_per_page=0)
    with pytest.raises(EntraError, match=r'past 1000000 items or 50 pages \(0 items in 51 pages so far\)'):
        client.get_all('servicePrincipals')
    assert len(http.calls) == 51


def test_the_bounds_cover_the_largest_tenant_at_graphs_default_page_size():
    # Entra's directory quota tops out at 300,000 objects without a support request; the bound is several times
    # that, and enough pages for it at Graph's default page of 100 directory objects.
    assert _graph_client.MAX_LISTING_ITEMS >= 3 * 300000
    assert _graph_client.MAX_LISTING_PAGES * 100 >= _graph_client.MAX_LISTING_ITEMS
