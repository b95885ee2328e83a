"""Fault configuration and the per-tenant rate limiter.

Faults are plain JSON so they can come from the seed, the command line or the control API. Count-based
faults ("the next N requests") are consumed as matching requests arrive; reading the faults back shows
what is left.
"""

import copy
import email.utils
import math
import re

from .constants import DEFAULT_TOKEN_LIFETIME_SECONDS

ERROR_BURST_STATUSES = (500, 502, 503, 504)
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
TARGETS = ("graph", "token", "any")

DEFAULT_FAULTS = {
    # Added to every Graph HTTP request; a $batch envelope counts once.
    "latency_ms": 0,
    # Added to every token request (token endpoint and managed identity endpoint).
    "token_latency_ms": 0,
    # Lifetime in seconds of tokens issued from now on.
    "token_lifetime": DEFAULT_TOKEN_LIFETIME_SECONDS,
    # {"requests_per_second": float, "burst": int, "retry_after": "seconds" | "http-date", "tenants": [ids]}
    "rate_limit": None,
    # [{"status": 503|504|500|502, "count": N, "path_regex": str, "retry_after": seconds, "target": ...}]
    "error_bursts": [],
    # [{"when": "before" | "after", "count": N, "path_regex": str, "target": ...}]
    "drop_connections": [],
    # [{"count": N, "path_regex": str, "methods": [...]}]: 409 Directory_ConcurrencyViolation
    "concurrency_violations": [],
    # [{"status": 307|308|301|302|303, "location": url, "count": N, "path_regex": str, "target": ...}]: answered
    # with that redirect before anything is processed (what a misconfigured gateway or a hostile proxy does).
    "redirects": [],
    # [{"count": N, "path_regex": str, "methods": [...] (default GET), "body": any JSON value}]: answered 200 with
    # that body instead of the real answer (a malformed answer from Graph or a proxy in front of it).
    "malformed_answers": [],
    # Seconds a service principal/application created at run time answers 404.
    "eventual_consistency_seconds": 0,
    # [{"applications": [sp id | application id | appId, ...] (absent: every app), "answer": 401|403|500|502|503|504|
    # "timeout"|"token_exchange", "count": N (absent: until cleared)}]: the provisioning target (SCIM endpoint or its
    # token endpoint) is down or erring, so validateCredentials cannot check even saved credentials that work.
    "target_outages": [],
    # true: PUT v1.0 .../synchronization/secrets naming Oauth2TokenExchangeUri answers 400 NotInAllowList (single
    # source: Microsoft's SCIM onboarding tooling; status unconfirmed).
    "refuse_oauth2_token_exchange_uri": False,
}
TARGET_OUTAGE_ANSWERS = (401, 403, 500, 502, 503, 504, "timeout", "token_exchange")


class FaultError(ValueError):
    """A fault specification is not valid; the message says which field."""


def _count(rule, where):
    try:
        count = int(rule.get("count", 1))
    except (TypeError, ValueError):
        raise FaultError("%s.count must be an integer" % where) from None
    if count < 0:
        raise FaultError("%s.count must not be negative" % where)
    return count


def _regex(rule, where):
    pattern = rule.get("path_regex")
    if pattern is None:
        return None
    try:
        re.compile(pattern)
    except (re.error, TypeError) as error:
        raise FaultError("%s.path_regex is not a valid regular expression: %s" % (where, error)) from None
    return str(pattern)


def _target(rule, where):
    target = rule.get("target", "graph")
    if target not in TARGETS:
        raise FaultError("%s.target must be one of %s" % (where, ", ".join(TARGETS)))
    return target


def _rules(value, where):
    if value is None:
        return []
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise FaultError("%s must be a rule object or a list of them" % where)
    return value


def _non_negative_number(value, where):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise FaultError("%s must be a number" % where) from None
    if number < 0:
        raise FaultError("%s must not be negative" % where)
    return number


def normalize_faults(changes, base=None):
    """Validate `changes` and merge them over `base` (default: no faults); returns a new dict."""
    faults = copy.deepcopy(base if base is not None else DEFAULT_FAULTS)
    if not isinstance(changes, dict):
        raise FaultError("faults must be a JSON object")
    unknown = sorted(set(changes) - set(DEFAULT_FAULTS))
    if unknown:
        raise FaultError("unknown fault(s) %s; known: %s" % (unknown, sorted(DEFAULT_FAULTS)))
    for name in ("latency_ms", "token_latency_ms", "eventual_consistency_seconds"):
        if name in changes:
            faults[name] = _non_negative_number(changes[name] or 0, name)
    if "token_lifetime" in changes:
        lifetime = int(_non_negative_number(changes["token_lifetime"], "token_lifetime"))
        if lifetime < 1:
            raise FaultError("token_lifetime must be at least 1 second")
        faults["token_lifetime"] = lifetime
    if "rate_limit" in changes:
        rule = changes["rate_limit"]
        if rule is None:
            faults["rate_limit"] = None
        elif not isinstance(rule, dict):
            raise FaultError("rate_limit must be an object or null")
        else:
            rate = _non_negative_number(rule.get("requests_per_second", 10), "rate_limit.requests_per_second")
            if rate <= 0:
                raise FaultError("rate_limit.requests_per_second must be positive")
            burst = int(_non_negative_number(rule.get("burst", max(1, math.ceil(rate))), "rate_limit.burst"))
            retry_after = rule.get("retry_after", "seconds")
            if retry_after not in ("seconds", "http-date"):
                raise FaultError("rate_limit.retry_after must be 'seconds' or 'http-date'")
            tenants = rule.get("tenants")
            if tenants is not None and not isinstance(tenants, list):
                raise FaultError("rate_limit.tenants must be a list of tenant ids")
            faults["rate_limit"] = {
                "requests_per_second": rate,
                "burst": max(1, burst),
                "retry_after": retry_after,
                "tenants": [str(item).lower() for item in tenants] if tenants is not None else None,
            }
    if "error_bursts" in changes:
        bursts = []
        for position, rule in enumerate(_rules(changes["error_bursts"], "error_bursts")):
            where = "error_bursts[%d]" % position
            status = int(rule.get("status", 503))
            if status not in ERROR_BURST_STATUSES:
                raise FaultError("%s.status must be one of %s" % (where, ERROR_BURST_STATUSES))
            retry_after = rule.get("retry_after")
            bursts.append({
                "status": status,
                "count": _count(rule, where),
                "path_regex": _regex(rule, where),
                "retry_after": int(retry_after) if retry_after is not None else None,
                "target": _target(rule, where),
            })
        faults["error_bursts"] = bursts
    if "drop_connections" in changes:
        drops = []
        for position, rule in enumerate(_rules(changes["drop_connections"], "drop_connections")):
            where = "drop_connections[%d]" % position
            when = rule.get("when", "before")
            if when not in ("before", "after"):
                raise FaultError("%s.when must be 'before' or 'after'" % where)
            drops.append({"when": when, "count": _count(rule, where), "path_regex": _regex(rule, where),
                          "target": _target(rule, where)})
        faults["drop_connections"] = drops
    if "concurrency_violations" in changes:
        violations = []
        for position, rule in enumerate(_rules(changes["concurrency_violations"], "concurrency_violations")):
            where = "concurrency_violations[%d]" % position
            methods = rule.get("methods", ["POST", "PUT", "PATCH", "DELETE"])
            if not isinstance(methods, list):
                raise FaultError("%s.methods must be a list" % where)
            violations.append({"count": _count(rule, where), "path_regex": _regex(rule, where),
                               "methods": [str(item).upper() for item in methods]})
        faults["concurrency_violations"] = violations
    if "redirects" in changes:
        redirects = []
        for position, rule in enumerate(_rules(changes["redirects"], "redirects")):
            where = "redirects[%d]" % position
            status = int(rule.get("status", 307))
            if status not in REDIRECT_STATUSES:
                raise FaultError("%s.status must be one of %s" % (where, REDIRECT_STATUSES))
            location = rule.get("location")
            if not isinstance(location, str) or not location:
                raise FaultError("%s.location must be the URL to redirect to" % where)
            redirects.append({"status": status, "location": location, "count": _count(rule, where),
                              "path_regex": _regex(rule, where), "target": _target(rule, where)})
        faults["redirects"] = redirects
    if "malformed_answers" in changes:
        malformed = []
        for position, rule in enumerate(_rules(changes["malformed_answers"], "malformed_answers")):
            where = "malformed_answers[%d]" % position
            methods = rule.get("methods", ["GET"])
            if not isinstance(methods, list):
                raise FaultError("%s.methods must be a list" % where)
            malformed.append({"count": _count(rule, where), "path_regex": _regex(rule, where),
                              "methods": [str(item).upper() for item in methods],
                              "body": copy.deepcopy(rule.get("body", {"value": "malformed"}))})
        faults["malformed_answers"] = malformed
    if "target_outages" in changes:
        outages = []
        for position, rule in enumerate(_rules(changes["target_outages"], "target_outages")):
            where = "target_outages[%d]" % position
            answer = rule.get("answer", 503)
            if answer not in TARGET_OUTAGE_ANSWERS:
                raise FaultError("%s.answer must be one of %s" % (where, TARGET_OUTAGE_ANSWERS))
            applications = rule.get("applications")
            if applications is not None and not isinstance(applications, list):
                raise FaultError("%s.applications must be a list of ids" % where)
            outages.append({"answer": answer,
                            "count": _count(rule, where) if rule.get("count") is not None else None,
                            "applications": [str(item).lower() for item in applications]
                            if applications is not None else None})
        faults["target_outages"] = outages
    if "refuse_oauth2_token_exchange_uri" in changes:
        if not isinstance(changes["refuse_oauth2_token_exchange_uri"], bool):
            raise FaultError("refuse_oauth2_token_exchange_uri must be true or false")
        faults["refuse_oauth2_token_exchange_uri"] = changes["refuse_oauth2_token_exchange_uri"]
    return faults


def take_target_outage(rules, application_ids):
    """The first outage rule that covers an application (one of its ids), spending one count; None when none."""
    for rule in rules:
        if rule["count"] is not None and rule["count"] <= 0:
            continue
        if rule["applications"] is None or any(identifier in rule["applications"] for identifier in application_ids):
            if rule["count"] is not None:
                rule["count"] -= 1
            return rule
    return None


def _matches(rule, path, target):
    if rule["count"] <= 0:
        return False
    rule_target = rule.get("target", "graph")
    if rule_target != "any" and rule_target != target:
        return False
    pattern = rule.get("path_regex")
    return pattern is None or re.search(pattern, path) is not None


def take_rule(rules, path, target, method=None):
    """Consume one count of the first rule matching this request; returns the rule or None."""
    for rule in rules:
        if method is not None and "methods" in rule and method not in rule["methods"]:
            continue
        if _matches(rule, path, target):
            rule["count"] -= 1
            return rule
    return None


class RateLimiter:
    """Token buckets per tenant: `burst` requests at once, refilled at `requests_per_second`."""

    def __init__(self):
        self._buckets = {}

    def reset(self):
        """Forget every bucket (used when the limit changes or the emulator is reset)."""
        self._buckets.clear()

    def take(self, rule, tenant_id, now):
        """Spend one request of the tenant's budget; returns None if allowed, else seconds to wait (>= 1)."""
        if rule is None:
            return None
        if rule["tenants"] is not None and tenant_id.lower() not in rule["tenants"]:
            return None
        rate = rule["requests_per_second"]
        capacity = float(rule["burst"])
        tokens, last = self._buckets.get(tenant_id, (capacity, now))
        tokens = min(capacity, tokens + (now - last) * rate)
        if tokens >= 1.0:
            self._buckets[tenant_id] = (tokens - 1.0, now)
            return None
        self._buckets[tenant_id] = (tokens, now)
        return max(1, math.ceil((1.0 - tokens) / rate))


def retry_after_header(seconds, form, now_epoch):
    """Render a Retry-After value as delta-seconds or as an HTTP date `seconds` from now."""
    if form == "http-date":
        # Round up so that a client honouring the date never comes back too early.
        return email.utils.formatdate(math.ceil(now_epoch) + seconds, usegmt=True)
    return str(int(seconds))
