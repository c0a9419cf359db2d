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

"""The one-shot ``freezer-dr`` (cron) with its default monitor, ``nova``,
on the real nova of the cloud harness (issue 13's acceptance): on a healthy
cloud it prints ``No failed nodes``; once nova reports a killed compute
down, one run fences, isolates, evacuates (instances ACTIVE elsewhere) and
mails, and exits 0. Then the same from an upstream freezer-dr
configuration file and its ``servers.yml``: a BMC that refuses the
password makes the run exit 1 with nothing evacuated; with the password
fixed and the recovery reopened, the next run recovers the host."""

import os
import subprocess

from freezer_dr.journal import api
from freezer_dr.journal import schema
from tests.harness import cloud as harness
from tests.helpers import command
from tests.helpers import wait_for
from tests.peers import notifiers as peers


def _oneshot(*configs):
    args = [command('freezer-dr')]
    for config in configs:
        args += ['--config-file', str(config)]
    return subprocess.run(args, capture_output=True, text=True, timeout=600)


def _private(path, text):
    path.write_text(text)
    os.chmod(path, 0o600)
    return path


def _down_in_nova(nova, host):
    return [s.state for s in nova.services.list(
        host=host, binary='nova-compute')] == ['down']


def _upstream(cloud, tmp_path, mail, host, password):
    """An upstream freezer-dr.conf and servers.yml (upstream's names,
    dashes included) for ``host`` of the harness, its BMC's password
    ``password``."""
    bmc = cloud.host(host)
    servers = _private(tmp_path / 'servers.yml', '''---
  servers:
    - id: COMPUTE-0002
      ip-addr: 127.0.0.1
      hostname: %s
      fencer-ip: 127.0.0.1
      fencer-port: %d
      fencer-user: %s
      fencer-password: %s
''' % (host, bmc.bmc_port, bmc.bmc_user, password))
    auth = cloud.auth_options()
    return _private(tmp_path / 'upstream.conf', '''[DEFAULT]
debug = false

[monitoring]
driver = freezer_dr.monitors.drivers.default.driver.StandardDriver
backend_name = monitoring_backend

[monitoring_backend]
username = %(username)s
password = %(password)s
endpoint = %(auth_url)s

[fencer]
credentials-file = %(servers)s
driver = freezer_dr.fencers.drivers.ipmi.driver.IpmiDriver
retries = 1

[evacuation]
driver = freezer_dr.evacuators.drivers.default.standard.StandardEvacuator

[notifiers]
driver = freezer_dr.notifiers.drivers.default.default_email.StandardEmail
endpoint = 127.0.0.1:%(smtp_port)d
notify-list = %(admins)s
notify-from = freezer-dr@example.org

[keystone_authtoken]
auth_url = %(auth_url)s
auth_plugin = password
username = %(username)s
password = %(password)s
project_name = %(project_name)s
user_domain_name = %(user_domain_name)s
project_domain_name = %(project_domain_name)s
kwargs = region_name:%(region_name)s, interface:public
''' % dict(auth, servers=servers, smtp_port=mail.port,
           admins=harness.ADMIN_EMAIL))


def test_the_one_shot_recovers_what_nova_reports_down(cloud_hosts,
                                                      tmp_path):
    cloud = cloud_hosts
    nova = cloud.nova(version='2.53')
    mail = peers.SmtpServer().start()
    url = 'sqlite:///%s' % (tmp_path / 'journal.sqlite')
    auth = cloud.auth_options()
    ours = tmp_path / 'freezer-dr.conf'
    harness.write_ini(ours, {
        'database': {'connection': url},
        'recovery': {'monitor': 'nova', 'fencer': 'ipmi',
                     'evacuator': 'nova', 'notifiers': 'email'},
        'fencer': {'credentials_file': cloud.credentials_file(
            str(tmp_path / 'bmcs.yaml'))},
        'nova': dict(auth),
        'keystone_contacts': dict(auth),
        'evacuation': {'verify_timeout': 120, 'retry_delay': 0.5},
        'email': {'smtp_host': '127.0.0.1', 'smtp_port': mail.port,
                  'security': 'none', 'sender': 'freezer-dr@example.org',
                  'admins': harness.ADMIN_EMAIL}})
    os.chmod(ours, 0o600)
    synced = subprocess.run([command('freezer-dr-manage'), '--config-file',
                             str(ours), 'db', 'sync'], capture_output=True,
                            text=True)
    assert synced.returncode == 0, synced.stderr
    db = schema.engine_for(url)
    journal = api.Journal(db)
    try:
        healthy = _oneshot(ours)
        assert healthy.returncode == 0, healthy.stderr
        assert healthy.stdout == 'No failed nodes\n'

        # Ours: a compute killed; once nova says it is down, one run.
        first = cloud.boot(2, 'demo-a', hosts=['compute-1'])
        offs = cloud.host('compute-1').status()['counts']['power_off']
        cloud.host('compute-1').kill()
        wait_for(lambda: _down_in_nova(nova, 'compute-1'), 150,
                 interval=1.0, message='nova to report compute-1 down')
        done = _oneshot(ours)
        assert done.returncode == 0, done.stdout + done.stderr
        assert 'compute-1: recovered (' in done.stdout, done.stdout
        assert cloud.host('compute-1').status()['counts']['power_off'] == \
            offs + 1
        service = nova.services.list(host='compute-1',
                                     binary='nova-compute')[0]
        assert service.forced_down and service.status == 'disabled'
        for server in first:
            now = nova.servers.get(server.id)
            assert now.status == 'ACTIVE'
            assert getattr(now, 'OS-EXT-SRV-ATTR:host') != 'compute-1'
        assert mail.mails_about('compute-1'), 'no mail'

        # Upstream's configuration: the BMC refuses the password.
        second = cloud.boot(2, 'demo-b', hosts=['compute-2'])
        cloud.host('compute-2').kill()
        wait_for(lambda: _down_in_nova(nova, 'compute-2'), 150,
                 interval=1.0, message='nova to report compute-2 down')
        overrides = _private(tmp_path / 'journal.conf',
                             '[database]\nconnection = %s\n' % url)
        upstream = _upstream(cloud, tmp_path, mail, 'compute-2',
                             'not-the-password')
        refused = _oneshot(upstream, overrides)
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert 'compute-2: FAILED at fence' in refused.stdout, \
            refused.stdout
        assert 'compute-1: already recovered' in refused.stdout
        assert [m for m in nova.migrations.list(host='compute-2')
                if m.migration_type == 'evacuation' and
                m.source_compute == 'compute-2'] == []
        for server in second:
            assert getattr(nova.servers.get(server.id),
                           'OS-EXT-SRV-ATTR:host') == 'compute-2'
        failed = wait_for(lambda: mail.mails_about(
            'RECOVERY FAILED for compute-2'), 30, message='the failure mail')
        assert 'freezer-dr-manage recovery retry compute-2' in \
            failed[0].body

        # The password fixed, the recovery reopened: the next run.
        upstream = _upstream(cloud, tmp_path, mail, 'compute-2',
                             cloud.host('compute-2').bmc_password)
        retried = subprocess.run(
            [command('freezer-dr-manage'), '--config-file', str(upstream),
             '--config-file', str(overrides), 'recovery', 'retry',
             'compute-2'], capture_output=True, text=True, timeout=60)
        assert retried.returncode == 0, retried.stderr
        again = _oneshot(upstream, overrides)
        assert again.returncode == 0, again.stdout + again.stderr
        assert 'compute-2: recovered (' in again.stdout, again.stdout
        for server in second:
            now = nova.servers.get(server.id)
            assert now.status == 'ACTIVE'
            assert getattr(now, 'OS-EXT-SRV-ATTR:host') not in (
                'compute-1', 'compute-2')
        assert journal.history('compute-2')[0].status == api.DONE
    finally:
        db.dispose()
        mail.stop()
