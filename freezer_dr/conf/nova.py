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

"""Options of the ``nova`` evacuator: how freezer-dr reaches nova
(``[nova]``) and which instances it evacuates, where, how
(``[evacuation]``)."""

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

from freezer_dr.conf import keystone_contacts

GROUP = cfg.OptGroup(
    'nova',
    title='nova',
    help='Where and as whom freezer-dr calls nova to isolate a dead host '
         '(force its compute service down and disable it) and evacuate its '
         'instances. Set auth_type (e.g. password) and that plugin\'s '
         'options as in every OpenStack service; for password: auth_url, '
         'username, password, project_name, user_domain_name, '
         'project_domain_name. The user needs the admin role.')

opts = [
    cfg.StrOpt('region_name',
               help='Region of nova\'s endpoint in the catalog.'),
    cfg.StrOpt('interface',
               default='public',
               choices=['public', 'internal', 'admin'],
               help='Which of nova\'s endpoints in the catalog to use.'),
    cfg.StrOpt('endpoint_override',
               help='nova\'s compute API URL, bypassing the catalog.'),
    cfg.StrOpt('api_version',
               default='2.53',
               help='Compute API microversion. At least 2.53 (services by '
                    'id, force-down and disable in one API); below 2.95, '
                    'so that an evacuated instance comes back in the state '
                    'it had (2.95 leaves every evacuated instance '
                    'stopped).'),
]

EVACUATION = cfg.OptGroup(
    'evacuation',
    title='Evacuation policy',
    help='Which instances of a dead host are evacuated, in what order, to '
         'where, and how hard freezer-dr tries.')

evacuation_opts = [
    cfg.StrOpt('select',
               default='all',
               choices=[('all', 'every instance of the host'),
                        ('metadata', 'instances whose metadata has '
                         'opt_in_key set to a true value'),
                        ('flavor', 'instances whose flavor has the extra '
                         'spec opt_in_key set to a true value'),
                        ('image', 'instances whose image has the property '
                         'opt_in_key set to a true value'),
                        ('aggregate', 'every instance, when the host is in '
                         'one of opt_in_aggregates')],
               help='Which instances are evacuated (opt-in policies).'),
    cfg.StrOpt('opt_in_key',
               default='HA_Enabled',
               help='Metadata key, flavor extra spec or image property '
                    'that opts an instance in (values true, yes, 1 or on, '
                    'any case), for select = metadata, flavor or image.'),
    cfg.ListOpt('opt_in_aggregates',
                default=[],
                help='Host aggregates whose hosts are protected, for '
                     'select = aggregate.'),
    cfg.ListOpt('exclude_projects',
                default=[],
                help='Project ids whose instances are never evacuated.'),
    cfg.ListOpt('exclude_tags',
                default=[],
                help='Instances with any of these tags are never '
                     'evacuated (e.g. load-balancer amphorae, which their '
                     'own service replaces).'),
    cfg.StrOpt('priority_key',
               default='evacuation_priority',
               help='Instance metadata key holding an integer priority: '
                    'higher is evacuated first; absent is 0. Ties keep '
                    'the oldest instance first.'),
    cfg.ListOpt('reserved_hosts',
                default=[],
                help='Evacuate only to these hosts (kept disabled in nova '
                     'until needed: freezer-dr enables one before using '
                     'it). Empty: nova\'s scheduler chooses.'),
    cfg.IntOpt('concurrency',
               default=10, min=1,
               help='How many instances are evacuated at the same time.'),
    cfg.IntOpt('attempts',
               default=3, min=1,
               help='Evacuate requests per instance before it is reported '
                    'failed.'),
    cfg.FloatOpt('retry_delay',
                 default=2.0, min=0,
                 help='Seconds before the next attempt, doubled each '
                      'time.'),
    cfg.FloatOpt('verify_timeout',
                 default=300.0, min=1,
                 help='Seconds an evacuated instance has to come back in '
                      'its previous state (ACTIVE or SHUTOFF) on another '
                      'host before it is reported failed.'),
    cfg.FloatOpt('poll_interval',
                 default=0.5, min=0.1,
                 help='Seconds between the polls of nova that verify '
                      'evacuated instances while none of nova\'s instance '
                      'notifications (instance.rebuild.end, ...) is heard: '
                      'the one-shot command, or a nova that sends no '
                      'versioned notifications to [bus] nova_topics.'),
    cfg.FloatOpt('fallback_poll_interval',
                 default=5.0, min=0.1,
                 help='Once nova\'s instance notifications are heard, each '
                      'one has its instance read from nova\'s API at once, '
                      'and nova is polled only after this many seconds '
                      'without a notification (one lost, or late).'),
    cfg.BoolOpt('reset_state',
                default=False,
                help='An instance with a task in progress on the dead '
                     'host (nova refuses to evacuate it) is reset to the '
                     'error state first, so that it can be evacuated. Off '
                     'by default: such an instance is reported, not '
                     'touched.'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)
    ks_loading.register_session_conf_options(conf, GROUP.name)
    ks_loading.register_auth_conf_options(conf, GROUP.name)
    conf.register_group(EVACUATION)
    conf.register_opts(evacuation_opts, group=EVACUATION)


def list_opts():
    return {GROUP: opts + keystone_contacts.keystoneauth_sample_opts(),
            EVACUATION: evacuation_opts}
