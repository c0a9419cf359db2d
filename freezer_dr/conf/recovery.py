"""Options of the recovery: which drivers fence, evacuate and notify.

Each driver is loaded by name through stevedore and built with
``conf=CONF``; it reads its own option group (``[ipmi]``, ``[email]``, ...).
"""

from oslo_config import cfg

GROUP = cfg.OptGroup(
    'recovery',
    title='Recovery of a dead host',
    help='What freezer-dr does to a host declared dead: fence it, isolate '
         'it in nova, evacuate its instances, notify.')

opts = [
    cfg.StrOpt('fencer',
               default='noop',
               help='Fencer driver (namespace freezer_dr.fencers): ipmi, '
                    'redfish, libvirt or noop. noop cannot confirm '
                    'power-off, so no host is evacuated after it unless it '
                    'is listed in unfenced_evacuation_hosts.'),
    cfg.StrOpt('evacuator',
               default='noop',
               help='Evacuator driver (namespace freezer_dr.evacuators): '
                    'nova or noop.'),
    cfg.ListOpt('notifiers',
                default=['log'],
                help='Notifier drivers (namespace freezer_dr.notifiers), '
                     'all of which are told of every recovery: log, email, '
                     'webhook, bus.'),
    cfg.ListOpt('unfenced_evacuation_hosts',
                default=[],
                help='Hosts whose instances may be evacuated although '
                     'their power-off was not confirmed. This overrides '
                     'safety rule 1 (a host that still runs may corrupt '
                     'the disks of its evacuated instances); every use is '
                     'logged and journaled. Leave empty.'),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
