# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""EntraModule: an AnsibleModule with the shared auth, cloud and connection options and the Graph client; and
``run_bulk``, the whole of a module that acts on one application or a list of them through a sync engine."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib
import difflib
import functools
import re

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.entra.provisioning.plugins.module_utils._auth.authenticator import Authenticator
from ansible_collections.entra.provisioning.plugins.module_utils._connection_options import (
    ConnectionOptions,
    settings_notices,
)
from ansible_collections.entra.provisioning.plugins.module_utils._errors import (
    EntraError,
    InvalidInputError,
    MissingDependencyError,
)
from ansible_collections.entra.provisioning.plugins.module_utils._graph.client_factory import build_graph_client
from ansible_collections.entra.provisioning.plugins.module_utils._invocation_log import (
    PLAIN_ITEM_KEYS,
    invocation_log_args,
)
from ansible_collections.entra.provisioning.plugins.module_utils._options import OptionAdapter
from ansible_collections.entra.provisioning.plugins.module_utils._redact import SecretRegistry
from ansible_collections.entra.provisioning.plugins.module_utils._sync.common import parse_items
from ansible_collections.entra.provisioning.plugins.module_utils._sync.targets import TARGET_OPTIONS

# An option or item key of this name holds credential values in whatever shape the user typed it.
SECRET_CONTAINERS = frozenset(('credentials',))
# Names a user may have misspelt a secret as: 'client_secert', 'credential', 'pasword'.
_SECRET_WORDS = ('secret', 'passw', 'token', 'cred', 'assertion', 'passphrase')
_SECRET_NAMES = ('client_secret', 'client_certificate_password', 'access_token', 'credentials', 'value', 'password')
# "SecretToken=X" typed where a mapping was expected
_NAMED_STRING = re.compile(r'^\s*([A-Za-z_][\w.-]*)\s*[=:]')
# What ansible-core puts in place of a string that is a no_log value.
_NO_LOG_PLACEHOLDER = 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'


def shared_argument_spec():
    """Return a fresh copy of every shared option (auth, cloud, connection) for an argument spec."""
    spec = {}
    for group in (Authenticator.ARGSPEC, ConnectionOptions.ARGSPEC):
        for name, definition in group.items():
            spec[name] = dict(definition)
            if 'choices' in definition:
                spec[name]['choices'] = list(definition['choices'])
    return spec


class EntraModule(AnsibleModule):
    """A module declares only its own options; the shared ones are merged in.

    ``graph_client()`` builds the client from the params (failing the module cleanly on bad options), and
    ``fail_from_error()`` turns any EntraError into ``fail_json(msg=..., error=err.to_dict())``.
    """

    def __init__(self, argument_spec=None, **kwargs):
        # The module process is the run: its secrets live in this registry until the process exits.
        self.secrets = SecretRegistry()
        self.secrets.activate()
        spec = shared_argument_spec()
        spec.update(argument_spec or {})
        super(EntraModule, self).__init__(argument_spec=spec, **kwargs)
        self.option_adapter = OptionAdapter.from_ansible_module(self)
        self._graph_client = None

    def graph_client(self, max_concurrency=None):
        """Return the module's one GraphClient, built on first call; fails the module on bad options."""
        if self._graph_client is None:
            try:
                self._graph_client = build_graph_client(self.option_adapter, max_concurrency=max_concurrency)
            except EntraError as error:
                self.fail_from_error(error)
            warnings, notice = settings_notices(self._graph_client.settings)
            for warning in warnings:
                self.warn(warning)
            if notice:
                self.deprecate(notice['msg'], date=notice['date'], collection_name=notice['collection_name'])
        return self._graph_client

    def fail_from_error(self, error, **result):
        """Fail the module with an EntraError's message and its plain fields under ``error``."""
        if isinstance(error, MissingDependencyError) and error.library:
            self.fail_json(msg=missing_required_lib(error.library), exception=error.import_error,
                           error=error.to_dict(), **result)
        self.fail_json(msg=error.message, error=error.to_dict(), **result)

    def _load_params(self):
        """Read the params like AnsibleModule, then register every value a user may have meant as a secret.

        This runs before the argument spec is checked, so a secret in a shape the spec rejects or an option it
        does not know (``client_secert``, ``credentials`` as a mapping or a ``"SecretToken=X"`` string, a
        ``vaule:`` typo) is masked in the failure the spec check produces, ``invocation`` included.
        """
        super(EntraModule, self)._load_params()
        for value in secret_values(self.params, self.argument_spec):
            self.secrets.add(value)
        self._remember_runtime_secrets()

    def _log_invocation(self):
        """Log ``Invoked with`` like AnsibleModule, each value masked where it sits before it becomes text.

        ansible-core masks the line after ``str()`` has escaped the values in lists and dicts, so a secret holding a
        backslash, newline or quote, or one nobody registered, reached syslog and journald in clear.
        """
        self._remember_runtime_secrets()
        log_args = invocation_log_args(self.params, self.argument_spec, self.secrets.mask, SECRET_CONTAINERS)
        msg = 'Invoked with %s' % ' '.join('%s=%s' % pair for pair in log_args.items()) if log_args else 'Invoked'
        with self._core_masks_the_unregistered():
            self.log(msg, log_args=log_args)

    def _remember_runtime_secrets(self):
        # Values read from the environment or files never went through the argument spec's no_log.
        self.no_log_values.update(self.secrets.values())

    def exit_json(self, **kwargs):
        """Exit like AnsibleModule, masking secrets registered at run time too."""
        with self._masked_by_registry(kwargs):
            super(EntraModule, self).exit_json(**kwargs)

    def fail_json(self, msg, **kwargs):
        """Fail like AnsibleModule, masking secrets registered at run time too."""
        kwargs['msg'] = msg
        with self._masked_by_registry(kwargs):
            super(EntraModule, self).fail_json(**kwargs)

    @contextlib.contextmanager
    def _masked_by_registry(self, result):
        """Mask ``result`` (and the ``invocation`` ansible-core adds) with the run's registry, in place, then leave
        ansible-core only the no_log values the registry does not hold.

        ansible-core compares every string of the result with every no_log value, one ``replace`` each: a bulk run
        of a thousand applications, each with its secrets, spent four fifths of its time there. The registry masks
        the same values (and their encoded forms) in one pass per string; what it does not hold (a value too short
        to register) is still masked by ansible-core, so nothing is masked less than before.
        """
        self._remember_runtime_secrets()
        result.setdefault('invocation', {'module_args': self.params})
        exact = frozenset(self.secrets.values())
        for key, value in list(result.items()):
            result[key] = _masked(value, exact, self.secrets.mask)
        with self._core_masks_the_unregistered():
            yield

    @contextlib.contextmanager
    def _core_masks_the_unregistered(self):
        """Inside the block, ansible-core masks only the no_log values the run's registry does not hold: what the
        block hands it has been masked with the registry already."""
        registered = frozenset(self.secrets.values())
        kept = self.no_log_values
        self.no_log_values = set(value for value in kept if value not in registered)
        try:
            yield
        finally:
            self.no_log_values = kept


def _masked(value, exact, mask):
    """A copy of the JSON-like ``value`` masked as ansible-core masks a module's result: a string (or number) that is
    a secret becomes VALUE_SPECIFIED_IN_NO_LOG_PARAMETER, a secret inside a string becomes ``********``."""
    if isinstance(value, str):
        return _NO_LOG_PLACEHOLDER if value in exact else mask(value)
    if isinstance(value, dict):
        return dict((key, _masked(item, exact, mask)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return [_masked(item, exact, mask) for item in value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        text = str(value)
        # ansible-core hides a number that holds a secret's digits the same way
        return _NO_LOG_PLACEHOLDER if text in exact or mask(text) != text else value
    return value


class ArgumentSpec(object):
    """A module's options together with the constraints between them, so constraints travel with the options they
    name when specs are merged (as community.crypto's argspec object)."""

    def __init__(self, argument_spec=None, mutually_exclusive=None, required_one_of=None, required_by=None):
        self.argument_spec = dict(argument_spec or {})
        self.mutually_exclusive = list(mutually_exclusive or [])
        self.required_one_of = list(required_one_of or [])
        self.required_by = dict(required_by or {})

    def merge(self, other):
        """Add ``other``'s options and constraints to this spec; return this spec."""
        self.argument_spec.update(other.argument_spec)
        self.mutually_exclusive.extend(other.mutually_exclusive)
        self.required_one_of.extend(other.required_one_of)
        self.required_by.update(other.required_by)
        return self

    def module_kwargs(self):
        """The keyword arguments of AnsibleModule (EntraModule) for this spec."""
        return dict(argument_spec=self.argument_spec, mutually_exclusive=self.mutually_exclusive,
                    required_one_of=self.required_one_of, required_by=self.required_by)


def bulk_argument_spec(**options):
    """Return the ArgumentSpec of a module that acts on one application or many: the four target options and
    ``applications`` (exactly one of them), ``max_concurrency``, and the module's own ``options``.

    ``applications`` is raw: ansible-core would refuse the whole list for one malformed item, so each item is checked
    by _items (run_bulk) and a bad one fails alone.
    """
    targets = list(TARGET_OPTIONS) + ['applications']
    spec = dict((name, dict(type='str')) for name in TARGET_OPTIONS)
    spec.update(applications=dict(type='list', elements='raw'), max_concurrency=dict(type='int', default=4))
    spec.update(options)
    return ArgumentSpec(spec, mutually_exclusive=[targets], required_one_of=[targets])


def run_bulk(spec, engine_class):
    """Run a whole bulk module: validate, build the client, run ``engine_class`` (a _sync_common.SyncEngine) and
    exit with the single-target result (the application's fields at the top level) or the ``applications`` result
    (``results``, ``summary``, and "N of M applications failed" when any did). Every failure goes through
    ``fail_from_error`` or the outcome's own message."""
    module = EntraModule(supports_check_mode=True, **spec.module_kwargs())
    try:
        requests = bulk_requests(module.params, engine_class)
    except EntraError as error:
        module.fail_from_error(error)
    max_concurrency = module.params['max_concurrency']
    client = module.graph_client(max_concurrency=max_concurrency)
    context = dict(cloud=client.settings.cloud.name, api_version=client.settings.api_version)
    try:
        outcomes = engine_class(client, check_mode=module.check_mode, max_concurrency=max_concurrency).run(requests)
    except EntraError as error:
        module.fail_from_error(error, **context)
    results = [outcome.to_result() for outcome in outcomes]
    if module._diff:
        diffs = [diff for diff in (outcome.diff() for outcome in outcomes) if diff]
        if diffs:
            context['diff'] = diffs
    if module.params['applications'] is None:
        result = dict(results[0], **context)
        del result['name']
        if result.pop('failed'):
            module.fail_json(**result)
        del result['msg'], result['error']
        module.exit_json(**result)
    failed = [result['name'] for result in results if result['failed']]
    result = dict(context, results=results, changed=any(result['changed'] for result in results),
                  summary=dict(engine_class.summarize(results), total=len(results), failed=len(failed)))
    diffs = [entry['diff'] for entry in results if entry.get('diff')]
    if diffs:
        # what --diff shows: ansible-playbook takes a list of diffs
        result['diff'] = diffs
    if failed:
        module.fail_json(msg='%d of %d applications failed: %s. See results for each reason.'
                         % (len(failed), len(results), ', '.join(failed)), **result)
    module.exit_json(**result)


def bulk_requests(params, engine_class):
    """Validate every application of a bulk module's ``params`` before anything is sent; return one request per
    application (a bad item is a rejected request and fails alone). Raise InvalidInputError for a task-wide mistake.

    The options an item may set and the task may not set beside ``applications`` are those of the engine's item
    spec, except the target options (exclusive by the spec), ``name`` and those items inherit from the task.
    """
    if params['applications'] is None:
        return [engine_class.parse(params)]
    per_item = [name for name in engine_class.ITEM_SPEC
                if name not in TARGET_OPTIONS + ('name',) + tuple(engine_class.INHERITED)]
    clashing = [name for name in per_item if params.get(name) is not None]
    if clashing:
        raise InvalidInputError('applications cannot be combined with %s: set those on each item instead.'
                                % ', '.join(clashing))
    if not params['applications']:
        raise InvalidInputError('applications is empty: list at least one application.')
    if params['max_concurrency'] < 1:
        raise InvalidInputError('max_concurrency must be 1 or more, got %d.' % params['max_concurrency'])
    return parse_items(params['applications'], engine_class.ITEM_SPEC, engine_class.parse,
                       defaults=dict((name, params[name]) for name in engine_class.INHERITED))


def secret_values(params, spec):
    """Yield every string in ``params`` a user may have meant as a secret, whatever its shape.

    That is: everything under an option the spec does not know (it may be a misspelt secret option), under a
    no_log option, under any ``credentials`` (except the ``key`` of a pair: the name of the credential), and
    under an item key of a raw list that is not one of PLAIN_ITEM_KEYS or whose name looks like a secret's.
    """
    known = _names_with_aliases(spec)
    for name, value in (params or {}).items():
        if str(name).startswith('_ansible_'):
            continue
        definition = known.get(name)
        if definition is None or definition.get('no_log') or name in SECRET_CONTAINERS:
            yield from _credential_strings(value)
        elif definition.get('options'):
            yield from _values_in_suboptions(value, definition['options'])
        else:
            yield from _values_in_unchecked(value)


def _names_with_aliases(spec):
    known = {}
    for name, definition in (spec or {}).items():
        known[name] = definition
        for alias in definition.get('aliases') or ():
            known[alias] = definition
    return known


def _values_in_suboptions(value, suboptions):
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict):
            yield from secret_values(item, suboptions)
        elif any(definition.get('no_log') or name in SECRET_CONTAINERS for name, definition in suboptions.items()):
            # an item the spec cannot read, of a structure that holds secrets
            yield from _credential_strings(item)


def _values_in_unchecked(value):
    """A value whose structure the spec does not describe (elements='raw', a plain list or dict)."""
    if isinstance(value, dict):
        for key, child in value.items():
            # an applications item: any key but the ones that name or steer an application may hold a secret
            if key in SECRET_CONTAINERS or key not in PLAIN_ITEM_KEYS or looks_like_a_secret_name(key):
                yield from _credential_strings(child)
            else:
                yield from _values_in_unchecked(child)
    elif isinstance(value, list):
        for child in value:
            yield from _values_in_unchecked(child)
    elif isinstance(value, str):
        named = _NAMED_STRING.match(value)
        if named and looks_like_a_secret_name(named.group(1)):
            yield from _credential_strings(value)


def looks_like_a_secret_name(name):
    """Return True for a name that is, or is a misspelling of, a secret option's."""
    return _looks_like_a_secret_name(str(name).lower())


# Every item of a bulk run asks about the same few keys: difflib's comparison once per key, not per item.
@functools.lru_cache(maxsize=1024)
def _looks_like_a_secret_name(lowered):
    if any(word in lowered for word in _SECRET_WORDS):
        return True
    return bool(difflib.get_close_matches(lowered, _SECRET_NAMES, n=1, cutoff=0.8))


def _credential_strings(value):
    """Every leaf under ``value`` as text, except the ``key`` of a pair (the credential's name, not a secret)."""
    if isinstance(value, dict):
        for key, child in value.items():
            if key != 'key' or not isinstance(child, str):
                yield from _credential_strings(child)
    elif isinstance(value, (list, tuple)):
        for child in value:
            yield from _credential_strings(child)
    elif isinstance(value, str):
        yield value
        # "SecretToken=X" or "SecretToken: X" typed as one string: X alone may show up in a message
        for separator in ('=', ':'):
            name, found, rest = value.partition(separator)
            if found and rest.strip():
                yield rest.strip()
    elif value is not None and not isinstance(value, bool):
        yield str(value)
