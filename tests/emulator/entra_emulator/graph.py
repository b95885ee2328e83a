"""Microsoft Graph side of a cloud: service principals, applications, the synchronization API and $batch.

Handlers are plain functions of a `GraphCall` returning (status, headers, body); the HTTP layer (server.py)
adds transport faults, latency and logging, and $batch reuses the same dispatcher for each item.
"""

import base64
import copy
import json
import random
import re
import time
import urllib.parse
import uuid

from .constants import AUTHORIZATION_CODE_KEY, DEFAULT_PAGE_SIZE, DIRECTORY_READ_PERMISSIONS, MAX_BATCH_REQUESTS
from .constants import MAX_PAGE_SIZE, PERMISSION_OWNED_BY, PERMISSION_SYNC_ALL, PERMISSION_SYNC_READ_ALL
from .constants import SENSITIVE_SECRET_KEYS, SYNCHRONIZATION_SECRET_KEYS
from .faults import retry_after_header, take_rule, take_target_outage
from .state import redact, seeded_job, utc_timestamp
# The schema, parseExpression and provisionOnDemand live in schema.py (it uses this module's helpers).
from . import schema as sync_schema

ODATA_JSON = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
SECRET_PAIR_TYPES = frozenset({"microsoft.graph.synchronizationSecretKeyStringValuePair",
                               "#microsoft.graph.synchronizationSecretKeyStringValuePair"})
_MALFORMED = object()
_ALTERNATE_KEY = re.compile(r"^(servicePrincipals|applications)\(appId='((?:[^']|'')*)'\)$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_shuffle = random.Random().shuffle


class GraphCall:
    """One Graph request, direct or an item of a $batch, after authentication."""

    __slots__ = ("method", "version", "path", "query", "content_type", "body", "claims", "tenant", "principal",
                 "cloud", "base_url", "request_id", "client_request_id", "operation", "faults")

    def __init__(self, method, version, path, query, content_type, body, claims, tenant, principal, cloud,
                 base_url, request_id, client_request_id):
        self.method = method
        self.version = version
        self.path = path
        self.query = query
        self.content_type = content_type
        self.body = body
        self.claims = claims
        self.tenant = tenant
        self.principal = principal
        self.cloud = cloud
        self.base_url = base_url
        self.request_id = request_id
        self.client_request_id = client_request_id
        self.operation = "unknown"
        # The faults in force (set by request_faults before dispatch): target outages, the NotInAllowList switch.
        self.faults = None


def error_body(code, message, request_id, client_request_id):
    """Graph's error shape with innerError."""
    return {"error": {"code": code, "message": message, "innerError": {
        "date": utc_timestamp(with_zone=False), "request-id": request_id, "client-request-id": client_request_id}}}


def graph_error(call, status, code, message, headers=None):
    """(status, headers, body) of a Graph error answer for `call`."""
    answer_headers = {"Content-Type": ODATA_JSON}
    if headers:
        answer_headers.update(headers)
    return status, answer_headers, error_body(code, message, call.request_id, call.client_request_id)


def _ok(body):
    return 200, {"Content-Type": ODATA_JSON}, body


_NO_CONTENT = (204, {}, None)


# ---- JSON bodies -------------------------------------------------------------------------------------------

def parse_json_body(raw):
    """Parse request bytes as JSON; None for an empty body, _MALFORMED when it is not JSON."""
    if raw is None or raw == b"" or raw == "":
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return _MALFORMED


def _is_json(content_type):
    return bool(content_type) and content_type.split(";", 1)[0].strip().lower() == "application/json"


def _read_body(call, type_name, required=False):
    """Return (body_dict, None) or (None, error answer) applying Graph's content-type and JSON rules.

    `required`: the synchronization actions and PUT secrets answer a request without a body 400 "Empty Payload. JSON
    content expected." (seen in real use: docs-contrib #1133 for PUT secrets, #7083), whatever its Content-Type.
    """
    if required and call.body is None:
        return None, graph_error(call, 400, "BadRequest", "Empty Payload. JSON content expected.")
    if not _is_json(call.content_type) or call.body is _MALFORMED:
        return None, graph_error(call, 400, "BadRequest",
                                 "Unable to read JSON request payload. Please ensure Content-Type header is set and"
                                 " payload is of valid JSON format.")
    if call.body is None:
        return {}, None
    if not isinstance(call.body, dict):
        return None, graph_error(call, 400, "BadRequest",
                                 "The request payload must be a JSON object of type '%s'." % type_name)
    return call.body, None


def _unknown_property(call, name, type_name):
    return graph_error(call, 400, "BadRequest",
                       "The property '%s' does not exist on type '%s'. Make sure to only use property names that"
                       " are defined by the type." % (name, type_name))


def _read_secret_pairs(call, body, wrapper, unknown_key_is_500=False):
    """Validate a list of synchronizationSecretKeyStringValuePair; returns (dict, None) or (None, error).

    `unknown_key_is_500`: PUT secrets answers a key that is no synchronizationSecret name with 500 InternalError
    "Requested value 'X' was not found." (seen in real use); the actions refuse it with 400 (OData enum binding).
    """
    pairs = body.get(wrapper)
    if pairs is None:
        return None, graph_error(call, 400, "BadRequest",
                                 "The request body must contain a non-null '%s' array." % wrapper)
    if not isinstance(pairs, list):
        return None, graph_error(call, 400, "BadRequest",
                                 "'%s' must be an array of synchronizationSecretKeyStringValuePair." % wrapper)
    result = {}
    for position, pair in enumerate(pairs):
        if not isinstance(pair, dict):
            return None, graph_error(call, 400, "BadRequest",
                                     "%s[%d] must be a synchronizationSecretKeyStringValuePair object."
                                     % (wrapper, position))
        for name in pair:
            if name not in ("key", "value", "@odata.type"):
                return None, _unknown_property(call, name, "microsoft.graph.synchronizationSecretKeyStringValuePair")
        odata_type = pair.get("@odata.type")
        if odata_type is not None and odata_type not in SECRET_PAIR_TYPES:
            return None, graph_error(call, 400, "BadRequest",
                                     "A type named '%s' could not be resolved by the model." % odata_type)
        key = pair.get("key")
        # Enum members are matched case-sensitively, as the OData enum deserializer does by default.
        if unknown_key_is_500 and isinstance(key, str) and key not in SYNCHRONIZATION_SECRET_KEYS:
            return None, graph_error(call, 500, "InternalError", "Requested value '%s' was not found." % key)
        if not isinstance(key, str) or key not in SYNCHRONIZATION_SECRET_KEYS:
            return None, graph_error(call, 400, "BadRequest",
                                     "Invalid value '%s' for property 'key' of type"
                                     " 'microsoft.graph.synchronizationSecret'." % (key,))
        value = pair.get("value")
        if value is not None and not isinstance(value, str):
            return None, graph_error(call, 400, "BadRequest",
                                     "Invalid value for property 'value' of '%s': a string is expected." % key)
        result[key] = value
    return result, None


# ---- permissions -------------------------------------------------------------------------------------------

def _roles(call):
    return call.claims.get("roles") or ()


def _denied(call):
    return graph_error(call, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")


def _sync_denied(call):
    """The refusal of a synchronization call the caller's permissions do not allow.

    A caller holding a Synchronization permission that does not cover the call (Synchronization.Read.All writing)
    gets 403 Authorization_RequestDenied; one without any gets what its seed says: 401 UnknownError with an empty
    message (seen in real use: docs-contrib #8800, zerotrustassessment #1382, terraform-provider-azuread #1628) or
    403 (the default, which the documented permission tables suggest).
    """
    roles = _roles(call)
    holds_sync = PERMISSION_SYNC_ALL in roles or PERMISSION_SYNC_READ_ALL in roles
    if not holds_sync and call.principal is not None and call.principal.synchronization_denial == 401:
        return graph_error(call, 401, "UnknownError", "")
    return _denied(call)


def _may_read_objects(call):
    return any(role in DIRECTORY_READ_PERMISSIONS for role in _roles(call))


def _may_act(call, application, read_only=False):
    roles = _roles(call)
    if PERMISSION_SYNC_ALL in roles or (read_only and PERMISSION_SYNC_READ_ALL in roles):
        return True
    return PERMISSION_OWNED_BY in roles and call.claims.get("appid") in application.record["owners"]


# ---- object shapes -----------------------------------------------------------------------------------------

def service_principal_json(application):
    """A servicePrincipal resource."""
    record = application.record
    return {
        "id": record["service_principal_id"],
        "deletedDateTime": None,
        "accountEnabled": True,
        "appDisplayName": record["display_name"],
        "appId": record["app_id"],
        "applicationTemplateId": record.get("application_template_id"),
        "appOwnerOrganizationId": record["tenant_id"],
        "displayName": record["display_name"],
        "preferredSingleSignOnMode": None,
        "servicePrincipalNames": [record["app_id"]],
        "servicePrincipalType": "Application",
        "signInAudience": "AzureADMyOrg",
        "tags": list(record.get("tags") or ["WindowsAzureActiveDirectoryIntegratedApp"]),
    }


def application_json(application):
    """An application resource."""
    record = application.record
    return {
        "id": record["application_id"],
        "deletedDateTime": None,
        "appId": record["app_id"],
        "createdDateTime": application.created,
        "displayName": record["display_name"],
        "identifierUris": [],
        "publisherDomain": None,
        "signInAudience": "AzureADMyOrg",
    }


def job_json(job_id, job):
    """A synchronizationJob resource with the synchronizationStatus of the v1.0 CSDL."""
    last = job.get("lastExecution")
    return {
        "id": job_id,
        "templateId": job["templateId"],
        "schedule": {"expiration": None, "interval": "PT40M", "state": job["state"]},
        "status": {
            "code": job["code"],
            "countSuccessiveCompleteFailures": 1 if last and last["state"] == "Failed" else 0,
            "escrowsPruned": False,
            "lastExecution": last,
            "lastSuccessfulExecution": job.get("lastSuccessfulExecution"),
            "lastSuccessfulExecutionWithExports": job.get("lastSuccessfulExecutionWithExports"),
            "progress": [],
            "quarantine": job.get("quarantine"),
            "steadyStateFirstAchievedTime": "0001-01-01T00:00:00Z",
            "steadyStateLastAchievedTime": "0001-01-01T00:00:00Z",
            "synchronizedEntryCountByType": [],
            "troubleshootingUrl": None,
        },
        "synchronizationJobSettings": [],
    }


_SERIALIZERS = {"servicePrincipals": service_principal_json, "applications": application_json}


def _select(call, item):
    select = call.query.get("$select")
    if not select:
        return item
    wanted = [name.strip() for name in select.split(",") if name.strip()]
    return {name: item[name] for name in wanted if name in item}


def _context(call, fragment):
    return "%s/%s/$metadata#%s" % (call.base_url, call.version, fragment)


# ---- $filter -----------------------------------------------------------------------------------------------

class FilterError(ValueError):
    """A $filter the emulator cannot parse or does not support; `unsupported` tells which."""

    def __init__(self, message, unsupported=False):
        super().__init__(message)
        self.unsupported = unsupported


_TOKEN = re.compile(r"\s*('(?:[^']|'')*'|\(|\)|,|[A-Za-z_][A-Za-z0-9_./]*|\S)")
_FILTER_PROPERTIES = {"displayName": "display_name", "appId": "app_id", "id": None}


def parse_filter(text):
    """Parse the $filter subset the emulator serves into a tree.

    Grammar: expr := conj ('or' conj)*; conj := atom ('and' atom)*; atom := '(' expr ')' |
    property ('eq'|'ne') 'literal' | startswith(property, 'literal') | tags/any(v: v eq 'literal');
    literals use OData quoting ('' is ').
    """
    tokens = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or not match.group(1):
            if text[position:].strip() == "":
                break
            raise FilterError("Invalid filter clause: syntax error at position %d." % position)
        tokens.append(match.group(1))
        position = match.end()
    stream = {"tokens": tokens, "index": 0}

    def peek():
        return stream["tokens"][stream["index"]] if stream["index"] < len(stream["tokens"]) else None

    def take(expected=None):
        token = peek()
        if token is None or (expected is not None and token != expected):
            raise FilterError("Invalid filter clause: expected %s." % (expected or "more input"))
        stream["index"] += 1
        return token

    def literal():
        token = take()
        if len(token) < 2 or token[0] != "'" or token[-1] != "'":
            raise FilterError("Invalid filter clause: a quoted string literal is expected, got %s." % token)
        return token[1:-1].replace("''", "'")

    def prop(token):
        if token not in _FILTER_PROPERTIES:
            raise FilterError("Unsupported or invalid query filter clause specified for property '%s'." % token,
                              unsupported=True)
        return token

    def atom():
        token = take()
        if token == "(":
            node = expression()
            take(")")
            return node
        if token == "tags/any":
            take("(")
            variable = take()
            take(":")
            take(variable)
            take("eq")
            value = literal()
            take(")")
            return ("any_tag", "tags", value)
        if token == "startswith":
            take("(")
            name = prop(take())
            take(",")
            value = literal()
            take(")")
            return ("startswith", name, value)
        name = prop(token)
        operator = take()
        if operator not in ("eq", "ne"):
            raise FilterError("Unsupported or invalid query filter clause specified for operator '%s'." % operator,
                              unsupported=True)
        return (operator, name, literal())

    def conjunction():
        node = atom()
        while peek() == "and":
            take()
            node = ("and", node, atom())
        return node

    def expression():
        node = conjunction()
        while peek() == "or":
            take()
            node = ("or", node, conjunction())
        return node

    tree = expression()
    if peek() is not None:
        raise FilterError("Invalid filter clause: unexpected '%s'." % peek())
    return tree


def _field(item_json, name):
    return str(item_json.get(name) or "")


def _matches(tree, item_json):
    kind = tree[0]
    if kind == "and":
        return _matches(tree[1], item_json) and _matches(tree[2], item_json)
    if kind == "or":
        return _matches(tree[1], item_json) or _matches(tree[2], item_json)
    if kind == "any_tag":
        return tree[2].lower() in [str(tag).lower() for tag in item_json.get("tags") or ()]
    # Directory string comparisons are case-insensitive.
    actual = _field(item_json, tree[1]).lower()
    expected = tree[2].lower()
    if kind == "eq":
        return actual == expected
    if kind == "ne":
        return actual != expected
    return actual.startswith(expected)


# ---- collection and entity reads --------------------------------------------------------------------------

def _visible(call, application):
    return application.is_visible(time.monotonic())


def _encode_skiptoken(offset):
    return base64.urlsafe_b64encode(("emulator-offset:%d" % offset).encode("ascii")).decode("ascii")


def _decode_skiptoken(token):
    try:
        text = base64.urlsafe_b64decode(token.encode("ascii")).decode("ascii")
        prefix, _colon, number = text.partition(":")
        if prefix != "emulator-offset":
            raise ValueError(text)
        return int(number)
    except (ValueError, UnicodeDecodeError):
        return None


def list_collection(call, collection):
    """GET /servicePrincipals or /applications with $filter, $select, $top and $skiptoken."""
    call.operation = collection + ".list"
    if not _may_read_objects(call):
        return _denied(call)
    top_text = call.query.get("$top")
    page_size = DEFAULT_PAGE_SIZE
    if top_text is not None:
        if not top_text.isdigit() or not 1 <= int(top_text) <= MAX_PAGE_SIZE:
            return graph_error(call, 400, "Request_BadRequest",
                               "Invalid page size specified: '%s'. Must be between 1 and %d inclusive."
                               % (top_text, MAX_PAGE_SIZE))
        page_size = int(top_text)
    offset = 0
    if call.query.get("$skiptoken") is not None:
        offset = _decode_skiptoken(call.query["$skiptoken"])
        if offset is None:
            return graph_error(call, 400, "Request_BadRequest", "The specified page token value has expired or"
                                                                " is not valid.")
    serializer = _SERIALIZERS[collection]
    tenant = call.tenant
    filter_text = call.query.get("$filter")
    if filter_text:
        try:
            tree = parse_filter(filter_text)
        except FilterError as error:
            code = "Request_UnsupportedQuery" if error.unsupported else "BadRequest"
            return graph_error(call, 400, code, str(error))
        if tree[0] == "eq" and tree[1] == "displayName":
            candidates = tenant.by_display_name.get(tree[2].lower(), [])
        elif tree[0] == "eq" and tree[1] == "appId":
            found = tenant.by_app_id.get(tree[2].lower())
            candidates = [found] if found else []
        else:
            candidates = tenant.applications
        selected = [item for item in (serializer(app) for app in candidates if _visible(call, app))
                    if _matches(tree, item)]
    else:
        selected = [serializer(app) for app in tenant.applications if _visible(call, app)]
    page = selected[offset:offset + page_size]
    body = {"@odata.context": _context(call, collection), "value": [_select(call, item) for item in page]}
    if offset + page_size < len(selected):
        query = {"$top": str(page_size), "$skiptoken": _encode_skiptoken(offset + page_size)}
        for name in ("$filter", "$select"):
            if call.query.get(name):
                query[name] = call.query[name]
        body["@odata.nextLink"] = "%s/%s/%s?%s" % (call.base_url, call.version, collection,
                                                   urllib.parse.urlencode(query, quote_via=urllib.parse.quote))
    return _ok(body)


def _not_found(call, identifier):
    return graph_error(call, 404, "Request_ResourceNotFound",
                       "Resource '%s' does not exist or one of its queried reference-property objects are not"
                       " present." % identifier)


def resolve(call, collection, key, by_app_id):
    """Find the addressed application; returns (application, None) or (None, error answer)."""
    if not _GUID.match(key):
        return None, graph_error(call, 400, "Request_BadRequest", "Invalid object identifier '%s'." % key)
    tenant = call.tenant
    if by_app_id:
        application = tenant.by_app_id.get(key.lower())
    elif collection == "servicePrincipals":
        application = tenant.by_service_principal_id.get(key.lower())
    else:
        application = tenant.by_application_id.get(key.lower())
    if application is None or not _visible(call, application):
        return None, _not_found(call, key)
    return application, None


def get_entity(call, collection, application):
    """GET /servicePrincipals/{id} or /applications/{id}."""
    call.operation = collection + ".get"
    if not _may_read_objects(call):
        return _denied(call)
    body = {"@odata.context": _context(call, collection + "/$entity")}
    body.update(_select(call, _SERIALIZERS[collection](application)))
    return _ok(body)


# ---- synchronization ---------------------------------------------------------------------------------------

def check_credentials(application, given, consume):
    """Compare credentials with what the app's connector accepts; returns None or a rejection message.

    With `consume`, a matching authorization code is marked used (single-use, as OAuth codes are).
    Messages name keys, never values.
    """
    accepted = application.record["accepted_credentials"]
    name = application.record["display_name"]
    if not accepted:
        return "The provisioning connector of application '%s' accepts no credentials through this call." % name
    missing = sorted(key for key in accepted if given.get(key) in (None, ""))
    if missing:
        return "The credentials for application '%s' are incomplete: missing %s." % (name, ", ".join(missing))
    for key, value in accepted.items():
        if key != AUTHORIZATION_CODE_KEY and given[key] != value:
            return "The provisioning connector of application '%s' rejected the value of '%s'." % (name, key)
    if application.needs_authorization_code:
        code = given[AUTHORIZATION_CODE_KEY]
        if code not in application.record["authorization_codes"]:
            return ("The token endpoint of application '%s' rejected the authorization code (invalid_grant): the"
                    " code is not valid." % name)
        if code in application.used_codes:
            return ("The token endpoint of application '%s' rejected the authorization code (invalid_grant): the"
                    " code was already redeemed." % name)
        if consume:
            application.used_codes.add(code)
    return None


def _credentials_rejected(call, message):
    # Inferred: Graph documents no error for acquireAccessToken; the code is the emulator's choice.
    return graph_error(call, 400, "InvalidCredentials", message)


def _validation_unavailable(call, message):
    # Seen in real use (no doc page lists it): validateCredentials answers 400 CredentialValidationUnavailable when
    # the target rejects the credentials or cannot be reached.
    return graph_error(call, 400, "CredentialValidationUnavailable", message)


def acquire_access_token(call, application):
    """POST .../synchronization/acquireAccessToken."""
    call.operation = "acquireAccessToken"
    body, error = _read_body(call, "microsoft.graph.acquireAccessToken", required=True)
    if error:
        return error
    for name in body:
        if name != "credentials":
            return _unknown_property(call, name, "microsoft.graph.acquireAccessToken")
    given, error = _read_secret_pairs(call, body, "credentials")
    if error:
        return error
    if not _may_act(call, application):
        return _sync_denied(call)
    message = check_credentials(application, given, consume=True)
    if message:
        return _credentials_rejected(call, message)
    application.saved_credentials.update(given)
    application.authorized = True
    return _NO_CONTENT


_VALIDATE_PARAMETERS = ("applicationIdentifier", "templateId", "useSavedCredentials", "credentials")
# Inferred wording (the code is seen in real use; its message is the connector's free text): how the target answered.
_TARGET_ANSWERS = {401: "HTTP/401 Unauthorized", 403: "HTTP/403 Forbidden", 500: "HTTP/500 Internal Server Error",
                   502: "HTTP/502 Bad Gateway", 503: "HTTP/503 Service Unavailable", 504: "HTTP/504 Gateway Timeout"}


def _read_validate_body(call):
    """The validateCredentials body: returns (use_saved, given, None) or (None, None, error)."""
    body, error = _read_body(call, "microsoft.graph.validateCredentials", required=True)
    if error:
        return None, None, error
    for name in body:
        if name not in _VALIDATE_PARAMETERS:
            return None, None, _unknown_property(call, name, "microsoft.graph.validateCredentials")
    use_saved = body.get("useSavedCredentials", False)
    if use_saved is None:
        use_saved = False
    if not isinstance(use_saved, bool):
        return None, None, graph_error(call, 400, "BadRequest", "'useSavedCredentials' must be a boolean.")
    given = {}
    if not use_saved or body.get("credentials") is not None:
        given, error = _read_secret_pairs(call, body, "credentials")
        if error:
            return None, None, error
    return use_saved, given, None


def _rejected_by_target(application, answer=401):
    return ("No valid saved credentials for application '%s': the target rejected them (it answered %s)."
            % (application.record["display_name"], _TARGET_ANSWERS[answer]))


def _target_outage(call, application):
    """The validateCredentials answer while the target of `application` is down (a `target_outages` fault), or None.

    A target that answers 401/403 looks exactly like one that refuses the credentials (the same message); a 5xx, a
    timeout or a failed token exchange says so in the message. The code is CredentialValidationUnavailable either way.
    """
    record = application.record
    rule = take_target_outage((call.faults or {}).get("target_outages") or (),
                              (record["service_principal_id"], record["application_id"], record["app_id"]))
    if rule is None:
        return None
    answer = rule["answer"]
    if answer in (401, 403):
        message = _rejected_by_target(application, answer)
    elif answer == "timeout":
        message = ("Could not validate the credentials of application '%s': the target did not answer (the"
                   " connection timed out)." % record["display_name"])
    elif answer == "token_exchange":
        message = ("Could not validate the credentials of application '%s': the OAuth token exchange with the"
                   " target's token endpoint failed." % record["display_name"])
    else:
        message = ("Could not validate the credentials of application '%s': the target answered %s."
                   % (record["display_name"], _TARGET_ANSWERS[answer]))
    return _validation_unavailable(call, message)


def _validate(call, application, use_saved, given):
    """Test saved or given credentials against the app's target; never saves and never redeems a code."""
    outage = _target_outage(call, application)
    if outage:
        return outage
    if use_saved:
        if not application.authorized:
            return _validation_unavailable(call, _rejected_by_target(application))
        return _NO_CONTENT
    message = check_credentials(application, given, consume=False)
    if message:
        return _validation_unavailable(call, message)
    return _NO_CONTENT


def validate_credentials(call, application, job_id):
    """POST .../synchronization/jobs/{jobId}/validateCredentials."""
    call.operation = "validateCredentials"
    use_saved, given, error = _read_validate_body(call)
    if error:
        return error
    if job_id not in application.jobs:
        return graph_error(call, 404, "Request_ResourceNotFound", "Job '%s' does not exist." % job_id)
    if not _may_act(call, application):
        return _sync_denied(call)
    return _validate(call, application, use_saved, given)


def validate_credentials_without_job(call, application):
    """POST .../synchronization/jobs/validateCredentials (bound to the jobs collection in the v1.0 CSDL).

    Tests credentials for a template before any job exists. A missing templateId, or missing credentials when
    useSavedCredentials is not true, answers 400 RequestMissingRequiredParameter (seen in real use); a template the
    app does not offer answers 400 BadRequest (inferred).
    """
    call.operation = "jobs.validateCredentials"
    body, error = _read_body(call, "microsoft.graph.validateCredentials", required=True)
    if error:
        return error
    template_id = body.get("templateId")
    if not isinstance(template_id, str) or not template_id:
        return graph_error(call, 400, "RequestMissingRequiredParameter", "The parameter 'templateId' is required.")
    if body.get("useSavedCredentials") is not True and body.get("credentials") is None:
        return graph_error(call, 400, "RequestMissingRequiredParameter", "The parameter 'credentials' is required.")
    use_saved, given, error = _read_validate_body(call)
    if error:
        return error
    if not _may_act(call, application):
        return _sync_denied(call)
    if template_id not in [template["id"] for template in application.record["templates"]]:
        return graph_error(call, 400, "BadRequest", "Template '%s' is not a template of this application."
                           % template_id)
    return _validate(call, application, use_saved, given)


_BEARER_KEYS = frozenset({"SecretToken"})
_CLIENT_CREDENTIAL_KEYS = frozenset({"Oauth2ClientId", "Oauth2ClientSecret", "Oauth2TokenExchangeUri"})
_REQUIRED_WITH_SECRETS = ("SyncNotificationSettings", "SyncAll")
_TOKEN_EXCHANGE_URI_KEY = "Oauth2TokenExchangeUri"


def put_secrets(call, application):
    """PUT .../synchronization/secrets with {"value": [...]}: replaces the whole saved set.

    Reported by users and Microsoft's tooling, not documented (see README): the set is replaced, not merged;
    without SyncNotificationSettings and SyncAll the payload is dropped (204, nothing saved); bearer-token keys
    mixed with OAuth client-credential keys answer 500; a SyncNotificationSettings that is not JSON answers
    UnknownError wrapping InvalidNotificationSettings; with the `refuse_oauth2_token_exchange_uri` switch, v1.0
    refuses Oauth2TokenExchangeUri as NotInAllowList (single source).
    """
    call.operation = "secrets.put"
    body, error = _read_body(call, "microsoft.graph.synchronizationSecretKeyStringValuePair collection",
                             required=True)
    if error:
        return error
    for name in body:
        if name != "value":
            return _unknown_property(call, name, "Collection(microsoft.graph.synchronizationSecretKeyStringValuePair)")
    given, error = _read_secret_pairs(call, body, "value", unknown_key_is_500=True)
    if error:
        return error
    if not _may_act(call, application):
        return _sync_denied(call)
    if (call.faults or {}).get("refuse_oauth2_token_exchange_uri") and call.version == "v1.0" \
            and _TOKEN_EXCHANGE_URI_KEY in given:
        # Single source (Microsoft's SCIM onboarding tooling): the code is reported, status and wording are inferred.
        return graph_error(call, 400, "NotInAllowList",
                           "The secret key '%s' is not in the allow list." % _TOKEN_EXCHANGE_URI_KEY)
    if set(given) & _BEARER_KEYS and set(given) & _CLIENT_CREDENTIAL_KEYS:
        return graph_error(call, 500, "InternalError", "An internal server error occurred while saving secrets.")
    if any(key not in given for key in _REQUIRED_WITH_SECRETS):
        application.dropped_secret_payloads += 1
        return _NO_CONTENT
    try:
        settings = json.loads(given["SyncNotificationSettings"] or "")
    except ValueError:
        settings = None
    if not isinstance(settings, dict):
        return graph_error(call, 400, "UnknownError",
                           "Failed to save secrets: InvalidNotificationSettings. The notification settings are not "
                           "valid JSON.")
    application.saved_credentials = dict(given)
    accepted = application.record["accepted_credentials"]
    if accepted and not application.needs_authorization_code:
        # Token connectors (base address + secret token) are authorized by saving matching secrets.
        application.authorized = all(application.saved_credentials.get(key) == value
                                     for key, value in accepted.items())
    return _NO_CONTENT


def get_secrets(call, application):
    """GET .../synchronization/secrets: the saved set, sensitive values as "*" (seen in real use: Terraform azuread).

    Nothing saved answers an empty list (inferred); Synchronization.Read.All may read it (inferred).
    """
    call.operation = "secrets.get"
    if not _may_act(call, application, read_only=True):
        return _sync_denied(call)
    return _ok({"@odata.context": _context(call, "servicePrincipals('%s')/synchronization/secrets"
                                           % application.record["service_principal_id"]),
                "value": [{"key": key, "value": "*" if key in SENSITIVE_SECRET_KEYS and value else value}
                          for key, value in application.saved_credentials.items()]})


def list_jobs(call, application):
    """GET .../synchronization/jobs."""
    call.operation = "jobs.list"
    if not _may_act(call, application, read_only=True):
        return _sync_denied(call)
    return _ok({"@odata.context": _context(call, "servicePrincipals('%s')/synchronization/jobs"
                                           % application.record["service_principal_id"]),
                "value": [job_json(job_id, job) for job_id, job in application.jobs.items()]})


def get_job(call, application, job_id):
    """GET .../synchronization/jobs/{jobId}."""
    call.operation = "jobs.get"
    job = application.jobs.get(job_id)
    if job is None:
        return graph_error(call, 404, "Request_ResourceNotFound", "Job '%s' does not exist." % job_id)
    if not _may_act(call, application, read_only=True):
        return _sync_denied(call)
    body = {"@odata.context": _context(call, "servicePrincipals('%s')/synchronization/jobs/$entity"
                                       % application.record["service_principal_id"])}
    body.update(job_json(job_id, job))
    return _ok(body)


_JOB_ACTIONS = ("start", "pause", "restart")
RESET_SCOPE_FLAGS = ("None", "ConnectorDataStore", "Escrows", "Watermark", "QuarantineState", "Full", "ForceDeletes")
# Documented (synchronizationJobRestartCriteria): empty criteria emulate the portal's "Restart provisioning", which
# is this scope.
PORTAL_RESTART_SCOPE = frozenset({"Watermark", "Escrows", "QuarantineState"})


def create_job(call, application):
    """POST .../synchronization/jobs with {"templateId"}: 201 with the new job, schedule Disabled (documented)."""
    call.operation = "jobs.create"
    body, error = _read_body(call, "microsoft.graph.synchronizationJob")
    if error:
        return error
    template_id = body.get("templateId")
    if not isinstance(template_id, str) or not template_id:
        return graph_error(call, 400, "RequestMissingRequiredParameter", "The parameter 'templateId' is required.")
    if not _may_act(call, application):
        return _sync_denied(call)
    if template_id not in [template["id"] for template in application.record["templates"]]:
        # Inferred: the answer for an unknown template is not documented.
        return graph_error(call, 400, "BadRequest", "Template '%s' is not a template of this application."
                           % template_id)
    job_id = "%s.%s.%s" % (template_id, uuid.UUID(application.record["service_principal_id"]).hex,
                           uuid.uuid4().hex)
    application.jobs[job_id] = seeded_job({"templateId": template_id}, utc_timestamp())
    body = {"@odata.context": _context(call, "servicePrincipals('%s')/synchronization/jobs/$entity"
                                       % application.record["service_principal_id"])}
    body.update(job_json(job_id, application.jobs[job_id]))
    return 201, {"Content-Type": ODATA_JSON}, body


def delete_job(call, application, job_id):
    """DELETE .../synchronization/jobs/{jobId}: 204 (documented)."""
    call.operation = "jobs.delete"
    if job_id not in application.jobs:
        return graph_error(call, 404, "Request_ResourceNotFound", "Job '%s' does not exist." % job_id)
    if not _may_act(call, application):
        return _sync_denied(call)
    del application.jobs[job_id]
    return _NO_CONTENT


def _read_action_body(call, action):
    """The body of start/pause/restart; returns (criteria flags, None) or (None, error).

    restart requires a JSON body (400 "Empty Payload..." without one) and takes only `criteria` {resetScope}; empty
    criteria give the empty set (the caller reads it as the portal's restart). start and pause take no parameter and
    no body: their pages say to send none and the official SDKs send none, so a bodyless one is accepted (and `{}`).
    """
    if action != "restart" and call.body is None:
        return set(), None
    body, error = _read_body(call, "microsoft.graph." + action, required=True)
    if error:
        return None, error
    allowed = ("criteria",) if action == "restart" else ()
    for name in body:
        if name not in allowed:
            # Inferred wording: OData's message for a parameter the action does not declare.
            return None, graph_error(call, 400, "BadRequest", "The parameter '%s' in the request payload is not a"
                                                              " valid parameter for the operation '%s'."
                                     % (name, action))
    criteria = body.get("criteria") or {}
    if not isinstance(criteria, dict):
        return None, graph_error(call, 400, "BadRequest", "'criteria' must be a synchronizationJobRestartCriteria"
                                                          " object.")
    scope = criteria.get("resetScope")
    if scope is None:
        return set(), None
    flags = {flag.strip() for flag in str(scope).split(",") if flag.strip()}
    unknown = sorted(flag for flag in flags if flag not in RESET_SCOPE_FLAGS)
    if unknown:
        return None, graph_error(call, 400, "BadRequest", "Requested value '%s' was not found." % unknown[0])
    return flags, None


def job_action(call, application, job_id, action):
    """POST .../synchronization/jobs/{jobId}/start|pause|restart.

    Documented: start resumes a paused job and clears a quarantine; restart with empty criteria does what the portal's
    "Restart provisioning" does (Watermark, Escrows, QuarantineState), so it lifts a quarantine too; the docs warn
    against calling start on a running job. Inferred (README): such a start stops the job (it ends up Paused) and is
    counted.
    """
    call.operation = "jobs." + action
    job = application.jobs.get(job_id)
    if job is None:
        return graph_error(call, 404, "Request_ResourceNotFound", "Job '%s' does not exist." % job_id)
    flags, error = _read_action_body(call, action)
    if error:
        return error
    if not _may_act(call, application):
        return _sync_denied(call)
    if action == "pause":
        job["state"], job["code"] = "Paused", "Paused"
    elif action == "start" and job["code"] == "Active":
        job["redundantStarts"] += 1
        job["state"], job["code"] = "Paused", "Paused"
    elif action == "start":
        job["state"], job["code"], job["quarantine"] = "Active", "Active", None
    else:
        job["lastRestartScope"] = ", ".join(sorted(flags)) or None
        if flags & {"QuarantineState", "Full"} or not flags:
            job["quarantine"] = None
        job["state"] = "Active"
        job["code"] = "Quarantine" if job["quarantine"] else "Active"
    return _NO_CONTENT


def list_templates(call, application):
    """GET .../synchronization/templates: the app's templates, one of them marked default."""
    call.operation = "templates.list"
    if not _may_act(call, application, read_only=True):
        return _sync_denied(call)
    return _ok({"value": [{"id": template["id"], "applicationId": application.record["app_id"],
                           "default": template["default"], "description": None, "discoverable": True,
                           "factoryTag": template["id"], "metadata": []}
                          for template in application.record["templates"]]})


# ---- routing ----------------------------------------------------------------------------------------------

def _method_not_allowed(call):
    return graph_error(call, 405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")


def _segment_not_found(call, segment):
    return graph_error(call, 400, "BadRequest", "Resource not found for the segment '%s'." % segment)


# validateCredentials bound to the jobs collection, by its short and its qualified name.
_COLLECTION_VALIDATE = ("validateCredentials", "microsoft.graph.validateCredentials")


def dispatch(call):
    """Route one authenticated Graph call to its handler."""
    segments = call.path.split("/")
    if segments and segments[-1] == "":
        segments.pop()
    if not segments:
        return _segment_not_found(call, "")
    head = segments[0]
    alternate = _ALTERNATE_KEY.match(head)
    if alternate:
        collection, key, by_app_id = alternate.group(1), alternate.group(2).replace("''", "'"), True
        rest = segments[1:]
    elif head in _SERIALIZERS:
        collection = head
        if len(segments) == 1:
            if call.method != "GET":
                return _method_not_allowed(call)
            return list_collection(call, collection)
        key, by_app_id, rest = segments[1], False, segments[2:]
    else:
        return _segment_not_found(call, head)
    application, error = resolve(call, collection, key, by_app_id)
    if error:
        call.operation = collection + ".resolve"
        return error
    if not rest:
        if call.method != "GET":
            return _method_not_allowed(call)
        return get_entity(call, collection, application)
    if rest[0] != "synchronization" or len(rest) < 2:
        return _segment_not_found(call, rest[0] if rest[0] != "synchronization" else "synchronization")
    action = rest[1]
    tail = rest[2:]
    if action == "acquireAccessToken" and not tail:
        return acquire_access_token(call, application) if call.method == "POST" else _method_not_allowed(call)
    if action == "secrets" and not tail:
        if call.method == "GET":
            return get_secrets(call, application)
        return put_secrets(call, application) if call.method == "PUT" else _method_not_allowed(call)
    if action == "templates" and not tail:
        return list_templates(call, application) if call.method == "GET" else _method_not_allowed(call)
    if action == "templates" and len(tail) >= 2 and tail[1] == "schema":
        return sync_schema.route_template(call, application, tail[0], tail[1:])
    if action == "jobs":
        if not tail:
            if call.method == "POST":
                return create_job(call, application)
            return list_jobs(call, application) if call.method == "GET" else _method_not_allowed(call)
        job_id = tail[0]
        if len(tail) == 1 and job_id in _COLLECTION_VALIDATE:
            if call.method != "POST":
                return _method_not_allowed(call)
            return validate_credentials_without_job(call, application)
        if len(tail) == 1:
            if call.method == "DELETE":
                return delete_job(call, application, job_id)
            return get_job(call, application, job_id) if call.method == "GET" else _method_not_allowed(call)
        if len(tail) == 2 and tail[1] == "validateCredentials":
            if call.method != "POST":
                return _method_not_allowed(call)
            return validate_credentials(call, application, job_id)
        if len(tail) == 2 and tail[1] in _JOB_ACTIONS:
            if call.method != "POST":
                return _method_not_allowed(call)
            return job_action(call, application, job_id, tail[1])
        if tail[1] in ("schema", "provisionOnDemand"):
            return sync_schema.route_job(call, application, job_id, tail[1:])
        return _segment_not_found(call, tail[-1])
    return _segment_not_found(call, action)


# ---- faults that act per Graph request (direct or batch item) ---------------------------------------------

def request_faults(state, call, absolute_path):
    """Apply the per-request faults (rate limit, 5xx bursts, 409); returns an error answer or None."""
    faults = state.faults
    call.faults = faults
    retry = state.limiter.take(faults["rate_limit"], call.tenant.id, time.monotonic())
    if retry is not None:
        state.count_throttled(call.tenant.id)
        call.operation = "throttled"
        header = retry_after_header(retry, faults["rate_limit"]["retry_after"], time.time())
        return graph_error(call, 429, "TooManyRequests",
                           "Too many requests. Please wait before retrying; see the Retry-After header.",
                           {"Retry-After": header})
    burst = take_rule(faults["error_bursts"], absolute_path, "graph")
    if burst is not None:
        call.operation = "error_burst"
        return burst_answer(call, burst)
    violation = take_rule(faults["concurrency_violations"], absolute_path, "graph", method=call.method)
    if violation is not None:
        call.operation = "concurrency_violation"
        return graph_error(call, 409, "Directory_ConcurrencyViolation",
                           "Another operation is in progress on this object. Please retry the request.")
    malformed = take_rule(faults["malformed_answers"], absolute_path, "graph", method=call.method)
    if malformed is not None:
        call.operation = "malformed_answer"
        return _ok(copy.deepcopy(malformed["body"]))
    return None


_BURST_CODES = {500: ("InternalServerError", "An internal server error occurred."),
                502: ("BadGateway", "The gateway received an invalid response from the upstream service."),
                503: ("ServiceNotAvailable", "The service is temporarily unavailable. Please retry later."),
                504: ("GatewayTimeout", "The gateway did not receive a timely response from the upstream service.")}


def burst_answer(call, burst):
    """The answer to a request hit by a 5xx burst rule."""
    code, message = _BURST_CODES[burst["status"]]
    headers = {"Retry-After": str(burst["retry_after"])} if burst.get("retry_after") is not None else None
    return graph_error(call, burst["status"], code, message, headers)


# ---- $batch -----------------------------------------------------------------------------------------------

def _split_relative_url(url):
    parsed = urllib.parse.urlsplit(url)
    path = urllib.parse.unquote(parsed.path).lstrip("/")
    query = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
    return path, query, parsed


def run_batch(state, envelope_call, log_item):
    """POST /$batch: validate the envelope, run each item (in dependsOn order) and answer in shuffled order.

    `log_item(item_call, method, url, body, status)` records each item in the request log.
    """
    envelope_call.operation = "$batch"
    body, error = _read_body(envelope_call, "microsoft.graph.batchRequest")
    if error:
        return error
    requests = body.get("requests")
    if not isinstance(requests, list) or not requests:
        return graph_error(envelope_call, 400, "BadRequest", "Invalid batch payload format: 'requests' must be a"
                                                             " non-empty array.")
    if len(requests) > MAX_BATCH_REQUESTS:
        return graph_error(envelope_call, 400, "BadRequest",
                           "Invalid batch payload format: the number of batch requests (%d) exceeds the limit of %d."
                           % (len(requests), MAX_BATCH_REQUESTS))
    items = {}
    order = []
    for position, item in enumerate(requests):
        if not isinstance(item, dict):
            return graph_error(envelope_call, 400, "BadRequest", "Invalid batch payload format.")
        item_id = item.get("id")
        if isinstance(item_id, int) and not isinstance(item_id, bool):
            item_id = str(item_id)
        if not isinstance(item_id, str) or not item_id:
            return graph_error(envelope_call, 400, "BadRequest",
                               "Invalid batch payload format: request %d has no id." % position)
        if item_id in items:
            return graph_error(envelope_call, 400, "BadRequest",
                               "Invalid batch payload format: request id '%s' is used twice." % item_id)
        method = item.get("method")
        url = item.get("url")
        if not isinstance(method, str) or not isinstance(url, str) or not url:
            return graph_error(envelope_call, 400, "BadRequest",
                               "Invalid batch payload format: request '%s' needs a method and a url." % item_id)
        headers = item.get("headers") or {}
        if not isinstance(headers, dict):
            return graph_error(envelope_call, 400, "BadRequest",
                               "Invalid batch payload format: headers of request '%s' must be an object." % item_id)
        content_type = next((str(value) for name, value in headers.items() if name.lower() == "content-type"), None)
        if "body" in item and item["body"] is not None and content_type is None:
            return graph_error(envelope_call, 400, "BadRequest",
                               "Write request id : %s does not contain Content-Type header or body." % item_id)
        depends_on = item.get("dependsOn") or []
        if not isinstance(depends_on, list):
            return graph_error(envelope_call, 400, "BadRequest",
                               "Invalid batch payload format: dependsOn of '%s' must be an array." % item_id)
        items[item_id] = {"id": item_id, "method": method.upper(), "url": url, "headers": headers,
                          "content_type": content_type, "body": item.get("body"),
                          "depends_on": [str(dep) for dep in depends_on]}
        order.append(item_id)
    for item_id in order:
        for dependency in items[item_id]["depends_on"]:
            if dependency not in items or dependency == item_id:
                return graph_error(envelope_call, 400, "BadRequest",
                                   "Invalid batch payload format: request '%s' depends on unknown request '%s'."
                                   % (item_id, dependency))
    sequence, error = _dependency_order(envelope_call, items, order)
    if error:
        return error
    state.counters["batch_envelopes"] += 1
    results = {}
    for item_id in sequence:
        results[item_id] = _run_item(state, envelope_call, items[item_id], results, log_item)
    responses = [results[item_id] for item_id in order]
    _shuffle(responses)
    return _ok({"responses": responses})


def _dependency_order(call, items, order):
    done, sequence, visiting = set(), [], set()

    def visit(item_id):
        if item_id in done:
            return True
        if item_id in visiting:
            return False
        visiting.add(item_id)
        for dependency in items[item_id]["depends_on"]:
            if not visit(dependency):
                return False
        visiting.discard(item_id)
        done.add(item_id)
        sequence.append(item_id)
        return True

    for item_id in order:
        if not visit(item_id):
            return None, graph_error(call, 400, "BadRequest",
                                     "Invalid batch payload format: the dependsOn chain of '%s' has a cycle." % item_id)
    return sequence, None


def _run_item(state, envelope_call, item, results, log_item):
    request_id = str(uuid.uuid4())
    client_request_id = next((str(value) for name, value in item["headers"].items()
                              if name.lower() == "client-request-id"), envelope_call.client_request_id)
    path, query, parsed = _split_relative_url(item["url"])
    body = item["body"]
    call = GraphCall(item["method"], envelope_call.version, path, query, item["content_type"],
                     body, envelope_call.claims, envelope_call.tenant, envelope_call.principal,
                     envelope_call.cloud, envelope_call.base_url, request_id, client_request_id)
    absolute_path = "/%s/%s" % (envelope_call.version, path)
    state.counters["batch_items"] += 1
    if parsed.scheme or parsed.netloc:
        call.operation = "invalid_url"
        answer = graph_error(call, 400, "BadRequest", "Invalid request URL '%s': batch requests take URLs relative"
                                                      " to the version root." % item["url"])
    elif any(results[dep]["status"] >= 400 for dep in item["depends_on"]):
        call.operation = "failed_dependency"
        answer = graph_error(call, 424, "FailedDependency", "The request depends on a request that failed.")
    elif path.split("/", 1)[0] in ("$batch", "%24batch"):
        call.operation = "nested_batch"
        answer = graph_error(call, 400, "BadRequest", "Nested batch requests are not supported.")
    else:
        answer = request_faults(state, call, absolute_path) or dispatch(call)
    status, headers, answer_body = answer
    state.count("batch_item", tenant_id=call.tenant.id, operation=call.operation, status=status)
    log_item(call, absolute_path, query, redact(body) if isinstance(body, (dict, list)) else body, status)
    result = {"id": item["id"], "status": status, "headers": dict(headers)}
    if answer_body is not None:
        result["body"] = answer_body
    return result
