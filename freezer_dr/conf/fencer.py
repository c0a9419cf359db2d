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

"""Options shared by every fencer: where the per-host credentials are.

The fencers themselves have one group each (``[ipmi]``, ``[redfish]``,
``[libvirt]``); :func:`retry_opts` gives them the same retry options.
"""

from oslo_config import cfg

GROUP = cfg.OptGroup(
    'fencer',
    title='Fencing',
    help='What every fencer shares: the file that says, for each compute '
         'host, how to reach its BMC, Redfish service or libvirt domain. '
         'The fencer itself is chosen with [recovery] fencer.')

opts = [
    cfg.StrOpt('credentials_file',
               default='/etc/freezer-dr/servers.yml',
               help='YAML file with the fencing details of every compute '
                    'host, keyed by nova\'s host name: upstream '
                    'freezer-dr\'s servers.yml ("servers:" list with '
                    'hostname, fencer-ip, fencer-port, fencer-user, '
                    'fencer-password, domain-name, plus fencer-url and '
                    'redfish-system for Redfish and libvirt-uri for '
                    'libvirt) or a "hosts:" mapping (address, port, '
                    'username, password, domain, url, system, uri). It '
                    'holds passwords: make it readable by freezer-dr '
                    'only. Passwords are never logged.'),
]


def retry_opts(what, timeout, attempts=3, retry_delay=1.0):
    """The timeout, attempts and retry_delay options of one fencer; ``what``
    names the peer in the help ("the BMC", "libvirt")."""
    return [
        cfg.FloatOpt('timeout',
                     default=timeout, min=0.5,
                     help='Seconds, per attempt, to wait for %s to report '
                          'the power off, read back after the power-off '
                          'request.' % what),
        cfg.IntOpt('attempts',
                   default=attempts, min=1, max=20,
                   help='Attempts to power a host off through %s before '
                        'the fence is reported unconfirmed (and nothing '
                        'is evacuated).' % what),
        cfg.FloatOpt('retry_delay',
                     default=retry_delay, min=0.0, max=60.0,
                     help='Seconds before the second attempt; doubled '
                          'before each further one.'),
    ]


def register(conf, group, options):
    """Register ``options`` in ``group`` of ``conf``, through a copy of
    ``group`` of its own.

    (oslo.config keeps a *shallow* copy of a registered OptGroup: every
    ConfigOpts that registers the same OptGroup object shares its table of
    options, and with it every set_override and set_default, the global
    CONF included.)
    """
    conf.register_group(cfg.OptGroup(group.name, title=group.title,
                                     help=group.help))
    conf.register_opts(options, group=group.name)


def register_opts(conf):
    register(conf, GROUP, opts)


def list_opts():
    return {GROUP: opts}
