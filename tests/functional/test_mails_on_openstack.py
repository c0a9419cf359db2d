# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Mails that say what happened (issue 13, point 10), on the real nova
(the cloud harness), the email notifier against a real SMTP server and
the projects' members from the harness's keystone:

* a recovery that fails at the fence (the BMC refuses the password) mails
  the administrators the host, the reason, every instance still on it by
  project and the command that runs it again, and tells each affected
  project its instances are down and not moved;
* two hosts dying together are held by the storm guard: the same for
  each, with the command that recovers one on the operator's word, which
  then fences and evacuates that host only.
"""

import subprocess

from freezer_dr.journal import api
from tests.functional.test_engine_on_openstack import Engine
from tests.harness import cloud as harness
from tests.helpers import command
from tests.helpers import wait_for
from tests.peers import notifiers as peers

#: The addresses of the harness's projects' members, as keystone has them.
MEMBERS = {project: sorted(harness.email_of(u) for u in users)
           for project, users in harness.PROJECTS.items()}


def _engine(cloud, processes, tmp_path, mail, **extra):
    auth = cloud.auth_options()
    sections = dict(
        recovery={'notifiers': 'email'},
        keystone_contacts=dict(auth),
        email={'smtp_host': '127.0.0.1', 'smtp_port': mail.port,
               'security': 'none', 'sender': 'freezer-dr@example.org',
               'admins': harness.ADMIN_EMAIL})
    for section, values in extra.items():
        sections.setdefault(section, {}).update(values)
    return Engine(cloud, processes, tmp_path,
                  'sqlite:///%s' % (tmp_path / 'journal.sqlite'), **sections)


def _on(cloud, host, count):
    """``count`` instances on ``host``, half in demo-a, half in demo-b:
    ``{project name: [server, ...]}``."""
    return {project: cloud.boot(count // 2, project, hosts=[host],
                                prefix='%s-%s' % (host, project))
            for project in ('demo-a', 'demo-b')}


def _mails(mail, host):
    """``(the admins' mail, {project name: its members' mail})`` about
    ``host``."""
    about = mail.mails_about(host)
    admins = [m for m in about if 'Instances by project' in m.body]
    projects = {}
    for name, members in MEMBERS.items():
        found = [m for m in about
                 if 'Your instances in project %s' % name in m.body]
        for told in found:
            # (The harness's admin is a member too: it boots there.)
            assert set(members) <= set(told.recipients), told.recipients
        if found:
            projects[name] = found
    return admins, projects


def _assert_told(mail, host, servers, subject, next_step):
    admins, projects = _mails(mail, host)
    assert len(admins) == 1, [(m.recipients, m.subject) for m in
                              mail.mails_about(host)]
    admin = admins[0]
    assert admin.recipients == [harness.ADMIN_EMAIL]
    assert subject in admin.subject
    assert '    %s' % next_step in admin.body
    for project, boot in servers.items():
        for server in boot:
            assert '%s (%s): %s -> ?: DOWN, not moved' % (
                server.name, server.id, host) in admin.body
        [told] = projects[project]
        assert 'not running and was not\nmoved to another host' in told.body
        mine = {s.id for s in boot}
        others = {s.id for p, b in servers.items() if p != project
                  for s in b}
        assert all(i in told.body for i in mine)
        assert not any(i in told.body for i in others)
    return admin


def test_a_recovery_failed_at_the_fence_tells_the_admins_and_every_project(
        cloud_hosts, processes, tmp_path):
    cloud = cloud_hosts
    host = 'compute-1'
    servers = _on(cloud, host, 4)
    mail = peers.SmtpServer().start()
    engine = _engine(cloud, processes, tmp_path, mail,
                     ipmi={'attempts': 1, 'timeout': 3})
    # The BMC of the host refuses the password freezer-dr has.
    credentials = engine.config.parent / 'bmcs.yaml'
    text = credentials.read_text()
    victim = cloud.host(host)
    block = text.index('  %s:' % host)
    end = text.find('\n  compute-', block + 1)
    end = len(text) if end < 0 else end
    credentials.write_text(text[:block] + text[block:end].replace(
        'password: %s' % victim.bmc_password, 'password: not-the-password')
        + text[end:])
    try:
        engine.start()
        wait_for(lambda: engine.decided('up'), 60, message='the agent heard')
        offs = victim.status()['counts']['power_off']
        victim.kill()
        wait_for(lambda: engine.steps()[0] is not None and
                 engine.steps()[0].status == api.FAILED, 120,
                 message='the recovery failed\n' + engine.logs())
        wait_for(lambda: len(mail.mails_about(host)) >= 3, 60,
                 message='the mails\n' + engine.logs())
        admin = _assert_told(mail, host, servers,
                             'RECOVERY FAILED for %s at step fence' % host,
                             'freezer-dr-manage recovery retry %s' % host)
        assert 'Failed step:   fence: ' in admin.body
        assert 'not-the-password' not in admin.body
        # Nothing was moved, nothing powered off.
        assert victim.status()['counts']['power_off'] == offs
        nova = cloud.nova(version='2.53')
        assert [m for m in nova.migrations.list(host=host)
                if m.migration_type == 'evacuation'] == []
        for boot in servers.values():
            for server in boot:
                assert getattr(nova.servers.get(server.id),
                               'OS-EXT-SRV-ATTR:host') == host
    finally:
        engine.db.dispose()
        mail.stop()


def test_hosts_held_by_the_storm_are_told_and_one_is_recovered_on_word(
        cloud_hosts, processes, tmp_path):
    cloud = cloud_hosts
    first, second = 'compute-1', 'compute-2'
    servers = {first: _on(cloud, first, 2), second: _on(cloud, second, 2)}
    # nova would still place instances on the second host, dead but not
    # yet down for nova: the operator disabled it (the runbook says so).
    nova = cloud.nova(version='2.53')
    nova.services.disable(nova.services.list(
        host=second, binary='nova-compute')[0].id)
    mail = peers.SmtpServer().start()
    port = peers.free_port()
    engine = _engine(cloud, processes, tmp_path, mail,
                     storm_guard={'max_failed_hosts': 1,
                                  'max_failed_percent': 100},
                     recovery={'min_heard_fraction': 0.1},
                     metrics={'port': port})
    try:
        engine.start()
        decided = engine_decisions(engine)
        wait_for(lambda: {first, second} <= {d['host'] for d in
                                              decided('up')}, 60,
                 message='agents heard')
        offs = {h: cloud.host(h).status()['counts']['power_off']
                for h in (first, second)}
        cloud.host(first).kill()
        cloud.host(second).kill()
        wait_for(lambda: {d['host'] for d in decided('held')} ==
                 {first, second}, 60,
                 message='both held\n' + engine.logs())
        assert decided('declare_dead') == []
        for host in (first, second):
            wait_for(lambda h=host: len(mail.mails_about(h)) >= 3, 60,
                     message='the mails about %s\n%s' % (host,
                                                         engine.logs()))
            admin = _assert_told(
                mail, host, servers[host],
                'RECOVERY HELD for %s' % host,
                'freezer-dr-manage host recover %s --reason' % host)
            assert 'storm guard' in admin.body
        # The operator checks that compute-1 is dead and recovers it.
        recovered = subprocess.run(
            [command('freezer-dr-manage'), '--config-file',
             str(engine.config), 'host', 'recover', first, '--reason',
             'its rack lost power', '--url', 'http://127.0.0.1:%d' % port],
            capture_output=True, text=True, timeout=60)
        assert recovered.returncode == 0, recovered.stderr
        assert recovered.stdout.startswith(
            'compute-1: confirmed dead by '), recovered.stdout
        record = wait_for(lambda: [
            r for r in engine.journal.history(first)
            if r.status == api.DONE], 180,
            message='compute-1 recovered\n' + engine.logs())[0]
        assert 'its rack lost power' in record.reason
        for boot in servers[first].values():
            for server in boot:
                now = nova.servers.get(server.id)
                assert now.status == 'ACTIVE'
                assert getattr(now, 'OS-EXT-SRV-ATTR:host') not in (
                    first, second)
        assert cloud.host(first).status()['counts']['power_off'] == \
            offs[first] + 1
        # The other one stays held: not fenced, nothing moved, and the
        # operator's word is refused for a host that is not suspect.
        assert cloud.host(second).status()['counts']['power_off'] == \
            offs[second]
        assert engine.journal.history(second) == []
        again = subprocess.run(
            [command('freezer-dr-manage'), '--config-file',
             str(engine.config), 'host', 'recover', first, '--reason', 'x',
             '--url', 'http://127.0.0.1:%d' % port],
            capture_output=True, text=True, timeout=60)
        assert again.returncode == 1
        assert 'only a silent host the engine suspects' in again.stderr
    finally:
        engine.db.dispose()
        mail.stop()


def engine_decisions(engine):
    from freezer_dr import engine as engine_module

    def decided(action):
        try:
            found = engine_module.decisions_from_file(engine.decisions)
        except FileNotFoundError:
            return []
        return [d for d in found if d['action'] == action]
    return decided
