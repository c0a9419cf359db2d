"""Lifecycle of the long-running commands (issue 13): SIGTERM stops them
within 5 s even while the broker cannot be reached, SIGHUP reopens the log
files (logrotate) instead of killing, and a Type=notify systemd unit is
told READY and STOPPING."""

import os
import signal
import socket
import subprocess
import time

import pytest

from tests.functional import deployment
from tests.helpers import command
from tests.helpers import wait_for
from tests.peers.notifiers import free_port

#: What SIGTERM may take, in every state.
STOP_WITHIN = 5.0


def _closed_broker(make_cloud, **options):
    return make_cloud(DEFAULT__transport_url='rabbit://guest:guest@'
                      '127.0.0.1:%d/' % free_port(), **options)


@pytest.mark.parametrize('name', ['freezer-dr-engine', 'freezer-dr-agent',
                                  'freezer-dr-record'])
def test_sigterm_stops_within_5_s_while_the_broker_is_unreachable(
        make_cloud, processes, name):
    cloud = _closed_broker(make_cloud)
    if name == 'freezer-dr-engine':
        started = deployment.start_engine(processes, cloud)
        ready = 'freezer-dr-engine started'
    elif name == 'freezer-dr-agent':
        started = deployment.start_agent(processes, cloud, 'lonely')
        ready = 'freezer-dr-agent for host lonely'
    else:
        started = processes.start('record', [
            command('freezer-dr-record'), '--config-file', cloud.config,
            '--output', str(cloud.dir / 'recording.jsonl')])
        ready = 'Recording to'
    wait_for(lambda: ready in started.log(), 60, message='%s started\n%s'
             % (name, started.log()[-2000:]))
    time.sleep(1.0)         # (it is trying to reach the broker now)
    began = time.monotonic()
    started.signal(signal.SIGTERM)
    status = started.popen.wait(STOP_WITHIN + 5)
    took = time.monotonic() - began
    assert took <= STOP_WITHIN, '%s took %.1f s\n%s' % (
        name, took, started.log()[-3000:])
    assert status == 0
    assert 'Received SIGTERM: stopping' in started.log()


def test_sighup_reopens_the_log_file_and_keeps_running(make_cloud,
                                                       processes):
    cloud = make_cloud()
    log = cloud.dir / 'engine-file.log'
    own = cloud.dir / 'logging.conf'
    own.write_text('[DEFAULT]\nlog_file = %s\n' % log)
    os.chmod(own, 0o600)
    engine = deployment.start_engine(processes, cloud, 'engine',
                                     '--config-file', str(own))
    wait_for(lambda: log.exists() and 'freezer-dr-engine started' in
             log.read_text(), 60, message='the engine logging to its file')
    rotated = cloud.dir / 'engine-file.log.1'
    os.rename(log, rotated)             # what logrotate does
    engine.signal(signal.SIGHUP)
    wait_for(lambda: log.exists() and 'SIGHUP: 1 log file(s) reopened' in
             log.read_text(), 30, message='a new log file after SIGHUP\n'
             + engine.log()[-2000:])
    assert engine.alive()
    agent = deployment.start_agent(processes, cloud, 'hup')
    wait_for(lambda: 'hup' in cloud.hosts_up(), 60, message='the agent')
    agent.signal(signal.SIGHUP)
    time.sleep(1.0)
    assert agent.alive()
    assert 'SIGHUP' in agent.log()


def test_systemd_is_told_ready_and_stopping(make_cloud, processes,
                                            tmp_path):
    path = str(tmp_path / 'notify.sock')
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(path)
    listener.settimeout(60)
    try:
        cloud = make_cloud()
        engine = processes.start('engine', [
            command('freezer-dr-engine'), '--config-file', cloud.config],
            env={'NOTIFY_SOCKET': path})
        assert listener.recv(100) == b'READY=1', engine.log()
        assert 'freezer-dr-engine started' in engine.log()
        engine.signal(signal.SIGTERM)
        assert listener.recv(100) == b'STOPPING=1'
        assert engine.popen.wait(10) == 0
    finally:
        listener.close()


def test_no_deprecation_noise_on_standard_error(tmp_path):
    """Cron mails whatever a command prints on standard error."""
    conf = tmp_path / 'freezer-dr.conf'
    conf.write_text('[recovery]\nmonitor = static\n')
    os.chmod(conf, 0o600)
    done = subprocess.run(
        [command('freezer-dr'), '--config-file', str(conf)],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == 'No failed nodes\n'
    assert 'Warning' not in done.stderr and 'eventlet' not in done.stderr
