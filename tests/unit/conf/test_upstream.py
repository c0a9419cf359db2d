"""Upstream configuration (issue 13, point 2): an upstream freezer-dr
configuration and its servers.yml are read as ours (every upstream option
mapped, or rejected saying what to use instead), dashed names work,
/etc/freezer/freezer-dr.conf is found when /etc/freezer-dr/ has none, and
``config migrate`` writes the equivalent file."""

import os
import subprocess
import sys

from oslo_config import cfg
from oslo_log import log as logging
import pytest

from freezer_dr.conf import opts as our_opts
from freezer_dr.conf import strict
from freezer_dr.conf import upstream
from freezer_dr.drivers.fencers import credentials
from tests.helpers import TOP

#: Upstream's etc/servers.yml (openstack/freezer-dr), trimmed.
SERVERS = '''---
  servers:
    - id: COMPUTE-0001
      ip-addr: 192.168.10.6
      hostname: padawan-ccp-comp0001-mgmt
      domain-name: padawan-vagrant_cpn-0001  # used for libvirt driver only !
      fencer-ip: 192.168.9.6
      fencer-password: password
      fencer-user: admin

    - id: COMPUTE-0002
      ip-addr: 192.168.10.7
      hostname: padawan-ccp-comp0002-mgmt
      domain-name: padawan-vagrant_cpn-0002  # name of VM in kvm
      fencer-ip: 192.168.9.7
      fencer-password: password
      fencer-user: admin
'''

#: An upstream freezer-dr.conf, as its sample and README had it: every
#: section, names as upstream's options were spelt (dashes included).
UPSTREAM = '''[DEFAULT]
wait = 30
debug = true
log_file = /var/log/freezer/freezer-dr.log

[monitoring]
driver = freezer_dr.monitors.drivers.default.driver.StandardDriver
backend_name = monitoring_backend

[monitoring_backend]
username = admin
password = monpass
endpoint = http://keystone:5000/v3
kwargs = project_name:admin, user_domain_name:Default

[fencer]
credentials-file = %(servers)s
retries = 2
hold-period = 15
driver = freezer_dr.fencers.drivers.ipmi.driver.IpmiDriver
options =

[evacuation]
driver = freezer_dr.evacuators.drivers.default.standard.StandardEvacuator
wait = 10
retries = 2
shared-storage = false
options =

[notifiers]
driver = freezer_dr.notifiers.drivers.default.default_email.StandardEmail
endpoint = smtp.example.com:2525
username = mailer
password = mailpass
templates-dir = /etc/freezer/templates
options = tls:True
notify-list = ops@example.com, noc@example.com
notify-from = freezer-dr@example.com

[keystone_authtoken]
auth_uri = http://keystone:5000
auth_url = http://keystone:5000/v3
auth_plugin = password
username = freezer
password = kspass
project_name = service
project_domain_name = Default
user_domain_name = Default
kwargs = endpoint_type:internalURL, insecure:False
'''


def _write(path, text):
    path.write_text(text)
    os.chmod(path, 0o600)
    return str(path)


@pytest.fixture
def files(tmp_path):
    servers = _write(tmp_path / 'servers.yml', SERVERS)
    conf = _write(tmp_path / 'freezer-dr.conf',
                  UPSTREAM % {'servers': servers})
    return conf, servers


def _parse(path):
    sections = {}
    cfg.ConfigParser(path, sections).parse()
    return sections


def _translate(text, tmp_path, name='freezer-dr.conf'):
    path = _write(tmp_path / name, text)
    return upstream.translate(_parse(path), path)


def _conf():
    conf = cfg.ConfigOpts()
    for group, options in our_opts.list_opts():
        name = getattr(group, 'name', group)
        if name is not None:
            conf.register_group(cfg.OptGroup(name))
        conf.register_opts(options, group=name)
    logging.register_options(conf)
    return conf


@pytest.fixture
def installed():
    upstream.install()
    yield
    upstream.uninstall()


def test_the_upstream_file_translates_to_our_sections(files):
    conf, servers = files
    result = upstream.translate(_parse(conf), conf)
    assert result.upstream
    assert result.rejected == []
    got = {s: {k: v[-1] for k, v in o.items()}
           for s, o in result.sections.items()}
    assert got['recovery'] == {'monitor': 'nova', 'fencer': 'ipmi',
                               'evacuator': 'nova',
                               'notifiers': 'log,email'}
    assert got['fencer'] == {'credentials_file': servers}
    assert got['ipmi'] == {'soft_off_first': 'true',
                           'soft_off_timeout': '30'}
    assert got['evacuation'] == {'retry_delay': '10', 'attempts': '2'}
    assert got['email'] == {
        'smtp_host': 'smtp.example.com', 'smtp_port': '2525',
        'user': 'mailer', 'password': 'mailpass', 'security': 'starttls',
        'admins': 'ops@example.com, noc@example.com',
        'sender': 'freezer-dr@example.com'}
    for section in ('nova', 'keystone_contacts'):
        assert got[section] == {
            'auth_type': 'password', 'auth_url': 'http://keystone:5000/v3',
            'username': 'freezer', 'password': 'kspass',
            'project_name': 'service', 'project_domain_name': 'Default',
            'user_domain_name': 'Default', 'interface': 'internal',
            'insecure': 'False'}
    assert got['DEFAULT'] == {'debug': 'true',
                              'log_file': '/var/log/freezer/freezer-dr.log'}
    assert not set(got) & {'monitoring', 'monitoring_backend', 'notifiers',
                           'keystone_authtoken'}
    ignored = {(s, o) for s, o, _, _ in result.ignored}
    assert {('DEFAULT', 'wait'), ('evacuation', 'shared-storage'),
            ('notifiers', 'templates-dir'), ('keystone_authtoken',
                                             'auth_uri'),
            ('fencer', 'options'), ('evacuation', 'options'),
            ('monitoring_backend', 'username')} <= ignored


def test_upstream_servers_yml_is_read_by_our_fencers(files):
    _, servers = files
    hosts = credentials.load(servers)
    assert set(hosts) == {'padawan-ccp-comp0001-mgmt',
                          'padawan-ccp-comp0002-mgmt'}
    entry = hosts['padawan-ccp-comp0001-mgmt']
    assert (entry.address, entry.port, entry.username, entry.password,
            entry.domain) == ('192.168.9.6', 623, 'admin', 'password',
                              'padawan-vagrant_cpn-0001')


@pytest.mark.parametrize('text, said', [
    ('[DEFAULT]\nwait = 60\n', 'freezer-dr does not sleep and ask again'),
    ('[monitoring]\ndriver = freezer_dr.monitors.drivers.monasca.driver.'
     'MonascaDriver\nbackend_name = mon\n[mon]\nmonasca_url = http://m\n',
     'freezer-dr has no Monasca monitor'),
    ('[fencer]\ndriver = my.own.Fencer\n',
     "unknown fencer driver 'my.own.Fencer': use [recovery] fencer = ipmi "
     'or libvirt or noop or redfish'),
    ('[fencer]\ndriver = freezer_dr.fencers.drivers.libvirt.driver.'
     'LibvirtDriver\nretries = 3\n',
     "freezer-dr's libvirt fencer powers off at once"),
    ('[notifiers]\ntemplates-dir = /srv/templates\n',
     'set [email] template_dir'),
    ('[notifiers]\ndriver = freezer_dr.notifiers.drivers.slack.slack.'
     'SlackNotifier\noptions = slack_proxy:http://proxy:3128\n',
     'the webhook notifier connects directly'),
    ('[keystone_authtoken]\nauth_plugin = token\n',
     "set [nova] auth_type and that plugin's options"),
    ('[keystone_authtoken]\nkwargs = foo:bar\n',
     'not a keystoneauth password option'),
    ('[monitoring]\ndrivr = x\n', 'had no such option'),
])
def test_a_rejected_option_says_what_to_use_instead(tmp_path, text, said):
    result = _translate(text, tmp_path)
    assert result.rejected, result.messages()
    assert said in result.rejected[0][3]


def test_slack_becomes_the_webhook_notifier(tmp_path):
    result = _translate(
        '[notifiers]\ndriver = freezer_dr.notifiers.drivers.slack.slack.'
        'SlackNotifier\nendpoint = https://hooks.slack.com/services/T/B/x\n'
        'options = slack_timeout:5, slack_insecured:False\n', tmp_path)
    assert result.rejected == []
    assert result.sections['recovery'] == {'notifiers': ['log,webhook']}
    assert result.sections['webhook'] == {
        'format': ['slack'], 'url': ['https://hooks.slack.com/services/T/B/x'],
        'timeout': ['5'], 'verify': ['true']}


def test_dummy_monitor_becomes_the_static_monitor(tmp_path):
    result = _translate(
        '[monitoring]\ndriver = freezer_dr.monitors.drivers.dummy.driver.'
        'DummyDriver\nbackend_name = dummy\n[dummy]\nnodes_down = c1,c2\n',
        tmp_path)
    assert result.rejected == []
    assert result.sections['recovery']['monitor'] == ['static']
    assert result.sections['static_monitor'] == {'hosts': ['c1,c2']}
    assert 'dummy' not in result.sections


def test_our_values_win_over_upstream_ones_in_the_same_file(tmp_path):
    result = _translate('[fencer]\ndriver = freezer_dr.fencers.drivers.'
                        'ipmi.driver.IpmiDriver\n[recovery]\nfencer = '
                        'redfish\n', tmp_path)
    assert result.sections['recovery'] == {'fencer': ['redfish']}


def test_every_upstream_option_is_in_the_table():
    # Upstream's list_opts() (freezer_dr/common/config.py), by oslo name.
    names = {
        'DEFAULT': ['wait', 'os_username', 'os_password', 'os_project_name',
                    'os_project_domain_name', 'os_user_domain_name',
                    'os_auth_url', 'os_backup_url', 'os_region_name',
                    'os_token', 'os_identity_api_version',
                    'os_endpoint_type'],
        'monitoring': ['driver', 'backend_name'],
        'fencer': ['credentials_file', 'retries', 'hold_period', 'driver',
                   'options'],
        'evacuation': ['driver', 'wait', 'retries', 'shared_storage',
                       'options'],
        'notifiers': ['driver', 'endpoint', 'username', 'password',
                      'templates_dir', 'options', 'notify_list',
                      'notify_from'],
        'keystone_authtoken': ['auth_uri', 'auth_url', 'auth_plugin',
                               'username', 'password', 'project_name',
                               'domain_name', 'project_domain_id',
                               'user_domain_id', 'project_domain_name',
                               'user_domain_name', 'kwargs'],
    }
    for section, options in names.items():
        for option in options:
            assert (section, option) in upstream.UPSTREAM, (section, option)
    doc = open(os.path.join(TOP, 'doc', 'source',
                            'upstream-config.rst')).read()
    for section, option in upstream.UPSTREAM:
        if section.startswith('<'):     # (a section named by the file)
            assert '``%s``' % option in doc or '] %s``' % option in doc, (
                section, option)
            continue
        assert '[%s] %s' % (section, option) in doc.replace('-', '_'), (
            section, option)


def test_dashed_names_of_our_options_translate(tmp_path):
    result = _translate('[fencer]\ncredentials-file = /x.yml\n[nova]\n'
                        'auth-type = password\nuser-domain-name = Default\n'
                        '[recovery]\nno-such-option = 1\n', tmp_path)
    assert not result.upstream
    assert result.sections['fencer'] == {'credentials_file': ['/x.yml']}
    assert result.sections['nova'] == {'auth_type': ['password'],
                                       'user_domain_name': ['Default']}
    # (what is no option stays, for the strict check to name)
    assert result.sections['recovery'] == {'no-such-option': ['1']}


def test_installed_commands_read_upstream_and_dashed_files(files, tmp_path,
                                                           installed):
    conf_path, servers = files
    later = _write(tmp_path / 'later.conf', '[recovery]\nfencer = redfish\n'
                   '[ipmi]\nsoft-off-timeout = 5\n')
    conf = _conf()
    conf(['--config-file', conf_path, '--config-file', later],
         project='freezer-dr', default_config_files=[])
    strict.check_names(conf)
    strict.check_values(conf)
    assert conf.fencer.credentials_file == servers
    assert conf.recovery.fencer == 'redfish'        # (the later file wins)
    assert conf.recovery.evacuator == 'nova'
    assert conf.ipmi.soft_off_first is True
    assert conf.ipmi.soft_off_timeout == 5.0
    assert conf.email.admins == ['ops@example.com', 'noc@example.com']
    assert conf.evacuation.attempts == 2
    upstream.check(conf)
    notes = upstream.notes(conf)
    assert '%s: [DEFAULT] wait ignored: freezer-dr does not sleep' % (
        conf_path) in '\n'.join(notes)


def test_installed_a_rejected_option_is_refused(tmp_path, installed):
    path = _write(tmp_path / 'freezer-dr.conf', '[DEFAULT]\nwait = 60\n')
    conf = _conf()
    conf(['--config-file', path], project='freezer-dr',
         default_config_files=[])
    with pytest.raises(upstream.UpstreamOptionRejected) as caught:
        upstream.check(conf)
    assert str(caught.value).startswith(
        "[DEFAULT] wait in %s is upstream freezer-dr's and not read by "
        'freezer-dr: freezer-dr does not sleep and ask again' % path)
    assert 'freezer-dr-manage config migrate %s NEW' % path in str(
        caught.value)


def test_installed_an_unknown_dashed_name_is_named_in_the_original_file(
        tmp_path, installed):
    path = _write(tmp_path / 'freezer-dr.conf',
                  '[fencer]\ncredentials-fil = /x\n')
    conf = _conf()
    conf(['--config-file', path], project='freezer-dr',
         default_config_files=[])
    with pytest.raises(strict.UnknownOption) as caught:
        strict.check_names(conf)
    assert str(caught.value) == (
        'unknown option [fencer] credentials-fil in %s (did you mean '
        'credentials_file?)' % path)


def test_migrate_writes_a_file_the_strict_check_accepts(files, tmp_path):
    conf_path, servers = files
    new = str(tmp_path / 'new.conf')
    messages = upstream.migrate(conf_path, new)
    assert messages[0] == 'wrote %s from %s' % (new, conf_path)
    assert 'credentials file %s: 2 host(s), read as it is' % servers in \
        messages
    assert any(m.startswith('ignored: [DEFAULT] wait: ') for m in messages)
    assert os.stat(new).st_mode & 0o777 == 0o600
    text = open(new).read()
    assert '# from upstream [fencer] driver\nfencer = ipmi\n' in text
    assert '#   [DEFAULT] wait = 30: freezer-dr does not sleep' in text
    assert 'kspass' in text and 'monpass' not in text
    conf = _conf()
    conf(['--config-file', new], project='freezer-dr',
         default_config_files=[])
    strict.check_names(conf)
    strict.check_values(conf)
    assert conf.recovery.fencer == 'ipmi'
    assert conf.recovery.notifiers == ['log', 'email']
    assert conf.email.smtp_port == 2525
    assert conf.fencer.credentials_file == servers
    # the new file is ours: nothing upstream, nothing dashed left
    assert not upstream.is_upstream(_parse(new))
    assert '-' not in ''.join(k for v in _parse(new).values() for k in v)


def test_migrate_lists_rejected_options_as_comments(tmp_path):
    old = _write(tmp_path / 'old.conf',
                 '[DEFAULT]\nwait = 60\n[monitoring]\ndriver = freezer_dr.'
                 'monitors.drivers.monasca.driver.MonascaDriver\n')
    new = str(tmp_path / 'new.conf')
    messages = upstream.migrate(old, new)
    assert any(m.startswith('rejected: [DEFAULT] wait: ') for m in messages)
    assert any(m.startswith('rejected: [monitoring] driver: freezer-dr has '
                            'no Monasca monitor') for m in messages)
    text = open(new).read()
    assert '# NOT carried over' in text
    assert '#   [DEFAULT] wait = 60: ' in text
    conf = _conf()
    conf(['--config-file', new], project='freezer-dr',
         default_config_files=[])
    strict.check_names(conf)


def test_migrate_never_overwrites(files, tmp_path):
    conf_path, _ = files
    new = tmp_path / 'new.conf'
    new.write_text('mine\n')
    with pytest.raises(upstream.MigrationError, match='exists'):
        upstream.migrate(conf_path, str(new))
    assert new.read_text() == 'mine\n'
    with pytest.raises(upstream.MigrationError, match='cannot read'):
        upstream.migrate(str(tmp_path / 'none.conf'),
                         str(tmp_path / 'other.conf'))


def test_values_survive_the_round_trip(tmp_path):
    old = _write(tmp_path / 'old.conf',
                 '[email]\nsender = "quoted"\nuser = \'a\'\n'
                 '[DEFAULT]\nlogging_context_format_string = %(message)s\n')
    new = str(tmp_path / 'new.conf')
    upstream.migrate(old, new)
    assert _parse(new)['email'] == _parse(old)['email']
    assert _parse(new)['DEFAULT'] == _parse(old)['DEFAULT']


def test_upstream_default_file_is_found_when_ours_is_absent(tmp_path,
                                                            monkeypatch):
    old = tmp_path / 'etc-freezer'
    old.mkdir()
    (old / 'freezer-dr.conf').write_text('[DEFAULT]\n')
    monkeypatch.setattr(upstream, 'UPSTREAM_DIRS', (str(old),))
    monkeypatch.setattr(cfg, 'find_config_files', lambda **kw: [])
    assert upstream.default_config_files(prog='freezer-dr-engine') == [
        str(old / 'freezer-dr.conf')]
    ours = str(tmp_path / 'freezer-dr.conf')
    monkeypatch.setattr(cfg, 'find_config_files', lambda **kw: [ours])
    assert upstream.default_config_files() == [ours]
    prog = str(tmp_path / 'freezer-dr-engine.conf')
    monkeypatch.setattr(cfg, 'find_config_files', lambda **kw: [prog])
    assert upstream.default_config_files() == [
        str(old / 'freezer-dr.conf'), prog]


def test_installing_changes_nothing_for_our_own_files(tmp_path):
    # (a subprocess: install() changes oslo.config for the whole process)
    path = _write(tmp_path / 'freezer-dr.conf',
                  '[recovery]\nnotifiers = log\n[fencer]\n'
                  'credentials_file = /x\n')
    code = (
        'from oslo_config import cfg\n'
        'from freezer_dr.conf import upstream\n'
        'plain = {}; cfg.ConfigParser(%r, plain).parse()\n'
        'upstream.install()\n'
        'seen = {}; cfg.ConfigParser(%r, seen).parse()\n'
        'assert seen == plain, (seen, plain)\n' % (path, path))
    subprocess.run([sys.executable, '-c', code], check=True, cwd=TOP)
