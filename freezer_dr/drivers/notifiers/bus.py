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

"""The ``bus`` notifier: oslo.messaging notifications of recoveries.

Event types, all with publisher_id ``freezer-dr.<hostname>``, on each topic
of ``[bus_notifications] topics`` of the exchange ``[DEFAULT]
control_exchange`` (messagingv2, like every OpenStack service's
notifications):

``freezer_dr.recovery.start`` (priority INFO)
    when a recovery begins; sent by :meth:`BusNotifier.started`, which the
    engine calls. Payload ``{"host", "incarnation", "reason",
    "started_at", "started"}``.
``freezer_dr.recovery.end`` (priority INFO)
    the host was recovered; payload: the whole report
    (:func:`freezer_dr.drivers.notifiers.reports.as_dict`).
``freezer_dr.recovery.error`` (priority ERROR)
    the recovery failed (the report's ``failed_step`` says where); same
    payload. A consumer reads ``<topic>.info`` and ``<topic>.error``.

oslo.messaging's Notifier logs and swallows a delivery error (right for
telemetry, wrong here: the notify step must know). This notifier listens to
that log record, in the sending thread only, and raises
:class:`~freezer_dr.drivers.notifiers.reports.NotificationError` instead;
the broker
confirms every notification it took (the rabbit driver publishes with
confirmations), and ``[bus_notifications] retry`` bounds the reconnection
attempts.
"""

import logging
import socket
import threading
import time

import oslo_messaging

from freezer_dr.conf import bus_notifications as bus_conf
from freezer_dr.drivers import base
from freezer_dr.drivers.notifiers import reports

LOG = logging.getLogger(__name__)

#: The logger of oslo.messaging's notification driver, which reports (and
#: swallows) a failed delivery.
_DRIVER_LOGGER = 'oslo_messaging.notify.messaging'


class BusNotifier(base.Notifier):
    """Publishes recovery notifications; see the module's doc.

    Built by stevedore as ``BusNotifier(conf=CONF)``: reads
    ``[bus_notifications]`` and the notification transport of ``conf``.
    ``transport`` (an oslo.messaging notification transport), ``topics``,
    ``retry`` and ``publisher_id`` override them (tests).
    """

    def __init__(self, conf=None, transport=None, topics=None, retry=None,
                 publisher_id=None):
        if conf is None and transport is None:
            from freezer_dr.conf import CONF as conf
        self._opts = reports.options(conf, bus_conf,
                                     {'topics': topics, 'retry': retry})
        if not self._opts['topics']:
            raise ValueError('[bus_notifications] topics is empty')
        #: The broker(s), for messages: ``host:port``, no credentials.
        self.where = 'the bus'
        if transport is None:
            transport = oslo_messaging.get_notification_transport(conf)
            self.where = _brokers(conf)
        self.publisher_id = publisher_id or ('freezer-dr.'
                                             + socket.gethostname())
        self._notifier = oslo_messaging.Notifier(
            transport, publisher_id=self.publisher_id, driver='messagingv2',
            topics=list(self._opts['topics']), retry=self._opts['retry'])

    def started(self, report):
        """Publish ``freezer_dr.recovery.start``: the recovery of this
        incarnation of ``report.host`` begins (at ``report.started_at``,
        epoch seconds; now when 0).

        :raises NotificationError: the broker did not take it.
        """
        started_at = report.started_at or time.time()
        payload = {'host': report.host, 'incarnation': report.incarnation,
                   'reason': report.reason, 'started_at': started_at,
                   'started': reports.iso(started_at)}
        self._send('info', reports.RECOVERY_START, payload)
        return 'bus: %s of %s published' % (reports.RECOVERY_START,
                                            report.host)

    def alert(self, alert):
        """Publish ``freezer_dr.alert`` (priority ERROR).

        :raises NotificationError: the broker did not take it.
        """
        self._send('error', reports.ALERT, reports.alert_dict(alert))
        return 'bus: %s %s published' % (reports.ALERT, alert.kind)

    def notify(self, report):
        event_type = reports.event_type(report)
        self._send('info' if report.recovered else 'error', event_type,
                   reports.as_dict(report))
        what = 'bus: %s of %s published on %s' % (
            event_type, report.host, ', '.join(self._opts['topics']))
        LOG.info('%s', what)
        return what

    def _send(self, priority, event_type, payload):
        catcher = _DeliveryErrors()
        logger = logging.getLogger(_DRIVER_LOGGER)
        logger.addHandler(catcher)
        try:
            getattr(self._notifier, priority)({}, event_type, payload)
        finally:
            logger.removeHandler(catcher)
        if catcher.errors:
            raise reports.NotificationError(
                'bus: %s was NOT published on %s (%s): %s' % (
                    event_type, ', '.join(self._opts['topics']),
                    self.where, '; '.join(catcher.errors)))


def _brokers(conf):
    """``broker host:port[, ...]`` of the notification transport."""
    try:
        url = (conf.oslo_messaging_notifications.transport_url
               or conf.transport_url)
        hosts = oslo_messaging.TransportURL.parse(conf, url).hosts
    except Exception:       # only for messages: never fail on it
        return 'the bus'
    if not hosts:
        return 'the bus'
    return 'broker ' + ', '.join('%s:%s' % (h.hostname, h.port or 5672)
                                 for h in hosts)


class _DeliveryErrors(logging.Handler):
    """Collects the delivery errors oslo.messaging logs in this thread."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self._thread = threading.get_ident()
        self.errors = []

    def emit(self, record):
        if record.thread != self._thread:
            return
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            self.errors.append('%s: %s' % (type(exc).__name__, exc))
        else:
            self.errors.append(record.getMessage()[:300])
