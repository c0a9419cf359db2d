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

"""Options of the ``libvirt`` fencer (destroys the host's libvirt domain,
for compute hosts that are themselves virtual machines)."""

from oslo_config import cfg

from freezer_dr.conf import fencer

GROUP = cfg.OptGroup(
    'libvirt',
    title='libvirt fencer',
    help='Fencing of compute hosts that are libvirt domains: destroy the '
         'domain, then check that it is no longer active. The domain name '
         '(domain-name) and, optionally, the connection URI (libvirt-uri) '
         'of each host come from [fencer] credentials_file.')

opts = fencer.retry_opts('libvirt', timeout=10.0) + [
    cfg.StrOpt('uri',
               default='qemu:///system',
               help='libvirt connection URI for hosts whose entry in the '
                    'credentials file has none (for example '
                    'qemu+ssh://root@hypervisor/system; authentication is '
                    'the transport\'s: SSH keys, TLS certificates).'),
]


def register_opts(conf):
    fencer.register(conf, GROUP, opts)


def list_opts():
    return {GROUP: opts}
