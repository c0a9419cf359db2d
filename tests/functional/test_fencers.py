"""What the redfish and libvirt fencers do beyond the contract
(tests/contract/test_fencers.py), against their real peers
(tests/peers/fencers.py): TLS verification, the ways to name a Redfish
system, per-host libvirt URIs, the credentials file's new keys, and options
read from the configuration with explicit arguments winning."""

from oslo_config import cfg
import pytest

from freezer_dr import drivers
from freezer_dr.conf import fencer as fencer_conf
from freezer_dr.conf import ipmi as ipmi_conf
from freezer_dr.drivers.fencers import confirming as fencing
from freezer_dr.drivers.fencers import credentials
from tests.peers import fencers as peers


def _redfish(emulator, **kwargs):
    entry = credentials.Credentials(
        '', 623, emulator.username, emulator.password, None,
        url=emulator.url, system=kwargs.pop('system', None))
    return drivers.load(drivers.FENCERS, 'redfish', timeout=5.0,
                        attempts=1, credentials={'compute-1': entry},
                        **kwargs)


@pytest.fixture
def tls_emulator(processes, tmp_path):
    tls = peers.self_signed_certificate(tmp_path)
    return peers.RedfishEmulator(processes, tmp_path, 'compute-1', tls=tls)


def test_redfish_refuses_a_certificate_it_cannot_verify(tls_emulator,
                                                        caplog):
    result = _redfish(tls_emulator).fence('compute-1')
    assert not result.confirmed
    assert 'certificate verify failed' in result.detail
    assert tls_emulator.power() == 'on'
    assert tls_emulator.password not in result.detail + caplog.text


@pytest.mark.parametrize('how', ['ca_file', 'no verification'])
def test_redfish_over_tls(tls_emulator, how):
    if how == 'ca_file':
        fencer = _redfish(tls_emulator, ca_file=tls_emulator.tls[0])
    else:
        fencer = _redfish(tls_emulator, verify_tls=False)
    result = fencer.fence('compute-1')
    assert result.confirmed, result.detail
    assert tls_emulator.power() == 'off'


@pytest.mark.parametrize('system', [
    None, peers.TEST_DOMAIN_UUID,
    '/redfish/v1/Systems/' + peers.TEST_DOMAIN_UUID,
    'http://elsewhere/redfish/v1/Systems/' + peers.TEST_DOMAIN_UUID,
    'no-such-system'])
def test_redfish_system_by_path_id_or_default(processes, tmp_path, system):
    emulator = peers.RedfishEmulator(processes, tmp_path, 'c1')
    result = _redfish(emulator, system=system).fence('compute-1')
    if system == 'no-such-system':
        assert not result.confirmed
        assert 'ResourceNotFoundError' in result.detail
        assert emulator.power() == 'on'
    else:
        assert result.confirmed, result.detail
        assert emulator.power() == 'off'


@pytest.fixture
def hypervisor():
    driver = peers.LibvirtTestDriver()
    yield driver
    driver.close()


def test_libvirt_uri_per_host_and_unknown_domains(hypervisor, tmp_path):
    on = hypervisor.add_domain()
    servers = tmp_path / 'servers.yml'
    servers.write_text(
        'servers:\n'
        '  - {hostname: compute-1, domain-name: %s,\n'
        '     libvirt-uri: "test:///default"}\n'
        '  - {hostname: compute-2, domain-name: nowhere,\n'
        '     libvirt-uri: "test:///default"}\n'
        '  - {hostname: compute-3, fencer-ip: 10.0.0.3, fencer-user: u,\n'
        '     fencer-password: pw}\n' % on)
    fencer = drivers.load(drivers.FENCERS, 'libvirt', attempts=1,
                          credentials_file=str(servers),
                          uri='qemu+tcp://127.0.0.1:1/system')
    result = fencer.fence('compute-1')
    assert result.confirmed, result.detail
    assert hypervisor.power(on) == 'off'
    missing = fencer.fence('compute-2')
    assert not missing.confirmed
    assert 'domain nowhere: Domain not found' in missing.detail
    assert fencer.fence('compute-3')[:3] == (
        'compute-3', False, 'no libvirt domain (domain-name) for this host')


def test_credentials_keys_for_redfish_and_libvirt():
    found = credentials.parse(
        'servers:\n'
        '  - {hostname: r1, fencer-url: "https://10.1.0.1:8443",\n'
        '     redfish-system: /redfish/v1/Systems/1, fencer-user: admin,\n'
        '     fencer-password: pw1}\n'
        '  - {hostname: v1, domain-name: compute-v1,\n'
        '     libvirt-uri: "qemu+ssh://root@hv/system"}\n'
        'hosts:\n'
        '  r2: {url: "https://10.1.0.2", system: "1", username: u,\n'
        '       password: pw2}\n'
        '  v2: {domain: compute-v2}\n')
    assert found['r1'].url == 'https://10.1.0.1:8443'
    assert found['r1'].system == '/redfish/v1/Systems/1'
    assert found['r1'].has_login and not found['v1'].has_login
    assert found['v1'].uri == 'qemu+ssh://root@hv/system'
    assert found['v1'].domain == 'compute-v1'
    assert found['r2'].system == '1' and found['v2'].uri is None
    assert 'pw1' not in repr(found['r1'])
    # Neither a whole login nor a domain: refused.
    with pytest.raises(credentials.CredentialsError):
        credentials.parse('hosts:\n  c: {url: "https://x", username: u}\n')


def test_options_come_from_the_fencer_group_and_arguments_win():
    conf = cfg.ConfigOpts()
    conf([], project='freezer-dr-test')
    fencing.options(conf, ipmi_conf)        # registers [ipmi]
    conf.set_override('timeout', 4.5, group='ipmi')
    conf.set_override('soft_off_first', True, group='ipmi')
    values = fencing.options(conf, ipmi_conf, attempts=7, timeout=None)
    assert values['timeout'] == 4.5 and values['soft_off_first'] is True
    assert values['attempts'] == 7
    assert fencing.options(None, ipmi_conf)['timeout'] == 10.0
    with pytest.raises(TypeError):
        fencing.options(conf, ipmi_conf, no_such_option=1)


def test_the_credentials_file_comes_from_the_fencer_group(tmp_path):
    servers = tmp_path / 'servers.yml'
    servers.write_text('hosts:\n  c1: {domain: d1}\n')
    conf = cfg.ConfigOpts()
    conf([], project='freezer-dr-test')
    conf.register_opts([cfg.StrOpt('fencer')], group='recovery')
    conf.set_override('fencer', 'libvirt', group='recovery')
    fencing.options(conf, fencer_conf)      # registers [fencer]
    conf.set_override('credentials_file', str(servers), group='fencer')
    fencer = drivers.load(drivers.FENCERS, conf.recovery.fencer, conf=conf)
    assert fencer.CAN_CONFIRM
    conf.set_override('credentials_file', str(tmp_path / 'gone.yml'),
                      group='fencer')
    with pytest.raises(drivers.DriverNotFound) as raised:
        drivers.load(drivers.FENCERS, 'redfish', conf=conf)
    assert 'gone.yml' in str(raised.value)


def test_an_override_in_one_configuration_stays_there():
    # oslo.config shares the option table of an OptGroup object among the
    # ConfigOpts that register it; ours register copies.
    first, second = cfg.ConfigOpts(), cfg.ConfigOpts()
    for conf in (first, second):
        conf([], project='freezer-dr-test')
        fencing.options(conf, ipmi_conf)
    first.set_override('attempts', 9, group='ipmi')
    assert first.ipmi.attempts == 9
    assert second.ipmi.attempts == 3
    assert fencing.options(None, ipmi_conf)['attempts'] == 3
