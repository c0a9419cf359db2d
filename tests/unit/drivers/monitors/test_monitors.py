"""The one-shot's monitors: which nova-compute services the nova monitor
reports failed (nova's answer stood in for; the real nova is in
tests/functional/test_engine_on_openstack.py), and the static one."""

import logging
import types

from oslo_config import cfg

from freezer_dr.conf import static_monitor
from freezer_dr.drivers.monitors import nova
from freezer_dr.drivers.monitors import static


class _Nova:
    def __init__(self, services):
        self._services = services

    def compute_services(self, host=None):
        return self._services

    def check(self):
        return []


def _service(host, state='up', status='enabled', forced_down=False,
             reason=None):
    return types.SimpleNamespace(host=host, state=state, status=status,
                                 forced_down=forced_down,
                                 disabled_reason=reason)


def test_nova_reports_down_and_forced_down_hosts_only():
    monitor = nova.NovaMonitor(None, access=_Nova([
        _service('up-1'),
        _service('down-1', state='down'),
        _service('forced-1', state='up', status='disabled',
                 forced_down=True, reason='freezer-dr: dead'),
        _service('down-2', state='down'),
        _service('down-2', state='down'),        # (two cells)
        _service('up-disabled', status='disabled', reason='drain'),
    ]))
    assert monitor.failed_hosts() == ['down-1', 'down-2', 'forced-1']


def test_a_host_an_operator_disabled_and_powered_off_is_left_alone(
        caplog):
    caplog.set_level(logging.INFO)
    monitor = nova.NovaMonitor(None, access=_Nova([
        _service('maint-1', state='down', status='disabled',
                 reason='hardware swap')]))
    assert monitor.failed_hosts() == []
    assert 'maint-1 is down but was disabled (hardware swap)' in caplog.text


def test_static_lists_the_configured_hosts():
    conf = cfg.ConfigOpts()
    static_monitor.register_opts(conf)
    conf([], default_config_files=[])
    monitor = static.StaticMonitor(conf)
    assert monitor.failed_hosts() == []
    assert monitor.validate()
    conf.set_override('hosts', ['c-1', ' c-2 '], 'static_monitor')
    monitor = static.StaticMonitor(conf)
    assert monitor.failed_hosts() == ['c-1', 'c-2']
    assert monitor.validate() == []
