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

"""Who to tell about a project: its members' email addresses, from
keystone.

The members of a project are the users holding any role on it, directly,
through a group or inherited from its domain or a parent project
(``GET /v3/role_assignments?scope.project.id=...&effective``): not only the
users whose default project it is. Each user's address is the ``email``
attribute of ``GET /v3/users/{id}``; disabled users and users without an
address are left out (and counted).

The email notifier takes any object with a ``project(project_id)`` method
returning a :class:`Project`: :class:`ProjectContacts` against keystone,
or a small directory of its own in tests.
"""

import logging
import typing
from urllib import parse

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import loading as ks_loading

LOG = logging.getLogger(__name__)


class Project(typing.NamedTuple):
    """A project and its members' addresses."""

    id: str
    name: str
    #: Sorted, without duplicates.
    addresses: tuple
    #: Why some members have no address here ('' when none is missing),
    #: e.g. '2 users without an email address'.
    note: str = ''


class ContactsError(Exception):
    """Keystone could not say who the members of a project are; says
    why."""


class ProjectContacts:
    """The members of a project and their addresses, from keystone.

    :param session: a keystoneauth1 Session with an auth plugin whose user
        may list role assignments and read users.
    :param interface: which of keystone's catalog endpoints to use.
    :param endpoint_override: keystone's v3 URL, bypassing the catalog.
    """

    def __init__(self, session, interface='public', region_name=None,
                 endpoint_override=None):
        self._keystone = ks_adapter.Adapter(
            session, service_type='identity', interface=interface,
            region_name=region_name, endpoint_override=endpoint_override,
            version=(3, 0) if endpoint_override is None else None)

    @classmethod
    def from_conf(cls, conf, group='keystone_contacts'):
        """From the keystoneauth1 options of ``group``; None when that
        group names no ``auth_type`` (keystone is not configured)."""
        auth = ks_loading.load_auth_from_conf_options(conf, group)
        if auth is None:
            return None
        session = ks_loading.load_session_from_conf_options(conf, group,
                                                            auth=auth)
        return cls(session, interface=conf[group].interface,
                   region_name=conf[group].region_name)

    def project(self, project_id):
        """The :class:`Project` ``project_id`` with its members' addresses.

        :raises ContactsError: keystone did not answer, refused, or the
            project has no role assignment at all (a deleted project).
        """
        body = self._get('/role_assignments?scope.project.id=%s'
                         '&effective&include_names'
                         % parse.quote(project_id, safe=''))
        assignments = body.get('role_assignments') or []
        if body.get('truncated'):
            LOG.warning('keystone truncated the role assignments of project '
                        '%s ([DEFAULT] list_limit): some members may not be '
                        'told', project_id)
        name = ''
        users = {}
        for assignment in assignments:
            scope = (assignment.get('scope') or {}).get('project') or {}
            name = name or scope.get('name', '')
            user = assignment.get('user')
            if user and user.get('id'):
                users[user['id']] = user.get('name', '')
        if not assignments:
            raise ContactsError('keystone knows no role assignment on '
                                'project %s (a deleted project?)'
                                % project_id)
        addresses, disabled, without = set(), 0, 0
        for user_id in sorted(users):
            try:
                user = self._get('/users/%s' % parse.quote(user_id, safe='')
                                 ).get('user') or {}
            except ContactsError as exc:
                if isinstance(exc.__cause__, ks_exceptions.NotFound):
                    continue        # deleted since the assignment was read
                raise
            if not user.get('enabled', True):
                disabled += 1
            elif user.get('email'):
                addresses.add(user['email'].strip())
            else:
                without += 1
        notes = []
        if without:
            notes.append('%d users without an email address' % without)
        if disabled:
            notes.append('%d disabled users' % disabled)
        return Project(project_id, name, tuple(sorted(addresses)),
                       ', '.join(notes))

    def _get(self, path):
        try:
            response = self._keystone.get(path, raise_exc=True)
            return response.json()
        except ks_exceptions.ClientException as exc:
            raise ContactsError('keystone: GET %s failed: %s: %s'
                                % (path.split('?')[0], type(exc).__name__,
                                   exc)) from exc
        except ValueError as exc:
            raise ContactsError('keystone: GET %s answered no JSON'
                                % path.split('?')[0]) from exc
