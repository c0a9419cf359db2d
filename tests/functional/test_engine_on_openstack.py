"""freezer-dr-engine recovers a dead host of a real OpenStack (the cloud
harness): the ipmi fencer against the host's BMC, the nova isolator and
evacuator against nova, a journal on sqlite, PostgreSQL or MariaDB. The
engine is SIGKILLed after a step (or in the middle of the evacuation) and
started again, or a standby running beside it takes over: the host is
powered off exactly once (counted at its BMC) and every instance evacuated
exactly once (counted in nova's migration records)."""

import json
import os
import signal
import subprocess

import pytest

from freezer_dr import engine as engine_module
from freezer_dr.journal import api
from freezer_dr.journal import models
from freezer_dr.journal import schema
from tests.functional.deployment import PLUGINS
from tests.harness import cloud as harness
from tests.helpers import command
from tests.helpers import fault_row
from tests.helpers import wait_for
from tests.peers import notifiers as peers

HOST = 'compute-1'


class Engine:
    def __init__(self, cloud, processes, tmp_path, url, **extra):
        self.cloud = cloud
        self.processes = processes
        self.dir = tmp_path
        self.decisions = tmp_path / 'decisions.jsonl'
        self.config = tmp_path / 'freezer-dr.conf'
        sections = {
            'DEFAULT': {'transport_url': cloud.transport_url},
            'bus': {'heartbeat_exchange': cloud.name,
                    'heartbeat_topic': cloud.name + '_heartbeats',
                    'pool': 'fdrtest_%s' % tmp_path.name[-12:],
                    'heartbeat_master_key_file':
                        cloud.heartbeat_master_key_file},
            'engine': {'decisions_file': self.decisions,
                       'stats_interval': 5},
            'database': {'connection': url},
            'metrics': {'port': 0},
            'recovery': {'fencer': 'ipmi', 'evacuator': 'nova',
                         'notifiers': 'log',
                         'journal_poll_interval': 0.3,
                         'step_retry_delay': 0.5},
            'fencer': {'credentials_file': cloud.credentials_file(
                str(tmp_path / 'bmcs.yaml'))},
            'nova': cloud.auth_options(),
            'evacuation': {'verify_timeout': 120, 'retry_delay': 0.5},
        }
        for section, values in extra.items():
            sections.setdefault(section, {}).update(values)
        harness.write_ini(self.config, sections)
        synced = subprocess.run([command('freezer-dr-manage'),
                                 '--config-file', str(self.config), 'db',
                                 'sync'], capture_output=True, text=True)
        assert synced.returncode == 0, synced.stderr
        self.db = schema.engine_for(url)
        self.journal = api.Journal(self.db)
        self.started = []

    def start(self, own=False):
        """The next engine, ``engine-N``; with ``own``, a bus pool, a
        decisions file and a coordination member id of its own (engines
        side by side)."""
        name = 'engine-%d' % len(self.started)
        args = [command('freezer-dr-engine'), '--config-file',
                str(self.config)]
        if own:
            own_config = self.dir / (name + '.conf')
            harness.write_ini(own_config, {
                'bus': {'pool': 'fdrtest_%s_%s' % (self.dir.name[-12:],
                                                   name[-1])},
                'engine': {'decisions_file': self._decisions(name)},
                'coordination': {'member_id': name}})
            args += ['--config-file', str(own_config)]
        engine = self.processes.start(name, args)
        self.started.append(engine)
        return engine

    def _decisions(self, name):
        return self.dir / ('decisions-%s.jsonl' % name)

    def decided(self, action, engine=None):
        path = self.decisions if engine is None else \
            self._decisions(engine.name)
        try:
            decided = engine_module.decisions_from_file(path)
        except FileNotFoundError:
            return []
        return [d for d in decided
                if d['action'] == action and d['host'] == HOST]

    def steps(self):
        found = self.journal.history(HOST, limit=1)
        if not found:
            return None, {}
        return found[0], {s.name: s for s in self.journal.steps(
            found[0].id)}

    def logs(self):
        return '\n'.join(e.log()[-3000:] for e in self.started)


def _assert_evacuated_once(nova, victims):
    """Each of ``victims`` has one evacuation migration in nova and is
    ACTIVE on another host."""
    evacuations = [m for m in nova.migrations.list(host=HOST)
                   if m.migration_type == 'evacuation']
    assert sorted(m.instance_uuid for m in evacuations) == victims
    for server_id in victims:
        now = nova.servers.get(server_id)
        assert now.status == 'ACTIVE'
        assert getattr(now, 'OS-EXT-SRV-ATTR:host') != HOST


def _assert_no_secret_anywhere(cloud, engine, url, more_secrets=(),
                               more_processes=(), more_files=()):
    """Issue 12: after a recovery, no secret used (the BMC passwords, the
    keystone passwords, the heartbeat master key and every host's key, and
    ``more_secrets``: (what, secret) pairs) is in any log of ours (engines,
    agents, ``more_processes``), decisions file, ``more_files`` (a
    recording), table of the journal, or command line of a process we
    started."""
    master = cloud.heartbeat_master_key_file
    with open(master) as f:
        master_hex = f.read().strip()
    secrets = {'keystone service password': harness.SERVICE_PASSWORD,
               'keystone admin password': harness.ADMIN_PASSWORD,
               'heartbeat master key': master_hex}
    secrets.update(more_secrets)
    for host in cloud.hosts:
        secrets['BMC password of ' + host.name] = host.bmc_password
        with open(os.path.join(host.dir, 'agent.key')) as f:
            secrets['heartbeat key of ' + host.name] = f.read().strip()
    places = {}
    for path in more_files:
        with open(path, errors='replace') as f:
            places[os.path.basename(str(path))] = f.read()
    for process in list(engine.started) + list(more_processes):
        places['log of ' + process.name] = process.log()
        places['command line of ' + process.name] = ' '.join(
            process.popen.args)
    for path in sorted(engine.dir.glob('decisions*.jsonl')):
        places[path.name] = path.read_text()
    for host in cloud.hosts:
        path = os.path.join(cloud.log_dir, host.name + '-agent.log')
        if os.path.exists(path):
            with open(path, errors='replace') as f:
                places['log of the agent of ' + host.name] = f.read()
        with open(os.path.join(host.dir, 'spec.json')) as f:
            spec = json.load(f)
        places['command line of the agent of ' + host.name] = ' '.join(
            next(p['args'] for p in spec['processes']
                 if p['name'] == 'freezer-dr-agent'))
    db = schema.engine_for(url)
    try:
        with db.connect() as conn:
            for table in models.Base.metadata.sorted_tables:
                places['journal table ' + table.name] = repr(
                    conn.execute(table.select()).all())
    finally:
        db.dispose()
    assert len(places) > 10
    for where, text in places.items():
        for what, secret in secrets.items():
            assert secret not in text, '%s found in the %s' % (what, where)


def _power_offs(cloud):
    return {h.name: h.status()['counts']['power_off'] for h in cloud.hosts}


def _fault_counts(cloud, before, victims):
    """``(power-offs of HOST, the most evacuations of one victim, power-offs
    of the other hosts)`` since ``before`` (:func:`_power_offs`), counted
    at the BMCs and in nova's migration records."""
    after = _power_offs(cloud)
    nova = cloud.nova(version='2.53')
    evacuations = {}
    for m in nova.migrations.list(host=HOST):
        if m.migration_type == 'evacuation' and m.instance_uuid in victims:
            evacuations[m.instance_uuid] = evacuations.get(
                m.instance_uuid, 0) + 1
    return (after[HOST] - before[HOST], max(evacuations.values(), default=0),
            sum(after[h] - before[h] for h in after if h != HOST))


@pytest.mark.parametrize('step, status, database', [
    # (One journal database per step: each database is also proven in
    # tests/functional/test_journal.py and test_engine_recovery.py.)
    ('fence', api.DONE, 'sqlite'), ('isolate', api.DONE, 'postgresql'),
    ('evacuate', api.STARTED, 'mariadb'),
])
def test_killed_engine_resumes_without_repeating(
        cloud_hosts, processes, tmp_path, make_database, step, status,
        database):
    db_url = make_database(database)
    cloud = cloud_hosts
    servers = cloud.boot(4, 'demo-a', hosts=[HOST, 'compute-2'])
    victims = sorted(s.id for s in servers
                     if getattr(s, 'OS-EXT-SRV-ATTR:host') == HOST)
    engine = Engine(cloud, processes, tmp_path, db_url)
    try:
        first = engine.start()
        wait_for(lambda: engine.decided('up'), 60,
                 message='the engine hears %s' % HOST)
        power_offs = cloud.host(HOST).status()['counts']['power_off']
        before = _power_offs(cloud)
        cloud.host(HOST).kill()

        def reached():
            _, steps = engine.steps()
            return step in steps and (
                status == api.STARTED or steps[step].status == status)
        wait_for(reached, 90, interval=0.05, message='step %s %s\n%s'
                 % (step, status, engine.logs()))
        first.stop(signal.SIGKILL)
        engine.start()
        wait_for(lambda: engine.steps()[0].status == api.DONE, 180,
                 message='the recovery done\n' + engine.logs())
        record, steps = engine.steps()
        assert steps['fence'].status == steps['isolate'].status == api.DONE
        assert steps['evacuate'].status == api.DONE, steps['evacuate']
        assert steps['fence'].attempts == 1

        counts = cloud.host(HOST).status()['counts']
        assert counts['power_off'] - power_offs == 1
        assert cloud.host(HOST).power == 'off'
        nova = cloud.nova(version='2.53')
        _assert_evacuated_once(nova, victims)
        service = nova.services.list(host=HOST, binary='nova-compute')[0]
        assert service.forced_down and service.status == 'disabled'
        assert service.disabled_reason.startswith('freezer-dr')
        _assert_no_secret_anywhere(cloud, engine, db_url)
        fault_row('engine kill -9 %s %s, restarted (real nova, %s)' % (
            'in' if status == api.STARTED else 'after', step,
            db_url.split(':')[0].split('+')[0]),
            *_fault_counts(cloud, before, victims))
    finally:
        engine.db.dispose()


#: [coordination] lease of the engines side by side, seconds.
LEASE = 3.0
#: The SMTP login of the engines side by side.
SMTP_USER, SMTP_PASSWORD = 'freezer-dr', 'smtp-s3cret-Xq7'


@pytest.mark.parametrize('step, status', [
    ('fence', api.DONE), ('isolate', api.DONE), ('evacuate', api.STARTED),
    ('notify', api.STARTED),
])
def test_the_standby_takes_over_a_killed_leader(
        cloud_hosts, processes, tmp_path, plugin_dir, step, status):
    """Two engines on one journal (sqlite, coordinated by file:// beside
    it): the leader is SIGKILLed after a step, in the middle of the
    evacuation, or before it mails (held at the door of the notify step
    by a test notifier placed before the email one); the standby takes
    over within the lease and repeats nothing: one power-off at the BMC,
    one evacuation per instance in nova, one mail to the project's
    members."""
    cloud = cloud_hosts
    notifiers = 'email,log'
    if step == 'notify':
        notifiers = PLUGINS + 'CountingNotifier,' + notifiers
        (plugin_dir / 'gate-notify').write_text('')
    mail = peers.SmtpServer(users={SMTP_USER: SMTP_PASSWORD}).start()
    servers = cloud.boot(4, 'demo-a', hosts=[HOST, 'compute-2'])
    victims = sorted(s.id for s in servers
                     if getattr(s, 'OS-EXT-SRV-ATTR:host') == HOST)
    auth = cloud.auth_options()
    engine = Engine(
        cloud, processes, tmp_path,
        'sqlite:///%s' % (tmp_path / 'journal.sqlite'),
        coordination={'lease': LEASE},
        recovery={'notifiers': notifiers},
        keystone_contacts=dict(auth),
        email={'smtp_host': '127.0.0.1', 'smtp_port': mail.port,
               'security': 'none', 'user': SMTP_USER,
               'password': SMTP_PASSWORD,
               'sender': 'freezer-dr@example.org',
               'admins': harness.ADMIN_EMAIL})
    recording = tmp_path / 'recording.jsonl'
    try:
        leader = engine.start(own=True)
        wait_for(lambda: engine.journal.leader()[1] == 'engine-0', 60,
                 message='engine-0 elected\n' + engine.logs())
        standby = engine.start(own=True)
        recorder = processes.start('recorder', [
            command('freezer-dr-record'), '--config-file', str(engine.config),
            '--output', str(recording), '--record-pool',
            'fdrtest_rec_%s' % tmp_path.name[-12:]])
        for started in (leader, standby):
            wait_for(lambda e=started: engine.decided('up', e), 60,
                     message='%s hears %s' % (started.name, HOST))
        power_offs = cloud.host(HOST).status()['counts']['power_off']
        before = _power_offs(cloud)
        cloud.host(HOST).kill()

        def reached():
            if step == 'notify':
                return (plugin_dir / 'reached-notify').exists()
            _, steps = engine.steps()
            return step in steps and (
                status == api.STARTED or steps[step].status == status)
        wait_for(reached, 90, interval=0.05, message='step %s %s\n%s'
                 % (step, status, engine.logs()))
        leader.stop(signal.SIGKILL)
        (plugin_dir / 'open-notify').write_text('')
        wait_for(lambda: engine.journal.leader()[1] == 'engine-1',
                 LEASE + 5, message='the standby elected\n' + engine.logs())
        wait_for(lambda: engine.steps()[0].status == api.DONE, 180,
                 message='the recovery done\n' + engine.logs())
        record, steps = engine.steps()
        assert steps['fence'].attempts == 1
        assert all(s.status == api.DONE for s in steps.values()), steps
        counts = cloud.host(HOST).status()['counts']
        assert counts['power_off'] - power_offs == 1
        _assert_evacuated_once(cloud.nova(version='2.53'), victims)
        # One mail to demo-a's members, one summary to the admins, each
        # sent after a login.
        sent = mail.mails
        assert len(sent) == 2, [(m.recipients, m.subject) for m in sent]
        assert len([m for m in sent
                    if m.recipients == [harness.ADMIN_EMAIL]]) == 1
        assert {m.login for m in sent} == {SMTP_USER}
        assert standby.alive()
        recorder.stop(signal.SIGTERM)
        assert HOST in recording.read_text()
        _assert_no_secret_anywhere(
            cloud, engine, 'sqlite:///%s' % (tmp_path / 'journal.sqlite'),
            {'SMTP password': SMTP_PASSWORD}, [recorder], [recording])
        fault_row('leader kill -9 %s %s, standby takes over (real nova)'
                  % ('in' if status == api.STARTED else 'after', step),
                  *_fault_counts(cloud, before, victims))
    finally:
        engine.db.dispose()
        mail.stop()


def test_a_host_dead_before_the_engine_started_is_recovered(
        cloud_hosts, processes, tmp_path):
    """No engine runs when compute-1 dies; nova notices (its service goes
    down after nova's own service_down_time). The engine started then
    learns the hosts from nova and from its fencer's credentials: compute-1,
    never heard and down in nova, is recovered; compute-3, whose agent was
    stopped but whose nova-compute runs (up in nova), is reported and never
    powered off."""
    cloud = cloud_hosts
    servers = cloud.boot(3, 'demo-a', hosts=[HOST, 'compute-2'])
    victims = sorted(s.id for s in servers
                     if getattr(s, 'OS-EXT-SRV-ATTR:host') == HOST)
    no_agent = cloud.host('compute-3')
    before = _power_offs(cloud)
    os.killpg(no_agent.pids()['freezer-dr-agent'], signal.SIGKILL)
    cloud.host(HOST).kill()
    nova = cloud.nova(version='2.53')

    def down_in_nova():
        return [s.state for s in nova.services.list(
            host=HOST, binary='nova-compute')] == ['down']
    # (nova's service_down_time: 30 s on the test harness, 60 s by default.)
    wait_for(down_in_nova, 150, interval=1.0,
             message='nova to report %s down' % HOST)
    engine = Engine(cloud, processes, tmp_path,
                    'sqlite:///%s' % (tmp_path / 'journal.sqlite'),
                    engine={'inventory_interval': 2},
                    liveness={'startup_grace': 5})
    try:
        # The one-shot's nova monitor (its default) sees the same: the
        # dead host, not the one whose nova-compute runs without agent.
        listed = subprocess.run(
            [command('freezer-dr'), '--config-file', str(engine.config),
             '--dry-run'], capture_output=True, text=True, timeout=120)
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout == ('Failed nodes: %s (dry run: none is acted '
                                 'on)\n' % HOST)
        engine.start()
        wait_for(lambda: engine.steps()[0] is not None and
                 engine.steps()[0].status == api.DONE, 180,
                 message='the recovery of %s done\n%s' % (HOST,
                                                          engine.logs()))
        dead = engine.decided('declare_dead')
        assert len(dead) == 1
        assert dead[0]['evidence'] == 'nova'
        assert 'never heard since the engine started' in dead[0]['reason']
        assert cloud.host(HOST).power == 'off'
        _assert_evacuated_once(nova, victims)
        decided = engine_module.decisions_from_file(engine.decisions)
        unheard = [d for d in decided if d['action'] == 'unheard']
        assert [d['host'] for d in unheard] == [no_agent.name]
        assert unheard[0]['nova_state'] == 'up'
        assert not [d for d in decided if d['host'] == no_agent.name and
                    d['action'] in ('suspect', 'declare_dead')]
        counted = _fault_counts(cloud, before, victims)
        assert counted == (1, 1, 0)
        fault_row('no engine when a host died; another runs no agent '
                  '(real nova)', *counted)
    finally:
        engine.db.dispose()
