"""The systemd units in etc/systemd/ start the commands this package
installs, the long-running ones as Type=notify (they tell systemd READY
and STOPPING), and reload with SIGHUP."""

import configparser
import os

import pytest

TOP = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir)
UNITS = os.path.join(TOP, 'etc', 'systemd')


def _unit(name):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(os.path.join(UNITS, name))
    return parser


def _console_scripts():
    setup = configparser.ConfigParser(interpolation=None)
    setup.read(os.path.join(TOP, 'setup.cfg'))
    lines = setup['entry_points']['console_scripts'].strip().splitlines()
    return {line.split('=')[0].strip() for line in lines}


@pytest.mark.parametrize('name, command, kind', [
    ('freezer-dr-engine.service', 'freezer-dr-engine', 'notify'),
    ('freezer-dr-agent.service', 'freezer-dr-agent', 'notify'),
    ('freezer-dr.service', 'freezer-dr', 'oneshot'),
])
def test_units_start_installed_commands(name, command, kind):
    service = _unit(name)['Service']
    program = os.path.basename(service['ExecStart'].split()[0])
    assert program == command and command in _console_scripts()
    assert '--config-file /etc/freezer-dr/freezer-dr.conf' in \
        service['ExecStart']
    assert service['Type'] == kind
    if kind == 'notify':
        assert service['ExecReload'] == '/bin/kill -HUP $MAINPID'
        # (Longer than the commands' own stop deadline.)
        assert float(service['TimeoutStopSec']) > 5


def test_the_timer_runs_the_one_shot():
    timer = _unit('freezer-dr.timer')
    assert 'OnUnitActiveSec' in timer['Timer']
    assert timer['Install']['WantedBy'] == 'timers.target'
