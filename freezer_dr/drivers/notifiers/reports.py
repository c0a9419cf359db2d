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

"""What the notifiers share: the error they raise, a report as a JSON-able
dict, its event type, times and a plain-text rendering.

Every notifier raises :class:`NotificationError` when it could not deliver,
with a message that says to whom or where and why, and never a password
or another secret of its configuration (an SMTP password, a webhook URL's
token, the broker's credentials).
"""

import time

#: The event types of the ``bus`` notifier (and of the ``json`` webhook).
RECOVERY_START = 'freezer_dr.recovery.start'
RECOVERY_END = 'freezer_dr.recovery.end'
RECOVERY_ERROR = 'freezer_dr.recovery.error'
#: The event type of an :class:`~freezer_dr.drivers.base.Alert`.
ALERT = 'freezer_dr.alert'


class NotificationError(Exception):
    """A notification was not (or not wholly) delivered; says why."""


def event_type(report):
    """``freezer_dr.recovery.end`` for a recovered host,
    ``freezer_dr.recovery.error`` otherwise."""
    return RECOVERY_END if report.recovered else RECOVERY_ERROR


def as_dict(report):
    """The :class:`~freezer_dr.drivers.base.RecoveryReport` as a JSON-able
    dict: its fields, steps and instances as dicts, times as epoch seconds
    and as ISO 8601 UTC strings (``started``, ``finished``)."""
    return {
        'host': report.host,
        'incarnation': report.incarnation,
        'reason': report.reason,
        'recovered': report.recovered,
        'failed_step': report.failed_step,
        'summary': report.summary,
        'started_at': report.started_at,
        'finished_at': report.finished_at,
        'started': iso(report.started_at),
        'finished': iso(report.finished_at),
        'steps': [dict(step._asdict()) for step in report.steps],
        'instances': [dict(instance._asdict())
                      for instance in report.instances],
        'projects': sorted(report.projects),
        'held': report.held,
        'next_step': report.next_step,
    }


def alert_dict(alert):
    """The :class:`~freezer_dr.drivers.base.Alert` as a JSON-able dict
    (``raised`` is its time as ISO 8601 UTC)."""
    found = dict(alert._asdict())
    found['raised'] = iso(alert.raised_at)
    return found


def alert_text(alert):
    """The alert for people: its subject, when, then its text."""
    return '%s\n%s\n\n%s\n' % (alert.subject, when(alert.raised_at),
                                alert.text)


def iso(epoch):
    """Epoch seconds as ``2026-11-26T03:51:37Z`` ('' for 0)."""
    if not epoch:
        return ''
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(epoch))


def when(epoch):
    """Epoch seconds as ``2026-11-26 03:51:37 UTC`` for people ('unknown'
    for 0)."""
    if not epoch:
        return 'unknown'
    return time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(epoch))


def outcome(instance):
    """One instance's fate in a few words."""
    if instance.ok:
        if not instance.target_host and instance.detail.startswith(
                'deleted'):
            return 'deleted, nothing to evacuate'
        return 'evacuated'
    if not instance.target_host and instance.detail.startswith('still on '):
        return 'DOWN, not moved'
    return 'NOT evacuated'


def instance_line(instance, host):
    """``name (id), project p: host -> new host: outcome (detail)``."""
    label = ('%s (%s)' % (instance.name, instance.id) if instance.name
             else instance.id)
    return '%s, project %s: %s -> %s: %s (%s)' % (
        label, instance.project_id or '?', host,
        instance.target_host or '?', outcome(instance), instance.detail)


def text(report):
    """The report as plain text: the summary, when, the steps and every
    instance (the ``slack`` webhook's message, log lines)."""
    lines = [report.summary,
             'Host: %s (incarnation %s)' % (report.host, report.incarnation),
             'Declared dead: %s (%s)' % (when(report.started_at),
                                         report.reason)]
    if report.held:
        lines.append('HELD: nothing was fenced or moved. An operator must '
                     'act.')
    elif not report.recovered:
        lines.append('Failed step: %s. An operator must act.'
                     % report.failed_step)
    if report.next_step:
        lines.append('Next: %s' % report.next_step)
    if report.steps:
        lines.append('Steps:')
        lines.extend('  %s: %s in %.2f s: %s' % (s.name, s.status,
                                                  s.seconds, s.detail)
                     for s in report.steps)
    if report.instances:
        lines.append('Instances:')
        lines.extend('  ' + instance_line(instance, report.host)
                     for instance in report.instances)
    else:
        lines.append('Instances: none evacuated')
    return '\n'.join(lines)


def options(conf, module, overrides):
    """The values of the option group of conf ``module`` (a
    freezer_dr.conf module with ``GROUP``, ``opts``, ``register_opts``):
    from ``conf`` (the group is registered on it if need be) or, when
    ``conf`` is None, the options' defaults; then every override that is
    not None."""
    if conf is not None:
        module.register_opts(conf)
        group = conf[module.GROUP.name]
        values = {opt.dest: group[opt.dest] for opt in module.opts}
    else:
        values = {opt.dest: opt.default for opt in module.opts}
    values.update((k, v) for k, v in overrides.items() if v is not None)
    return values
