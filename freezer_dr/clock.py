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

"""The time freezer-dr stamps messages and decides with.

Seconds since the epoch, read once from the wall clock when the process
starts and then advanced by the monotonic clock: a step of the system clock
(NTP, an operator) neither stops the liveness core (a host dying meanwhile
would never be declared) nor rushes it (every host overdue at once). Worker
processes are handed their parent's offset, so one engine has one clock.
"""

import time

_offset = time.time() - time.monotonic()


def now():
    return _offset + time.monotonic()


def offset():
    return _offset


def set_offset(value):
    """Adopt another process's clock (a worker adopts its engine's)."""
    global _offset
    _offset = value
