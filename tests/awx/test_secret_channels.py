"""A secret typed in a shape the role or module refuses stays hidden in what AWX keeps: the job events of
ansible-runner at verbosity 0 (and every other artifact except runner's own record of the environment)."""

import pytest

import awx_emulation
from conftest import PLAYBOOK, TENANT_IDS, next_job_id, write_requests
from test_jobs import CONTOSO_AUTOMATION_CLIENT, CONTOSO_AUTOMATION_SECRET

HOST = "contoso-scim-0001"
CANARY = "canary-awx-misshaped-secret-4e1b"
SHAPES = {
    "one-key mappings": [{"SecretToken": CANARY}],
    "a vaule typo": [{"key": "SecretToken", "vaule": CANARY}],
    "a key=value string": ["SecretToken=" + CANARY],
    "a whole string": "SecretToken: " + CANARY,
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_misshaped_credentials_stay_hidden_in_the_job_events_at_verbosity_0(
        shape, fresh_emulator, credential_inventory, credential_project, awx_root, execution_environment):
    azure_credential = ("azure_rm", None, {
        "subscription": "8f3c2a71-0000-4000-8000-000000000001", "client": CONTOSO_AUTOMATION_CLIENT,
        "secret": CONTOSO_AUTOMATION_SECRET, "tenant": TENANT_IDS["contoso"], "cloud_environment": "AzureCloud",
    })
    # Extra variables win over the inventory, as a survey answer or a launch-time variable would.
    extra_vars = {
        "authorize_graph_endpoint": fresh_emulator.info["clouds"]["global"]["graph_endpoint"],
        "authorize_authority_host": fresh_emulator.info["clouds"]["global"]["authority_host"],
        "authorize_ca_path": fresh_emulator.info["ca_path"],
        "authorize_credentials": SHAPES[shape],
    }
    template = awx_emulation.JobTemplate("Authorize with mis-shaped credentials", PLAYBOOK, credential_inventory,
                                         credential_project, credentials=[azure_credential], extra_vars=extra_vars,
                                         limit=HOST, verbosity=0)

    job = awx_emulation.run_job(template, awx_root, execution_environment, next_job_id())

    assert job.status == "failed"
    assert sorted(job.stats()["failures"]) == [HOST]
    assert write_requests(fresh_emulator) == []
    # The events hold the failure itself, so the channel AWX keeps was really exercised.
    assert any(event.get("event") == "runner_on_failed" for event in job.events())
    secrets = {"mis-shaped value": CANARY, "client_secret": CONTOSO_AUTOMATION_SECRET}
    occurrences = awx_emulation.secret_occurrences(job.artifacts_dir, secrets)
    assert {path for path, _label in occurrences} <= {"command"}, occurrences
