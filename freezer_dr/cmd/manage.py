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

"""``freezer-dr-manage``: operator commands.

``freezer-dr-manage --config-file FILE db sync`` creates or upgrades the
journal's schema (idempotent); ``db version`` prints its revision;
``recovery list [--host HOST]`` prints the journal, ``recovery show ID`` one
recovery with its steps and their times, ``recovery retry HOST`` reopens
the host's failed recovery (the engine runs it again: the steps that
completed are not repeated); ``host rearm HOST`` puts a recovered (or
failed) host back in service: the engine reads it from the journal and
watches the host again from its next heartbeat. ``host held`` lists the
hosts held over the fence budget (``[recovery] max_fences``), ``host
release HOST`` lets one of them be fenced and recovered (one host per
command: the operator decides for each); ``host recover HOST --reason R``
confirms, signed with the master key, that a silent host the engine
suspects (one the storm guard holds) is dead: it is declared dead and
recovered. ``host maintenance HOST on|off``
announces maintenance signed with the heartbeat master key;
``heartbeat-key create FILE`` writes a new master key (mode 0600) and
``heartbeat-key derive HOST`` prints the key of a host's agent. ``host
list`` shows every host the engine tracks (state, last heartbeat, phi,
incarnation, owner engine: asked of the engine's ``[metrics]`` endpoint)
and ``host show HOST`` one host with its recoveries and their step times.
``-f json`` on the listing commands prints JSON.

Exit codes: 0 done, 1 refused or failed, 2 bad configuration or command
line, 3 the host or recovery named is not found, 4 the engine's endpoint or
the journal's database cannot be reached.
"""

import getpass
import json
import sys
import time

from oslo_config import cfg

from freezer_dr import cmd
from freezer_dr import events
from freezer_dr import signing
from freezer_dr import version
from freezer_dr.conf import CONF
from freezer_dr.conf import strict
from freezer_dr.conf import upstream
from freezer_dr.journal import api
from freezer_dr.journal import schema


def _db_sync():
    before, after = schema.sync(schema.engine_for(CONF.database.connection))
    if before == after:
        print('journal schema already at revision %s' % after)
    else:
        print('journal schema upgraded from %s to %s'
              % (before or 'nothing', after))
    return 0


def _db_version():
    with schema.engine_for(CONF.database.connection).connect() as conn:
        revision = schema.current(conn)
    if not _json({'revision': revision, 'head': schema.head()}):
        print(revision or 'none')
    return 0


def _recovery_list():
    journal = _journal()
    found = [_recovery_dict(journal, rec)
             for rec in journal.history(CONF.command.host)]
    if _json(found):
        return 0
    for rec in found:
        print('%-6d %-24s %-9s %s  %s' % (rec['id'], rec['host'],
                                         rec['status'], rec['incarnation'],
                                         rec['reason']))
        for step in rec['steps']:
            print('       %-32s %-8s attempts %d  %s'
                  % (step['name'], step['status'], step['attempts'],
                     step['detail']))
    return 0


def _json(value):
    """Print ``value`` as JSON if ``-f json`` was given; whether it was."""
    if getattr(CONF.command, 'format', 'table') != 'json':
        return False
    print(json.dumps(value, indent=2, sort_keys=True))
    return True


def _recovery_dict(journal, rec):
    steps = []
    for step in journal.steps(rec.id):
        steps.append({
            'name': step.name, 'status': step.status,
            'attempts': step.attempts, 'detail': step.detail,
            'started_at': step.started_at, 'finished_at': step.finished_at,
            'seconds': None if step.finished_at is None or
            step.started_at is None else round(
                step.finished_at - step.started_at, 3)})
    return {'id': rec.id, 'host': rec.host, 'status': rec.status,
            'incarnation': rec.incarnation, 'reason': rec.reason,
            'created_at': rec.created_at, 'updated_at': rec.updated_at,
            'rearmed_at': rec.rearmed_at, 'rearmed_by': rec.rearmed_by,
            'steps': steps}


class EngineUnreachable(OSError):
    """The engine's endpoint ([metrics]) cannot be asked."""


def _engine_url():
    if CONF.command.url:
        return CONF.command.url.rstrip('/')
    address = CONF.metrics.listen_address
    if address in ('0.0.0.0', '::', ''):
        address = '127.0.0.1'
    if ':' in address:
        address = '[%s]' % address
    return 'http://%s:%d' % (address, CONF.metrics.port)


def _engine_hosts():
    """The engine's ``/v1/hosts`` answer."""
    from urllib import error
    from urllib import request
    if not CONF.command.url and not CONF.metrics.port:
        raise EngineUnreachable(
            '[metrics] port is 0: the engine serves no host list (give '
            '--url, or set [metrics] port)')
    url = _engine_url() + '/v1/hosts'
    try:
        with request.urlopen(url, timeout=10) as answer:
            return json.loads(answer.read().decode())
    except (error.URLError, OSError, ValueError) as exc:
        raise EngineUnreachable('cannot ask the engine at %s: %s' % (
            url, getattr(exc, 'reason', exc))) from None


def _age(seconds):
    return '-' if seconds is None else '%.1f s' % seconds


def _host_list():
    answer = _engine_hosts()
    hosts = answer['hosts']
    for host in hosts:
        host['owner'] = answer['engine'] if host.get('leads') else None
    if _json(hosts):
        return 0
    print('%-24s %-16s %-14s %-8s %-38s %s' % (
        'host', 'state', 'last heartbeat', 'phi', 'incarnation', 'owner'))
    for host in hosts:
        print('%-24s %-16s %-14s %-8s %-38s %s' % (
            host['host'], host['state'], _age(host['last_heard_age']),
            '-' if host['phi'] is None else '%.2f' % host['phi'],
            host['incarnation'] or '-', host['owner'] or '-'))
    print('(%d hosts, from engine %s, %s)' % (len(hosts), answer['engine'],
                                             answer['role']))
    return 0


def _host_show():
    host = CONF.command.host
    journal = _journal()
    recoveries = [_recovery_dict(journal, rec)
                  for rec in journal.history(host)]
    live, why = None, None
    try:
        answer = _engine_hosts()
    except EngineUnreachable as exc:
        why = str(exc)
    else:
        live = next((h for h in answer['hosts'] if h['host'] == host),
                    None)
        if live is None:
            why = 'not tracked by engine %s' % answer['engine']
    if live is None and not recoveries:
        raise LookupError('%s: no recovery in the journal, and %s'
                          % (host, why))
    if _json({'host': host, 'live': live, 'live_unknown': why,
              'recoveries': recoveries}):
        return 0
    if live is not None:
        print('%s: %s, last heartbeat %s ago, phi %s, incarnation %s' % (
            host, live['state'], _age(live['last_heard_age']),
            '-' if live['phi'] is None else '%.2f' % live['phi'],
            live['incarnation'] or '-'))
    else:
        print('%s: live state unknown (%s)' % (host, why))
    if not recoveries:
        print('  no recovery in the journal')
    for rec in recoveries:
        print('  recovery %d, incarnation %s: %s (%s)' % (
            rec['id'], rec['incarnation'], rec['status'], rec['reason']))
        for step in rec['steps']:
            print('    %-32s %-8s %-24s %9s  %s' % (
                step['name'], step['status'], _when(step['started_at']),
                '-' if step['seconds'] is None else '%.3f' % step['seconds'],
                step['detail']))
    return 0


def _when(seconds):
    if seconds is None:
        return '-'
    return time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(seconds)) + \
        '.%03dZ' % (int(seconds * 1000) % 1000)


def _journal():
    return api.Journal(schema.engine_for(CONF.database.connection))


def _latest(journal, host):
    found = journal.history(host, limit=1)
    if not found:
        raise LookupError('no recovery of %s in the journal' % host)
    return found[0]


def _recovery_show():
    journal = _journal()
    rec = journal.get(CONF.command.id)
    if rec is None:
        raise LookupError('no recovery %s in the journal' % CONF.command.id)
    if _json(_recovery_dict(journal, rec)):
        return 0
    print('recovery %d of %s, incarnation %s: %s' % (
        rec.id, rec.host, rec.incarnation, rec.status))
    print('  reason:   %s' % rec.reason)
    print('  started:  %s' % _when(rec.created_at))
    print('  updated:  %s' % _when(rec.updated_at))
    print('  re-armed: %s' % ('%s by %s' % (_when(rec.rearmed_at),
                                            rec.rearmed_by)
                              if rec.rearmed_at is not None else 'no'))
    print('  %-32s %-8s %-8s %-24s %9s  %s' % (
        'step', 'status', 'attempts', 'started', 'seconds', 'detail'))
    for step in journal.steps(rec.id):
        took = '%.3f' % (step.finished_at - step.started_at) \
            if step.finished_at is not None else '-'
        print('  %-32s %-8s %-8d %-24s %9s  %s' % (
            step.name, step.status, step.attempts, _when(step.started_at),
            took, step.detail))
    return 0


def _recovery_retry():
    journal = _journal()
    rec = _latest(journal, CONF.command.host)
    if rec.status != api.FAILED or rec.rearmed_at is not None:
        sys.stderr.write('freezer-dr-manage: the latest recovery of %s (%d) '
                         'is %s%s: nothing to retry\n' % (
                             rec.host, rec.id, rec.status,
                             ', re-armed' if rec.rearmed_at is not None
                             else ''))
        return 1
    journal.reopen(rec.id)
    print('recovery %d of %s reopened: the engine runs it again (steps '
          'already done are not repeated)' % (rec.id, rec.host))
    return 0


def _rearm_in_nova(host):
    """Clear nova's force-down and enable the host's compute service
    through the isolator (``[recovery] isolator``; ``noop`` has nothing to
    undo)."""
    from freezer_dr import drivers
    from freezer_dr.drivers import base
    from freezer_dr.recovery import factory
    try:
        isolator = factory.load_isolator(CONF)
    except (drivers.DriverNotFound, base.ConfigurationError) as exc:
        print('%s was NOT re-armed: %s\nFix [recovery] isolator (or its '
              'options), or re-arm in the journal only with --journal-only.'
              % (host, exc), file=sys.stderr)
        return False
    try:
        status, detail = isolator.rearm(host)
    except Exception as exc:
        print('nova did not take %s back: %s\nStart the host (its '
              'nova-compute moves its evacuations to "completed" when it '
              'starts), then re-arm it again; or use --journal-only.'
              % (host, exc), file=sys.stderr)
        return False
    print(detail)
    return status in (api.DONE, api.SKIPPED)


def _host_rearm():
    journal = _journal()
    rec = _latest(journal, CONF.command.host)
    by = CONF.command.by or getpass.getuser()
    if rec.status in (api.RUNNING, api.HELD):
        # (Said before anything changes in nova.)
        sys.stderr.write('freezer-dr-manage: recovery %d of %s is %s: it is '
                         'not re-armed%s\n' % (
                             rec.id, rec.host, 'under way' if rec.status ==
                             api.RUNNING else 'held over the fence budget',
                             ' (release it: freezer-dr-manage host release '
                             '%s)' % rec.host if rec.status == api.HELD
                             else ''))
        return 1
    if not CONF.command.journal_only and not _rearm_in_nova(rec.host):
        return 1
    if not journal.rearm(rec.id, by):
        print('%s was already re-armed after recovery %d' % (rec.host,
                                                             rec.id))
        return 0
    print('%s re-armed after recovery %d (%s) by %s: the engine takes it '
          'back in service from its next heartbeat' % (rec.host, rec.id,
                                                       rec.status, by))
    return 0


def _host_held():
    journal = _journal()
    held = journal.held()
    if _json([_recovery_dict(journal, rec) for rec in held]):
        return 0
    if not held:
        print('no host is held over the fence budget')
    for rec in held:
        print('%-24s recovery %-6d held since %s: %s' % (
            rec.host, rec.id, _when(rec.updated_at), rec.reason))
    return 0


def _host_release():
    journal = _journal()
    by = CONF.command.by or getpass.getuser()
    try:
        rec = journal.release(CONF.command.host, by)
    except ValueError as exc:
        sys.stderr.write('freezer-dr-manage: %s\n' % exc)
        return 1
    print('%s released by %s: the engine fences and recovers it now '
          '(recovery %d, whatever the fence budget)' % (rec.host, by,
                                                        rec.id))
    return 0


def _host_recover():
    """An operator confirms a silent host dead: a message signed with the
    heartbeat master key, which every engine's core takes (a host it
    suspects is declared dead, whatever the storm guard holds; any other
    is refused, and the decision says why). The leading engine then
    recovers it (fenced first, as ever)."""
    import oslo_messaging

    from freezer_dr import bus
    host = CONF.command.host
    by = CONF.command.by or getpass.getuser()
    live = None
    try:
        answer = _engine_hosts()
    except EngineUnreachable as exc:
        sys.stderr.write('freezer-dr-manage: %s: the host\'s state is not '
                         'checked\n' % exc)
    else:
        live = next((h for h in answer['hosts'] if h['host'] == host), None)
        if live is None:
            raise LookupError('%s is not tracked by engine %s' % (
                host, answer['engine']))
        if live['state'] != 'suspect':
            sys.stderr.write(
                'freezer-dr-manage: %s is %s: only a silent host the engine '
                'suspects (held by the storm guard, or not yet declared '
                'dead) is recovered on an operator\'s word\n'
                % (host, live['state']))
            return EXIT_FAILED
    # (Registers [DEFAULT] transport_url, read from the files already.)
    oslo_messaging.get_notification_transport(CONF)
    payload = signing.sign({'host': host, 'reason': CONF.command.reason,
                            'requested_by': by, 'sent_at': time.time()},
                           _master_key())
    bus.publish_confirmed(
        bus.kombu_url(CONF), CONF.bus.heartbeat_exchange,
        CONF.bus.heartbeat_topic, bus.encode_notification(
            'freezer-dr-manage', events.CONFIRMED_DEAD, payload))
    if live is None:
        print('%s: confirmed dead by %s, signed with the master key: an '
              'engine that suspects it declares it dead and recovers it '
              '(freezer-dr-manage host show %s)' % (host, by, host))
        return EXIT_OK
    deadline = time.monotonic() + CONF.command.wait
    while time.monotonic() < deadline:
        state = next((h['state'] for h in _engine_hosts()['hosts']
                      if h['host'] == host), None)
        if state not in ('suspect', None):
            break
        time.sleep(0.5)
    if state in ('suspect', None, 'up'):
        sys.stderr.write('freezer-dr-manage: %s is still %s %.0f s after the '
                         'confirmation: the engine did not take it (its log '
                         'and decisions say why)\n'
                         % (host, state, CONF.command.wait))
        return EXIT_FAILED
    print('%s: confirmed dead by %s: the engine declared it dead, its '
          'recovery is under way (%s; freezer-dr-manage host show %s)'
          % (host, by, state, host))
    return EXIT_OK


def _key_create():
    path = CONF.command.file
    try:
        signing.write_key(path, signing.new_master_key())
    except OSError as exc:
        sys.stderr.write('freezer-dr-manage: %s was NOT written: %s\n'
                         % (path, exc))
        return 1
    print('heartbeat master key written to %s (mode 0600): name it in the '
          'engines\' [bus] heartbeat_master_key_file, and give each agent '
          'its key with "freezer-dr-manage heartbeat-key derive HOST"'
          % path)
    return 0


def _master_key():
    path = CONF.bus.heartbeat_master_key_file
    if not path:
        raise LookupError('[bus] heartbeat_master_key_file is not set in '
                          'the configuration')
    return signing.read_key(path, '[bus] heartbeat_master_key_file')


def _key_derive():
    # (The host's key on standard output only: for a file of mode 0600 on
    # that host, [agent] heartbeat_key_file.)
    print(signing.derive(_master_key(), CONF.command.host).hex())
    return 0


def _host_maintenance():
    import oslo_messaging

    from freezer_dr import agent as agent_module
    from freezer_dr import bus
    # (Registers [DEFAULT] transport_url, read from the files already.)
    oslo_messaging.get_notification_transport(CONF)
    host, enabled = CONF.command.host, CONF.command.state == 'on'
    by = CONF.command.by or getpass.getuser()
    agent_module.announce_maintenance(
        bus.kombu_url(CONF), CONF.bus.heartbeat_exchange,
        CONF.bus.heartbeat_topic, host, enabled,
        '%s (by %s)' % (CONF.command.reason or 'operator request', by),
        'operator', key=_master_key(), publisher='freezer-dr-manage')
    print('%s: maintenance %s announced, signed with the master key'
          % (host, CONF.command.state))
    return 0


def _config_migrate():
    try:
        messages = upstream.migrate(CONF.command.old, CONF.command.new)
    except upstream.MigrationError as exc:
        sys.stderr.write('freezer-dr-manage: %s\n' % exc)
        return EXIT_FAILED
    print(messages[0])
    for line in messages[1:]:
        print('  ' + line)
    return EXIT_OK


#: Exit codes: done; refused or failed (the message says why); a bad
#: configuration or command line; the host or recovery named is not found;
#: a peer (the engine's endpoint, the journal's database) cannot be reached.
EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_NOT_FOUND, EXIT_UNREACHABLE = \
    0, 1, 2, 3, 4

#: Commands that need no journal.
_NO_JOURNAL = (_key_create, _key_derive, _host_maintenance, _host_list,
               _config_migrate, _host_recover)


def _formats(parser):
    parser.add_argument('-f', '--format', choices=('table', 'json'),
                        default='table', help='output format')


def _add_commands(subparsers):
    db = subparsers.add_parser('db', help='the journal database')
    db_commands = db.add_subparsers(dest='action')
    db_commands.required = True
    db_commands.add_parser('sync', help='create or upgrade the schema'
                           ).set_defaults(func=_db_sync)
    db_version = db_commands.add_parser('version',
                                        help='print the schema revision')
    _formats(db_version)
    db_version.set_defaults(func=_db_version)
    recovery = subparsers.add_parser('recovery', help='recovery history')
    recovery_commands = recovery.add_subparsers(dest='action')
    recovery_commands.required = True
    listing = recovery_commands.add_parser('list', help='list recoveries')
    listing.add_argument('--host')
    _formats(listing)
    listing.set_defaults(func=_recovery_list)
    show = recovery_commands.add_parser(
        'show', help='one recovery, its steps and their times')
    show.add_argument('id', type=int)
    _formats(show)
    show.set_defaults(func=_recovery_show)
    retry = recovery_commands.add_parser(
        'retry', help='run the failed recovery of a host again')
    retry.add_argument('host')
    retry.set_defaults(func=_recovery_retry)
    host = subparsers.add_parser('host', help='hosts')
    host_commands = host.add_subparsers(dest='action')
    host_commands.required = True
    listing = host_commands.add_parser(
        'list', help='every host the engine tracks: state, last heartbeat, '
                     'phi, incarnation, owner engine (asked of the engine\'s '
                     '[metrics] endpoint)')
    listing.add_argument('--url', help='the engine\'s endpoint (default: '
                                       'from [metrics])')
    _formats(listing)
    listing.set_defaults(func=_host_list)
    show = host_commands.add_parser(
        'show', help='one host: its live state (from the engine) and its '
                     'recoveries with their step times (the journal)')
    show.add_argument('host')
    show.add_argument('--url', help='the engine\'s endpoint (default: '
                                    'from [metrics])')
    _formats(show)
    show.set_defaults(func=_host_show)
    rearm = host_commands.add_parser(
        'rearm', help='put a recovered host back in service')
    rearm.add_argument('host')
    rearm.add_argument('--by', help='who re-arms it (default: the user)')
    rearm.add_argument('--journal-only', action='store_true',
                       help='only the journal: leave the host\'s compute '
                            'service in nova as it is')
    rearm.set_defaults(func=_host_rearm)
    held = host_commands.add_parser(
        'held', help='the hosts held over the fence budget')
    _formats(held)
    held.set_defaults(func=_host_held)
    release = host_commands.add_parser(
        'release', help='fence and recover a host held over the fence '
                        'budget')
    release.add_argument('host')
    release.add_argument('--by', help='who releases it (default: the user)')
    release.set_defaults(func=_host_release)
    recover = host_commands.add_parser(
        'recover', help='recover a silent host the engine suspects (held by '
                        'the storm guard) on the operator\'s word: fenced '
                        'first, as ever')
    recover.add_argument('host')
    recover.add_argument('--reason', required=True,
                         help='why (kept in the journal and the mails)')
    recover.add_argument('--by', help='who (default: the user)')
    recover.add_argument('--url', help='the engine\'s endpoint (default: '
                                       'from [metrics]), asked before and '
                                       'after')
    recover.add_argument('--wait', type=float, default=15.0,
                         help='seconds to wait for the engine to declare '
                              'it dead (default: 15)')
    recover.set_defaults(func=_host_recover)
    maintenance = host_commands.add_parser(
        'maintenance', help='put a host in (or out of) maintenance, signed '
                            'with the heartbeat master key')
    maintenance.add_argument('host')
    maintenance.add_argument('state', choices=('on', 'off'))
    maintenance.add_argument('--reason')
    maintenance.add_argument('--by', help='who asks (default: the user)')
    maintenance.set_defaults(func=_host_maintenance)
    keys = subparsers.add_parser('heartbeat-key',
                                 help='the keys heartbeats are signed with')
    key_commands = keys.add_subparsers(dest='action')
    key_commands.required = True
    create = key_commands.add_parser(
        'create', help='write a new master key to FILE (mode 0600)')
    create.add_argument('file')
    create.set_defaults(func=_key_create)
    derive = key_commands.add_parser(
        'derive', help='print the key of HOST (from [bus] '
                       'heartbeat_master_key_file)')
    derive.add_argument('host')
    derive.set_defaults(func=_key_derive)
    config = subparsers.add_parser('config', help='configuration files')
    config_commands = config.add_subparsers(dest='action')
    config_commands.required = True
    migrate = config_commands.add_parser(
        'migrate', help='write to NEW (mode 0600, never over an existing '
                        'file) freezer-dr\'s equivalent of the upstream '
                        'freezer-dr configuration file OLD')
    migrate.add_argument('old', metavar='OLD')
    migrate.add_argument('new', metavar='NEW')
    migrate.set_defaults(func=_config_migrate)


def main(argv=None):
    CONF.register_cli_opt(cfg.SubCommandOpt(
        'command', title='Commands', handler=_add_commands))
    # Upstream freezer-dr's files, and dashed names, read as ours.
    upstream.install()
    try:
        CONF(sys.argv[1:] if argv is None else argv, project='freezer-dr',
             prog='freezer-dr-manage', version=version.version_string(),
             default_config_files=upstream.default_config_files(
                 prog='freezer-dr-manage'))
        if CONF.command.func is _config_migrate:
            # (it reads no option: the default files may be OLD itself)
            return _config_migrate()
        cmd.check_private_files(CONF)
        upstream.check(CONF)
        strict.check_names(CONF)
        strict.check_values(CONF)
        for note in upstream.notes(CONF):
            sys.stderr.write('freezer-dr-manage: warning: %s\n' % note)
        if not CONF.database.connection and \
                CONF.command.func not in _NO_JOURNAL:
            raise cfg.RequiredOptError('connection', CONF.database)
    except (cfg.Error, ValueError) as exc:
        sys.stderr.write('freezer-dr-manage: bad configuration: %s\n' % exc)
        return EXIT_CONFIG
    try:
        return CONF.command.func()
    except schema.MissingDriver as exc:
        sys.stderr.write('freezer-dr-manage: %s\n' % exc)
        return EXIT_CONFIG
    except LookupError as exc:
        sys.stderr.write('freezer-dr-manage: %s\n' % exc.args[0])
        return EXIT_NOT_FOUND
    except EngineUnreachable as exc:
        sys.stderr.write('freezer-dr-manage: %s\n' % exc)
        return EXIT_UNREACHABLE
    except Exception as exc:
        if _is_database_error(exc):
            sys.stderr.write('freezer-dr-manage: cannot use the journal '
                             '(%s): %s\n' % (schema.safe_url(
                                 CONF.database.connection),
                                 str(exc).splitlines()[0]))
            return EXIT_UNREACHABLE
        sys.stderr.write('freezer-dr-manage: %s: %s\n'
                         % (type(exc).__name__, exc))
        return EXIT_FAILED


def _is_database_error(exc):
    return type(exc).__module__.startswith(('sqlalchemy', 'psycopg',
                                            'pymysql', 'sqlite3'))

if __name__ == '__main__':
    sys.exit(main())
