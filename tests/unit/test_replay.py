"""freezer-dr-replay on the bundled recordings: the expected decisions."""

import gzip
import io
import json
import os
import subprocess
import sys

import pytest

from freezer_dr import events
from freezer_dr import replay
from freezer_dr.cmd import replay as replay_cmd
from freezer_dr.liveness import settings

HERE = os.path.dirname(__file__)
RECORDINGS = os.path.join(HERE, os.pardir, 'recordings')
DEFAULTS = settings.LivenessSettings()


def _path(name):
    return os.path.join(RECORDINGS, name)


def run_replay(name, *options):
    """Run the CLI in-process; return (status, decisions as dicts)."""
    out = io.StringIO()
    stdout, sys.stdout = sys.stdout, out
    try:
        status = replay_cmd.main(['--json', *options, _path(name)])
    finally:
        sys.stdout = stdout
    return status, [json.loads(line) for line in out.getvalue().splitlines()]


def by_action(decisions, action):
    return [d for d in decisions if d['action'] == action]


def test_steady_state_only_brings_hosts_up():
    status, decisions = run_replay('steady.jsonl.gz')
    assert status == 0
    assert len(decisions) == 50
    assert {d['action'] for d in decisions} == {'up'}


def test_one_host_dies_is_declared_dead_alone_and_in_time():
    status, decisions = run_replay('one-host-dies.jsonl.gz')
    assert status == 0
    assert [d['action'] for d in decisions if d['action'] != 'up'] == [
        'suspect', 'declare_dead']
    dead = by_action(decisions, 'declare_dead')[0]
    assert dead['host'] == 'compute-07'
    assert dead['evidence'] == 'grace'
    # Declared within the detection window of its last heartbeat.
    assert dead['time'] - dead['last_heard'] == pytest.approx(
        DEFAULTS.detection_window(), abs=0.01)


def test_pause_of_80_percent_is_never_declared_dead():
    status, decisions = run_replay('pause-80.jsonl.gz')
    assert status == 0
    assert by_action(decisions, 'declare_dead') == []
    assert [(d['host'], d['action']) for d in decisions
            if d['action'] != 'up'] == [('compute-12', 'suspect'),
                                        ('compute-12', 'alive')]
    alive = by_action(decisions, 'alive')[0]
    assert alive['silence'] == pytest.approx(
        0.8 * DEFAULTS.detection_window(), abs=0.05)


def test_storm_declares_nobody_and_alerts_once():
    status, decisions = run_replay('storm-40.jsonl.gz')
    assert status == 0
    assert by_action(decisions, 'declare_dead') == []
    alerts = by_action(decisions, 'alert_storm')
    assert len(alerts) == 1
    assert alerts[0]['failed'] == 20 and alerts[0]['tracked'] == 50
    held = sorted(d['host'] for d in by_action(decisions, 'held'))
    assert held == ['compute-%02d' % n for n in range(31, 51)]


def test_storm_guard_off_would_have_declared_all_twenty():
    status, decisions = run_replay('storm-40.jsonl.gz',
                                   '--max-failed-hosts', '0',
                                   '--max-failed-percent', '0')
    assert status == 0
    assert len(by_action(decisions, 'declare_dead')) == 20


def test_bus_drop_declares_nobody():
    status, decisions = run_replay('bus-drop.jsonl.gz')
    assert status == 0
    assert [d['action'] for d in decisions if d['action'] != 'up'] == [
        'bus_down', 'bus_up']


def test_bus_drop_without_bus_recovery_grace_would_suspect():
    # The agents need up to 3 s to reconnect: the extra grace is what
    # keeps them from being suspected.
    status, decisions = run_replay('bus-drop.jsonl.gz',
                                   '--bus-recovery-grace', '0',
                                   '--max-failed-hosts', '0',
                                   '--max-failed-percent', '0')
    assert status == 0
    assert by_action(decisions, 'suspect')


def test_nova_forced_down_with_heartbeats_is_not_declared_dead():
    status, decisions = run_replay('nova-forced-down.jsonl.gz')
    assert status == 0
    assert [(d['host'], d['action']) for d in decisions
            if d['action'] != 'up'] == [('compute-03', 'nova_disagrees')]


def test_overrides_change_the_decisions():
    # A timeout longer than the pause: not even suspected.
    status, decisions = run_replay('pause-80.jsonl.gz',
                                   '--detector', 'timeout',
                                   '--heartbeat-timeout', '3.5')
    assert status == 0
    assert {d['action'] for d in decisions} == {'up'}


def test_config_file_is_read_and_overridden(tmp_path):
    conf = tmp_path / 'freezer-dr.conf'
    conf.write_text('[liveness]\ndetector = timeout\nheartbeat_timeout = 2\n'
                    'corroboration_grace = 0\n')
    status, decisions = run_replay('pause-80.jsonl.gz',
                                   '--config-file', str(conf))
    assert status == 0
    assert by_action(decisions, 'declare_dead')[0]['host'] == 'compute-12'
    status, decisions = run_replay('pause-80.jsonl.gz',
                                   '--config-file', str(conf),
                                   '--heartbeat-timeout', '3.5')
    assert by_action(decisions, 'declare_dead') == []


@pytest.mark.parametrize('name', sorted(
    n for n in os.listdir(RECORDINGS) if n.endswith('.jsonl.gz')))
def test_replay_is_byte_identical(name):
    command = [sys.executable, '-m', 'freezer_dr.cmd.replay', '--json',
               _path(name)]
    first = subprocess.run(command, capture_output=True, check=True)
    second = subprocess.run(command, capture_output=True, check=True)
    assert first.stdout == second.stdout
    assert first.stdout.count(b'\n') >= 50


def test_rejected_messages_are_reported_and_the_rest_still_counts(tmp_path):
    lines = [events.recording_header()]
    for n in range(1, 40):
        lines.append(events.recording_line(
            100.0 + n, 'freezer-dr-agent:h1', events.HEARTBEAT,
            {'host': 'h1', 'sequence': n, 'boot_id': 'b', 'sent_at': 1.0}))
        if n == 20:
            lines.append('{"received_at": 120.5, "publisher_id"')
            lines.append(events.recording_line(
                120.6, 'x', 'instance.create.end', {}))
    path = tmp_path / 'hand.jsonl'
    path.write_text('\n'.join(lines) + '\n\n')
    status, decisions = run_replay(str(path))
    assert status == 0
    rejected = by_action(decisions, 'rejected')
    assert [d['line'] for d in rejected] == [22, 23]
    assert 'not valid JSON' in rejected[0]['reason']
    assert "unknown event_type str 'instance.create.end'" in \
        rejected[1]['reason']
    assert rejected[0]['time'] == 120.0
    assert [d['action'] for d in decisions] == ['up', 'rejected',
                                                'rejected']


def test_human_output_has_a_table_and_a_summary(capsys):
    assert replay_cmd.main(['--exclude-actions', 'up',
                            _path('one-host-dies.jsonl.gz')]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ['seconds', 'host', 'action', 'reason']
    assert out[1].split()[1:3] == ['compute-07', 'suspect']
    assert out[2].split()[1:3] == ['compute-07', 'declare_dead']
    assert out[-2].endswith('50 hosts: 1 dead, 49 up')
    assert out[-1] == 'decisions: 1 declare_dead, 1 suspect'


@pytest.mark.parametrize('content,message', [
    (b'', 'the file is empty'),
    (b'hello\n', 'the first line is not JSON'),
    (b'{"format": "pcap"}\n', 'does not say "format"'),
    (b'{"format": "freezer-dr-recording", "version": 9}\n',
     'version 9 is not supported'),
    (b'\x1f\x8b\x08\x00garbage', 'not a freezer-dr recording'),
    (b'\xff\xfe\x00\x01', 'not a freezer-dr recording'),
])
def test_not_a_recording_exits_non_zero_with_a_message(tmp_path, capsys,
                                                       content, message):
    path = tmp_path / 'file'
    path.write_bytes(content)
    assert replay_cmd.main([str(path)]) == 1
    err = capsys.readouterr().err
    assert 'is not a freezer-dr recording' in err
    assert message in err


def test_missing_file_exits_non_zero(tmp_path, capsys):
    assert replay_cmd.main([str(tmp_path / 'nope.jsonl')]) == 1
    assert 'cannot read' in capsys.readouterr().err


def test_bad_override_is_refused(capsys):
    assert replay_cmd.main(['--corroboration', 'tarot',
                            _path('steady.jsonl.gz')]) == 2
    assert 'bad configuration' in capsys.readouterr().err


def test_bundled_recordings_are_what_the_generator_makes(tmp_path):
    generator = os.path.join(HERE, os.pardir, os.pardir, 'tools',
                             'make_recordings.py')
    subprocess.run([sys.executable, generator, str(tmp_path)], check=True,
                   capture_output=True)
    for name in os.listdir(tmp_path):
        with gzip.open(tmp_path / name) as fresh, \
                gzip.open(_path(name)) as bundled:
            assert fresh.read() == bundled.read(), name


def test_decisions_api_counts_a_summary():
    summary = replay.Summary()
    with gzip.open(_path('one-host-dies.jsonl.gz'), 'rt') as lines:
        found = list(replay.decisions(lines, DEFAULTS, summary))
    assert len(found) == 52
    assert summary.states['compute-07'] == 'dead'
    assert summary.by_action == {'up': 50, 'suspect': 1, 'declare_dead': 1}


EXPECTED = os.path.join(RECORDINGS, 'expected')
_VARIANTS = {'': (), '.timeout': ('--detector', 'timeout',
                                  '--corroboration', 'nova,grace')}


@pytest.mark.parametrize('variant', sorted(_VARIANTS))
@pytest.mark.parametrize('name', sorted(
    n[:-len('.jsonl.gz')] for n in os.listdir(RECORDINGS)
    if n.endswith('.jsonl.gz')))
def test_recordings_replay_to_the_decisions_recorded_before(name, variant):
    """tests/recordings/expected/ holds the decisions of every bundled
    recording, written by freezer-dr-replay --json before the code was
    restructured (issue 10): the same recording must give exactly the same
    lines, byte for byte."""
    with open(os.path.join(EXPECTED, name + variant + '.jsonl')) as f:
        expected = f.read().splitlines()
    status, decisions = run_replay(name + '.jsonl.gz', *_VARIANTS[variant])
    assert status == 0
    assert expected, 'no decision recorded for %s' % name
    assert [replay.format_json(d) for d in decisions] == expected
