# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the module and the role through every output channel and fail when a secret shows up in any of them.

Channels: -vvvv stdout with the JSON result format, the log file, the junit and tree callbacks, registered
results written by the playbook, whatever is left in the temp directories, a --check --diff run, and
ansible-runner's artifacts of a run at verbosity 0 (what AWX keeps as job events). Secrets: every credential
value, client secret and code of the fixtures, the canaries of canaries.yml (the shapes users get wrong), the
emulator's certificate passwords and managed identity header, and any JWT. Each is searched raw and in every
encoding a library or server may turn it into (percent, JSON, repr, XML, base64, hex, a long prefix). A leak is
reported by file, line, which secret and which encoding, never by printing the secret. A planted leak of each
encoding must be found first, so the scan cannot pass by being blind.

The listeners the playbooks point at are started here: a collector that redirects point to, a proxy, and a
plain-http Graph stand-in. The collector and the proxy must receive nothing.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml
from entra_test_helpers.secret_scan import build_needles, collect_secrets, emulator_secrets, masked, scan_tree, self_test

HERE = os.path.dirname(os.path.abspath(__file__))


# -- listeners that must (or must not) be reached --------------------------------------------------------------

class RecordingServer(object):
    """A plain-http server on 127.0.0.1 that records every request and answers 404 with a Graph error body."""

    def __init__(self):
        self.requests = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            """Record, then answer 404."""

            def _answer(self):
                length = int(self.headers.get('Content-Length') or 0)
                owner.requests.append((self.command, self.path, self.rfile.read(length) if length else b''))
                body = json.dumps({'error': {'code': 'Request_ResourceNotFound', 'message': 'plain listener'}})
                self.send_response(404)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

            def log_message(self, *args):
                """Quiet."""

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class CountingListener(object):
    """A TCP listener that counts connections and closes them (a proxy that must never be used)."""

    def __init__(self):
        self.connections = 0
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _address = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            connection.close()


# -- the runs ---------------------------------------------------------------------------------------------------

def channel_environment(run_dir):
    """Environment that turns on every file channel of ansible-playbook, all below ``run_dir``."""
    environment = dict(os.environ)
    environment.update({
        'ANSIBLE_LOG_PATH': os.path.join(run_dir, 'ansible.log'),
        'ANSIBLE_CALLBACKS_ENABLED': 'ansible.builtin.junit,ansible.builtin.tree',
        'JUNIT_OUTPUT_DIR': os.path.join(run_dir, 'junit'),
        'JUNIT_INCLUDE_SETUP_TASKS_IN_REPORT': 'true',
        'ANSIBLE_CALLBACK_TREE_DIR': os.path.join(run_dir, 'tree'),
        'ANSIBLE_CALLBACK_RESULT_FORMAT': 'json',
        'ANSIBLE_LOCAL_TEMP': os.path.join(run_dir, 'local_tmp'),
        'ANSIBLE_REMOTE_TEMP': os.path.join(run_dir, 'remote_tmp'),
        'ANSIBLE_KEEP_REMOTE_FILES': '0',
        'ANSIBLE_NOCOLOR': '1',
    })
    for name in ('IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'MSI_ENDPOINT', 'MSI_SECRET', 'AZURE_AUTHORITY_HOST'):
        environment.pop(name, None)
    return environment


def run_playbook(name, arguments, work_dir, extra_environment=None):
    """Run ansible-playbook -vvvv with every channel on; return (exit status, stdout text, run directory)."""
    run_dir = os.path.join(work_dir, 'runs', name)
    os.makedirs(run_dir, exist_ok=True)
    environment = channel_environment(run_dir)
    environment.update(extra_environment or {})
    completed = subprocess.run(['ansible-playbook', '-vvvv'] + arguments, cwd=HERE, env=environment,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    stdout = completed.stdout.decode('utf-8', 'replace')
    with open(os.path.join(run_dir, 'stdout.txt'), 'w') as output:
        output.write(stdout)
    return completed.returncode, stdout, run_dir


def run_with_ansible_runner(arguments, inventory, work_dir):
    """Run other_runs.yml through ansible-runner at verbosity 0, as AWX does; return its artifacts directory."""
    import ansible_runner  # pylint: disable=import-outside-toplevel

    private_data_dir = os.path.join(work_dir, 'runner')
    os.makedirs(private_data_dir, exist_ok=True)
    result = ansible_runner.interface.run(
        private_data_dir=private_data_dir, project_dir=HERE, playbook='other_runs.yml', inventory=inventory,
        cmdline=' '.join(arguments), quiet=True, ident='scan', envvars={'ANSIBLE_NOCOLOR': '1'})
    return result, os.path.join(private_data_dir, 'artifacts')


def role_inventory(fixtures, config, path):
    """Write an inventory of two applications for the role: one well-formed, one with one-key mappings."""
    clouds = config['emulator']['clouds']['global']
    inventory = {'all': {'children': {'applications': {
        'vars': {
            'ansible_connection': 'local',
            'ansible_python_interpreter': sys.executable,
            'authorize_tenant_id': fixtures['global_tenant_id'],
            'authorize_client_id': fixtures['global_client_id'],
            'authorize_client_secret': fixtures['global_client_secret'],
            'authorize_graph_endpoint': clouds['graph_endpoint'],
            'authorize_authority_host': clouds['authority_host'],
            'authorize_ca_path': config['emulator']['ca_path'],
            'authorize_force': True,
        },
        'hosts': {
            'token-app': {'authorize_service_principal_id': fixtures['token_app']['service_principal_id'],
                          'authorize_credentials': fixtures['token_app']['credentials']},
            'misshaped-app': {'authorize_service_principal_id': fixtures['two_jobs_app']['service_principal_id'],
                              'authorize_credentials': [{'SecretToken': fixtures['canary_role_mapping_value']}]},
        },
    }}}}
    with open(path, 'w') as inventory_file:
        yaml.safe_dump(inventory, inventory_file)


def main():
    """Run every channel, check the listeners, scan; exit non-zero with reasons when anything is wrong."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--emulator-config', required=True)
    parser.add_argument('--fixtures', action='append', required=True)
    parser.add_argument('--inventory', required=True)
    parser.add_argument('--work-dir', required=True)
    arguments = parser.parse_args()

    work_dir = os.path.abspath(arguments.work_dir)
    inputs_dir = os.path.join(work_dir, 'inputs')
    os.makedirs(inputs_dir, exist_ok=True)
    fixtures = {}
    secrets = []
    for path in arguments.fixtures:
        with open(path) as fixture_file:
            data = yaml.safe_load(fixture_file)
        fixtures.update(data)
        collect_secrets(data, '', secrets)
    with open(arguments.emulator_config) as config_file:
        config = json.load(config_file)
    secrets += emulator_secrets(config)
    needles = build_needles(secrets)

    problems = self_test(needles, 'canary_awkward_value', dict(secrets)['canary_awkward_value'])

    collector, plain, proxy = RecordingServer(), RecordingServer(), CountingListener()
    extra_vars = ['-e', '@' + os.path.abspath(arguments.emulator_config)]
    for path in arguments.fixtures:
        extra_vars += ['-e', '@' + os.path.abspath(path)]
    listener_vars = os.path.join(inputs_dir, 'listeners.json')
    with open(listener_vars, 'w') as listener_file:
        json.dump({'collector_port': collector.port, 'plain_port': plain.port, 'proxy_port': proxy.port,
                   'output_dir': os.path.join(work_dir, 'runs', 'module'),
                   'registered_path': os.path.join(work_dir, 'runs', 'module', 'registered.json')}, listener_file)
    extra_vars += ['-e', '@' + listener_vars]
    inventory = ['-i', arguments.inventory]
    managed_identity = config['emulator']['managed_identity']

    runs = [
        ('module', inventory + extra_vars + ['module_runs.yml'], None, 0),
        ('managed_identity', inventory + extra_vars + ['-e', 'with_managed_identity=true', 'other_runs.yml'],
         {'IDENTITY_ENDPOINT': managed_identity['endpoint'], 'IDENTITY_HEADER': managed_identity['header']}, 0),
        ('check_diff', inventory + extra_vars + ['--check', '--diff', 'other_runs.yml'], None, 0),
    ]
    role_inventory_path = os.path.join(inputs_dir, 'role_inventory.yml')
    role_inventory(fixtures, config, role_inventory_path)
    # The mis-shaped application fails on its own: ansible-playbook exits 2 (a host failed).
    runs.append(('role', ['-i', role_inventory_path] + extra_vars + ['role_runs.yml'], None, 2))

    outputs = {}
    for name, run_arguments, environment, wanted_status in runs:
        status, stdout, run_dir = run_playbook(name, run_arguments, work_dir, environment)
        outputs[name] = stdout
        if status != wanted_status:
            problems.append('the %s run exited %d, not %d; its last lines, secrets masked:\n%s'
                            % (name, status, wanted_status, masked('\n'.join(stdout.splitlines()[-80:]), needles)))
        # -vvvv really applied, the play ran to its end, and (but for the role, whose action runs on the
        # controller) a module really executed
        markers = ['Loading callback plugin default', 'PLAY RECAP']
        if name != 'role':
            markers.append('ESTABLISH LOCAL CONNECTION')
        for marker in markers:
            if marker not in stdout:
                problems.append('the %s run output lacks %r, so it proves nothing' % (name, marker))
        for channel in ('ansible.log', 'junit', 'tree'):
            if not os.path.exists(os.path.join(run_dir, channel)):
                problems.append('the %s run wrote no %s' % (name, channel))
    if not re.search(r'graph_endpoint https://127\.0\.0\.1:\d+ is not the Graph of the global cloud',
                     outputs.get('role', '')):
        problems.append('the role run did not warn about the emulator\'s Graph endpoint')
    if not re.search(r'misshaped-app\s*:.*failed=1', outputs.get('role', '')):
        problems.append('the role run did not fail the mis-shaped application alone')
    if not os.path.exists(os.path.join(work_dir, 'runs', 'module', 'registered.json')):
        problems.append('the module run did not write its registered results')

    runner, artifacts = run_with_ansible_runner(inventory + extra_vars, arguments.inventory, work_dir)
    if runner.rc != 0:
        problems.append('the ansible-runner run exited %s' % runner.rc)
    failed_events = [event for event in runner.events if event.get('event') == 'runner_on_failed'
                     and event.get('event_data', {}).get('task') == 'Credentials as one-key mappings']
    if not failed_events:
        problems.append('ansible-runner recorded no failed event for the mis-shaped credentials')

    if collector.requests:
        problems.append('the redirect target received %d requests: a redirect was followed' % len(collector.requests))
    if proxy.connections:
        problems.append('the proxy received %d connections: plain http to this machine went through it'
                        % proxy.connections)
    if not plain.requests:
        problems.append('the plain-http listener received nothing, so the proxy check proves nothing')

    leaks = scan_tree(os.path.join(work_dir, 'runs'), needles) + \
        [(os.path.join('runner-artifacts', path), line, label, encoding)
         for path, line, label, encoding in scan_tree(artifacts, needles)]
    problems += ['%s line %d holds %s (%s)' % leak for leak in leaks]
    scanned = sum(len(files) for _directory, _subdirectories, files in os.walk(os.path.join(work_dir, 'runs')))
    scanned += sum(len(files) for _directory, _subdirectories, files in os.walk(artifacts))
    print('scanned %d files of %d runs and ansible-runner for %d secrets in %d forms: %d leaks'
          % (scanned, len(runs), len(secrets), len(needles), len(leaks)))
    if problems:
        print('\n'.join(problems))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
