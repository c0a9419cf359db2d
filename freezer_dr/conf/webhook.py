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

"""Options of the ``webhook`` notifier (group ``[webhook]``)."""

from oslo_config import cfg

GROUP = cfg.OptGroup(
    'webhook',
    title='webhook notifier',
    help='The webhook notifier POSTs every recovery report as JSON to a '
         'URL: a Slack (or Mattermost, Rocket.Chat, ...) incoming webhook, '
         'or any HTTP service.')

opts = [
    cfg.URIOpt('url',
               schemes=['http', 'https'],
               secret=True,
               help='URL to POST the reports to. Treated as a secret (an '
                    'incoming webhook\'s URL is its password): never '
                    'logged, and shown in errors without its path and '
                    'credentials.'),
    cfg.StrOpt('format',
               default='json',
               choices=[('json', '{"event_type": "freezer_dr.recovery.end" '
                                 'or ".error", "report": {...}}'),
                        ('slack', '{"text": "..."}: the report as text, '
                                  'for Slack-compatible incoming '
                                  'webhooks')],
               help='What the POSTed JSON looks like.'),
    cfg.FloatOpt('timeout',
                 default=10.0, min=0.5,
                 help='Seconds to wait for the connection and for the '
                      'answer.'),
    cfg.BoolOpt('verify',
                default=True,
                help='Verify the server\'s TLS certificate (https). Turn '
                     'off only for tests.'),
    cfg.StrOpt('ca_file',
               help='CA certificates (PEM) that sign the server\'s '
                    'certificate; the system\'s CAs when unset.'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
