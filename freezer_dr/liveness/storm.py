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

"""The storm guard (safety rule 2 of DESIGN.md), pure: what it counts and
when it holds declarations back. The liveness core asks it and turns its
answers into decisions; it keeps no clock of its own (times are
arguments)."""

import collections


def is_storm(failed, tracked, max_failed_hosts, max_failed_percent):
    """Whether ``failed`` hosts out of ``tracked`` make a storm.

    More than ``max_failed_hosts`` failed hosts is a storm; so is more than
    ``max_failed_percent`` of the tracked hosts, except that one failed host
    alone never is. A limit of 0 is disabled.
    """
    if max_failed_hosts and failed > max_failed_hosts:
        return True
    if max_failed_percent and failed > 1 and tracked > 0:
        return failed * 100.0 > max_failed_percent * tracked
    return False


def is_cut_off(heard, suspects, min_heard_fraction):
    """Whether an engine that hears ``heard`` hosts while ``suspects``
    others are silent is more likely cut off than they are dead: it hears
    fewer than ``min_heard_fraction`` of them. As for the percentage, one
    silent host alone never is (a one-host cloud is recovered); 0 is
    disabled."""
    if not min_heard_fraction or suspects < 2:
        return False
    return heard < min_heard_fraction * (heard + suspects)


class StormGuard:
    """Hosts failed within ``window`` seconds: the suspects (counted by the
    caller) plus those declared dead in the window; when they make a storm,
    declarations are held until it is over.

    :ivar active: a storm is on (declared once, until it clears).
    :ivar held: names of the suspects held back by the storm.
    """

    def __init__(self, window, max_failed_hosts, max_failed_percent):
        self.window = window
        self.max_failed_hosts = max_failed_hosts
        self.max_failed_percent = max_failed_percent
        self.active = False
        self.held = set()
        # host -> when it was last declared dead (oldest first).
        self._recent = collections.OrderedDict()

    def failed(self, suspects, is_suspect=None):
        """Failed hosts: ``suspects`` now, and the recently declared, each
        host once: one declared and suspect again (re-armed and dead
        again, within the window) is one failed host, not two.

        :param is_suspect: callable(host) telling a suspect (None: the
            declared are counted apart)."""
        if is_suspect is None:
            return suspects + len(self._recent)
        return suspects + sum(1 for host in self._recent
                              if not is_suspect(host))

    def is_storm(self, suspects, tracked, is_suspect=None):
        return is_storm(self.failed(suspects, is_suspect), tracked,
                        self.max_failed_hosts, self.max_failed_percent)

    def begin(self):
        """A storm starts: True only the first time (alert once)."""
        if self.active:
            return False
        self.active = True
        return True

    def hold(self, host):
        """Hold ``host`` back: True if it was not held yet."""
        if host in self.held:
            return False
        self.held.add(host)
        return True

    def release(self, host):
        """``host`` is no longer a held suspect (alive, in maintenance,
        forgotten)."""
        self.held.discard(host)

    def declared(self, now, host=None):
        """``host`` was declared dead at ``now``; return when it stops
        counting (the caller calls :meth:`expire` then). A host declared
        again counts once, from its latest declaration."""
        key = host if host is not None else object()
        self._recent.pop(key, None)
        self._recent[key] = now
        return now + self.window

    def expire(self, now):
        """Forget the declarations older than the window."""
        recent = self._recent
        while recent:
            host, at = next(iter(recent.items()))
            if at + self.window > now:
                break
            del recent[host]

    def end(self, suspects, tracked, cut_off=False, is_suspect=None):
        """End the storm if it is over: the names it held, sorted (each to
        be given one more detection window), or None while it goes on (or
        when there is none). ``cut_off``: the engine hears too few hosts
        (see :func:`is_cut_off`), which holds the storm too."""
        if not self.active or cut_off or self.is_storm(suspects, tracked,
                                                       is_suspect):
            return None
        self.active = False
        held = sorted(self.held)
        self.held.clear()
        return held
