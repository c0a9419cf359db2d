#!/usr/bin/env python3
"""freezer-dr's demo: a real OpenStack on this machine loses a compute host.

1. Brings up the cloud harness (tests/harness): keystone, placement,
   glance, nova with the fake virt driver, 3 compute hosts, each with its
   freezer-dr-agent and an IPMI BMC simulator; an SMTP server on loopback.
2. Boots a dozen instances across the hosts in two projects.
3. Starts freezer-dr-engine (ipmi fencer, nova evacuator, email and log
   notifiers, a sqlite journal).
4. Kills compute-1 (SIGKILL of its processes; its BMC still says "on") and
   shows what happens, live: declared dead, fenced, isolated, each instance
   evacuated, the mails sent.
5. Prints a summary table and the mails, and saves the timeline as JSON
   and as a PNG picture in ``demo-output/``.

    tools/demo.sh            (README's first command; it runs this)
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))
sys.path.insert(0, TOP)

from freezer_dr import engine as engine_module  # noqa: E402
from freezer_dr.journal import api as journal_api  # noqa: E402
from freezer_dr.journal import schema  # noqa: E402
from tests.harness import cloud as harness  # noqa: E402

BIN = os.path.dirname(sys.executable)
VICTIM = 'compute-1'


class Timeline:
    """Events with their time since the failure, printed as they come."""

    def __init__(self):
        self.t0 = None
        self.events = []
        self.seen = set()

    def add(self, key, what, detail='', at=None):
        if key in self.seen:
            return
        self.seen.add(key)
        at = time.time() if at is None else at
        offset = at - self.t0
        self.events.append({'t': round(offset, 3), 'what': what,
                            'detail': detail})
        print('  +%6.2f s  %-26s %s' % (offset, what, detail), flush=True)


def step(message):
    print('\n== %s' % message, flush=True)


def main(argv):
    # (The configuration, key and credentials files it writes must be
    # private: the commands refuse them otherwise.)
    os.umask(0o077)
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--output', default=os.path.join(TOP,
                                                         'demo-output'))
    parser.add_argument('--instances', type=int, default=12)
    parser.add_argument('--timeout', type=float, default=180)
    args = parser.parse_args(argv)
    os.makedirs(args.output, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix='freezer-dr-demo-')
    try:
        return run(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run(args, workdir):
    cloud = harness.Cloud(os.path.join(workdir, 'cloud'), hosts=3,
                          name='fdrdemo', port_base=26900,
                          log=lambda m: print('   ', m, flush=True))
    common = {
        'DEFAULT': {'transport_url': cloud.transport_url},
        'bus': {'heartbeat_exchange': 'freezer_dr',
                'heartbeat_topic': 'freezer_dr_heartbeats'},
        'agent': {'checks': 'disk', 'disk_path': workdir},
    }
    agent_conf = os.path.join(workdir, 'agent.conf')
    harness.write_ini(agent_conf, common)
    cloud.agent_config = agent_conf

    step('Bringing up a real OpenStack (keystone, placement, glance, nova '
         'with the fake driver, 3 compute hosts with BMC simulators)')
    with cloud:
        mail = cloud.mail()
        print('    up in %.1f s; SMTP server on 127.0.0.1:%d'
              % (cloud.timings['startup_s'], mail.port))

        step('Booting %d instances in projects demo-a and demo-b'
             % args.instances)
        half = args.instances // 2
        hosts = [h.name for h in cloud.hosts]
        servers = (cloud.boot(half, 'demo-a', prefix='web', hosts=hosts) +
                   cloud.boot(args.instances - half, 'demo-b', prefix='db',
                              hosts=hosts[::-1]))
        project_name = {cloud.project_id(p): p for p in harness.PROJECTS}
        before = {s.id: (s.name, project_name.get(s.tenant_id, '?'),
                         getattr(s, 'OS-EXT-SRV-ATTR:host'))
                  for s in servers}
        for host in hosts:
            print('    %s: %s' % (host, ', '.join(sorted(
                n for n, _, h in before.values() if h == host))))

        step('Starting freezer-dr-engine')
        decisions = os.path.join(workdir, 'decisions.jsonl')
        database = 'sqlite:///%s' % os.path.join(workdir, 'journal.sqlite')
        engine_conf = os.path.join(workdir, 'freezer-dr.conf')
        auth = cloud.auth_options()
        sections = dict(common)
        # Heartbeats are signed: the harness made the master key and each
        # host's key (freezer-dr-manage heartbeat-key create / derive).
        sections['bus'] = dict(common['bus'], heartbeat_master_key_file=(
            cloud.heartbeat_master_key_file))
        sections.update({
            'engine': {'decisions_file': decisions},
            'database': {'connection': database},
            'recovery': {'fencer': 'ipmi', 'evacuator': 'nova',
                         'notifiers': 'email,log'},
            'fencer': {'credentials_file': cloud.credentials_file(
                os.path.join(workdir, 'bmc-credentials.yaml'))},
            'nova': dict(auth),
            'keystone_contacts': dict(auth),
            'email': {'smtp_host': '127.0.0.1', 'smtp_port': mail.port,
                      'security': 'none',
                      'sender': 'freezer-dr@example.org',
                      'admins': harness.ADMIN_EMAIL},
        })
        harness.write_ini(engine_conf, sections)
        subprocess.run([os.path.join(BIN, 'freezer-dr-manage'),
                        '--config-file', engine_conf, 'db', 'sync'],
                       check=True, capture_output=True)
        engine_log = os.path.join(args.output, 'engine.log')
        with open(engine_log, 'wb') as log:
            engine = subprocess.Popen(
                [os.path.join(BIN, 'freezer-dr-engine'), '--config-file',
                 engine_conf], stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        try:
            return watch(args, cloud, mail, engine, engine_log, decisions,
                         database, before)
        finally:
            os.killpg(engine.pid, signal.SIGTERM)
            engine.wait(15)


def read_decisions(path):
    try:
        return engine_module.decisions_from_file(path)
    except FileNotFoundError:
        return []


def watch(args, cloud, mail, engine, engine_log, decisions, database,
          before):
    deadline = time.monotonic() + 60
    while {d['host'] for d in read_decisions(decisions)
           if d['action'] == 'up'} < {h.name for h in cloud.hosts}:
        if engine.poll() is not None or time.monotonic() > deadline:
            print(open(engine_log).read()[-3000:])
            raise SystemExit('the engine did not see every host up')
        time.sleep(0.2)
    print('    the engine hears all 3 hosts')

    step('Killing %s (its processes die; its BMC still says the power is '
         'on)' % VICTIM)
    timeline = Timeline()
    timeline.t0 = time.time()
    cloud.host(VICTIM).kill()
    timeline.add('kill', 'host killed', VICTIM)
    journal = journal_api.Journal(schema.engine_for(database))
    victims = {i for i, (_, _, h) in before.items() if h == VICTIM}
    nova = cloud.nova(version='2.53')
    finished = None
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        for d in read_decisions(decisions):
            if d['host'] == VICTIM and d['action'] not in ('up',):
                timeline.add(('decision', d['action'], d.get('time')),
                             d['action'].replace('_', ' '),
                             d.get('reason', ''), at=d.get('time'))
        for record in journal.history(VICTIM):
            for s in journal.steps(record.id):
                name = s.name
                if name.startswith('instance:'):
                    info = json.loads(s.detail)
                    label = before.get(info['id'], (info['id'],))[0]
                    timeline.add(('instance', name), 'instance evacuated'
                                 if info['ok'] else 'instance NOT evacuated',
                                 '%s -> %s' % (label, info.get(
                                     'target_host') or '-'),
                                 at=s.finished_at)
                    continue
                timeline.add(('start', name), name + ' started', '',
                             at=s.started_at)
                if s.finished_at:
                    timeline.add(('end', name), '%s %s' % (name, s.status),
                                 s.detail[:70], at=s.finished_at)
            if record.status in (journal_api.DONE, journal_api.FAILED):
                finished = record
        for n, message in enumerate(mail.messages):
            timeline.add(('mail', n), 'mail sent', '%s: %s' % (
                ', '.join(message['to']), message['subject']))
        if finished and len(mail.messages) >= 3:
            break
        if engine.poll() is not None:
            print(open(engine_log).read()[-3000:])
            raise SystemExit('freezer-dr-engine exited')
        time.sleep(0.2)
    else:
        print('    timed out after %.0f s; the engine log is %s'
              % (args.timeout, engine_log))

    step('Summary')
    print('    %-8s %-8s %-10s %-10s %s' % ('instance', 'project', 'from',
                                            'now on', 'status'))
    ok = 0
    for server_id in sorted(victims, key=lambda i: before[i][0]):
        now = nova.servers.get(server_id)
        where = getattr(now, 'OS-EXT-SRV-ATTR:host')
        ok += now.status == 'ACTIVE' and where != VICTIM
        print('    %-8s %-8s %-10s %-10s %s' % (
            before[server_id][0], before[server_id][1], VICTIM, where,
            now.status))
    service = nova.services.list(host=VICTIM, binary='nova-compute')[0]
    print('\n    %s: forced_down=%s, %s (%s)' % (
        VICTIM, service.forced_down, service.status,
        service.disabled_reason))
    print('    BMC of %s: power %s' % (VICTIM, cloud.host(VICTIM).power))
    print('    %d of %d instances ACTIVE on other hosts; recovery %s in '
          '%.1f s after the failure' % (
              ok, len(victims), finished.status if finished else 'unfinished',
              timeline.events[-1]['t'] if timeline.events else 0))

    step('Mails captured by the SMTP server (%d)' % len(mail.messages))
    for message in mail.messages:
        print('\n    To: %s\n    Subject: %s' % (', '.join(message['to']),
                                                 message['subject']))
        for line in message['body'].strip().splitlines()[:12]:
            print('    | ' + line)

    save(args.output, timeline)
    return 0 if finished is not None and finished.status == \
        journal_api.DONE and ok == len(victims) else 1


def save(output, timeline):
    path = os.path.join(output, 'timeline.json')
    timeline.events.sort(key=lambda e: e['t'])
    with open(path, 'w') as f:
        json.dump({'failed_host': VICTIM, 'events': timeline.events}, f,
                  indent=1)
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot
    figure = swimlanes(pyplot, timeline.events)
    picture = os.path.join(output, 'timeline.png')
    figure.savefig(picture, dpi=100)
    print('\n    timeline saved: %s and %s' % (path, picture))


#: Colours of the phases (those of bench/e2e_recovery.py's pictures).
PHASES = (('detection', 'declare dead', '#d62728'),
          ('fence', 'fence', '#9467bd'),
          ('isolate', 'isolate', '#8c564b'),
          ('evacuate', 'evacuate', '#1f77b4'),
          ('notify', 'notify', '#17becf'))


def swimlanes(pyplot, events):
    """The recovery as swimlanes: the host's phases (detection from the
    kill to the declaration, fence, isolate, evacuate, notify) on the top
    row, then one row per instance from the evacuate step's start to the
    moment it was verified back elsewhere (the order they came back)."""
    def first(what):
        return next((e['t'] for e in events if e['what'] == what), None)

    def ended(name):
        return next((e['t'] for e in events if e['what'].startswith(
            name + ' ') and not e['what'].endswith(' started')), None)

    bars = []
    declared = first('declare dead')
    if declared is not None:
        bars.append(('detection', 0.0, declared))
    for label, name, _ in PHASES[1:]:
        start, end = first(name + ' started'), ended(name)
        if start is not None and end is not None:
            bars.append((label, start, end))
    colour = {label: c for label, _, c in PHASES}
    instances = sorted((e for e in events
                        if e['what'].startswith('instance ')),
                       key=lambda e: e['t'])
    evacuating = first('evacuate started') or 0.0
    figure, axes = pyplot.subplots(figsize=(10, 0.32 * len(instances) + 2))
    for label, start, end in bars:
        axes.broken_barh([(start, max(end - start, 0.03))], (-0.4, 0.8),
                         color=colour[label], label=label)
    for row, event in enumerate(instances, start=1):
        ok = event['what'] == 'instance evacuated'
        axes.broken_barh([(evacuating, max(event['t'] - evacuating, 0.03))],
                         (row - 0.4, 0.8),
                         color='#2ca02c' if ok else '#7f7f7f')
        axes.annotate(event['detail'], (event['t'], row), xytext=(4, -3),
                      textcoords='offset points', fontsize=7)
    axes.set_yticks(range(len(instances) + 1))
    axes.set_yticklabels([VICTIM] + [e['detail'].split(' ')[0]
                                     for e in instances], fontsize=7)
    axes.invert_yaxis()
    axes.axvline(0, color='black', linewidth=0.8)
    axes.set_xlabel('seconds after %s was killed (green: evacuated and '
                    'verified ACTIVE elsewhere)' % VICTIM)
    axes.set_title('freezer-dr recovers %s' % VICTIM)
    axes.legend(loc='lower right', fontsize=7)
    axes.grid(axis='x', alpha=0.3)
    last = max([e['t'] for e in events] or [1.0])
    axes.set_xlim(-0.3, last * 1.25 + 0.5)
    figure.tight_layout()
    return figure


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
