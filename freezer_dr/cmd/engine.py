"""``freezer-dr-engine``: listen on the bus, keep every host's liveness,
carry out the decisions (dry run until recovery is built)."""

import signal
import sys
import threading

from oslo_config import cfg
from oslo_log import log as logging
import oslo_messaging

from freezer_dr import bus
from freezer_dr import engine as engine_module
from freezer_dr import ingest
from freezer_dr.conf import CONF
from freezer_dr.liveness import settings as liveness_settings

LOG = logging.getLogger(__name__)


def prepare(argv, prog, groups=('bus', 'engine', 'liveness',
                                  'storm_guard')):
    """Parse the command line and configuration files, check every option of
    ``groups`` (so that a bad value stops the command at once, with
    cfg.Error), set up logging."""
    logging.register_options(CONF)
    CONF(argv, project='freezer-dr', prog=prog)
    for group in groups:
        for name in CONF[group]:
            CONF[group][name]
    logging.setup(CONF, 'freezer-dr')


def stop_on_signals(stop):
    def handler(signum, frame):
        LOG.info('Received %s: stopping', signal.Signals(signum).name)
        stop.set()
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def start_consumers(conf, pool, sink, events_sink=None):
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
        url=bus.kombu_url(conf, conf.transport_url),
        exchange=conf.bus.heartbeat_exchange,
        topic=conf.bus.heartbeat_topic, queue=pool + '-heartbeats',
        canary_id=pool)
    if events_sink is not None and conf.bus.heartbeat_workers:
        heartbeats = ingest.HeartbeatWorkers(conf.bus.heartbeat_workers,
                                             events_sink, **consumer_args)
    else:
        heartbeats = bus.HeartbeatConsumer(sink=sink, **consumer_args)
    # Workers are forked before any thread of ours exists.
    heartbeats.start()
    nova = bus.NovaListener(transport, conf.bus.nova_exchange,
                            conf.bus.nova_topics, pool + '-nova', sink)
    nova.start()
    return heartbeats, nova


def main(argv=None):
    try:
        prepare(sys.argv[1:] if argv is None else argv, 'freezer-dr-engine')
        settings = liveness_settings.LivenessSettings.from_conf(CONF)
    except (cfg.Error, ValueError) as exc:
        sys.stderr.write('freezer-dr-engine: bad configuration: %s\n' % exc)
        return 2
    stop = threading.Event()
    stop_on_signals(stop)
    heartbeats = None
    engine = engine_module.Engine(
        settings, engine_module.DryRunRunner(), CONF.bus.deaf_after,
        hearing=lambda: heartbeats.seconds_since_canary(),
        decisions_file=CONF.engine.decisions_file,
        tick_interval=CONF.engine.tick_interval,
        stats_interval=CONF.engine.stats_interval)
    heartbeats, nova = start_consumers(CONF, CONF.bus.pool, engine.deliver,
                                       engine.deliver_events)
    engine.sources = [heartbeats, nova]
    LOG.info('freezer-dr-engine started: pool %s, detection window %.2f s, '
             'corroboration %s', CONF.bus.pool, settings.detection_window(),
             ','.join(settings.corroboration))
    try:
        engine.run(stop)
    finally:
        heartbeats.stop()
        nova.stop()
        engine.log_stats()
        LOG.info('freezer-dr-engine stopped')
    return 0


if __name__ == '__main__':
    sys.exit(main())
