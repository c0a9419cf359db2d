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

"""``freezer-dr-engine``: listen on the bus, keep every host's liveness,
recover the hosts declared dead (``[engine] dry_run``: only log)."""

import sys
import threading

from oslo_config import cfg
from oslo_log import log as logging
import oslo_messaging

from freezer_dr import bus
from freezer_dr import cmd
from freezer_dr import coordination
from freezer_dr import drivers
from freezer_dr import engine as engine_module
from freezer_dr import ingest
from freezer_dr import inventory
from freezer_dr import metrics as metrics_module
from freezer_dr import signing
from freezer_dr.conf import CONF
from freezer_dr.drivers import base
from freezer_dr.journal import api as journal_api
from freezer_dr.journal import schema
from freezer_dr.liveness import settings as liveness_settings
from freezer_dr.recovery import factory
from freezer_dr.recovery import runner as runner_module

LOG = logging.getLogger(__name__)


def admission_from_conf(conf):
    """The :class:`~freezer_dr.bus.Admission` of ``[bus]``: the master
    key(s) heartbeats are checked against.

    :raises ValueError: no master key and unsigned heartbeats not allowed,
        or a key file that cannot be used (naming the option and why).
    """
    opts = conf.bus
    if not opts.heartbeat_master_key_file:
        if not opts.allow_unsigned_heartbeats:
            raise ValueError(
                '[bus] heartbeat_master_key_file is not set: heartbeats '
                'would not be checked, and anything on the bus could speak '
                'for any host. Create one with "freezer-dr-manage '
                'heartbeat-key create FILE", or set [bus] '
                'allow_unsigned_heartbeats = true (not advised)')
        LOG.warning('[bus] allow_unsigned_heartbeats is set: heartbeats and '
                    'maintenance messages are NOT checked; anything that can '
                    'publish on the bus can keep a dead host alive or have a '
                    'live one fenced')
        return bus.Admission(None, opts.heartbeat_max_skew)
    try:
        master = signing.read_key(opts.heartbeat_master_key_file,
                                  '[bus] heartbeat_master_key_file')
        previous = signing.read_key(
            opts.previous_heartbeat_master_key_file,
            '[bus] previous_heartbeat_master_key_file') \
            if opts.previous_heartbeat_master_key_file else None
    except signing.KeyError_ as exc:
        raise ValueError(str(exc)) from None
    return bus.Admission(signing.Verifier(master, previous),
                         opts.heartbeat_max_skew)


def start_consumers(conf, pool, sink, events_sink=None, nova_sink=None,
                    admission=None, instance_sink=None):
    """Start the heartbeat consumer(s) and the nova listener, each with its
    own queue derived from ``pool``; return them.

    With ``events_sink`` and ``[bus] heartbeat_workers`` > 0, heartbeats are
    read and parsed by worker processes that hand ``events_sink`` parsed
    events; otherwise one consumer thread hands ``sink`` raw messages.
    """
    # (Creating the transport registers transport_url; it connects only
    # when a listener starts.)
    transport = oslo_messaging.get_notification_transport(conf)
    consumer_args = dict(
        url=bus.kombu_url(conf),
        exchange=conf.bus.heartbeat_exchange,
        topic=conf.bus.heartbeat_topic, queue=pool + '-heartbeats',
        canary_id=pool)
    if events_sink is not None and conf.bus.heartbeat_workers:
        heartbeats = ingest.HeartbeatWorkers(
            conf.bus.heartbeat_workers, events_sink, admission,
            config_args=ingest.config_args(conf), **consumer_args)
    else:
        heartbeats = bus.HeartbeatConsumer(sink=sink, **consumer_args)
    # Workers are forked before any thread of ours exists.
    heartbeats.start()
    nova = bus.NovaListener(transport, conf.bus.nova_exchange,
                            conf.bus.nova_topics, pool + '-nova',
                            nova_sink or sink, instance_sink=instance_sink)
    nova.start()
    return heartbeats, nova


def open_journal(conf):
    """The journal of ``[database] connection``. An empty database gets
    the schema (what ``freezer-dr-manage db sync`` does); one with an older
    schema is refused, its upgrade is the operator's.

    :raises RuntimeError: when its schema is not the newest (saying to run
        ``freezer-dr-manage db sync``).
    """
    db = schema.engine_for(conf.database.connection)
    with db.connect() as conn:
        revision = schema.current(conn)
    if revision is None:
        _, revision = schema.sync(db)
        LOG.warning('The journal ([database] connection) was empty: schema '
                    'created at revision %s', revision)
    if revision != schema.head():
        db.dispose()
        raise RuntimeError('the journal schema is at revision %s, not %s: '
                           'run "freezer-dr-manage db sync"'
                           % (revision or 'none', schema.head()))
    return journal_api.Journal(db)


def make_runner(conf, mailbox):
    """The runner of ``[engine] dry_run`` and ``[recovery]``, its drivers
    checked (:func:`freezer_dr.recovery.factory.check_workflow`), and the
    leadership it acts under (None for a dry run).

    :raises drivers.DriverNotFound: a driver cannot be loaded.
    :raises base.ConfigurationError: the configuration cannot work.
    :raises ValueError: no coordination backend for this journal.
    """
    if conf.engine.dry_run:
        # (With a journal, a detect-only engine writes the hosts it
        # declares dead there, for the one-shot's heartbeat monitor.)
        journal = open_journal(conf) if conf.database.connection else None
        return engine_module.DryRunRunner(
            journal, coordination.member_from_conf(conf)), None
    journal = open_journal(conf)
    rc = conf.recovery
    flow = factory.build_workflow(conf, journal)
    factory.check_workflow(flow)
    kind = coordination.Partitions if conf.coordination.partitions \
        else coordination.Leadership
    leadership = kind(
        journal, coordination.backend_from_conf(conf),
        coordination.member_from_conf(conf), conf.coordination.lease)
    leadership.load()
    return runner_module.RecoveryRunner(
        flow, journal, mailbox, max_parallel=rc.max_parallel,
        poll_interval=rc.journal_poll_interval, auto_rearm=rc.auto_rearm,
        leadership=leadership), leadership


def main(argv=None):
    try:
        cmd.prepare(sys.argv[1:] if argv is None else argv,
                    'freezer-dr-engine')
        settings = liveness_settings.LivenessSettings.from_conf(CONF)
    except (cfg.Error, ValueError) as exc:
        sys.stderr.write('freezer-dr-engine: bad configuration: %s\n' % exc)
        return 2
    try:
        admission = admission_from_conf(CONF)
    except ValueError as exc:
        sys.stderr.write('freezer-dr-engine: bad configuration: %s\n' % exc)
        return 2
    mailbox = engine_module.Mailbox(admission)
    try:
        runner, leadership = make_runner(CONF, mailbox)
    except (drivers.DriverNotFound, base.ConfigurationError,
            ValueError) as exc:
        sys.stderr.write('freezer-dr-engine: bad configuration: %s\n' % exc)
        return 2
    except Exception as exc:
        sys.stderr.write('freezer-dr-engine: cannot open the journal: '
                         '%s: %s\n' % (type(exc).__name__, exc))
        return 1
    metrics = metrics_module.Metrics()
    runner.metrics = metrics
    if getattr(runner, 'alerts', None) is not None:
        runner.alerts.metrics = metrics
    stop = threading.Event()
    cmd.stop_on_signals(stop)
    try:
        # nova's instance notifications tell the evacuator which
        # evacuated instance to read at once (a listener thread; never
        # through the engine thread).
        flow = getattr(runner, 'flow', None)
        heartbeats, nova = start_consumers(
            CONF, CONF.bus.pool, mailbox.deliver, mailbox.deliver_events,
            mailbox.deliver_nova, admission,
            instance_sink=flow.evacuator.observe if flow else None)
    except ValueError as exc:       # (TLS files, ssl_version)
        sys.stderr.write('freezer-dr-engine: bad configuration: %s\n' % exc)
        return 2
    engine = engine_module.Engine(
        settings, runner, mailbox, CONF.bus.deaf_after,
        hearing=heartbeats.seconds_since_canary, sources=(heartbeats, nova),
        decisions_file=CONF.engine.decisions_file,
        tick_interval=CONF.engine.tick_interval,
        stats_interval=CONF.engine.stats_interval, leadership=leadership,
        # (No snapshot of every host each second when nobody can ask for
        # it: the endpoint is off.)
        metrics=metrics if CONF.metrics.port else None,
        name=leadership.member_id if leadership else CONF.bus.pool,
        first_canary_within=engine_module.FIRST_CANARY_WITHIN)
    # (After the heartbeat workers are forked, like every thread of ours.)
    endpoint = metrics_module.serve(metrics, CONF.metrics.listen_address,
                                    CONF.metrics.port)
    if leadership is not None:
        # (After the heartbeat workers are forked: no thread of ours may
        # exist then.) Contends once now: a lone engine leads from its
        # first decision.
        leadership.start()
    poller = None
    flow = getattr(runner, 'flow', None)
    if flow is not None and CONF.engine.inventory_interval:
        poller = inventory.Poller(flow.isolator, flow.fencer,
                                  mailbox.deliver_events,
                                  CONF.engine.inventory_interval)
        engine.ask_nova = poller.poll_soon
        poller.start()
    # Hosts under recovery are taken back before any heartbeat is applied
    # (the work it posts runs first, on the engine's first pass).
    runner.start()
    LOG.info('freezer-dr-engine started: pool %s, detection window %.2f s, '
             'corroboration %s', CONF.bus.pool, settings.detection_window(),
             ','.join(settings.corroboration))
    cmd.notify_systemd('READY=1')
    try:
        engine.run(stop)
    finally:
        # No new recovery; those under way may finish their step (up to a
        # lease), then a standby takes over at once, not after the lease.
        if poller is not None:
            poller.stop()
        # (Within cmd.STOP_DEADLINE: a step still under way after 2 s is
        # resumed by the next leader from the journal.)
        runner.stop(wait=min(CONF.coordination.lease, 2.0) if leadership
                    else 0.0)
        if leadership is not None:
            leadership.stop()
        heartbeats.stop()
        nova.stop()
        if endpoint is not None:
            endpoint.stop()
        engine.log_stats()
        LOG.info('freezer-dr-engine stopped')
    return 0


if __name__ == '__main__':
    sys.exit(main())
