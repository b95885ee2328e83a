"""Sign-in side of a cloud: OIDC discovery, the v2 token endpoint (client credentials) and the
App Service style managed identity endpoint."""

import base64
import hmac
import time
import urllib.parse
import uuid

from .constants import GRAPH_APP_ID, GRAPH_ROOTS, JWT_BEARER_ASSERTION_TYPE
from .state import utc_timestamp
from .tokens import AssertionRejected, unverified_claims, verify_certificate_assertion, verify_federated_assertion

JSON = {"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store, no-cache"}
MSI_API_VERSION = "2019-08-01"


def aadsts_error(base_url, status, error, code, description, correlation_id):
    """An error answer of the token endpoint: (status, headers, body) in Entra's JSON shape."""
    trace_id = str(uuid.uuid4())
    timestamp = utc_timestamp().replace("T", " ")
    body = {
        "error": error,
        "error_description": "AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s"
                             % (code, description, trace_id, correlation_id, timestamp),
        "error_codes": [code],
        "timestamp": timestamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": "%s/error?code=%d" % (base_url, code),
    }
    headers = dict(JSON, **{"x-ms-request-id": trace_id, "client-request-id": correlation_id})
    return status, headers, body


def _unknown_tenant(base_url, reference, correlation_id):
    return aadsts_error(
        base_url, 400, "invalid_request", 90002,
        "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct"
        " cloud. Check with your subscription administrator, this may happen if there are no active subscriptions"
        " for the tenant." % reference, correlation_id)


def tenant_for_cloud(state, cloud, reference):
    """The tenant named in a sign-in URL if it belongs to this listener's cloud, else None."""
    tenant = state.find_tenant(reference)
    if tenant is None or tenant.cloud != cloud:
        return None
    return tenant


def openid_configuration(state, cloud, reference, correlation_id):
    """GET /{tenant}/v2.0/.well-known/openid-configuration."""
    base_url = state.listener_urls[cloud]
    tenant = tenant_for_cloud(state, cloud, reference)
    if tenant is None:
        status, headers, body = _unknown_tenant(base_url, reference, correlation_id)
        # Discovery answers with a shorter body than the token endpoint, but the same error and code.
        body["error"] = "invalid_tenant"
        return status, headers, body
    root = "%s/%s" % (base_url, tenant.id)
    body = {
        "token_endpoint": root + "/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": root + "/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": root + "/v2.0",
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": base_url + "/oidc/userinfo",
        "authorization_endpoint": root + "/oauth2/v2.0/authorize",
        "device_authorization_endpoint": root + "/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": root + "/oauth2/v2.0/logout",
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "ver", "oid", "appid", "roles"],
        "tenant_region_scope": "NA",
        "cloud_instance_name": "emulator.invalid",
        "cloud_graph_host_name": "graph.emulator.invalid",
        "msgraph_host": urllib.parse.urlsplit(base_url).netloc,
        "rbac_url": "https://pas.emulator.invalid",
    }
    return 200, JSON, body


def jwks(state):
    """GET /{tenant}/discovery/v2.0/keys: the key that signs the emulator's access tokens."""
    return 200, JSON, {"keys": [state.tokens.key.jwk()]}


def _resource_of_scope(scope):
    """Split a `.default` scope into its resource; None if it is not a `.default` scope."""
    if not scope.endswith("/.default"):
        return None
    resource = scope[: -len("/.default")].rstrip("/")
    return GRAPH_ROOTS["global"] if resource == GRAPH_APP_ID else resource


def _basic_credentials(authorization_header):
    if not authorization_header or not authorization_header.lower().startswith("basic "):
        return None, None
    try:
        decoded = base64.b64decode(authorization_header[6:].strip()).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None, None
    client_id, _colon, secret = decoded.partition(":")
    return urllib.parse.unquote_plus(client_id), urllib.parse.unquote_plus(secret)


def token_request(state, cloud, reference, form, authorization_header, correlation_id):
    """POST /{tenant}/oauth2/v2.0/token with grant_type=client_credentials.

    Returns (status, headers, body, facts) where facts carry what the log and counters need.
    """
    base_url = state.listener_urls[cloud]
    facts = {"tenant_id": None, "client_id": form.get("client_id")}
    tenant = tenant_for_cloud(state, cloud, reference)
    if tenant is None:
        return _unknown_tenant(base_url, reference, correlation_id) + (facts,)
    facts["tenant_id"] = tenant.id

    def fail(status, error, code, description):
        return aadsts_error(base_url, status, error, code, description, correlation_id) + (facts,)

    grant_type = form.get("grant_type")
    if not grant_type:
        return fail(400, "invalid_request", 900144,
                    "The request body must contain the following parameter: 'grant_type'.")
    if grant_type != "client_credentials":
        return fail(400, "unsupported_grant_type", 70003,
                    "The app requested an unsupported grant type '%s'." % grant_type)
    basic_id, basic_secret = _basic_credentials(authorization_header)
    client_id = form.get("client_id") or basic_id
    facts["client_id"] = client_id
    if not client_id:
        return fail(400, "invalid_request", 900144,
                    "The request body must contain the following parameter: 'client_id'.")
    principal = state.clients.get((tenant.id, client_id.lower()))
    if principal is None:
        return fail(400, "unauthorized_client", 700016,
                    "Application with identifier '%s' was not found in the directory '%s'. This can happen if the"
                    " application has not been installed by the administrator of the tenant or consented to by any"
                    " user in the tenant. You may have sent your authentication request to the wrong tenant."
                    % (client_id, tenant.display_name))
    scope = form.get("scope")
    if not scope:
        return fail(400, "invalid_request", 900144,
                    "The request body must contain the following parameter: 'scope'.")
    scopes = scope.split()
    resources = {_resource_of_scope(item) for item in scopes}
    if None in resources:
        return fail(400, "invalid_scope", 1002012,
                    "The provided value for scope %s is not valid. Client credential flows must have a scope value"
                    " with /.default suffixed to the resource identifier (application ID URI)." % scope)
    if len(resources) != 1:
        return fail(400, "invalid_scope", 70011,
                    "The provided request must include a 'scope' input parameter. The provided value for the input"
                    " parameter 'scope' is not valid. The scope %s is not valid." % scope)
    resource = resources.pop()
    if resource != GRAPH_ROOTS[cloud]:
        return fail(400, "invalid_resource", 500011,
                    "The resource principal named %s was not found in the tenant named %s. This can happen if the"
                    " application has not been installed by the administrator of the tenant or consented to by any"
                    " user in the tenant. You might have sent your authentication request to the wrong tenant."
                    % (resource, tenant.display_name))
    secret = form.get("client_secret") or basic_secret
    assertion = form.get("client_assertion")
    now = time.time()
    if secret:
        if not any(hmac.compare_digest(secret.encode("utf-8"), known.encode("utf-8"))
                   for known in principal.secrets):
            return fail(401, "invalid_client", 7000215,
                        "Invalid client secret provided. Ensure the secret being sent in the request is the client"
                        " secret value, not the client secret ID, for a secret added to app '%s'." % client_id)
        method = "1"
        facts["credential"] = "secret"
    elif assertion:
        if form.get("client_assertion_type") != JWT_BEARER_ASSERTION_TYPE:
            return fail(400, "invalid_request", 50027,
                        "client_assertion_type must be '%s'." % JWT_BEARER_ASSERTION_TYPE)
        token_endpoint = "%s/%s/oauth2/v2.0/token" % (base_url, reference)
        try:
            header, claims = unverified_claims(assertion)
            if claims.get("iss") == client_id:
                endpoints = {token_endpoint, "%s/%s/oauth2/v2.0/token" % (base_url, tenant.id)}
                audience = claims.get("aud")
                expected = audience if audience in endpoints else token_endpoint
                verify_certificate_assertion(assertion, header, client_id, principal.certificates, expected, now)
                facts["credential"] = "certificate"
            else:
                verify_federated_assertion(assertion, state.federation, principal.federated_credentials, now)
                facts["credential"] = "federated"
        except AssertionRejected as rejected:
            return fail(rejected.status, rejected.error, rejected.aadsts, rejected.description)
        method = "2"
    else:
        return fail(401, "invalid_client", 7000216,
                    "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials'"
                    " grant type.")
    token, lifetime, _expires_on = state.issue_access_token(principal, cloud, method)
    body = {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token}
    headers = dict(JSON, **{"x-ms-request-id": str(uuid.uuid4()), "client-request-id": correlation_id})
    return 200, headers, body, facts


def _msi_error(status, message):
    return status, JSON, {"statusCode": status, "message": message, "correlationId": str(uuid.uuid4())}


def managed_identity_token(state, tenant_reference, query, identity_header):
    """GET /msi/token (or /msi/{tenant}/token) as App Service's identity endpoint answers it.

    Returns (status, headers, body, facts).
    """
    facts = {"tenant_id": None, "client_id": query.get("client_id")}
    if not identity_header or not hmac.compare_digest(identity_header.encode("utf-8"),
                                                      state.msi_header.encode("utf-8")):
        return _msi_error(400, "The X-IDENTITY-HEADER header is missing or does not match.") + (facts,)
    if query.get("api-version") != MSI_API_VERSION:
        return _msi_error(400, "api-version must be %s." % MSI_API_VERSION) + (facts,)
    resource = (query.get("resource") or "").rstrip("/")
    if not resource:
        return _msi_error(400, "The resource parameter is required.") + (facts,)
    principal = None
    if query.get("client_id"):
        principal = state.identities_by_client_id.get(query["client_id"].lower())
    elif query.get("object_id") or query.get("principal_id"):
        principal = state.identities_by_object_id.get((query.get("object_id") or query["principal_id"]).lower())
    elif query.get("mi_res_id"):
        client_id = query["mi_res_id"].rstrip("/").rsplit("/", 1)[-1].lower()
        principal = state.identities_by_client_id.get(client_id)
    elif tenant_reference:
        tenant = state.find_tenant(tenant_reference)
        principal = state.system_identities.get(tenant.id) if tenant else None
    else:
        principal = state.default_system_identity
    if principal is None:
        return _msi_error(400, "No managed identity was found for the requested identity.") + (facts,)
    facts.update(tenant_id=principal.tenant.id, client_id=principal.client_id, credential="managed_identity")
    cloud = principal.tenant.cloud
    if resource == GRAPH_APP_ID:
        resource = GRAPH_ROOTS["global"]
    if resource != GRAPH_ROOTS[cloud]:
        return _msi_error(
            400, "AADSTS500011: The resource principal named %s was not found in the tenant named %s."
            % (resource, principal.tenant.display_name)) + (facts,)
    token, _lifetime, expires_on = state.issue_access_token(principal, cloud, "2")
    body = {"access_token": token, "expires_on": str(expires_on), "resource": resource, "token_type": "Bearer",
            "client_id": principal.client_id}
    return 200, JSON, body, facts
