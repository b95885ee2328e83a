"""The emulator's shared in-memory state: seed objects, what callers changed, faults, log and counters.

Everything runs on one asyncio loop, so a request's state change is atomic as long as it does not await.
"""

import collections
import datetime
import os
import secrets
import time

from . import pki
from .constants import AUTHORIZATION_CODE_KEY, FEDERATION_ISSUER_ALIAS, GRAPH_ROOTS
from .faults import RateLimiter, normalize_faults
from .seed import expand_application
from .tokens import AccessTokenService, FederationIssuer, registered_thumbprints

DEFAULT_LOG_LIMIT = 50_000
_SECRET_FIELD_NAMES = frozenset({
    "client_secret", "client_assertion", "assertion", "password", "secret", "access_token", "refresh_token",
    "authorization",
})
REDACTED = "***"


def redact(value):
    """Copy a parsed request body with credential values replaced by "***" (key names are kept)."""
    if isinstance(value, dict):
        result = {}
        is_pair = "key" in value and "value" in value
        for name, item in value.items():
            if (is_pair and name == "value") or (isinstance(name, str) and name.lower() in _SECRET_FIELD_NAMES):
                result[name] = REDACTED if item is not None else None
            else:
                result[name] = redact(item)
        return result
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def utc_timestamp(epoch=None, with_zone=True):
    """ISO-8601 UTC timestamp in the form Graph and Entra print."""
    moment = datetime.datetime.fromtimestamp(epoch if epoch is not None else time.time(), datetime.timezone.utc)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return text + "Z" if with_zone else text


# The schedule state that goes with each status code: a job that runs (or is quarantined between attempts) is
# scheduled, a paused one paused, one that never started disabled.
_SCHEDULE_STATE_BY_CODE = {"Active": "Active", "Quarantine": "Active", "Paused": "Paused"}

# Inferred: what a quarantine says when the seed names no error. The codes and texts are the emulator's; the shape
# (synchronizationError {code, message, tenantActionable}) is the CSDL's.
_QUARANTINE_ERRORS = {
    "TooManyDeletes": ("TooManyDeletes", "The provisioning job was quarantined because the number of deletions in a"
                       " cycle exceeded the accidental deletions threshold.", True),
    "QuarantinedOnDemand": ("QuarantinedOnDemand", "The provisioning job was put in quarantine on request.", True),
    "EncounteredQuarantineException": (
        "SystemForCrossDomainIdentityManagementCredentialValidationUnavailable",
        "The provisioning service could not authenticate to the target application: it answered HTTP/401"
        " Unauthorized. Check the saved credentials and re-authorize the application.", True),
}


def _default_quarantine_error(reason):
    code, message, actionable = _QUARANTINE_ERRORS.get(
        reason, (reason, "The provisioning job was quarantined (%s)." % reason, False))
    return {"code": code, "message": message, "tenantActionable": actionable}


def task_execution(state, began, error=None):
    """A synchronizationTaskExecution with every counter of the v1.0 CSDL."""
    return {"activityIdentifier": None, "countEntitled": 0, "countEntitledForProvisioning": 0, "countEscrowed": 0,
            "countEscrowedRaw": 0, "countExported": 0, "countExports": 0, "countImported": 0,
            "countImportedDeltas": 0, "countImportedReferenceDeltas": 0, "error": error, "state": state,
            "timeBegan": began, "timeEnded": began}


def seeded_job(job, created):
    """A job's mutable state from its seed entry: schedule state, status code, quarantine and last executions."""
    state = {"templateId": job["templateId"], "code": job.get("code", "NotRun"),
             "state": _SCHEDULE_STATE_BY_CODE.get(job.get("code"), "Disabled"),
             "quarantine": None, "lastExecution": None, "lastSuccessfulExecution": None,
             "lastSuccessfulExecutionWithExports": None, "lastRestartScope": None, "redundantStarts": 0}
    if state["code"] == "Quarantine":
        reason = job.get("quarantine_reason", "EncounteredQuarantineException")
        state["quarantine"] = {"currentBegan": created, "nextAttempt": utc_timestamp(time.time() + 4 * 3600),
                               "reason": reason, "seriesBegan": created, "seriesCount": 1,
                               "error": job.get("quarantine_error") or _default_quarantine_error(reason)}
    last_run = job.get("last_execution")
    if last_run:
        error = job.get("last_execution_error")
        if error is None and last_run == "Failed":
            # Inferred: a failed run carries the error that quarantined the job, else a generic one.
            error = (state["quarantine"] or {}).get("error") or {
                "code": "SynchronizationFailed", "message": "The provisioning cycle failed.", "tenantActionable": False}
        state["lastExecution"] = task_execution(last_run, created, error)
        if last_run == "Succeeded":
            state["lastSuccessfulExecution"] = task_execution(last_run, created)
            state["lastSuccessfulExecutionWithExports"] = task_execution(last_run, created)
    return state


class Principal:
    """Someone who can get a token: an automation client (app registration) or a managed identity."""

    __slots__ = ("kind", "tenant", "client_id", "object_id", "display_name", "permissions", "secrets",
                 "certificates", "federated_credentials", "identity_type", "synchronization_denial")

    def __init__(self, kind, tenant, record):
        self.kind = kind
        self.tenant = tenant
        self.client_id = record["client_id"]
        self.object_id = record["object_id"]
        self.display_name = record["display_name"]
        self.permissions = list(record["permissions"])
        self.secrets = list(record.get("secrets", []))
        self.certificates = {}
        self.federated_credentials = list(record.get("federated_credentials", []))
        self.identity_type = record.get("type")
        self.synchronization_denial = record.get("synchronization_denial", 403)


class Application:
    """An application with its service principal, its provisioning connector and what callers did to it."""

    __slots__ = ("record", "tenant_id", "authorized", "saved_credentials", "used_codes", "visible_at", "jobs",
                 "created", "dropped_secret_payloads")

    def __init__(self, record, visible_at=0.0):
        self.record = record
        self.tenant_id = record["tenant_id"]
        self.visible_at = visible_at
        self.created = utc_timestamp()
        self.reset()

    def reset(self):
        """Back to the seed's state."""
        self.authorized = self.record["authorized"]
        self.saved_credentials = dict(self.record.get("saved_secrets") or {})
        self.used_codes = set()
        self.dropped_secret_payloads = 0
        self.jobs = {job["id"]: seeded_job(job, self.created) for job in self.record["jobs"]}

    def is_visible(self, now_monotonic):
        """False while a freshly created object is still inside its eventual-consistency window."""
        return now_monotonic >= self.visible_at

    @property
    def needs_authorization_code(self):
        """Whether the connector uses the OAuth authorization-code grant (single-use codes)."""
        return AUTHORIZATION_CODE_KEY in self.record["accepted_credentials"]


class Tenant:
    """A directory with its cloud, principals and applications (indexed for Graph lookups)."""

    def __init__(self, record):
        self.id = record["id"]
        self.cloud = record["cloud"]
        self.display_name = record["display_name"]
        self.domain = record.get("domain")
        # Source users and groups for provisioning (directory.py); read-only at run time.
        self.directory = record.get("directory") or {"users": {}, "groups": {}}
        self.applications = []
        self.by_service_principal_id = {}
        self.by_application_id = {}
        self.by_app_id = {}
        self.by_display_name = {}

    def add_application(self, application):
        """Index an application under all the keys Graph can address it by."""
        record = application.record
        self.applications.append(application)
        self.by_service_principal_id[record["service_principal_id"]] = application
        self.by_application_id[record["application_id"]] = application
        self.by_app_id[record["app_id"]] = application
        self.by_display_name.setdefault(record["display_name"].lower(), []).append(application)

    def remove_runtime_applications(self, seed_count):
        """Drop applications created at run time, keeping the first `seed_count` (the seed's)."""
        for application in self.applications[seed_count:]:
            record = application.record
            self.by_service_principal_id.pop(record["service_principal_id"], None)
            self.by_application_id.pop(record["application_id"], None)
            self.by_app_id.pop(record["app_id"], None)
            same_name = self.by_display_name.get(record["display_name"].lower(), [])
            if application in same_name:
                same_name.remove(application)
        del self.applications[seed_count:]


def _new_counters():
    return {
        "requests": collections.Counter(),
        "operations": collections.Counter(),
        "statuses": collections.Counter(),
        "graph_requests": 0,
        "batch_envelopes": 0,
        "batch_items": 0,
        "tokens_issued": 0,
        "throttled": 0,
        "dropped_connections": 0,
        "per_tenant": {},
    }


class EmulatorState:
    """All state shared by the four listeners."""

    def __init__(self, expanded_seed, state_dir, base_faults=None, log_limit=DEFAULT_LOG_LIMIT):
        self.seed = expanded_seed
        self.state_dir = state_dir
        self.base_faults = normalize_faults(expanded_seed.get("faults") or {})
        if base_faults:
            self.base_faults = normalize_faults(base_faults, self.base_faults)
        self.faults = normalize_faults({}, self.base_faults)
        self.limiter = RateLimiter()
        self.tokens = AccessTokenService()
        self.federation = FederationIssuer()
        self.msi_header = secrets.token_urlsafe(24)
        self.listener_urls = {}
        self.log = collections.deque(maxlen=log_limit)
        self._seq = 0
        self.counters = _new_counters()
        self.certificates_info = {}
        self.tenants = {}
        self.tenants_by_domain = {}
        self.clients = {}
        self.identities_by_client_id = {}
        self.identities_by_object_id = {}
        self.system_identities = {}
        self.default_system_identity = None
        self._seed_application_counts = {}
        self._load(expanded_seed)

    def _load(self, expanded):
        certificate_dir = os.path.join(self.state_dir, "certs")
        for record in expanded["tenants"]:
            tenant = Tenant(record)
            self.tenants[tenant.id] = tenant
            if tenant.domain:
                self.tenants_by_domain[tenant.domain.lower()] = tenant
            for client_record in record["clients"]:
                principal = Principal("client", tenant, client_record)
                for source in client_record["certificates"]:
                    if source == "generate":
                        certificate, key = pki.generate_client_certificate("entra-emulator " + principal.client_id)
                        self.certificates_info[principal.client_id] = pki.write_client_certificate(
                            certificate_dir, principal.client_id, certificate, key)
                    else:
                        certificate = pki.load_certificate_file(source)
                    principal.certificates.update(registered_thumbprints(certificate))
                self.clients[(tenant.id, principal.client_id)] = principal
            for identity_record in record["managed_identities"]:
                principal = Principal("managed_identity", tenant, identity_record)
                self.identities_by_client_id[principal.client_id] = principal
                self.identities_by_object_id[principal.object_id] = principal
                if principal.identity_type == "system":
                    self.system_identities.setdefault(tenant.id, principal)
                    if self.default_system_identity is None:
                        self.default_system_identity = principal
            for application_record in record["applications"]:
                tenant.add_application(Application(application_record))
            self._seed_application_counts[tenant.id] = len(tenant.applications)

    def set_listener_urls(self, urls):
        """Record each cloud's base URL once the ports are bound (the federation issuer lives on global's)."""
        self.listener_urls = dict(urls)
        self.federation.issuer_url = self.listener_urls["global"] + "/federation"
        for principal in self.clients.values():
            for credential in principal.federated_credentials:
                if credential["issuer"] == FEDERATION_ISSUER_ALIAS:
                    credential["issuer"] = self.federation.issuer_url

    # ---- lookups -------------------------------------------------------------------------------------------

    def find_tenant(self, reference):
        """A tenant by id (any case) or by its domain name; None when unknown."""
        tenant = self.tenants.get(reference.lower())
        if tenant is None:
            tenant = self.tenants_by_domain.get(reference.lower())
        return tenant

    def principal_for_claims(self, claims):
        """The client or managed identity a token was issued to."""
        tenant_id = claims.get("tid")
        principal = self.clients.get((tenant_id, claims.get("appid")))
        return principal or self.identities_by_client_id.get(claims.get("appid"))

    # ---- runtime changes -----------------------------------------------------------------------------------

    def create_application(self, tenant, raw, visible_after_seconds):
        """Create an application + service principal at run time (hidden for the consistency window)."""
        record = expand_application(raw, {"id": tenant.id, "cloud": tenant.cloud}, "application")
        for key, index in (("service_principal_id", tenant.by_service_principal_id),
                           ("application_id", tenant.by_application_id), ("app_id", tenant.by_app_id)):
            if record[key] in index:
                raise ValueError("%s %s already exists in tenant %s" % (key, record[key], tenant.id))
        principals = {client_id for (tenant_id, client_id) in self.clients if tenant_id == tenant.id}
        principals.update(p.client_id for p in self.identities_by_client_id.values() if p.tenant is tenant)
        unknown = [owner for owner in record["owners"] if owner not in principals]
        if unknown:
            raise ValueError("owner(s) %s are no client or identity of tenant %s" % (unknown, tenant.id))
        application = Application(record, visible_at=time.monotonic() + visible_after_seconds)
        tenant.add_application(application)
        return application

    def reset(self):
        """Back to the seed: authorizations, used codes, run-time objects, faults, log, counters."""
        for tenant in self.tenants.values():
            tenant.remove_runtime_applications(self._seed_application_counts[tenant.id])
            for application in tenant.applications:
                application.reset()
        self.faults = normalize_faults({}, self.base_faults)
        self.limiter.reset()
        self.tokens.reset()
        self.log.clear()
        self.counters = _new_counters()

    # ---- log and counters ----------------------------------------------------------------------------------

    def log_request(self, **fields):
        """Append a log entry (a dict the caller may complete later, e.g. with the status); returns it."""
        self._seq += 1
        now = time.time()
        # Milliseconds, so tests can check how long a client waited between retries.
        stamp = "%s.%03dZ" % (utc_timestamp(now, with_zone=False), int(now * 1000) % 1000)
        entry = {"seq": self._seq, "time": stamp, "in_batch": False, "batch_seq": None}
        entry.update(fields)
        self.log.append(entry)
        return entry

    def count(self, kind, tenant_id=None, operation=None, status=None):
        """Count one request of endpoint `kind` (and its Graph operation and status when given)."""
        counters = self.counters
        counters["requests"][kind] += 1
        if operation is not None:
            counters["operations"][operation] += 1
        if status is not None:
            counters["statuses"][str(status)] += 1
        if kind in ("graph", "batch_item"):
            counters["graph_requests"] += 1
            if tenant_id is not None:
                self.tenant_counter(tenant_id)["graph_requests"] += 1

    def tenant_counter(self, tenant_id):
        """The per-tenant counter dict, created on first use."""
        per_tenant = self.counters["per_tenant"].get(tenant_id)
        if per_tenant is None:
            per_tenant = self.counters["per_tenant"][tenant_id] = {"graph_requests": 0, "tokens_issued": 0,
                                                                   "throttled": 0}
        return per_tenant

    def count_throttled(self, tenant_id):
        """Count one 429 answer."""
        self.counters["throttled"] += 1
        self.tenant_counter(tenant_id)["throttled"] += 1

    def counters_snapshot(self):
        """Counters as plain JSON."""
        counters = self.counters
        return {
            "requests": dict(counters["requests"]),
            "operations": dict(counters["operations"]),
            "statuses": dict(counters["statuses"]),
            "graph_requests": counters["graph_requests"],
            "batch_envelopes": counters["batch_envelopes"],
            "batch_items": counters["batch_items"],
            "tokens_issued": counters["tokens_issued"],
            "throttled": counters["throttled"],
            "dropped_connections": counters["dropped_connections"],
            "per_tenant": {tenant: dict(values) for tenant, values in counters["per_tenant"].items()},
        }

    # ---- tokens ------------------------------------------------------------------------------------------------

    def issue_access_token(self, principal, cloud, authentication_method):
        """Issue an access token for Graph of `cloud` to `principal`; returns (token, lifetime_seconds, exp)."""
        now = int(time.time())
        lifetime = int(self.faults["token_lifetime"])
        tenant = principal.tenant
        claims = {
            "aud": GRAPH_ROOTS[cloud],
            "iss": "%s/%s/" % (self.listener_urls[cloud], tenant.id),
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "app_displayname": principal.display_name,
            "appid": principal.client_id,
            # 0 = public client, 1 = client secret, 2 = certificate or assertion (Entra's v1 token semantics)
            "appidacr": authentication_method,
            "idp": "%s/%s/" % (self.listener_urls[cloud], tenant.id),
            "idtyp": "app",
            "oid": principal.object_id,
            "sub": principal.object_id,
            "tid": tenant.id,
            "uti": secrets.token_urlsafe(16),
            "ver": "1.0",
        }
        if principal.permissions:
            claims["roles"] = list(principal.permissions)
        if principal.kind == "managed_identity":
            claims["xms_mirid"] = "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/emulator/" \
                "providers/Microsoft.ManagedIdentity/userAssignedIdentities/%s" % principal.client_id
        token = self.tokens.issue(claims)
        self.counters["tokens_issued"] += 1
        self.tenant_counter(tenant.id)["tokens_issued"] += 1
        return token, lifetime, claims["exp"]
