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

"""Failure detectors: how long a host may stay silent before it is suspect.

A detector is a policy shared by every host; the per-host memory is a
*history* object the detector creates and updates. Both detectors answer the
same question, :meth:`allowed_silence`: the silence (seconds since the last
heartbeat) after which the host becomes suspect. The core turns that into a
deadline, so a host costs nothing between two heartbeats.

The phi-accrual detector (Hayashibara, Defago, Yared, Katayama, 2004) models
heartbeat intervals as a normal distribution N(mean + acceptable_pause,
std) estimated over the last ``window`` intervals, and computes

    phi(silence) = -log10(P(next interval > silence))

The host is suspect once phi reaches ``threshold``. Because phi only grows
with the silence, "phi >= threshold" is the same as "silence >= mean +
acceptable_pause + z * std" where z is the normal quantile of
1 - 10**-threshold: that is the deadline, computed once per heartbeat.
"""

import array
import math
import statistics


class FixedTimeout:
    """Suspect a host after ``timeout`` seconds without a heartbeat."""

    name = 'timeout'

    def __init__(self, timeout):
        if timeout <= 0:
            raise ValueError('timeout must be positive')
        self.timeout = float(timeout)

    def new_history(self):
        return None

    def observe(self, history, interval):
        """Record one heartbeat interval; return the allowed silence."""
        return self.timeout

    def allowed_silence(self, history):
        return self.timeout

    def describe(self, history, silence):
        return 'no heartbeat for %.3f s (timeout %.3f s)' % (
            silence, self.timeout)


class IntervalHistory:
    """The last ``window`` heartbeat intervals of one host, in a ring of
    doubles, with their running sum and sum of squares."""

    __slots__ = ('samples', 'position', 'total', 'total_sq', 'window')

    def __init__(self, window, seeds):
        self.samples = array.array('d', seeds)
        self.position = 0
        self.total = math.fsum(seeds)
        self.total_sq = math.fsum(x * x for x in seeds)
        self.window = window

    def add(self, interval):
        samples = self.samples
        if len(samples) < self.window:
            samples.append(interval)
            self.total += interval
            self.total_sq += interval * interval
            return
        position = self.position
        old = samples[position]
        samples[position] = interval
        position += 1
        if position == self.window:
            # Once per full turn, recompute the sums exactly so that the
            # rounding of many additions and subtractions never accumulates.
            position = 0
            self.total = math.fsum(samples)
            self.total_sq = math.fsum(x * x for x in samples)
        else:
            self.total += interval - old
            self.total_sq += interval * interval - old * old
        self.position = position

    def mean_and_std(self):
        count = len(self.samples)
        mean = self.total / count
        variance = self.total_sq / count - mean * mean
        return mean, math.sqrt(variance) if variance > 0.0 else 0.0


class PhiAccrual:
    """The phi-accrual failure detector."""

    name = 'phi'

    def __init__(self, threshold, window, min_std_deviation,
                 acceptable_pause, first_interval):
        if threshold <= 0 or window < 2 or min_std_deviation <= 0 \
                or acceptable_pause < 0 or first_interval <= 0:
            raise ValueError('invalid phi-accrual parameters')
        self.threshold = float(threshold)
        self.window = int(window)
        self.min_std_deviation = float(min_std_deviation)
        self.acceptable_pause = float(acceptable_pause)
        # Until real intervals are known, assume the expected interval with
        # a deviation of a quarter of it, as two seed samples.
        spread = first_interval / 4.0
        self._seeds = (first_interval - spread, first_interval + spread)
        # The normal quantile at which P(later) = 10**-threshold.
        self._z = -statistics.NormalDist().inv_cdf(10.0 ** -self.threshold)

    def new_history(self):
        return IntervalHistory(self.window, self._seeds)

    def observe(self, history, interval):
        """Record one heartbeat interval; return the allowed silence."""
        history.add(interval)
        return self.allowed_silence(history)

    def allowed_silence(self, history):
        mean, std = history.mean_and_std()
        if std < self.min_std_deviation:
            std = self.min_std_deviation
        return mean + self.acceptable_pause + self._z * std

    def phi(self, history, silence):
        """phi for ``silence`` seconds since the last heartbeat."""
        mean, std = history.mean_and_std()
        if std < self.min_std_deviation:
            std = self.min_std_deviation
        later = 0.5 * math.erfc((silence - mean - self.acceptable_pause)
                                / (std * math.sqrt(2.0)))
        if later <= 0.0:
            return math.inf
        return -math.log10(later)

    def describe(self, history, silence):
        phi = self.phi(history, silence)
        shown = '>300' if phi > 300 else '%.2f' % phi
        return 'no heartbeat for %.3f s (phi %s >= %.2f)' % (
            silence, shown, self.threshold)


def from_settings(settings):
    """The detector that ``settings`` (a LivenessSettings) asks for."""
    if settings.detector == 'timeout':
        return FixedTimeout(settings.heartbeat_timeout)
    if settings.detector == 'phi':
        return PhiAccrual(settings.phi_threshold, settings.phi_window,
                          settings.phi_min_std_deviation,
                          settings.acceptable_pause,
                          settings.heartbeat_interval)
    raise ValueError('unknown failure detector %r' % settings.detector)
