# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""Build a GraphClient from options: the one factory shared by modules, action plugins and the inventory plugin.

Every caller hands over an OptionAdapter (module params, a plugin's options or a plain dict), so sign-in, cloud,
connection rules and environment fallbacks are the same wherever the collection talks to Graph.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.entra.provisioning.plugins.module_utils._auth.authenticator import Authenticator
from ansible_collections.entra.provisioning.plugins.module_utils._connection_options import ConnectionOptions
from ansible_collections.entra.provisioning.plugins.module_utils._errors import MissingDependencyError
from ansible_collections.entra.provisioning.plugins.module_utils._graph.client import GraphClient
from ansible_collections.entra.provisioning.plugins.module_utils._options import OptionResolver
from ansible_collections.entra.provisioning.plugins.module_utils._graph.retry import RetryPolicy
from ansible_collections.entra.provisioning.plugins.module_utils._graph.session import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    build_session,
)
from ansible_collections.entra.provisioning.plugins.module_utils._graph.throttle import shared_throttle


def build_graph_client(option_adapter, environ=None, max_concurrency=None, retry_policy=None):
    """Build a ready ``GraphClient`` from options (an OptionAdapter), checking them without network traffic.

    ``environ`` replaces ``os.environ`` for the fallbacks; ``max_concurrency`` sizes the pool for $batch;
    ``retry_policy`` (a RetryPolicy) lets tests inject ``sleep``. Every client of the process for the same Graph
    endpoint, tenant and client id shares one throttle. Raises EntraError subclasses only.
    """
    if not HAS_REQUESTS:
        raise MissingDependencyError('The requests Python library is required; install requests on the host that '
                                     'runs the module.', library='requests', import_error=REQUESTS_IMPORT_ERROR)
    resolver = OptionResolver(option_adapter, environ=environ)
    settings = ConnectionOptions(resolver).settings(max_concurrency=max_concurrency)
    session = build_session(settings)
    retry_policy = retry_policy or RetryPolicy(settings.max_retries)
    authenticator = Authenticator(resolver, settings, session, retry_policy=retry_policy)
    authenticator.validate()
    throttle = shared_throttle(settings.graph_base_url, resolver.get('tenant_id'), resolver.get('client_id'))
    return GraphClient(settings, authenticator, session, retry_policy=retry_policy, throttle=throttle)
