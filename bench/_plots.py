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

"""The pictures of the benches on the cloud harness (matplotlib, PNG):
``--plot FILE.png`` of bench/e2e_recovery.py and bench/evacuate_parallel.py.
"""

import statistics

COLOURS = {
    'detection': '#d62728',
    'fence': '#9467bd',
    'isolate': '#8c564b',
    'force-down': '#8c564b',
    'evacuator prepares': '#c7c7c7',
    'evacuate request': '#1f77b4',
    'nova rebuilds': '#2ca02c',
}


def _pyplot():
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot
    return pyplot


def median_round(rounds, phases, kind):
    """The round of ``kind`` whose all_active_s is the median (the lower
    one of an even count)."""
    mine = [r for r in rounds if r['kind'] == kind and
            phases(r)['all_active_s'] is not None]
    mine.sort(key=lambda r: phases(r)['all_active_s'])
    return mine[(len(mine) - 1) // 2] if mine else None


def _lanes(axes, r, p, title):
    """One row per instance (the order they came back ACTIVE): the host's
    phases, then the instance's own evacuate request and rebuild."""
    t0 = r['t0']
    ids = sorted(r['ids'], key=lambda i: r['active'].get(i, 1e18))
    host_bars = []
    if p.get('detect_s') is not None:
        host_bars.append(('detection', 0.0, p['detect_s']))
    if p.get('fence_start_s') is not None and p.get('fence_done_s'):
        host_bars.append(('fence', p['fence_start_s'], p['fence_done_s']))
    if p.get('isolate_start_s') is not None and p.get('isolate_done_s'):
        host_bars.append(('isolate', p['isolate_start_s'],
                          p['isolate_done_s']))
    if p.get('force_down_s') is not None:
        force = r['oracle']['force_down']
        host_bars.append(('force-down', force[0] - t0, force[1] - t0))
    for row, server_id in enumerate(ids):
        for label, start, end in host_bars:
            axes.broken_barh([(start, max(end - start, 0.02))],
                             (row - 0.35, 0.7), color=COLOURS[label])
        request = r['requests'].get(server_id)
        active = r['active'].get(server_id)
        if request:
            start, end = request[0] - t0, request[1] - t0
            if p.get('evacuate_start_s') is not None and \
                    start > p['evacuate_start_s']:
                axes.broken_barh([(p['evacuate_start_s'],
                                   start - p['evacuate_start_s'])],
                                 (row - 0.35, 0.7),
                                 color=COLOURS['evacuator prepares'])
            axes.broken_barh([(start, max(end - start, 0.02))],
                             (row - 0.35, 0.7),
                             color=COLOURS['evacuate request'])
            if active:
                axes.broken_barh([(end, active - t0 - end)],
                                 (row - 0.35, 0.7),
                                 color=COLOURS['nova rebuilds'])
        if active:
            axes.plot([active - t0], [row], marker='|', color='black',
                      markersize=12)
    if p.get('evacuate_done_s') is not None:
        axes.axvline(p['evacuate_done_s'], color='black', linestyle='--',
                     linewidth=0.8)
        axes.annotate('verified', (p['evacuate_done_s'], -0.5),
                      xytext=(3, 0), textcoords='offset points',
                      fontsize=7)
    axes.set_yticks(range(len(ids)))
    axes.set_yticklabels(['vm %d' % (n + 1) for n in range(len(ids))],
                         fontsize=7)
    axes.invert_yaxis()
    axes.axvline(0, color='black', linewidth=0.8)
    axes.set_title(title, fontsize=10, loc='left')
    axes.grid(axis='x', alpha=0.3)


def e2e(path, rounds, phases, result):
    pyplot = _pyplot()
    from matplotlib import patches
    fdr = median_round(rounds, phases, 'freezer-dr')
    oracle = median_round(rounds, phases, 'oracle')
    n = len(fdr['ids']) if fdr else 8
    figure, axes = pyplot.subplots(
        3, 1, figsize=(11, 0.32 * 2 * n + 5.2),
        gridspec_kw={'height_ratios': [n, n, 0.6 * n + 1]})
    lanes = [(fdr, 'freezer-dr'), (oracle, 'oracle')]
    last = max((phases(r).get(k) or 0 for r, _ in lanes if r
                for k in ('all_active_s', 'evacuate_done_s')), default=10)
    for ax, (r, who) in zip(axes[:2], lanes, strict=True):
        if r is None:
            continue
        p = phases(r)
        _lanes(ax, r, p, '%s: round %d, the median of its %d (all ACTIVE '
               'at %.1f s)' % (who, r['round'], sum(
                   1 for x in rounds if x['kind'] == r['kind']),
                   p['all_active_s']))
        ax.set_xlim(-0.3, last * 1.08)
    axes[1].set_xlabel('seconds after the kill (| : seen ACTIVE on '
                       'another host)')
    handles = [patches.Patch(color=c, label='isolate / force-down'
                             if k == 'isolate' else k)
               for k, c in COLOURS.items() if k != 'force-down']
    figure.legend(handles=handles, fontsize=8, loc='upper center',
                  ncol=len(handles), bbox_to_anchor=(0.5, 0.962),
                  frameon=False)
    # Detection: freezer-dr's declaration against nova's own "down".
    ax = axes[2]
    series = [
        ('freezer-dr declares dead',
         [phases(r)['detect_s'] for r in rounds
          if r['kind'] == 'freezer-dr']),
        ('nova says "down"\n(service_down_time %ds)'
         % result.get('nova_service_down_time', 60),
         [phases(r)['nova_down_s'] for r in rounds]),
    ]
    for row, (_, values) in enumerate(series):
        values = [v for v in values if v is not None]
        ax.plot(values, [row] * len(values), 'o', alpha=0.6,
                color=('#d62728', '#7f7f7f')[row])
        if values:
            middle = statistics.median(values)
            ax.plot([middle], [row], marker='D', color='black',
                    markersize=7)
            ax.annotate('median %.2f s' % middle, (middle, row),
                        xytext=(8, 6), textcoords='offset points',
                        fontsize=8)
    ax.axvline(3.0, color='#d62728', linestyle=':', linewidth=1)
    ax.annotate('target 3 s', (3.0, -0.45), fontsize=7, color='#d62728',
                xytext=(3, 0), textcoords='offset points')
    ax.set_xscale('log')
    ax.set_xlim(0.5, 120)
    ax.set_ylim(-0.6, len(series) - 0.4)
    ax.set_yticks(range(len(series)))
    ax.set_yticklabels([s[0] for s in series], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel('seconds after the kill (log scale), every round')
    ax.set_title('detection', fontsize=10, loc='left')
    ax.grid(axis='x', alpha=0.3, which='both')
    figure.suptitle(
        'Recovery of a killed host with %d instances: overhead %.2f s '
        'over the oracle' % (n, result['overhead_s']), fontsize=11)
    figure.tight_layout(rect=(0, 0, 1, 0.94))
    figure.savefig(path, dpi=90)
    pyplot.close(figure)


def evacuations(path, runs, title):
    """Instances evacuated over time, per contender: ``runs`` is
    ``[(label, t0, {id: (start, end, status)}, {id: active at})]``; the
    requests answered dashed, the instances back solid."""
    pyplot = _pyplot()
    figure, axes = pyplot.subplots(figsize=(10, 5))
    colours = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728']
    for n, (label, t0, requests, active) in enumerate(runs):
        colour = colours[n % len(colours)]
        answered = sorted(v[1] - t0 for v in requests.values())
        back = sorted(v - t0 for v in active.values())
        if answered:
            axes.step(answered, range(1, len(answered) + 1), where='post',
                      linestyle='--', color=colour,
                      label='%s: evacuate answered' % label)
        if back:
            axes.step(back, range(1, len(back) + 1), where='post',
                      color=colour, label='%s: ACTIVE elsewhere (%.1f s)'
                      % (label, back[-1]))
    axes.set_xlabel('seconds after the start (force-down)')
    axes.set_ylabel('instances')
    axes.set_title(title, fontsize=10)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc='lower right')
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    pyplot.close(figure)
