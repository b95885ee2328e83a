"""The synchronization schema of jobs and templates, parseExpression and provisionOnDemand, through HTTPS."""

import copy
import json

import pytest

from conftest import NO_PERMISSION_CLIENT, NO_PERMISSION_SECRET, SEED, TOKEN_APP, Graph, assert_graph_error, seed_app
from conftest import token_for
from entra_emulator import load_seed

SOURCE_USER_MAPPING = "Provision Azure Active Directory Users"
SOURCE_GROUP_MAPPING = "Provision Azure Active Directory Groups"
WORK_EMAIL = 'emails[type eq "work"].value'


@pytest.fixture()
def app():
    return seed_app("global", TOKEN_APP["display_name"])


@pytest.fixture()
def job_path(app):
    return "/servicePrincipals/%s/synchronization/jobs/%s" % (app["service_principal_id"], app["jobs"][0]["id"])


@pytest.fixture(scope="module")
def people():
    """The global tenant's default directory, by userPrincipalName and group displayName."""
    directory = load_seed(SEED)["tenants"][0]["directory"]
    found = {user["userPrincipalName"].split("@", maxsplit=1)[0]: user for user in directory["users"].values()}
    found.update({group["displayName"]: group for group in directory["groups"].values()})
    return found


def _schema(graph, job_path):
    answer = graph.get(job_path + "/schema")
    assert answer.status_code == 200, answer.text
    return answer.json()


def _object_mapping(schema, source_object="User"):
    rule = schema["synchronizationRules"][0]
    return next(item for item in rule["objectMappings"] if item["sourceObjectName"] == source_object)


def _mappings(schema, source_object="User"):
    return {item["targetAttributeName"]: item for item in _object_mapping(schema, source_object)["attributeMappings"]}


def _put(graph, job_path, schema):
    body = {key: value for key, value in schema.items() if not key.startswith("@odata.")}
    return graph.request("PUT", job_path + "/schema", json=body)


def _on_demand(graph, job_path, rule_id, object_id, object_type="User", links=None):
    subject = {"objectId": object_id, "objectTypeName": object_type}
    if links is not None:
        subject["links"] = links
    return graph.post(job_path + "/provisionOnDemand",
                      json={"parameters": [{"ruleId": rule_id, "subjects": [subject]}]})


def _outcome(answer):
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["@odata.context"].endswith("$metadata#microsoft.graph.stringKeyStringValuePair")
    return json.loads(body["key"]), json.loads(body["value"])


def _steps(summary):
    return [(step["name"], step["type"], step["status"]) for step in summary["provisioningSteps"]]


# ---- GET schema ---------------------------------------------------------------------------------------------

def test_job_schema_is_the_scim_template_schema(graph, app, job_path):
    schema = _schema(graph, job_path)
    assert schema["id"] == app["jobs"][0]["id"]
    assert schema["@odata.context"].endswith("/synchronization/jobs('%s')/schema/$entity" % schema["id"])
    assert [directory["name"] for directory in schema["directories"]] == ["Azure Active Directory", "customappsso"]
    rule = schema["synchronizationRules"][0]
    assert (rule["sourceDirectoryName"], rule["targetDirectoryName"]) == ("Azure Active Directory", "customappsso")
    assert [item["name"] for item in rule["objectMappings"]] == [SOURCE_GROUP_MAPPING, SOURCE_USER_MAPPING]
    users = _mappings(schema)
    assert users["userName"]["source"] == {"expression": "[userPrincipalName]", "name": "userPrincipalName",
                                           "parameters": [], "type": "Attribute"}
    assert users["userName"]["matchingPriority"] == 1
    assert users["active"]["source"]["expression"] == 'Switch([IsSoftDeleted], , "False", "True", "True", "False")'
    assert [pair["key"] for pair in users["active"]["source"]["parameters"]] == [
        "source", "key1", "value1", "key2", "value2"]
    assert users[WORK_EMAIL]["source"]["name"] == "mail"
    assert users["externalId"]["source"]["name"] == "mailNickname"
    assert users["name.formatted"]["source"]["expression"] == 'Join(" ", [givenName], [surname])'
    assert set(_mappings(schema, "Group")) == {"displayName", "externalId", "members"}
    attribute = next(item for item in schema["directories"][0]["objects"][0]["attributes"]
                     if item["name"] == "objectId")
    assert attribute["anchor"] is True and attribute["type"] == "String"


def test_template_schema_is_readable_and_not_writable_there(graph, app):
    path = "/servicePrincipals/%s/synchronization/templates/scim/schema" % app["service_principal_id"]
    answer = graph.get(path)
    assert answer.status_code == 200
    assert answer.json()["id"] == "scim"
    assert answer.json()["@odata.context"].endswith("/synchronization/templates('scim')/schema/$entity")
    assert_graph_error(graph.request("PUT", path, json={}), 405, "Request_BadRequest")
    assert_graph_error(graph.get(path.replace("/scim/", "/noSuchTemplate/")), 404, "Request_ResourceNotFound")


def test_patch_of_a_schema_gets_the_services_404(graph, app, job_path):
    error = assert_graph_error(graph.request("PATCH", job_path + "/schema", json={}), 404, "UnknownError")
    assert "No HTTP resource was found that matches the request URI" in error["message"]
    assert "/synchronization/jobs('%s')/schema" % app["jobs"][0]["id"] in error["message"]


def test_schema_of_unknown_job_is_not_found(graph, app):
    path = "/servicePrincipals/%s/synchronization/jobs/scim.nope/schema" % app["service_principal_id"]
    assert_graph_error(graph.get(path), 404, "Request_ResourceNotFound")


def test_schema_calls_follow_the_synchronization_permission_rule(emulator, http, job_path, app):
    token = token_for(emulator, http, client_id=NO_PERMISSION_CLIENT, secret=NO_PERMISSION_SECRET)
    stranger = Graph(emulator, http, token=token)
    jobs = stranger.get("/servicePrincipals/%s/synchronization/jobs" % app["service_principal_id"])
    assert jobs.status_code != 200
    for answer in (stranger.get(job_path + "/schema"),
                   stranger.post(job_path + "/schema/parseExpression", json={"expression": "[mail]"})):
        assert answer.status_code == jobs.status_code
        assert answer.json()["error"]["code"] == jobs.json()["error"]["code"]


# ---- PUT schema ---------------------------------------------------------------------------------------------

def test_put_replaces_the_schema_and_keeps_what_was_sent(graph, job_path):
    schema = _schema(graph, job_path)
    before = copy.deepcopy(schema)
    users = _object_mapping(schema)
    users["attributeMappings"] = [item for item in users["attributeMappings"] if item["targetAttributeName"] != "title"]
    _mappings(schema)["displayName"]["source"] = {"expression": 'Join(" ", [surname], [givenName])'}
    users["attributeMappings"].append({"targetAttributeName": "nickName", "source": {"expression": "[mailNickname]"},
                                       "flowType": "ObjectAddOnly", "flowBehavior": "FlowWhenChanged",
                                       "matchingPriority": 0, "exportMissingReferences": False})
    assert _put(graph, job_path, schema).status_code == 204
    after = _schema(graph, job_path)
    mappings = _mappings(after)
    assert "title" not in mappings
    assert mappings["displayName"]["source"]["expression"] == 'Join(" ", [surname], [givenName])'
    assert [pair["key"] for pair in mappings["displayName"]["source"]["parameters"]] == [
        "separator", "source1", "source2"]
    assert mappings["nickName"]["flowType"] == "ObjectAddOnly"
    assert mappings["nickName"]["source"]["type"] == "Attribute"
    untouched = {name: item for name, item in _mappings(before).items() if name not in ("title", "displayName")}
    assert {name: mappings[name] for name in untouched} == untouched
    assert after["directories"] == before["directories"]
    assert _mappings(after, "Group") == _mappings(before, "Group")


def test_put_of_a_structure_without_expressions_writes_them(graph, job_path):
    schema = _schema(graph, job_path)
    _mappings(schema)["displayName"]["source"] = {
        "type": "Function", "name": "ToUpper",
        "parameters": [{"key": "source", "value": {"type": "Attribute", "name": "displayName"}}]}
    assert _put(graph, job_path, schema).status_code == 204
    assert _mappings(_schema(graph, job_path))["displayName"]["source"]["expression"] == "ToUpper([displayName])"


@pytest.mark.parametrize("change, message", [
    (lambda users: users["attributeMappings"][0].update(targetAttributeName="displayNam"),
     "'displayNam' is not an attribute of the target object 'User'"),
    (lambda users: users["attributeMappings"][0].update(source={"expression": "[departmnt]"}),
     "'departmnt' is not an attribute of the source object 'User'"),
    (lambda users: users["attributeMappings"][0].update(source={"expression": 'Join(" ", [givenName]'}),
     "Syntax error"),
    (lambda users: users["attributeMappings"][0].update(flowType="Sometimes"), "Invalid value 'Sometimes'"),
    (lambda users: users["attributeMappings"][0].update(colour="blue"),
     "The property 'colour' does not exist on type 'microsoft.graph.attributeMapping'"),
    (lambda users: users.update(sourceObjectName="Device"), "The source object 'Device' does not exist"),
    (lambda users: users.update(scope={"groups": [{"name": "x", "clauses": [
        {"sourceOperandName": "department", "operatorName": "LIKE", "targetOperand": {"values": ["a"]}}]}]}),
     "'LIKE' is not a supported operator"),
    (lambda users: users.update(scope={"groups": [{"name": "x", "clauses": [
        {"sourceOperandName": "departement", "operatorName": "EQUALS", "targetOperand": {"values": ["a"]}}]}]}),
     "'departement' is not an attribute of the source object"),
    (lambda users: [item.update(matchingPriority=0) for item in users["attributeMappings"]],
     "has no matching attribute"),
    (lambda users: users.update(scope={"groups": [{"name": "x", "clauses": [
        {"sourceOperandName": "mail", "operatorName": "REGEX_MATCH", "targetOperand": {"values": ["(unclosed"]}}]}]}),
     "'(unclosed' is not a regular expression"),
])
def test_put_refuses_what_the_schema_does_not_know_and_changes_nothing(graph, job_path, change, message):
    schema = _schema(graph, job_path)
    before = copy.deepcopy(schema)
    change(_object_mapping(schema))
    error = assert_graph_error(_put(graph, job_path, schema), 400, "BadRequest")
    assert message in error["message"]
    after = _schema(graph, job_path)
    assert after["synchronizationRules"] == before["synchronizationRules"]


def test_put_without_directories_keeps_them_and_missing_flags_take_their_defaults(graph, job_path):
    schema = _schema(graph, job_path)
    del schema["directories"]
    users = _object_mapping(schema)
    del users["flowTypes"]
    assert _put(graph, job_path, schema).status_code == 204
    after = _schema(graph, job_path)
    assert len(after["directories"]) == 2
    assert _object_mapping(after)["flowTypes"] == "None"


def test_a_reset_brings_the_default_schema_back(emulator, graph, job_path):
    schema = _schema(graph, job_path)
    _object_mapping(schema)["attributeMappings"].pop()
    assert _put(graph, job_path, schema).status_code == 204
    emulator.reset()
    assert len(_mappings(_schema(graph, job_path))) == 22


def test_schema_through_batch(graph, job_path):
    answer = graph.post("/$batch", json={"requests": [{"id": "1", "method": "GET", "url": job_path + "/schema"}]})
    item = answer.json()["responses"][0]
    assert item["status"] == 200
    assert item["body"]["synchronizationRules"][0]["name"] == "USER_OUTBOUND_USER"


# ---- parseExpression ----------------------------------------------------------------------------------------

def test_parse_expression_answers_the_documented_example(graph, job_path):
    answer = graph.post(job_path + "/schema/parseExpression", json={
        "expression": 'Replace([preferredLanguage], "-", , , "_", ,  )', "targetAttributeDefinition": None,
        "testInputObject": {"definition": None, "properties": [
            {"key": "objectId", "value": "66E4A8CC-1B7B-435E-95F8-F06CEA133828"},
            {"key": "preferredLanguage", "value": "EN-US"},
            {"key": "appRoleAssignments", "value@odata.type": "#Collection(String)", "value": ["Default Assignment"]},
        ]}})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["error"] is None
    assert body["parsingSucceeded"] is True and body["evaluationSucceeded"] is True
    assert body["evaluationResult"] == ["EN_US"]
    assert body["parsedExpression"] == {
        "expression": 'Replace([preferredLanguage], "-", , , "_", , )', "name": "Replace", "type": "Function",
        "parameters": [
            {"key": "source", "value": {"expression": "[preferredLanguage]", "name": "preferredLanguage",
                                        "parameters": [], "type": "Attribute"}},
            {"key": "Find", "value": {"expression": '"-"', "name": "-", "parameters": [], "type": "Constant"}},
            {"key": "Replacement", "value": {"expression": '"_"', "name": "_", "parameters": [],
                                             "type": "Constant"}}]}


def test_parse_expression_reports_a_syntax_error_in_the_answer(graph, job_path):
    answer = graph.post(job_path + "/schema/parseExpression", json={"expression": 'Join(" ", [givenName]'})
    assert answer.status_code == 200
    body = answer.json()
    assert body["parsingSucceeded"] is False and body["evaluationSucceeded"] is False
    assert body["parsedExpression"] is None
    assert body["error"]["code"] == "ExpressionParsingFailed"
    assert "expected ',' or ')'" in body["error"]["message"]


def test_parse_expression_knows_function_names_case_sensitively(graph, job_path):
    body = graph.post(job_path + "/schema/parseExpression", json={"expression": "toLower([mail])"}).json()
    assert body["parsingSucceeded"] is False
    assert "Unknown function 'toLower'" in body["error"]["message"]


def test_parse_expression_without_test_input_parses_only(graph, app):
    path = "/servicePrincipals/%s/synchronization/templates/scim/schema/parseExpression" % app["service_principal_id"]
    body = graph.post(path, json={"expression": 'Coalesce([mail], [userPrincipalName])'}).json()
    assert body["parsingSucceeded"] is True and body["evaluationSucceeded"] is False
    assert body["evaluationResult"] is None
    assert [pair["key"] for pair in body["parsedExpression"]["parameters"]] == ["source1", "source2"]


def test_parse_expression_refuses_a_body_of_the_wrong_shape(graph, job_path):
    error = assert_graph_error(graph.post(job_path + "/schema/parseExpression", json={"expr": "[mail]"}), 400,
                               "BadRequest")
    assert "'expr' does not exist" in error["message"]


def test_parse_expression_evaluation_error_is_in_the_answer(graph, job_path):
    body = graph.post(job_path + "/schema/parseExpression", json={
        "expression": "Mid([mail], [department], 2)",
        "testInputObject": {"properties": [{"key": "mail", "value": "a@b"}, {"key": "department", "value": "x"}]},
    }).json()
    assert body["parsingSucceeded"] is True and body["evaluationSucceeded"] is False
    assert body["error"]["code"] == "ExpressionEvaluationFailed"


# ---- provisionOnDemand --------------------------------------------------------------------------------------

def test_user_in_scope_is_created_then_skipped_then_updated(graph, job_path, people):
    schema = _schema(graph, job_path)
    rule_id = schema["synchronizationRules"][0]["id"]
    adele = people["adele.vance"]
    key, summary = _outcome(_on_demand(graph, job_path, rule_id, adele["objectId"]))
    assert key == {"result": "Success", "details": {}}
    assert _steps(summary) == [("EntryImport", "Import", "Success"), ("EntryImport", "Matching", "Success"),
                               ("EntrySynchronizationScoping", "Scoping", "Success"),
                               ("EntrySynchronizationAdd", "Processing", "Success"),
                               ("EntryExportAdd", "Export", "Success")]
    assert summary["action"] == "Create"
    assert summary["reportableIdentifier"] == adele["userPrincipalName"]
    exported = summary["provisioningSteps"][-1]["details"]
    assert exported["userName"] == adele["userPrincipalName"]
    assert exported["active"] == "True"
    assert exported["name.formatted"] == "Adele Vance"
    assert exported[WORK_EMAIL] == adele["mail"]
    assert summary["sourceSystem"]["name"] == "Azure Active Directory"
    assert summary["targetSystem"]["name"] == "customappsso"

    key, summary = _outcome(_on_demand(graph, job_path, rule_id, adele["objectId"]))
    assert key["result"] == "Skipped" and key["details"]["errorCode"] == "RedundantExport"
    assert _steps(summary)[-1] == ("EntrySynchronizationSkip", "Export", "Skipped")

    _mappings(schema)["displayName"]["source"] = {"expression": "ToUpper([displayName])"}
    assert _put(graph, job_path, schema).status_code == 204
    key, summary = _outcome(_on_demand(graph, job_path, rule_id, adele["objectId"]))
    assert key["result"] == "Success" and summary["action"] == "Update"
    assert [step[0] for step in _steps(summary)[-2:]] == ["EntrySynchronizationUpdate", "EntryExportUpdate"]
    assert summary["modifiedProperties"] == [{"displayName": "displayName", "oldValue": "Adele Vance",
                                              "newValue": "ADELE VANCE"}]


def test_user_out_of_scope_is_reported_and_skipped(graph, job_path, people):
    schema = _schema(graph, job_path)
    _object_mapping(schema)["scope"] = {"groups": [{"name": "Sales only", "clauses": [
        {"sourceOperandName": "department", "operatorName": "EQUALS", "targetOperand": {"values": ["Sales"]}}]}]}
    assert _put(graph, job_path, schema).status_code == 204
    rule_id = schema["synchronizationRules"][0]["id"]
    key, summary = _outcome(_on_demand(graph, job_path, rule_id, people["alex.wilber"]["objectId"]))
    assert key["result"] == "Skipped" and key["details"]["errorCode"] == "OutOfScope"
    scoping = summary["provisioningSteps"][2]
    assert scoping["details"]["IsEffectivelyEntitledForProvisioning"] == "False"
    assert json.loads(scoping["details"]["ScopeEvaluationResult"]) == {"Sales only": False}
    assert _steps(summary)[-1] == ("EntrySynchronizationSkip", "Export", "Skipped")
    assert "out of scope" in summary["provisioningSteps"][-1]["description"]
    key, _summary = _outcome(_on_demand(graph, job_path, rule_id, people["adele.vance"]["objectId"]))
    assert key["result"] == "Success"


def test_mappings_follow_the_source_values(graph, job_path, people):
    rule_id = _schema(graph, job_path)["synchronizationRules"][0]["id"]
    _key, summary = _outcome(_on_demand(graph, job_path, rule_id, people["grady.archie"]["objectId"]))
    exported = summary["provisioningSteps"][-1]["details"]
    assert WORK_EMAIL not in exported, "a null source attribute does not flow"
    _key, summary = _outcome(_on_demand(graph, job_path, rule_id, people["lynne.robbins"]["objectId"]))
    assert summary["provisioningSteps"][2]["details"]["IsActive"] == "False"


def test_group_with_members_exports_the_provisioned_members(graph, job_path, people):
    rule_id = _schema(graph, job_path)["synchronizationRules"][0]["id"]
    sales = people["Sales Team"]
    members = [{"objectId": member, "objectTypeName": "User"} for member in sales["members"]]
    key, summary = _outcome(_on_demand(graph, job_path, rule_id, sales["objectId"], "Group", {"members": members}))
    assert key["result"] == "Success"
    assert summary["reportableIdentifier"] == "Sales Team"
    exported = summary["provisioningSteps"][-1]["details"]
    assert exported["displayName"] == "Sales Team"
    assert len(exported["members"].split(", ")) == 2


def test_unknown_object_fails_its_import_step(graph, job_path):
    rule_id = _schema(graph, job_path)["synchronizationRules"][0]["id"]
    key, summary = _outcome(_on_demand(graph, job_path, rule_id, "00000000-0000-4000-8000-00000000dead"))
    assert key["result"] == "Failure" and key["details"]["errorCode"] == "EntryNotFound"
    assert _steps(summary) == [("EntryImport", "Import", "Failure")]


@pytest.mark.parametrize("parameters, message", [
    ([{"subjects": [{"objectId": "x", "objectTypeName": "User"}]}], "ruleId is required"),
    ([{"ruleId": "no-such-rule", "subjects": [{"objectId": "x", "objectTypeName": "User"}]}],
     "is not a rule of the job's schema"),
    ([{"ruleId": "RULE", "subjects": [{"objectId": "x", "objectTypeName": "User"},
                                      {"objectId": "y", "objectTypeName": "User"}]}], "one subject per request"),
    ([{"ruleId": "RULE", "subjects": [{"objectId": "x", "objectTypeName": "Device"}]}],
     "has no object mapping for objects of type 'Device'"),
    ([], "must hold one"),
    ([{"ruleId": "RULE", "subjects": [{"objectId": "x", "objectTypeName": "Group",
                                       "links": {"members": [{"objectTypeName": "User"}]}}]}],
     "links.members[0].objectId is required"),
])
def test_provision_on_demand_refuses_bad_parameters(graph, job_path, parameters, message):
    rule_id = _schema(graph, job_path)["synchronizationRules"][0]["id"]
    body = json.loads(json.dumps({"parameters": parameters}).replace('"RULE"', json.dumps(rule_id)))
    error = assert_graph_error(graph.post(job_path + "/provisionOnDemand", json=body), 400, "BadRequest")
    assert message in error["message"]


def test_provision_on_demand_is_rate_limited_as_documented(graph, job_path, people):
    rule_id = _schema(graph, job_path)["synchronizationRules"][0]["id"]
    for _attempt in range(5):
        assert _on_demand(graph, job_path, rule_id, people["adele.vance"]["objectId"]).status_code == 200
    answer = _on_demand(graph, job_path, rule_id, people["adele.vance"]["objectId"])
    assert_graph_error(answer, 429, "TooManyRequests")
    assert 1 <= int(answer.headers["Retry-After"]) <= 10


def test_provision_on_demand_needs_post_and_a_job(graph, app, job_path):
    assert_graph_error(graph.get(job_path + "/provisionOnDemand"), 405, "Request_BadRequest")
    path = "/servicePrincipals/%s/synchronization/jobs/scim.nope/provisionOnDemand" % app["service_principal_id"]
    assert_graph_error(graph.post(path, json={"parameters": []}), 404, "Request_ResourceNotFound")
