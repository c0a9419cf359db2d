"""Options of the message bus: where heartbeats and nova's notifications
are published and consumed. The broker itself is oslo.messaging's
``transport_url`` ([DEFAULT] or [oslo_messaging_notifications])."""

import socket

from oslo_config import cfg

GROUP = cfg.OptGroup(
    'bus',
    title='Message bus',
    help='Topics and exchanges freezer-dr publishes to and listens on.')

opts = [
    cfg.StrOpt('heartbeat_exchange',
               default='freezer_dr',
               help='Exchange the agents publish their heartbeat and '
                    'maintenance notifications to.'),
    cfg.StrOpt('heartbeat_topic',
               default='freezer_dr_heartbeats',
               help='Notification topic of the agents\' heartbeats.'),
    cfg.StrOpt('nova_exchange',
               default='nova',
               help='Control exchange nova publishes its notifications to '
                    '(nova\'s [DEFAULT] control_exchange).'),
    cfg.ListOpt('nova_topics',
                default=['versioned_notifications'],
                help='Topics of nova\'s versioned notifications (nova\'s '
                     '[notifications] versioned_notifications_topics).'),
    cfg.StrOpt('pool',
               default='freezer-dr-engine-' + socket.gethostname(),
               sample_default='freezer-dr-engine-<hostname>',
               help='Listener pool of this engine. Every engine (the leader '
                    'and each standby) needs its own pool, so that each '
                    'receives every message; engines sharing a pool would '
                    'split the messages between them.'),
    cfg.IntOpt('heartbeat_workers',
               default=2, min=0, max=64,
               help='Processes that read, decode and validate heartbeats for '
                    'the engine (each reads about 10,000 a second). 0 reads '
                    'them in a thread of the engine process itself.'),
    cfg.FloatOpt('deaf_after',
                 default=1.5, min=0.1,
                 help='The engine publishes a canary on the heartbeat topic '
                      'several times a second and listens for it; when no '
                      'canary came back for this many seconds the engine '
                      'considers itself deaf, and nobody is declared dead '
                      'until it hears again.'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
