"""The official msgraph-sdk reads the schema, parses an expression and provisions on demand against the emulator.

A client nobody here wrote deserializes the emulator's answers into its generated models: a shape the emulator
gets wrong shows up as a missing or mistyped attribute. It also shows what the SDK cannot do: its schema update is
a PATCH, which the real service refuses (seen in real use), so a schema is written with PUT outside the SDK.
"""

import asyncio
import ssl

import httpx
import pytest
from kiota_abstractions.api_error import APIError
from kiota_abstractions.authentication import AccessTokenProvider, AllowedHostsValidator
from kiota_abstractions.authentication import BaseBearerTokenAuthenticationProvider
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.attribute_mapping_source_type import AttributeMappingSourceType
from msgraph.generated.models.expression_input_object import ExpressionInputObject
from msgraph.generated.models.string_key_object_value_pair import StringKeyObjectValuePair
from msgraph.generated.models.synchronization_job_application_parameters import SynchronizationJobApplicationParameters
from msgraph.generated.models.synchronization_job_subject import SynchronizationJobSubject
from msgraph.generated.service_principals.item.synchronization.jobs.item.provision_on_demand.\
    provision_on_demand_post_request_body import ProvisionOnDemandPostRequestBody
from msgraph.generated.service_principals.item.synchronization.jobs.item.schema.parse_expression.\
    parse_expression_post_request_body import ParseExpressionPostRequestBody
from msgraph_core import GraphClientFactory

from conftest import TOKEN_APP, seed_app, token_for
# The module-scoped fixture of the directory's people, shared with test_schema.py.
from test_schema import people  # noqa: F401  pylint: disable=unused-import

# msgraph-sdk 1.65 and kiota warn about their own deprecated configuration classes on every call.
pytestmark = [pytest.mark.filterwarnings("ignore:This class is deprecated:DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:GetQueryParameters is deprecated:DeprecationWarning")]


class _EmulatorToken(AccessTokenProvider):
    """Hands the SDK a token the emulator issued; every host is allowed (the emulator listens on 127.0.0.1)."""

    def __init__(self, token):
        self.token = token

    async def get_authorization_token(self, uri, additional_authentication_context=None):
        return self.token

    def get_allowed_hosts_validator(self):
        return AllowedHostsValidator([])


@pytest.fixture()
def loop():
    """One event loop per test: the SDK's httpx client keeps its connections on the loop that opened them."""
    event_loop = asyncio.new_event_loop()
    yield event_loop
    event_loop.close()


@pytest.fixture()
def run(loop):
    """Run a coroutine on the test's loop."""
    return loop.run_until_complete


@pytest.fixture()
def sdk_job(emulator, http):
    """The request builder of the Scim Directory app's first job, in a GraphServiceClient on the emulator."""
    token = token_for(emulator, http)
    client = httpx.AsyncClient(verify=ssl.create_default_context(cafile=emulator.info["ca_path"]), trust_env=False)
    adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(_EmulatorToken(token)),
                                  client=GraphClientFactory.create_with_default_middleware(client=client))
    adapter.base_url = emulator.info["clouds"]["global"]["graph_endpoint"] + "/v1.0"
    graph = GraphServiceClient(request_adapter=adapter)
    app = seed_app("global", TOKEN_APP["display_name"])
    job = (graph.service_principals.by_service_principal_id(app["service_principal_id"])
           .synchronization.jobs.by_synchronization_job_id(app["jobs"][0]["id"]))
    return job


def test_sdk_reads_the_schema_into_its_models(run, sdk_job):
    schema = run(sdk_job.schema.get())
    rule = schema.synchronization_rules[0]
    assert rule.source_directory_name == "Azure Active Directory"
    users = next(item for item in rule.object_mappings if item.source_object_name == "User")
    user_name = next(item for item in users.attribute_mappings if item.target_attribute_name == "userName")
    assert user_name.source.type == AttributeMappingSourceType.Attribute
    assert user_name.source.name == "userPrincipalName"
    assert user_name.matching_priority == 1
    assert users.flow_types is not None
    active = next(item for item in users.attribute_mappings if item.target_attribute_name == "active")
    assert active.source.type == AttributeMappingSourceType.Function
    assert [pair.key for pair in active.source.parameters][:1] == ["source"]
    assert {directory.name for directory in schema.directories} == {"Azure Active Directory", "customappsso"}


def test_sdk_parses_and_evaluates_an_expression(run, sdk_job):
    body = ParseExpressionPostRequestBody(
        expression='Join(" ", [givenName], [surname])',
        test_input_object=ExpressionInputObject(properties=[
            StringKeyObjectValuePair(key="givenName", additional_data={"value": "Adele"}),
            StringKeyObjectValuePair(key="surname", additional_data={"value": "Vance"})]))
    answer = run(sdk_job.schema.parse_expression.post(body))
    assert answer.parsing_succeeded is True and answer.evaluation_succeeded is True
    assert answer.evaluation_result == ["Adele Vance"]
    assert answer.parsed_expression.name == "Join"
    assert [pair.key for pair in answer.parsed_expression.parameters] == ["separator", "source1", "source2"]


def test_sdk_reads_a_parse_error(run, sdk_job):
    answer = run(sdk_job.schema.parse_expression.post(ParseExpressionPostRequestBody(expression="Join(")))
    assert answer.parsing_succeeded is False
    assert answer.error.code == "ExpressionParsingFailed" and answer.error.message


def test_sdk_provisions_on_demand(run, sdk_job, people):  # noqa: F811  pylint: disable=redefined-outer-name
    rule_id = run(sdk_job.schema.get()).synchronization_rules[0].id
    body = ProvisionOnDemandPostRequestBody(parameters=[SynchronizationJobApplicationParameters(
        rule_id=rule_id, subjects=[SynchronizationJobSubject(object_id=people["adele.vance"]["objectId"],
                                                             object_type_name="User")])])
    answer = run(sdk_job.provision_on_demand.post(body))
    assert '"result":"Success"' in answer.key
    assert '"EntryExportAdd"' in answer.value


def test_sdk_schema_patch_meets_the_real_services_404(run, sdk_job):
    schema = run(sdk_job.schema.get())
    with pytest.raises(APIError) as caught:
        run(sdk_job.schema.patch(schema))
    assert caught.value.response_status_code == 404
    assert "No HTTP resource was found" in caught.value.error.message
