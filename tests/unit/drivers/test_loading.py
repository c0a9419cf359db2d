"""Drivers load by name from their stevedore namespaces."""

import pytest

from freezer_dr import drivers
from freezer_dr.drivers import base


@pytest.mark.parametrize('namespace,name,kind', [
    (drivers.FENCERS, 'noop', base.Fencer),
    (drivers.NOTIFIERS, 'log', base.Notifier),
    (drivers.MONITORS, 'none', base.Monitor),
    (drivers.EVACUATORS, 'noop', base.Evacuator),
    (drivers.ISOLATORS, 'noop', base.Isolator),
])
def test_builtin_drivers_load_by_name(namespace, name, kind):
    assert isinstance(drivers.load(namespace, name), kind)
    assert name in drivers.available(namespace)


def test_a_missing_driver_is_named_with_what_is_installed():
    with pytest.raises(drivers.DriverNotFound) as raised:
        drivers.load(drivers.FENCERS, 'ipmi-typo')
    message = str(raised.value)
    assert "no freezer_dr.fencers driver named 'ipmi-typo'" in message
    assert 'installed: ipmi, libvirt, noop, redfish' in message


def test_the_noop_fencer_cannot_confirm():
    fencer = drivers.load(drivers.FENCERS, 'noop')
    result = fencer.fence('compute-1')
    assert fencer.CAN_CONFIRM is False
    assert result.confirmed is False and 'nothing was done' in result.detail


def test_a_broken_driver_is_refused_with_the_reason(tmp_path):
    with pytest.raises(drivers.DriverNotFound) as raised:
        drivers.load(drivers.FENCERS, 'ipmi',
                     credentials_file=str(tmp_path / 'missing.yml'))
    assert "the freezer_dr.fencers driver 'ipmi' cannot be loaded" in \
        str(raised.value)
    assert 'missing.yml' in str(raised.value)


@pytest.mark.parametrize('namespace,names', [
    (drivers.FENCERS, ['ipmi', 'libvirt', 'noop', 'redfish']),
    (drivers.ISOLATORS, ['noop', 'nova']),
    (drivers.EVACUATORS, ['noop', 'nova']),
    (drivers.NOTIFIERS, ['bus', 'email', 'log', 'webhook']),
    (drivers.MONITORS, ['heartbeat', 'none', 'nova', 'static']),
])
def test_entry_point_names_stay_what_configurations_use(namespace, names):
    assert drivers.available(namespace) == names
