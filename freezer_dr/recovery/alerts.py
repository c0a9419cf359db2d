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

"""Alerts to the administrators, through every notifier's admin channel.

An alert is raised on the engine thread (a storm, a fence budget spent) or
on a worker (a decision the journal could not take) and sent by one
thread of its own, so that a slow SMTP server never holds a decision or a
recovery. Each notifier is told in turn; one that fails is logged with why
and the others are still told. Alerts are also logged at ERROR, whatever
the notifiers do.
"""

import collections
import concurrent.futures
import logging
import time

from freezer_dr.drivers import base

LOG = logging.getLogger(__name__)


class Alerts:
    """Sends :class:`~freezer_dr.drivers.base.Alert` to ``notifiers``
    (``{name: Notifier}``)."""

    def __init__(self, notifiers, clock=time.time):
        self._notifiers = dict(notifiers)
        #: A freezer_dr.metrics.Metrics counting the alerts, or None.
        self.metrics = None
        self._clock = clock
        self._sender = concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix='alerts')
        #: The latest alerts raised, in order (for the status and the
        #: tests).
        self.raised = collections.deque(maxlen=100)

    def raise_alert(self, kind, subject, text, host=''):
        """Log the alert and queue it for the notifiers; return it."""
        alert = base.Alert(kind, subject, text, host, self._clock())
        self.raised.append(alert)
        if self.metrics is not None:
            self.metrics.alert(kind)
        LOG.error('ALERT %s%s: %s. %s', kind, ' (host %s)' % host if host
                  else '', subject, text)
        try:
            return self._sender.submit(self._send, alert)
        except RuntimeError:        # shut down: logged above, that is all
            return None

    def _send(self, alert):
        sent = {}
        for name, notifier in self._notifiers.items():
            began = time.monotonic()
            try:
                sent[name] = notifier.alert(alert) or ''
            except Exception as exc:
                LOG.error('Alert %s NOT delivered by notifier %s after '
                          '%.1f s: %s: %s', alert.kind, name,
                          time.monotonic() - began, type(exc).__name__, exc)
                continue
            if sent[name]:
                LOG.info('Alert %s: %s', alert.kind, sent[name])
        return sent

    def stop(self, wait=0.0):
        """Send what is queued (up to ``wait`` seconds), then stop."""
        self._sender.shutdown(wait=False)
        if wait:
            deadline = time.monotonic() + wait
            while self._sender._work_queue.qsize() and \
                    time.monotonic() < deadline:
                time.sleep(0.05)
