# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import html
import binascii
import json
import random
import re
import time
from urllib.parse import quote, quote_plus

import pytest

from ansible_collections.entra.provisioning.plugins.module_utils import _redact
from ansible_collections.entra.provisioning.plugins.module_utils._redact import (
    MASK,
    NoRunError,
    SecretRegistry,
    redact,
    redact_data,
    redact_headers,
    register_secret,
    registered_secrets,
    run_in_threads,
)
from ansible_collections.entra.provisioning.tests.unit.plugins.module_utils.helpers import make_jwt

SECRET = 'Zx8Q~not-a-real' + '-secret.value_1'


def test_forms_are_encoded_once_and_only_when_a_text_is_first_masked(monkeypatch):
    encoded = []
    real = _redact.encoded_forms
    monkeypatch.setattr(_redact, 'encoded_forms', lambda value: encoded.append(value) or real(value))
    registry = _redact.SecretRegistry()
    values = ['bulk-secret-%04d' % number for number in range(50)]
    for value in values + values + ['shared-client-secret'] * 50:
        registry.add(value)
    # a run where nothing has to be masked never encodes its secrets
    assert encoded == []
    text = 'echo of %s and %s' % (quote(values[7], safe=''), base64.b64encode(b'shared-client-secret').decode())
    assert registry.mask(text) == 'echo of %s and %s' % (MASK, MASK)
    assert sorted(encoded) == sorted(values + ['shared-client-secret'])
    registry.add('late-secret-value')
    assert registry.mask('a late-secret-value here') == 'a %s here' % MASK
    assert len(encoded) == 52


def test_registered_secret_is_masked_anywhere_in_text():
    register_secret(SECRET)
    assert redact('the value %s was refused' % SECRET) == 'the value %s was refused' % MASK


def test_registered_secret_is_masked_when_url_encoded():
    register_secret('a b&c=d/e+f')
    assert redact('client_id=x&whatever=a%20b%26c%3Dd%2Fe%2Bf') == 'client_id=x&whatever=' + MASK


def test_registered_secret_is_masked_when_json_escaped():
    register_secret('quote"and\\slash')
    assert redact('{"value": "quote\\"and\\\\slash"}') == '{"value": "%s"}' % MASK


def test_longer_secret_containing_a_shorter_one_is_masked_whole():
    register_secret('abcd')
    register_secret('abcdefgh')
    assert redact('x abcdefgh y') == 'x %s y' % MASK


def test_values_shorter_than_four_characters_are_not_registered():
    register_secret('abc')
    assert registered_secrets() == ()
    assert redact('abc stays') == 'abc stays'


def test_bearer_token_is_masked():
    assert redact('sent Bearer abc.def-ghi_jkl=') == 'sent Bearer %s' % MASK


def test_authorization_header_line_is_masked():
    assert redact('Authorization: Basic dXNlcjpwYXNz') == 'Authorization: %s' % MASK


def test_authorization_in_a_dict_repr_is_masked():
    assert redact("{'Authorization': 'Bearer abc'}") == "{'Authorization': '%s'}" % MASK


def test_jwt_is_masked_without_registration():
    token = make_jwt(aud='https://graph.microsoft.com')
    assert redact('token %s here' % token) == 'token %s here' % MASK


def test_form_encoded_secret_fields_are_masked():
    text = 'grant_type=client_credentials&client_secret=s3cr3t&client_assertion=abc&scope=x'
    assert redact(text) == 'grant_type=client_credentials&client_secret=%s&client_assertion=%s&scope=x' % (MASK, MASK)


def test_json_secret_fields_are_masked():
    assert redact('{"access_token": "abc", "token_type": "Bearer"}') == '{"access_token": "%s", "token_type": ' \
                                                                        '"Bearer"}' % MASK


def test_graph_error_code_with_authorization_prefix_is_left_alone():
    text = 'HTTP 403 Authorization_RequestDenied: Insufficient privileges'
    assert redact(text) == text


def test_none_stays_none():
    assert redact(None) is None


def test_secret_headers_are_masked_and_others_kept():
    cleaned = redact_headers({'Authorization': 'Bearer x', 'request-id': 'r-1', 'X-IDENTITY-HEADER': 'h'})
    assert cleaned == {'Authorization': MASK, 'request-id': 'r-1', 'X-IDENTITY-HEADER': MASK}


def test_redact_data_masks_secret_keys_and_registered_values_in_nested_data():
    register_secret(SECRET)
    data = {'credentials': [{'key': 'ClientSecret', 'value': SECRET}], 'password': 'p', 'count': 3}
    assert redact_data(data) == {'credentials': [{'key': 'ClientSecret', 'value': MASK}], 'password': MASK,
                                 'count': 3}


# -- what a secret can turn into on its way back from a server or proxy (finding 3) ---------------------------

UNICODE_SECRET = 'canary-sécret-ünïcode-"quote"-\\slash'


def _echoes(value):
    raw = value.encode('utf-8')
    return {
        'base64': base64.b64encode(raw).decode('ascii'),
        'urlsafe base64 without padding': base64.urlsafe_b64encode(raw).decode('ascii').rstrip('='),
        'hex': binascii.hexlify(raw).decode('ascii'),
        'repr': repr(value),
        'JSON with non-ASCII kept': json.dumps(value, ensure_ascii=False),
        'JSON with non-ASCII escaped': json.dumps(value),
        'double JSON': json.dumps(json.dumps(value)),
        'lower-case percent-encoding': quote(value, safe='').lower(),
        'percent-encoding with plus': quote_plus(value, safe=''),
    }


@pytest.mark.parametrize('encoding', sorted(_echoes(UNICODE_SECRET)))
def test_a_registered_secret_is_masked_in_every_encoding_a_server_may_echo(encoding):
    register_secret(UNICODE_SECRET)
    echoed = _echoes(UNICODE_SECRET)[encoding]
    masked = redact('error.message: invalid value %s, try again' % echoed)
    assert echoed not in masked and MASK in masked
    assert masked.startswith('error.message: invalid value ') and masked.endswith(', try again')


@pytest.mark.parametrize('length', [12, 13, 16, 20])
def test_a_prefix_of_twelve_characters_or_more_is_masked_as_far_as_it_continues_the_secret(length):
    secret = 'canary-prefix-secret-value-0123456789'
    register_secret(secret)
    assert redact('the token starts with %s... and is wrong' % secret[:length]) == \
        'the token starts with %s... and is wrong' % MASK


def test_a_prefix_shorter_than_twelve_characters_is_left_readable():
    secret = 'canary-prefix-secret-value-0123456789'
    register_secret(secret)
    assert redact('starts with %s' % secret[:11]) == 'starts with %s' % secret[:11]


def test_masking_a_thousand_secrets_is_one_pass_over_the_text():
    for number in range(1000):
        register_secret('canary-bulk-secret-%04d' % number)
    text = 'item canary-bulk-secret-0999 and canary-bulk-secret-0000 failed' * 100
    assert redact(text) == ('item %s and %s failed' % (MASK, MASK)) * 100


def test_overlapping_secrets_become_one_mask():
    register_secret('canary-overlap-one')
    register_secret('overlap-one-two-three')
    assert redact('x canary-overlap-one-two-three y') == 'x %s y' % MASK


def test_the_value_is_handed_to_ansible_core_when_it_has_a_secrets_api(monkeypatch):
    handed = []
    monkeypatch.setattr(_redact, '_core_register_secret', handed.append)
    register_secret(UNICODE_SECRET)
    register_secret(UNICODE_SECRET)
    assert handed == [UNICODE_SECRET], 'once, as given: its forms stay with the collection\'s own masking'


def test_ansible_cores_no_log_values_get_the_values_not_their_forms():
    register_secret(' canary-padded-value ')
    assert set(registered_secrets()) == {' canary-padded-value ', 'canary-padded-value'}


def test_a_short_value_is_not_handed_to_ansible_core_either(monkeypatch):
    handed = []
    monkeypatch.setattr(_redact, '_core_register_secret', handed.append)
    register_secret('abc')
    assert handed == []


# -- the quoted-value pattern cannot backtrack (finding 4) ----------------------------------------------------

@pytest.mark.parametrize('quote_char', ['"', "'"])
def test_ten_thousand_backslashes_after_a_secret_field_are_masked_in_linear_time(quote_char):
    text = '%ssecret%s: %s%s' % (quote_char, quote_char, quote_char, '\\' * 10000)
    started = time.process_time()
    masked = redact(text)
    # The old pattern took 5 s for 36 backslashes and doubled with each one more; linear work takes milliseconds.
    assert time.process_time() - started < 2
    assert masked == '%ssecret%s: %s%s%s' % (quote_char, quote_char, quote_char, MASK, quote_char)


def test_an_unterminated_secret_field_is_masked_to_the_end():
    assert redact('{"client_secret": "canary-cut-off') == '{"client_secret": "%s"' % MASK


def test_escaped_quotes_inside_a_secret_field_are_masked_with_it():
    assert redact('{"password": "a\\"b", "next": 1}') == '{"password": "%s", "next": 1}' % MASK


def test_a_run_owns_its_secrets_and_forgets_them_when_it_ends():
    outer_secret = 'outer-run-secret-value'
    register_secret(outer_secret)  # the test's own run (conftest)
    inner = SecretRegistry()
    with inner.in_use():
        register_secret('inner-run-secret-value')
        # another run neither masks nor hands on the first run's secret
        assert redact('x outer-run-secret-value inner-run-secret-value') == 'x outer-run-secret-value ' + MASK
        assert registered_secrets() == ('inner-run-secret-value',)
    # back in the outer run: the inner run's secret is gone with it, the outer one is still masked
    assert redact('inner-run-secret-value outer-run-secret-value') == 'inner-run-secret-value ' + MASK
    assert registered_secrets() == (outer_secret,)


def test_threads_started_by_a_run_use_its_registry():
    register_secret('thread-visible-secret')
    texts = run_in_threads(lambda number: redact('%d: thread-visible-secret' % number), range(8), 4)
    assert texts == ['%d: %s' % (number, MASK) for number in range(8)]

    def register_in_thread(number):
        register_secret('registered-in-thread-%d' % number)

    run_in_threads(register_in_thread, range(3), 3)
    assert redact('registered-in-thread-2') == MASK


def test_a_thread_of_its_own_has_no_run_so_registering_fails_loudly():
    import threading

    errors = []

    def outside_any_run():
        try:
            register_secret('nowhere-to-keep-it')
        except NoRunError as error:
            errors.append(error)
        # redaction still applies the patterns
        errors.append(redact('Authorization: Bearer abc.def'))

    thread = threading.Thread(target=outside_any_run)
    thread.start()
    thread.join()
    assert isinstance(errors[0], NoRunError)
    assert errors[1] == 'Authorization: ' + MASK


# -- echo forms of issue 24: other case, HTML, quote() with its default safe characters, base64 at an offset -----

OFFSET_SECRET = 'canary-offset-Secret~value/with:colon-7e2b'


def _more_echoes(value):
    return {
        'lower case': value.lower(),
        'upper case': value.upper(),
        'HTML entities': html.escape(value),
        "quote() keeping '/'": quote(value),
        'HTTP Basic client:secret': base64.b64encode(b'client-app:' + value.encode()).decode(),
        'HTTP Basic, one more byte before': base64.b64encode(b'client-appx:' + value.encode()).decode(),
        'HTTP Basic, two more bytes before': base64.b64encode(b'client-appxy:' + value.encode()).decode(),
        'base64 with more after': base64.b64encode(value.encode() + b'|tail').decode(),
        'URL-safe base64 at an offset': base64.urlsafe_b64encode(b'ab' + value.encode()).decode(),
    }


@pytest.mark.parametrize('encoding', sorted(_more_echoes(OFFSET_SECRET)))
def test_the_echo_forms_a_server_may_also_produce_are_masked(encoding):
    register_secret(OFFSET_SECRET)
    echoed = _more_echoes(OFFSET_SECRET)[encoding]
    masked = redact('<p>Refused: %s</p>' % echoed)
    assert MASK in masked
    # what is left of the echo is at most the few characters that mix the secret with its neighbours
    assert len(masked) - len('<p>Refused: </p>' + MASK) <= 2 * 4 + 16


def test_the_jwt_scan_masks_exactly_what_the_former_pattern_did():
    former = re.compile(r'\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*')
    pieces = ['eyJ', 'a', '.', '-', '_', ' ', 'x', '9', 'ey', 'J', '"']
    generator = random.Random(24)
    for _attempt in range(20000):
        text = ''.join(generator.choice(pieces) for _piece in range(generator.randint(0, 14)))
        assert redact(text) == former.sub(MASK, text), text


# -- masking costs time linear in the text, whatever the text and the number of secrets (issue 24) -------------

SHARED_PREFIX = 'connector-12'


def _cpu_seconds(function, repeats):
    best = None
    for _repeat in range(repeats):
        started = time.process_time()
        function()
        spent = time.process_time() - started
        best = spent if best is None else min(best, spent)
    return best


def _plain_pass(text):
    """A pass that looks at every character of the text once from Python: the yardstick of linear work."""
    return sum(1 for _character in text)


ADVERSARIAL = {
    # the former JWT pattern backtracked over the whole run from every eyJ: 8.8 s at 128 KB, 27 s at 256 KB
    'eyJ- repeated': lambda size: 'eyJ-' * (size // 4),
    'JWT headers and dots': lambda size: 'eyJa.' * (size // 5),
    # 5,000 secrets sharing their first 12 characters: 16 s, each occurrence compared with every one of them
    'a shared prefix of 5,000 secrets': lambda size: (SHARED_PREFIX + 'zzzz') * (size // 16),
    'authorization and spaces': lambda size: 'authorization:' + ' ' * size,
    'bearer repeated': lambda size: 'Bearer ' * (size // 7),
    'an unterminated secret field of backslashes': lambda size: '"client_secret": "' + '\\' * size,
    'secret fields repeated': lambda size: 'client_secret=' * (size // 14),
}


@pytest.fixture
def five_thousand_secrets_with_one_prefix():
    generator = random.Random(5000)
    for _number in range(5000):
        register_secret(SHARED_PREFIX + ''.join(generator.choice('abcdefghijklmnop')
                                                for _character in range(generator.randint(8, 60))))
    redact('index them now')


@pytest.mark.parametrize('size', [128 * 1024, 256 * 1024])
@pytest.mark.parametrize('case', sorted(ADVERSARIAL))
def test_masking_adversarial_text_costs_a_bounded_multiple_of_a_plain_pass(
        case, size, five_thousand_secrets_with_one_prefix):
    text = ADVERSARIAL[case](size)
    plain = _cpu_seconds(lambda: _plain_pass(text), 5)
    masking = _cpu_seconds(lambda: redact(text), 2)
    # Linear masking measures 10 to 100 plain passes here; the quadratic patterns took over 1,000 at these sizes,
    # and the gap doubles with the size, so this bound cannot be met by anything that is not linear.
    assert masking <= 400 * plain, '%s at %d bytes: %.3f s masking, %.4f s plain pass' % (case, size, masking, plain)
