# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    """The cloud and connection options of every entra.provisioning module and plugin
    (module_utils/_connection_options.py)."""

    # Keep in step with ConnectionOptions.ARGSPEC; a unit test compares them.
    DOCUMENTATION = r'''
options:
  cloud:
    description:
      - The national cloud of the tenant. It decides the Graph endpoint, the sign-in host and the token audience.
      - V(global) is the global service (also GCC moderate), V(usgov) is US Gov L4 (GCC High), V(usgov_dod) is
        US Gov L5 (DoD) and V(china) is the cloud operated by 21Vianet.
      - Names from other tools are accepted too, in any case. For V(global) these are V(AzureCloud),
        V(AzurePublicCloud) and V(public). For V(usgov) V(AzureUSGovernment), V(usgovernment), V(usgovernmentl4)
        and V(gcchigh). For V(usgov_dod) V(dod), V(usgovernmentl5) and V(USGovDoD). For V(china)
        V(AzureChinaCloud).
      - If not set, the environment variable E(AZURE_CLOUD_ENVIRONMENT) is used (set by the AWX Azure
        credential), and without it V(global).
    type: str
    version_added: 0.1.0
  graph_endpoint:
    description:
      - Send Graph requests to this URL instead of the cloud's Graph endpoint, for example a proxy or a private
        endpoint. The version (O(api_version)) is appended; a URL that already ends in C(/v1.0) or C(/beta) has
        that part removed, with a warning.
      - The token is still requested for the cloud's own Graph (scope C(<graph root of cloud>/.default)).
      - Must be HTTPS, except for a loopback address (plain HTTP to a loopback address never goes through a
        proxy from the environment). Another cloud's Graph is refused. Any URL that is not the cloud's own Graph
        gives a warning, since the bearer token is sent there.
      - Redirects are never followed, here or at the sign-in host; a redirect fails the request, naming where
        it pointed.
    type: str
    version_added: 0.1.0
  authority_host:
    description:
      - Sign in at this host instead of the cloud's sign-in host, for example V(https://login.microsoftonline.us).
        Instance discovery is turned off for a host that is not the cloud's own.
      - Must be HTTPS, even for a loopback address. A known sign-in host of another cloud than O(cloud) is
        refused. Any host that is not the cloud's own gives a warning, since the client credential is sent there.
      - If not set, the environment variable E(AZURE_AUTHORITY_HOST) is used; from the environment alone only a
        Microsoft sign-in host (or a loopback address) is accepted, so another host must be given as this option.
    type: str
    version_added: 0.1.0
  api_version:
    description:
      - The Graph API version to call.
    type: str
    choices: [v1.0, beta]
    default: v1.0
    version_added: 0.1.0
  timeout:
    description:
      - Seconds to wait for Graph or the sign-in service to answer one request.
      - Connecting may take at most 10 seconds of it.
    type: int
    default: 30
    version_added: 0.1.0
  max_retries:
    description:
      - How many times a throttled or transiently failed request is sent again (HTTP 429, 503, 504 and 409
        C(Directory_ConcurrencyViolation), and failures to connect).
      - The wait honours C(Retry-After), else grows exponentially with jitter up to 60 seconds.
      - Every request of the run to the same tenant with the same client waits out a C(Retry-After) that one of them
        was given (429, or 503 naming a wait), and from then on they go at the pace the tenant accepts, each C($batch)
        item counted as one request, as Graph counts them.
      - A request that is not idempotent is never repeated after it may have reached Graph; the failure then
        says its outcome is unknown.
    type: int
    default: 5
    version_added: 0.1.0
  validate_certs:
    description:
      - Whether to check the TLS certificates of Graph and the sign-in service.
      - V(false) wins over E(REQUESTS_CA_BUNDLE) and E(CURL_CA_BUNDLE). Use it only for tests.
    type: bool
    default: true
    version_added: 0.1.0
  ca_path:
    description:
      - A PEM file (or hashed directory) of CA certificates to trust for Graph and the sign-in service.
        A file without a PEM certificate, or a directory without C(openssl rehash) links, is refused before
        any request.
      - It wins over E(REQUESTS_CA_BUNDLE) and E(CURL_CA_BUNDLE). Without it those variables, when set, choose
        the bundle, otherwise the bundle of the Python C(certifi) package is used.
      - Ignored when O(validate_certs=false).
    type: path
    version_added: 0.1.0
notes:
  - Proxies are taken from the standard environment variables (E(HTTPS_PROXY), E(NO_PROXY)), except for plain
    HTTP to a loopback address.
  - Secrets from options, environment variables and files are kept out of results, warnings and error messages,
    also when they are given in a shape the module refuses. See C(docs/security.md) for what is masked where
    and what ansible-core itself prints.
requirements:
  - requests >= 2.32.2
  - msal >= 1.35.0 (certificate sign-in needs its public_certificate support)
'''
