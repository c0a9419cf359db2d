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

"""The ``nova`` evacuator: a fenced (and isolated) host's instances are
rebuilt elsewhere through nova's evacuate API, then verified.

* **Evacuate** (``evacuate(host)``): the host's instances (exact host
  match) that the ``[evacuation]`` policy selects (:mod:`.policy`),
  highest priority first, ``concurrency`` at a time, each retried up to
  ``attempts`` times, to nova's choice of host or to the reserved hosts
  (enabled first).
* **Verify** (:mod:`.watcher`): each instance must come back in the state
  it had (ACTIVE, or SHUTOFF for a stopped one) on another host within
  ``verify_timeout``; the result says where, or why not.

**Prepare** (``prepare(host)``, while the host is fenced and isolated):
the listing and the selection are read ahead, so that ``evacuate`` sends
its first request at once; once those are done it lists the host again,
and evacuates too what came to the host meanwhile (nova could still
schedule there until the isolation).

Calling ``evacuate`` again for the same host repeats nothing: an instance
already on another host, or whose evacuation from this host nova already
accepted (a migration record says so), is only verified.

Isolation (force-down, disable) is the isolator's: :mod:`.isolation`.
"""

import concurrent.futures
import logging
import threading
import time
import typing

from novaclient import exceptions as nova_exceptions

from freezer_dr.drivers import base
from freezer_dr.drivers.nova import client
from freezer_dr.drivers.nova import policy as policy_module
from freezer_dr.drivers.nova import watcher as watcher_module

LOG = logging.getLogger(__name__)

#: nova's states an instance comes back in, by the state it had.
EXPECTED = {'ACTIVE': 'ACTIVE', 'SHUTOFF': 'SHUTOFF', 'ERROR': 'ACTIVE'}
#: Migration states that mean an evacuation is under way or done.
MIGRATION_LIVE = ('accepted', 'pre-migrating', 'migrating', 'done',
                  'completed', 'running')
#: Seconds a prepared plan is used for; older, the host is listed again.
PLAN_MAX_AGE = 120.0
#: Seconds evacuate() waits for a preparation still under way.
PLAN_WAIT = 60.0


class Plan(typing.NamedTuple):
    """What one listing of a host said: its instances (with those whose
    evacuation nova already accepted), which to evacuate and which not."""
    servers: list
    under_way: set
    selected: list
    left: list      # [(server, why)]
    at: float       # the evacuator's clock

    def ids(self):
        return {s.id for s in self.servers}


class _Preparation:
    """One prepare() under way or done: its plan once ``ready`` is set."""

    def __init__(self):
        self.ready = threading.Event()
        self.plan = None


class NovaEvacuator(base.Evacuator):
    """Built as ``NovaEvacuator(conf=CONF)`` (``[nova]``, ``[evacuation]``),
    or with a keystoneauth1 ``session`` and a ``policy``."""

    def __init__(self, conf=None, session=None, policy=None,
                 clock=time.monotonic, sleep=time.sleep, poll_interval=0.5,
                 fallback_poll_interval=5.0, **access):
        self._access = client.NovaAccess(conf, session, **access)
        if conf is not None:
            poll_interval = conf.evacuation.poll_interval
            fallback_poll_interval = conf.evacuation.fallback_poll_interval
        if policy is None and conf is not None:
            policy = policy_module.Policy.from_conf(conf.evacuation)
        self.policy = policy or policy_module.Policy()
        self.nova = self._access.nova
        self._selector = policy_module.Selector(
            self.policy, self.nova, self._access.session,
            interface=self._access.interface,
            region_name=self._access.region_name)
        self._clock = clock
        self._sleep = sleep
        self._poll = poll_interval
        self._fallback_poll = fallback_poll_interval
        self._lock = threading.Lock()
        self._watchers = set()
        self._next_reserved = 0
        self._plans = {}         # host: Plan, or a threading.Event

    def validate(self):
        return self._access.check()

    def instances(self, host):
        """Every instance nova places on ``host``: exact host match."""
        servers = self.nova.servers.list(
            search_opts={'all_tenants': True, 'host': host})
        return [s for s in servers if watcher_module.host_of(s) == host]

    def affected(self, host):
        return [base.InstanceResult(
            s.id, False, 'still on %s' % host, name=s.name,
            project_id=s.tenant_id, status=s.status)
            for s in self.instances(host)]

    def select(self, host, servers):
        """``(selected, left)``: see :meth:`.policy.Selector.select`."""
        return self._selector.select(host, servers)

    def prepare(self, host):
        # (Registered before this returns, so that evacuate() always finds
        # it; the reads run in a thread of their own.)
        preparation = _Preparation()
        with self._lock:
            self._plans[host] = preparation
        thread = threading.Thread(target=self._prepare, name='prepare-%s'
                                  % host[:40], args=(host, preparation),
                                  daemon=True)
        thread.start()

    def _prepare(self, host, preparation):
        began = self._clock()
        try:
            preparation.plan = self._plan(host)
        except Exception as exc:
            # evacuate() lists the host itself.
            LOG.warning('Could not prepare the evacuation of %s (it will '
                        'list the host when it starts): %s: %s', host,
                        type(exc).__name__, exc)
        finally:
            preparation.ready.set()
        if preparation.plan is not None:
            LOG.info('Evacuation of %s prepared in %.2f s: %d of its %d '
                     'instances selected', host, self._clock() - began,
                     len(preparation.plan.selected),
                     len(preparation.plan.servers))

    def _prepared(self, host):
        """The plan ``prepare`` made for ``host`` (waiting for one under
        way), once, or None."""
        with self._lock:
            preparation = self._plans.pop(host, None)
        if preparation is None or not preparation.ready.wait(PLAN_WAIT):
            return None
        plan = preparation.plan
        if plan is None or self._clock() - plan.at > PLAN_MAX_AGE:
            return None
        return plan

    def _plan(self, host):
        servers = self.instances(host)
        under_way = self._under_way(host)
        # Instances whose evacuation nova accepted earlier (a restarted
        # engine) are no longer listed on the host: verify them too.
        listed = {s.id for s in servers}
        for server_id in sorted(under_way - listed):
            try:
                servers.append(self.nova.servers.get(server_id))
            except nova_exceptions.NotFound:
                continue
        selected, left = self.select(host, servers)
        return Plan(servers, under_way, selected, left, self._clock())

    def evacuate(self, host, guard=None):
        began = self._clock()
        guard = guard or _unguarded
        plan = self._prepared(host)
        prepared = plan is not None
        if prepared:
            # (Read again: a plan left by a recovery this engine stopped
            # leading, then led again, must not evacuate twice.)
            plan = plan._replace(under_way=self._under_way(host))
        else:
            plan = self._plan(host)
        if self.policy.reserved_hosts:
            self._enable_reserved(host, guard)
        LOG.info('Evacuating %d of the %d instances of %s (%s at a time%s)',
                 len(plan.selected), len(plan.servers), host,
                 self.policy.concurrency,
                 ', prepared %.1f s ago' % (began - plan.at)
                 if prepared else '')
        watcher = watcher_module.StatusWatcher(
            self.nova, self._poll, self._fallback_poll,
            ids={s.id for s in plan.selected}, clock=self._clock)
        with self._lock:
            self._watchers.add(watcher)
        left = list(plan.left)
        selected = list(plan.selected)
        try:
            with concurrent.futures.ThreadPoolExecutor(
                    self.policy.concurrency) as pool:
                futures = [pool.submit(self._one, host, s,
                                       s.id in plan.under_way, watcher,
                                       guard) for s in plan.selected]
                results = [f.result() for f in futures]
                if prepared:
                    # Listed again once the planned ones are done (not
                    # beside them: a listing costs nova-api about a second
                    # of CPU while it rebuilds them): what came to the host
                    # after the preparation is evacuated too.
                    extra, extra_left = self._since(host, plan)
                    watcher.watch(s.id for s in extra)
                    selected.extend(extra)
                    left.extend(extra_left)
                    results.extend(pool.map(
                        lambda s: self._one(host, s, False, watcher, guard),
                        extra))
        finally:
            with self._lock:
                self._watchers.discard(watcher)
            watcher.stop()
        results.extend(self._result(server, True, 'not evacuated: %s' % why)
                       for server, why in left)
        LOG.info('Evacuated %d of %d instances of %s in %.1f s (%d '
                 'instances read on nova\'s notifications, %d polls)',
                 sum(1 for r in results if r.ok and r.target_host),
                 len(selected), host, self._clock() - began, watcher.reads,
                 watcher.polls)
        return results

    def _since(self, host, plan):
        """``(selected, left)`` of the instances on ``host`` now that the
        prepared ``plan`` did not know."""
        known = plan.ids() | plan.under_way
        try:
            new = [s for s in self.instances(host) if s.id not in known]
        except Exception as exc:
            LOG.error('%s could not be listed again after its evacuation '
                      'was prepared (%s: %s): an instance that came to it '
                      'since is not evacuated; compare nova\'s listing of '
                      'the host with the recovery\'s', host,
                      type(exc).__name__, exc)
            return [], []
        if not new:
            return [], []
        LOG.warning('%d instances came to %s after its evacuation was '
                    'prepared: %s', len(new), host,
                    ', '.join(s.id for s in new))
        return self.select(host, new)

    def observe(self, instance_id):
        with self._lock:
            watchers = list(self._watchers)
        for watcher in watchers:
            watcher.poke(instance_id)

    def _under_way(self, host):
        """Ids of the instances whose evacuation from ``host`` nova has
        accepted (or done): one query for the whole host."""
        return {m.instance_uuid for m in self.nova.migrations.list(host=host)
                if getattr(m, 'migration_type', '') == 'evacuation'
                and m.source_compute == host
                and m.status in MIGRATION_LIVE}

    def _enable_reserved(self, dead_host, guard):
        for service in self.nova.services.list(binary='nova-compute'):
            if (service.host in self.policy.reserved_hosts and
                    service.host != dead_host and
                    service.status == 'disabled' and
                    service.state == 'up' and not service.forced_down):
                LOG.info('Enabling reserved host %s', service.host)
                guard()
                self.nova.services.enable(service.id)

    def _reserved_target(self, dead_host):
        hosts = [h for h in self.policy.reserved_hosts if h != dead_host]
        if not hosts:
            return None
        with self._lock:
            target = hosts[self._next_reserved % len(hosts)]
            self._next_reserved += 1
        return target

    def _deleted(self, server_id):
        try:
            self.nova.servers.get(server_id)
        except nova_exceptions.NotFound:
            return True
        return False

    def _result(self, server, ok, detail, target=''):
        return base.InstanceResult(server.id, ok, detail, name=server.name,
                                   project_id=server.tenant_id,
                                   target_host=target, status=server.status)

    def _one(self, host, server, under_way, watcher, guard):
        """Evacuate one instance (unless nova already has it under way)
        and verify it; raises only what ``guard`` raised."""
        try:
            return self._evacuate_and_verify(host, server, under_way,
                                             watcher, guard)
        except base.StopActing:
            LOG.error('Evacuation of %s from %s stopped: this engine may '
                      'no longer act', server.id, host)
            raise
        except Exception as exc:
            LOG.exception('Evacuation of %s from %s failed', server.id, host)
            return self._result(server, False, '%s: %s' % (
                type(exc).__name__, exc))

    def _evacuate_and_verify(self, host, server, under_way, watcher,
                             guard):
        policy = self.policy
        if under_way or watcher_module.host_of(server) != host:
            expected = 'ACTIVE' if server.status != 'SHUTOFF' else 'SHUTOFF'
        else:
            expected = EXPECTED.get(server.status)
        if expected is None:
            return self._result(server, False, 'nova cannot evacuate an '
                                'instance in state %s' % server.status)
        began = self._clock()
        delay = policy.retry_delay
        reset = False
        detail = 'not tried'
        for attempt in range(1, policy.attempts + 1):
            if not under_way:
                target = (self._reserved_target(host)
                          if policy.reserved_hosts else None)
                guard()
                try:
                    self.nova.servers.evacuate(server.id, host=target)
                except nova_exceptions.NotFound as exc:
                    if not self._deleted(server.id):
                        # (nova says 404 for a target host it does not
                        # know, too.)
                        return self._result(server, False, 'nova refused: '
                                            '%s' % exc)
                    LOG.info('Instance %s of %s was deleted before its '
                             'evacuation', server.id, host)
                    return self._result(server, True, 'deleted before its '
                                        'evacuation: nothing to evacuate')
                except nova_exceptions.Conflict as exc:
                    if policy.reset_state and not reset and \
                            watcher_module.task_of(
                                self.nova.servers.get(server.id)):
                        LOG.warning('Instance %s has a task in progress: '
                                    'resetting it to error to evacuate it',
                                    server.id)
                        guard()
                        self.nova.servers.reset_state(server.id, 'error')
                        reset = True
                        continue
                    return self._result(server, False, 'nova refused: %s'
                                        % exc)
                except nova_exceptions.ClientException as exc:
                    detail = 'evacuate request failed: %s' % exc
                    LOG.warning('Instance %s (attempt %d of %d): %s',
                                server.id, attempt, policy.attempts, detail)
                    self._sleep(delay)
                    delay *= 2
                    continue
            under_way = False
            seen = watcher.wait(server.id, host, expected,
                                self._clock() + policy.verify_timeout,
                                self._clock)
            detail = seen.detail
            if seen.ok:
                LOG.info('Instance %s evacuated from %s to %s in %.1f s',
                         server.id, host, seen.target,
                         self._clock() - began)
                return self._result(server, True, detail, seen.target)
            if seen.timed_out:
                break
            LOG.warning('Instance %s (attempt %d of %d): %s', server.id,
                        attempt, policy.attempts, detail)
            self._sleep(delay)
            delay *= 2
        return self._result(server, False, detail)


def _unguarded():
    """The guard of a call without one: nothing stops it."""
