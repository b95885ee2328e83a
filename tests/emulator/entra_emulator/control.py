"""The control API (`/_emulator/...`): faults, request log, counters, reset and test helpers.

JSON over the same HTTPS listeners, no authentication, loopback callers only.
"""

import json
import time

from .faults import FaultError, normalize_faults
from .seed import SeedError

JSON = {"Content-Type": "application/json; charset=utf-8"}
_LOOPBACK = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})


def _answer(status, body):
    return status, JSON, body


def _problem(status, message):
    return _answer(status, {"error": message})


def application_state(application):
    """What tests may want to know about an app: ids, whether it is authorized, what was saved (keys only)."""
    record = application.record
    return {
        "tenant_id": record["tenant_id"],
        "name": record["name"],
        "display_name": record["display_name"],
        "app_id": record["app_id"],
        "application_id": record["application_id"],
        "service_principal_id": record["service_principal_id"],
        "authorized": application.authorized,
        "saved_credential_keys": sorted(application.saved_credentials),
        # Not a secret: the accidental-deletion threshold and notification e-mail, as saved (parsed), or None.
        "saved_notification_settings": _notification_settings(application.saved_credentials),
        "used_authorization_codes": len(application.used_codes),
        "dropped_secret_payloads": application.dropped_secret_payloads,
        "jobs": [{"id": job_id, "templateId": job["templateId"], "state": job["state"], "code": job["code"],
                  "quarantined": job["quarantine"] is not None, "last_restart_scope": job["lastRestartScope"],
                  "redundant_starts": job["redundantStarts"]}
                 for job_id, job in application.jobs.items()],
        "visible": application.is_visible(time.monotonic()),
    }


def _notification_settings(saved):
    try:
        return json.loads(saved.get("SyncNotificationSettings") or "null")
    except ValueError:
        return None


def _find_application(state, identifier):
    identifier = identifier.lower()
    for tenant in state.tenants.values():
        application = (tenant.by_service_principal_id.get(identifier) or tenant.by_application_id.get(identifier)
                       or tenant.by_app_id.get(identifier))
        if application is not None:
            return application
    return None


def handle(state, method, path, query, raw_body, remote, info):
    """Serve one control request; returns (status, headers, body)."""
    if remote not in _LOOPBACK:
        return _problem(403, "the control API answers loopback callers only")
    try:
        body = json.loads(raw_body) if raw_body else {}
    except ValueError:
        return _problem(400, "the body must be JSON")
    if not isinstance(body, dict):
        return _problem(400, "the body must be a JSON object")
    route = path[len("/_emulator/"):].rstrip("/")
    if route == "health" and method == "GET":
        return _answer(200, {"status": "ok", "pid": info.get("pid")})
    if route == "info" and method == "GET":
        return _answer(200, info)
    if route == "faults":
        if method == "GET":
            return _answer(200, state.faults)
        if method == "PUT":
            try:
                faults = normalize_faults(body, state.faults)
            except FaultError as error:
                return _problem(400, str(error))
            if faults["rate_limit"] != state.faults["rate_limit"]:
                state.limiter.reset()
            state.faults = faults
            return _answer(200, state.faults)
        if method == "DELETE":
            state.faults = normalize_faults({}, state.base_faults)
            state.limiter.reset()
            return _answer(200, state.faults)
    if route == "log":
        if method == "GET":
            since = int(query.get("since", 0) or 0)
            entries = [entry for entry in state.log if entry["seq"] > since]
            if query.get("limit"):
                entries = entries[: int(query["limit"])]
            return _answer(200, {"entries": entries})
        if method == "DELETE":
            state.log.clear()
            return _answer(200, {"entries": []})
    if route == "counters" and method == "GET":
        return _answer(200, state.counters_snapshot())
    if route == "reset" and method == "POST":
        state.reset()
        return _answer(200, {"reset": True})
    if route == "expire-tokens" and method == "POST":
        state.tokens.expire_all()
        return _answer(200, {"expired": True})
    if route == "federation/token" and method == "POST":
        subject = body.get("subject")
        if not isinstance(subject, str) or not subject:
            return _problem(400, "subject is required")
        audience = body.get("audience") or "api://AzureADTokenExchange"
        lifetime = int(body.get("lifetime", 3600))
        now = int(time.time())
        token = state.federation.issue(subject, audience, lifetime, now=body.get("issued_at", now))
        return _answer(200, {"token": token, "issuer": state.federation.issuer_url, "subject": subject,
                             "audience": audience, "expires_on": int(body.get("issued_at", now)) + lifetime})
    if route == "applications":
        if method == "POST":
            tenant = state.find_tenant(str(body.pop("tenant_id", "") or ""))
            if tenant is None:
                return _problem(400, "tenant_id must name a tenant of the seed")
            window = body.pop("visible_after_seconds", None)
            if window is None:
                window = state.faults["eventual_consistency_seconds"]
            try:
                application = state.create_application(tenant, body, float(window))
            except (SeedError, ValueError) as error:
                return _problem(400, str(error))
            answer = dict(application.record)
            answer.update(application_state(application))
            return _answer(201, answer)
        if method == "GET":
            tenant_filter = query.get("tenant_id")
            return _answer(200, {"value": [application_state(application)
                                           for tenant in state.tenants.values()
                                           if not tenant_filter or tenant.id == tenant_filter.lower()
                                           for application in tenant.applications]})
    if route.startswith("applications/") and method == "GET":
        application = _find_application(state, route.split("/", 1)[1])
        if application is None:
            return _problem(404, "no application, service principal or appId %s" % route.split("/", 1)[1])
        return _answer(200, application_state(application))
    return _problem(404, "no control endpoint %s %s" % (method, path))
