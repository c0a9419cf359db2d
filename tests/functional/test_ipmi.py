"""The ipmi fencer against a BMC simulator speaking IPMI over UDP on
loopback (pyghmi's BMC server, tests/peers/bmc_simulator.py), and through
the recovery workflow."""

import os
import subprocess
import sys
import time

from oslo_config import cfg
import pytest

from freezer_dr import drivers
from freezer_dr.drivers.fencers import credentials
from freezer_dr.journal import api
from freezer_dr.recovery import workflow
from tests.functional.standins import Evacuator
from tests.functional.standins import Notifier
from tests.peers import fencers as peers


def test_power_off_is_confirmed_by_reading_back(processes, tmp_path):
    bmc = peers.Bmc(processes, tmp_path, 'compute-1')
    fencer = drivers.load(drivers.FENCERS, 'ipmi', credentials_file=(
        peers.credentials_file(tmp_path, {'compute-1': (bmc.port,
                                                        bmc.password)})))
    result = fencer.fence('compute-1')
    assert result.confirmed, result.detail
    assert 'power off confirmed' in result.detail
    assert bmc.status() == {'power': 'off', 'counts': {
        'power_off': 1, 'power_on': 0, 'soft_off': 0}}
    # Fencing a host already off confirms without powering off again.
    assert fencer.fence('compute-1').confirmed
    assert bmc.status()['counts']['power_off'] == 1


@pytest.mark.parametrize('case', ['wrong password', 'unreachable',
                                  'refuses to power off', 'no credentials'])
def test_failures_are_unconfirmed_results_and_nothing_is_evacuated(
        processes, tmp_path, journal, case):
    if case == 'refuses to power off':
        bmc = peers.Bmc(processes, tmp_path, 'compute-2', '--refuse-off')
        entries = {'compute-2': (bmc.port, bmc.password)}
    elif case == 'wrong password':
        bmc = peers.Bmc(processes, tmp_path, 'compute-2')
        entries = {'compute-2': (bmc.port, 'not-the-password')}
    elif case == 'unreachable':
        entries = {'compute-2': (peers.free_udp_port(), 'x')}
    else:
        entries = {'compute-9': (1, 'x')}
    fencer = drivers.load(drivers.FENCERS, 'ipmi',
                          credentials_file=peers.credentials_file(
                              tmp_path, entries),
                          timeout=2.0, attempts=2, retry_delay=0.2)
    began = time.monotonic()
    evacuator, notifier = Evacuator(), Notifier()
    outcome = workflow.Workflow(journal, fencer, evacuator,
                                {'test': notifier}).run(
        'compute-2', 'boot-a', 'declared dead')
    assert time.monotonic() - began < 120
    assert not outcome.recovered
    assert evacuator.evacuated == []
    assert notifier.sent == ['could NOT recover compute-2']
    fence = journal.steps(journal.history('compute-2')[0].id)[0]
    assert fence.status == api.FAILED
    assert 'safety rule 1' in fence.detail
    if case == 'refuses to power off':
        assert 'still reports power on' in fence.detail
        assert bmc.status()['counts']['power_off'] == 2
    if case == 'no credentials':
        assert 'no BMC credentials' in fence.detail
    if case == 'unreachable':
        assert 'no answer' in fence.detail
    # The password never shows in what is journaled.
    assert 's3cret' not in fence.detail


def test_both_credentials_formats_and_no_password_in_repr():
    upstream = credentials.parse(
        'servers:\n  - hostname: c1\n    ip-addr: 10.0.0.1\n'
        '    fencer-ip: 10.1.0.1\n    fencer-user: admin\n'
        '    fencer-password: pw1\n    domain-name: c1\n')
    ours = credentials.parse(
        'hosts:\n  c2: {address: 10.1.0.2, port: 6230, username: root, '
        'password: pw2}\n')
    assert upstream['c1'] == credentials.Credentials('10.1.0.1', 623,
                                                     'admin', 'pw1', 'c1')
    assert ours['c2'].port == 6230 and ours['c2'].password == 'pw2'
    assert 'pw1' not in repr(upstream['c1'])
    for bad in ('[1, 2]', 'servers: 3', 'hosts:\n  c: {address: a}',
                'servers:\n  - {fencer-ip: x}', ': : :'):
        with pytest.raises(credentials.CredentialsError):
            credentials.parse(bad)


def test_fencer_confirms_and_refuses_in_a_process_of_its_own():
    # The same fencer and simulator from a plain script, as an operator
    # would try it: power-off confirmed, a stuck BMC unconfirmed.
    result = subprocess.run(
        [sys.executable, os.path.join(os.path.dirname(__file__),
                                      'ipmi_smoke.py')],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "host='good', confirmed=True" in result.stdout
    assert "host='stuck', confirmed=False" in result.stdout
    assert "'power': 'off', 'counts': {'power_off': 1" in result.stdout


def test_every_fence_gets_a_fresh_session_to_the_same_bmc(processes,
                                                          tmp_path):
    # pyghmi 1.6.19 gave the second session to a BMC (same address, user,
    # password, port) in a process the first one back, logged out and
    # "still logging in" (TypeError on logoutexpiry None): the fencer
    # hands pyghmi bytes so that its session table forgets the old one.
    bmc = peers.Bmc(processes, tmp_path, 'compute-1')
    fencer = drivers.load(drivers.FENCERS, 'ipmi', attempts=1,
                          credentials_file=peers.credentials_file(
                              tmp_path, {'compute-1': (bmc.port,
                                                       bmc.password)}))
    for round_ in (1, 2, 3):
        result = fencer.fence('compute-1')
        assert result.confirmed, result.detail
        assert 'hard power off; power off confirmed' in result.detail
        assert bmc.status()['counts']['power_off'] == round_
        assert peers.ipmitool(bmc, 'power', 'on').returncode == 0
        assert bmc.status()['power'] == 'on'


def test_ipmitool_reads_and_powers_off_the_simulator(processes, tmp_path):
    bmc = peers.Bmc(processes, tmp_path, 'compute-1')
    status = peers.ipmitool(bmc, 'power', 'status')
    assert status.returncode == 0, status.stderr
    assert 'Chassis Power is on' in status.stdout
    off = peers.ipmitool(bmc, 'power', 'off')
    assert off.returncode == 0, off.stderr
    assert bmc.status()['power'] == 'off'
    assert 'Chassis Power is off' in peers.ipmitool(bmc, 'power',
                                                    'status').stdout
    wrong = peers.ipmitool(bmc, 'power', 'status', password='not-it')
    assert wrong.returncode != 0
    assert bmc.status()['counts'] == {'power_off': 1, 'power_on': 0,
                                      'soft_off': 0}


@pytest.mark.parametrize('os_answers', [True, False])
def test_soft_off_first_then_hard_off(processes, tmp_path, os_answers):
    bmc = peers.Bmc(processes, tmp_path, 'compute-1',
                    *([] if os_answers else ['--ignore-soft-off']))
    config = tmp_path / 'freezer-dr.conf'
    config.write_text(
        '[fencer]\ncredentials_file = %s\n'
        '[ipmi]\nsoft_off_first = true\nsoft_off_timeout = 1.5\n'
        'timeout = 5\nattempts = 1\n' % peers.credentials_file(
            tmp_path, {'compute-1': (bmc.port, bmc.password)}))
    conf = cfg.ConfigOpts()
    conf(['--config-file', str(config)], project='freezer-dr-test')
    fencer = drivers.load(drivers.FENCERS, 'ipmi', conf=conf)
    began = time.monotonic()
    result = fencer.fence('compute-1')
    took = time.monotonic() - began
    assert result.confirmed, result.detail
    counts = bmc.status()['counts']
    assert counts['soft_off'] == 1
    if os_answers:
        assert result.detail.startswith('soft power off; power off '
                                        'confirmed')
        # (No hard power off: it did not wait for soft_off_timeout. How
        # long the BMC took is a timing, not judged here.)
        assert counts['power_off'] == 0
    else:
        assert result.detail.startswith('no soft power off within 1.5 s; '
                                        'hard power off; power off '
                                        'confirmed')
        assert counts['power_off'] == 1
        # It waited for the soft power off first (a lower bound only).
        assert took >= 1.5
