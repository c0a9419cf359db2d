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
command: the operator decides for each). ``host maintenance HOST on|off``
announces maintenance signed with the heartbeat master key;
``heartbeat-key create FILE`` writes a new master key (mode 0600) and
``heartbeat-key derive HOST`` prints the key of a host's agent.
"""

import getpass
import sys
import time

from oslo_config import cfg

from freezer_dr import cmd
from freezer_dr import signing
from freezer_dr import version
from freezer_dr.conf import CONF
from freezer_dr.conf import strict
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
        print(schema.current(conn) or 'none')
    return 0


def _recovery_list():
    journal = api.Journal(schema.engine_for(CONF.database.connection))
    for rec in journal.history(CONF.command.host):
        print('%-6d %-24s %-9s %s  %s' % (rec.id, rec.host, rec.status,
                                         rec.incarnation, rec.reason))
        for step in journal.steps(rec.id):
            print('       %-32s %-8s attempts %d  %s'
                  % (step.name, step.status, step.attempts, step.detail))
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
        bus.kombu_url(CONF, CONF.transport_url), CONF.bus.heartbeat_exchange,
        CONF.bus.heartbeat_topic, host, enabled,
        '%s (by %s)' % (CONF.command.reason or 'operator request', by),
        'operator', key=_master_key(), publisher='freezer-dr-manage')
    print('%s: maintenance %s announced, signed with the master key'
          % (host, CONF.command.state))
    return 0


#: Commands that need no journal.
_NO_JOURNAL = (_key_create, _key_derive, _host_maintenance)


def _add_commands(subparsers):
    db = subparsers.add_parser('db', help='the journal database')
    db_commands = db.add_subparsers(dest='action')
    db_commands.required = True
    db_commands.add_parser('sync', help='create or upgrade the schema'
                           ).set_defaults(func=_db_sync)
    db_commands.add_parser('version', help='print the schema revision'
                           ).set_defaults(func=_db_version)
    recovery = subparsers.add_parser('recovery', help='recovery history')
    recovery_commands = recovery.add_subparsers(dest='action')
    recovery_commands.required = True
    listing = recovery_commands.add_parser('list', help='list recoveries')
    listing.add_argument('--host')
    listing.set_defaults(func=_recovery_list)
    show = recovery_commands.add_parser(
        'show', help='one recovery, its steps and their times')
    show.add_argument('id', type=int)
    show.set_defaults(func=_recovery_show)
    retry = recovery_commands.add_parser(
        'retry', help='run the failed recovery of a host again')
    retry.add_argument('host')
    retry.set_defaults(func=_recovery_retry)
    host = subparsers.add_parser('host', help='hosts')
    host_commands = host.add_subparsers(dest='action')
    host_commands.required = True
    rearm = host_commands.add_parser(
        'rearm', help='put a recovered host back in service')
    rearm.add_argument('host')
    rearm.add_argument('--by', help='who re-arms it (default: the user)')
    rearm.add_argument('--journal-only', action='store_true',
                       help='only the journal: leave the host\'s compute '
                            'service in nova as it is')
    rearm.set_defaults(func=_host_rearm)
    host_commands.add_parser(
        'held', help='the hosts held over the fence budget'
    ).set_defaults(func=_host_held)
    release = host_commands.add_parser(
        'release', help='fence and recover a host held over the fence '
                        'budget')
    release.add_argument('host')
    release.add_argument('--by', help='who releases it (default: the user)')
    release.set_defaults(func=_host_release)
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


def main(argv=None):
    CONF.register_cli_opt(cfg.SubCommandOpt(
        'command', title='Commands', handler=_add_commands))
    try:
        CONF(sys.argv[1:] if argv is None else argv, project='freezer-dr',
             prog='freezer-dr-manage', version=version.version_string())
        cmd.check_private_files(CONF)
        strict.check_names(CONF)
        strict.check_values(CONF)
        if not CONF.database.connection and \
                CONF.command.func not in _NO_JOURNAL:
            raise cfg.RequiredOptError('connection', CONF.database)
    except (cfg.Error, ValueError) as exc:
        sys.stderr.write('freezer-dr-manage: bad configuration: %s\n' % exc)
        return 2
    try:
        return CONF.command.func()
    except schema.MissingDriver as exc:
        sys.stderr.write('freezer-dr-manage: %s\n' % exc)
        return 2
    except Exception as exc:
        sys.stderr.write('freezer-dr-manage: %s: %s\n'
                         % (type(exc).__name__, exc))
        return 1


if __name__ == '__main__':
    sys.exit(main())
