"""The engine, agents and recorder on the real RabbitMQ.

Every duration comes from the liveness settings the deployments run with
(the defaults: :data:`WINDOW` is their detection window). The tests wait
for conditions; the few :func:`pause` calls are the time a test lets pass
on purpose, because what it checks is that nothing happens meanwhile.
"""

import json
import os
import signal
import subprocess
import time

import pytest

from tests.functional import deployment
from tests.functional.deployment import DEFAULTS
from tests.functional.deployment import WINDOW
from tests.helpers import command
from tests.helpers import wait_for
from tests.peers import rabbitmq

#: The broker outage: many detection windows, in which an engine that did
#: not know it was deaf would declare every host dead several times over.
OUTAGE = 8 * WINDOW
#: [liveness] bus_recovery_grace of the broker outage test, seconds.
BUS_RECOVERY_GRACE = 5


def _up(cloud, count, timeout=60):
    wait_for(lambda: len(cloud.hosts_up()) >= count, timeout,
             message='%d hosts up' % count)


def _learned(agent):
    """Wait until the engine's failure detector has learned ``agent``'s
    heartbeat intervals (the agent runs with ``--debug``), so that a
    silence of it is judged by WINDOW."""
    needed = deployment.intervals_to_learn() + 1
    wait_for(lambda: deployment.heartbeats_sent(agent) >= needed,
             needed * DEFAULTS.heartbeat_interval + 30,
             message='%d heartbeats of %s' % (needed, agent.name))


def pause(seconds):
    """Let ``seconds`` pass on purpose: the test checks that nothing
    happens meanwhile (no host suspected or declared dead), which no
    condition can tell early. Not a way to wait for something: that is
    wait_for."""
    time.sleep(seconds)


@pytest.fixture
def fifty(make_cloud, processes):
    """An engine, a recorder, 49 agents in a fleet and one agent process
    (the victim, with --debug: its heartbeats show in its log), all
    heartbeating."""
    cloud = make_cloud()
    engine = deployment.start_engine(processes, cloud)
    recording = str(cloud.dir / 'recording.jsonl')
    recorder = processes.start('recorder', [
        command('freezer-dr-record'), '--config-file', cloud.config,
        '--output', recording, '--record-pool', cloud.prefix + '_record'])
    deployment.start_fleet(processes, cloud,
                           ['host-%02d' % n for n in range(1, 50)])
    victim = deployment.start_agent(processes, cloud, 'victim', '--debug')
    _up(cloud, 50, timeout=90)
    return cloud, engine, victim, recorder, recording


def test_a_killed_agent_is_declared_dead_alone_and_in_time(fifty):
    cloud, engine, victim, recorder, recording = fifty
    _learned(victim)
    victim.signal(signal.SIGKILL)
    killed_at = time.time()
    dead = wait_for(lambda: cloud.of('declare_dead'), WINDOW + 10,
                    message='a declaration')
    assert [d['host'] for d in dead] == ['victim']
    # Within the detection window of its last heartbeat plus 1 s, and so
    # at most that long after the kill.
    assert dead[0]['time'] - dead[0]['last_heard'] <= WINDOW + 1
    assert dead[0]['time'] - killed_at <= WINDOW + 1
    # Nobody else: for one more detection window, in which a host wrongly
    # silenced along with the victim would be suspected too.
    pause(WINDOW)
    assert {d['host'] for d in cloud.decided()
            if d['action'] in ('suspect', 'declare_dead')} == {'victim'}
    assert engine.alive()

    # The recording made meanwhile replays to the same decisions.
    recorder.stop()
    engine.stop()
    replayed = subprocess.run(
        [command('freezer-dr-replay'), '--json', '--config-file',
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
    _learned(victim)
    # Stop it right after one of its heartbeats, so its silence is the
    # pause itself (plus the few ms it takes to notice the heartbeat).
    count = deployment.heartbeats_sent(victim)
    wait_for(lambda: deployment.heartbeats_sent(victim) > count, 5,
             interval=0.005, message='a heartbeat of the victim')
    victim.signal(signal.SIGSTOP)
    pause(0.8 * WINDOW)         # the pause under test
    victim.signal(signal.SIGCONT)
    # Had the pause counted as a failure, the host would be declared dead
    # WINDOW after its last heartbeat: let that moment pass, well past.
    pause(WINDOW + 3)
    assert cloud.of('declare_dead') == []
    assert engine.alive() and victim.alive()


def test_broker_outage_declares_nobody_and_failures_are_seen_after(
        make_cloud, processes):
    cloud = make_cloud(liveness__bus_recovery_grace=BUS_RECOVERY_GRACE)
    engine = deployment.start_engine(processes, cloud)
    deployment.start_fleet(processes, cloud,
                           ['host-%02d' % n for n in range(1, 10)])
    victim = deployment.start_agent(processes, cloud, 'victim', '--debug')
    _up(cloud, 10)
    _learned(victim)
    assert rabbitmq.rabbitmqctl('stop_app').returncode == 0
    try:
        wait_for(lambda: cloud.of('bus_down'), 10,
                 message='the engine to notice it is deaf')
        pause(OUTAGE)           # the outage under test: nobody declared
    finally:
        assert rabbitmq.rabbitmqctl('start_app').returncode == 0
        rabbitmq.await_rabbit()
    down = cloud.of('bus_down')[0]['time']
    wait_for(lambda: [d for d in cloud.of('bus_up') if d['time'] > down], 60,
             message='the engine to hear again')
    # Every agent is heard from again (a heartbeat after the outage): had
    # one not been, it would be declared dead once the bus recovery grace
    # and a detection window have passed. Let them pass.
    pause(BUS_RECOVERY_GRACE + WINDOW + 2)
    assert cloud.of('declare_dead') == []
    assert cloud.of('alert_storm') == []
    victim.signal(signal.SIGKILL)
    killed_at = time.time()
    dead = wait_for(lambda: cloud.of('declare_dead'), WINDOW + 10,
                    message='the victim declared dead')
    assert [d['host'] for d in dead] == ['victim']
    assert dead[0]['time'] - killed_at <= WINDOW + 1
    assert engine.alive()


def test_sigterm_is_a_clean_stop_and_a_planned_shutdown(make_cloud,
                                                        processes):
    cloud = make_cloud()
    engine = deployment.start_engine(processes, cloud)
    agent = deployment.start_agent(processes, cloud, 'planned')
    _up(cloud, 1)
    agent.signal(signal.SIGTERM)
    assert agent.popen.wait(15) == 0
    on = wait_for(lambda: cloud.of('maintenance_on', 'planned'), 15,
                  message='the planned shutdown announced')
    assert 'planned shutdown' in on[0]['reason']
    # Silent while in maintenance: never suspected. Let more than a
    # detection window of silence pass.
    pause(WINDOW + 1)
    assert cloud.of('suspect') == []
    # The next start ends the maintenance; the host is watched again.
    deployment.start_agent(processes, cloud, 'planned')
    wait_for(lambda: cloud.of('maintenance_off', 'planned'), 30,
             message='the end of the maintenance announced')
    wait_for(lambda: len(cloud.of('up', 'planned')) == 2, 15,
             message='the host up again')
    engine.signal(signal.SIGTERM)
    assert engine.popen.wait(15) == 0
    assert 'freezer-dr-engine stopped' in engine.log()


def test_maintenance_command(make_cloud, processes):
    cloud = make_cloud()
    deployment.start_engine(processes, cloud)
    deployment.start_agent(processes, cloud, 'maint')
    _up(cloud, 1)
    own = cloud.dir / 'agent-maint.conf'
    result = subprocess.run(
        [command('freezer-dr-agent'), '--config-file', cloud.config,
         '--config-file', str(own), '--maintenance', 'on', '--reason',
         'kernel upgrade'], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    on = wait_for(lambda: cloud.of('maintenance_on', 'maint'), 15,
                  message='maintenance on')
    assert on[0]['reason'] == 'kernel upgrade'
    # (Who asked comes from the signature: the host's key, not the
    # master key, and not the agent's own planned shutdown.)
    assert on[0]['requested_by'] == 'operator@maint'
    # The same from the control plane, signed with the master key.
    result = subprocess.run(
        [command('freezer-dr-manage'), '--config-file', cloud.config, 'host',
         'maintenance', 'maint', 'off', '--by', 'tester'],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    off = wait_for(lambda: cloud.of('maintenance_off', 'maint'), 15,
                   message='maintenance off')
    assert off[0]['requested_by'] == 'operator'
    assert '(by tester)' in off[0]['reason']


def test_maintenance_command_fails_loudly_when_the_broker_is_away(tmp_path):
    conf = tmp_path / 'freezer-dr.conf'
    conf.write_text('[DEFAULT]\ntransport_url = rabbit://guest:guest@'
                    '127.0.0.1:1/\n[agent]\nhost = nowhere\n')
    result = subprocess.run(
        [command('freezer-dr-agent'), '--config-file', str(conf),
         '--maintenance', 'on'], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert 'maintenance on was NOT announced' in result.stderr


def test_a_killed_heartbeat_worker_is_restarted(make_cloud, processes):
    cloud = make_cloud()
    engine = deployment.start_engine(processes, cloud)
    deployment.start_agent(processes, cloud, 'steady')
    _up(cloud, 1)
    started = wait_for(
        lambda: [line for line in engine.log().splitlines()
                 if 'Heartbeat worker 0 started' in line], 30,
        message='worker 0 started')
    pid = int(started[0].split('(pid ')[1].rstrip(')'))
    # The worker logs through the engine's configuration (its INFO lines
    # are not lost).
    wait_for(lambda: 'Heartbeat worker (pid %d) consuming' % pid
             in engine.log(), 30, message='the worker\'s own log line')
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: engine.log().count('Heartbeat worker 0 started')
             >= 2, 30, message='worker 0 restarted')
    # The host stayed up all along (the other worker, then both). Let more
    # than a detection window pass, after which a host unheard would be
    # declared dead.
    pause(WINDOW + 1)
    assert cloud.of('declare_dead') == []
    assert engine.alive()
