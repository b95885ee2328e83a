"""Run playbooks the way AWX runs a job, without an AWX server, through the runner AWX uses.

Each piece follows the AWX code that does the same job (AWX 24, awx-plugins 0.1):

* ``validate_credential_type`` / ``credential_problems``: the JSON schemas and extra checks of
  ``awx/main/fields.py`` (CredentialTypeInputField, CredentialTypeInjectorField, CredentialInputField),
  including the rendering of every injector template with ``StrictUndefined``.
* ``inject_custom_credential``: ``CredentialType.inject_credential`` (``awx/main/models/credential.py``): a
  sandboxed Jinja environment, empty inputs left out of the namespace (so they render as empty strings), one
  0600 file per file template under ``env/`` named by ``tempfile.mkstemp``, ``tower.filename`` (one file) or
  ``tower.filename.<name>`` (several), env injectors (refusing ``ANSIBLE_*`` and AWX's block list), and the
  extra_vars injector written to a file under ``env/`` passed as ``-e @file``.
* ``inject_azure_rm``: the built-in Microsoft Azure Resource Manager injector (``awx_plugins.credentials``).
* ``Inventory``: an inventory as AWX stores it after an inventory update (``dict_to_mem_data`` on the output of
  ``ansible-inventory --list --export``, sources merged in order), and ``script_data``:
  ``Inventory.get_script_data`` with hosts ordered by name and sliced ``[slice_number - 1::slice_count]``.
* ``run_job`` / ``run_inventory_update``: ``BaseTask.run`` with ``RunJob`` / ``RunInventoryUpdate``: the private
  data directory (project/, inventory/hosts script, env/extravars with AWX's ``!unsafe`` marking, env/cmdline,
  env/settings, the ``args`` file of an inventory update), the job environment (AWX's ANSIBLE_* settings,
  AWX_TASK_ENV, JOB_ID, collection paths, ...), ``build_safe_env``, and ansible-runner's streaming as AWX drives
  it through receptor: ``transmit`` of the kwargs, ``ansible-runner worker`` in a separate process whose
  environment holds only what an execution environment image would, and ``process`` on the controller side,
  which writes the job events and artifacts AWX reads.

The one deviation: there is no container. AWX shows a job its private data directory as ``/runner`` inside the
execution environment; here the worker runs in the private data directory itself, as on an AWX node without a
container runtime, so every path AWX would render below ``/runner`` is rendered below the private data
directory, and the image's ``/usr/share/ansible/collections`` is a directory where the built collection was
installed with ansible-galaxy, as ansible-builder installs it into an image.
"""

import glob
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlparse

import ansible_runner
import jsonschema
import yaml
from ansible_runner.utils import args2cmdline
from entra_test_helpers import secret_scan
from jinja2 import StrictUndefined, sandbox
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError

HIDDEN_PASSWORD = "**********"
# awx/main/constants.py ENV_BLOCKLIST: variables a credential may never set.
ENV_BLOCKLIST = frozenset((
    "VIRTUAL_ENV", "PATH", "PYTHONPATH", "JOB_ID", "INVENTORY_ID", "INVENTORY_SOURCE_ID", "INVENTORY_UPDATE_ID",
    "AD_HOC_COMMAND_ID", "REST_API_URL", "REST_API_TOKEN", "MAX_EVENT_RES", "CALLBACK_QUEUE", "CALLBACK_CONNECTION",
    "CACHE", "JOB_CALLBACK_DEBUG", "INVENTORY_HOSTVARS", "AWX_HOST", "PROJECT_REVISION", "SUPERVISOR_CONFIG_PATH",
))
# The ANSIBLE_* settings of awx/settings/defaults.py that every job's environment starts with.
AWX_ANSIBLE_SETTINGS = {
    "ANSIBLE_HOST_KEY_CHECKING": "False",
    "ANSIBLE_PARAMIKO_RECORD_HOST_KEYS": "False",
    "ANSIBLE_FORCE_COLOR": "True",
    "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
}
MAX_EVENT_RES_DATA = 700000
JOB_VARIABLE_PREFIXES = ("awx", "tower")

CREDENTIAL_TYPE_INPUTS_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "required": {"type": "array", "items": {"type": "string"}},
        "fields": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "type": {"enum": ["string", "boolean"]},
                    "format": {"enum": ["ssh_private_key", "url"]},
                    "choices": {"type": "array", "minItems": 1, "items": {"type": "string"}, "uniqueItems": True},
                    "id": {"type": "string", "pattern": "^[a-zA-Z_]+[a-zA-Z0-9_]*$"},
                    "label": {"type": "string"},
                    "help_text": {"type": "string"},
                    "multiline": {"type": "boolean"},
                    "secret": {"type": "boolean"},
                    "ask_at_runtime": {"type": "boolean"},
                    "default": {},
                },
                "additionalProperties": False,
                "required": ["id", "label"],
            },
        },
    },
}
CREDENTIAL_TYPE_INJECTORS_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "file": {
            "type": "object",
            "patternProperties": {r"^template(\.[a-zA-Z_]+[a-zA-Z0-9_]*)?$": {"type": "string"}},
            "additionalProperties": False,
        },
        "env": {
            "type": "object",
            "patternProperties": {"^[a-zA-Z_]+[a-zA-Z0-9_]*$": {"type": "string", "pattern": "^[\x00-\x7F]*$"}},
            "additionalProperties": False,
        },
        "extra_vars": {
            "type": "object",
            "patternProperties": {
                r"^[a-zA-Z_\{\}]+[a-zA-Z0-9_\{\}]*$": {
                    "anyOf": [{"type": "string"}, {"type": "array"}, {"$ref": "#/properties/extra_vars"}]},
            },
            "additionalProperties": False,
        },
    },
}
# Custom credential types may only be of these kinds (awx.awx.credential_type says so too).
CUSTOM_CREDENTIAL_KINDS = ("cloud", "net")

_FORMAT_CHECKER = jsonschema.FormatChecker(formats=())


@_FORMAT_CHECKER.checks("url", raises=ValueError)
def _url_format(value):
    """AWX's ``url`` format: a scheme and a network location."""
    parsed = urlparse(value)
    if not parsed.scheme or not parsed.netloc:
        raise ValueError("Invalid URL: %s" % value)
    return True


class AwxValidationError(Exception):
    """AWX would refuse this credential type, credential or environment variable."""


def validate_env_var_allowed(name):
    """Raise AwxValidationError for a variable AWX does not let a credential set."""
    if name.startswith("ANSIBLE_"):
        raise AwxValidationError("Environment variable %s may affect Ansible configuration" % name)
    if name in ENV_BLOCKLIST:
        raise AwxValidationError("Environment variable %s is not allowed to be used in credentials" % name)


def validate_credential_type(definition):
    """Return the list of reasons AWX would refuse this custom credential type (empty when it accepts it)."""
    problems = []
    inputs, injectors = definition.get("inputs", {}), definition.get("injectors", {})
    if definition.get("kind") not in CUSTOM_CREDENTIAL_KINDS:
        problems.append("kind must be one of %s for a custom credential type" % (CUSTOM_CREDENTIAL_KINDS,))
    for schema, value, label in ((CREDENTIAL_TYPE_INPUTS_SCHEMA, inputs, "inputs"),
                                 (CREDENTIAL_TYPE_INJECTORS_SCHEMA, injectors, "injectors")):
        for error in jsonschema.Draft4Validator(schema).iter_errors(value):
            problems.append("%s: %s" % (label, error.message))
    if problems:
        return problems
    seen_ids = set()
    for field in inputs.get("fields", []):
        field_id, field_type = field["id"], field.get("type", "string")
        if field_id == "tower":
            problems.append('"tower" is a reserved field name')
        if field_id in seen_ids:
            problems.append("field IDs must be unique (%s)" % field_id)
        seen_ids.add(field_id)
        if "default" in field and not isinstance(field["default"], {"string": str, "boolean": bool}[field_type]):
            problems.append("%s: default %r is not a %s" % (field_id, field["default"], field_type))
        for key in ("choices", "multiline", "format", "secret"):
            if key in field and field_type != "string":
                problems.append("%s not allowed for %s type (%s)" % (key, field_type, field_id))
    for name in injectors.get("env", {}):
        try:
            validate_env_var_allowed(name)
        except AwxValidationError as error:
            problems.append(str(error))
    problems.extend(_template_problems(seen_ids, injectors))
    return problems


def _template_problems(field_ids, injectors):
    """Render every injector template the way AWX validates them: each field 'EXAMPLE', undefined names fatal."""
    namespace = dict((field_id, "EXAMPLE") for field_id in field_ids)

    class ExplodingNamespace:
        """``tower.filename`` without an unnamed file template."""

        def __str__(self):
            raise UndefinedError("Must define unnamed file injector in order to reference `tower.filename`.")

    class TowerNamespace:
        """AWX's reserved ``tower`` namespace."""

        def __init__(self):
            self.filename = ExplodingNamespace()

        def __str__(self):
            raise UndefinedError("Cannot directly reference reserved `tower` namespace container.")

    namespace["tower"] = TowerNamespace()
    template_names = [name for name in injectors.get("file", {}) if name.startswith("template")]
    problems = []
    if "template" in template_names:
        namespace["tower"].filename = "EXAMPLE_FILENAME"
        if len(template_names) > 1:
            problems.append("Must use multi-file syntax when injecting multiple files")
    else:
        for name in template_names:
            setattr(namespace["tower"].filename, name.split(".")[1], "EXAMPLE_FILENAME")
    environment = sandbox.ImmutableSandboxedEnvironment(undefined=StrictUndefined)

    def check(kind, key, template):
        try:
            environment.from_string(template).render(namespace)
        except (UndefinedError, SecurityError, TemplateSyntaxError) as error:
            problems.append("%s %s: %s" % (kind, key, error))

    def check_extra_vars(key, node):
        if isinstance(node, dict):
            for child_key, child in node.items():
                check("extra_vars", "a key" if key is None else key, child_key)
                check_extra_vars(child_key if key is None else "%s.%s" % (key, child_key), child)
        elif isinstance(node, list):
            for index, item in enumerate(node):
                check_extra_vars("%s[%d]" % (key, index), item)
        else:
            check("extra_vars", key, node)

    for kind, injector in injectors.items():
        if kind == "extra_vars":
            check_extra_vars(None, injector)
        else:
            for key, template in injector.items():
                check(kind, key, template)
    return problems


def credential_problems(definition, credential_inputs):
    """Return the reasons AWX would refuse a credential with these inputs for this credential type."""
    fields = definition["inputs"].get("fields", [])
    properties = {}
    for field in fields:
        schema = dict(field)
        if field.get("choices"):
            schema["enum"] = list(field["choices"])
        properties[field["id"]] = schema
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    validator = jsonschema.Draft4Validator(schema, format_checker=_FORMAT_CHECKER)
    problems = [error.message for error in validator.iter_errors(credential_inputs)]
    problems += ["%s: required" % name for name in definition["inputs"].get("required", [])
                 if not credential_inputs.get(name)]
    return problems


def secret_field_ids(definition):
    """The ids of the fields AWX encrypts and hides."""
    return [field["id"] for field in definition["inputs"].get("fields", []) if field.get("secret")]


def build_safe_env(env):
    """AWX's ``build_safe_env``: the job environment as AWX stores it, with likely secrets hidden."""
    hidden_name = re.compile(r"API|TOKEN|KEY|SECRET|PASS", re.I)
    password_in_url = re.compile(r"^.*?://[^:]+:(.*?)@.*?$")
    safe_env = dict(env)
    for name, value in safe_env.items():
        if name == "AWS_ACCESS_KEY_ID":
            continue
        if name.startswith("ANSIBLE_") and not name.startswith(("ANSIBLE_NET", "ANSIBLE_GALAXY_SERVER")):
            continue
        if hidden_name.search(name):
            safe_env[name] = HIDDEN_PASSWORD
        elif isinstance(value, str) and password_in_url.match(value):
            safe_env[name] = password_in_url.sub(HIDDEN_PASSWORD, value)
    return safe_env


class _SafeStringDumper(yaml.SafeDumper):
    """awx/main/utils/safe_yaml.py: every string is written as ``!unsafe`` so Ansible never templates it."""

    def represent_data(self, data):
        if isinstance(data, str):
            return self.represent_scalar("!unsafe", data)
        return super().represent_data(data)


def awx_safe_dump(variables, safe_dict=None):
    """AWX's ``safe_dump``: top-level keys whose value equals the trusted ``safe_dict`` stay templatable."""
    safe_dict = safe_dict or {}
    documents = []
    for key, value in variables.items():
        dumper = yaml.SafeDumper if key in safe_dict and safe_dict[key] == value else _SafeStringDumper
        documents.append(yaml.dump_all([{key: value}], None, Dumper=dumper, default_flow_style=False))
    return "".join(documents)


def _write_private_file(directory, name, data, mode=0o600):
    """AWX's ``write_private_data_file``: a named file, or a ``mkstemp`` one when ``name`` is None."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    if name:
        path = os.path.join(directory, name)
    else:
        handle, path = tempfile.mkstemp(dir=directory)
        os.close(handle)
    with open(path, "w") as private_file:
        private_file.write(data)
    os.chmod(path, mode)
    return path


def inject_custom_credential(definition, credential_inputs, env, safe_env, args, private_data_dir):
    """Apply a custom credential type's injectors as AWX does; returns the files it wrote by template label."""

    class TowerNamespace:
        """What AWX puts under ``tower`` for the templates."""

    tower = TowerNamespace()
    namespace, safe_namespace = {"tower": tower}, {"tower": tower}
    secret_ids = set(secret_field_ids(definition))
    for field_id, value in credential_inputs.items():
        if isinstance(value, bool):
            namespace[field_id] = safe_namespace[field_id] = value
            continue
        if field_id in secret_ids:
            safe_namespace[field_id] = HIDDEN_PASSWORD
        elif len(value):
            safe_namespace[field_id] = value
        if len(value):
            namespace[field_id] = value
    for field in definition["inputs"].get("fields", []):
        if field.get("type") == "boolean" and field["id"] not in credential_inputs:
            namespace[field["id"]] = safe_namespace[field["id"]] = False

    injectors = definition["injectors"]
    environment = sandbox.ImmutableSandboxedEnvironment()
    written_files = {}
    for label, template in injectors.get("file", {}).items():
        data = environment.from_string(template).render(**namespace)
        path = _write_private_file(os.path.join(private_data_dir, "env"), None, data, mode=stat.S_IRUSR | stat.S_IWUSR)
        written_files[label] = path
        if "." not in label:
            tower.filename = path
        else:
            if not hasattr(tower, "filename"):
                tower.filename = TowerNamespace()
            setattr(tower.filename, label.split(".")[1], path)
    for name, template in injectors.get("env", {}).items():
        validate_env_var_allowed(name)
        env[name] = environment.from_string(template).render(**namespace)
        safe_env[name] = environment.from_string(template).render(**safe_namespace)

    def render_extra_vars(node):
        if isinstance(node, dict):
            return {render_extra_vars(key): render_extra_vars(value) for key, value in node.items()}
        if isinstance(node, list):
            return [render_extra_vars(item) for item in node]
        return environment.from_string(node).render(**namespace)

    extra_vars = render_extra_vars(injectors.get("extra_vars", {}))
    if extra_vars:
        path = _write_private_file(os.path.join(private_data_dir, "env"), None, awx_safe_dump(extra_vars),
                                   mode=stat.S_IRUSR)
        written_files["extra_vars"] = path
        args.extend(["-e", "@%s" % path])
    return written_files


def inject_azure_rm(credential_inputs, env, safe_env):
    """AWX's built-in Microsoft Azure Resource Manager injector, then ``build_safe_env`` for what AWX stores."""
    injected = {"AZURE_SUBSCRIPTION_ID": credential_inputs.get("subscription", "")}
    client, tenant = credential_inputs.get("client", ""), credential_inputs.get("tenant", "")
    if client and tenant:
        injected.update(AZURE_CLIENT_ID=client, AZURE_TENANT=tenant, AZURE_SECRET=credential_inputs.get("secret", ""))
    else:
        injected.update(AZURE_AD_USER=credential_inputs.get("username", ""),
                        AZURE_PASSWORD=credential_inputs.get("password", ""))
    if "cloud_environment" in credential_inputs:
        injected["AZURE_CLOUD_ENVIRONMENT"] = credential_inputs["cloud_environment"]
    env.update(injected)
    safe_env.update(build_safe_env(injected))


class Inventory:
    """An AWX inventory: hosts with variables, groups with variables, hosts and child groups."""

    def __init__(self, name="Entra applications"):
        self.name = name
        self.variables = {}
        self.hosts = {}
        self.groups = {}

    def import_source(self, exported):
        """Merge the output of ``ansible-inventory --list --export`` into the inventory, as an update does."""
        exported = json.loads(json.dumps(exported))
        hostvars = exported.pop("_meta", {}).get("hostvars", {})
        for group_name, group_data in exported.items():
            if group_name == "all":
                self.variables.update(group_data.get("vars", {}))
                continue
            if group_name == "ungrouped":
                for host_name in group_data.get("hosts", []):
                    self.hosts.setdefault(host_name, {})
                continue
            group = self.groups.setdefault(group_name, {"vars": {}, "hosts": [], "children": []})
            group["vars"].update(group_data.get("vars", {}))
            for host_name in group_data.get("hosts", []):
                self.hosts.setdefault(host_name, {})
                if host_name not in group["hosts"]:
                    group["hosts"].append(host_name)
            for child in group_data.get("children", []):
                if child != "ungrouped" and child not in group["children"]:
                    group["children"].append(child)
        for host_name, variables in hostvars.items():
            self.hosts.setdefault(host_name, {}).update(variables)

    def host_names(self):
        """Every host, in the order AWX slices them (by name)."""
        return sorted(self.hosts)

    def sliced_host_names(self, slice_number=1, slice_count=1):
        """``Inventory.get_sliced_hosts``: every slice_count-th host by name, starting at slice_number."""
        names = self.host_names()
        if slice_count > 1 and slice_number > 0:
            names = names[slice_number - 1::slice_count]
        return names

    def script_data(self, slice_number=1, slice_count=1, inventory_id=1):
        """``Inventory.get_script_data(hostvars=True, towervars=True, ...)``: what the job's inventory script prints."""
        host_names = self.sliced_host_names(slice_number, slice_count)
        in_slice = set(host_names)
        data = {"all": {}}
        if self.variables:
            data["all"]["vars"] = self.variables
        grouped = set()
        for group_name, group in self.groups.items():
            group_info = {}
            members = [name for name in group["hosts"] if name in in_slice]
            grouped.update(members)
            if members:
                group_info["hosts"] = members
            if group["children"]:
                group_info["children"] = list(group["children"])
            if group["vars"]:
                group_info["vars"] = group["vars"]
            if group_info:
                data[group_name] = group_info
        data["all"]["hosts"] = [name for name in host_names if name not in grouped]
        if self.groups:
            data["all"]["children"] = list(self.groups)
        hostvars = {}
        for host_id, name in enumerate(self.host_names(), start=1):
            if name in in_slice:
                hostvars[name] = dict(self.hosts[name], remote_host_enabled="true", remote_host_id=host_id,
                                      remote_tower_enabled="true", remote_tower_id=host_id)
        data["_meta"] = {"hostvars": hostvars}
        return data


class ExecutionEnvironment:
    """Where the worker runs: the programs and collections an execution environment image would hold.

    ``bin_dir`` holds ansible-playbook, ansible-runner and a Python with the collection's requirements (the
    tools venv); ``collections_dir`` stands for the image's /usr/share/ansible/collections; ``home`` for the
    image user's home. ``base_env`` is the image's environment, nothing more: nothing of the test process leaks.
    """

    def __init__(self, bin_dir, collections_dir, home):
        self.bin_dir = bin_dir
        self.collections_dir = collections_dir
        self.home = home
        os.makedirs(home, exist_ok=True)

    @property
    def base_env(self):
        """The environment of a process started in the image."""
        return {"PATH": os.pathsep.join([self.bin_dir, "/usr/local/bin", "/usr/bin", "/bin"]), "HOME": self.home,
                "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}

    def runner_executable(self):
        """The ansible-runner of the image."""
        return os.path.join(self.bin_dir, "ansible-runner")


class JobResult:
    """What AWX knows about a finished job: status, rc, events, artifacts, and the environment it stored."""

    def __init__(self, job_id, status, rc, private_data_dir, env, safe_env, written_files, wall_seconds):
        self.job_id = job_id
        self.status = status
        self.rc = rc
        self.private_data_dir = private_data_dir
        self.env = env
        self.safe_env = safe_env
        self.written_files = written_files
        self.wall_seconds = wall_seconds

    @property
    def artifacts_dir(self):
        """The artifacts of this job (``private_data_dir/artifacts/<job id>``)."""
        return os.path.join(self.private_data_dir, "artifacts", str(self.job_id))

    def events(self):
        """The job events in order, as the processor wrote them."""
        paths = glob.glob(os.path.join(self.artifacts_dir, "job_events", "*.json"))
        events = []
        for path in paths:
            with open(path) as event_file:
                events.append(json.load(event_file))
        return sorted(events, key=lambda event: event["counter"])

    def stdout(self):
        """The job's output as AWX shows it: the stdout of every event, in order."""
        return "\n".join(event.get("stdout", "") for event in self.events() if event.get("stdout"))

    def stats(self):
        """The ``playbook_on_stats`` event data (AWX's host summaries), or None when the play did not finish."""
        for event in self.events():
            if event.get("event") == "playbook_on_stats":
                return event["event_data"]
        return None

    def host_results(self, task_name, role=None):
        """{host: ("ok"|"changed"|"failed", event_data)} from runner_on_ok/runner_on_failed events of one task."""
        results = {}
        for event in self.events():
            kind = event.get("event")
            data = event.get("event_data", {})
            if kind not in ("runner_on_ok", "runner_on_failed") or data.get("task") != task_name:
                continue
            if role is not None and data.get("role") != role:
                continue
            if kind == "runner_on_failed":
                outcome = "failed"
            else:
                outcome = "changed" if data.get("res", {}).get("changed") else "ok"
            results[data["host"]] = (outcome, data)
        return results

    def stored_command(self):
        """The record ansible-runner keeps of what it ran (``artifacts/<id>/command``): command, cwd, env."""
        with open(os.path.join(self.artifacts_dir, "command")) as command_file:
            return json.load(command_file)


def _job_env(job_id, inventory_id, private_data_dir, ee, task_env):
    """``BaseTask.build_env`` + ``RunJob.build_env`` for a job (paths below /runner rendered below the directory)."""
    env = dict(AWX_ANSIBLE_SETTINGS)
    env.update({key: str(value) for key, value in (task_env or {}).items()})
    env["AWX_PRIVATE_DATA_DIR"] = private_data_dir
    env.update(JOB_ID=str(job_id), INVENTORY_ID=str(inventory_id), PROJECT_REVISION="0" * 40,
               ANSIBLE_RETRY_FILES_ENABLED="False", MAX_EVENT_RES=str(MAX_EVENT_RES_DATA),
               AWX_HOST="https://awx.example.invalid")
    os.makedirs(os.path.join(private_data_dir, "cp"), mode=0o700, exist_ok=True)
    env["ANSIBLE_SSH_CONTROL_PATH_DIR"] = os.path.join(private_data_dir, "cp")
    collection_paths = os.pathsep.join([os.path.join(private_data_dir, "requirements_collections"),
                                        "~/.ansible/collections", ee.collections_dir])
    role_paths = os.pathsep.join([os.path.join(private_data_dir, "requirements_roles"), "~/.ansible/roles"])
    env.update(ANSIBLE_COLLECTIONS_PATHS=collection_paths, ANSIBLE_COLLECTIONS_PATH=collection_paths,
               ANSIBLE_ROLES_PATH=role_paths)
    return env


def _private_data_dir(base_dir, job_id):
    """``build_private_data_dir``: a fresh 0700 directory with inventory/ and env/."""
    path = tempfile.mkdtemp(prefix="awx_%s_" % job_id, dir=base_dir)
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR | stat.S_IXUSR)
    for subdirectory in ("inventory", "env"):
        os.mkdir(os.path.join(path, subdirectory))
    return path


def _copy_project(project_dir, private_data_dir):
    """What the project sync leaves in the job's directory: a copy of the project checkout."""
    shutil.copytree(project_dir, os.path.join(private_data_dir, "project"))


def _stream_through_worker(params, ee):
    """transmit -> ``ansible-runner worker`` in the image's environment -> process, as AWX does via receptor."""
    transmitted = io.BytesIO()
    transmit_params = dict(params, only_transmit_kwargs=True)
    ansible_runner.interface.run(streamer="transmit", _output=transmitted, **transmit_params)
    worker = subprocess.run(
        [ee.runner_executable(), "worker", "--private-data-dir", params["private_data_dir"]],
        input=transmitted.getvalue(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ee.base_env,
        cwd=params["private_data_dir"], check=False)
    # The worker exits with the playbook's exit code; only a worker that streamed nothing back is broken.
    if not worker.stdout:
        raise RuntimeError("ansible-runner worker exited %d without output: %s"
                           % (worker.returncode, worker.stderr.decode()[-2000:]))
    processed = ansible_runner.interface.run(streamer="process", quiet=True, _input=io.BytesIO(worker.stdout),
                                             **params)
    # The status comes with the events; the exit code only in the artifacts the worker streams back.
    rc_path = os.path.join(params["private_data_dir"], "artifacts", str(params["ident"]), "rc")
    rc = None
    if os.path.exists(rc_path):
        with open(rc_path) as rc_file:
            rc = int(rc_file.read().strip())
    return processed.status, rc


def run_inventory_update(project_dir, source_path, base_dir, ee, update_id, credentials=()):
    """An inventory source "Sourced from a Project": ansible-inventory --list --export in the worker.

    ``credentials`` (as for JobTemplate) are the source's credential: its env and file injectors apply as in a job;
    an update runs no playbook, so extra_vars injectors reach nothing. Returns the exported inventory (what AWX
    imports) and the update's private data directory.
    """
    private_data_dir = _private_data_dir(base_dir, update_id)
    _copy_project(project_dir, private_data_dir)
    source_location = os.path.join(private_data_dir, "project", source_path)
    output_path = os.path.join(private_data_dir, "artifacts", str(update_id), "output.json")
    playbook_dir = source_location if os.path.isdir(source_location) else os.path.dirname(source_location)
    args = ["ansible-inventory", "--list", "--export", "-i", source_location, "--output", output_path,
            "--playbook-dir", playbook_dir]
    _write_private_file(private_data_dir, "args", " ".join(args))
    env = dict(AWX_ANSIBLE_SETTINGS, AWX_PRIVATE_DATA_DIR=private_data_dir, INVENTORY_SOURCE_ID="1",
               INVENTORY_UPDATE_ID=str(update_id),
               # The image's /usr/share/ansible/collections, which is on Ansible's default path in a real image,
               # so an inventory plugin of the collection loads as it does there.
               ANSIBLE_COLLECTIONS_PATH=ee.collections_dir)
    for kind, definition, credential_inputs in credentials:
        if kind == "azure_rm":
            inject_azure_rm(credential_inputs, env, {})
        else:
            inject_custom_credential(definition, credential_inputs, env, {}, [], private_data_dir)
    _write_private_file(os.path.join(private_data_dir, "env"), "settings",
                        json.dumps({"job_timeout": 0, "suppress_ansible_output": True, "suppress_output_file": True}))
    params = {"ident": update_id, "private_data_dir": private_data_dir, "suppress_env_files": True, "envvars": env}
    status, rc = _stream_through_worker(params, ee)
    if status != "successful":
        raise RuntimeError("inventory update %s ended %s (rc %s)" % (update_id, status, rc))
    with open(output_path) as output_file:
        return json.load(output_file), private_data_dir


class JobTemplate:
    """The parts of an AWX job template (and its launch) that decide what a job runs."""

    def __init__(self, name, playbook, inventory, project_dir, credentials=(), extra_vars=None, job_type="run",
                 limit="", verbosity=0, forks=0, job_slice_count=1, task_env=None, omit_env_files=True,
                 vault_password=None):
        self.name = name
        self.playbook = playbook
        self.inventory = inventory
        self.project_dir = project_dir
        # Each credential: ("custom", definition, inputs) or ("azure_rm", None, inputs).
        self.credentials = list(credentials)
        self.extra_vars = dict(extra_vars or {})
        self.job_type = job_type
        self.limit = limit
        self.verbosity = verbosity
        self.forks = forks
        self.job_slice_count = job_slice_count
        # AWX's "Extra Environment Variables" setting (AWX_TASK_ENV), e.g. a CA bundle for a TLS-inspecting proxy.
        self.task_env = dict(task_env or {})
        # AWX_RUNNER_OMIT_ENV_FILES (default True): the environment reaches runner as a parameter, not env/envvars.
        self.omit_env_files = omit_env_files
        # The password of an AWX Vault credential on the template (AWX answers ansible's prompt for it).
        self.vault_password = vault_password

    def effective_slice_count(self):
        """``get_effective_slice_ct``: never more slices than hosts."""
        return min(self.job_slice_count, len(self.inventory.hosts)) if self.job_slice_count > 1 else 1


def run_job(template, base_dir, ee, job_id, survey_answers=None, slice_number=1, slice_count=1):
    """Run one job (or one slice of a sliced job) of ``template`` the way AWX does; returns a JobResult."""
    started = time.monotonic()
    private_data_dir = _private_data_dir(base_dir, job_id)
    _copy_project(template.project_dir, private_data_dir)

    # RunJob.build_extra_vars_file: job template extra vars, launch answers, then AWX's meta variables.
    extra_vars = dict(template.extra_vars)
    extra_vars.update(survey_answers or {})
    for prefix in JOB_VARIABLE_PREFIXES:
        extra_vars.update({
            "%s_job_id" % prefix: job_id, "%s_job_launch_type" % prefix: "manual",
            "%s_job_template_id" % prefix: 1, "%s_job_template_name" % prefix: template.name,
            "%s_inventory_id" % prefix: 1, "%s_inventory_name" % prefix: template.inventory.name,
            "%s_project_revision" % prefix: "0" * 40, "%s_user_name" % prefix: "admin",
        })
    _write_private_file(os.path.join(private_data_dir, "env"), "extravars",
                        awx_safe_dump(extra_vars, safe_dict=template.extra_vars))

    # RunJob.build_args
    args = []
    if template.job_type == "check":
        args.append("--check")
    args.extend(["-u", "root"])
    if template.forks:
        args.append("--forks=%d" % template.forks)
    if template.limit:
        args.extend(["-l", template.limit])
    if template.verbosity:
        args.append("-%s" % ("v" * min(5, template.verbosity)))
    # get_password_prompts + create_expect_passwords_data_struct: runner answers the prompt through pexpect.
    expect_passwords = {}
    if template.vault_password is not None:
        args.append("--ask-vault-pass")
        expect_passwords[r"Vault password:\s*?$"] = template.vault_password

    env = _job_env(job_id, 1, private_data_dir, ee, template.task_env)
    safe_env = build_safe_env(env)
    safe_cred_env = {}
    written_files = {}
    for kind, definition, credential_inputs in template.credentials:
        if kind == "azure_rm":
            inject_azure_rm(credential_inputs, env, safe_cred_env)
        else:
            written_files.update(inject_custom_credential(definition, credential_inputs, env, safe_cred_env, args,
                                                          private_data_dir))
    safe_env.update(safe_cred_env)
    _write_private_file(os.path.join(private_data_dir, "env"), "cmdline", args2cmdline(*args))

    script = template.inventory.script_data(slice_number=slice_number, slice_count=slice_count)
    inventory_path = _write_private_file(
        os.path.join(private_data_dir, "inventory"), "hosts",
        "#! /usr/bin/env python3\n# -*- coding: utf-8 -*-\nprint(%r)\n" % json.dumps(script), mode=0o700)
    _write_private_file(os.path.join(private_data_dir, "env"), "settings",
                        json.dumps({"job_timeout": 0, "suppress_ansible_output": True, "suppress_output_file": True}))
    params = {
        "ident": job_id, "private_data_dir": private_data_dir, "playbook": template.playbook,
        "inventory": inventory_path, "suppress_env_files": template.omit_env_files, "envvars": env,
        "fact_cache_type": "",
    }
    if expect_passwords:
        params["passwords"] = expect_passwords
    status, rc = _stream_through_worker(params, ee)
    return JobResult(job_id, status, rc, private_data_dir, env, safe_env, written_files, time.monotonic() - started)


def secret_occurrences(directory, secrets):
    """Every (relative file, secret label) where a secret of ``secrets`` ({label: value}) appears in any file below
    ``directory``, raw or in any encoding a writer may give it (entra_test_helpers.secret_scan: JSON escapes and the
    rest). Multi-line secrets should be given line by line too (see ``secret_lines``)."""
    short = secret_scan.too_short(secrets.items())
    if short:
        raise ValueError("secrets too short to search for: %s" % ", ".join(short))
    needles = secret_scan.build_needles(sorted(secrets.items()))
    return sorted({(path, label) for path, _line, label, _encoding in secret_scan.scan_tree(directory, needles)
                   if label in secrets})


def secret_lines(label, multi_line_secret, minimum_length=16):
    """Split a multi-line secret (a PEM private key) into its lines as separate secrets: any one leaked is a leak."""
    lines = [line.strip() for line in multi_line_secret.splitlines()]
    return {"%s line %d" % (label, number): line for number, line in enumerate(lines, start=1)
            if len(line) >= minimum_length and not line.startswith("-----")}


def environment_secret_names(command_record, secrets):
    """The names of the variables in runner's environment record whose value holds one of the secrets."""
    return sorted(name for name, value in command_record.get("env", {}).items()
                  if any(secret and secret in value for secret in secrets.values()))


def python_executable_dir():
    """The bin directory of the Python running the tests (the tools venv)."""
    return os.path.dirname(sys.executable)
