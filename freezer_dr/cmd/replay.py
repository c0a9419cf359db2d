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

"""``freezer-dr-replay RECORDING``: replay a recording, print the decisions.

Reads a configuration file only when given ``--config-file``, so that a
replay means the same on every machine; the detector and storm-guard options
on the command line override it.
"""

import dataclasses
import gzip
import sys

from oslo_config import cfg

from freezer_dr import events
from freezer_dr import replay
from freezer_dr.conf import liveness as liveness_opts
from freezer_dr.conf import recovery as recovery_opts
from freezer_dr.conf import storm_guard as storm_guard_opts
from freezer_dr.liveness import settings as liveness_settings

# Command-line overrides of [liveness] and [storm_guard] options, each with
# the group it overrides (for its help text).
_OVERRIDES = [
    (cfg.StrOpt('detector', choices=['phi', 'timeout'],
                help='Override [liveness] detector.'), 'liveness'),
    (cfg.FloatOpt('heartbeat-interval', dest='heartbeat_interval',
                  help='Override [liveness] heartbeat_interval.'),
     'liveness'),
    (cfg.FloatOpt('heartbeat-timeout', dest='heartbeat_timeout',
                  help='Override [liveness] heartbeat_timeout.'), 'liveness'),
    (cfg.FloatOpt('phi-threshold', dest='phi_threshold',
                  help='Override [liveness] phi_threshold.'), 'liveness'),
    (cfg.IntOpt('phi-window', dest='phi_window',
                help='Override [liveness] phi_window.'), 'liveness'),
    (cfg.FloatOpt('phi-min-std-deviation', dest='phi_min_std_deviation',
                  help='Override [liveness] phi_min_std_deviation.'),
     'liveness'),
    (cfg.FloatOpt('acceptable-pause', dest='acceptable_pause',
                  help='Override [liveness] acceptable_pause.'), 'liveness'),
    (cfg.ListOpt('corroboration',
                 help='Override [liveness] corroboration (comma '
                      'separated).'), 'liveness'),
    (cfg.FloatOpt('corroboration-grace', dest='corroboration_grace',
                  help='Override [liveness] corroboration_grace.'),
     'liveness'),
    (cfg.FloatOpt('bus-recovery-grace', dest='bus_recovery_grace',
                  help='Override [liveness] bus_recovery_grace.'),
     'liveness'),
    (cfg.IntOpt('max-failed-hosts', dest='max_failed_hosts',
                help='Override [storm_guard] max_failed_hosts.'),
     'storm_guard'),
    (cfg.FloatOpt('max-failed-percent', dest='max_failed_percent',
                  help='Override [storm_guard] max_failed_percent.'),
     'storm_guard'),
    (cfg.FloatOpt('storm-window', dest='storm_window',
                  help='Override [storm_guard] storm_window.'),
     'storm_guard'),
]

_CLI = [
    cfg.StrOpt('recording', positional=True, required=True,
               help='The recording to replay (JSON Lines, optionally '
                    'gzip-compressed).'),
    cfg.BoolOpt('json', default=False,
                help='Print one JSON object per decision instead of a '
                     'table.'),
    cfg.ListOpt('exclude-actions', dest='exclude_actions', default=[],
                help='Do not print these actions (comma separated, e.g. '
                     '"up"); the summary still counts them.'),
]


def _configure(argv):
    """Parse the command line and the configuration file; return the
    parsed options and the LivenessSettings to replay with."""
    conf = cfg.ConfigOpts()
    liveness_opts.register_opts(conf)
    storm_guard_opts.register_opts(conf)
    recovery_opts.register_opts(conf)
    conf.register_cli_opts(_CLI)
    conf.register_cli_opts([opt for opt, _ in _OVERRIDES])
    conf(argv, project='freezer-dr', prog='freezer-dr-replay',
         default_config_files=[])
    from_file = liveness_settings.LivenessSettings.from_conf(conf)
    overrides = {opt.dest: conf[opt.dest] for opt, _ in _OVERRIDES
                 if conf[opt.dest] is not None}
    if 'corroboration' in overrides:
        overrides['corroboration'] = tuple(overrides['corroboration'])
    return conf, dataclasses.replace(from_file, **overrides)


def _open(path):
    with open(path, 'rb') as probe:
        compressed = probe.read(2) == b'\x1f\x8b'
    if compressed:
        return gzip.open(path, 'rt', encoding='utf-8')
    return open(path, 'r', encoding='utf-8')


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        conf, settings = _configure(argv)
    except (cfg.Error, ValueError) as exc:
        sys.stderr.write('freezer-dr-replay: bad configuration: %s\n' % exc)
        return 2
    out = sys.stdout
    summary = replay.Summary()
    try:
        with _open(conf.recording) as lines:
            found = replay.decisions(lines, settings, summary)
            if conf.exclude_actions:
                hidden = frozenset(conf.exclude_actions)
                found = (d for d in found if d['action'] not in hidden)
            if conf.json:
                for decision in found:
                    out.write(replay.format_json(decision) + '\n')
            else:
                _print_table(found, summary, out)
    except OSError as exc:
        sys.stderr.write('freezer-dr-replay: cannot read %s: %s\n'
                         % (conf.recording, exc.strerror or exc))
        return 1
    except (events.NotARecording, UnicodeDecodeError, EOFError) as exc:
        sys.stderr.write('freezer-dr-replay: %s is not a freezer-dr '
                         'recording: %s\n' % (conf.recording, exc))
        return 1
    return 0


def _print_table(found, summary, out):
    out.write('%10s  %-20s %-17s %s\n' % ('seconds', 'host', 'action',
                                          'reason'))
    for decision in found:
        out.write(replay.format_text(decision, summary.first_time) + '\n')
    for line in replay.format_summary(summary):
        out.write(line + '\n')


if __name__ == '__main__':
    sys.exit(main())
