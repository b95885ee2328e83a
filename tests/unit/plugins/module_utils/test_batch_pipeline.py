# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""BatchPipeline: subjects go from step to step through full envelopes, as the answers come."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import threading
import time

import pytest

from ansible_collections.entra.provisioning.plugins.module_utils._graph.batch import BatchPipeline, BatchRequest


class Step(object):
    """A step that records what it took and hands each subject to ``following``."""

    def __init__(self, name, following=None):
        self.name = name
        self.following = following
        self.taken = []

    def request(self, subject):
        return BatchRequest('GET', '/%s/%s' % (self.name, subject))

    def take(self, subject, result):
        assert result == 'answer to /%s/%s' % (self.name, subject)
        self.taken.append(subject)
        return self.following


class Sender(object):
    """Stands in for send_requests: answers every request, remembering each envelope's urls."""

    def __init__(self, delay=0.0):
        self.delay = delay
        self.envelopes = []
        self.lock = threading.Lock()
        self.most_at_once = 0
        self._in_flight = 0

    def __call__(self, requests):
        with self.lock:
            self.envelopes.append([request.url for request in requests])
            self._in_flight += 1
            self.most_at_once = max(self.most_at_once, self._in_flight)
        time.sleep(self.delay)
        with self.lock:
            self._in_flight -= 1
        return ['answer to %s' % request.url for request in requests]


def test_every_subject_goes_through_every_step_in_full_envelopes():
    last = Step('check')
    first = Step('resolve', Step('jobs', last))
    send = Sender(delay=0.002)
    BatchPipeline(send, 4).run(range(50), first)
    assert sorted(last.taken) == list(range(50)) and sorted(first.following.taken) == list(range(50))
    sizes = [len(envelope) for envelope in send.envelopes]
    # 150 requests: the fewest envelopes of 20 there can be, one short envelope at most, at the very end
    assert sum(sizes) == 150 and len(sizes) == 8 and sizes[:-1] == [20] * 7
    assert send.most_at_once <= 4


def test_an_envelope_mixes_steps_rather_than_going_short():
    first = Step('resolve', Step('jobs'))
    send = Sender()
    BatchPipeline(send, 1).run(range(30), first)
    # 20 resolves, then the other 10 resolves with 10 jobs, then the last 20 jobs... 60 requests in 3 envelopes
    assert [len(envelope) for envelope in send.envelopes] == [20, 20, 20]
    assert {url.split('/')[1] for url in send.envelopes[1]} == {'resolve', 'jobs'}


def test_subjects_that_come_slowly_are_sent_as_they_fill_envelopes():
    first = Step('resolve')
    send = Sender()
    sent_meanwhile = []

    def arriving():
        yield from range(20)
        deadline = time.monotonic() + 10
        while not send.envelopes and time.monotonic() < deadline:
            time.sleep(0.001)
        sent_meanwhile.append(len(send.envelopes))
        yield 20

    BatchPipeline(send, 2).run(arriving(), first)
    # the first envelope went while the caller was still reading; the one left over goes alone at the end
    assert sent_meanwhile == [1] and [len(envelope) for envelope in send.envelopes] == [20, 1]


def test_an_error_from_the_subjects_stops_the_run_after_what_was_in_flight():
    first = Step('resolve')
    send = Sender()

    def arriving():
        yield from range(25)
        raise RuntimeError('reading stopped')

    with pytest.raises(RuntimeError, match='reading stopped'):
        BatchPipeline(send, 4).run(arriving(), first)
    # the five left over are never sent: nothing more goes out once the reading failed
    assert sum(len(envelope) for envelope in send.envelopes) <= 20


def test_an_error_from_a_send_is_raised_once_the_others_stopped():
    first = Step('resolve', Step('jobs'))

    def send(requests):
        if requests[0].url.startswith('/jobs/'):
            raise ValueError('surprise')
        return ['answer to %s' % request.url for request in requests]

    with pytest.raises(ValueError, match='surprise'):
        BatchPipeline(send, 3).run(range(45), first)


def test_no_subject_at_all_sends_nothing():
    send = Sender()
    BatchPipeline(send, 4).run(iter(()), Step('resolve'))
    assert send.envelopes == []
