"""``freezer-dr-manage``: operator commands.

``freezer-dr-manage --config-file FILE db sync`` creates or upgrades the
journal's schema (idempotent); ``db version`` prints its revision;
``recovery list [--host HOST]`` prints the journal. Host commands
(maintenance, rearm, retry) come with the recovery workflow.
"""

import sys

from oslo_config import cfg

from freezer_dr.conf import CONF
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


def main(argv=None):
    CONF.register_cli_opt(cfg.SubCommandOpt(
        'command', title='Commands', handler=_add_commands))
    try:
        CONF(sys.argv[1:] if argv is None else argv, project='freezer-dr',
             prog='freezer-dr-manage')
        if not CONF.database.connection:
            raise cfg.RequiredOptError('connection', CONF.database)
    except cfg.Error as exc:
        sys.stderr.write('freezer-dr-manage: bad configuration: %s\n' % exc)
        return 2
    try:
        return CONF.command.func()
    except Exception as exc:
        sys.stderr.write('freezer-dr-manage: %s: %s\n'
                         % (type(exc).__name__, exc))
        return 1


if __name__ == '__main__':
    sys.exit(main())
