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

"""The values the liveness core decides with, as one frozen object.

The core never reads configuration itself: the caller builds these settings
(from oslo.config with :meth:`LivenessSettings.from_conf`, or directly in
tests and replays) and hands them over.
"""

import dataclasses

from freezer_dr.liveness import detectors

CORROBORATION_SOURCES = ('grace', 'nova')


@dataclasses.dataclass(frozen=True)
class LivenessSettings:
    detector: str = 'phi'
    heartbeat_interval: float = 1.0
    heartbeat_timeout: float = 3.0
    phi_threshold: float = 8.0
    phi_window: int = 100
    phi_min_std_deviation: float = 0.1
    acceptable_pause: float = 1.0
    corroboration: tuple = ('grace',)
    corroboration_grace: float = 1.0
    bus_recovery_grace: float = 10.0
    max_failed_hosts: int = 5
    max_failed_percent: float = 25.0
    storm_window: float = 300.0
    min_heard_fraction: float = 0.0
    startup_grace: float = 60.0
    max_hosts: int = 100000

    def __post_init__(self):
        if self.detector not in ('phi', 'timeout'):
            raise ValueError('detector must be "phi" or "timeout", not %r'
                             % self.detector)
        unknown = set(self.corroboration) - set(CORROBORATION_SOURCES)
        if unknown or not self.corroboration:
            raise ValueError('corroboration must list some of %s, got %r'
                             % (', '.join(CORROBORATION_SOURCES),
                                list(self.corroboration)))
        object.__setattr__(self, 'corroboration',
                           tuple(sorted(set(self.corroboration))))
        for name in ('heartbeat_interval', 'heartbeat_timeout',
                     'phi_threshold', 'phi_min_std_deviation',
                     'storm_window', 'startup_grace'):
            if not getattr(self, name) > 0:
                raise ValueError('%s must be positive' % name)
        for name in ('acceptable_pause', 'corroboration_grace',
                     'bus_recovery_grace', 'max_failed_hosts',
                     'max_failed_percent'):
            if getattr(self, name) < 0:
                raise ValueError('%s must not be negative' % name)
        if not 0.0 <= self.min_heard_fraction <= 1.0:
            raise ValueError('min_heard_fraction must be between 0 and 1')
        if self.max_hosts < 1:
            raise ValueError('max_hosts must be at least 1')
        if self.phi_window < 2:
            raise ValueError('phi_window must be at least 2')

    @classmethod
    def from_conf(cls, conf):
        """Read the [liveness] and [storm_guard] groups of an oslo.config
        ConfigOpts (freezer_dr.conf must have registered them)."""
        live, storm = conf.liveness, conf.storm_guard
        return cls(
            detector=live.detector,
            heartbeat_interval=live.heartbeat_interval,
            heartbeat_timeout=live.heartbeat_timeout,
            phi_threshold=live.phi_threshold,
            phi_window=live.phi_window,
            phi_min_std_deviation=live.phi_min_std_deviation,
            acceptable_pause=live.acceptable_pause,
            corroboration=tuple(live.corroboration),
            corroboration_grace=live.corroboration_grace,
            startup_grace=live.startup_grace,
            max_hosts=live.max_hosts,
            bus_recovery_grace=live.bus_recovery_grace,
            max_failed_hosts=storm.max_failed_hosts,
            max_failed_percent=storm.max_failed_percent,
            storm_window=storm.storm_window,
            min_heard_fraction=conf.recovery.min_heard_fraction)

    def detection_window(self):
        """Seconds from a host's last heartbeat to it being declared dead by
        the "grace" evidence, for steady heartbeats at heartbeat_interval
        (the phi detector having filled its window)."""
        if self.detector == 'timeout':
            silence = self.heartbeat_timeout
        else:
            phi = detectors.from_settings(self)
            history = detectors.IntervalHistory(
                self.phi_window, [self.heartbeat_interval] * self.phi_window)
            silence = phi.allowed_silence(history)
        return silence + self.corroboration_grace
