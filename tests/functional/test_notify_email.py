"""The email notifier against a real SMTP server (aiosmtpd on loopback):
plain, with a login, with STARTTLS and with SMTPS (a self-signed
certificate made on the spot); one mail per project to its members, one
summary to the admins; what the mails say; what a broken server does."""

import logging
import socket
import time

import pytest

from freezer_dr import drivers
from freezer_dr.drivers import base
from freezer_dr.drivers.notifiers import mail
from freezer_dr.drivers.notifiers import reports
from tests.peers import notifiers as peers

ADMINS = ['ops@cloud.example', 'oncall@cloud.example']


@pytest.fixture
def smtp():
    server = peers.SmtpServer().start()
    yield server
    server.stop()


def notifier(server, **kw):
    kw.setdefault('contacts', peers.Directory())
    kw.setdefault('admins', ADMINS)
    kw.setdefault('security', 'none')
    return mail.EmailNotifier(smtp_host='127.0.0.1', smtp_port=server.port,
                              sender='freezer-dr@cloud.example', timeout=5,
                              **kw)


def by_recipients(mails):
    return {tuple(sorted(m.recipients)): m for m in mails}


def test_one_mail_per_project_to_its_members_and_a_summary(smtp):
    report = peers.report(recovered=True)
    result = notifier(smtp).notify(report)
    assert '2 of 2 project mails sent' in result
    mails = by_recipients(smtp.mails_about(report.host))
    assert set(mails) == {('alice@alpha.example', 'bob@alpha.example'),
                          ('carol@beta.example',),
                          tuple(sorted(ADMINS))}
    alpha = mails[('alice@alpha.example', 'bob@alpha.example')]
    assert alpha.sender == 'freezer-dr@cloud.example'
    assert alpha.message['From'] == 'freezer-dr@cloud.example'
    assert report.host in alpha.subject
    body = alpha.body
    assert 'Project P-ALPHA (p-alpha)' in body
    assert peers_when(report) in body
    assert report.reason in body
    for instance in report.projects['p-alpha']:
        assert instance.id in body and instance.name in body
        assert '%s -> %s: evacuated' % (report.host,
                                        instance.target_host) in body
    # A project hears only of its own instances.
    for instance in report.projects['p-beta']:
        assert instance.id not in body
    beta = mails[('carol@beta.example',)]
    assert report.projects['p-beta'][0].id in beta.body


def peers_when(report):
    return reports.when(report.started_at)


def test_the_admin_summary_has_every_project_instance_and_step(smtp):
    report = peers.report(recovered=True)
    notifier(smtp).notify(report)
    summary = by_recipients(smtp.mails_about(report.host))[
        tuple(sorted(ADMINS))]
    assert summary.subject == ('[freezer-dr] %s recovered: 3 of 3 '
                               'instances evacuated' % report.host)
    body = summary.body
    for instance in report.instances:
        assert instance.id in body
        assert '%s -> %s: evacuated' % (report.host,
                                        instance.target_host) in body
    for step in report.steps:
        assert '%s: %s in %.2f s: %s' % (step.name, step.status,
                                         step.seconds, step.detail) in body
    assert 'Project P-ALPHA (p-alpha): mail sent to 2 addresses' in body
    assert 'Project P-BETA (p-beta): mail sent to 1 addresses' in body
    assert report.incarnation in body and peers_when(report) in body


def test_failure_mails_name_the_failed_step_and_ask_an_operator(smtp):
    report = peers.report(recovered=False)
    notifier(smtp).notify(report)
    mails = by_recipients(smtp.mails_about(report.host))
    summary = mails[tuple(sorted(ADMINS))]
    assert summary.subject == ('[freezer-dr] RECOVERY FAILED for %s at step '
                               'evacuate: an operator must act' % report.host)
    assert 'Failed step:   evacuate: 1 of 3 instances not evacuated' in \
        summary.body
    assert 'AN OPERATOR MUST ACT' in summary.body
    alpha = mails[('alice@alpha.example', 'bob@alpha.example')]
    assert 'could NOT all be recovered' in alpha.subject
    assert 'FAILED at the\nstep "evacuate"' in alpha.body
    assert 'An operator must act' in alpha.body
    bad = [i for i in report.instances if not i.ok][0]
    assert '%s -> ?: NOT evacuated (no valid host was found)' % \
        report.host in alpha.body
    assert bad.id in alpha.body


def _down(report):
    """``report``'s instances as the evacuator's ``affected`` lists them:
    still on the host, down, not moved."""
    return tuple(i._replace(ok=False, target_host='',
                            detail='still on %s' % report.host)
                 for i in report.instances)


def test_a_failure_at_the_fence_tells_every_project_and_the_command(smtp):
    """Issue 13, point 10: a recovery that failed at the fence (a wrong
    BMC password) mails the administrators the host, the reason, every
    instance still on it by project and the command that runs the
    recovery again; each project is told its instances are down and not
    moved."""
    base_report = peers.report(recovered=False)
    report = base_report._replace(
        instances=_down(base_report), failed_step='fence',
        steps=(base.StepReport('fence', 'failed', 'power-off not confirmed '
                               '(the BMC refused the password)', 30.0),),
        next_step='freezer-dr-manage recovery retry %s' % base_report.host)
    result = notifier(smtp).notify(report)
    assert '2 of 2 project mails sent' in result
    mails = by_recipients(smtp.mails_about(report.host))
    summary = mails[tuple(sorted(ADMINS))]
    assert 'at step fence' in summary.subject
    body = summary.body
    assert 'the BMC refused the password' in body
    assert report.reason in body
    assert '    freezer-dr-manage recovery retry %s\n' % report.host in body
    for instance in report.instances:
        assert '%s (%s): %s -> ?: DOWN, not moved' % (
            instance.name, instance.id, report.host) in body
    assert 'Project P-ALPHA (p-alpha): mail sent to 2 addresses' in body
    alpha = mails[('alice@alpha.example', 'bob@alpha.example')]
    assert 'could NOT all be recovered' in alpha.subject
    assert 'not running and was not\nmoved to another host' in alpha.body
    for instance in report.projects['p-alpha']:
        assert instance.id in alpha.body
    assert report.projects['p-beta'][0].id not in alpha.body
    beta = mails[('carol@beta.example',)]
    assert report.projects['p-beta'][0].id in beta.body
    assert '-> ?: DOWN, not moved' in beta.body


def test_a_held_recovery_says_so_and_how_to_move_it_on(smtp):
    base_report = peers.report(recovered=False)
    report = base_report._replace(
        instances=_down(base_report), failed_step='', steps=(), held=True,
        summary='Host %s ... is HELD: over the fence budget' %
        base_report.host,
        next_step='freezer-dr-manage host release %s' % base_report.host)
    notifier(smtp).notify(report)
    mails = by_recipients(smtp.mails_about(report.host))
    summary = mails[tuple(sorted(ADMINS))]
    assert summary.subject == ('[freezer-dr] RECOVERY HELD for %s: nothing '
                               'fenced or moved, an operator must act'
                               % report.host)
    assert 'Held:          nothing was fenced, isolated or evacuated' in \
        summary.body
    assert 'Failed step' not in summary.body
    assert 'checked that the host is dead' in summary.body
    assert '    freezer-dr-manage host release %s\n' % report.host in \
        summary.body
    assert len(report.instances) == 3 and all(
        i.id in summary.body for i in report.instances)
    alpha = mails[('alice@alpha.example', 'bob@alpha.example')]
    assert alpha.subject == ('[freezer-dr] %s failed: your instances there '
                             'may be down, none was moved' % report.host)
    assert 'HELD: nothing was moved' in alpha.body


def test_nothing_listed_mails_the_admins_only(smtp):
    report = peers.report(recovered=False)._replace(
        instances=(), failed_step='fence',
        steps=(base.StepReport('fence', 'failed', 'power-off not confirmed',
                               30.0),))
    result = notifier(smtp).notify(report)
    assert '0 of 0 project mails sent' in result
    [summary] = smtp.mails_about(report.host)
    assert sorted(summary.recipients) == sorted(ADMINS)
    assert 'at step fence' in summary.subject
    assert 'power-off not confirmed' in summary.body
    assert 'none listed' in summary.body


def test_login_over_plain_smtp():
    server = peers.SmtpServer(users={'fdr': 'pa55-word'}).start()
    try:
        report = peers.report()
        notifier(server, user='fdr', password='pa55-word').notify(report)
        mails = server.mails_about(report.host)
        assert len(mails) == 3 and {m.login for m in mails} == {'fdr'}
        assert not any(m.tls for m in mails)
    finally:
        server.stop()


def test_a_wrong_password_is_refused_without_showing_it(caplog):
    caplog.set_level(logging.DEBUG, logger='freezer_dr')
    server = peers.SmtpServer(users={'fdr': 'right-one'}).start()
    try:
        with pytest.raises(reports.NotificationError) as raised:
            notifier(server, user='fdr',
                     password='wrong-pa55').notify(peers.report())
        message = str(raised.value)
        assert 'login as fdr refused' in message
        assert '127.0.0.1:%d' % server.port in message
        assert 'wrong-pa55' not in message + caplog.text
        assert server.mails == []
    finally:
        server.stop()


def test_starttls_with_a_verified_certificate(tmp_path):
    cert, key = peers.self_signed(tmp_path)
    server = peers.SmtpServer(users={'fdr': 'tls-pa55'},
                              tls=peers.server_tls(cert, key)).start()
    try:
        report = peers.report()
        notifier(server, security='starttls', ca_file=cert, user='fdr',
                 password='tls-pa55').notify(report)
        mails = server.mails_about(report.host)
        assert len(mails) == 3
        assert all(m.tls and m.login == 'fdr' for m in mails)
    finally:
        server.stop()


def test_starttls_refuses_a_certificate_it_cannot_verify(tmp_path):
    cert, key = peers.self_signed(tmp_path)
    server = peers.SmtpServer(tls=peers.server_tls(cert, key)).start()
    try:
        with pytest.raises(reports.NotificationError) as raised:
            # No ca_file: the system's CAs do not know our certificate.
            notifier(server, security='starttls').notify(peers.report())
        assert 'CERTIFICATE_VERIFY_FAILED' in str(raised.value)
        assert server.mails == []
    finally:
        server.stop()


def test_starttls_is_required_when_configured(smtp):
    with pytest.raises(reports.NotificationError) as raised:
        notifier(smtp, security='starttls').notify(peers.report())
    assert 'does not offer STARTTLS' in str(raised.value)
    assert smtp.mails == []


def test_smtps(tmp_path):
    cert, key = peers.self_signed(tmp_path)
    server = peers.SmtpServer(tls=peers.server_tls(cert, key),
                              implicit_tls=True).start()
    try:
        report = peers.report()
        notifier(server, security='ssl', ca_file=cert).notify(report)
        mails = server.mails_about(report.host)
        assert len(mails) == 3 and all(m.tls for m in mails)
    finally:
        server.stop()


def test_a_server_that_is_down_raises_at_once():
    port = peers.closed_port()
    n = mail.EmailNotifier(smtp_host='127.0.0.1', smtp_port=port,
                           security='none', admins=ADMINS,
                           contacts=peers.Directory())
    began = time.monotonic()
    with pytest.raises(reports.NotificationError) as raised:
        n.notify(peers.report())
    assert time.monotonic() - began < 5
    assert 'SMTP server 127.0.0.1:%d: cannot connect: ' \
        'ConnectionRefusedError' % port in str(raised.value)


def test_a_server_that_never_answers_raises_after_the_timeout():
    with socket.socket() as silent:
        silent.bind(('127.0.0.1', 0))
        silent.listen(5)        # accepts connections, never says a word
        n = mail.EmailNotifier(smtp_host='127.0.0.1',
                               smtp_port=silent.getsockname()[1],
                               security='none', admins=ADMINS, timeout=1,
                               contacts=peers.Directory())
        began = time.monotonic()
        with pytest.raises(reports.NotificationError) as raised:
            n.notify(peers.report())
        assert 1 <= time.monotonic() - began < 5
    assert 'no answer (timeout)' in str(raised.value)


def test_members_unknown_for_one_project_still_tells_the_others(smtp):
    directory = peers.Directory(members={'p-alpha': ('alice@alpha.example',
                                                     )})
    report = peers.report()
    with pytest.raises(reports.NotificationError) as raised:
        notifier(smtp, contacts=directory).notify(report)
    assert 'project p-beta: NOT sent: members unknown' in str(raised.value)
    mails = by_recipients(smtp.mails_about(report.host))
    assert set(mails) == {('alice@alpha.example',), tuple(sorted(ADMINS))}
    summary = mails[tuple(sorted(ADMINS))].body
    assert 'Notifications NOT delivered:' in summary
    assert 'project p-beta: NOT sent: members unknown: no project p-beta' \
        in summary


def test_a_project_without_addresses_is_noted_not_an_error(smtp):
    directory = peers.Directory(members={'p-alpha': (),
                                         'p-beta': ('carol@beta.example',)})
    report = peers.report()
    result = notifier(smtp, contacts=directory).notify(report)
    assert '1 of 2 project mails sent' in result
    summary = by_recipients(smtp.mails_about(report.host))[
        tuple(sorted(ADMINS))].body
    assert 'mail not sent: no member has an email address' in summary


def test_templates_can_be_overridden_from_a_directory(smtp, tmp_path):
    (tmp_path / 'admin-success.txt').write_text(
        'Custom: {{ host }}\n{% for i in report.instances %}{{ i.id }}\n'
        '{% endfor %}')
    report = peers.report()
    notifier(smtp, template_dir=str(tmp_path)).notify(report)
    summary = by_recipients(smtp.mails_about(report.host))[
        tuple(sorted(ADMINS))]
    assert summary.subject == 'Custom: %s' % report.host
    assert summary.body.split() == [i.id for i in report.instances]
    # The other templates are still the shipped ones.
    alpha = by_recipients(smtp.mails_about(report.host))[
        ('alice@alpha.example', 'bob@alpha.example')]
    assert 'your instances were moved' in alpha.subject


def test_a_broken_template_stops_the_notifier_from_loading(tmp_path):
    (tmp_path / 'project-failure.txt').write_text('{% for x in %}')
    with pytest.raises(ValueError) as raised:
        mail.EmailNotifier(template_dir=str(tmp_path), admins=ADMINS,
                           contacts=peers.Directory())
    assert 'project-failure.txt' in str(raised.value)


def test_built_by_stevedore_from_the_configuration(smtp, tmp_path):
    conf = peers.make_conf(tmp_path, {'email': {
        'smtp_host': '127.0.0.1', 'smtp_port': smtp.port,
        'security': 'none', 'sender': 'dr@cloud.example',
        'admins': ','.join(ADMINS), 'project_mails': 'false'}})
    n = drivers.load(drivers.NOTIFIERS, 'email', conf=conf)
    report = peers.report()
    assert '0 of 2 project mails sent, summary to 2 admins' in \
        n.notify(report)
    [summary] = smtp.mails_about(report.host)
    assert summary.sender == 'dr@cloud.example'
    assert 'mail not sent: project mails are off' in summary.body


def test_project_mails_without_keystone_refuse_to_load(tmp_path):
    conf = peers.make_conf(tmp_path, {'email': {'admins': ADMINS[0]}})
    with pytest.raises(drivers.DriverNotFound) as raised:
        drivers.load(drivers.NOTIFIERS, 'email', conf=conf)
    assert '[keystone_contacts] auth_type' in str(raised.value)
