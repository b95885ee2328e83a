"""The shipped credential type: AWX accepts it, it injects what the collection reads, and the registration
playbook hands it to awx.awx.credential_type unchanged."""

import ast
import copy
import json
import os

import ansible_runner
import pytest
import yaml

import awx_emulation
from conftest import COLLECTION_ROOT

SECRET_FIELDS = ["client_certificate", "client_certificate_password", "client_secret", "federated_token"]
STANDIN_COLLECTIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "collections")


def module_utils_literal(file_name, variable):
    """The value of a top-level assignment in plugins/module_utils/<file_name>, keys only for a dict of calls."""
    with open(os.path.join(COLLECTION_ROOT, "plugins", "module_utils", file_name)) as source_file:
        tree = ast.parse(source_file.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(target, "id", None) == variable for target in node.targets):
            if isinstance(node.value, ast.Dict) and not all(isinstance(value, (ast.Tuple, ast.Constant))
                                                            for value in node.value.values):
                return [ast.literal_eval(key) for key in node.value.keys]
            return ast.literal_eval(node.value)
    raise AssertionError("%s has no %s" % (file_name, variable))


def test_awx_accepts_the_shipped_credential_type(credential_type):
    assert awx_emulation.validate_credential_type(credential_type) == []


@pytest.mark.parametrize("breakage, expected", [
    (lambda definition: definition["injectors"]["env"].update(AZURE_TENANT_ID="{{ tenant }}"), "undefined"),
    (lambda definition: definition["injectors"]["env"].update(PATH="/tmp"), "not allowed"),
    (lambda definition: definition["injectors"]["env"].update(ANSIBLE_CONFIG="/tmp/x"), "Ansible configuration"),
    (lambda definition: definition["injectors"]["env"].update(X="{{ tower.filename }}"), "unnamed file injector"),
    (lambda definition: definition["inputs"]["fields"].append({"id": "tower", "label": "t"}), "reserved"),
    (lambda definition: definition["inputs"]["fields"].append({"id": "b", "label": "b", "type": "boolean",
                                                               "secret": True}), "not allowed for boolean"),
    (lambda definition: definition.update(kind="ssh"), "kind"),
])
def test_awx_validation_refuses_what_awx_refuses(credential_type, breakage, expected):
    broken = copy.deepcopy(credential_type)
    breakage(broken)

    problems = awx_emulation.validate_credential_type(broken)

    assert any(expected in problem for problem in problems), problems


def test_every_secret_input_is_marked_secret(credential_type):
    assert sorted(awx_emulation.secret_field_ids(credential_type)) == SECRET_FIELDS


def test_injected_environment_variables_are_the_ones_the_collection_reads(credential_type):
    fallbacks = module_utils_literal("_options.py", "ENV_FALLBACKS")
    # The first variable of each option is the Azure SDK name; AWX's built-in credential sets the others.
    assert sorted(credential_type["injectors"]["env"]) == sorted(names[0] for names in fallbacks.values())


def test_cloud_choices_are_the_collections_clouds(credential_type):
    (cloud_field,) = [field for field in credential_type["inputs"]["fields"] if field["id"] == "cloud"]

    assert sorted(cloud_field["choices"]) == sorted(module_utils_literal("_graph/clouds.py", "CLOUDS"))


def test_extra_variables_injected_are_documented_role_variables(credential_type):
    # The role's action reads these variables (authorize_ + a module option); ansible-doc's page of the role
    # (meta/argument_specs.yml, kept in step with the action by a unit test) and the README document each of them.
    with open(os.path.join(COLLECTION_ROOT, "roles", "authorize", "meta", "argument_specs.yml")) as specs_file:
        documented = yaml.safe_load(specs_file)["argument_specs"]["authorize"]["options"]
    with open(os.path.join(COLLECTION_ROOT, "roles", "authorize", "README.md")) as readme_file:
        readme = readme_file.read()

    for name in credential_type["injectors"]["extra_vars"]:
        assert name.startswith("authorize_") and name in documented
        assert "| `%s` |" % name in readme


def test_registration_playbook_hands_awx_the_shipped_definition_unchanged(
        credential_type, execution_environment, tmp_path):
    record_path = str(tmp_path / "credential_type_arguments.json")
    private_data_dir = str(tmp_path / "runner")
    os.makedirs(os.path.join(private_data_dir, "project"))
    collections_path = os.pathsep.join([execution_environment.collections_dir, STANDIN_COLLECTIONS])

    run = ansible_runner.run(
        private_data_dir=private_data_dir, playbook="entra.provisioning.awx_register_credential_type",
        inventory="localhost,", quiet=True,
        envvars={"ANSIBLE_COLLECTIONS_PATH": collections_path, "AWX_STANDIN_RECORD": record_path,
                 "PATH": execution_environment.base_env["PATH"]})

    assert run.status == "successful", run.stdout.read()
    with open(record_path) as record_file:
        arguments = json.load(record_file)
    assert arguments["name"] == credential_type["name"]
    assert arguments["description"] == credential_type["description"]
    assert arguments["kind"] == credential_type["kind"] == "cloud"
    assert arguments["state"] == "present"
    # The injectors' Jinja must reach AWX as written: Ansible must not have templated it on the way.
    assert arguments["inputs"] == credential_type["inputs"]
    assert arguments["injectors"] == credential_type["injectors"]
