# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""The ``webhook`` notifier: POST every recovery report as JSON.

Two formats (``[webhook] format``):

* ``json``: ``{"event_type": "freezer_dr.recovery.end" | ".error",
  "report": {...}}``, the report as
  :func:`freezer_dr.drivers.notifiers.reports.as_dict` makes it;
* ``slack``: ``{"text": "..."}``, the report as text, which Slack's (and
  Mattermost's, Rocket.Chat's, ...) incoming webhooks show as a message.

An answer other than 2xx, a refused connection or no answer within
``[webhook] timeout`` raises
:class:`~freezer_dr.drivers.notifiers.reports.NotificationError`. The URL is a
secret (an incoming webhook's URL is its password): errors and logs name
only its scheme, host and port.
"""

import logging
from urllib import parse

import requests

from freezer_dr.conf import webhook as webhook_conf
from freezer_dr.drivers import base
from freezer_dr.drivers.notifiers import reports

LOG = logging.getLogger(__name__)


class WebhookNotifier(base.Notifier):
    """POSTs reports; see the module's doc.

    Built by stevedore as ``WebhookNotifier(conf=CONF)`` (reads
    ``[webhook]``); keyword arguments override the options (tests).

    :raises ValueError: no URL, or an unknown format.
    """

    def __init__(self, conf=None, **overrides):
        unknown = set(overrides) - {o.dest for o in webhook_conf.opts}
        if unknown:
            raise TypeError('unknown options: %s' % ', '.join(sorted(unknown)))
        self._opts = reports.options(conf, webhook_conf, overrides)
        url = self._opts['url']
        if not url:
            raise ValueError('[webhook] url is not set')
        parsed = parse.urlsplit(url)
        if parsed.scheme not in ('http', 'https') or not parsed.hostname:
            raise ValueError('[webhook] url must be an http or https URL')
        if self._opts['format'] not in ('json', 'slack'):
            raise ValueError('[webhook] format must be json or slack, not %r'
                             % self._opts['format'])
        self._url = url
        #: Where the reports go, without path or credentials (for logs).
        self.where = '%s://%s%s/…' % (
            parsed.scheme, parsed.hostname,
            ':%d' % parsed.port if parsed.port else '')
        # Everything of the URL that must not show in an error.
        self._secrets = [s for s in (parsed.password, parsed.username,
                                     parsed.path.strip('/'), parsed.query)
                         if s and len(s) > 2]
        self._session = requests.Session()
        self._session.trust_env = False     # no proxy from the environment
        if not self._opts['verify']:
            self._session.verify = False
        elif self._opts['ca_file']:
            self._session.verify = self._opts['ca_file']

    def body(self, report):
        """The JSON document POSTed for ``report``."""
        if self._opts['format'] == 'slack':
            return {'text': reports.text(report)}
        return {'event_type': reports.event_type(report),
                'report': reports.as_dict(report)}

    def alert_body(self, alert):
        """The JSON document POSTed for an alert."""
        if self._opts['format'] == 'slack':
            return {'text': reports.alert_text(alert)}
        return {'event_type': reports.ALERT,
                'alert': reports.alert_dict(alert)}

    def alert(self, alert):
        return self._post(self.alert_body(alert), 'alert')

    def notify(self, report):
        return self._post(self.body(report), 'report')

    def _post(self, body, what):
        try:
            response = self._session.post(
                self._url, json=body,
                timeout=self._opts['timeout'], allow_redirects=False)
        except requests.Timeout:
            raise reports.NotificationError(
                'webhook %s: no answer within %.1f s'
                % (self.where, self._opts['timeout'])) from None
        except requests.RequestException as exc:
            raise reports.NotificationError(
                'webhook %s: %s: %s' % (self.where, type(exc).__name__,
                                        self._redact(str(exc)))) from None
        if not 200 <= response.status_code < 300:
            raise reports.NotificationError(
                'webhook %s answered %d %s: %s'
                % (self.where, response.status_code, response.reason,
                   self._redact(response.text[:200].strip())))
        what = 'webhook %s: %s %s posted (%d)' % (
            self.where, self._opts['format'], what, response.status_code)
        LOG.info('%s', what)
        return what

    def _redact(self, text):
        for secret in self._secrets:
            text = text.replace(secret, '…')
            text = text.replace(parse.quote(secret), '…')
        return text
