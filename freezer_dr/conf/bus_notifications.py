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

"""Options of the ``bus`` notifier (group ``[bus_notifications]``).

The notifications are oslo.messaging notifications (messagingv2) sent
through ``[oslo_messaging_notifications] transport_url`` (or ``[DEFAULT]
transport_url``) to the exchange ``[DEFAULT] control_exchange``, like every
OpenStack service's."""

from oslo_config import cfg

GROUP = cfg.OptGroup(
    'bus_notifications',
    title='bus notifier',
    help='The bus notifier publishes freezer_dr.recovery.start when a '
         'recovery begins, and freezer_dr.recovery.end (priority INFO) or '
         'freezer_dr.recovery.error (priority ERROR) with the whole report '
         'when it ends.')

opts = [
    cfg.ListOpt('topics',
                default=['freezer_dr_notifications'],
                help='Notification topics to publish on (a consumer reads '
                     '<topic>.info and <topic>.error).'),
    cfg.IntOpt('retry',
               default=2, min=0,
               help='How many times to reconnect to the broker before a '
                    'notification is given up (and the notify step fails). '
                    'Never infinite: a recovery must not hang on the '
                    'bus.'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
