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

"""Upstream freezer-dr's configuration, read as ours.

The original freezer-dr (openstack/freezer-dr, retired) read
``/etc/freezer/freezer-dr.conf`` with the sections [DEFAULT] (``wait`` and
the unused ``os_*`` options), [monitoring] (plus the section its
``backend_name`` names), [fencer], [evacuation], [notifiers] and
[keystone_authtoken], drivers named by Python class path, and a
``servers.yml`` with the fencing details of every host (which our fencers
read as it is: :mod:`freezer_dr.drivers.fencers.credentials`).

:data:`UPSTREAM` maps every one of its options to ours, or rejects it with
what to use instead (``doc/source/upstream-config.rst`` is the same table
for operators). :func:`translate` turns the sections of a parsed file into
ours; :func:`install` makes oslo.config translate every file it parses, so
that the commands read an upstream file (and names written with dashes,
``credentials-file``) exactly as the equivalent file of ours: in oslo's
order (a later file overrides an earlier one), reloaded on SIGHUP, checked
by :mod:`freezer_dr.conf.strict` under the translated names and the
original path. :func:`migrate` writes that equivalent file
(``freezer-dr-manage config migrate OLD NEW``).

An upstream option whose meaning freezer-dr cannot keep stops the command
(:func:`check` raises :class:`UpstreamOptionRejected`, one line: what to
use instead); one that changed nothing upstream (an unused option, a value
equal to upstream's default where ours does the same) is only noted
(:func:`notes`).
"""

import datetime
import os

from oslo_config import cfg
from oslo_config import types

#: oslo.config's parser, before :func:`install`.
_BASE_PARSER = cfg.ConfigParser


class UpstreamOptionRejected(ValueError):
    """An upstream option freezer-dr cannot read as its author meant."""


class MigrationError(ValueError):
    """``config migrate`` cannot write its file."""


ANY = object()


class Rejected:
    """An upstream option that has no equivalent: ``message`` says what to
    use instead. ``harmless``: the raw values (upstream's default) that
    changed nothing, or :data:`ANY` for an option upstream never acted on;
    those are only noted."""

    def __init__(self, message, harmless=()):
        self.message = message
        self.harmless = harmless

    def is_harmless(self, value):
        if self.harmless is ANY:
            return True
        return value.strip().lower() in self.harmless

    def __repr__(self):
        return 'Rejected(%r)' % self.message


class _Reject(Exception):
    """Raised by a converter for a value it cannot carry over."""

    def __init__(self, message, harmless=False):
        super().__init__(message)
        self.message = message
        self.harmless = harmless


# --- driver names ----------------------------------------------------------

#: Upstream's class paths (and our names, accepted as they are) → ours.
MONITORS = {
    'freezer_dr.monitors.drivers.default.driver.StandardDriver': 'nova',
    'freezer_dr.monitors.drivers.dummy.driver.DummyDriver': 'static',
}
FENCERS = {
    'freezer_dr.fencers.drivers.ipmi.driver.IpmiDriver': 'ipmi',
    'freezer_dr.fencers.drivers.libvirt.driver.LibvirtDriver': 'libvirt',
}
EVACUATORS = {
    'freezer_dr.evacuators.drivers.default.standard.StandardEvacuator':
        'nova',
    'freezer_dr.evacuators.drivers.dummy.dummy.DummyEvacuator': 'noop',
}
_EMAIL = 'freezer_dr.notifiers.drivers.default.default_email.StandardEmail'
_SLACK = 'freezer_dr.notifiers.drivers.slack.slack.SlackNotifier'
NOTIFIERS = {
    _EMAIL: 'email',
    _SLACK: 'slack',
    # (upstream's help text gave this path, which never existed)
    'freezer_dr.notifiers.drivers.default.slack.slack.SlackNotifier':
        'slack',
}
_MONASCA = 'freezer_dr.monitors.drivers.monasca.driver.MonascaDriver'

_MONASCA_MESSAGE = (
    'freezer-dr has no Monasca monitor (Monasca is retired): the engine '
    'detects failed hosts from the heartbeats of freezer-dr-agent ([liveness]'
    '), and the one-shot freezer-dr asks nova ([recovery] monitor = nova)')


def _driver(table, kind, ours):
    def convert(value, ctx):
        name = value.strip()
        if name in table:
            return table[name]
        if name in ours:
            return name
        if kind == 'monitor' and name == _MONASCA:
            raise _Reject(_MONASCA_MESSAGE)
        raise _Reject('unknown %s driver %r: use [recovery] %s = %s'
                      % (kind, name, kind, ' or '.join(sorted(ours))))
    return convert


_OUR_MONITORS = ('nova', 'static', 'none')
_OUR_FENCERS = ('ipmi', 'redfish', 'libvirt', 'noop')
_OUR_EVACUATORS = ('nova', 'noop')
_OUR_NOTIFIERS = ('log', 'email', 'webhook', 'bus')


# --- converters ------------------------------------------------------------

def _dict(value):
    try:
        return types.Dict()(value)
    except ValueError as exc:
        raise _Reject('not a key:value list (%s)' % exc) from None


def _int(value, what):
    try:
        return int(value.strip())
    except ValueError:
        raise _Reject('%s %r is not an integer' % (what, value)) from None


def _keystone_targets(ctx, option, nova_only=False):
    """[nova] always; [keystone_contacts] too when the email notifier
    looks the project members up (upstream used the same credentials)."""
    targets = [('nova', option)]
    if ctx.notifier == 'email' and not nova_only:
        if option.startswith('project_') and ctx.contacts_domain_scoped:
            return targets      # (its contact lookup was domain-scoped)
        targets.append(('keystone_contacts', option))
    return targets


def _keystone(option, nova_only=False):
    def convert(value, ctx):
        return [(s, o, value) for s, o in
                _keystone_targets(ctx, option, nova_only)]
    return convert


def _interface(value):
    name = value.strip()
    if name.endswith('URL'):
        name = name[:-3]
    if name not in ('public', 'internal', 'admin'):
        raise _Reject('interface %r: use public, internal or admin' % value)
    return name


#: The keystoneauth password plugin's options (upstream passed kwargs to
#: keystoneclient's v3.Password, which takes the same names).
_PASSWORD_PLUGIN = ('auth_url', 'username', 'user_id', 'password',
                    'project_name', 'project_id', 'project_domain_name',
                    'project_domain_id', 'user_domain_name',
                    'user_domain_id', 'domain_name', 'domain_id',
                    'trust_id', 'system_scope')


def _os_kwargs(where, nova_only=False):
    """``kwargs`` of [keystone_authtoken] or of the monitoring backend:
    keystoneauth's arguments, plus upstream OSClient's own insecure,
    endpoint_type and interface."""
    def convert(value, ctx):
        def targets(option):
            return _keystone_targets(ctx, option, nova_only)
        found = []
        for key, item in _dict(value).items():
            if key in _PASSWORD_PLUGIN:
                found += [(s, o, item) for s, o in targets(key)]
            elif key == 'insecure':
                found += [(s, o, item) for s, o in
                          targets('insecure')]
            elif key in ('interface', 'endpoint_type'):
                found += [(s, 'interface', _interface(item)) for s, _ in
                          targets('interface')]
            elif key in ('region_name', 'cacert'):
                option = 'cafile' if key == 'cacert' else key
                found += [(s, option, item) for s, _ in
                          targets(option)]
            else:
                raise _Reject(
                    '%s kwargs %s: not a keystoneauth password option; set '
                    'the [nova] options (auth_type = password and its '
                    'options, region_name, interface, cafile, insecure)'
                    % (where, key))
        return found
    return convert


def _fencer_retries(value, ctx):
    """Upstream tried ``retries`` soft power-offs ``hold_period`` seconds
    apart, then powered off hard."""
    retries = _int(value, 'retries')
    hold = _int(ctx.get('fencer', 'hold_period') or '10', 'hold_period')
    return _soft_off(ctx, retries, hold, 'retries', value, '1')


def _fencer_hold(value, ctx):
    if ctx.get('fencer', 'retries') is not None:
        return []       # (_fencer_retries took it into account)
    return _soft_off(ctx, 1, _int(value, 'hold_period'), 'hold_period',
                     value, '10')


def _soft_off(ctx, retries, hold, name, value, default):
    if ctx.fencer != 'ipmi':
        if value.strip() == default:
            raise _Reject('upstream default, nothing to carry over',
                          harmless=True)
        raise _Reject(
            'freezer-dr\'s %s fencer powers off at once, with no soft '
            'power-off first: [%s] attempts, retry_delay and timeout say '
            'how hard it tries' % (ctx.fencer, ctx.fencer))
    if retries < 1:
        return [('ipmi', 'soft_off_first', 'false')]
    timeout = min(max(retries * hold, 1), 600)
    return [('ipmi', 'soft_off_first', 'true'),
            ('ipmi', 'soft_off_timeout', str(timeout))]


def _notifier_driver(value, ctx):
    name = _driver(NOTIFIERS, 'notifiers', _OUR_NOTIFIERS)(value, ctx)
    if name == 'slack':
        return [('recovery', 'notifiers', 'log,webhook'),
                ('webhook', 'format', 'slack')]
    if name == 'log':
        return [('recovery', 'notifiers', 'log')]
    return [('recovery', 'notifiers', 'log,%s' % name)]


def _endpoint(value, ctx):
    if ctx.notifier == 'slack':
        return [('webhook', 'url', value.strip())]
    if ctx.notifier != 'email':
        raise _Reject('harmless', harmless=True)
    host, port = value.strip(), None
    if host.count(':') == 1:       # smtplib read "host:port"
        host, port = host.split(':')
    found = [('email', 'smtp_host', host)]
    if port:
        found.append(('email', 'smtp_port', port))
    return found


def _email_only(section, option):
    def convert(value, ctx):
        if ctx.notifier != 'email':
            raise _Reject('the %s notifier did not use it' % ctx.notifier,
                          harmless=True)
        return [(section, option, value)]
    return convert


def _notifier_options(value, ctx):
    found = []
    options = _dict(value)
    if ctx.notifier == 'email':
        for key, item in options.items():
            if key == 'port':
                found.append(('email', 'smtp_port', item))
            elif key == 'tls':
                found.append(('email', 'security', 'starttls' if (
                    item.strip().lower() in ('true', '1', 'yes', 'on'))
                    else 'none'))
            else:
                raise _Reject('options %s: the email driver read only port '
                              'and tls ([email] smtp_port, security)' % key)
    elif ctx.notifier == 'slack':
        for key, item in options.items():
            if key == 'slack_timeout':
                if item.strip():
                    found.append(('webhook', 'timeout', item))
            elif key == 'slack_ca_certs':
                if item.strip():
                    found.append(('webhook', 'ca_file', item))
            elif key == 'slack_insecured':
                insecure = item.strip().lower() in ('true', '1', 'yes', 'on')
                found.append(('webhook', 'verify',
                              'false' if insecure else 'true'))
            elif key == 'slack_proxy':
                if item.strip():
                    raise _Reject(
                        'options slack_proxy: the webhook notifier connects '
                        'directly, through no proxy: give [webhook] url a '
                        'relay it can reach')
            else:
                raise _Reject('options %s: the Slack driver read only '
                              'slack_timeout, slack_ca_certs, slack_insecured '
                              'and slack_proxy' % key)
    return found


def _auth_plugin(value, ctx):
    if value.strip().lower() not in ('password', 'v3password', ''):
        raise _Reject('auth_plugin %s: upstream supported password only; '
                      'set [nova] auth_type and that plugin\'s options'
                      % value)
    return []       # (auth_type = password is written for the section)


def _nothing(value, ctx):
    return []


def _contacts_domain(value, ctx):
    """Upstream's contact lookup (its "admin client") was scoped to this
    domain; its evacuation client to the project."""
    if ctx.notifier != 'email':
        raise _Reject('only upstream\'s email contact lookup used it',
                      harmless=True)
    return [('keystone_contacts', 'domain_name', value)]


def _at_least_one(value, ctx):
    return str(max(1, _int(value, 'retries')))


def _same(section, option):
    return (section, option, None)


# --- the table -------------------------------------------------------------

_OS_MESSAGE = ('upstream registered it but never read it: freezer-dr calls '
               'nova with the credentials of [nova] (auth_type = password, '
               'auth_url, username, password, project_name, '
               'user_domain_name, project_domain_name)')

_WAIT_MESSAGE = (
    'freezer-dr does not sleep and ask again: the engine declares a host '
    'dead from its heartbeats ([liveness] detector, corroboration, '
    'corroboration_grace), and the one-shot freezer-dr trusts nova\'s own '
    'delay (service_down_time in nova.conf); remove it')

#: (section, option) of upstream → (our section, our option, converter),
#: a list of them, or :class:`Rejected`. Names are oslo.config's (dashes
#: read as underscores). A converter ``f(value, ctx)`` returns our value;
#: with no section it returns ``[(section, option, value)]``.
#: ``<backend_name>`` is the section [monitoring] backend_name names, by
#: the monitoring driver; ``<metric>`` each Monasca metric section.
UPSTREAM = {
    ('DEFAULT', 'wait'): Rejected(_WAIT_MESSAGE, harmless=('30',)),
}
for _name in ('username', 'password', 'project_name', 'project_domain_name',
              'user_domain_name', 'auth_url', 'backup_url', 'region_name',
              'token', 'identity_api_version', 'endpoint_type'):
    UPSTREAM[('DEFAULT', 'os_' + _name)] = Rejected(_OS_MESSAGE, harmless=ANY)
UPSTREAM.update({
    ('monitoring', 'driver'): ('recovery', 'monitor',
                               _driver(MONITORS, 'monitor', _OUR_MONITORS)),
    ('monitoring', 'backend_name'): (None, None, _nothing),

    ('fencer', 'credentials_file'): _same('fencer', 'credentials_file'),
    ('fencer', 'retries'): (None, None, _fencer_retries),
    ('fencer', 'hold_period'): (None, None, _fencer_hold),
    ('fencer', 'driver'): ('recovery', 'fencer',
                           _driver(FENCERS, 'fencer', _OUR_FENCERS)),
    ('fencer', 'options'): Rejected(
        'upstream\'s fencers never read it: per-host details go in the '
        'credentials file (fencer-port, libvirt-uri, fencer-url, '
        'redfish-system), the fencer\'s settings in [ipmi], [libvirt] or '
        '[redfish]', harmless=ANY),

    ('evacuation', 'driver'): ('recovery', 'evacuator',
                               _driver(EVACUATORS, 'evacuator',
                                       _OUR_EVACUATORS)),
    ('evacuation', 'wait'): _same('evacuation', 'retry_delay'),
    ('evacuation', 'retries'): ('evacuation', 'attempts', _at_least_one),
    ('evacuation', 'shared_storage'): Rejected(
        'nova finds out itself whether an instance\'s disk is on shared '
        'storage (compute API 2.14 and later; freezer-dr uses [nova] '
        'api_version, at least 2.53): remove it', harmless=ANY),
    ('evacuation', 'options'): Rejected(
        'upstream\'s evacuator never read it: the [evacuation] options of '
        'freezer-dr say which instances are evacuated, where and how',
        harmless=ANY),

    ('notifiers', 'driver'): (None, None, _notifier_driver),
    ('notifiers', 'endpoint'): (None, None, _endpoint),
    ('notifiers', 'username'): (None, None, _email_only('email', 'user')),
    ('notifiers', 'password'): (None, None,
                                _email_only('email', 'password')),
    ('notifiers', 'templates_dir'): Rejected(
        'freezer-dr\'s mail templates have other names and variables: '
        'copy the shipped ones, adapt them and set [email] template_dir',
        harmless=('/etc/freezer/templates',)),
    ('notifiers', 'options'): (None, None, _notifier_options),
    ('notifiers', 'notify_list'): (None, None,
                                   _email_only('email', 'admins')),
    ('notifiers', 'notify_from'): (None, None,
                                   _email_only('email', 'sender')),

    ('keystone_authtoken', 'auth_uri'): Rejected(
        'upstream never read it (keystonemiddleware\'s option): [nova] '
        'auth_url is where freezer-dr authenticates', harmless=ANY),
    ('keystone_authtoken', 'auth_plugin'): (None, None, _auth_plugin),
    ('keystone_authtoken', 'domain_name'): (None, None, _contacts_domain),
    ('keystone_authtoken', 'kwargs'): (
        None, None, _os_kwargs('[keystone_authtoken]')),
})
for _name in ('auth_url', 'username', 'password', 'project_name',
              'project_domain_id', 'user_domain_id', 'project_domain_name',
              'user_domain_name'):
    UPSTREAM[('keystone_authtoken', _name)] = (None, None, _keystone(_name))

#: The monitoring driver's own section (named by [monitoring]
#: backend_name), by our monitor's name.
BACKEND = {
    'nova': {
        'username': (None, None, _keystone('username', True)),
        'password': (None, None, _keystone('password', True)),
        'endpoint': (None, None, _keystone('auth_url', True)),
        'kwargs': (None, None, _os_kwargs('[monitoring] backend', True)),
    },
    'static': {
        'nodes_down': _same('static_monitor', 'hosts'),
    },
    'monasca': {name: Rejected(_MONASCA_MESSAGE) for name in (
        'keystone_url', 'username', 'password', 'project_name', 'insecure',
        'project_domain_id', 'user_domain_id', 'cacert', 'monasca_url',
        'metrics', 'aggregate')},
}
METRIC = {name: Rejected(_MONASCA_MESSAGE) for name in (
    'metric_name', 'dimensions', 'aggregate', 'undetermined')}
for _kind, _table in BACKEND.items():
    for _name, _entry in _table.items():
        UPSTREAM[('<backend_name> (%s)' % _kind, _name)] = _entry
for _name, _entry in METRIC.items():
    UPSTREAM[('<metric> (monasca)', _name)] = _entry

#: Sections only upstream has (ours has [fencer] and [evacuation] too).
UPSTREAM_SECTIONS = ('monitoring', 'notifiers', 'keystone_authtoken')

#: What upstream did when its file did not say (its defaults), where ours
#: differs; written for an upstream file only. (section that must be in
#: the file, or None) → [(section, option, value, why)].
_DEFAULT_FENCER = 'freezer_dr.fencers.drivers.ipmi.driver.IpmiDriver'


# --- translation -----------------------------------------------------------

def _norm(name):
    return name.replace('-', '_')


def _section(name):
    return name if name == 'DEFAULT' else name.lower()


class _Context:
    """What a converter may need to know of the file: its drivers."""

    def __init__(self, sections):
        self.sections = {}
        for section, values in sections.items():
            target = self.sections.setdefault(_section(section), {})
            for key, items in values.items():
                target[_norm(key)] = items
        self.upstream = is_upstream(sections)
        self.monitor = self._kind('monitoring', MONITORS, 'nova',
                                  {_MONASCA: 'monasca'})
        self.fencer = self._kind('fencer', FENCERS, 'ipmi')
        self.notifier = self._kind('notifiers', NOTIFIERS, 'email')
        if 'notifiers' not in self.sections:
            self.notifier = None
        self.contacts_domain_scoped = bool(
            self.get('keystone_authtoken', 'domain_name'))
        self.backend = None
        self.metrics = ()
        if 'monitoring' in self.sections:
            self.backend = _section(
                self.get('monitoring', 'backend_name') or 'DEFAULT')
            if self.monitor == 'monasca':
                metrics = self.get(self.backend, 'metrics')
                self.metrics = tuple(
                    _section(m.strip()) for m in
                    (metrics or 'host_alive_status').split(',') if m.strip())

    def get(self, section, option):
        values = self.sections.get(section, {}).get(option)
        return values[-1] if values else None

    def _kind(self, section, table, default, extra=None):
        value = self.get(section, 'driver')
        if value is None:
            return default
        value = value.strip()
        return table.get(value) or (extra or {}).get(value) or value


class Translation:
    """Our sections from one parsed file, with where each value came
    from."""

    def __init__(self, path):
        self.path = path
        self.upstream = False
        #: {section: {option: [values]}}, in the file's order.
        self.sections = {}
        #: {(section, option): 'where it came from'} for translated values.
        self.origins = {}
        #: [(section, option, value, message)] that stop the commands.
        self.rejected = []
        #: [(section, option, value, message)] only noted.
        self.ignored = []

    def messages(self):
        found = []
        for section, option, _value, message in self.rejected:
            found.append('rejected: [%s] %s: %s' % (section, option,
                                                      message))
        for section, option, _value, message in self.ignored:
            found.append('ignored: [%s] %s: %s' % (section, option, message))
        return found


def is_upstream(sections):
    """Whether parsed ``sections`` are (partly) upstream freezer-dr's: a
    section only upstream has, or an upstream option of [DEFAULT],
    [fencer] or [evacuation]."""
    for section, values in sections.items():
        name = _section(section)
        if name in UPSTREAM_SECTIONS:
            return True
        for key in values:
            entry = UPSTREAM.get((name, _norm(key)))
            if entry is not None and entry != _same(name, _norm(key)):
                return True
    return False


def _known(sections):
    from freezer_dr.conf import strict
    return strict.known_options(sections)


def translate(sections, path='', known=None):
    """:class:`Translation` of the parsed ``sections`` of the file ``path``
    (``{section: {key: [values]}}``, as ``cfg.ConfigParser`` gives them).

    Upstream options become ours (values of ours written in the same file
    win over them), a dashed name whose underscore form is an option of
    its section becomes that option, and anything else is kept as it is
    (for :mod:`freezer_dr.conf.strict` to judge)."""
    result = Translation(path)
    ctx = _Context(sections)
    result.upstream = ctx.upstream
    if known is None:
        known = _known(sections)
    derived = {}        # (section, option) → (value, origin, priority)
    ours = {}           # section → {key: [values]}

    def derive(section, option, value, origin, priority=1, src=None):
        # [keystone_authtoken] wins over the monitoring backend's
        # credentials (both go to [nova]); upstream defaults lose to all.
        old = derived.get((section, option))
        if old is not None and old[0] != value and old[2] > 0:
            if old[2] > priority:
                lost, won = src, old[1]
            else:
                lost, won = old[3], origin
            result.ignored.append((
                lost[0], lost[1], None, 'not carried over to [%s] %s, '
                'which %s gives' % (section, option, won)))
        if old is not None and old[2] > priority:
            return
        derived[(section, option)] = (value, origin, priority, src)

    for raw_section, values in sections.items():
        section = _section(raw_section)
        for key, items in values.items():
            name = _norm(key)
            entry = _entry(ctx, section, name)
            if entry is None:
                if name != key and name in known.get(section, ()):
                    key = name
                ours.setdefault(raw_section, {}).setdefault(
                    key, []).extend(items)
                continue
            origin = 'upstream [%s] %s' % (raw_section, key)
            priority = 2 if section == 'keystone_authtoken' else 1
            src = (raw_section, key)
            for value in items:
                _apply(result, entry, section, key, value, ctx,
                       lambda s, o, v, w, p=priority, r=src:
                       derive(s, o, v, w, p, r),
                       origin)

    if ctx.upstream:
        _upstream_defaults(ctx, derived, derive)

    for (section, option), (value, origin, _, _) in derived.items():
        if option in ours.get(section, {}):
            result.ignored.append((
                section, option, None,
                'given both by %s and by [%s] %s in the same file: the '
                'latter is kept' % (origin, section, option)))
            continue
        result.sections.setdefault(section, {})[option] = [value]
        result.origins[(section, option)] = origin
    for section, values in ours.items():
        target = result.sections.setdefault(section, {})
        for key, items in values.items():
            target.setdefault(key, []).extend(items)
    return result


def _entry(ctx, section, name):
    if ctx.backend is not None and section == ctx.backend:
        table = BACKEND.get(ctx.monitor, {})
        if name in table:
            return table[name]
        if section != 'DEFAULT' and section not in _our_sections():
            return Rejected('the %s monitoring driver read no such option'
                            % ctx.monitor)
    if section in ctx.metrics:
        return METRIC.get(name, Rejected(_MONASCA_MESSAGE))
    entry = UPSTREAM.get((section, name))
    if entry is None and section in UPSTREAM_SECTIONS:
        return Rejected('upstream freezer-dr had no such option either')
    return entry


_OUR_SECTIONS = []


def _our_sections():
    if not _OUR_SECTIONS:
        from freezer_dr.conf import opts
        _OUR_SECTIONS.extend(getattr(g, 'name', g) or 'DEFAULT'
                             for g, _ in opts.list_opts())
    return _OUR_SECTIONS


def _apply(result, entry, section, key, value, ctx, derive, origin):
    if isinstance(entry, Rejected):
        target = (result.ignored if entry.is_harmless(value) else
                  result.rejected)
        target.append((section, key, value, entry.message))
        return
    if isinstance(entry, list):
        for item in entry:
            _apply(result, item, section, key, value, ctx, derive, origin)
        return
    our_section, our_option, convert = entry
    try:
        if convert is None:
            found = [(our_section, our_option, value)]
        elif our_section is None:
            found = convert(value, ctx)
        else:
            found = [(our_section, our_option, convert(value, ctx))]
    except _Reject as exc:
        target = result.ignored if exc.harmless else result.rejected
        target.append((section, key, value, exc.message))
        return
    for our_section, our_option, our_value in found:
        derive(our_section, our_option, our_value, origin)


def _upstream_defaults(ctx, derived, derive):
    """What upstream did when its file did not say, where ours differs."""
    def default(section, option, value, why):
        if (section, option) not in derived:
            derive(section, option, value, 'upstream default: %s' % why, 0)

    if 'fencer' in ctx.sections and ctx.get('fencer', 'driver') is None:
        default('recovery', 'fencer', 'ipmi',
                '[fencer] driver = ' + _DEFAULT_FENCER)
    evacuation = 'keystone_authtoken' in ctx.sections or any(
        ('evacuation', key) in UPSTREAM for key in
        ctx.sections.get('evacuation', {}))
    if evacuation and ctx.get('evacuation', 'driver') is None:
        default('recovery', 'evacuator', 'nova',
                '[evacuation] driver = StandardEvacuator')
    if ctx.notifier == 'email':
        if ctx.get('notifiers', 'driver') is None:
            default('recovery', 'notifiers', 'log,email',
                    '[notifiers] driver = StandardEmail')
        default('email', 'security', 'none',
                'plain SMTP, no tls in [notifiers] options (consider '
                'security = starttls)')
    credentials = ('keystone_authtoken' in ctx.sections or
                   (ctx.monitor == 'nova' and ctx.backend and
                    ctx.get(ctx.backend, 'username')))
    if credentials:
        for section in ('nova', 'keystone_contacts'):
            if section == 'keystone_contacts' and ctx.notifier != 'email':
                continue
            default(section, 'auth_type', 'password',
                    'keystoneclient\'s v3 password authentication')
            default(section, 'interface', 'internal',
                    'the internal endpoints')


# --- reading: oslo.config parses every file through the translation --------

#: {absolute path: Translation} of the files parsed since install(), as
#: last parsed.
_PARSED = {}


def _key(path):
    return os.path.abspath(os.path.expanduser(path))


def _files(conf):
    from freezer_dr.conf import strict
    return strict.config_files(conf)


def check(conf):
    """Raise :class:`UpstreamOptionRejected` for the first file of ``conf``
    (in oslo.config's order) with an upstream option freezer-dr rejects:
    one line naming the option, the file and what to use instead. Call it
    right after parsing: the parse itself drops rejected options (so that
    ``config migrate`` can run whatever the default files hold)."""
    for path in _files(conf):
        translation = _PARSED.get(_key(path))
        if translation is not None and translation.rejected:
            raise UpstreamOptionRejected(_rejection(translation))


def notes(conf):
    """One line per upstream option of ``conf``'s files that was ignored
    (it changed nothing), to log once logging is set up."""
    found = []
    for path in _files(conf):
        translation = _PARSED.get(_key(path))
        for section, option, _value, message in (
                translation.ignored if translation else ()):
            found.append('%s: [%s] %s ignored: %s' % (
                path, section, option, message))
    return found


def _rejection(translation):
    section, option, value, message = translation.rejected[0]
    more = len(translation.rejected) - 1
    return ('[%s] %s in %s is upstream freezer-dr\'s and not read by '
            'freezer-dr: %s%s (freezer-dr-manage config migrate %s NEW '
            'writes the equivalent file)' % (
                section, option, translation.path, message,
                '; and %d more' % more if more else '', translation.path))


class TranslatingParser(_BASE_PARSER):
    """oslo.config's parser, whose sections come out translated (rejected
    options left out: :func:`check` says so)."""

    def parse(self):
        super().parse()
        path = _key(self.filename)
        if not _needs_translation(self.sections):
            _PARSED.pop(path, None)
            return
        translation = translate(self.sections, self.filename)
        _PARSED[path] = translation
        self.sections.clear()
        self.sections.update(translation.sections)
        if self._normalized is not None:
            self._normalized.clear()
            for section, values in translation.sections.items():
                target = self._normalized.setdefault(_section(section), {})
                for key, items in values.items():
                    target.setdefault(key, []).extend(items)


def _needs_translation(sections):
    return is_upstream(sections) or any(
        '-' in key for values in sections.values() for key in values)


def install():
    """Have oslo.config read every configuration file through
    :func:`translate` (idempotent), in this whole process. Call it before
    parsing, and :func:`check` after."""
    cfg.ConfigParser = TranslatingParser


def uninstall():
    cfg.ConfigParser = _BASE_PARSER
    _PARSED.clear()


# --- default files ---------------------------------------------------------

#: Where upstream's file was (its project was "freezer").
UPSTREAM_DIRS = ('~/.freezer', '/etc/freezer')


def default_config_files(project='freezer-dr', prog=None):
    """oslo.config's default files for ``project`` and ``prog``, plus
    upstream's ``freezer-dr.conf`` (``~/.freezer/``, ``/etc/freezer/``)
    when none of oslo's directories has a ``freezer-dr.conf``."""
    found = cfg.find_config_files(project=project, prog=prog)
    wanted = project + '.conf'
    if any(os.path.basename(path) == wanted for path in found):
        return found
    for directory in UPSTREAM_DIRS:
        path = os.path.join(os.path.expanduser(directory), wanted)
        if os.path.isfile(path):
            return [path] + found
    return found


# --- migrate ---------------------------------------------------------------

_SECRET_WORDS = ('password', 'token', 'secret', 'kwargs', 'url')


def _show(option, value):
    if any(word in option for word in _SECRET_WORDS):
        return '***'
    return value


def _ini_value(value):
    """``value`` written so that oslo.config's parser reads it back."""
    lines = value.split('\n')
    first = lines[0]
    if first != first.strip() or (len(first) > 1 and first[0] == first[-1]
                                  and first[0] in '"\''):
        first = '"%s"' % first
    return '\n    '.join([first] + lines[1:])


def migrate(old_path, new_path):
    """Write to ``new_path`` (mode 0600; never over an existing file)
    freezer-dr's equivalent of the configuration file ``old_path``
    (upstream's, or ours with dashed names); return what was done, one
    message a line: the file written, then every rejected and ignored
    option with what to use instead.

    :raises MigrationError: ``old_path`` unreadable or not a configuration
        file, ``new_path`` exists.
    """
    sections = {}
    try:
        _BASE_PARSER(old_path, sections).parse()
    except OSError as exc:
        raise MigrationError('cannot read %s: %s' % (
            old_path, exc.strerror)) from None
    except Exception as exc:
        raise MigrationError('cannot parse %s: %s' % (old_path, exc)) \
            from None
    translation = translate(sections, old_path)
    text = _render(translation, old_path)
    try:
        fd = os.open(new_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise MigrationError('%s exists: give a new file name' % new_path) \
            from None
    except OSError as exc:
        raise MigrationError('cannot write %s: %s' % (
            new_path, exc.strerror)) from None
    with os.fdopen(fd, 'w', encoding='utf-8') as out:
        out.write(text)
    messages = ['wrote %s from %s' % (new_path, old_path)]
    messages += translation.messages()
    messages += _check_credentials(translation)
    return messages


def _render(translation, old_path):
    lines = [
        '# freezer-dr configuration written by "freezer-dr-manage config '
        'migrate"',
        '# from %s on %s.' % (
            old_path, datetime.datetime.now(datetime.timezone.utc).strftime(
                '%Y-%m-%d %H:%M UTC')),
        '# See doc/source/upstream-config.rst for every upstream option.',
    ]
    if translation.rejected:
        lines += ['#', '# NOT carried over (freezer-dr refuses these; use '
                  'what follows instead):']
        for section, option, value, message in translation.rejected:
            lines.append('#   [%s] %s = %s: %s' % (
                section, option, _show(option, value), message))
    if translation.ignored:
        lines += ['#', '# Ignored (they changed nothing):']
        for section, option, value, message in translation.ignored:
            shown = '' if value is None else ' = %s' % _show(option, value)
            lines.append('#   [%s] %s%s: %s' % (section, option, shown,
                                                 message))
    for section in _ordered(translation.sections):
        values = translation.sections[section]
        if not values:
            continue
        lines += ['', '[%s]' % section]
        for option, items in values.items():
            origin = translation.origins.get((section, option))
            if origin:
                lines.append('# from %s' % origin)
            for item in items:
                lines.append('%s = %s' % (option, _ini_value(item)))
    return '\n'.join(lines) + '\n'


def _ordered(sections):
    names = list(sections)
    return (['DEFAULT'] if 'DEFAULT' in names else []) + sorted(
        n for n in names if n != 'DEFAULT')


def _check_credentials(translation):
    from freezer_dr.drivers.fencers import credentials
    paths = translation.sections.get('fencer', {}).get('credentials_file')
    if not paths or not os.path.exists(paths[-1]):
        return []
    try:
        hosts = credentials.load(paths[-1])
    except credentials.CredentialsError as exc:
        return ['credentials file %s: %s' % (paths[-1], exc)]
    return ['credentials file %s: %d host(s), read as it is' % (
        paths[-1], len(hosts))]
