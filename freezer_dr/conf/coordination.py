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

"""Options of the engines' coordination: who leads (tooz)."""

from oslo_config import cfg

GROUP = cfg.OptGroup(
    'coordination',
    title='Leadership between engines',
    help='freezer-dr-engine runs active/passive: the engine that holds the '
         'leadership lock recovers the hosts; the others (standbys) follow '
         'every event, keep their liveness state warm and act on nothing. '
         'Each leadership term has an epoch, stored in the journal, that '
         'every journal write of a recovery checks: a deposed leader cannot '
         'write, so it cannot act.')

opts = [
    cfg.StrOpt('backend_url',
               secret=True,
               help='tooz URL of the coordination backend: redis://, '
                    'etcd3+http://, zookeeper://, file://, postgresql://, '
                    'mysql://. Unset, it follows [database] connection, so '
                    'that engines sharing a journal are coordinated with no '
                    'further setting: a PostgreSQL or MySQL journal gives '
                    'tooz\'s driver for that database (its locks die with '
                    'the connection); a sqlite journal gives file:// beside '
                    'it (engines on one machine only).'),
    cfg.FloatOpt('lease',
                 default=10.0, min=1.0, max=600.0,
                 help='Seconds the leader may go without renewing its '
                      'leadership (the lock and the epoch in the journal) '
                      'before it stops acting, by its own clock. With '
                      'redis it is also the lock\'s expiry: a standby '
                      'takes over within it after the leader died. A '
                      'file:// lock is free when the leader\'s process '
                      'ends; a PostgreSQL or MySQL lock when its database '
                      'connection does, which for a leader host that lost '
                      'power is when the database notices (TCP keepalive): '
                      'prefer redis, etcd3 or zookeeper across hosts.'),
    cfg.BoolOpt('partitions',
                default=False,
                help='Every engine is active, for the hosts that tooz\'s '
                     'consistent hash ring over the engines gives it '
                     '(for clouds one engine cannot hold), instead of one '
                     'leader and standbys. Needs a backend with group '
                     'membership in backend_url (redis, etcd3, zookeeper). '
                     'Each host\'s owner takes the host\'s next epoch in '
                     'the journal (table owners, every term kept in '
                     'ownership_terms), which every write of its recovery '
                     'checks; an engine that could not renew its '
                     'membership for two thirds of the lease acts on '
                     'nothing, and the others take its hosts once the '
                     'backend expires it (the lease).'),
    cfg.StrOpt('member_id',
               sample_default='<host name>-<pid>',
               help='This engine\'s name in the coordination backend and '
                    'in the journal (who leads). Default: the host name '
                    'and the process id.'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
