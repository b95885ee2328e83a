"""The synchronization schema of jobs and templates, parseExpression and provisionOnDemand.

Routes (graph.py hands them over):
  GET/PUT  .../synchronization/jobs/{jobId}/schema
  POST     .../synchronization/jobs/{jobId}/schema/parseExpression
  GET      .../synchronization/jobs/{jobId}/schema/filterOperators
  POST     .../synchronization/jobs/{jobId}/provisionOnDemand
  GET      .../synchronization/templates/{templateId}/schema (read-only here), and its parseExpression and
           filterOperators

Every template serves the schema of a non-gallery SCIM application (Azure Active Directory -> customappsso, users
and groups, the portal's default mappings). A job's schema starts as its template's and is replaced by PUT; it
lives in the job's state, so a reset (or deleting the job) brings the default back. provisionOnDemand evaluates the
job's mappings and scope on the tenant's directory (directory.py) and remembers what it "exported" per job, so a
second run reports an update or a skip. The README says which behaviour is documented and which is inferred.
"""

# This module is graph.py's synchronization handlers moved out; it uses graph.py's private helpers on purpose.
# pylint: disable=protected-access

import collections
import copy
import json
import re
import time
import uuid

from . import expressions
from . import graph as _graph
from .state import utc_timestamp

SOURCE_DIRECTORY = "Azure Active Directory"
TARGET_DIRECTORY = "customappsso"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
_NAMESPACE = uuid.UUID("0b5c3b0e-5f0e-4d7a-9a57-6c1f3e4a2d10")
# Documented: "The rate limit for this API is 5 requests per 10 seconds."
ON_DEMAND_LIMIT = 5
ON_DEMAND_WINDOW_SECONDS = 10.0

# (name, type, multivalued, referenced object or None); the first attribute of an object is its anchor.
_SOURCE_OBJECTS = {
    "User": [("objectId", "String", False, None), ("accountEnabled", "Boolean", False, None),
             ("IsSoftDeleted", "Boolean", False, None), ("userPrincipalName", "String", False, None),
             ("mail", "String", False, None), ("mailNickname", "String", False, None),
             ("displayName", "String", False, None), ("givenName", "String", False, None),
             ("surname", "String", False, None), ("department", "String", False, None),
             ("jobTitle", "String", False, None), ("employeeId", "String", False, None),
             ("companyName", "String", False, None), ("employeeHireDate", "DateTime", False, None),
             ("city", "String", False, None), ("state", "String", False, None),
             ("country", "String", False, None), ("postalCode", "String", False, None),
             ("streetAddress", "String", False, None), ("physicalDeliveryOfficeName", "String", False, None),
             ("telephoneNumber", "String", False, None), ("mobile", "String", False, None),
             ("facsimileTelephoneNumber", "String", False, None), ("preferredLanguage", "String", False, None),
             ("usageLocation", "String", False, None), ("manager", "Reference", False, "User"),
             ("appRoleAssignments", "String", True, None), ("proxyAddresses", "String", True, None),
             ("otherMails", "String", True, None)]
    + [("extensionAttribute%d" % number, "String", False, None) for number in range(1, 16)],
    "Group": [("objectId", "String", False, None), ("IsSoftDeleted", "Boolean", False, None),
              ("displayName", "String", False, None), ("mail", "String", False, None),
              ("mailNickname", "String", False, None), ("description", "String", False, None),
              ("members", "Reference", True, "User")],
}
_WORK_ADDRESS = 'addresses[type eq "work"].'
_TARGET_OBJECTS = {
    "User": [("id", "String", False, None), ("userName", "String", False, None), ("active", "Boolean", False, None),
             ("displayName", "String", False, None), ("title", "String", False, None),
             ('emails[type eq "work"].value', "String", False, None), ("preferredLanguage", "String", False, None),
             ("name.givenName", "String", False, None), ("name.familyName", "String", False, None),
             ("name.formatted", "String", False, None), ("nickName", "String", False, None)]
    + [(_WORK_ADDRESS + part, "String", False, None)
       for part in ("formatted", "streetAddress", "locality", "region", "postalCode", "country")]
    + [('phoneNumbers[type eq "%s"].value' % kind, "String", False, None) for kind in ("work", "mobile", "fax")]
    + [("externalId", "String", False, None), ('roles[primary eq "True"].value', "String", False, None)]
    + [("%s:%s" % (ENTERPRISE_USER, name), "String", False, None)
       for name in ("employeeNumber", "department", "costCenter", "organization", "division")]
    + [("%s:manager" % ENTERPRISE_USER, "Reference", False, "User")],
    "Group": [("id", "String", False, None), ("displayName", "String", False, None),
              ("externalId", "String", False, None), ("members", "Reference", True, "User")],
}
_REQUIRED_TARGET = {("User", "userName"), ("Group", "displayName")}

# (target attribute, expression, matching priority): the portal's defaults for a non-gallery SCIM application.
_DEFAULT_MAPPINGS = {
    "User": [
        ("userName", "[userPrincipalName]", 1),
        ("active", 'Switch([IsSoftDeleted], , "False", "True", "True", "False")', 0),
        ("displayName", "[displayName]", 0),
        ("title", "[jobTitle]", 0),
        ('emails[type eq "work"].value', "[mail]", 0),
        ("preferredLanguage", "[preferredLanguage]", 0),
        ("name.givenName", "[givenName]", 0),
        ("name.familyName", "[surname]", 0),
        ("name.formatted", 'Join(" ", [givenName], [surname])', 0),
        (_WORK_ADDRESS + "formatted", "[physicalDeliveryOfficeName]", 0),
        (_WORK_ADDRESS + "streetAddress", "[streetAddress]", 0),
        (_WORK_ADDRESS + "locality", "[city]", 0),
        (_WORK_ADDRESS + "region", "[state]", 0),
        (_WORK_ADDRESS + "postalCode", "[postalCode]", 0),
        (_WORK_ADDRESS + "country", "[country]", 0),
        ('phoneNumbers[type eq "work"].value', "[telephoneNumber]", 0),
        ('phoneNumbers[type eq "mobile"].value', "[mobile]", 0),
        ('phoneNumbers[type eq "fax"].value', "[facsimileTelephoneNumber]", 0),
        ("externalId", "[mailNickname]", 0),
        ("%s:employeeNumber" % ENTERPRISE_USER, "[employeeId]", 0),
        ("%s:department" % ENTERPRISE_USER, "[department]", 0),
        ("%s:manager" % ENTERPRISE_USER, "[manager]", 0),
    ],
    "Group": [
        ("displayName", "[displayName]", 1),
        ("externalId", "[objectId]", 0),
        ("members", "[members]", 0),
    ],
}

# Scoping filter operators. EQUALS is documented (filter and filterOperators pages); the others are the portal's
# operators under names of the same form (inferred).
_OPERATORS = {
    "EQUALS": ("Binary", lambda value, operands: value is not None and value in operands),
    "NOT_EQUALS": ("Binary", lambda value, operands: value is None or value not in operands),
    "ISTRUE": ("Unary", lambda value, operands: (value or "").lower() == "true"),
    "ISFALSE": ("Unary", lambda value, operands: (value or "").lower() != "true"),
    "ISNULL": ("Unary", lambda value, operands: value in (None, "")),
    "ISNOTNULL": ("Unary", lambda value, operands: value not in (None, "")),
    "REGEX_MATCH": ("Binary", lambda value, operands: value is not None
                    and any(re.search(operand, value) for operand in operands)),
    "NOT_REGEX_MATCH": ("Binary", lambda value, operands: value is None
                        or not any(re.search(operand, value) for operand in operands)),
    "GREATER_THAN": ("Binary", lambda value, operands: _number(value) > _number(operands[0])),
    "GREATER_THAN_OR_EQUALS": ("Binary", lambda value, operands: _number(value) >= _number(operands[0])),
    "LESS_THAN": ("Binary", lambda value, operands: _number(value) < _number(operands[0])),
    "LESS_THAN_OR_EQUALS": ("Binary", lambda value, operands: _number(value) <= _number(operands[0])),
    "INCLUDES": ("Binary", lambda value, operands: value is not None
                 and any(operand.lower() in value.lower() for operand in operands)),
}
_ATTRIBUTE_TYPES = ("String", "Integer", "Reference", "Binary", "Boolean", "DateTime")
_MUTABILITIES = ("ReadWrite", "ReadOnly", "Immutable", "WriteOnly")
_FLOW_TYPES = ("Always", "ObjectAddOnly", "MultiValueAddOnly", "ValueAddOnly", "AttributeAddOnly")
_FLOW_BEHAVIORS = ("FlowWhenChanged", "FlowAlways")
_OBJECT_FLOW_TYPES = ("None", "Add", "Update", "Delete")


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


class SchemaError(ValueError):
    """A PUT schema body the service would refuse; the message is the answer's."""


# ---- the default schema ----------------------------------------------------------------------------------------

def _attribute_definition(name, kind, multivalued, referenced, anchor=False, required=False):
    return {"anchor": anchor, "apiExpressions": [], "caseExact": False, "defaultValue": None,
            "flowNullValues": False, "metadata": [], "multivalued": multivalued, "mutability": "ReadWrite",
            "name": name, "referencedObjects": ([{"referencedObjectName": referenced, "referencedProperty": None}]
                                                if referenced else []),
            "required": required, "type": kind}


def _directory(template_id, name, objects, required=()):
    return {
        "id": str(uuid.uuid5(_NAMESPACE, "directory:%s:%s" % (template_id, name))),
        "discoverabilities": "None", "discoveryDateTime": None, "name": name, "readOnly": False,
        "version": None,
        "objects": [{"attributes": [_attribute_definition(attribute, kind, multivalued, referenced,
                                                          anchor=position == 0,
                                                          required=(object_name, attribute) in required)
                                    for position, (attribute, kind, multivalued, referenced) in enumerate(spec)],
                     "metadata": [], "name": object_name, "supportedApis": []}
                    for object_name, spec in objects.items()],
    }


def _attribute_mapping(target, expression, matching_priority):
    return {"defaultValue": None, "exportMissingReferences": False, "flowBehavior": "FlowWhenChanged",
            "flowType": "Always", "matchingPriority": matching_priority, "source": expressions.parse(expression),
            "targetAttributeName": target}


def default_schema(schema_id, template_id):
    """The synchronizationSchema a template starts with: the non-gallery SCIM application's."""
    object_mappings = []
    for object_name, label in (("Group", "Groups"), ("User", "Users")):
        object_mappings.append({
            "attributeMappings": [_attribute_mapping(*mapping) for mapping in _DEFAULT_MAPPINGS[object_name]],
            "enabled": True, "flowTypes": "Add, Update, Delete", "metadata": [],
            "name": "Provision %s %s" % (SOURCE_DIRECTORY, label), "scope": None,
            "sourceObjectName": object_name, "targetObjectName": object_name,
        })
    return {
        "id": schema_id,
        "version": "Date:%s" % utc_timestamp(),
        "synchronizationRules": [{
            "containerFilter": {"includedContainers": []}, "editable": True, "groupFilter": {"includedGroups": []},
            "id": str(uuid.uuid5(_NAMESPACE, "rule:%s" % template_id)),
            "metadata": [{"key": "defaultSourceObjectMappings", "value": "[]"},
                         {"key": "supportsProvisionOnDemand", "value": "true"}],
            "name": "USER_OUTBOUND_USER", "objectMappings": object_mappings, "priority": 1,
            "sourceDirectoryName": SOURCE_DIRECTORY, "targetDirectoryName": TARGET_DIRECTORY,
        }],
        "directories": [_directory(template_id, SOURCE_DIRECTORY, _SOURCE_OBJECTS),
                        _directory(template_id, TARGET_DIRECTORY, _TARGET_OBJECTS, _REQUIRED_TARGET)],
    }


def job_schema(job, job_id):
    """A job's current schema (created from its template's on first use)."""
    if "schema" not in job:
        job["schema"] = default_schema(job_id, job["templateId"])
    return job["schema"]


# ---- validation of PUT bodies -----------------------------------------------------------------------------------

def _check_properties(value, allowed, type_name, where):
    if not isinstance(value, dict):
        raise SchemaError("%s must be a JSON object of type 'microsoft.graph.%s'." % (where, type_name))
    for name in value:
        if name not in allowed and not name.startswith("@odata.") and "@odata." not in name:
            raise SchemaError("The property '%s' does not exist on type 'microsoft.graph.%s'. Make sure to only use"
                              " property names that are defined by the type." % (name, type_name))


def _list(value, where):
    if value is None:
        return []
    if not isinstance(value, list):
        raise SchemaError("%s must be an array." % where)
    return value


def _enum(value, members, where, default):
    if value is None:
        return default
    for member in members:
        if isinstance(value, str) and value.lower() == member.lower():
            return member
    raise SchemaError("Invalid value '%s' for %s: expected one of %s." % (value, where, ", ".join(members)))


def _boolean(value, where, default=False):
    if value is None:
        return default
    if not isinstance(value, bool):
        raise SchemaError("%s must be a boolean." % where)
    return value


def _string(value, where, required=False):
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise SchemaError("%s must be a %sstring." % (where, "non-empty " if required else ""))
    return value


def _flags(value, members, where):
    if value is None:
        return "None"
    names = [part.strip() for part in str(value).split(",") if part.strip()]
    canonical = [_enum(name, members, where, "None") for name in names]
    canonical = [name for name in members if name in canonical and name != "None"]
    return ", ".join(canonical) or "None"


def _normalize_directories(raw):
    directories = []
    for position, directory in enumerate(_list(raw, "directories")):
        where = "directories[%d]" % position
        _check_properties(directory, ("id", "name", "objects", "discoverabilities", "discoveryDateTime", "readOnly",
                                      "version"), "directoryDefinition", where)
        objects = []
        for index, definition in enumerate(_list(directory.get("objects"), where + ".objects")):
            place = "%s.objects[%d]" % (where, index)
            _check_properties(definition, ("attributes", "metadata", "name", "supportedApis"), "objectDefinition",
                              place)
            attributes = []
            for number, attribute in enumerate(_list(definition.get("attributes"), place + ".attributes")):
                spot = "%s.attributes[%d]" % (place, number)
                _check_properties(attribute, ("anchor", "apiExpressions", "caseExact", "defaultValue",
                                              "flowNullValues", "metadata", "multivalued", "mutability", "name",
                                              "referencedObjects", "required", "type"), "attributeDefinition", spot)
                attributes.append({
                    "anchor": _boolean(attribute.get("anchor"), spot + ".anchor"),
                    "apiExpressions": _list(attribute.get("apiExpressions"), spot + ".apiExpressions"),
                    "caseExact": _boolean(attribute.get("caseExact"), spot + ".caseExact"),
                    "defaultValue": _string(attribute.get("defaultValue"), spot + ".defaultValue"),
                    "flowNullValues": _boolean(attribute.get("flowNullValues"), spot + ".flowNullValues"),
                    "metadata": _list(attribute.get("metadata"), spot + ".metadata"),
                    "multivalued": _boolean(attribute.get("multivalued"), spot + ".multivalued"),
                    "mutability": _enum(attribute.get("mutability"), _MUTABILITIES, spot + ".mutability",
                                        "ReadWrite"),
                    "name": _string(attribute.get("name"), spot + ".name", required=True),
                    "referencedObjects": _list(attribute.get("referencedObjects"), spot + ".referencedObjects"),
                    "required": _boolean(attribute.get("required"), spot + ".required"),
                    "type": _enum(attribute.get("type"), _ATTRIBUTE_TYPES, spot + ".type", "String"),
                })
            objects.append({"attributes": attributes, "metadata": _list(definition.get("metadata"), place),
                            "name": _string(definition.get("name"), place + ".name", required=True),
                            "supportedApis": _list(definition.get("supportedApis"), place)})
        name = _string(directory.get("name"), where + ".name", required=True)
        directories.append({"id": directory.get("id") or str(uuid.uuid5(_NAMESPACE, "directory:" + name)),
                            "discoverabilities": directory.get("discoverabilities") or "None",
                            "discoveryDateTime": directory.get("discoveryDateTime"), "name": name,
                            "objects": objects, "readOnly": _boolean(directory.get("readOnly"), where + ".readOnly"),
                            "version": directory.get("version")})
    return directories


def _object_attributes(directories, directory_name, object_name, what):
    for directory in directories:
        if directory["name"] == directory_name:
            for definition in directory["objects"]:
                if definition["name"] == object_name:
                    return {attribute["name"] for attribute in definition["attributes"]}
            raise SchemaError("The %s object '%s' does not exist in the directory '%s'."
                              % (what, object_name, directory_name))
    raise SchemaError("The %s directory '%s' is not one of the schema's directories." % (what, directory_name))


def _normalize_scope(raw, source_attributes, where):
    if raw is None:
        return None
    _check_properties(raw, ("categoryFilterGroups", "groups", "inputFilterGroups"), "filter", where)
    scope = {}
    for member in ("categoryFilterGroups", "groups", "inputFilterGroups"):
        groups = []
        for position, group in enumerate(_list(raw.get(member), "%s.%s" % (where, member))):
            place = "%s.%s[%d]" % (where, member, position)
            _check_properties(group, ("clauses", "name"), "filterGroup", place)
            clauses = []
            for index, clause in enumerate(_list(group.get("clauses"), place + ".clauses")):
                spot = "%s.clauses[%d]" % (place, index)
                _check_properties(clause, ("operatorName", "sourceOperandName", "targetOperand"), "filterClause",
                                  spot)
                operand = clause.get("sourceOperandName")
                if operand not in source_attributes:
                    raise SchemaError("%s.sourceOperandName: '%s' is not an attribute of the source object."
                                      % (spot, operand))
                operator = clause.get("operatorName")
                if operator not in _OPERATORS:
                    raise SchemaError("%s.operatorName: '%s' is not a supported operator (%s)."
                                      % (spot, operator, ", ".join(_OPERATORS)))
                target = clause.get("targetOperand") or {}
                _check_properties(target, ("values",), "filterOperand", spot + ".targetOperand")
                values = _list(target.get("values"), spot + ".targetOperand.values")
                if not all(isinstance(value, str) for value in values):
                    raise SchemaError("%s.targetOperand.values must be strings." % spot)
                if _OPERATORS[operator][0] == "Binary" and not values:
                    raise SchemaError("%s: the operator %s needs at least one value." % (spot, operator))
                if "REGEX" in operator:
                    for value in values:
                        try:
                            re.compile(value)
                        except re.error as problem:
                            raise SchemaError("%s.targetOperand.values: '%s' is not a regular expression (%s)."
                                              % (spot, value, problem)) from None
                clauses.append({"operatorName": operator, "sourceOperandName": operand,
                                "targetOperand": {"values": list(values)}})
            groups.append({"clauses": clauses, "name": group.get("name")})
        scope[member] = groups
    return scope


def _normalize_object_mapping(raw, rule, directories, where):
    _check_properties(raw, ("attributeMappings", "enabled", "flowTypes", "metadata", "name", "scope",
                            "sourceObjectName", "targetObjectName"), "objectMapping", where)
    source_name = _string(raw.get("sourceObjectName"), where + ".sourceObjectName", required=True)
    target_name = _string(raw.get("targetObjectName"), where + ".targetObjectName", required=True)
    source_attributes = _object_attributes(directories, rule["sourceDirectoryName"], source_name, "source")
    target_attributes = _object_attributes(directories, rule["targetDirectoryName"], target_name, "target")
    mappings = []
    seen = set()
    for position, mapping in enumerate(_list(raw.get("attributeMappings"), where + ".attributeMappings")):
        place = "%s.attributeMappings[%d]" % (where, position)
        _check_properties(mapping, ("defaultValue", "exportMissingReferences", "flowBehavior", "flowType",
                                    "matchingPriority", "source", "targetAttributeName"), "attributeMapping", place)
        target = mapping.get("targetAttributeName")
        if target not in target_attributes:
            raise SchemaError("%s.targetAttributeName: '%s' is not an attribute of the target object '%s'."
                              % (place, target, target_name))
        if target in seen:
            raise SchemaError("%s.targetAttributeName: '%s' is mapped twice in '%s'."
                              % (place, target, raw.get("name")))
        seen.add(target)
        try:
            source = expressions.normalize_source(mapping.get("source"), place + ".source")
        except expressions.ExpressionError as error:
            raise SchemaError(str(error)) from None
        unknown = [name for name in expressions.attributes_used(source) if name not in source_attributes]
        if unknown:
            raise SchemaError("%s.source: '%s' is not an attribute of the source object '%s'."
                              % (place, unknown[0], source_name))
        priority = mapping.get("matchingPriority", 0)
        if not isinstance(priority, int) or isinstance(priority, bool) or priority < 0:
            raise SchemaError("%s.matchingPriority must be a number, 0 or more." % place)
        mappings.append({
            "defaultValue": _string(mapping.get("defaultValue"), place + ".defaultValue"),
            "exportMissingReferences": _boolean(mapping.get("exportMissingReferences"),
                                                place + ".exportMissingReferences"),
            "flowBehavior": _enum(mapping.get("flowBehavior"), _FLOW_BEHAVIORS, place + ".flowBehavior",
                                  "FlowWhenChanged"),
            "flowType": _enum(mapping.get("flowType"), _FLOW_TYPES, place + ".flowType", "Always"),
            "matchingPriority": priority, "source": source, "targetAttributeName": target,
        })
    enabled = _boolean(raw.get("enabled"), where + ".enabled")
    if enabled and not any(mapping["matchingPriority"] > 0 for mapping in mappings):
        raise SchemaError("%s: the object mapping '%s' is enabled but has no matching attribute (an attribute"
                          " mapping with a matchingPriority above 0)." % (where, raw.get("name")))
    return {"attributeMappings": mappings, "enabled": enabled,
            "flowTypes": _flags(raw.get("flowTypes"), _OBJECT_FLOW_TYPES, where + ".flowTypes"),
            "metadata": _list(raw.get("metadata"), where + ".metadata"), "name": raw.get("name"),
            "scope": _normalize_scope(raw.get("scope"), source_attributes, where + ".scope"),
            "sourceObjectName": source_name, "targetObjectName": target_name}


def normalize_schema(body, current):
    """Check a PUT body and return the schema to store (the service's full form); raises SchemaError.

    Missing properties take their CSDL type's default (false, 0, the enum's first member), as OData reads them;
    left-out `directories` (a contained navigation property) keep the current ones.
    """
    _check_properties(body, ("id", "version", "synchronizationRules", "directories"), "synchronizationSchema",
                      "The schema")
    directories = (_normalize_directories(body["directories"]) if body.get("directories") is not None
                   else copy.deepcopy(current["directories"]))
    rules = []
    for position, rule in enumerate(_list(body.get("synchronizationRules"), "synchronizationRules")):
        where = "synchronizationRules[%d]" % position
        _check_properties(rule, ("containerFilter", "editable", "groupFilter", "id", "metadata", "name",
                                 "objectMappings", "priority", "sourceDirectoryName", "targetDirectoryName"),
                          "synchronizationRule", where)
        normalized = {
            "containerFilter": rule.get("containerFilter"), "editable": _boolean(rule.get("editable"), where),
            "groupFilter": rule.get("groupFilter"),
            "id": _string(rule.get("id"), where + ".id") or str(uuid.uuid5(_NAMESPACE, "rule:%s" % rule.get("name"))),
            "metadata": _list(rule.get("metadata"), where + ".metadata"), "name": rule.get("name"),
            "priority": rule.get("priority") if isinstance(rule.get("priority"), int) else 0,
            "sourceDirectoryName": _string(rule.get("sourceDirectoryName"), where + ".sourceDirectoryName",
                                           required=True),
            "targetDirectoryName": _string(rule.get("targetDirectoryName"), where + ".targetDirectoryName",
                                           required=True),
        }
        normalized["objectMappings"] = [
            _normalize_object_mapping(mapping, normalized, directories, "%s.objectMappings[%d]" % (where, index))
            for index, mapping in enumerate(_list(rule.get("objectMappings"), where + ".objectMappings"))]
        rules.append(normalized)
    return {"id": current["id"], "version": "Date:%s" % utc_timestamp(), "synchronizationRules": rules,
            "directories": directories}


# ---- scope and mappings at run time ----------------------------------------------------------------------------

def _first(value):
    if isinstance(value, list):
        return value[0] if value else None
    return value


def scope_result(scope, attributes):
    """(in scope, {group name: passed}) for a source object: any group passes when all its clauses pass."""
    groups = (scope or {}).get("groups") or []
    if not groups:
        return True, {}
    results = {}
    for position, group in enumerate(groups):
        passed = True
        for clause in group["clauses"]:
            operator = _OPERATORS[clause["operatorName"]][1]
            value = attributes.get(clause["sourceOperandName"])
            values = value if isinstance(value, list) else [value]
            if not any(operator(item, clause["targetOperand"]["values"]) for item in values or [None]):
                passed = False
                break
        results[group.get("name") or "Scoping filter %d" % (position + 1)] = passed
    return any(results.values()), results


def target_values(object_mapping, attributes, creating):
    """{target attribute: [values]} the mappings give for a source object; raises EvaluationError naming one."""
    values = {}
    for mapping in object_mapping["attributeMappings"]:
        if mapping["flowType"] != "Always" and not creating:
            continue
        try:
            result = expressions.evaluate(mapping["source"], attributes)
        except expressions.EvaluationError as error:
            raise expressions.EvaluationError("the mapping of '%s' (%s): %s"
                                              % (mapping["targetAttributeName"], mapping["source"]["expression"],
                                                 error)) from None
        if result is None and mapping["defaultValue"] is not None:
            result = [mapping["defaultValue"]]
        if result:
            values[mapping["targetAttributeName"]] = result
    return values


# ---- handlers --------------------------------------------------------------------------------------------------

def _allowed(call, application, read_only):
    """None when the caller may make the call, else the answer (the same rule as the other synchronization calls)."""
    if _graph._may_act(call, application, read_only=read_only):
        return None
    return _graph._denied(call)


def _no_job(call, job_id):
    return _graph.graph_error(call, 404, "Request_ResourceNotFound", "Job '%s' does not exist." % job_id)


def route_job(call, application, job_id, rest):
    """.../jobs/{jobId}/schema[/parseExpression|/filterOperators] and .../jobs/{jobId}/provisionOnDemand."""
    job = application.jobs.get(job_id)
    if rest == ["provisionOnDemand"]:
        if call.method != "POST":
            return _graph._method_not_allowed(call)
        call.operation = "jobs.provisionOnDemand"
        return provision_on_demand(call, application, job_id, job)
    if job is None:
        call.operation = "schema"
        return _no_job(call, job_id)
    return _route_schema(call, application, lambda: job_schema(job, job_id), rest[1:],
                         writer=lambda schema: job.__setitem__("schema", schema))


def route_template(call, application, template_id, rest):
    """.../templates/{templateId}/schema[/parseExpression|/filterOperators] (no writes through this path)."""
    if template_id not in [template["id"] for template in application.record["templates"]]:
        call.operation = "templates.schema"
        return _graph.graph_error(call, 404, "Request_ResourceNotFound",
                                  "Template '%s' does not exist." % template_id)
    return _route_schema(call, application, lambda: default_schema(template_id, template_id), rest[1:], writer=None)


def _no_http_resource(call, application, schema_id, collection):
    # Seen in real use (msgraph-sdk-python #820, msgraph-sdk-powershell #1134, msgraph-metadata #676): the SDKs
    # send PATCH for a schema update, and the synchronization service answers 404 UnknownError with its own message.
    uri = "https://syncfabric.windowsazure.com/api/servicePrincipals('%s')/synchronization/%s('%s')/schema" \
          "?api-version=2.0" % (application.record["service_principal_id"], collection, schema_id)
    return _graph.graph_error(call, 404, "UnknownError", json.dumps(
        {"Message": "No HTTP resource was found that matches the request URI '%s'." % uri}))


def _route_schema(call, application, read, rest, writer):
    if not rest and call.method == "PATCH":
        call.operation = "schema.patch"
        return _no_http_resource(call, application, read()["id"], "jobs" if writer else "templates")
    if not rest:
        if call.method == "GET":
            call.operation = "schema.get"
            return get_schema(call, application, read(), "jobs" if writer else "templates")
        if call.method == "PUT" and writer is not None:
            call.operation = "schema.put"
            return put_schema(call, application, read(), writer)
        return _graph._method_not_allowed(call)
    if rest == ["parseExpression"]:
        if call.method != "POST":
            return _graph._method_not_allowed(call)
        call.operation = "schema.parseExpression"
        return parse_expression(call, application)
    if rest == ["filterOperators"]:
        if call.method != "GET":
            return _graph._method_not_allowed(call)
        call.operation = "schema.filterOperators"
        denied = _allowed(call, application, read_only=True)
        if denied:
            return denied
        return _graph._ok({"value": [
            {"name": name, "arity": arity, "multivaluedComparisonType": "All",
             "supportedAttributeTypes": ["String", "Integer", "Boolean", "DateTime"]}
            for name, (arity, _test) in _OPERATORS.items()]})
    return _graph._segment_not_found(call, rest[-1])


def get_schema(call, application, schema, collection):
    """GET ...schema: the synchronizationSchema with its directories."""
    denied = _allowed(call, application, read_only=True)
    if denied:
        return denied
    body = {"@odata.context": "%s/%s/$metadata#servicePrincipals('%s')/synchronization/%s('%s')/schema/$entity"
            % (call.base_url, call.version, application.record["service_principal_id"], collection, schema["id"])}
    body.update(copy.deepcopy(schema))
    return _graph._ok(body)


def put_schema(call, application, current, writer):
    """PUT ...schema: replaces the whole schema after checking it (204)."""
    body, error = _graph._read_body(call, "microsoft.graph.synchronizationSchema")
    if error:
        return error
    denied = _allowed(call, application, read_only=False)
    if denied:
        return denied
    try:
        schema = normalize_schema(body, current)
    except SchemaError as problem:
        return _graph.graph_error(call, 400, "BadRequest", str(problem))
    writer(schema)
    return 204, {}, None


def _public_error(code, message):
    return {"code": code, "message": message, "details": [], "innerError": None, "target": None}


def _test_attributes(test_input):
    """{name: value} from an expressionInputObject's properties; raises SchemaError on a wrong shape."""
    _check_properties(test_input, ("definition", "properties"), "expressionInputObject", "testInputObject")
    attributes = {}
    for position, pair in enumerate(_list(test_input.get("properties"), "testInputObject.properties")):
        if not isinstance(pair, dict) or not isinstance(pair.get("key"), str):
            raise SchemaError("testInputObject.properties[%d] must be an object with a key." % position)
        value = pair.get("value")
        if isinstance(value, list):
            attributes[pair["key"]] = [str(item) for item in value]
        elif isinstance(value, bool):
            attributes[pair["key"]] = "True" if value else "False"
        else:
            attributes[pair["key"]] = None if value is None else str(value)
    return attributes


def parse_expression(call, application):
    """POST ...schema/parseExpression: parse, and evaluate against testInputObject when one is given."""
    body, error = _graph._read_body(call, "microsoft.graph.parseExpression")
    if error:
        return error
    for name in body:
        if name not in ("expression", "testInputObject", "targetAttributeDefinition") and "@odata." not in name:
            return _graph._unknown_property(call, name, "microsoft.graph.parseExpression")
    expression = body.get("expression")
    if expression is not None and not isinstance(expression, str):
        return _graph.graph_error(call, 400, "BadRequest", "'expression' must be a string.")
    try:
        attributes = None
        if body.get("testInputObject") is not None:
            attributes = _test_attributes(body["testInputObject"])
        definition = body.get("targetAttributeDefinition")
        if definition is not None and not isinstance(definition, dict):
            raise SchemaError("'targetAttributeDefinition' must be an attributeDefinition object.")
    except SchemaError as problem:
        return _graph.graph_error(call, 400, "BadRequest", str(problem))
    denied = _allowed(call, application, read_only=False)
    if denied:
        return denied
    answer = {"@odata.context": "%s/%s/$metadata#microsoft.graph.parseExpressionResponse"
              % (call.base_url, call.version),
              "error": None, "evaluationResult": None, "evaluationSucceeded": False, "parsedExpression": None,
              "parsingSucceeded": False}
    try:
        parsed = expressions.parse(expression or "")
    except expressions.ExpressionError as problem:
        answer["error"] = _public_error("ExpressionParsingFailed", str(problem))
        return _graph._ok(answer)
    answer["parsedExpression"] = parsed
    answer["parsingSucceeded"] = True
    if attributes is None:
        return _graph._ok(answer)
    try:
        result = expressions.evaluate(parsed, attributes)
        if definition and not definition.get("multivalued") and result and len(result) > 1:
            raise expressions.EvaluationError("the expression gives %d values, but the target attribute '%s' is"
                                              " single-valued." % (len(result), definition.get("name")))
    except expressions.EvaluationError as problem:
        answer["error"] = _public_error("ExpressionEvaluationFailed", str(problem))
        return _graph._ok(answer)
    answer["evaluationResult"] = result or []
    answer["evaluationSucceeded"] = True
    return _graph._ok(answer)


# ---- provisionOnDemand -----------------------------------------------------------------------------------------

def _read_on_demand(call, schema):
    """(rule, subject, None), or (None, None, error answer) for a body that is not JSON; raises SchemaError."""
    body, error = _graph._read_body(call, "microsoft.graph.provisionOnDemand")
    if error:
        return None, None, error
    _check_properties(body, ("parameters",), "provisionOnDemand", "The body")
    parameters = _list(body.get("parameters"), "parameters")
    if not parameters:
        raise SchemaError("'parameters' must hold one synchronizationJobApplicationParameters.")
    subjects = []
    for position, parameter in enumerate(parameters):
        _check_properties(parameter, ("ruleId", "subjects"), "synchronizationJobApplicationParameters",
                          "parameters[%d]" % position)
        for subject in _list(parameter.get("subjects"), "parameters[%d].subjects" % position):
            _check_properties(subject, ("links", "objectId", "objectTypeName"), "synchronizationJobSubject",
                              "parameters[%d].subjects" % position)
            subjects.append((parameter.get("ruleId"), subject))
    if len(subjects) != 1:
        raise SchemaError("Provisioning on demand takes one subject per request (a user, or a group with up to five"
                          " members in links.members); %d given." % len(subjects))
    rule_id, subject = subjects[0]
    if not isinstance(rule_id, str) or not rule_id:
        raise SchemaError("parameters[0].ruleId is required: the id of the job schema's synchronization rule.")
    rule = next((item for item in schema["synchronizationRules"] if item["id"] == rule_id), None)
    if rule is None:
        raise SchemaError("The synchronization rule '%s' is not a rule of the job's schema." % rule_id)
    if not isinstance(subject.get("objectId"), str) or not subject.get("objectId"):
        raise SchemaError("parameters[0].subjects[0].objectId is required.")
    if not isinstance(subject.get("objectTypeName"), str):
        raise SchemaError("parameters[0].subjects[0].objectTypeName is required (User or Group).")
    _linked_members(subject)
    return rule, subject, None


def _linked_members(subject):
    """The object ids in a subject's links.members (lower case); raises SchemaError on a wrong shape."""
    links = subject.get("links")
    if links is None:
        return []
    _check_properties(links, ("manager", "members", "owners"), "synchronizationLinkedObjects",
                      "parameters[0].subjects[0].links")
    members = []
    for position, member in enumerate(_list(links.get("members"), "links.members")):
        _check_properties(member, ("links", "objectId", "objectTypeName"), "synchronizationJobSubject",
                          "links.members[%d]" % position)
        if not isinstance(member.get("objectId"), str):
            raise SchemaError("links.members[%d].objectId is required." % position)
        members.append(member["objectId"].lower())
    return members


def _rate_limited(call, job):
    now = time.monotonic()
    calls = job.setdefault("onDemandCalls", collections.deque())
    while calls and now - calls[0] >= ON_DEMAND_WINDOW_SECONDS:
        calls.popleft()
    if len(calls) >= ON_DEMAND_LIMIT:
        wait = max(1, int(ON_DEMAND_WINDOW_SECONDS - (now - calls[0]) + 0.999))
        return _graph.graph_error(call, 429, "TooManyRequests", "Too many requests. Provisioning on demand allows"
                                  " %d requests per %d seconds." % (ON_DEMAND_LIMIT, ON_DEMAND_WINDOW_SECONDS),
                                  {"Retry-After": str(wait)})
    calls.append(now)
    return None


def provision_on_demand(call, application, job_id, job):
    """POST .../jobs/{jobId}/provisionOnDemand: 200 stringKeyStringValuePair (key: outcome, value: the steps)."""
    if job is None:
        return _no_job(call, job_id)
    schema = job_schema(job, job_id)
    try:
        rule, subject, error = _read_on_demand(call, schema)
    except SchemaError as problem:
        return _graph.graph_error(call, 400, "BadRequest", str(problem))
    if error:
        return error
    denied = _allowed(call, application, read_only=False)
    if denied:
        return denied
    limited = _rate_limited(call, job)
    if limited:
        return limited
    type_name = subject["objectTypeName"]
    object_mapping = next((item for item in rule["objectMappings"]
                           if item["sourceObjectName"].lower() == type_name.lower()), None)
    if object_mapping is None:
        return _graph.graph_error(call, 400, "BadRequest", "The synchronization rule '%s' has no object mapping for"
                                  " objects of type '%s'." % (rule["id"], type_name))
    provisioned = job.setdefault("provisioned", {})
    directory = call.tenant.directory
    # Documented: a group's links.members are provisioned with it (the members first, so the group can name them).
    member_mapping = next((item for item in rule["objectMappings"] if item["sourceObjectName"] == "User"), None)
    for member_id in _linked_members(subject):
        source = directory["users"].get(member_id)
        if member_mapping is not None and source is not None:
            _provision(rule, member_mapping, source, provisioned)
    pool = directory["groups"] if object_mapping["sourceObjectName"] == "Group" else directory["users"]
    source = pool.get(subject["objectId"].lower())
    summary = _provision(rule, object_mapping, source, provisioned, subject=subject)
    status = summary["statusInfo"]["status"]
    key = {"result": status, "details": {}}
    if summary["statusInfo"].get("errorCode"):
        key["details"] = {"errorCode": summary["statusInfo"]["errorCode"],
                          "errorMessage": summary["statusInfo"]["reason"]}
    return _graph._ok({
        "@odata.context": "%s/%s/$metadata#microsoft.graph.stringKeyStringValuePair" % (call.base_url, call.version),
        "key": json.dumps(key, separators=(",", ":")),
        "value": json.dumps(summary, separators=(",", ":"), ensure_ascii=False)})


def _step(name, kind, status, description, details=None):
    return {"name": name, "type": kind, "status": status, "description": description,
            "timestamp": utc_timestamp(), "details": details or {}}


def _flat(values):
    return {name: ", ".join(value) if isinstance(value, list) else value for name, value in values.items()
            if value is not None}


def _provision(rule, object_mapping, source, provisioned, subject=None):
    """Run one object through import, matching, scoping and export; returns the provisioning summary."""
    started = utc_timestamp()
    type_name = object_mapping["sourceObjectName"]
    target_system = rule["targetDirectoryName"]
    summary = {"action": "Other", "changeId": str(uuid.uuid4()), "endTime": None, "modifiedProperties": [],
               "provisioningSteps": [], "reportableIdentifier": None, "startTime": started,
               "statusInfo": {"status": "Success", "errorCode": None, "reason": None, "additionalDetails": None,
                              "errorCategory": None, "recommendedAction": None},
               "sourceIdentity": {"id": None, "type": type_name, "displayName": None, "details": None},
               "sourceSystem": {"id": None, "name": rule["sourceDirectoryName"], "details": None},
               "targetIdentity": {"id": None, "type": object_mapping["targetObjectName"], "displayName": None,
                                  "details": None},
               "targetSystem": {"id": None, "name": target_system, "details": None}}
    steps = summary["provisioningSteps"]

    def finish(status, code=None, reason=None):
        summary["statusInfo"].update({"status": status, "errorCode": code, "reason": reason})
        summary["endTime"] = utc_timestamp()
        return summary

    if source is None:
        object_id = subject["objectId"] if subject else None
        summary["sourceIdentity"]["id"] = object_id
        message = "The %s '%s' was not found in %s." % (type_name, object_id, rule["sourceDirectoryName"])
        steps.append(_step("EntryImport", "Import", "Failure", message))
        return finish("Failure", "EntryNotFound", message)
    identifier = source.get("userPrincipalName") or source.get("displayName") or source["objectId"]
    summary["reportableIdentifier"] = identifier
    summary["sourceIdentity"].update({"id": source["objectId"], "displayName": source.get("displayName")})
    steps.append(_step("EntryImport", "Import", "Success", "Retrieved %s '%s' from %s"
                       % (type_name, identifier, rule["sourceDirectoryName"]), _flat(source)))
    previous = provisioned.get(source["objectId"])
    matching = sorted((mapping for mapping in object_mapping["attributeMappings"] if mapping["matchingPriority"] > 0),
                      key=lambda mapping: mapping["matchingPriority"])
    matching_name = matching[0]["targetAttributeName"] if matching else "id"
    if previous is not None:
        steps.append(_step("EntryImport", "Matching", "Success",
                           "Retrieved '%s' from %s" % (identifier, target_system), _flat(previous["values"])))
    else:
        steps.append(_step("EntryImport", "Matching", "Success", "No %s whose %s matches '%s' was found in %s; it"
                           " would be created." % (type_name, matching_name, identifier, target_system)))
    in_scope, groups = scope_result(object_mapping["scope"], source)
    active = source.get("accountEnabled", "True") == "True" and source.get("IsSoftDeleted") != "True"
    steps.append(_step("EntrySynchronizationScoping", "Scoping", "Success",
                       "Determine if %s in scope by evaluating against each scoping filter" % type_name,
                       {"IsActive": str(active), "Assigned": "True",
                        "IsEffectivelyEntitledForProvisioning": str(in_scope),
                        "ScopeEvaluationResult": json.dumps(groups, separators=(",", ":"))}))
    if not object_mapping["enabled"]:
        message = "The object mapping '%s' is disabled; no %s is provisioned through it." % (
            object_mapping["name"], type_name)
        steps.append(_step("EntrySynchronizationSkip", "Export", "Skipped", message,
                           {"SkipReason": "ObjectMappingDisabled"}))
        return finish("Skipped", "ObjectMappingDisabled", message)
    if not in_scope:
        message = ("%s '%s' is out of scope: it does not pass any scoping filter of '%s'. No change is made in %s."
                   % (type_name, identifier, object_mapping["name"], target_system))
        steps.append(_step("EntrySynchronizationSkip", "Export", "Skipped", message, {"SkipReason": "OutOfScope"}))
        return finish("Skipped", "OutOfScope", message)
    creating = previous is None
    try:
        values = target_values(object_mapping, source, creating)
    except expressions.EvaluationError as problem:
        message = "Evaluating %s failed." % problem
        steps.append(_step("EntrySynchronizationError", "Processing", "Failure", message))
        return finish("Failure", "ExpressionEvaluationFailed", message)
    if object_mapping["sourceObjectName"] == "Group" and "members" in values:
        values["members"] = [provisioned[member]["id"] for member in values["members"] if member in provisioned]
    target_id = previous["id"] if previous else str(uuid.uuid5(_NAMESPACE, "target:" + source["objectId"]))
    summary["targetIdentity"]["id"] = target_id
    old_values = previous["values"] if previous else {}
    changes = [{"displayName": name, "oldValue": ", ".join(old_values[name]) if name in old_values else None,
                "newValue": ", ".join(value)} for name, value in values.items() if old_values.get(name) != value]
    summary["modifiedProperties"] = changes
    if not creating and not changes:
        message = ("The state of the %s in both the source and target systems already match. No change to the %s"
                   " '%s' currently needs to be made." % (type_name.lower(), type_name, identifier))
        steps.append(_step("EntrySynchronizationSkip", "Export", "Skipped", message, {"SkipReason": "RedundantExport"}))
        return finish("Skipped", "RedundantExport", "The state of the %s in both the source and target systems"
                      " already match." % type_name.lower())
    verb, past = ("Add", "created") if creating else ("Update", "updated")
    steps.append(_step("EntrySynchronization" + verb, "Processing", "Success", "Determined that %s '%s' is to be %s"
                       " in %s" % (type_name, identifier, past, target_system)))
    steps.append(_step("EntryExport" + verb, "Export", "Success", "%s '%s' was %s in %s"
                       % (type_name, identifier, past, target_system), _flat(values)))
    merged = dict(old_values)
    merged.update(values)
    provisioned[source["objectId"]] = {"id": target_id, "values": merged}
    summary["action"] = "Create" if creating else "Update"
    return finish("Success")
