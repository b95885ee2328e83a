"""The execution environment: ``ansible-builder create`` on the definition docs/awx.md gives users, then the
builder's own galaxy and introspection steps run on the build context (the image itself cannot be built here)."""

import hashlib
import os
import re
import shutil
import subprocess

import pytest
import yaml
from bindep.depends import Depends

import awx_emulation
from conftest import COLLECTION_ROOT

DOCS_PATH = os.path.join(COLLECTION_ROOT, "docs", "awx.md")
# docs/awx.md marks the block this test builds with this HTML comment on the line before it.
DEFINITION_MARKER = "<!-- execution-environment.yml, built by tests/awx/test_execution_environment.py -->"
TARBALL_NAME = "entra-provisioning.tar.gz"


def documented_definition():
    """The execution environment definition shown in docs/awx.md."""
    with open(DOCS_PATH) as docs_file:
        docs = docs_file.read()
    match = re.search(re.escape(DEFINITION_MARKER) + r"\s*```yaml\n(.*?)```", docs, re.DOTALL)
    assert match, "docs/awx.md has no execution environment definition after %s" % DEFINITION_MARKER
    return match.group(1)


def tools_program(name):
    """A program of the tools venv (ansible-builder, ansible-galaxy)."""
    return os.path.join(awx_emulation.python_executable_dir(), name)


def sha256_of(path):
    """The SHA-256 of a file."""
    with open(path, "rb") as data_file:
        return hashlib.sha256(data_file.read()).hexdigest()


@pytest.fixture(scope="module")
def build_context(tmp_path_factory, collection_tarball):
    """``ansible-builder create`` run as docs/awx.md says, with the built collection where the docs put it."""
    work_dir = str(tmp_path_factory.mktemp("ee-definition"))
    with open(os.path.join(work_dir, "execution-environment.yml"), "w") as definition_file:
        definition_file.write(documented_definition())
    os.mkdir(os.path.join(work_dir, "collections"))
    shutil.copy(collection_tarball, os.path.join(work_dir, "collections", TARBALL_NAME))
    completed = subprocess.run(
        [tools_program("ansible-builder"), "create", "--file", "execution-environment.yml", "--context", "context",
         "--output-filename", "Containerfile"],
        cwd=work_dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    assert completed.returncode == 0, completed.stdout
    return os.path.join(work_dir, "context")


@pytest.fixture(scope="module")
def image_collections(tmp_path_factory, build_context):
    """The image's /usr/share/ansible/collections after the Containerfile's galaxy stage, run on the context."""
    collections_dir = str(tmp_path_factory.mktemp("image-collections"))
    # The galaxy stage copies _build to /build and installs from there: relative paths resolve against it.
    completed = subprocess.run(
        [tools_program("ansible-galaxy"), "collection", "install", "--offline", "-r", "requirements.yml",
         "--collections-path", collections_dir],
        cwd=os.path.join(build_context, "_build"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        check=False, env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_dir))
    assert completed.returncode == 0, completed.stdout
    return collections_dir


def test_documented_definition_is_a_valid_version_3_definition():
    definition = yaml.safe_load(documented_definition())

    assert definition["version"] == 3
    assert definition["dependencies"]["galaxy"]["collections"] == [
        {"name": "collections/" + TARBALL_NAME, "type": "file"}]


def test_build_context_has_a_containerfile_that_installs_the_collection_and_its_dependencies(build_context):
    with open(os.path.join(build_context, "Containerfile")) as containerfile:
        containerfile_text = containerfile.read()

    assert "ansible-galaxy collection install" in containerfile_text
    assert "-r requirements.yml" in containerfile_text
    # The builder stage reads every installed collection's meta/execution-environment.yml ...
    assert "introspect.py introspect" in containerfile_text
    # ... and the final stage installs what it found.
    assert "/output/scripts/install-from-bindep" in containerfile_text
    assert re.search(r'ANSIBLE_INSTALL_REFS=".*ansible-core>=2\.19.*ansible-runner', containerfile_text)


def test_build_context_carries_the_built_collection(build_context, collection_tarball):
    with open(os.path.join(build_context, "_build", "requirements.yml")) as requirements_file:
        requirements = yaml.safe_load(requirements_file)
    (collection,) = requirements["collections"]
    context_tarball = os.path.join(build_context, "_build", collection["name"])

    assert collection["type"] == "file"
    assert sha256_of(context_tarball) == sha256_of(collection_tarball)


def test_image_gets_the_collections_python_and_system_requirements(build_context, image_collections, tmp_path):
    pip_file, bindep_file = str(tmp_path / "requirements.txt"), str(tmp_path / "bindep.txt")
    completed = subprocess.run(
        [tools_program("python"), os.path.join(build_context, "_build", "scripts", "introspect.py"), "introspect",
         image_collections, "--sanitize", "--write-pip", pip_file, "--write-bindep", bindep_file],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    assert completed.returncode == 0, completed.stdout

    with open(pip_file) as requirements:
        python_lines = [line.strip() for line in requirements if line.strip()]
    assert python_lines == ["msal>=1.35.0  # from collection entra.provisioning",
                            "requests>=2.32.2  # from collection entra.provisioning"]
    with open(bindep_file) as system_requirements:
        system_text = system_requirements.read()
    assert system_text.strip() == "ca-certificates  # from collection entra.provisioning"
    assert [rule[0] for rule in Depends(system_text).active_rules(["platform:rpm"])] == ["ca-certificates"]


def test_collection_python_requirements_have_lower_bounds_only():
    with open(os.path.join(COLLECTION_ROOT, "meta", "execution-environment.yml")) as definition_file:
        definition = yaml.safe_load(definition_file)
    with open(os.path.join(COLLECTION_ROOT, definition["dependencies"]["python"])) as requirements:
        requirement_lines = [line.split("#")[0].strip() for line in requirements]
    requirement_lines = [line for line in requirement_lines if line]

    assert sorted(re.split(r"[<>=!~ ]", line)[0] for line in requirement_lines) == ["msal", "requests"]
    assert all(re.fullmatch(r"[a-z0-9-]+>=[0-9.]+", line) for line in requirement_lines), requirement_lines
