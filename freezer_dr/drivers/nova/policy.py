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

"""Which instances of a dead host are evacuated, and in what order: the
``[evacuation]`` policy (see freezer_dr/conf/nova.py)."""

import typing

from keystoneauth1 import adapter as ks_adapter

TRUE = ('1', 'true', 'yes', 'on')


class Policy(typing.NamedTuple):
    """The ``[evacuation]`` options."""

    select: str = 'all'
    opt_in_key: str = 'HA_Enabled'
    opt_in_aggregates: tuple = ()
    exclude_projects: tuple = ()
    exclude_tags: tuple = ()
    priority_key: str = 'evacuation_priority'
    reserved_hosts: tuple = ()
    concurrency: int = 10
    attempts: int = 3
    retry_delay: float = 2.0
    verify_timeout: float = 300.0
    reset_state: bool = False

    @classmethod
    def from_conf(cls, group):
        return cls(**{name: tuple(group[name])
                      if isinstance(cls._field_defaults[name], tuple)
                      else group[name] for name in cls._fields})


def _true(value):
    return str(value).strip().lower() in TRUE


class Selector:
    """Applies a :class:`Policy` to the instances of a host.

    :param nova: a python-novaclient client (aggregates).
    :param session: its keystoneauth1 session (glance, for image
        properties).
    """

    def __init__(self, policy, nova, session, interface='public',
                 region_name=None):
        self.policy = policy
        self._nova = nova
        self._images = ks_adapter.Adapter(session, service_type='image',
                                          interface=interface,
                                          region_name=region_name)

    def select(self, host, servers):
        """``(selected, left)``: the instances to evacuate, in priority
        order, and ``[(server, why not)]`` for the others."""
        policy = self.policy
        protected_host = True
        if policy.select == 'aggregate':
            protected_host = any(
                aggregate.name in policy.opt_in_aggregates and
                host in aggregate.hosts
                for aggregate in self._nova.aggregates.list())
        selected, left = [], []
        for server in servers:
            why = self._why_not(server, protected_host)
            if why:
                left.append((server, why))
            else:
                selected.append(server)
        selected.sort(key=self._priority)
        return selected, left

    def _priority(self, server):
        try:
            value = int((server.metadata or {}).get(
                self.policy.priority_key, 0))
        except (TypeError, ValueError):
            value = 0
        return (-value, getattr(server, 'created', ''), server.id)

    def _why_not(self, server, protected_host):
        policy = self.policy
        if server.tenant_id in policy.exclude_projects:
            return 'its project %s is excluded' % server.tenant_id
        tags = set(getattr(server, 'tags', None) or ())
        if tags & set(policy.exclude_tags):
            return 'tagged %s' % ', '.join(sorted(tags & set(
                policy.exclude_tags)))
        key = policy.opt_in_key
        if policy.select == 'metadata':
            if not _true((server.metadata or {}).get(key, '')):
                return 'no metadata %s=true (opt-in)' % key
        elif policy.select == 'flavor':
            specs = (server.flavor or {}).get('extra_specs') or {}
            if not _true(specs.get(key, '')):
                return 'its flavor has no extra spec %s=true (opt-in)' % key
        elif policy.select == 'image':
            if not _true(self._image_property(server, key)):
                return 'its image has no property %s=true (opt-in)' % key
        elif policy.select == 'aggregate' and not protected_host:
            return 'the host is in none of the aggregates %s (opt-in)' % (
                ', '.join(policy.opt_in_aggregates))
        return ''

    def _image_property(self, server, key):
        image = server.image if isinstance(server.image, dict) else {}
        if not image.get('id'):
            return ''       # booted from volume
        response = self._images.get('/v2/images/%s' % image['id'],
                                    raise_exc=False)
        if response.status_code != 200:
            return ''
        return response.json().get(key, '')
