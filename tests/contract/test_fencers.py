"""One contract for every installed fencer plugin, each against its real
peer on loopback (tests/peers/fencers.py): noop (none), ipmi (the BMC
simulator), redfish (sushy-tools' emulator), libvirt (libvirt's test
driver). What the fencers do beyond this contract is in
tests/functional/test_ipmi.py and tests/functional/test_fencers.py.

Every fencer is built as the engine builds it, ``cls(conf=CONF)``, from a
configuration file naming the credentials file. A fencer that can confirm
confirms a power-off only when its peer shows the host off; every failure
is an unconfirmed result with the reason, within a bounded time, never an
exception, and no password ever shows in a result or a log line.
"""

import logging
import time

from oslo_config import cfg
import pytest
import yaml

from freezer_dr import drivers
from freezer_dr.drivers import base
from tests.peers import fencers as peers

#: Seconds within which any fencer must give up on a broken peer (with
#: the short timeouts below).
BOUND = 30


class NoopSide:
    options = {}
    secrets = ()

    def __init__(self, processes, tmp_path):
        self._hosts = {}

    def add_host(self, name, on=True):
        self._hosts[name] = 'on' if on else 'off'
        return {'address': '127.0.0.1', 'username': 'admin',
                'password': 'noop-secret', 'domain': name}

    def power(self, name):
        return self._hosts[name]

    def unreachable(self):
        return self.add_host('gone')

    def wrong_password(self, name):
        return self.add_host(name)


class IpmiSide:
    options = {'ipmi': {'timeout': 3, 'attempts': 2, 'retry_delay': 0.1}}

    def __init__(self, processes, tmp_path):
        self._processes, self._tmp = processes, tmp_path
        self._bmcs = {}
        self.secrets = []

    def add_host(self, name, on=True):
        bmc = peers.Bmc(self._processes, self._tmp, name)
        self._bmcs[name] = bmc
        self.secrets.append(bmc.password)
        if not on:
            assert peers.ipmitool(bmc, 'power', 'off').returncode == 0
        return {'address': '127.0.0.1', 'port': bmc.port,
                'username': 'admin', 'password': bmc.password}

    def power(self, name):
        return self._bmcs[name].status()['power']

    def unreachable(self):
        self.secrets.append('ipmi-unreachable-secret')
        return {'address': '127.0.0.1', 'port': peers.free_udp_port(),
                'username': 'admin', 'password': self.secrets[-1]}

    def wrong_password(self, name):
        entry = self.add_host(name)
        self.secrets.append('ipmi-wrong-secret')
        return dict(entry, password=self.secrets[-1])


class RedfishSide:
    options = {'redfish': {'timeout': 5, 'attempts': 2, 'retry_delay': 0.1,
                           'connect_timeout': 2}}

    def __init__(self, processes, tmp_path):
        self._processes, self._tmp = processes, tmp_path
        self._emulators = {}
        self.secrets = []

    def add_host(self, name, on=True):
        emulator = peers.RedfishEmulator(self._processes, self._tmp, name)
        self._emulators[name] = emulator
        self.secrets.append(emulator.password)
        if not on:
            emulator.force_off()
        # The system by its Id here; by its path and by default in
        # tests/functional/test_fencers.py.
        return {'url': emulator.url, 'username': emulator.username,
                'password': emulator.password,
                'system': peers.TEST_DOMAIN_UUID}

    def power(self, name):
        return self._emulators[name].power()

    def unreachable(self):
        self.secrets.append('redfish-unreachable-secret')
        return {'url': 'http://127.0.0.1:%d' % peers.free_tcp_port(),
                'username': 'admin', 'password': self.secrets[-1]}

    def wrong_password(self, name):
        entry = self.add_host(name)
        self.secrets.append('redfish-wrong-secret')
        return dict(entry, password=self.secrets[-1])


class LibvirtSide:
    options = {'libvirt': {'timeout': 3, 'attempts': 2, 'retry_delay': 0.1,
                           'uri': peers.LibvirtTestDriver.URI}}
    secrets = ()

    def __init__(self, processes, tmp_path):
        self._driver = peers.LibvirtTestDriver()
        self._domains = {}

    def close(self):
        self._driver.close()

    def add_host(self, name, on=True):
        self._domains[name] = self._driver.add_domain(running=on)
        # The URI from [libvirt] uri here; per host in
        # tests/functional/test_fencers.py.
        return {'domain': self._domains[name]}

    def power(self, name):
        return self._driver.power(self._domains[name])

    def unreachable(self):
        # Nothing listens there: libvirtd's TCP transport is refused.
        return {'domain': 'compute-x', 'uri': 'qemu+tcp://127.0.0.1:%d/'
                'system' % peers.free_tcp_port()}

    def wrong_password(self, name):
        pytest.skip('libvirt authenticates by its transport (SSH keys, '
                    'TLS certificates): no password to get wrong')


SIDES = {'noop': NoopSide, 'ipmi': IpmiSide, 'redfish': RedfishSide,
         'libvirt': LibvirtSide}


def test_every_installed_fencer_has_a_peer_here():
    assert set(drivers.available(drivers.FENCERS)) <= set(SIDES), (
        'add a peer for the new fencer to this contract suite')


@pytest.fixture(params=drivers.available(drivers.FENCERS))
def side(request, processes, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    made = SIDES[request.param](processes, tmp_path)
    made.name = request.param
    yield made
    if hasattr(made, 'close'):
        made.close()


def build(side, tmp_path, entries):
    """The fencer, built as the engine builds it: ``cls(conf=CONF)``."""
    servers = tmp_path / 'hosts.yml'
    servers.write_text(yaml.safe_dump({'hosts': entries}))
    sections = {'fencer': {'credentials_file': str(servers)},
                'recovery': {'fencer': side.name}}
    sections.update(side.options)
    config = tmp_path / 'fencing.conf'
    config.write_text(''.join(
        '[%s]\n%s' % (section, ''.join('%s = %s\n' % item
                                       for item in values.items()))
        for section, values in sections.items()))
    conf = cfg.ConfigOpts()
    conf(['--config-file', str(config)], project='freezer-dr-test')
    return drivers.load(drivers.FENCERS, side.name, conf=conf)


def assert_no_secret(side, result, caplog):
    for secret in side.secrets:
        assert secret not in result.detail
        assert secret not in caplog.text


def test_fencing_a_powered_on_host(side, tmp_path, caplog):
    fencer = build(side, tmp_path, {'compute-1': side.add_host('compute-1')})
    assert side.power('compute-1') == 'on'
    result = fencer.fence('compute-1')
    assert result.host == 'compute-1'
    if side.name == 'noop':
        assert fencer.CAN_CONFIRM is False
        assert result.confirmed is False and result.detail
        assert side.power('compute-1') == 'on'
    else:
        assert fencer.CAN_CONFIRM is True
        assert result.confirmed is True, result.detail
        assert 'power off confirmed' in result.detail
        assert side.power('compute-1') == 'off'
    assert_no_secret(side, result, caplog)


def test_fencing_a_host_already_off(side, tmp_path, caplog):
    fencer = build(side, tmp_path,
                   {'compute-1': side.add_host('compute-1', on=False)})
    assert side.power('compute-1') == 'off'
    result = fencer.fence('compute-1')
    assert result.confirmed is fencer.CAN_CONFIRM, result.detail
    assert side.power('compute-1') == 'off'
    if fencer.CAN_CONFIRM:
        assert 'already' in result.detail
        # (The recovery reads it again after a pause: a BMC that says
        # "already off" may be lying, or be another host's.)
        assert result.already_off is True
    assert_no_secret(side, result, caplog)


def test_the_power_state_is_read_from_the_peer(side, tmp_path, caplog):
    fencer = build(side, tmp_path, {'compute-1': side.add_host('compute-1')})
    if not fencer.CAN_CONFIRM:
        assert fencer.power_state('compute-1') is None
        return
    assert fencer.power_state('compute-1') == 'on'
    result = fencer.fence('compute-1')
    assert result.confirmed and result.already_off is False
    assert fencer.power_state('compute-1') == 'off'
    assert fencer.power_state('compute-2') is None    # no credentials


def test_a_host_without_credentials_is_not_fenced(side, tmp_path, caplog):
    fencer = build(side, tmp_path, {'compute-1': side.add_host('compute-1')})
    result = fencer.fence('compute-2')
    assert result.host == 'compute-2'
    assert result.confirmed is False
    assert result.detail
    if fencer.CAN_CONFIRM:
        assert 'for this host' in result.detail
        assert side.power('compute-1') == 'on'


def test_start_up_checks_name_what_each_host_lacks(side, tmp_path, caplog):
    """What the engine asks every fencer at start (recovery/factory.py):
    the hosts it has credentials for, and for any host why it could not
    fence it; one without any host at all is a configuration error naming
    the credentials file. None of it touches the peer."""
    fencer = build(side, tmp_path, {'compute-1': side.add_host('compute-1')})
    if not fencer.CAN_CONFIRM:
        # (Refused at start unless every host is in the override: see
        # tests/unit/recovery/test_factory.py.)
        assert fencer.hosts() == []
        assert fencer.check_host('compute-1') == ''
        return
    assert fencer.validate() == []
    assert fencer.hosts() == ['compute-1']
    assert fencer.check_host('compute-1') == ''
    assert 'for this host' in fencer.check_host('compute-2')
    assert side.power('compute-1') == 'on'
    empty = build(side, tmp_path, {})
    with pytest.raises(base.ConfigurationError) as error:
        empty.validate()
    assert error.value.option == fencer.HOSTS_OPTION == \
        '[fencer] credentials_file'
    assert_no_secret(side, base.FenceResult('', False, str(error.value)),
                     caplog)


@pytest.mark.parametrize('failure', ['unreachable', 'wrong password'])
def test_a_broken_peer_is_an_unconfirmed_result_in_bounded_time(
        side, tmp_path, caplog, failure):
    if failure == 'unreachable':
        entry = side.unreachable()
    else:
        entry = side.wrong_password('compute-1')
    fencer = build(side, tmp_path, {'compute-1': entry})
    began = time.monotonic()
    result = fencer.fence('compute-1')
    took = time.monotonic() - began
    assert result.confirmed is False
    assert result.detail and result.detail != 'not tried'
    assert took < BOUND, (took, result.detail)
    if fencer.CAN_CONFIRM:
        assert 'attempt 2 of 2' in caplog.text
    if failure == 'wrong password' and side.name != 'noop':
        assert side.power('compute-1') == 'on'
    assert_no_secret(side, result, caplog)


def test_two_hosts_on_one_bmc_refuse_start_up(side, tmp_path, caplog):
    """Issue 12: a credentials file that maps two hosts to the same device
    (a copy-paste) would have a fence of one power the other off: every
    fencer that confirms refuses it at start, naming both hosts."""
    entry = side.add_host('compute-1')
    fencer = build(side, tmp_path, {'compute-1': entry, 'compute-9': entry})
    if not fencer.CAN_CONFIRM:
        return
    with pytest.raises(base.ConfigurationError) as error:
        fencer.validate()
    assert error.value.option == '[fencer] credentials_file'
    assert 'compute-1 and compute-9' in str(error.value)
    assert side.power('compute-1') == 'on'
