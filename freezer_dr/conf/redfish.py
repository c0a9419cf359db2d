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

"""Options of the ``redfish`` fencer (DMTF Redfish, with sushy)."""

from oslo_config import cfg

from freezer_dr.conf import fencer

GROUP = cfg.OptGroup(
    'redfish',
    title='redfish fencer',
    help='Fencing through the host\'s Redfish service (ComputerSystem '
         'Reset ForceOff, then PowerState read back). URL, system, user '
         'and password of each host come from [fencer] credentials_file; '
         'without a URL it is https://<address>, without a system the '
         'service\'s only ComputerSystem.')

opts = fencer.retry_opts('the Redfish service', timeout=15.0) + [
    cfg.FloatOpt('connect_timeout',
                 default=5.0, min=0.1, max=120.0,
                 help='Seconds to wait for the TCP connection to the '
                      'Redfish service.'),
    cfg.BoolOpt('verify_tls',
                default=True,
                help='Verify the TLS certificate of https Redfish '
                     'services (against ca_file, or the system\'s CAs). '
                     'Turning it off lets anyone on the management '
                     'network pretend to be the BMC and receive its '
                     'password.'),
    cfg.StrOpt('ca_file',
               help='CA bundle (PEM) to verify the Redfish services\' '
                    'certificates with, instead of the system\'s CAs.'),
    cfg.StrOpt('auth_type',
               default='auto',
               choices=[('auto', 'a Redfish session, or HTTP basic '
                                 'authentication when the service has '
                                 'no session service'),
                        ('session', 'a Redfish session only'),
                        ('basic', 'HTTP basic authentication only')],
               help='How to authenticate to the Redfish service.'),
]


def register_opts(conf):
    fencer.register(conf, GROUP, opts)


def list_opts():
    return {GROUP: opts}
