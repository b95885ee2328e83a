"""The command line: a wrong interpreter is told which one to use; --print inventory gives the variables to use."""

import importlib.util
import os

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
