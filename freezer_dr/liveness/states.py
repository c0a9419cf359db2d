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

"""Host states, and nothing else (see transitions.py for how they change)."""

UNKNOWN = 'unknown'
"""Known by name (nova service, maintenance ended, re-armed) but no heartbeat
heard yet: never declared dead from this state."""

UP = 'up'
"""Heartbeats arrive in time."""

SUSPECT = 'suspect'
"""The failure detector's deadline passed without a heartbeat; waiting for
corroborating evidence (or held by the storm guard)."""

DEAD = 'dead'
"""Declared dead: the engine starts a recovery."""

FENCING = 'fencing'
"""The fencer is powering the host off."""

FENCED = 'fenced'
"""Power-off confirmed: evacuating its instances is now safe."""

EVACUATING = 'evacuating'
"""Its instances are being rebuilt on other hosts."""

RECOVERED = 'recovered'
"""Every instance was handled; the host stays out of service until an
operator re-arms it."""

RECOVERY_FAILED = 'recovery_failed'
"""A step failed or could not be confirmed: an operator must act."""

MAINTENANCE = 'maintenance'
"""Put aside by an operator or a planned shutdown: never recovered
automatically."""

ALL = (UNKNOWN, UP, SUSPECT, DEAD, FENCING, FENCED, EVACUATING, RECOVERED,
       RECOVERY_FAILED, MAINTENANCE)

WATCHED = frozenset((UP, SUSPECT))
"""States in which the failure detector runs."""

IN_RECOVERY = frozenset((DEAD, FENCING, FENCED, EVACUATING))
"""A recovery is under way: nothing may interrupt it."""

OUT_OF_SERVICE = frozenset((DEAD, FENCING, FENCED, EVACUATING, RECOVERED,
                            RECOVERY_FAILED))
"""Heartbeats from a host in these states do not bring it back; an operator
re-arms it."""
