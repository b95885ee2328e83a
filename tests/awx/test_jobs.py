"""Job templates run the AWX way (ansible-runner transmit, worker, process) against the emulator, with the
collection's credential type and with AWX's built-in Azure Resource Manager credential."""

import os
import stat

import pytest
from cryptography.hazmat.primitives import serialization

import awx_emulation
from conftest import (
    GROUP_CLOUDS,
    VAULT_PASSWORD,
    VAULTED_HOSTS,
    PLAYBOOK,
    REPORT_TASK,
    TENANT_IDS,
    acquire_counts,
    application_records,
    awx_task_env,
    group_hosts,
    next_job_id,
    write_requests,
)

CONTOSO_AUTOMATION_CLIENT = "0c6a1f57-3e2d-4b8a-9f41-7d5e2c9b1a01"
CONTOSO_AUTOMATION_SECRET = "emulator-secret-contoso-automation"
CONTOSO_FEDERATED_CLIENT = "0c6a1f57-3e2d-4b8a-9f41-7d5e2c9b1a03"
CONTOSO_FEDERATED_SUBJECT = "repo:contoso/provisioning:ref:refs/heads/main"
FABRIKAM_AUTOMATION_CLIENT = "5e4d3c2b-1a09-4f8e-8d7c-6b5a4f3e2d01"
FABRIKAM_AUTOMATION_SECRET = "emulator-secret-fabrikam-automation"
# A few Contoso applications of each kind (OAuth code, token, named by display name, with two jobs): enough to
# prove a sign-in method end to end without paying for the whole tenant in every test.
CONTOSO_SAMPLE = ["contoso-hr-directory", "contoso-oauth-0001", "contoso-scim-0001", "o-brien-expenses"]
# The names of the synchronizationSecret keys whose values are secrets in the example inventory.
SECRET_CREDENTIAL_KEYS = ("SecretToken", "Oauth2ClientSecret", "Oauth2AuthorizationCode")


def entra_credential(credential_type, emulator, group, **inputs):
    """A credential of the shipped type for one tenant group, pointed at that group's emulated cloud."""
    cloud = GROUP_CLOUDS[group]
    credential_inputs = {
        "tenant_id": TENANT_IDS[group],
        "cloud": cloud,
        "graph_endpoint": emulator.info["clouds"][cloud]["graph_endpoint"],
        "authority_host": emulator.info["clouds"][cloud]["authority_host"],
    }
    credential_inputs.update(inputs)
    assert awx_emulation.credential_problems(credential_type, credential_inputs) == []
    return ("custom", credential_type, credential_inputs)


def application_secrets(inventory):
    """{label: value} of every secret credential value the inventory's applications carry."""
    secrets = {}
    for host_name, host_vars in inventory.hosts.items():
        for key, value in (host_vars.get("authorize_credentials") or {}).items():
            if key in SECRET_CREDENTIAL_KEYS:
                secrets["%s %s" % (host_name, key)] = value
    return secrets


def assert_secrets_only_in_runner_environment_record(job, secrets, injected_names):
    """The artifacts hold no secret except in ansible-runner's own record of the environment it was given.

    ansible-runner writes that record (artifacts/<id>/command) for every job; AWX keeps the environment only
    through build_safe_env (the job's safe_env, asserted here to hide the same variables) and deletes the private
    data directory. Everything the playbook, role, module and callback produced must be free of secrets.
    """
    occurrences = awx_emulation.secret_occurrences(job.artifacts_dir, secrets)
    assert {path for path, _label in occurrences} <= {"command"}, occurrences
    command_record = job.stored_command()
    assert awx_emulation.environment_secret_names(command_record, secrets) == sorted(injected_names)
    for name in injected_names:
        assert job.safe_env[name] == awx_emulation.HIDDEN_PASSWORD
    assert awx_emulation.secret_occurrences(job.artifacts_dir, {"jwt": "eyJ0eXAiOiJKV1Qi"}) == []
    assert awx_emulation.secret_occurrences(job.artifacts_dir, {"jwt": "eyJhbGciOi"}) == []


def assert_every_host(job, hosts, outcome):
    """Each host's own report (and the play recap AWX keeps as host summaries) says ``outcome``."""
    assert job.status == "successful" and job.rc == 0, job.stdout()[-3000:]
    results = job.host_results(REPORT_TASK, role="authorize")
    assert {host: result[0] for host, result in results.items()} == dict.fromkeys(hosts, outcome)
    stats = job.stats()
    assert stats["failures"] == {} and stats["dark"] == {}
    assert sorted(stats.get("changed", {})) == (sorted(hosts) if outcome == "changed" else [])


def token_requests(emulator):
    """(tenant, client, credential kind) of every token the emulator issued since its last reset."""
    return sorted({(entry["tenant_id"], entry["client_id"], entry["credential"]) for entry in emulator.log()
                   if entry.get("kind") == "token" and entry.get("status") == 200})


def test_secret_credential_authorizes_each_application_once_and_a_rerun_changes_nothing(
        fresh_emulator, credential_type, credential_inventory, credential_project, awx_root, execution_environment):
    hosts = group_hosts(credential_inventory, "fabrikam_dod")
    credential = entra_credential(credential_type, fresh_emulator, "fabrikam_dod", client_id=FABRIKAM_AUTOMATION_CLIENT,
                                  client_secret=FABRIKAM_AUTOMATION_SECRET, cloud="usgov_dod")
    template = awx_emulation.JobTemplate("Authorize Fabrikam (DoD)", PLAYBOOK, credential_inventory, credential_project,
                                         credentials=[credential], limit="fabrikam_dod",
                                         task_env=awx_task_env(fresh_emulator))

    first = awx_emulation.run_job(template, awx_root, execution_environment, next_job_id())

    assert_every_host(first, hosts, "changed")
    records = application_records(fresh_emulator, credential_inventory, hosts)
    assert acquire_counts(fresh_emulator, records) == dict.fromkeys(hosts, 1)
    assert token_requests(fresh_emulator) == [(TENANT_IDS["fabrikam_dod"], FABRIKAM_AUTOMATION_CLIENT, "secret")]
    assert first.env["AZURE_CLOUD_ENVIRONMENT"] == "usgov_dod"
    secrets = dict(application_secrets(credential_inventory), client_secret=FABRIKAM_AUTOMATION_SECRET)
    assert_secrets_only_in_runner_environment_record(first, secrets, ["AZURE_CLIENT_SECRET"])

    second = awx_emulation.run_job(template, awx_root, execution_environment, next_job_id())

    assert_every_host(second, hosts, "ok")
    assert acquire_counts(fresh_emulator, records) == dict.fromkeys(hosts, 1)


@pytest.fixture(scope="module")
def contoso_check_job(emulator, credential_type, credential_inventory, credential_project, awx_root,
                      execution_environment):
    """One check-mode job with the shipped credential type (client secret) on a few Contoso applications, and the
    emulator's write requests and application states right after it."""
    emulator.reset()
    credential = entra_credential(credential_type, emulator, "contoso", client_id=CONTOSO_AUTOMATION_CLIENT,
                                  client_secret=CONTOSO_AUTOMATION_SECRET)
    template = awx_emulation.JobTemplate("Authorize Contoso, check", PLAYBOOK, credential_inventory,
                                         credential_project, credentials=[credential], limit=":".join(CONTOSO_SAMPLE),
                                         job_type="check", task_env=awx_task_env(emulator))
    job = awx_emulation.run_job(template, awx_root, execution_environment, next_job_id())
    records = application_records(emulator, credential_inventory, CONTOSO_SAMPLE)
    return job, write_requests(emulator), [record["authorized"] for record in records.values()]


def test_check_mode_job_predicts_every_change_and_sends_no_write(contoso_check_job):
    job, writes, authorized = contoso_check_job

    assert_every_host(job, CONTOSO_SAMPLE, "changed")
    assert "--check" in job.stored_command()["command"]
    assert writes == []
    assert authorized == [False] * len(CONTOSO_SAMPLE)


def test_credential_injects_environment_files_and_extra_vars_as_awx_renders_them(contoso_check_job, emulator):
    job = contoso_check_job[0]

    environment = job.stored_command()["env"]
    assert environment["AZURE_TENANT_ID"] == TENANT_IDS["contoso"]
    assert environment["AZURE_CLIENT_ID"] == CONTOSO_AUTOMATION_CLIENT
    assert environment["AZURE_CLOUD_ENVIRONMENT"] == "global"
    assert environment["AZURE_AUTHORITY_HOST"] == emulator.info["clouds"]["global"]["authority_host"]
    # Inputs left empty are injected empty, which the collection reads as not set.
    assert environment["AZURE_CLIENT_CERTIFICATE_PATH"] == environment["AZURE_FEDERATED_TOKEN_FILE"] == ""
    assert environment["AZURE_CLIENT_CERTIFICATE_PASSWORD"] == ""
    # Both file templates are written even when empty, each 0600 below env/, as AWX does.
    for label in ("template.client_certificate", "template.federated_token"):
        path = job.written_files[label]
        assert os.path.dirname(path) == os.path.join(job.private_data_dir, "env")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    extra_vars_file = job.written_files["extra_vars"]
    with open(os.path.join(job.private_data_dir, "env", "cmdline")) as cmdline_file:
        assert "-e @%s" % extra_vars_file in cmdline_file.read()
    with open(extra_vars_file) as extra_vars:
        assert extra_vars.read() == "!unsafe 'authorize_graph_endpoint': !unsafe '%s'\n" % (
            emulator.info["clouds"]["global"]["graph_endpoint"])
    # AWX_RUNNER_OMIT_ENV_FILES: the environment, secret included, reached runner without an env/envvars file.
    assert not os.path.exists(os.path.join(job.private_data_dir, "env", "envvars"))
    assert job.safe_env["AZURE_CLIENT_SECRET"] == awx_emulation.HIDDEN_PASSWORD


def encrypted_key_and_certificate(emulator, client_id, password):
    """The emulator's certificate for a client with its key encrypted under ``password``, as one PEM text."""
    certificate_files = emulator.info["certificates"][client_id]
    with open(certificate_files["key_pem"], "rb") as key_file:
        private_key = serialization.load_pem_private_key(key_file.read(), password=None)
    encrypted_key = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.BestAvailableEncryption(password.encode()))
    with open(certificate_files["certificate_pem"]) as certificate_file:
        return encrypted_key.decode() + certificate_file.read()


def test_certificate_credential_signs_in_with_the_injected_certificate_file(
        fresh_emulator, credential_type, credential_inventory, credential_project, awx_root, execution_environment):
    hosts = CONTOSO_SAMPLE
    key_password = "awx-test-key-password-7d1c"
    certificate_pem = encrypted_key_and_certificate(fresh_emulator, CONTOSO_AUTOMATION_CLIENT, key_password)
    credential = entra_credential(credential_type, fresh_emulator, "contoso", client_id=CONTOSO_AUTOMATION_CLIENT,
                                  client_certificate=certificate_pem, client_certificate_password=key_password)
    template = awx_emulation.JobTemplate("Authorize Contoso (certificate)", PLAYBOOK, credential_inventory,
                                         credential_project, credentials=[credential], limit=":".join(hosts),
                                         task_env=awx_task_env(fresh_emulator))

    job = awx_emulation.run_job(template, awx_root, execution_environment, next_job_id())

    assert_every_host(job, hosts, "changed")
    assert token_requests(fresh_emulator) == [(TENANT_IDS["contoso"], CONTOSO_AUTOMATION_CLIENT, "certificate")]
    certificate_path = job.stored_command()["env"]["AZURE_CLIENT_CERTIFICATE_PATH"]
    assert certificate_path == job.written_files["template.client_certificate"]
    with open(certificate_path) as certificate_file:
        assert certificate_file.read() == certificate_pem
    secrets = dict(awx_emulation.secret_lines("private key", certificate_pem.split("-----END")[0]),
                   key_password=key_password, **application_secrets(credential_inventory))
    assert_secrets_only_in_runner_environment_record(job, secrets, ["AZURE_CLIENT_CERTIFICATE_PASSWORD"])


def test_federated_token_credential_signs_in_with_the_injected_token_file(
        fresh_emulator, credential_type, credential_inventory, credential_project, awx_root, execution_environment):
    hosts = CONTOSO_SAMPLE
    federated_token = fresh_emulator.federation_token(CONTOSO_FEDERATED_SUBJECT)
    credential = entra_credential(credential_type, fresh_emulator, "contoso", client_id=CONTOSO_FEDERATED_CLIENT,
                                  federated_token=federated_token)
    template = awx_emulation.JobTemplate("Authorize Contoso (workload identity)", PLAYBOOK, credential_inventory,
                                         credential_project, credentials=[credential], limit=":".join(hosts),
                                         task_env=awx_task_env(fresh_emulator))

    job = awx_emulation.run_job(template, awx_root, execution_environment, next_job_id())

    assert_every_host(job, hosts, "changed")
    assert token_requests(fresh_emulator) == [(TENANT_IDS["contoso"], CONTOSO_FEDERATED_CLIENT, "federated")]
    assert job.stored_command()["env"]["AZURE_FEDERATED_TOKEN_FILE"] == job.written_files["template.federated_token"]
    secrets = dict(federated_token=federated_token, **application_secrets(credential_inventory))
    assert_secrets_only_in_runner_environment_record(job, secrets, [])


def builtin_azure_template(emulator, inventory, project, name, **template_options):
    """A job template with AWX's built-in Azure Resource Manager credential for Contoso.

    That credential has no field for the Graph endpoint or the sign-in host, so the job template's extra
    variables send the role to the emulator (and trust its CA) instead.
    """
    azure_credential = ("azure_rm", None, {
        "subscription": "8f3c2a71-0000-4000-8000-000000000001", "client": CONTOSO_AUTOMATION_CLIENT,
        "secret": CONTOSO_AUTOMATION_SECRET, "tenant": TENANT_IDS["contoso"], "cloud_environment": "AzureCloud",
    })
    extra_vars = {
        "authorize_graph_endpoint": emulator.info["clouds"]["global"]["graph_endpoint"],
        "authorize_authority_host": emulator.info["clouds"]["global"]["authority_host"],
        "authorize_ca_path": emulator.info["ca_path"],
    }
    return awx_emulation.JobTemplate(name, PLAYBOOK, inventory, project, credentials=[azure_credential],
                                     extra_vars=extra_vars, **template_options)


def test_builtin_azure_credential_works_unchanged_even_at_verbosity_3(
        fresh_emulator, credential_inventory, credential_project, awx_root, execution_environment):
    hosts = CONTOSO_SAMPLE
    template = builtin_azure_template(fresh_emulator, credential_inventory, credential_project,
                                      "Authorize Contoso (Azure Resource Manager credential)", limit=":".join(hosts),
                                      verbosity=3, omit_env_files=False)

    job = awx_emulation.run_job(template, awx_root, execution_environment, next_job_id())

    assert_every_host(job, hosts, "changed")
    assert token_requests(fresh_emulator) == [(TENANT_IDS["contoso"], CONTOSO_AUTOMATION_CLIENT, "secret")]
    records = application_records(fresh_emulator, credential_inventory, hosts)
    assert acquire_counts(fresh_emulator, records) == dict.fromkeys(hosts, 1)
    # With AWX_RUNNER_OMIT_ENV_FILES off, runner keeps the environment in env/envvars (not an artifact).
    with open(os.path.join(job.private_data_dir, "env", "envvars")) as envvars_file:
        assert '"AZURE_TENANT": "%s"' % TENANT_IDS["contoso"] in envvars_file.read()
    secrets = dict(client_secret=CONTOSO_AUTOMATION_SECRET, **application_secrets(credential_inventory))
    assert_secrets_only_in_runner_environment_record(job, secrets, ["AZURE_SECRET"])


def test_survey_answer_force_true_authorizes_already_authorized_applications_again_and_false_does_not(
        fresh_emulator, credential_inventory, credential_project, awx_root, execution_environment):
    hosts = ["contoso-scim-0001", "contoso-scim-0002"]
    template = builtin_azure_template(fresh_emulator, credential_inventory, credential_project,
                                      "Authorize Contoso token apps", limit=":".join(hosts))
    records = application_records(fresh_emulator, credential_inventory, hosts)
    first = awx_emulation.run_job(template, awx_root, execution_environment, next_job_id())
    assert_every_host(first, hosts, "changed")

    # A survey's multiple-choice answer reaches the play as a string, "false" or "true", never a boolean.
    not_forced = awx_emulation.run_job(template, awx_root, execution_environment, next_job_id(),
                                       survey_answers={"authorize_force": "false"})
    forced = awx_emulation.run_job(template, awx_root, execution_environment, next_job_id(),
                                   survey_answers={"authorize_force": "true"})

    assert_every_host(not_forced, hosts, "ok")
    assert_every_host(forced, hosts, "changed")
    assert acquire_counts(fresh_emulator, records) == dict.fromkeys(hosts, 2)


def test_rejected_secret_fails_each_application_with_the_sign_in_error_and_no_secret(
        fresh_emulator, credential_type, credential_inventory, credential_project, awx_root, execution_environment):
    hosts = ["fabrikam-oauth-0001", "fabrikam-scim-0001", "fabrikam-scim-0002"]
    wrong_secret = "emulator-secret-not-the-right-one-5b2e"
    credential = entra_credential(credential_type, fresh_emulator, "fabrikam_dod", client_id=FABRIKAM_AUTOMATION_CLIENT,
                                  client_secret=wrong_secret, cloud="usgov_dod")
    template = awx_emulation.JobTemplate("Authorize Fabrikam (DoD), wrong secret", PLAYBOOK, credential_inventory,
                                         credential_project, credentials=[credential], limit=":".join(hosts),
                                         task_env=awx_task_env(fresh_emulator))

    job = awx_emulation.run_job(template, awx_root, execution_environment, next_job_id())

    assert job.status == "failed" and job.rc != 0
    results = job.host_results(REPORT_TASK, role="authorize")
    assert sorted(results) == hosts
    for outcome, event_data in results.values():
        assert outcome == "failed"
        assert "AADSTS7000215" in event_data["res"]["msg"]
    assert sorted(job.stats()["failures"]) == hosts
    assert write_requests(fresh_emulator) == []
    assert_secrets_only_in_runner_environment_record(job, {"client_secret": wrong_secret}, ["AZURE_CLIENT_SECRET"])


def test_inline_vaulted_application_credentials_are_decrypted_with_a_vault_credential(
        fresh_emulator, credential_type, credential_inventory, vaulted_inventory, vaulted_project, awx_root,
        execution_environment):
    hosts = sorted(VAULTED_HOSTS)
    imported_token = vaulted_inventory.hosts["contoso-scim-0002"]["authorize_credentials"]["SecretToken"]
    # The inventory update stored the ciphertext: AWX never saw the value.
    assert sorted(imported_token) == ["__ansible_vault"]
    credential = entra_credential(credential_type, fresh_emulator, "contoso", client_id=CONTOSO_AUTOMATION_CLIENT,
                                  client_secret=CONTOSO_AUTOMATION_SECRET)
    template = awx_emulation.JobTemplate("Authorize vaulted applications", PLAYBOOK, vaulted_inventory,
                                         vaulted_project, credentials=[credential], limit=":".join(hosts),
                                         task_env=awx_task_env(fresh_emulator), vault_password=VAULT_PASSWORD)

    job = awx_emulation.run_job(template, awx_root, execution_environment, next_job_id())

    assert_every_host(job, hosts, "changed")
    records = application_records(fresh_emulator, vaulted_inventory, hosts)
    assert acquire_counts(fresh_emulator, records) == dict.fromkeys(hosts, 1)
    vaulted_values = {label: value for label, value in application_secrets(credential_inventory).items()
                      if label.split(" ")[0] in VAULTED_HOSTS}
    secrets = dict(vaulted_values, vault_password=VAULT_PASSWORD, client_secret=CONTOSO_AUTOMATION_SECRET)
    assert_secrets_only_in_runner_environment_record(job, secrets, ["AZURE_CLIENT_SECRET"])
