"""The entra_sync inventory plugin as an AWX inventory source, with the collection's credential type.

An inventory update "Sourced from a Project" runs ansible-inventory on the project's ``*.entra_sync.yml`` file with
the source's credential injected (tenant, client, secret, cloud and sign-in host as AZURE_* variables): the file
itself holds no identity and no secret. AWX imports exactly what ``ansible-inventory --list --export`` prints: ids
and names must be plain strings there, and only a value Jinja could act on is marked ``__ansible_unsafe``.
"""

import glob
import json
import os

import pytest
import yaml
from entra_emulator.seed import load_seed

import awx_emulation
from conftest import EXAMPLE_SEED, TENANT_IDS, next_job_id

CONTOSO_AUTOMATION_CLIENT = "0c6a1f57-3e2d-4b8a-9f41-7d5e2c9b1a01"
CONTOSO_AUTOMATION_SECRET = "emulator-secret-contoso-automation"
SOURCE_PATH = os.path.join("inventory", "contoso.entra_sync.yml")
BRACES_NAME = "Contoso Braces {{ 7 * 6 }}"
# A job over the imported inventory checks that the plugin's variables reach it as the strings they were, and that
# the display name holding a template is shown as written.
CHECK_PLAYBOOK = """
- name: Read what the entra_sync inventory gave each application
  hosts: all
  gather_facts: false
  tasks:
    - name: The role's variables are plain strings in the job, and no display name was templated
      ansible.builtin.assert:
        that:
          - authorize_service_principal_id is string
          - authorize_job_id is string
          - entra_sync_display_name is string
          - entra_sync_display_name is not search('Braces 42')
          - entra_sync_jobs[0].status.code == 'NotRun'
"""


@pytest.fixture()
def entra_sync_project(tmp_path, emulator):
    """A project whose inventory file names only the plugin and where the emulator's Graph is."""
    project_dir = tmp_path / "project-entra-sync"
    (project_dir / "inventory").mkdir(parents=True)
    (project_dir / "check.yml").write_text(CHECK_PLAYBOOK)
    (project_dir / SOURCE_PATH).write_text(yaml.safe_dump({
        "plugin": "entra.provisioning.entra_sync",
        "graph_endpoint": emulator.info["clouds"]["global"]["graph_endpoint"],
        "ca_path": emulator.info["ca_path"],
    }))
    return str(project_dir)


def entra_credential(credential_type, emulator, client_secret=CONTOSO_AUTOMATION_SECRET):
    """The "Microsoft Entra provisioning" credential of Contoso's automation identity."""
    return ("custom", credential_type, {
        "tenant_id": TENANT_IDS["contoso"], "client_id": CONTOSO_AUTOMATION_CLIENT, "client_secret": client_secret,
        "cloud": "global", "authority_host": emulator.info["clouds"]["global"]["authority_host"]})


def test_an_update_with_the_entra_credential_imports_the_tenants_provisioned_applications(
        entra_sync_project, emulator, credential_type, awx_root, execution_environment):
    emulator.reset()
    braces = emulator.create_application(TENANT_IDS["contoso"], name="contoso-braces", display_name=BRACES_NAME,
                                         jobs=[{"templateId": "scim"}])
    exported, update_dir = awx_emulation.run_inventory_update(
        entra_sync_project, SOURCE_PATH, awx_root, execution_environment, next_job_id(),
        credentials=[entra_credential(credential_type, emulator)])
    inventory = awx_emulation.Inventory()
    inventory.import_source(exported)
    tenant = next(tenant for tenant in load_seed(EXAMPLE_SEED)["tenants"] if tenant["id"] == TENANT_IDS["contoso"])
    with_jobs = sorted([application["service_principal_id"] for application in tenant["applications"]
                        if application["jobs"]] + [braces["service_principal_id"]])
    hosts = inventory.hosts
    # what AWX stores, unchanged: plain strings for every id and name, a marked mapping for the one with braces
    assert sorted(host["authorize_service_principal_id"] for host in hosts.values()) == with_jobs
    assert all(host["authorize_tenant_id"] == TENANT_IDS["contoso"] for host in hosts.values())
    marked = sorted((name, variable) for name, host in hosts.items() for variable, value in host.items()
                    if "__ansible_unsafe" in json.dumps(value))
    assert marked == [("contoso-braces-7-6", "entra_sync_display_name")], marked
    assert hosts["contoso-braces-7-6"]["entra_sync_display_name"] == {"__ansible_unsafe": BRACES_NAME}
    assert "entra_sync_not_run" in inventory.groups and "entra_sync_template_scim" in inventory.groups
    # As for jobs, only ansible-runner's own record of the environment it was handed holds the injected secret.
    secrets = {"client_secret": CONTOSO_AUTOMATION_SECRET}
    assert CONTOSO_AUTOMATION_SECRET not in json.dumps(exported)
    occurrences = awx_emulation.secret_occurrences(os.path.join(update_dir, "artifacts"), secrets)
    assert {os.path.basename(path) for path, _label in occurrences} <= {"command"}, occurrences

    template = awx_emulation.JobTemplate("Read the entra_sync inventory", "check.yml", inventory, entra_sync_project,
                                         limit="entra_sync_not_run")
    job = awx_emulation.run_job(template, awx_root, execution_environment, next_job_id())
    assert job.status == "successful" and len(job.stats().get("ok", {})) == len(with_jobs), job.stdout()[-3000:]


def test_an_update_whose_credential_is_refused_fails_with_the_plugins_message(
        entra_sync_project, emulator, credential_type, awx_root, execution_environment):
    update_id = next_job_id()
    with pytest.raises(RuntimeError, match="ended failed"):
        awx_emulation.run_inventory_update(
            entra_sync_project, SOURCE_PATH, awx_root, execution_environment, update_id,
            credentials=[entra_credential(credential_type, emulator, client_secret="emulator-secret-wrong")])
    (update_dir,) = glob.glob(os.path.join(awx_root, "awx_%d_*" % update_id))
    output = ""
    for event_path in glob.glob(os.path.join(update_dir, "artifacts", str(update_id), "job_events", "*.json")):
        with open(event_path) as event_file:
            output += json.load(event_file).get("stdout", "")
    assert "entra_sync inventory" in output and "AADSTS7000215" in output and "Traceback" not in output
