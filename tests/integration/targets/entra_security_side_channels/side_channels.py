# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 24 through ansible-playbook and ansible-inventory; exit non-zero with the reasons when anything is wrong.

- The system log: syslog_runs.yml runs with syslog, then journald, captured (capture/sitecustomize.py); every
  ``Invoked with`` line must hold no secret in any form and still name the applications.
- Managed identity behind HTTP_PROXY: the metadata address is served by a relay on 127.0.0.1 that gets a real token
  from the emulator; the proxy would forge one. The run must succeed and the proxy receive nothing.
- Echoes: an identity endpoint echoing its header, and a Graph stand-in echoing the client secret and a credential
  in other case, HTML entities, quote() with '/' kept and HTTP Basic base64; the output must show none of them.
- Paging: ansible-inventory against a Graph stand-in whose next link points back to itself must stop with a clear
  error after two requests.

A leak is reported by file, secret and form, never by printing the secret.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import argparse
import base64
import html
import json
import os
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlencode, urlsplit
from urllib.request import Request, urlopen

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SHORTEST_FORM = 8
# Longer than any run takes; a listing that loops without end (before issue 24's fix) is ended here and reported.
RUN_TIMEOUT_SECONDS = 300


# -- local servers ----------------------------------------------------------------------------------------------

class LocalServer(object):
    """A plain-http server on 127.0.0.1 whose ``answer(method, path, headers)`` gives (status, JSON body)."""

    def __init__(self, answer):
        self.requests = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            """Record, then answer."""

            def _answer(self):
                owner.requests.append((self.command, self.path))
                status, body = answer(self.command, self.path, self.headers)
                data = json.dumps(body).encode('utf-8')
                self.send_response(status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_CONNECT = _answer

            def log_message(self, *args):
                """Quiet."""

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


def forging_proxy():
    """A proxy that answers every request itself, with a token of its own making."""
    forged = 'eyJhbGciOiJub25lIn0.eyJ3aG8iOiJwcm94eSJ9.'
    return LocalServer(lambda method, path, headers: (200, {'access_token': forged, 'expires_in': '3599',
                                                            'resource': 'https://graph.microsoft.com',
                                                            'token_type': 'Bearer'}))


def metadata_relay(emulator):
    """The instance metadata service, played by asking the emulator's App Service style endpoint for the token."""
    managed_identity = emulator['managed_identity']
    context = ssl.create_default_context(cafile=emulator['ca_path'])

    def answer(method, path, headers):
        parts = urlsplit(path)
        query = dict((key, values[0]) for key, values in parse_qs(parts.query).items())
        if parts.path != '/metadata/identity/oauth2/token' or headers.get('Metadata') != 'true':
            return 400, {'error': 'invalid_request', 'error_description': 'not a metadata token request'}
        asked = dict(resource=query.get('resource', ''), **{'api-version': '2019-08-01'})
        request = Request('%s?%s' % (managed_identity['endpoint'], urlencode(asked)),
                          headers={'X-IDENTITY-HEADER': managed_identity['header']})
        with urlopen(request, context=context, timeout=30) as response:  # nosec - the local emulator
            token = json.loads(response.read().decode('utf-8'))
        return 200, {'access_token': token['access_token'], 'resource': token['resource'], 'token_type': 'Bearer',
                     'expires_in': str(int(token['expires_on']) - int(time.time()))}

    return LocalServer(answer)


def echoing_identity_endpoint():
    """An App Service style identity endpoint that refuses, echoing the header it was sent in several forms."""
    def answer(method, path, headers):
        header = headers.get('X-IDENTITY-HEADER') or ''
        return 400, {'statusCode': 400, 'correlationId': 'echo',
                     'message': 'Refused header %s' % ' '.join(sorted(server_echoes(header).values()))}
    return LocalServer(answer)


def echoing_graph(secrets, client_id):
    """A Graph stand-in that refuses everything, echoing ``secrets`` in every form of ``server_echoes``."""
    forms = []
    for value in secrets:
        forms += sorted(server_echoes(value, basic_user=client_id).values())
    message = 'Refused: %s' % ' | '.join(forms)
    return LocalServer(lambda method, path, headers: (400, {'error': {'code': 'BadRequest', 'message': message}}))


def looping_graph():
    """A Graph stand-in whose listing's next link points back to the same page."""
    holder = {}

    def answer(method, path, headers):
        link = 'http://127.0.0.1:%d/v1.0/servicePrincipals?$skiptoken=loop' % holder['port']
        return 200, {'value': [], '@odata.nextLink': link}

    server = LocalServer(answer)
    holder['port'] = server.port
    return server


# -- what to look for ---------------------------------------------------------------------------------------------

def server_echoes(value, basic_user=None):
    """The forms issue 24 names: other case, HTML entities, quote() with its default safe '/', base64 at an offset."""
    echoes = {
        'upper case': value.upper(),
        'lower case': value.lower(),
        'HTML entities': html.escape(value, quote=True),
        "quote() keeping '/'": quote(value),
    }
    if basic_user is not None:
        echoes['HTTP Basic'] = base64.b64encode(('%s:%s' % (basic_user, value)).encode('utf-8')).decode('ascii')
    return echoes


def needles_of(label, value, basic_user=None):
    """[(form, label, encoding)] for ``value``: raw, escaped as str() and JSON do, each line, and server echoes.

    For the Basic form only the characters that depend on the secret alone are searched.
    """
    forms = {'raw': value, 'repr': repr(value)[1:-1], 'JSON': json.dumps(value)[1:-1]}
    for number, line in enumerate(value.splitlines()):
        forms['line %d' % (number + 1)] = line
    for name, form in server_echoes(value).items():
        forms[name] = form
    if basic_user is not None:
        prefix = ('%s:' % basic_user).encode('utf-8')
        encoded = base64.b64encode(prefix + value.encode('utf-8')).decode('ascii')
        forms['HTTP Basic'] = encoded[-(-len(prefix) // 3) * 4:-4]
    return [(form, label, name) for name, form in forms.items() if len(form) >= SHORTEST_FORM]


def find_leaks(text, needles):
    """[(secret label, encoding)] for every needle in ``text``."""
    return sorted(set((label, name) for form, label, name in needles if form in text))


# -- runs ---------------------------------------------------------------------------------------------------------

def run(command, work_dir, name, extra_environment, drop=()):
    """Run ``command`` here with ``extra_environment``; return (exit status, output text), output kept in a file."""
    environment = dict(os.environ)
    for variable in drop:
        environment.pop(variable, None)
    environment.update({
        'PYTHONPATH': os.pathsep.join(filter(None, [os.path.join(HERE, 'capture'), os.environ.get('PYTHONPATH')])),
        'ANSIBLE_NO_TARGET_SYSLOG': 'False',
        'ANSIBLE_INJECT_INVOCATION': '1',
        'ANSIBLE_NOCOLOR': '1',
    })
    environment.update(extra_environment)
    try:
        completed = subprocess.run(command, cwd=HERE, env=environment, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, check=False, timeout=RUN_TIMEOUT_SECONDS)
        status, output = completed.returncode, completed.stdout.decode('utf-8', 'replace')
    except subprocess.TimeoutExpired as expired:
        status = 'killed after %d s' % RUN_TIMEOUT_SECONDS
        output = (expired.stdout or b'').decode('utf-8', 'replace')
    with open(os.path.join(work_dir, '%s.out' % name), 'w') as kept:
        kept.write(output)
    return status, output


IDENTITY_VARIABLES = ('IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'IDENTITY_SERVER_THUMBPRINT', 'MSI_ENDPOINT',
                      'MSI_SECRET', 'IMDS_ENDPOINT', 'AZURE_POD_IDENTITY_AUTHORITY_HOST', 'HTTP_PROXY', 'http_proxy',
                      'HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy', 'NO_PROXY', 'no_proxy')


def system_log_checks(log_path, needles, fixtures, channel):
    """Problems with what the captured system log received."""
    problems = []
    if not os.path.exists(log_path):
        return ['the %s run logged nothing, so it proves nothing' % channel]
    with open(log_path) as log:
        text = log.read()
    entries = [json.loads(line) for line in text.splitlines()]
    invoked = [entry for entry in entries if entry['channel'] == channel and 'Invoked with' in json.dumps(entry)]
    if len(invoked) < 4:
        problems.append('the %s run captured %d "Invoked with" lines, not the 4 modules\'' % (channel, len(invoked)))
    for wanted in (fixtures['token_app']['service_principal_id'], 'syslog-bulk-item', 'syslog-job-item'):
        if wanted not in text:
            problems.append('the %s log does not name %s: identifiers must stay readable' % (channel, wanted))
    problems += ['the %s log holds %s (%s)' % (channel, label, name) for label, name in find_leaks(text, needles)]
    return problems


def main():
    """Start the servers, run every case, check; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--emulator-config', required=True)
    parser.add_argument('--fixtures', action='append', required=True)
    parser.add_argument('--inventory', required=True)
    parser.add_argument('--work-dir', required=True)
    arguments = parser.parse_args()
    work_dir = os.path.join(os.path.abspath(arguments.work_dir), 'side_channels')
    os.makedirs(work_dir, exist_ok=True)

    fixtures = {}
    for path in arguments.fixtures:
        with open(path) as fixture_file:
            fixtures.update(yaml.safe_load(fixture_file))
    with open(arguments.emulator_config) as config_file:
        config = json.load(config_file)
    emulator = config['emulator']
    client_id = fixtures['global_client_id']

    needles = []
    for name in sorted(fixtures):
        if name.startswith('canary_'):
            needles += needles_of(name, fixtures[name])
    needles += needles_of('the client secret', fixtures['global_client_secret'], basic_user=client_id)
    needles += needles_of('canary_echoed_value', fixtures['canary_echoed_value'], basic_user=client_id)
    needles += needles_of('the SecretToken of Token App', fixtures['token_app']['credentials'][1]['value'])
    needles += needles_of('the emulator\'s identity header', emulator['managed_identity']['header'])

    extra_vars = ['-e', '@' + os.path.abspath(arguments.emulator_config)]
    for path in arguments.fixtures:
        extra_vars += ['-e', '@' + os.path.abspath(path)]
    playbook = ['ansible-playbook', '-vvvv', '-i', arguments.inventory] + extra_vars
    problems = []
    outputs = {}

    # 1. the system log, syslog then journald
    for channel in ('syslog', 'journald'):
        log_path = os.path.join(work_dir, '%s.jsonl' % channel)
        registered = os.path.join(work_dir, '%s-registered.json' % channel)
        environment = {'ENTRA_TEST_SYSTEM_LOG': log_path}
        if channel == 'journald':
            environment['ENTRA_TEST_JOURNALD'] = '1'
        status, outputs[channel] = run(playbook + ['-e', 'registered_path=%s' % registered, 'syslog_runs.yml'],
                                       work_dir, channel, environment)
        if status != 0:
            problems.append('the %s run exited %s' % (channel, status))
        problems += system_log_checks(log_path, needles, fixtures, channel)

    # 2. managed identity: the metadata service behind a forging proxy, then an endpoint that echoes its header
    relay, proxy, echo_identity = metadata_relay(emulator), forging_proxy(), echoing_identity_endpoint()
    proxy_url = 'http://127.0.0.1:%d' % proxy.port
    status, outputs['metadata'] = run(
        playbook + ['-e', 'identity_case=metadata', 'identity_runs.yml'], work_dir, 'metadata',
        {'ENTRA_TEST_METADATA_PORT': str(relay.port), 'HTTP_PROXY': proxy_url, 'http_proxy': proxy_url},
        drop=IDENTITY_VARIABLES)
    if status != 0:
        problems.append('the managed identity run behind a proxy exited %s' % status)
    if proxy.requests:
        problems.append('the forging proxy received %d requests: the metadata service was asked through it'
                        % len(proxy.requests))
    if not relay.requests:
        problems.append('the metadata service was never asked, so the proxy check proves nothing')
    status, outputs['identity_echo'] = run(
        playbook + ['-e', 'identity_case=echo', 'identity_runs.yml'], work_dir, 'identity_echo',
        {'IDENTITY_ENDPOINT': 'http://127.0.0.1:%d/msi/token' % echo_identity.port,
         'IDENTITY_HEADER': fixtures['canary_identity_header']}, drop=IDENTITY_VARIABLES)
    if status != 0:
        problems.append('the echoing identity endpoint run exited %s' % status)
    if not echo_identity.requests:
        problems.append('the echoing identity endpoint was never asked')

    # 3. a Graph that echoes the client secret and a credential
    echo_graph = echoing_graph([fixtures['global_client_secret'], fixtures['canary_echoed_value']], client_id)
    status, outputs['graph_echo'] = run(playbook + ['-e', 'echo_port=%d' % echo_graph.port, 'echo_runs.yml'],
                                        work_dir, 'graph_echo', {})
    if status != 0:
        problems.append('the echoing Graph run exited %s' % status)
    if not echo_graph.requests:
        problems.append('the echoing Graph was never asked')

    # 4. a listing whose next link points back to itself
    loop = looping_graph()
    inventory_path = os.path.join(work_dir, 'loop.entra_sync.yml')
    with open(inventory_path, 'w') as inventory_file:
        yaml.safe_dump({'plugin': 'entra.provisioning.entra_sync', 'tenant_id': fixtures['global_tenant_id'],
                        'client_id': client_id, 'client_secret': fixtures['global_client_secret'],
                        'authority_host': emulator['clouds']['global']['authority_host'],
                        'graph_endpoint': 'http://127.0.0.1:%d' % loop.port, 'ca_path': emulator['ca_path']},
                       inventory_file)
    started = time.time()
    status, outputs['paging'] = run(['ansible-inventory', '-i', inventory_path, '--list'], work_dir, 'paging',
                                    {'ANSIBLE_INVENTORY_ENABLED': 'entra.provisioning.entra_sync',
                                     'ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED': 'True'})
    if status == 0 or 'gave as @odata.nextLink the link of an earlier page' not in outputs['paging']:
        problems.append('ansible-inventory did not stop the looping listing with its error (exit %s)' % status)
    if len(loop.requests) != 2:
        problems.append('the looping listing was asked %d times, not 2' % len(loop.requests))

    for server in (relay, proxy, echo_identity, echo_graph, loop):
        server.close()

    leaks = []
    for name in sorted(outputs):
        leaks += ['the %s run output holds %s (%s)' % (name, label, form) for label, form
                  in find_leaks(outputs[name], needles)]
    for channel in ('syslog', 'journald'):
        registered = os.path.join(work_dir, '%s-registered.json' % channel)
        if not os.path.exists(registered):
            problems.append('the %s run wrote no registered results' % channel)
            continue
        with open(registered) as registered_file:
            leaks += ['the %s registered results hold %s (%s)' % (channel, label, form) for label, form
                      in find_leaks(registered_file.read(), needles)]
    problems += leaks
    print('side channels: %d runs, %d secret forms searched, paging stopped in %.1f s: %d problems'
          % (len(outputs), len(needles), time.time() - started, len(problems)))
    if problems:
        print('\n'.join(problems))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
