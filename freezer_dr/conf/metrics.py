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

"""Options of the engine's metrics and health endpoint."""

from oslo_config import cfg

GROUP = cfg.OptGroup(
    'metrics',
    title='Metrics and health',
    help='freezer-dr-engine serves, over HTTP, GET /metrics (Prometheus), '
         'GET /healthz (200 or 503 with a JSON body naming what is wrong: '
         'bus, journal, leadership) and GET /v1/hosts (every tracked host, '
         'as freezer-dr-manage host list shows them).')

opts = [
    cfg.HostAddressOpt('listen_address',
                       default='127.0.0.1',
                       help='Address the endpoint listens on. The host '
                            'list names every compute host: listen on a '
                            'management network only (0.0.0.0 for every '
                            'address).'),
    cfg.PortOpt('port',
                default=9478,
                help='TCP port of the endpoint; 0 turns it off. A port '
                     'already taken is logged as an error and the engine '
                     'runs without the endpoint.'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
