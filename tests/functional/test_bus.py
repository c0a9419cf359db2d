"""The engine, agents and recorder on the real RabbitMQ."""

import json
import os
import signal
import subprocess
import time

import pytest

from tests.functional import conftest as fx

WINDOW = 3.561      # the default detection window (see README)


def _up(cloud, count, timeout=60):
    fx.wait_for(lambda: len(cloud.hosts_up()) >= count, timeout,
                message='%d hosts up' % count)


@pytest.fixture
def fifty(make_cloud, processes):
    """An engine, a recorder, 49 agents in a fleet and one agent process
    (the victim), all heartbeating."""
    cloud = make_cloud()
    engine = fx.start_engine(processes, cloud)
    recording = str(cloud.dir / 'recording.jsonl')
    recorder = processes.start('recorder', [
        fx.command('freezer-dr-record'), '--config-file', cloud.config,
        '--output', recording, '--record-pool', cloud.prefix + '_record'])
    fx.start_fleet(processes, cloud, ['host-%02d' % n for n in range(1, 50)])
    victim = fx.start_agent(processes, cloud, 'victim', '--debug')
    _up(cloud, 50, timeout=90)
    return cloud, engine, victim, recorder, recording


def test_a_killed_agent_is_declared_dead_alone_and_in_time(fifty):
    cloud, engine, victim, recorder, recording = fifty
    time.sleep(5)           # let phi learn real intervals
    victim.signal(signal.SIGKILL)
    killed_at = time.time()
    dead = fx.wait_for(lambda: cloud.of('declare_dead'), WINDOW + 10,
                       message='a declaration')
    assert [d['host'] for d in dead] == ['victim']
    # Within the detection window of its last heartbeat plus 1 s, and so
    # at most that long after the kill.
    assert dead[0]['time'] - dead[0]['last_heard'] <= WINDOW + 1
    assert dead[0]['time'] - killed_at <= WINDOW + 1
    time.sleep(3)
    assert {d['host'] for d in cloud.decided()
            if d['action'] in ('suspect', 'declare_dead')} == {'victim'}
    assert engine.alive()

    # The recording made meanwhile replays to the same decisions.
    recorder.stop()
    engine.stop()
    replayed = subprocess.run(
        [fx.command('freezer-dr-replay'), '--json', '--config-file',
         cloud.config, recording], capture_output=True, text=True,
        timeout=120, check=True).stdout
    replayed = [json.loads(line) for line in replayed.splitlines()]

    def host_decisions(decisions):
        return [(d['host'], d['action']) for d in decisions
                if d['host'] is not None]
    live = cloud.decided()
    assert sorted(host_decisions(replayed)) == sorted(host_decisions(live))
    live_dead = [d for d in live if d['action'] == 'declare_dead'][0]
    replay_dead = [d for d in replayed if d['action'] == 'declare_dead'][0]
    assert replay_dead['time'] == pytest.approx(live_dead['time'], abs=0.2)


def test_an_agent_paused_for_80_percent_of_the_window_is_not_dead(fifty):
    cloud, engine, victim, recorder, recording = fifty
    time.sleep(5)
    # Stop it right after one of its heartbeats, so its silence is the
    # pause itself (plus the few ms it takes to notice the heartbeat).
    count = victim.log().count('Heartbeat ')
    fx.wait_for(lambda: victim.log().count('Heartbeat ') > count, 5,
                interval=0.005, message='a heartbeat of the victim')
    victim.signal(signal.SIGSTOP)
    time.sleep(0.8 * WINDOW)
    victim.signal(signal.SIGCONT)
    time.sleep(WINDOW + 3)
    assert cloud.of('declare_dead') == []
    assert engine.alive() and victim.alive()


def test_broker_outage_declares_nobody_and_failures_are_seen_after(
        make_cloud, processes):
    cloud = make_cloud(liveness__bus_recovery_grace='5')
    engine = fx.start_engine(processes, cloud)
    fx.start_fleet(processes, cloud, ['host-%02d' % n for n in range(1, 10)])
    victim = fx.start_agent(processes, cloud, 'victim')
    _up(cloud, 10)
    time.sleep(3)
    assert fx.rabbitmqctl('stop_app').returncode == 0
    try:
        fx.wait_for(lambda: cloud.of('bus_down'), 10,
                    message='the engine to notice it is deaf')
        time.sleep(30)
    finally:
        assert fx.rabbitmqctl('start_app').returncode == 0
        fx.await_rabbit()
    fx.wait_for(lambda: cloud.of('bus_up'), 60,
                message='the engine to hear again')
    # Every agent is heard from again (a heartbeat after the outage).
    time.sleep(5 + WINDOW + 2)
    assert cloud.of('declare_dead') == []
    assert cloud.of('alert_storm') == []
    victim.signal(signal.SIGKILL)
    killed_at = time.time()
    dead = fx.wait_for(lambda: cloud.of('declare_dead'), WINDOW + 10,
                       message='the victim declared dead')
    assert [d['host'] for d in dead] == ['victim']
    assert dead[0]['time'] - killed_at <= WINDOW + 1
    assert engine.alive()


def test_sigterm_is_a_clean_stop_and_a_planned_shutdown(make_cloud,
                                                        processes):
    cloud = make_cloud()
    engine = fx.start_engine(processes, cloud)
    agent = fx.start_agent(processes, cloud, 'planned')
    _up(cloud, 1)
    agent.signal(signal.SIGTERM)
    assert agent.popen.wait(15) == 0
    on = fx.wait_for(lambda: cloud.of('maintenance_on', 'planned'), 15,
                     message='the planned shutdown announced')
    assert 'planned shutdown' in on[0]['reason']
    # Silent while in maintenance: never suspected.
    time.sleep(WINDOW + 1)
    assert cloud.of('suspect') == []
    # The next start ends the maintenance; the host is watched again.
    fx.start_agent(processes, cloud, 'planned')
    fx.wait_for(lambda: cloud.of('maintenance_off', 'planned'), 30,
                message='the end of the maintenance announced')
    fx.wait_for(lambda: len(cloud.of('up', 'planned')) == 2, 15,
                message='the host up again')
    engine.signal(signal.SIGTERM)
    assert engine.popen.wait(15) == 0
    assert 'freezer-dr-engine stopped' in engine.log()


def test_maintenance_command(make_cloud, processes):
    cloud = make_cloud()
    fx.start_engine(processes, cloud)
    fx.start_agent(processes, cloud, 'maint')
    _up(cloud, 1)
    own = cloud.dir / 'agent-maint.conf'
    result = subprocess.run(
        [fx.command('freezer-dr-agent'), '--config-file', cloud.config,
         '--config-file', str(own), '--maintenance', 'on', '--reason',
         'kernel upgrade'], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    on = fx.wait_for(lambda: cloud.of('maintenance_on', 'maint'), 15,
                     message='maintenance on')
    assert on[0]['reason'] == 'kernel upgrade'
    assert on[0]['requested_by'] == 'operator'


def test_maintenance_command_fails_loudly_when_the_broker_is_away(tmp_path):
    conf = tmp_path / 'freezer-dr.conf'
    conf.write_text('[DEFAULT]\ntransport_url = rabbit://guest:guest@'
                    '127.0.0.1:1/\n[agent]\nhost = nowhere\n')
    result = subprocess.run(
        [fx.command('freezer-dr-agent'), '--config-file', str(conf),
         '--maintenance', 'on'], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert 'maintenance on was NOT announced' in result.stderr


def test_a_killed_heartbeat_worker_is_restarted(make_cloud, processes):
    cloud = make_cloud()
    engine = fx.start_engine(processes, cloud)
    fx.start_agent(processes, cloud, 'steady')
    _up(cloud, 1)
    started = fx.wait_for(
        lambda: [line for line in engine.log().splitlines()
                 if 'Heartbeat worker 0 started' in line], 30,
        message='worker 0 started')
    pid = int(started[0].split('(pid ')[1].rstrip(')'))
    os.kill(pid, signal.SIGKILL)
    fx.wait_for(lambda: engine.log().count('Heartbeat worker 0 started')
                >= 2, 30, message='worker 0 restarted')
    # The host stayed up all along (the other worker, then both).
    time.sleep(WINDOW + 1)
    assert cloud.of('declare_dead') == []
    assert engine.alive()
