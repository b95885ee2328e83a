"""Seed loading: deterministic ids, generator blocks, validation, and the example seed."""

import os
import uuid

import pytest

from entra_emulator.seed import SeedError, applications_by_name, load_seed

EXAMPLE_SEED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "seeds", "example.yml")
TENANT = "12345678-1234-4234-8234-123456789abc"
CLIENT = "87654321-4321-4321-8321-cba987654321"


def _seed(**tenant_fields):
    tenant = {"id": TENANT, "cloud": "global", "clients": [{"client_id": CLIENT, "secrets": ["emulator-secret-x"]}]}
    tenant.update(tenant_fields)
    return {"tenants": [tenant]}


def test_generated_ids_follow_the_documented_uuid5_rule():
    expanded = load_seed(_seed(generate={"count": 3, "name_prefix": "app-", "template": {"jobs": ["scim"]}}))
    apps = expanded["tenants"][0]["applications"]
    assert [app["name"] for app in apps] == ["app-0001", "app-0002", "app-0003"]
    namespace = uuid.UUID(TENANT)
    for app in apps:
        assert app["app_id"] == str(uuid.uuid5(namespace, "appId:" + app["name"]))
        assert app["application_id"] == str(uuid.uuid5(namespace, "application:" + app["name"]))
        assert app["service_principal_id"] == str(uuid.uuid5(namespace, "servicePrincipal:" + app["name"]))
        job_tail = uuid.uuid5(namespace, "job:%s:0" % app["name"]).hex
        expected_job_id = "scim.%s.%s" % (uuid.UUID(app["service_principal_id"]).hex, job_tail)
        assert [{"id": job["id"], "templateId": job["templateId"]} for job in app["jobs"]] == [
            {"id": expected_job_id, "templateId": "scim"}]


def test_generator_placeholders_start_and_pad():
    expanded = load_seed(_seed(generate={"count": 2, "name_prefix": "x-", "start": 9, "pad": 2, "template": {
        "display_name": "App {index} of {tenant_id}",
        "accepted_credentials": {"Oauth2AuthorizationCode": "code-{name}", "Oauth2ClientId": "{app_id}",
                                 "SecretToken": "emulator-secret-{name}-{literal}"}}}))
    first, second = expanded["tenants"][0]["applications"]
    assert (first["name"], second["name"]) == ("x-09", "x-10")
    assert first["display_name"] == "App 9 of " + TENANT
    assert first["accepted_credentials"]["Oauth2AuthorizationCode"] == "code-x-09"
    assert first["authorization_codes"] == ["code-x-09"]
    assert first["accepted_credentials"]["Oauth2ClientId"] == first["app_id"]
    assert first["accepted_credentials"]["SecretToken"] == "emulator-secret-x-09-{literal}"


def test_service_principal_tags_are_kept_and_default_to_none():
    tagged, plain = load_seed(_seed(applications=[{"display_name": "Tagged", "tags": ["hr", "scim"]},
                                                  {"display_name": "Plain"}]))["tenants"][0]["applications"]
    assert tagged["tags"] == ["hr", "scim"] and plain["tags"] is None


def test_explicit_ids_and_code_lists_are_kept():
    app = {"display_name": "Explicit", "app_id": "00000000-0000-4000-8000-000000000001",
           "service_principal_id": "00000000-0000-4000-8000-000000000002",
           "application_id": "00000000-0000-4000-8000-000000000003", "owners": [CLIENT], "authorized": True,
           "jobs": [{"id": "custom-job", "templateId": "t"}],
           "accepted_credentials": {"Oauth2AuthorizationCode": ["c1", "c2"], "Oauth2RedirectUri": "https://r"}}
    record = load_seed(_seed(applications=[app]))["tenants"][0]["applications"][0]
    assert record["service_principal_id"] == "00000000-0000-4000-8000-000000000002"
    assert [(job["id"], job["templateId"]) for job in record["jobs"]] == [("custom-job", "t")]
    assert record["accepted_credentials"]["Oauth2AuthorizationCode"] == "c1"
    assert record["authorization_codes"] == ["c1", "c2"]
    assert record["owners"] == [CLIENT]
    assert record["authorized"] is True


@pytest.mark.parametrize("seed,fragment", [
    ({"tenants": []}, "tenants"),
    ({"tenants": [{"id": "nope"}]}, "GUID"),
    ({"tenants": [{"id": TENANT, "cloud": "mars"}]}, "cloud"),
    (_seed(applications=[{"display_name": "a", "accepted_credentials": {"secretToken": "x"}}]), "secretToken"),
    (_seed(applications=[{"display_name": "a", "owners": ["00000000-0000-4000-8000-00000000000f"]}]), "owner"),
    (_seed(applications=[{"display_name": "a"}, {"display_name": "a"}]), "already used"),
    (_seed(clients=[{"client_id": CLIENT, "permissions": ["Everything.All"]}]), "permission"),
    (_seed(applications=[{"display_name": "a", "jobs": [{"id": "j"}]}]), "templateId"),
    (_seed(applications=[{"display_name": "a", "jobs": [{"templateId": "t", "status": "Running"}]}]), "status"),
    (_seed(applications=[{"display_name": "a", "jobs": [{"templateId": "t", "last_execution": "ok"}]}]),
     "last_execution"),
    (_seed(managed_identities=[{"type": "user"}]), "client_id"),
    (_seed(applications=[{"display_name": "a", "templates": [{"default": True}]}]), "templates.0.: needs an id"),
    (_seed(applications=[{"display_name": "a", "templates": [{"id": "x", "default": True},
                                                             {"id": "y", "default": True}]}]), "at most one"),
])
def test_invalid_seeds_are_refused_with_the_entry_named(seed, fragment):
    with pytest.raises(SeedError, match=fragment):
        load_seed(seed)


def test_example_seed_matches_the_readme_contract():
    expanded = load_seed(EXAMPLE_SEED)
    clouds = [tenant["cloud"] for tenant in expanded["tenants"]]
    assert clouds == ["global", "usgov_dod"]
    apps = [app for tenant in expanded["tenants"] for app in tenant["applications"]]
    accepting = [app for app in apps if app["accepted_credentials"]]
    assert len(accepting) >= 40
    oauth = [app for app in accepting if "Oauth2AuthorizationCode" in app["accepted_credentials"]]
    token = [app for app in accepting if "SecretToken" in app["accepted_credentials"]]
    assert oauth and token and len(oauth) + len(token) == len(accepting)
    assert all("Oauth2RedirectUri" in app["accepted_credentials"] for app in oauth)
    assert all("BaseAddress" in app["accepted_credentials"] for app in token)
    for tenant in expanded["tenants"]:
        automation = tenant["clients"][0]
        assert automation["secrets"] and all(secret.startswith("emulator-secret-") for secret in automation["secrets"])
        assert "Synchronization.ReadWrite.All" in automation["permissions"]
    assert expanded["tenants"][0]["clients"][0]["certificates"] == ["generate"]
    for app in accepting:
        for key, value in app["accepted_credentials"].items():
            if key in ("SecretToken", "Oauth2ClientSecret"):
                assert value.startswith("emulator-secret-")
    index = applications_by_name(expanded)
    third = index[(expanded["tenants"][0]["id"], "contoso-oauth-0003")]
    assert third["accepted_credentials"]["Oauth2AuthorizationCode"] == "code-contoso-oauth-0003"


def test_a_job_keeps_its_seeded_status_quarantine_and_last_execution():
    expanded = load_seed(_seed(applications=[{"display_name": "a", "jobs": [
        {"templateId": "t", "status": "Quarantine", "quarantine_reason": "TooManyDeletes",
         "last_execution": "Failed"}]}]))
    job = expanded["tenants"][0]["applications"][0]["jobs"][0]
    assert (job["code"], job["quarantine_reason"], job["last_execution"]) == ("Quarantine", "TooManyDeletes", "Failed")


def test_templates_are_derived_from_the_jobs_with_the_first_marked_default():
    app = {"display_name": "a", "jobs": [{"templateId": "scimGroups"}, {"templateId": "scim"}]}
    record = load_seed(_seed(applications=[app]))["tenants"][0]["applications"][0]
    assert record["templates"] == [{"id": "scim", "default": True}, {"id": "scimGroups", "default": False}]


def test_seeded_templates_may_exist_without_a_job():
    app = {"display_name": "a", "templates": ["scim", {"id": "scimGroups", "default": True}]}
    record = load_seed(_seed(applications=[app]))["tenants"][0]["applications"][0]
    assert record["jobs"] == []
    assert record["templates"] == [{"id": "scim", "default": False}, {"id": "scimGroups", "default": True}]
