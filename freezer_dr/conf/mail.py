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

"""Options of the ``email`` notifier (group ``[email]``): the SMTP server
and who is told. Project members' addresses come from keystone, with the
credentials of ``[keystone_contacts]``."""

import socket

from oslo_config import cfg

GROUP = cfg.OptGroup(
    'email',
    title='email notifier',
    help='The email notifier sends one mail to the members of every '
         'project that had instances on a recovered (or unrecoverable) '
         'host, and one summary to the administrators.')

opts = [
    cfg.HostAddressOpt('smtp_host',
                       default='localhost',
                       help='SMTP server that relays the mails.'),
    cfg.PortOpt('smtp_port',
                default=0,
                help='Port of the SMTP server; 0 means the standard port '
                     'of the security mode: 25 (none), 587 (starttls), '
                     '465 (ssl).'),
    cfg.StrOpt('security',
               default='starttls',
               choices=[('none', 'plain SMTP, nothing encrypted'),
                        ('starttls', 'SMTP upgraded with STARTTLS; refused '
                                     'when the server does not offer it'),
                        ('ssl', 'SMTP over TLS from the first byte '
                                '(SMTPS)')],
               help='How the connection to the SMTP server is protected. '
                    'The server\'s certificate is verified (ca_file).'),
    cfg.StrOpt('ca_file',
               help='CA certificates (PEM) that sign the SMTP server\'s '
                    'certificate; the system\'s CAs when unset.'),
    cfg.StrOpt('user',
               help='User name to log in to the SMTP server with; no login '
                    'when unset.'),
    cfg.StrOpt('password',
               secret=True,
               help='Password of the SMTP user.'),
    cfg.StrOpt('sender',
               default='freezer-dr@' + socket.getfqdn(),
               sample_default='freezer-dr@<fqdn>',
               help='From address of the mails.'),
    cfg.ListOpt('admins',
                default=[],
                help='Addresses of the cloud administrators, who receive '
                     'a summary of every recovery: every project, every '
                     'instance and the timeline of the steps.'),
    cfg.BoolOpt('project_mails',
                default=True,
                help='Send a mail to the members of each affected project '
                     '(users with any role on the project, looked up in '
                     'keystone with the credentials of '
                     '[keystone_contacts]). When true, [keystone_contacts] '
                     'must be configured, or the notifier refuses to '
                     'load.'),
    cfg.FloatOpt('timeout',
                 default=30.0, min=1.0,
                 help='Seconds to wait for the SMTP server (connection and '
                      'each command) before giving up.'),
    cfg.StrOpt('template_dir',
               help='Directory of templates that override the shipped '
                    'ones (Jinja2, by file name: project-success.txt, '
                    'project-failure.txt, admin-success.txt, '
                    'admin-failure.txt). The first line a template renders '
                    'is the subject, the rest the body.'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
