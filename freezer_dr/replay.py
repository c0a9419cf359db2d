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

"""Replay a recording through the liveness core on a virtual clock.

The clock is the ``received_at`` of each recorded message: the core runs the
timers due before each message at their own due times, so the decisions and
their times are exactly those a live engine makes when it hears the same
messages at the same times, once it knows it hears the bus (a live engine
declares nobody before its first canary is back; a recording starts when
its recorder heard the bus). No service is contacted.
"""

from freezer_dr import events
from freezer_dr.liveness import actions as act
from freezer_dr.liveness import core as liveness_core

REJECTED = 'rejected'


class Summary:
    """Counts gathered while replaying, for the closing line."""

    def __init__(self):
        self.messages = 0
        self.rejected = 0
        self.by_action = {}
        self.first_time = None
        self.last_time = None
        self.states = {}

    def count(self, decision):
        kind = decision['action']
        self.by_action[kind] = self.by_action.get(kind, 0) + 1


def decisions(lines, settings, summary=None):
    """Yield every decision (a dict with at least ``time``, ``host``,
    ``action``, ``reason``) for the recording in ``lines``.

    :raises events.NotARecording: when the first line is not a recording
        header (nothing is yielded then).
    """
    summary = summary if summary is not None else Summary()
    iterator = iter(lines)
    first = next(iterator, None)
    if first is None:
        raise events.NotARecording('the file is empty')
    events.check_header(first)
    core = liveness_core.LivenessCore(settings)
    parse = events.parse_recording_line
    step = core.step
    malformed = events.MalformedMessage
    count = summary.count
    messages = 0
    first = last = None
    for number, line in enumerate(iterator, start=2):
        if not line or line.isspace():
            continue
        messages += 1
        try:
            event = parse(line)
        except malformed as exc:
            summary.rejected += 1
            decision = {'time': last, 'host': None, 'action': REJECTED,
                        'reason': exc.reason, 'line': number}
            count(decision)
            yield decision
            continue
        now = event.received_at
        if first is None:
            first = summary.first_time = now
        if last is None or now > last:
            last = summary.last_time = now
        decided = step(event, now)
        if decided:
            for action in decided:
                decision = action.as_dict()
                count(decision)
                yield decision
    summary.messages = messages
    summary.states = core.states()


format_json = act.format_json


def format_text(decision, origin):
    """One decision as a line for a person: seconds since the first
    message, host, action, reason."""
    time = decision['time']
    offset = '%10.3f' % (time - origin) if time is not None and \
        origin is not None else '%10s' % '-'
    host = decision['host'] or '-'
    reason = decision['reason']
    if decision['action'] == REJECTED:
        reason = 'line %d: %s' % (decision['line'], reason)
    return '%s  %-20s %-17s %s' % (offset, host, decision['action'], reason)


def format_summary(summary):
    states = {}
    for state in summary.states.values():
        states[state] = states.get(state, 0) + 1
    span = 0.0 if summary.first_time is None else \
        summary.last_time - summary.first_time
    lines = ['%d messages over %.1f s, %d rejected; %d hosts: %s'
             % (summary.messages, span, summary.rejected,
                len(summary.states),
                ', '.join('%d %s' % (n, s) for s, n in sorted(states.items()))
                or 'none')]
    decided = ', '.join('%d %s' % (summary.by_action[k], k)
                        for k in sorted(summary.by_action)
                        if k not in (act.UP,)) or 'none'
    lines.append('decisions: %s' % decided)
    return lines
