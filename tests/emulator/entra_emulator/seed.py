"""Seed data: read the YAML, validate it and expand generator blocks into plain records.

Identifiers that a seed leaves out are derived deterministically so that other scripts can compute
them from the same rule (or call `load_seed`):

* `app_id`                 = uuid5(UUID(tenant_id), "appId:" + name)
* `application_id`         = uuid5(UUID(tenant_id), "application:" + name)
* `service_principal_id`   = uuid5(UUID(tenant_id), "servicePrincipal:" + name)
* job id                   = f"{templateId}.{service_principal_id.hex}.{uuid5(UUID(tenant_id), f'job:{name}:{n}').hex}"
  (n = position of the job in the app's list, from 0)
* system-assigned managed identity client_id = uuid5(UUID(tenant_id), "systemAssignedIdentity")

`name` is the app's `name` if given, else its `display_name`; in a generator block it is
`name_prefix + str(index).zfill(pad)` with index running from `start` (default 1), `pad` default 4.
Template strings may use the placeholders {name}, {index}, {tenant_id}, {app_id}, {application_id} and
{service_principal_id}; nothing else inside braces is touched.
"""

import copy
import json
import re
import uuid

import yaml

from .constants import AUTHORIZATION_CODE_KEY, CLOUDS, FEDERATION_DEFAULT_AUDIENCE, FEDERATION_ISSUER_ALIAS
from .constants import KNOWN_PERMISSIONS, SYNCHRONIZATION_SECRET_KEYS
from .directory import expand_directory


# synchronizationStatusCode, the state of a synchronizationTaskExecution and quarantineReason, as the v1.0 CSDL
# spells them.
JOB_STATUS_CODES = ("NotConfigured", "NotRun", "Active", "Paused", "Quarantine")
EXECUTION_STATES = ("Succeeded", "Failed", "EntryLevelErrors")
QUARANTINE_REASONS = ("EncounteredBaseEscrowThreshold", "EncounteredTotalEscrowThreshold",
                      "EncounteredEscrowProportionThreshold", "EncounteredQuarantineException", "Unknown",
                      "QuarantinedOnDemand", "TooManyDeletes", "IngestionInterrupted")
# How Graph answers a principal's synchronization call that its permissions do not allow: 401 UnknownError with an
# empty message (seen in real use) or 403 Authorization_RequestDenied.
SYNCHRONIZATION_DENIALS = (401, 403)


class SeedError(ValueError):
    """The seed file is not valid; the message names the offending entry."""


_PLACEHOLDER = re.compile(r"\{(name|index|tenant_id|app_id|application_id|service_principal_id)\}")


def derived_id(tenant_id, kind, name):
    """Return the deterministic GUID (string) of an object of `kind` called `name` in a tenant."""
    return str(uuid.uuid5(uuid.UUID(str(tenant_id)), "%s:%s" % (kind, name)))


def derived_job_id(tenant_id, name, template_id, position, service_principal_id):
    """Return the deterministic synchronization job id of the `position`-th job of an app."""
    tail = uuid.uuid5(uuid.UUID(str(tenant_id)), "job:%s:%d" % (name, position)).hex
    return "%s.%s.%s" % (template_id, uuid.UUID(service_principal_id).hex, tail)


def system_identity_client_id(tenant_id):
    """Return the deterministic client id of a tenant's system-assigned managed identity."""
    return str(uuid.uuid5(uuid.UUID(str(tenant_id)), "systemAssignedIdentity"))


def _guid(value, where):
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        raise SeedError("%s: %r is not a GUID" % (where, value)) from None


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _substitute(value, variables):
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda match: str(variables[match.group(1)]), value)
    if isinstance(value, list):
        return [_substitute(item, variables) for item in value]
    if isinstance(value, dict):
        return {key: _substitute(item, variables) for key, item in value.items()}
    return value


def _permissions(raw, where):
    permissions = [str(item) for item in _as_list(raw)]
    unknown = [item for item in permissions if item not in KNOWN_PERMISSIONS]
    if unknown:
        raise SeedError("%s: unknown permission(s) %s; known: %s" % (where, unknown, sorted(KNOWN_PERMISSIONS)))
    return permissions


def _expand_client(raw, tenant_id, where):
    if not isinstance(raw, dict) or "client_id" not in raw:
        raise SeedError("%s: a client needs a client_id" % where)
    client_id = _guid(raw["client_id"], where + ".client_id")
    secrets = [str(item) for item in _as_list(raw.get("secrets")) + _as_list(raw.get("secret"))]
    certificates = []
    for item in _as_list(raw.get("certificate")) + _as_list(raw.get("certificates")):
        if item == "generate" or isinstance(item, str):
            certificates.append(str(item))
        else:
            raise SeedError("%s.certificate: use 'generate' or the path of a PEM file" % where)
    federated = []
    for position, item in enumerate(_as_list(raw.get("federated_credentials"))):
        if not isinstance(item, dict) or not item.get("subject"):
            raise SeedError("%s.federated_credentials[%d]: needs at least a subject" % (where, position))
        federated.append({
            "issuer": str(item.get("issuer", FEDERATION_ISSUER_ALIAS)),
            "subject": str(item["subject"]),
            "audience": str(item.get("audience", FEDERATION_DEFAULT_AUDIENCE)),
        })
    return {
        "tenant_id": tenant_id,
        "client_id": client_id,
        "display_name": str(raw.get("display_name", "client " + client_id)),
        "object_id": derived_id(tenant_id, "clientServicePrincipal", client_id),
        "secrets": secrets,
        "certificates": certificates,
        "federated_credentials": federated,
        "permissions": _permissions(raw.get("permissions"), where + ".permissions"),
        "synchronization_denial": _synchronization_denial(raw, where),
    }


def _synchronization_denial(raw, where):
    denial = raw.get("synchronization_denial", 403)
    if denial not in SYNCHRONIZATION_DENIALS:
        raise SeedError("%s.synchronization_denial: %r is not one of %s" % (where, denial, SYNCHRONIZATION_DENIALS))
    return denial


def _expand_identity(raw, tenant_id, where):
    if not isinstance(raw, dict):
        raise SeedError("%s: must be a mapping" % where)
    kind = raw.get("type", "system")
    if kind not in ("system", "user"):
        raise SeedError("%s.type: must be 'system' or 'user'" % where)
    if kind == "user":
        if "client_id" not in raw:
            raise SeedError("%s: a user-assigned identity needs a client_id" % where)
        client_id = _guid(raw["client_id"], where + ".client_id")
    else:
        client_id = _guid(raw.get("client_id", system_identity_client_id(tenant_id)), where + ".client_id")
    return {
        "tenant_id": tenant_id,
        "type": kind,
        "client_id": client_id,
        "display_name": str(raw.get("display_name", "%s-assigned identity %s" % (kind, client_id))),
        "object_id": derived_id(tenant_id, "managedIdentity", client_id),
        "permissions": _permissions(raw.get("permissions"), where + ".permissions"),
        "synchronization_denial": _synchronization_denial(raw, where),
    }


def _expand_credentials(raw, where):
    if raw is None:
        return {}, []
    if not isinstance(raw, dict):
        raise SeedError("%s: accepted_credentials must map key names to values" % where)
    accepted = {}
    codes = []
    for key, value in raw.items():
        if key not in SYNCHRONIZATION_SECRET_KEYS:
            raise SeedError("%s: %r is not a synchronizationSecret key name" % (where, key))
        if key == AUTHORIZATION_CODE_KEY:
            codes = [str(item) for item in _as_list(value)]
            if not codes:
                raise SeedError("%s: %s needs at least one code" % (where, key))
            accepted[key] = codes[0]
        else:
            accepted[key] = str(value)
    return accepted, codes


def _expand_saved_secrets(raw, where):
    """What an admin saved (portal or earlier writes) before the run: {key: value}, keys checked like Graph does."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SeedError("%s: saved_secrets must map key names to values" % where)
    saved = {}
    for key, value in raw.items():
        if key not in SYNCHRONIZATION_SECRET_KEYS:
            raise SeedError("%s: %r is not a synchronizationSecret key name" % (where, key))
        # A mapping is stored as the JSON text Graph keeps (SyncNotificationSettings is such a text).
        saved[key] = json.dumps(value, separators=(",", ":")) if isinstance(value, dict) else str(value)
    return saved


def _synchronization_error(raw, where):
    """A seeded synchronizationError {code, message, tenantActionable}, or None when not given."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or not raw.get("code"):
        raise SeedError("%s: needs at least a code (and message, tenant_actionable)" % where)
    return {"code": str(raw["code"]), "message": str(raw.get("message", "")),
            "tenantActionable": bool(raw.get("tenant_actionable", raw.get("tenantActionable", True)))}


def expand_application(raw, tenant, where, name=None):
    """Expand one application entry of a tenant into the full record the emulator serves."""
    if not isinstance(raw, dict):
        raise SeedError("%s: must be a mapping" % where)
    tenant_id = tenant["id"]
    display_name = raw.get("display_name")
    name = str(name if name is not None else raw.get("name", display_name or ""))
    if not name:
        raise SeedError("%s: an application needs a display_name (or a name)" % where)
    display_name = str(display_name if display_name is not None else name)
    app_id = _guid(raw.get("app_id", derived_id(tenant_id, "appId", name)), where + ".app_id")
    application_id = _guid(
        raw.get("application_id", derived_id(tenant_id, "application", name)), where + ".application_id"
    )
    service_principal_id = _guid(
        raw.get("service_principal_id", derived_id(tenant_id, "servicePrincipal", name)),
        where + ".service_principal_id",
    )
    jobs = []
    for position, job in enumerate(_as_list(raw.get("jobs"))):
        if isinstance(job, str):
            job = {"templateId": job}
        template_id = job.get("templateId", job.get("template_id")) if isinstance(job, dict) else None
        if not template_id:
            raise SeedError("%s.jobs[%d]: needs a templateId" % (where, position))
        code = str(job.get("status", "NotRun"))
        if code not in JOB_STATUS_CODES:
            raise SeedError("%s.jobs[%d].status: %r is not one of %s"
                            % (where, position, code, ", ".join(JOB_STATUS_CODES)))
        last_run = job.get("last_execution")
        if last_run is not None and last_run not in EXECUTION_STATES:
            raise SeedError("%s.jobs[%d].last_execution: %r is not one of %s"
                            % (where, position, last_run, ", ".join(EXECUTION_STATES)))
        reason = str(job.get("quarantine_reason", "EncounteredQuarantineException"))
        if reason not in QUARANTINE_REASONS:
            raise SeedError("%s.jobs[%d].quarantine_reason: %r is not one of %s"
                            % (where, position, reason, ", ".join(QUARANTINE_REASONS)))
        jobs.append({
            "id": str(job.get("id") or derived_job_id(tenant_id, name, str(template_id), position,
                                                      service_principal_id)),
            "templateId": str(template_id),
            "code": code,
            "quarantine_reason": reason,
            "quarantine_error": _synchronization_error(job.get("quarantine_error"),
                                                       "%s.jobs[%d].quarantine_error" % (where, position)),
            "last_execution": last_run,
            "last_execution_error": _synchronization_error(job.get("last_execution_error"),
                                                           "%s.jobs[%d].last_execution_error" % (where, position)),
        })
    accepted, codes = _expand_credentials(raw.get("accepted_credentials"), where + ".accepted_credentials")
    templates = _expand_templates(raw.get("templates"), jobs, where + ".templates")
    return {
        "tenant_id": tenant_id,
        "cloud": tenant["cloud"],
        "name": name,
        "display_name": display_name,
        "app_id": app_id,
        "application_id": application_id,
        "service_principal_id": service_principal_id,
        "owners": [_guid(item, where + ".owners") for item in _as_list(raw.get("owners"))],
        "jobs": jobs,
        "templates": templates,
        "accepted_credentials": accepted,
        "authorization_codes": codes,
        "saved_secrets": _expand_saved_secrets(raw.get("saved_secrets"), where + ".saved_secrets"),
        "authorized": bool(raw.get("authorized", False)),
        "application_template_id": raw.get("application_template_id"),
        "tags": [str(tag) for tag in _as_list(raw.get("tags"))] or None,
    }


def _expand_templates(raw, jobs, where):
    """The synchronization templates an app offers: as seeded, else one per template its jobs use (first default).

    Seed form: ``[{id: scim, default: true}, {id: scimGroups}]`` or plain ids; at most one may be the default.
    """
    if raw is None:
        template_ids = sorted({job["templateId"] for job in jobs})
        return [{"id": template_id, "default": position == 0} for position, template_id in enumerate(template_ids)]
    templates = []
    for position, item in enumerate(_as_list(raw)):
        if isinstance(item, str):
            item = {"id": item}
        if not isinstance(item, dict) or not item.get("id"):
            raise SeedError("%s[%d]: needs an id" % (where, position))
        templates.append({"id": str(item["id"]), "default": bool(item.get("default", False))})
    if sum(1 for template in templates if template["default"]) > 1:
        raise SeedError("%s: at most one template may be the default" % where)
    return templates


def _expand_generator(block, tenant, where):
    if not isinstance(block, dict) or "count" not in block:
        raise SeedError("%s: a generate block needs a count" % where)
    count = int(block["count"])
    start = int(block.get("start", 1))
    pad = int(block.get("pad", 4))
    prefix = str(block.get("name_prefix", "app-"))
    template = block.get("template") or {}
    if not isinstance(template, dict):
        raise SeedError("%s.template: must be a mapping" % where)
    records = []
    for index in range(start, start + count):
        name = prefix + str(index).zfill(pad)
        variables = {
            "name": name,
            "index": index,
            "tenant_id": tenant["id"],
            "app_id": derived_id(tenant["id"], "appId", name),
            "application_id": derived_id(tenant["id"], "application", name),
            "service_principal_id": derived_id(tenant["id"], "servicePrincipal", name),
        }
        raw = _substitute(copy.deepcopy(template), variables)
        raw.setdefault("display_name", name)
        records.append(expand_application(raw, tenant, "%s[%s]" % (where, name), name=name))
    return records


def expand_seed(raw):
    """Validate a seed (already parsed YAML/JSON) and return it expanded.

    Returns {"tenants": [{"id", "cloud", "display_name", "domain", "clients", "managed_identities",
    "applications"}], "faults": {...}} with every generated application spelled out.
    """
    if not isinstance(raw, dict) or not isinstance(raw.get("tenants"), list) or not raw["tenants"]:
        raise SeedError("the seed needs a non-empty 'tenants' list")
    tenants = []
    seen_tenants = set()
    seen_objects = {}
    for position, raw_tenant in enumerate(raw["tenants"]):
        where = "tenants[%d]" % position
        if not isinstance(raw_tenant, dict) or "id" not in raw_tenant:
            raise SeedError("%s: a tenant needs an id" % where)
        tenant_id = _guid(raw_tenant["id"], where + ".id")
        if tenant_id in seen_tenants:
            raise SeedError("%s: duplicate tenant id %s" % (where, tenant_id))
        seen_tenants.add(tenant_id)
        cloud = raw_tenant.get("cloud", "global")
        if cloud not in CLOUDS:
            raise SeedError("%s.cloud: %r is not one of %s" % (where, cloud, ", ".join(CLOUDS)))
        tenant = {
            "id": tenant_id,
            "cloud": cloud,
            "display_name": str(raw_tenant.get("display_name", "tenant " + tenant_id)),
            "domain": raw_tenant.get("domain"),
        }
        tenant["clients"] = [
            _expand_client(item, tenant_id, "%s.clients[%d]" % (where, index))
            for index, item in enumerate(_as_list(raw_tenant.get("clients")))
        ]
        tenant["managed_identities"] = [
            _expand_identity(item, tenant_id, "%s.managed_identities[%d]" % (where, index))
            for index, item in enumerate(_as_list(raw_tenant.get("managed_identities")))
        ]
        principals = set()
        for principal in tenant["clients"] + tenant["managed_identities"]:
            if principal["client_id"] in principals:
                raise SeedError("%s: client id %s is declared twice" % (where, principal["client_id"]))
            principals.add(principal["client_id"])
        applications = [
            expand_application(item, tenant, "%s.applications[%d]" % (where, index))
            for index, item in enumerate(_as_list(raw_tenant.get("applications")))
        ]
        for index, block in enumerate(_as_list(raw_tenant.get("generate"))):
            applications.extend(_expand_generator(block, tenant, "%s.generate[%d]" % (where, index)))
        for application in applications:
            for owner in application["owners"]:
                if owner not in principals:
                    raise SeedError("%s: application %r names owner %s, which is no client or identity of the"
                                    " tenant" % (where, application["name"], owner))
            for key in ("app_id", "application_id", "service_principal_id"):
                other = seen_objects.get(application[key])
                if other is not None:
                    raise SeedError("%s: %s %s of %r is already used by %r (names and ids must be unique in a"
                                    " tenant)" % (where, key, application[key], application["name"], other))
                seen_objects[application[key]] = application["name"]
        tenant["applications"] = applications
        # The users and groups provisioning reads (directory.py).
        tenant["directory"] = expand_directory(raw_tenant.get("directory"), tenant, where + ".directory")
        seen_objects.clear()
        tenants.append(tenant)
    return {"tenants": tenants, "faults": dict(raw.get("faults") or {})}


def read_seed_file(path):
    """Parse a seed file (YAML, JSON being a subset) without expanding it."""
    with open(path, "r", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load_seed(path_or_dict):
    """Load a seed from a YAML path (or an already parsed dict) and return the expanded dict.

    Other scripts use this to read the same ids and credentials the emulator serves instead of
    recomputing them.
    """
    raw = path_or_dict if isinstance(path_or_dict, dict) else read_seed_file(path_or_dict)
    return expand_seed(raw)


def applications_by_name(expanded):
    """Index an expanded seed's applications by (tenant_id, name) for lookups in scripts and tests."""
    return {(app["tenant_id"], app["name"]): app for tenant in expanded["tenants"] for app in tenant["applications"]}
