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

"""What the liveness core decides: frozen values the engine carries out."""

import dataclasses
import json
import typing

UP = 'up'
SUSPECT = 'suspect'
ALIVE = 'alive'
DECLARE_DEAD = 'declare_dead'
HELD = 'held'
ALERT_STORM = 'alert_storm'
STORM_CLEARED = 'storm_cleared'
MAINTENANCE_ON = 'maintenance_on'
MAINTENANCE_OFF = 'maintenance_off'
REFUSED = 'refused'
NOVA_DISAGREES = 'nova_disagrees'
REBOOTED = 'rebooted'
IGNORED_HEARTBEAT = 'ignored_heartbeat'
UNTRACKED = 'untracked'
UNHEARD = 'unheard'
#: A nova event from the bus says something that would change a host's
#: state: the engine asks nova's API (the inventory) before it counts.
ASK_NOVA = 'ask_nova'
BUS_DOWN = 'bus_down'
BUS_UP = 'bus_up'
#: The engine itself could not run for a while (its process starved of
#: CPU, measured by the engine): that time counts as no host's silence.
STARVED = 'starved'
STATE = 'state'
IGNORED_PROGRESS = 'ignored_progress'

REQUIRES_ACTION = frozenset((DECLARE_DEAD, ALERT_STORM))
"""Actions the engine must carry out (recover a host, alert the admins);
every other action is a decision to log and journal."""


@dataclasses.dataclass(frozen=True, slots=True)
class Action:
    """One decision: at ``time``, about ``host`` (None for the whole cloud),
    ``kind`` (one of the constants above), because of ``reason``; ``details``
    holds sorted (name, value) pairs of plain JSON values."""

    time: float
    kind: str
    host: typing.Optional[str]
    reason: str
    details: tuple = ()

    def as_dict(self):
        result = dict(self.details)
        result.update(time=self.time, action=self.kind, host=self.host,
                      reason=self.reason)
        return result


def format_json(decision):
    """One decision (:meth:`Action.as_dict`, or a replay's rejection) as one
    line of JSON, byte-identical for equal input: the line format of the
    engine's decisions file and of ``freezer-dr-replay --json``."""
    return json.dumps(decision, sort_keys=True, separators=(',', ':'))
