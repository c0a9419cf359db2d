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

"""Keystone credentials of the ``email`` notifier's contact lookup (group
``[keystone_contacts]``): the addresses of a project's members are those
of the users holding a role on it. The user needs the right to list role
assignments and to read users (the admin role, or the reader role with
system scope)."""

import copy

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

GROUP = cfg.OptGroup(
    'keystone_contacts',
    title='Keystone for the email notifier',
    help='Where and as whom the email notifier asks keystone who the '
         'members of a project are and what their email addresses are. '
         'Set auth_type (e.g. password) and the options of that plugin '
         'as in every OpenStack service; for password: auth_url, '
         'username, password, project_name, user_domain_name, '
         'project_domain_name.')

opts = [
    cfg.StrOpt('interface',
               default='public',
               choices=['public', 'internal', 'admin'],
               help='Which of keystone\'s endpoints in the catalog to '
                    'use.'),
    cfg.StrOpt('region_name',
               help='Region of keystone\'s endpoint in the catalog.'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)
    ks_loading.register_session_conf_options(conf, GROUP.name)
    ks_loading.register_auth_conf_options(conf, GROUP.name)


def keystoneauth_sample_opts():
    """keystoneauth1's options that have been stable for years, for the
    sample of a group that authenticates (the sample must not change with
    each keystoneauth1 release). The auth plugin's own options (auth_url,
    username, password, project_name, user_domain_name,
    project_domain_name for the password plugin) are registered when the
    plugin is loaded."""
    return copy.deepcopy([o for o in (
        ks_loading.get_session_conf_options()
        + ks_loading.get_auth_common_conf_options()) if o.dest in _SAMPLE])


def list_opts():
    return {GROUP: opts + keystoneauth_sample_opts()}


_SAMPLE = ('cafile', 'certfile', 'keyfile', 'insecure', 'timeout',
           'auth_type', 'auth_section')
