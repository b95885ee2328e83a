"""A tenant's source directory for provisioning: the users and groups provisionOnDemand reads.

Seed form (per tenant, optional)::

    directory:
      users:
        - userPrincipalName: adele.vance@contoso.example
          givenName: Adele
          surname: Vance
          department: Sales
          accountEnabled: true          # false: not active in the source
          # any other Entra attribute by its schema name: mail, mailNickname, jobTitle, employeeId, ...
          # id: a GUID (default: uuid5 of the tenant id and "user:" + userPrincipalName)
      groups:
        - displayName: Sales Team
          members: [adele.vance@contoso.example]     # userPrincipalNames or ids
          # id: a GUID (default: uuid5 of the tenant id and "group:" + displayName)

A tenant without `directory` gets the default one below (five users, two groups) on its own domain.
Values are kept as the provisioning service's attributes are: strings ("True"/"False" for booleans), lists for
multi-valued ones.
"""

import uuid

from . import seed as _seed

_DEFAULT_USERS = (
    {"givenName": "Adele", "surname": "Vance", "department": "Sales", "jobTitle": "Retail Manager",
     "employeeId": "1001", "preferredLanguage": "en-US", "telephoneNumber": "+1 425 555 0100"},
    {"givenName": "Alex", "surname": "Wilber", "department": "Marketing", "jobTitle": "Marketing Assistant",
     "employeeId": "1002", "preferredLanguage": "en-US", "mobile": "+1 858 555 0110"},
    {"givenName": "Zoë", "surname": "Müller", "department": "Sales", "jobTitle": "Account Executive",
     "employeeId": "1003", "preferredLanguage": "de-DE"},
    {"givenName": "Grady", "surname": "Archie", "department": "Engineering", "jobTitle": "Designer",
     "employeeId": "1004", "preferredLanguage": "en-GB", "mail": None},
    {"givenName": "Lynne", "surname": "Robbins", "department": "Finance", "jobTitle": "Planner",
     "employeeId": "1005", "preferredLanguage": "en-US", "accountEnabled": False},
)
_DEFAULT_GROUPS = (("Sales Team", ("adele", "zoe")), ("All Staff", ("adele", "alex", "zoe", "grady", "lynne")))


def _text(value):
    if isinstance(value, bool):
        return "True" if value else "False"
    return None if value is None else str(value)


def _default_directory(domain):
    users = []
    for entry in _DEFAULT_USERS:
        entry = dict(entry)
        nickname = "%s.%s" % (entry["givenName"][0].lower() + entry["givenName"][1:], entry["surname"].lower())
        nickname = nickname.replace("ë", "e").replace("ü", "ue")
        entry.setdefault("userPrincipalName", "%s@%s" % (nickname, domain))
        entry.setdefault("mail", entry["userPrincipalName"])
        entry.setdefault("mailNickname", nickname)
        users.append(entry)
    short = {user["givenName"].lower().replace("ë", "e"): user["userPrincipalName"] for user in users}
    groups = [{"displayName": name, "members": [short[member] for member in members]}
              for name, members in _DEFAULT_GROUPS]
    return {"users": users, "groups": groups}


def _guid(value, where):
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        raise _seed.SeedError("%s: %r is not a GUID" % (where, value)) from None


def expand_directory(raw, tenant, where):
    """Validate a tenant's `directory` seed entry (or make the default one) into {"users": {id: attributes},
    "groups": {id: attributes}}; attribute values are strings or lists of strings."""
    tenant_id = tenant["id"]
    if raw is None:
        raw = _default_directory(tenant.get("domain") or "%s.onmicrosoft.com" % tenant_id.split("-")[0])
    if not isinstance(raw, dict):
        raise _seed.SeedError("%s: must be a mapping with users and groups" % where)
    users = {}
    by_principal_name = {}
    for position, entry in enumerate(raw.get("users") or []):
        place = "%s.users[%d]" % (where, position)
        if not isinstance(entry, dict) or not entry.get("userPrincipalName"):
            raise _seed.SeedError("%s: a user needs a userPrincipalName" % place)
        principal_name = str(entry["userPrincipalName"])
        object_id = _guid(entry.get("id", _seed.derived_id(tenant_id, "user", principal_name.lower())), place + ".id")
        attributes = {"objectId": object_id, "IsSoftDeleted": "False", "accountEnabled": "True",
                      "displayName": " ".join(part for part in (entry.get("givenName"), entry.get("surname"))
                                              if part) or principal_name.split("@", maxsplit=1)[0],
                      "mailNickname": principal_name.split("@", maxsplit=1)[0]}
        for name, value in entry.items():
            if name == "id":
                continue
            attributes[name] = [str(item) for item in value] if isinstance(value, list) else _text(value)
        if object_id in users or principal_name.lower() in by_principal_name:
            raise _seed.SeedError("%s: user %s is declared twice" % (place, principal_name))
        users[object_id] = attributes
        by_principal_name[principal_name.lower()] = object_id
    groups = {}
    for position, entry in enumerate(raw.get("groups") or []):
        place = "%s.groups[%d]" % (where, position)
        if not isinstance(entry, dict) or not entry.get("displayName"):
            raise _seed.SeedError("%s: a group needs a displayName" % place)
        name = str(entry["displayName"])
        object_id = _guid(entry.get("id", _seed.derived_id(tenant_id, "group", name)), place + ".id")
        members = []
        for member in entry.get("members") or []:
            member_id = by_principal_name.get(str(member).lower()) or str(member).lower()
            if member_id not in users:
                raise _seed.SeedError("%s.members: %r is no user of the directory" % (place, member))
            members.append(member_id)
        attributes = {"objectId": object_id, "IsSoftDeleted": "False", "displayName": name,
                      "mailNickname": "".join(name.split()).lower(), "members": members}
        for key, value in entry.items():
            if key not in ("id", "members"):
                attributes[key] = [str(item) for item in value] if isinstance(value, list) else _text(value)
        groups[object_id] = attributes
    return {"users": users, "groups": groups}
