"""TEST-ONLY drivers, for engines and one-shot runs started by the tests.

Not installed as entry points: a test names them by import path in its
configuration (``[recovery] evacuator =
tests.functional.plugins:CountingEvacuator``, ``isolator =
tests.functional.plugins:CountingIsolator``). They keep what they did in
JSON Lines files under ``$FREEZER_DR_TEST_PLUGINS_DIR``, so that a test
counts calls across engine processes (a killed engine included).

Gates: when the file ``gate-<step>`` exists in that directory, the step
(``isolate``, ``evacuate``, ``notify``) writes ``reached-<step>`` and waits,
doing nothing, until ``open-<step>`` exists: the test kills the engine
there, at a known point of the recovery.
"""

import json
import os
import time

from freezer_dr.drivers import base
from freezer_dr.drivers.fencers import ipmi

GATE_TIMEOUT = 600.0


def plugins_dir():
    return os.environ['FREEZER_DR_TEST_PLUGINS_DIR']


def _append(name, record):
    with open(os.path.join(plugins_dir(), name + '.jsonl'), 'a') as f:
        f.write(json.dumps(record, sort_keys=True) + '\n')
        f.flush()
        os.fsync(f.fileno())


def records(directory, name):
    """What the plugins wrote to ``name`` (e.g. ``evacuated``)."""
    try:
        with open(os.path.join(str(directory), name + '.jsonl')) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def most_evacuations(directory):
    """The most times one instance was evacuated (0: none was)."""
    counts = {}
    for record in records(directory, 'evacuated'):
        counts[record['instance']] = counts.get(record['instance'], 0) + 1
    return max(counts.values(), default=0)


def gate(step):
    directory = plugins_dir()
    if not os.path.exists(os.path.join(directory, 'gate-' + step)):
        return
    opened = os.path.join(directory, 'open-' + step)
    if os.path.exists(opened):
        return
    with open(os.path.join(directory, 'reached-' + step), 'w') as f:
        f.write(str(os.getpid()))
    deadline = time.monotonic() + GATE_TIMEOUT
    while not os.path.exists(opened):
        if time.monotonic() > deadline:
            raise RuntimeError('test gate %s never opened' % step)
        time.sleep(0.05)


def instances(host):
    count = int(os.environ.get('FREEZER_DR_TEST_INSTANCES', '2'))
    return ['%s-vm-%d' % (host, i) for i in range(count)]


class CountingIsolator(base.Isolator):
    """Isolates (and re-arms) by writing it down."""

    def __init__(self, conf=None):
        pass

    def isolate(self, host):
        gate('isolate')
        _append('isolated', {'host': host, 'pid': os.getpid()})
        return base.done('forced down and disabled (test)')

    def rearm(self, host):
        _append('rearmed', {'host': host, 'pid': os.getpid()})
        return base.done('back in service (test)')


class CountingEvacuator(base.Evacuator):
    """Evacuates ``<host>-vm-0``, ``<host>-vm-1``, ... once each (as nova
    would: an instance already rebuilt is reported, not rebuilt again)."""

    def __init__(self, conf=None):
        pass

    def evacuate(self, host, guard=None):
        gate('evacuate')
        _append('evacuate-calls', {'host': host, 'pid': os.getpid()})
        done = {r['instance'] for r in records(plugins_dir(), 'evacuated')}
        results = []
        for instance in instances(host):
            if instance in done:
                results.append(base.InstanceResult(
                    instance, True, 'already ACTIVE on target',
                    project_id='p-test', target_host='target'))
                continue
            if guard is not None:
                guard()         # (before each request, as nova's does)
            _append('evacuated', {'instance': instance, 'host': host,
                                  'pid': os.getpid()})
            results.append(base.InstanceResult(
                instance, True, 'ACTIVE on target', project_id='p-test',
                target_host='target'))
        return results


class CountingNotifier(base.Notifier):
    def __init__(self, conf=None):
        pass

    def notify(self, report):
        gate('notify')
        _append('notified', {'host': report.host,
                             'recovered': report.recovered,
                             'failed_step': report.failed_step,
                             'instances': len(report.instances),
                             'pid': os.getpid()})
        return 'recorded'

    def alert(self, alert):
        _append('alerts', {'kind': alert.kind, 'host': alert.host,
                           'subject': alert.subject, 'pid': os.getpid()})
        return 'recorded'


class FailingNotifier(base.Notifier):
    """Always fails (an SMTP server that is down)."""

    def __init__(self, conf=None):
        pass

    def notify(self, report):
        _append('failed-notifications', {'host': report.host})
        raise ConnectionError('test notifier: the server is down')


class IpmiFencer(ipmi.IpmiFencer):
    """The real ipmi fencer, its credentials from
    ``$FREEZER_DR_TEST_IPMI_CREDENTIALS``."""

    def __init__(self, conf=None):
        super().__init__(
            credentials_file=os.environ['FREEZER_DR_TEST_IPMI_CREDENTIALS'],
            timeout=5.0, attempts=2, retry_delay=0.5)


class SwitchFencer(base.Fencer):
    """Confirms power-off unless the file ``power-fails`` exists."""

    CAN_CONFIRM = True

    def __init__(self, conf=None):
        pass

    def fence(self, host):
        failing = os.path.exists(os.path.join(plugins_dir(), 'power-fails'))
        _append('fenced', {'host': host, 'confirmed': not failing,
                           'pid': os.getpid()})
        if failing:
            return base.FenceResult(host, False, 'test BMC does not answer')
        return base.FenceResult(host, True, 'power off read back (test)')


class StaticMonitor(base.Monitor):
    """The hosts of ``$FREEZER_DR_TEST_FAILED_HOSTS`` (comma separated)."""

    def __init__(self, conf=None):
        pass

    def failed_hosts(self):
        value = os.environ.get('FREEZER_DR_TEST_FAILED_HOSTS', '')
        return [h for h in value.split(',') if h]
