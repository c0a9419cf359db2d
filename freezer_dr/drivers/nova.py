"""The ``nova`` evacuator: isolate a dead host in nova and evacuate its
instances through nova's evacuate API, then verify each one.

* **Isolate** (``isolate(host)``): the host's nova-compute service is
  forced down and disabled with a reason that says freezer-dr did it and
  when (``PUT /os-services/{id}``, microversion 2.53 and later).
* **Evacuate** (``evacuate(host)``): the host's instances (exact host
  match) that the ``[evacuation]`` policy selects, highest priority first,
  ``concurrency`` at a time, each retried up to ``attempts`` times, to
  nova's choice of host or to the reserved hosts (enabled first).
* **Verify**: each instance must come back in the state it had (ACTIVE,
  or SHUTOFF for a stopped one) on another host within
  ``verify_timeout``; the result says where, or why not.

Calling ``evacuate`` again for the same host repeats nothing: an instance
already on another host, or whose evacuation from this host nova already
accepted (a migration record says so), is only verified.

One keystoneauth1 session is kept for the driver's life: its token is
reused until it expires, not fetched per call.
"""

import concurrent.futures
import datetime
import logging
import threading
import time
import typing

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import loading as ks_loading
from novaclient import client as nova_client
from novaclient import exceptions as nova_exceptions

from freezer_dr.drivers import base

LOG = logging.getLogger(__name__)

TRUE = ('1', 'true', 'yes', 'on')
#: nova's states an instance comes back in, by the state it had.
EXPECTED = {'ACTIVE': 'ACTIVE', 'SHUTOFF': 'SHUTOFF', 'ERROR': 'ACTIVE'}
#: Migration states that mean an evacuation is under way or done.
MIGRATION_LIVE = ('accepted', 'pre-migrating', 'migrating', 'done',
                  'completed', 'running')


class Policy(typing.NamedTuple):
    """The ``[evacuation]`` options (see freezer_dr/conf/nova.py)."""

    select: str = 'all'
    opt_in_key: str = 'HA_Enabled'
    opt_in_aggregates: tuple = ()
    exclude_projects: tuple = ()
    exclude_tags: tuple = ()
    priority_key: str = 'evacuation_priority'
    reserved_hosts: tuple = ()
    concurrency: int = 10
    attempts: int = 3
    retry_delay: float = 2.0
    verify_timeout: float = 300.0
    reset_state: bool = False

    @classmethod
    def from_conf(cls, group):
        return cls(**{name: tuple(getattr(group, name))
                      if isinstance(cls._field_defaults[name], tuple)
                      else getattr(group, name) for name in cls._fields})


def _true(value):
    return str(value).strip().lower() in TRUE


def _host_of(server):
    return getattr(server, 'OS-EXT-SRV-ATTR:host', None)


def _task_of(server):
    return getattr(server, 'OS-EXT-STS:task_state', None)


class NovaEvacuator(base.Evacuator):
    """Evacuates through nova; also the isolate step (``isolate``)."""

    def __init__(self, conf=None, session=None, policy=None,
                 api_version=None, region_name=None, interface='public',
                 endpoint_override=None, clock=time.monotonic,
                 sleep=time.sleep, poll_interval=0.5):
        if conf is not None:
            group = conf.nova
            if session is None:
                auth = ks_loading.load_auth_from_conf_options(conf, 'nova')
                if auth is None:
                    raise ValueError('[nova] auth_type is not set: '
                                     'freezer-dr cannot authenticate to '
                                     'nova')
                session = ks_loading.load_session_from_conf_options(
                    conf, 'nova', auth=auth)
            api_version = api_version or group.api_version
            region_name = region_name or group.region_name
            interface = group.interface
            endpoint_override = endpoint_override or group.endpoint_override
            if policy is None:
                policy = Policy.from_conf(conf.evacuation)
        if session is None:
            raise ValueError('the nova evacuator needs a keystoneauth1 '
                             'session (or conf)')
        self.policy = policy or Policy()
        self._session = session
        self.nova = nova_client.Client(
            api_version or '2.53', session=session, region_name=region_name,
            endpoint_type=interface, endpoint_override=endpoint_override)
        self._images = ks_adapter.Adapter(session, service_type='image',
                                          interface=interface,
                                          region_name=region_name)
        self._clock = clock
        self._sleep = sleep
        self._poll = poll_interval
        self._lock = threading.Lock()
        self._next_reserved = 0

    # -- isolate --------------------------------------------------------

    def isolate(self, host):
        """Force ``host``'s nova-compute down and disable it; return
        ``(status, detail)`` with status ``done`` or ``failed``. Raises on
        errors worth retrying (nova or keystone unreachable, 5xx)."""
        services = [s for s in self.nova.services.list(
            host=host, binary='nova-compute') if s.host == host]
        if not services:
            return ('failed', 'nova has no nova-compute service on host %s'
                    % host)
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime(
            '%Y-%m-%dT%H:%M:%SZ')
        reason = ('freezer-dr: declared dead and fenced at %s; re-arm with '
                  '"freezer-dr-manage host rearm %s"' % (stamp, host))
        for service in services:
            if not service.forced_down:
                self.nova.services.force_down(service.id, True)
            if service.status != 'disabled' or not str(
                    service.disabled_reason or '').startswith('freezer-dr'):
                self.nova.services.disable_log_reason(service.id, reason)
            else:
                reason = service.disabled_reason
        return ('done', 'nova-compute on %s forced down and disabled (%s)'
                % (host, reason))

    def rearm(self, host):
        """Put ``host``'s nova-compute back in service after a recovery:
        clear the force-down and enable it (only if freezer-dr disabled
        it). Return ``(status, detail)``. nova refuses (raises) while the
        host's evacuations are not ``completed``, which its nova-compute
        does when it starts again."""
        services = [s for s in self.nova.services.list(
            host=host, binary='nova-compute') if s.host == host]
        if not services:
            return ('failed', 'nova has no nova-compute service on host %s'
                    % host)
        for service in services:
            if service.forced_down:
                self.nova.services.force_down(service.id, False)
            if service.status == 'disabled' and str(
                    service.disabled_reason or '').startswith('freezer-dr'):
                self.nova.services.enable(service.id)
        return ('done', 'nova-compute on %s no longer forced down, enabled'
                % host)

    # -- evacuate -------------------------------------------------------

    def instances(self, host):
        """Every instance nova places on ``host``: exact host match."""
        servers = self.nova.servers.list(
            search_opts={'all_tenants': True, 'host': host})
        return [s for s in servers if _host_of(s) == host]

    def select(self, host, servers):
        """``(selected, left)``: the instances to evacuate, in priority
        order, and ``[(server, why not)]`` for the others."""
        policy = self.policy
        protected_host = True
        if policy.select == 'aggregate':
            protected_host = any(
                aggregate.name in policy.opt_in_aggregates and
                host in aggregate.hosts
                for aggregate in self.nova.aggregates.list())
        selected, left = [], []
        for server in servers:
            why = self._why_not(server, protected_host)
            if why:
                left.append((server, why))
            else:
                selected.append(server)

        def priority(server):
            try:
                value = int((server.metadata or {}).get(
                    policy.priority_key, 0))
            except (TypeError, ValueError):
                value = 0
            return (-value, getattr(server, 'created', ''), server.id)
        selected.sort(key=priority)
        return selected, left

    def _why_not(self, server, protected_host):
        policy = self.policy
        if server.tenant_id in policy.exclude_projects:
            return 'its project %s is excluded' % server.tenant_id
        tags = set(getattr(server, 'tags', None) or ())
        if tags & set(policy.exclude_tags):
            return 'tagged %s' % ', '.join(sorted(tags & set(
                policy.exclude_tags)))
        key = policy.opt_in_key
        if policy.select == 'metadata':
            if not _true((server.metadata or {}).get(key, '')):
                return 'no metadata %s=true (opt-in)' % key
        elif policy.select == 'flavor':
            specs = (server.flavor or {}).get('extra_specs') or {}
            if not _true(specs.get(key, '')):
                return 'its flavor has no extra spec %s=true (opt-in)' % key
        elif policy.select == 'image':
            if not _true(self._image_property(server, key)):
                return 'its image has no property %s=true (opt-in)' % key
        elif policy.select == 'aggregate' and not protected_host:
            return 'the host is in none of the aggregates %s (opt-in)' % (
                ', '.join(policy.opt_in_aggregates))
        return ''

    def _image_property(self, server, key):
        image = server.image if isinstance(server.image, dict) else {}
        if not image.get('id'):
            return ''       # booted from volume
        response = self._images.get('/v2/images/%s' % image['id'],
                                    raise_exc=False)
        if response.status_code != 200:
            return ''
        return response.json().get(key, '')

    def evacuate(self, host):
        began = self._clock()
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
        if self.policy.reserved_hosts:
            self._enable_reserved(host)
        LOG.info('Evacuating %d of the %d instances of %s (%s at a time)',
                 len(selected), len(servers), host, self.policy.concurrency)
        watcher = _Watcher(self.nova, self._poll)
        try:
            with concurrent.futures.ThreadPoolExecutor(
                    self.policy.concurrency) as pool:
                results = list(pool.map(
                    lambda s: self._one(host, s, s.id in under_way,
                                        watcher), selected))
        finally:
            watcher.stop()
        results.extend(self._result(server, True, 'not evacuated: %s' % why)
                       for server, why in left)
        LOG.info('Evacuated %d of %d instances of %s in %.1f s',
                 sum(1 for r in results if r.ok and r.target_host),
                 len(selected), host, self._clock() - began)
        return results

    def _under_way(self, host):
        """Ids of the instances whose evacuation from ``host`` nova has
        accepted (or done): one query for the whole host."""
        return {m.instance_uuid for m in self.nova.migrations.list(host=host)
                if getattr(m, 'migration_type', '') == 'evacuation'
                and m.source_compute == host
                and m.status in MIGRATION_LIVE}

    def _enable_reserved(self, dead_host):
        for service in self.nova.services.list(binary='nova-compute'):
            if (service.host in self.policy.reserved_hosts and
                    service.host != dead_host and
                    service.status == 'disabled' and
                    service.state == 'up' and not service.forced_down):
                LOG.info('Enabling reserved host %s', service.host)
                self.nova.services.enable(service.id)

    def _reserved_target(self, dead_host):
        hosts = [h for h in self.policy.reserved_hosts if h != dead_host]
        if not hosts:
            return None
        with self._lock:
            target = hosts[self._next_reserved % len(hosts)]
            self._next_reserved += 1
        return target

    def _result(self, server, ok, detail, target=''):
        return base.InstanceResult(server.id, ok, detail, name=server.name,
                                   project_id=server.tenant_id,
                                   target_host=target, status=server.status)

    def _one(self, host, server, under_way, watcher):
        """Evacuate one instance (unless nova already has it under way)
        and verify it; never raises."""
        try:
            return self._evacuate_and_verify(host, server, under_way,
                                             watcher)
        except Exception as exc:
            LOG.exception('Evacuation of %s from %s failed', server.id, host)
            return self._result(server, False, '%s: %s' % (
                type(exc).__name__, exc))

    def _evacuate_and_verify(self, host, server, under_way, watcher):
        policy = self.policy
        if under_way or _host_of(server) != host:
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
                try:
                    self.nova.servers.evacuate(server.id, host=target)
                except nova_exceptions.Conflict as exc:
                    if policy.reset_state and not reset and _task_of(
                            self.nova.servers.get(server.id)):
                        LOG.warning('Instance %s has a task in progress: '
                                    'resetting it to error to evacuate it',
                                    server.id)
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
            ok, detail, target = watcher.wait(
                server.id, host, expected,
                self._clock() + policy.verify_timeout, self._clock)
            if ok:
                LOG.info('Instance %s evacuated from %s to %s in %.1f s',
                         server.id, host, target, self._clock() - began)
                return self._result(server, True, detail, target)
            if detail.startswith('timed out'):
                break
            LOG.warning('Instance %s (attempt %d of %d): %s', server.id,
                        attempt, policy.attempts, detail)
            self._sleep(delay)
            delay *= 2
        return self._result(server, False, detail)


class _Watcher:
    """One poller for every instance being verified: a single
    ``GET /servers/detail?changes-since=...`` per interval instead of one
    request per instance."""

    def __init__(self, nova, interval):
        self._nova = nova
        self._interval = interval
        self._since = (datetime.datetime.now(datetime.timezone.utc)
                       - datetime.timedelta(minutes=5)).strftime(
                           '%Y-%m-%dT%H:%M:%SZ')
        self._seen = {}
        self._started = 0       # polls started
        self._generation = 0    # polls finished (in the same order)
        self._error = None
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = None

    def _run(self):
        while True:
            with self._cond:
                if self._stopped:
                    return
                self._started += 1
            try:
                servers = self._nova.servers.list(search_opts={
                    'all_tenants': True, 'changes-since': self._since})
                error = None
            except Exception as exc:    # nova briefly unreachable
                servers, error = [], exc
            with self._cond:
                for server in servers:
                    self._seen[server.id] = server
                self._error = error
                self._generation += 1
                self._cond.notify_all()
                self._cond.wait(self._interval)

    def stop(self):
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()

    def wait(self, server_id, host, expected, deadline, clock):
        """Until the instance is ``expected`` on another host:
        ``(ok, detail, target)``."""
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run,
                                                daemon=True)
                self._thread.start()
            # Only a poll started after this call sees the evacuation
            # just requested (an older one may show the state before).
            need = self._started + 1
            while True:
                self._cond.wait_for(
                    lambda n=need: self._generation >= n,
                    max(0.0, deadline - clock()))
                need = self._generation + 1
                current = self._seen.get(server_id)
                if current is not None:
                    where = _host_of(current)
                    task = _task_of(current)
                    if (current.status == expected and where and
                            where != host and not task):
                        return True, '%s on %s' % (expected, where), where
                    if current.status == 'ERROR' and not task:
                        fault = getattr(current, 'fault', None) or {}
                        # Seen once: the next attempt starts clean.
                        del self._seen[server_id]
                        return False, 'ERROR after evacuation: %s' % (
                            fault.get('message') or 'no fault recorded'), ''
                if clock() > deadline:
                    state = ('%s on %s (task %s)' % (
                        current.status, _host_of(current),
                        _task_of(current)) if current is not None
                        else 'never seen changing')
                    if self._error is not None:
                        state += '; last poll failed: %s' % self._error
                    return False, 'timed out: %s' % state, ''
