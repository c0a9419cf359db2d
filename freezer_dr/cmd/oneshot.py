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

"""``freezer-dr``: the one-shot flow (cron or by hand).

Asks the monitor driver (``[recovery] monitor``: ``nova``, ``heartbeat``,
``static`` or ``none``) for the failed hosts and runs, for each, the
engine's recovery workflow with the same journal: fence → isolate →
evacuate → notify. Prints one line per host; prints ``No failed nodes``
and exits 0 when there is none; exits 1 when a recovery failed (or the
monitor could not be asked), 2 on a bad configuration. ``--dry-run``
prints the failed hosts and acts on none.

The ``heartbeat`` monitor gives each host the boot id a detect-only engine
declared it dead with: each death is recovered once. Without boot ids, a
host's incarnation is ``monitor``: the journal recovers
a host once until an operator re-arms it (``freezer-dr-manage host
rearm``), so running the command again does not fence it again, and a
failed recovery is run again only after ``freezer-dr-manage recovery
retry``.

Its journal writes are not fenced (it holds no leadership), so it refuses
to run while a freezer-dr-engine acts on the same journal (one renewed its
leadership or its hosts within twice ``[coordination] lease``).
"""

import sys

from oslo_config import cfg
from oslo_log import log as logging

from freezer_dr import cmd
from freezer_dr import drivers
from freezer_dr.cmd import engine as engine_cmd
from freezer_dr.conf import CONF
from freezer_dr.drivers import base
from freezer_dr.recovery import factory

LOG = logging.getLogger(__name__)

INCARNATION = 'monitor'


def _line(outcome):
    if outcome.refused:
        return '%s: NOT recovered: %s' % (outcome.host, outcome.refused)
    if not outcome.steps:
        return '%s: already recovered (journal)' % outcome.host
    parts = []
    for name, result in outcome.steps:
        if isinstance(result, str):
            parts.append('%s %s' % (name, result))
        else:
            parts.append('%s %s' % (name, result.status))
    if outcome.recovered:
        return '%s: recovered (%s)' % (outcome.host, ', '.join(parts))
    name, result = outcome.steps[-1]
    return '%s: FAILED at %s: %s (%s)' % (outcome.host, name, result.detail,
                                          ', '.join(parts))


#: Seconds added to twice the lease when looking for an active engine:
#: the engines' clocks may be behind this one's (an engine that stopped
#: cleanly says so in the journal at once).
CLOCK_SKEW = 60.0


def _engines_active(journal):
    """'' when no freezer-dr-engine acts on this journal; otherwise the
    refusal to print. Its writes are not fenced: beside an engine, both
    would fence the same host."""
    try:
        engines = journal.active_engines(2 * CONF.coordination.lease +
                                         CLOCK_SKEW)
    except Exception as exc:
        return 'freezer-dr: cannot read the journal: %s: %s\n' % (
            type(exc).__name__, exc)
    if not engines:
        return ''
    return ('freezer-dr: refused: freezer-dr-engine %s acts on this journal '
            '(renewed %.1f s ago): the engines recover the failed hosts; '
            'stop them (cleanly) to use the one-shot command\n'
            % (', '.join(sorted(engines)), min(engines.values())))


_CLI = [
    cfg.BoolOpt('dry-run', dest='dry_run', default=False,
                help='Print the hosts the monitor reports failed, and act '
                     'on none of them.'),
]


def main(argv=None):
    # The per-host outcome goes to stdout; logs to stderr (or a log file).
    logging.register_options(CONF)
    CONF.register_cli_opts(_CLI)
    CONF.set_default('use_stderr', True)
    try:
        cmd.prepare(sys.argv[1:] if argv is None else argv, 'freezer-dr')
        monitor = factory.load_driver(drivers.MONITORS,
                                      CONF.recovery.monitor, CONF)
        monitor.validate()
    except (cfg.Error, ValueError, drivers.DriverNotFound,
            base.ConfigurationError) as exc:
        sys.stderr.write('freezer-dr: bad configuration: %s\n' % exc)
        return 2
    try:
        hosts = list(monitor.failed_hosts())
    except Exception as exc:
        LOG.exception('The monitor %s failed', CONF.recovery.monitor)
        sys.stderr.write('freezer-dr: the monitor %s failed: %s: %s\n'
                         % (CONF.recovery.monitor, type(exc).__name__, exc))
        return 1
    if not hosts:
        print('No failed nodes')
        return 0
    if CONF.dry_run:
        print('Failed nodes: %s (dry run: none is acted on)'
              % ', '.join(hosts))
        return 0
    try:
        journal = engine_cmd.open_journal(CONF)
        flow = factory.build_workflow(CONF, journal)
        factory.check_workflow(flow)
    except (drivers.DriverNotFound, base.ConfigurationError) as exc:
        sys.stderr.write('freezer-dr: bad configuration: %s\n' % exc)
        return 2
    except Exception as exc:
        sys.stderr.write('freezer-dr: cannot open the journal: %s: %s\n'
                         % (type(exc).__name__, exc))
        return 1
    refusal = _engines_active(journal)
    if refusal:
        sys.stderr.write(refusal)
        return 1
    print('Failed nodes: %s' % ', '.join(hosts))
    failures = 0
    for host in hosts:
        refusal = _engines_active(journal)
        if refusal:     # (an engine started, or a standby was elected)
            sys.stderr.write(refusal)
            return 1
        try:
            outcome = flow.run(host, monitor.incarnation(host) or
                               INCARNATION, 'reported failed by the '
                               'monitor %s' % CONF.recovery.monitor)
        except Exception as exc:
            LOG.exception('Recovery of %s interrupted', host)
            print('%s: FAILED: %s: %s (resumed by the next run)'
                  % (host, type(exc).__name__, exc))
            failures += 1
            continue
        print(_line(outcome))
        if not outcome.recovered:
            failures += 1
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
