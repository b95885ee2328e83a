# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# FOR INTERNAL COLLECTION USE ONLY: the interfaces in this file may change in any release.
"""A credential check that answers true or false: Graph's validateCredentials, for the saved credentials or given
ones, through the application's job or, before any job exists, through the jobs collection with a template id.
Nothing is saved and no authorization code is redeemed (validateCredentials does neither).

The service answers 204 when the target accepts the credentials and 400 when it does not, or cannot be reached
(``CredentialValidationUnavailable`` covers both, so ``valid: false`` with that code may be an outage). Any other
answer (no permission, no such job) is not an answer about the credentials and fails the application.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.entra.provisioning.plugins.module_utils._graph.batch import BatchRequest
from ansible_collections.entra.provisioning.plugins.module_utils._errors import InvalidInputError
from ansible_collections.entra.provisioning.plugins.module_utils._graph.errors import synchronization_permission_advice
from ansible_collections.entra.provisioning.plugins.module_utils._ids import path_segment
from ansible_collections.entra.provisioning.plugins.module_utils._redact import register_secret
from ansible_collections.entra.provisioning.plugins.module_utils._sync.common import (
    FAIL,
    IGNORE,
    RequestReader,
    SyncEngine,
    SyncOutcome,
    choose_job,
    target_item_spec,
)
from ansible_collections.entra.provisioning.plugins.module_utils._sync.credentials import normalize_credentials
from ansible_collections.entra.provisioning.plugins.module_utils._sync.targets import resolve_targets

CHECK_ITEM_SPEC = target_item_spec(job_id=dict(type='str'), template_id=dict(type='str'),
                                   credentials=dict(type='raw', no_log=True, no_log_except=('key',)))


def parse_check_request(options, where=''):
    """Validate one application's check: the target, ``job_id`` or ``template_id``, and ``credentials`` (none:
    the saved ones)."""
    reader = RequestReader(options, where)
    credentials = None
    if options.get('credentials') is not None:
        credentials = normalize_credentials(options['credentials'], reader.name('credentials'))
        for pair in credentials:
            register_secret(pair['value'])
    job_id, template_id = reader.text('job_id'), reader.text('template_id')
    if job_id and template_id:
        raise InvalidInputError('%s and %s name the job twice; give one of them.'
                                % (reader.name('job_id'), reader.name('template_id')))
    return reader.request(job_id=job_id, template_id=template_id, credentials=credentials)


class CheckOutcome(SyncOutcome):
    """The answer for one application: ``valid`` (True or False) and, when False, Graph's error code."""

    def __init__(self, request):
        super(CheckOutcome, self).__init__(request)
        self.valid = None
        self.reason = None

    def fields(self):
        """The answer, which credentials were checked, and through what."""
        return dict(valid=self.valid, reason=self.reason,
                    checked='given' if self.request.settings['credentials'] is not None else 'saved',
                    template_id=self.template_id)

    def summary(self):
        """The answer in words."""
        return '%s: the %s credentials are %s.' % (self.describe(), self.fields()['checked'],
                                                   'accepted' if self.valid else 'not accepted (%s)' % self.reason)


class SyncCredentialCheck(SyncEngine):
    """Asks validateCredentials about each request's credentials; never saves anything."""

    ITEM_SPEC = CHECK_ITEM_SPEC
    parse = staticmethod(parse_check_request)

    @staticmethod
    def summarize(results):
        """How many sets of credentials were accepted and not."""
        return dict(valid=sum(1 for result in results if result['valid'] is True),
                    invalid=sum(1 for result in results if result['valid'] is False))

    def run(self, requests):
        """Resolve, choose the job (or none, with template_id), ask; return outcomes in input order."""
        outcomes = [CheckOutcome(request) for request in requests]
        resolve_targets(outcomes, self._send, self.client)
        for outcome, jobs in self._read_jobs(outcomes):
            settings = outcome.request.settings
            job = choose_job(outcome, jobs, settings['job_id'], settings['template_id'],
                             missing=IGNORE if settings['template_id'] else FAIL, purpose='check the credentials of')
            if job is None and not outcome.failed:
                outcome.template_id = settings['template_id']
        asking = [outcome for outcome in outcomes if not outcome.failed]
        for outcome, result in zip(asking, self._send([_validate_request(outcome) for outcome in asking])):
            if result.ok:
                outcome.valid = True
            elif result.status == 400 and not result.outcome_unknown:
                outcome.valid = False
                outcome.reason = (result.error.code if result.error is not None else None) or 'BadRequest'
            else:
                outcome.fail('asking validateCredentials', 'it answered HTTP %s%s, which says nothing about the '
                             'credentials.' % (result.status, ' %s' % result.error.code if result.error and
                                               result.error.code else ''),
                             synchronization_permission_advice(result.error))
        return outcomes


def _validate_request(outcome):
    credentials = outcome.request.settings['credentials']
    body = dict(useSavedCredentials=credentials is None)
    if credentials is not None:
        body.update(credentials=credentials, applicationIdentifier=outcome.app_id, templateId=outcome.template_id)
    if outcome.job_id:
        url = '%s/synchronization/jobs/%s/validateCredentials' % (outcome.path, path_segment(outcome.job_id))
    else:
        # before any job exists: the collection-bound action, which needs the template
        url = outcome.path + '/synchronization/jobs/validateCredentials'
        body.update(applicationIdentifier=outcome.app_id, templateId=outcome.template_id)
    return BatchRequest('POST', url, body=body, idempotent=True)
