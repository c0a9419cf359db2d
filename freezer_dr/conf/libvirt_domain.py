"""Options of the ``libvirt`` fencer (destroys the host's libvirt domain,
for compute hosts that are themselves virtual machines)."""

from oslo_config import cfg

from freezer_dr.conf import fencer

GROUP = cfg.OptGroup(
    'libvirt',
    title='libvirt fencer',
    help='Fencing of compute hosts that are libvirt domains: destroy the '
         'domain, then check that it is no longer active. The domain name '
         '(domain-name) and, optionally, the connection URI (libvirt-uri) '
         'of each host come from [fencer] credentials_file.')

opts = fencer.retry_opts('libvirt', timeout=10.0) + [
    cfg.StrOpt('uri',
               default='qemu:///system',
               help='libvirt connection URI for hosts whose entry in the '
                    'credentials file has none (for example '
                    'qemu+ssh://root@hypervisor/system; authentication is '
                    'the transport\'s: SSH keys, TLS certificates).'),
]


def register_opts(conf):
    fencer.register(conf, GROUP, opts)


def list_opts():
    return {GROUP: opts}
