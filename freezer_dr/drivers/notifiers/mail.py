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

"""The ``email`` notifier: one mail to the members of every affected
project, one summary to the administrators, through SMTP.

For each project of the report (the projects that had instances on the
host) the members' addresses come from a contacts directory
(:class:`freezer_dr.drivers.notifiers.contacts.ProjectContacts`: keystone);
the mail
names the host, what happened and when, and each of the project's
instances with its old and new host and outcome. The administrators' mail
says the same for every project, plus the timeline of the steps and to
whom the project mails went. When the recovery failed, both say which step
failed and that an operator must act.

Mails are Jinja2 templates (``templates/email/*.txt`` of this package; a
file of the same name in ``[email] template_dir`` overrides one): the first
line a template renders is the subject, the rest the body.

Delivery: one SMTP connection for all the mails of a report. A server
that cannot be reached, refuses the TLS upgrade or the login raises
:class:`~freezer_dr.drivers.notifiers.reports.NotificationError` before
anything is
sent. A project whose members cannot be looked up or whose mail is refused
does not stop the others nor the summary (which says so); the notifier
raises once all were tried. The SMTP password is never logged nor put in
an error.
"""

import email.message
import email.policy
import email.utils
import logging
import os
import smtplib
import socket
import ssl

import jinja2

from freezer_dr.conf import keystone_contacts as keystone_contacts_conf
from freezer_dr.conf import mail as mail_conf
from freezer_dr.drivers import base
from freezer_dr.drivers.notifiers import contacts as contacts_module
from freezer_dr.drivers.notifiers import reports

LOG = logging.getLogger(__name__)

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                         'templates', 'email')
TEMPLATE_NAMES = ('project-success.txt', 'project-failure.txt',
                  'admin-success.txt', 'admin-failure.txt')
_STANDARD_PORTS = {'none': 25, 'starttls': 587, 'ssl': 465}
# Headers unfolded up to RFC 5322's limit: Python's folding at 78 columns
# mangles a subject that starts with "[...]" (a leading space).
_POLICY = email.policy.default.clone(max_line_length=998)


class EmailNotifier(base.Notifier):
    """Mails projects and administrators; see the module's doc.

    Built by stevedore as ``EmailNotifier(conf=CONF)``: reads ``[email]``
    and, for the project contacts, ``[keystone_contacts]``. Keyword
    arguments override the options (tests); ``contacts`` is any object
    with ``project(project_id)`` returning a
    :class:`~freezer_dr.drivers.notifiers.contacts.Project`.

    :raises ValueError: a bad configuration (project mails without a
        contacts directory, a template that does not parse).
    """

    def __init__(self, conf=None, contacts=None, **overrides):
        unknown = set(overrides) - {o.dest for o in mail_conf.opts}
        if unknown:
            raise TypeError('unknown options: %s' % ', '.join(sorted(unknown)))
        self._opts = reports.options(conf, mail_conf, overrides)
        if (contacts is None and conf is not None
                and self._opts['project_mails']):
            keystone_contacts_conf.register_opts(conf)
            contacts = contacts_module.ProjectContacts.from_conf(conf)
        if contacts is None and self._opts['project_mails']:
            raise ValueError('[email] project_mails is on but no keystone '
                             'is configured to find the members of a '
                             'project: set [keystone_contacts] auth_type '
                             'and its options, or project_mails = false')
        self._contacts = contacts if self._opts['project_mails'] else None
        security = self._opts['security']
        if security not in _STANDARD_PORTS:
            raise ValueError('[email] security must be none, starttls or '
                             'ssl, not %r' % security)
        self._port = self._opts['smtp_port'] or _STANDARD_PORTS[security]
        if self._opts['user'] and security == 'none':
            LOG.warning('email: logging in to %s as %s without TLS: the '
                        'password crosses the network in clear',
                        self._opts['smtp_host'], self._opts['user'])
        self._templates = _load_templates(self._opts['template_dir'])

    def validate(self):
        """The SMTP settings, checked without connecting (a server that is
        down at start is a failure of the notify step, not of the
        configuration)."""
        opts = self._opts
        for option, value in [('sender', opts['sender'])] + [
                ('admins', a) for a in opts['admins']]:
            if '@' not in email.utils.parseaddr(value)[1]:
                raise base.ConfigurationError(
                    '[email] %s' % option, '%r is not a mail address'
                    % value)
        if not opts['admins'] and self._contacts is None:
            raise base.ConfigurationError(
                '[email] admins', 'nobody would be mailed: no admins and '
                'project_mails is off')
        if opts['user'] and opts['password'] is None:
            raise base.ConfigurationError(
                '[email] password', 'user %s is set, the password is not'
                % opts['user'])
        if opts['ca_file'] and not os.access(opts['ca_file'], os.R_OK):
            raise base.ConfigurationError(
                '[email] ca_file', 'cannot read %s' % opts['ca_file'])
        if not opts['smtp_host']:
            raise base.ConfigurationError('[email] smtp_host', 'empty')
        return []

    @property
    def server(self):
        """``host:port`` of the SMTP server (for messages)."""
        return '%s:%d' % (self._opts['smtp_host'], self._port)

    def notify(self, report):
        projects, problems = self._projects(report)
        messages = []
        for project in projects:
            if project['addresses']:
                messages.append((project, self._message(
                    self._project_template(report), project['addresses'],
                    report=report, project=project, projects=projects)))
        admins = list(self._opts['admins'])
        with self._connect() as smtp:
            for project, message in messages:
                try:
                    self._send(smtp, message, project['addresses'])
                except smtplib.SMTPServerDisconnected:
                    raise _error(self, 'the server closed '
                                               'the connection')
                except smtplib.SMTPException as exc:
                    project['status'] = 'NOT sent: %s' % _smtp_reason(exc)
                    problems.append('project %s: %s' % (project['id'],
                                                        project['status']))
                else:
                    project['status'] = 'sent to %d addresses' % len(
                        project['addresses'])
            if admins:
                summary = self._message(
                    self._admin_template(report), admins, report=report,
                    projects=projects, problems=problems)
                try:
                    self._send(smtp, summary, admins)
                except smtplib.SMTPException as exc:
                    problems.append('the summary to %s: NOT sent: %s'
                                    % (', '.join(admins), _smtp_reason(exc)))
        sent = sum(1 for p in projects if p['status'].startswith('sent'))
        what = 'email through %s: %d of %d project mails sent, %s' % (
            self.server, sent, len(projects),
            'summary to %d admins' % len(admins) if admins
            else 'no admins configured')
        if problems:
            raise reports.NotificationError('%s; NOT delivered: %s'
                                            % (what, '; '.join(problems)))
        LOG.info('%s', what)
        return what

    def alert(self, alert):
        """Mail the alert to ``[email] admins`` (nobody else)."""
        admins = list(self._opts['admins'])
        if not admins:
            return ''
        message = email.message.EmailMessage(policy=_POLICY)
        message['Subject'] = '[freezer-dr] ALERT: %s' % alert.subject
        message['From'] = self._opts['sender']
        message['To'] = ', '.join(admins)
        message['Date'] = email.utils.formatdate(localtime=False)
        message['Message-ID'] = email.utils.make_msgid('freezer-dr')
        message['Auto-Submitted'] = 'auto-generated'
        message.set_content(reports.alert_text(alert))
        with self._connect() as smtp:
            try:
                self._send(smtp, message, admins)
            except smtplib.SMTPException as exc:
                raise _error(self, 'alert %s to %s: %s' % (
                    alert.kind, ', '.join(admins), _smtp_reason(exc)))
        what = 'email through %s: alert %s to %d admins' % (
            self.server, alert.kind, len(admins))
        LOG.info('%s', what)
        return what

    def _projects(self, report):
        """One dict per affected project: id, name, addresses, instances,
        status (what became of its mail); and the problems met."""
        projects, problems = [], []
        for project_id, instances in sorted(report.projects.items()):
            entry = {'id': project_id, 'name': '', 'addresses': (),
                     'instances': instances, 'note': '',
                     'status': 'not sent: project mails are off'}
            projects.append(entry)
            if self._contacts is None:
                continue
            if not project_id:
                entry['status'] = 'not sent: the instances have no project'
                continue
            try:
                found = self._contacts.project(project_id)
            except Exception as exc:
                entry['status'] = 'NOT sent: members unknown: %s' % exc
                problems.append('project %s: %s' % (project_id,
                                                    entry['status']))
                continue
            entry.update(name=found.name, addresses=tuple(found.addresses),
                         note=found.note)
            if not found.addresses:
                entry['status'] = ('not sent: no member has an email address'
                                   + (' (%s)' % found.note if found.note
                                      else ''))
                LOG.warning('email: project %s: %s', project_id,
                            entry['status'])
        return projects, problems

    def _project_template(self, report):
        return self._templates['project-%s.txt' % _kind(report)]

    def _admin_template(self, report):
        return self._templates['admin-%s.txt' % _kind(report)]

    def _message(self, template, recipients, **context):
        report = context['report']
        failed = next((s for s in report.steps
                       if s.name == report.failed_step), None)
        context.update(
            host=report.host, when=reports.when(report.started_at),
            finished=reports.when(report.finished_at),
            duration=max(0.0, report.finished_at - report.started_at),
            failed_detail=failed.detail if failed else '',
            outcome=reports.outcome, instance_line=reports.instance_line,
            sender=self._opts['sender'])
        rendered = template.render(**context).lstrip('\n')
        subject, _, body = rendered.partition('\n')
        message = email.message.EmailMessage(policy=_POLICY)
        message['Subject'] = subject.strip()
        message['From'] = self._opts['sender']
        message['To'] = ', '.join(recipients)
        message['Date'] = email.utils.formatdate(localtime=False)
        message['Message-ID'] = email.utils.make_msgid('freezer-dr')
        message['Auto-Submitted'] = 'auto-generated'
        message.set_content(body.lstrip('\n'))
        return message

    def _connect(self):
        """A logged-in :class:`smtplib.SMTP`, as a context manager.

        :raises NotificationError: naming the server and the reason."""
        host, timeout = self._opts['smtp_host'], self._opts['timeout']
        security = self._opts['security']
        try:
            if security == 'ssl':
                smtp = smtplib.SMTP_SSL(host, self._port, timeout=timeout,
                                        context=self._tls())
            else:
                smtp = smtplib.SMTP(host, self._port, timeout=timeout)
        except (OSError, smtplib.SMTPException) as exc:
            raise _error(self, 'cannot connect: %s'
                                       % _smtp_reason(exc)) from None
        try:
            if security == 'starttls':
                smtp.ehlo()
                if not smtp.has_extn('starttls'):
                    raise _error(
                        self, 'the server does not offer STARTTLS '
                        '([email] security = starttls)')
                smtp.starttls(context=self._tls())
                smtp.ehlo()
            if self._opts['user']:
                smtp.login(self._opts['user'], self._opts['password'] or '')
        except reports.NotificationError:
            _close(smtp)
            raise
        except smtplib.SMTPAuthenticationError as exc:
            _close(smtp)
            raise _error(
                self, 'login as %s refused: %s'
                % (self._opts['user'], _smtp_reason(exc))) from None
        except (OSError, smtplib.SMTPException) as exc:
            _close(smtp)
            raise _error(self, _smtp_reason(exc)) from None
        return smtp

    def _tls(self):
        return ssl.create_default_context(cafile=self._opts['ca_file'])

    def _send(self, smtp, message, recipients):
        refused = smtp.send_message(message, self._opts['sender'],
                                    list(recipients))
        if refused:
            LOG.warning('email: %s refused by %s: %s', message['Subject'],
                        self.server, refused)


def _error(notifier, reason):
    """A NotificationError that names the SMTP server."""
    return reports.NotificationError('email: SMTP server %s: %s'
                                     % (notifier.server, reason))


def _kind(report):
    return 'success' if report.recovered else 'failure'


def _smtp_reason(exc):
    """Why an SMTP operation failed, without anything we sent."""
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error
        if isinstance(text, bytes):
            text = text.decode('utf-8', 'replace')
        return '%s %d %s' % (type(exc).__name__, exc.smtp_code, text)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return 'every recipient refused: %s' % ', '.join(
            '%s (%s)' % (rcpt, code) for rcpt, (code, _) in
            sorted(exc.recipients.items()))
    if isinstance(exc, socket.timeout) or (
            isinstance(exc, smtplib.SMTPServerDisconnected)
            and 'timed out' in str(exc)):
        return 'no answer (timeout)'
    return '%s: %s' % (type(exc).__name__, exc)


def _close(smtp):
    try:
        smtp.close()
    except OSError:
        pass


def _load_templates(template_dir):
    """Every template, parsed now so that a broken one stops the notifier
    from loading rather than a recovery's notification."""
    loaders = [jinja2.FileSystemLoader(TEMPLATES)]
    if template_dir:
        if not os.path.isdir(template_dir):
            raise ValueError('[email] template_dir %s is not a directory'
                             % template_dir)
        loaders.insert(0, jinja2.FileSystemLoader(template_dir))
    environment = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders), autoescape=False,
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
        trim_blocks=True, lstrip_blocks=True)
    templates = {}
    for name in TEMPLATE_NAMES:
        try:
            templates[name] = environment.get_template(name)
        except jinja2.TemplateError as exc:
            raise ValueError('email template %s: %s: %s'
                             % (name, type(exc).__name__, exc)) from exc
    return templates
