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

"""Options of the ``ipmi`` fencer (IPMI 2.0 over LAN, with pyghmi)."""

from oslo_config import cfg

from freezer_dr.conf import fencer

GROUP = cfg.OptGroup(
    'ipmi',
    title='ipmi fencer',
    help='Fencing through the host\'s BMC over IPMI 2.0 (LAN+). Address, '
         'port, user and password of each BMC come from [fencer] '
         'credentials_file.')

opts = fencer.retry_opts('the BMC', timeout=10.0) + [
    cfg.BoolOpt('soft_off_first',
                default=False,
                help='Ask the BMC for a soft power off first (ACPI: the '
                     'operating system shuts down cleanly), wait '
                     'soft_off_timeout for the power to go off, and only '
                     'then power off hard. A dead host rarely shuts down '
                     'by itself: this delays every fence by up to '
                     'soft_off_timeout.'),
    cfg.FloatOpt('soft_off_timeout',
                 default=30.0, min=0.5, max=600.0,
                 help='With soft_off_first, seconds to wait for the soft '
                      'power off before powering off hard.'),
]


def register_opts(conf):
    fencer.register(conf, GROUP, opts)


def list_opts():
    return {GROUP: opts}
