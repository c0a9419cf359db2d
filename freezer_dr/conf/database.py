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

"""Options of the journal's database (named as oslo.db projects name them)."""

from oslo_config import cfg

GROUP = cfg.OptGroup(
    'database',
    title='Journal database',
    help='Where freezer-dr records every recovery and every step of it.')

opts = [
    cfg.StrOpt('connection',
               default='sqlite:////var/lib/freezer-dr/freezer-dr.sqlite',
               secret=True,
               help='SQLAlchemy URL of the journal: a sqlite file by '
                    'default, or e.g. mysql+pymysql://user:password@host/'
                    'freezer_dr or postgresql+psycopg2://user:password@host/'
                    'freezer_dr. Create or upgrade its schema with '
                    '"freezer-dr-manage db sync".'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
