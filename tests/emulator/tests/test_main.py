"""The command line: a wrong interpreter is told which one to use; --print inventory gives the variables to use."""

import importlib.util
import os
import socket

import pytest
import yaml

from entra_emulator import __main__ as cli
from entra_emulator import load_seed

EXAMPLE_SEED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "seeds", "example.yml")
INFO = {
    "pid": 4242,
    "ca_path": "/tmp/emu/ca.pem",
    "clouds": {cloud: {"graph_endpoint": "https://127.0.0.1:%d" % port, "authority_host": "https://127.0.0.1:%d" % port}
               for cloud, port in (("global", 1001), ("usgov", 1002), ("usgov_dod", 1003), ("china", 1004))},
}


def test_a_python_without_the_packages_is_told_to_use_the_tools_venv(monkeypatch, capsys):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "aiohttp" else real_find_spec(name, *args))
    status = cli.main(["start", "--seed", EXAMPLE_SEED, "--state-dir", "/nonexistent/never-created"])
    assert status == 2
    error = capsys.readouterr().err
    assert "cannot start the emulator: this Python" in error
    assert "lacks aiohttp" in error
    assert ".venv/tools/bin/python (make demo creates it)" in error
    assert not os.path.exists("/nonexistent/never-created")


def test_the_inventory_is_a_yaml_inventory_of_the_seed_tenants_pointed_at_the_emulator():
    seed = load_seed(EXAMPLE_SEED)
    text = cli.inventory_text(INFO, seed, "/tmp/emu")
    assert "python -m entra_emulator stop --state-dir /tmp/emu" in text
    groups = yaml.safe_load(text)["all"]["children"]
    assert len(groups) == len(seed["tenants"])
    for tenant in seed["tenants"]:
        group = groups[cli._group_name(tenant)]  # pylint: disable=protected-access
        variables = group["vars"]
        assert variables["authorize_tenant_id"] == tenant["id"]
        assert variables["authorize_cloud"] == tenant["cloud"]
        assert variables["authorize_graph_endpoint"] == INFO["clouds"][tenant["cloud"]]["graph_endpoint"]
        assert variables["authorize_authority_host"] == INFO["clouds"][tenant["cloud"]]["authority_host"]
        assert variables["authorize_ca_path"] == INFO["ca_path"]
        client = [item for item in tenant["clients"] if item["client_id"] == variables["authorize_client_id"]][0]
        assert variables["authorize_client_secret"] in client["secrets"]
        assert "Synchronization.ReadWrite.All" in client["permissions"]
        (host,) = group["hosts"].values()
        application = [item for item in tenant["applications"]
                       if item["display_name"] == host["authorize_display_name"]][0]
        assert host["authorize_credentials"] == application["accepted_credentials"]
        assert len(application["jobs"]) == 1 and not application["authorized"]


def test_a_display_name_without_letters_still_gives_a_group_name():
    assert cli._group_name({"display_name": "(((", "id": "abcd1234-0000"}) == "tenant_abcd1234"  # pylint: disable=protected-access


def test_the_list_names_every_tenant_client_and_application_with_ids_and_jobs():
    seed = load_seed(EXAMPLE_SEED)
    text = cli.applications_text(seed)
    for tenant in seed["tenants"]:
        heading = "tenant_id %s  %s  cloud %s  %d applications" % (
            tenant["id"], tenant["display_name"], tenant["cloud"], len(tenant["applications"]))
        assert heading in text
        for client in tenant["clients"]:
            assert "client_id %s  %s" % (client["client_id"], client["display_name"]) in text
        for application in tenant["applications"]:
            state = "authorized" if application["authorized"] else "not authorized"
            heading = '  application "%s" (%s)' % (application["display_name"], state)
            block = text.split(heading + "\n", 1)[1].split("\n  application", 1)[0]
            assert block.startswith("    service_principal_id %s  app_id %s\n"
                                    % (application["service_principal_id"], application["app_id"]))
            assert all("    job_id %s  template %s  status %s\n" % (job["id"], job["templateId"], job["code"])
                       in block for job in application["jobs"])
    assert not any(secret in text for tenant in seed["tenants"] for client in tenant["clients"]
                   for secret in client["secrets"])


def test_the_list_of_a_running_emulator_shows_what_it_holds_now():
    seed = load_seed(EXAMPLE_SEED)
    tenant = seed["tenants"][0]
    application = dict(tenant["applications"][0], tenant_id=tenant["id"], authorized=True,
                       saved_credential_keys=["SecretToken"])
    text = cli.applications_text(seed, live_applications=[application], tenant_id=tenant["id"].upper())
    assert text.startswith("tenant_id %s" % tenant["id"]) and "1 applications" in text
    assert '"%s" (authorized)' % application["display_name"] in text and "credentials: saved SecretToken" in text
    assert text.count("\ntenant_id ") == 0


def test_list_of_an_unknown_tenant_names_the_tenants(capsys):
    assert cli.main(["list", "--seed", EXAMPLE_SEED, "--tenant", "00000000-0000-4000-8000-000000000000"]) == 1
    error = capsys.readouterr().err
    assert "no tenant 00000000-0000-4000-8000-000000000000" in error
    assert load_seed(EXAMPLE_SEED)["tenants"][0]["id"] in error


def test_list_of_a_state_directory_without_an_emulator_says_so(tmp_path, capsys):
    assert cli.main(["list", "--state-dir", str(tmp_path)]) == 1
    assert "no emulator runs for %s" % tmp_path in capsys.readouterr().err


def test_the_list_command_prints_the_seed(capsys):
    assert cli.main(["list", "--seed", EXAMPLE_SEED]) == 0
    assert capsys.readouterr().out == cli.applications_text(load_seed(EXAMPLE_SEED))


@pytest.mark.parametrize("value", ["80", "65533", "http"])
def test_a_port_base_out_of_range_is_refused_before_anything_starts(value, tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["start", "--seed", EXAMPLE_SEED, "--state-dir", str(tmp_path / "state"), "--port-base", value])
    assert stopped.value.code == 2
    assert "--port-base" in capsys.readouterr().err and not (tmp_path / "state").exists()


def test_fixed_ports_that_are_taken_are_named_before_the_server_starts(tmp_path):
    from entra_emulator.process import EmulatorError, check_ports_free  # pylint: disable=import-outside-toplevel
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        taken = holder.getsockname()[1]
        with pytest.raises(EmulatorError, match=r"port %d \(the global cloud's.*not free.*choose another --port-base"
                           % taken):
            check_ports_free(taken)
