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

"""Leadership between engines (tooz), and the epoch that fences it.

One engine leads: the one that holds the tooz lock ``freezer-dr-leader``
and whose epoch is the journal's current one (:meth:`Journal.elect
<freezer_dr.journal.api.Journal.elect>`, taken right after the lock). The
others are standbys: they follow every event and act on nothing.

The leader renews its leadership every third of ``[coordination] lease``
(a standby tries for the lock every :data:`CONTEND_INTERVAL`):
the backend's heartbeat, the lock read back where the backend can tell
(redis), and its epoch checked in the journal. When a renewal has not
succeeded for a whole lease, :meth:`Leadership.leads` is false at once,
whatever the backend says (fail safe: a leader cut off from its backend, or
frozen by SIGSTOP, stops acting by its own clock); when the journal names
another epoch, the engine is deposed and releases the lock. The epoch is
the fencing token that makes this safe even when two engines briefly both
believe they lead: every journal write of a recovery checks it, and a
driver is called only after such a write and a fresh :meth:`check`.

tooz facts this relies on (measured on this kind of machine): ``file://``
has no leader election but its non-blocking lock works (held while the
process lives; take-over 0.02 s after kill -9); a redis lock expires
``timeout`` seconds after its holder stopped renewing it (this module puts
the lease there); the PostgreSQL and MySQL drivers' locks die with their
connection; ``get_leader()`` is implemented by neither file nor redis,
hence a lock rather than an election. A backend that went away can take
a minute to fail a call (tooz's redis driver retries for about 56 s): every
backend call therefore runs in a thread of its own with a deadline of a
third of the lease, and one still hung is not called again until it ends.
"""

import logging
import math
import os
import socket
import threading
import time
from urllib import parse

from freezer_dr.journal import api as journal_api

LOG = logging.getLogger(__name__)

LOCK_NAME = b'freezer-dr-leader'
#: Seconds between two tries of a standby for the lock, at most (a try is
#: one cheap request): a dead leader's lock is taken this soon after it is
#: free.
CONTEND_INTERVAL = 0.5


def default_backend(journal_url):
    """The tooz URL that follows the journal's SQLAlchemy URL: the same
    PostgreSQL or MySQL database, or a ``file://`` directory beside a
    sqlite file. None for a journal tooz cannot follow (in memory)."""
    url = parse.urlsplit(journal_url)
    scheme = url.scheme.split('+')[0]
    if scheme == 'sqlite':
        path = url.path[1:] if url.path.startswith('//') else url.path
        if not path or path == '/:memory:' or ':memory:' in journal_url:
            return None
        return 'file://%s.coordination' % os.path.abspath(path)
    if scheme in ('postgresql', 'postgres'):
        query = dict(parse.parse_qsl(url.query))
        query['dbname'] = url.path.lstrip('/')
        return parse.urlunsplit(('postgresql', url.netloc, '',
                                 parse.urlencode(query), ''))
    if scheme in ('mysql', 'mariadb'):
        return parse.urlunsplit(('mysql', url.netloc, url.path, url.query,
                                 ''))
    raise ValueError('[coordination] backend_url cannot follow a %s journal:'
                     ' set it' % scheme)


def with_lease(url, lease):
    """``url`` with the lease as the lock's (and the membership's) expiry
    where the backend has one (``timeout`` of redis, etcd3 and zookeeper),
    unless the URL sets it."""
    parts = parse.urlsplit(url)
    if parts.scheme not in ('redis', 'rediss', 'etcd3', 'etcd3+http',
                            'etcd3+https', 'zookeeper', 'kazoo'):
        return url
    query = dict(parse.parse_qsl(parts.query))
    query.setdefault('timeout', str(max(1, math.ceil(lease))))
    return parse.urlunsplit(parts._replace(query=parse.urlencode(query)))


def backend_from_conf(conf):
    """The tooz URL of ``[coordination] backend_url``, or the one that
    follows ``[database] connection``."""
    lease = conf.coordination.lease
    url = conf.coordination.backend_url or default_backend(
        conf.database.connection)
    if url is None:
        raise ValueError('[coordination] backend_url: the journal is in '
                         'memory, nothing can follow it: set it')
    return with_lease(url, lease)


def member_from_conf(conf):
    return conf.coordination.member_id or '%s-%d' % (socket.gethostname(),
                                                     os.getpid())


def where(url):
    """``url`` without its credentials, for messages."""
    parts = parse.urlsplit(url)
    host = parts.hostname or ''
    if parts.port:
        host += ':%d' % parts.port
    return parse.urlunsplit((parts.scheme, host, parts.path, '', ''))


class BackendTimeout(Exception):
    """A call to the coordination backend did not end in time."""


class _Caller:
    """Runs backend calls in a daemon thread each, with a deadline; while a
    call is still hung, refuses to start another."""

    def __init__(self):
        self._busy = None

    def call(self, seconds, function, *args):
        if self._busy is not None and self._busy.is_alive():
            raise BackendTimeout('an earlier call to the backend has not '
                                 'returned yet')
        outcome = {}

        def run():
            try:
                outcome['value'] = function(*args)
            except BaseException as exc:    # handed to the caller
                outcome['error'] = exc
        thread = threading.Thread(target=run, daemon=True,
                                  name='coordination-call')
        thread.start()
        thread.join(seconds)
        if thread.is_alive():
            self._busy = thread
            raise BackendTimeout('no answer within %.1f s' % seconds)
        if 'error' in outcome:
            raise outcome['error']
        return outcome['value']


class Leadership:
    """This engine's part in the leadership: contend, renew, step down.

    :param journal: a :class:`~freezer_dr.journal.api.Journal` (epochs).
    :param url: the tooz backend's URL.
    :ivar changed: a threading.Event set each time this engine starts or
        stops leading (whoever waits on it clears it).
    """

    def __init__(self, journal, url, member_id, lease, clock=time.monotonic):
        self._journal = journal
        self.url = url
        self.member_id = member_id
        self.lease = lease
        self.changed = threading.Event()
        self._clock = clock
        self._coordinator = None
        self._lock = None
        self._lock_held = False
        self._epoch = None
        self._renewed = None
        self._stop = threading.Event()
        self._thread = None
        self._mutex = threading.Lock()
        self._caller = _Caller()
        #: callable(why), called (from the leadership thread) when this
        #: engine stops leading other than by :meth:`stop`.
        self.on_lost = None
        #: Whether the last contention or renewal reached the coordination
        #: backend and the journal (None before the first).
        self.backend_ok = None

    def _backend(self, function, *args):
        """``function(*args)`` on the backend, within a third of the
        lease."""
        return self._caller.call(self.lease / 3.0, function, *args)

    # --- what the engine asks (any thread) ---------------------------------

    @property
    def epoch(self):
        """This engine's epoch while it leads (None otherwise)."""
        with self._mutex:
            return self._epoch if self._leads() else None

    def leads(self):
        """Whether this engine leads now: its lock held, its epoch taken
        and renewed less than a lease ago (by its own clock)."""
        with self._mutex:
            return self._leads()

    def check(self, epoch):
        """Right before an irreversible act in the name of ``epoch``: this
        engine still leads by its own clock, and the journal still names
        its epoch (a fenced write: another engine's election waits for it,
        or it fails).

        :raises journal_api.Deposed: this engine does not lead with that
            epoch any more.
        """
        with self._mutex:
            leads = self._leads() and self._epoch == epoch
        if not leads or not self._journal.renew(epoch):
            raise journal_api.Deposed(
                'this engine (%s) no longer leads with epoch %s'
                % (self.member_id, epoch))

    def _leads(self):
        return (self._epoch is not None and self._renewed is not None and
                self._clock() - self._renewed <= self.lease)

    # (The interface engines that share the hosts have too: see
    # Partitions. A lone leader owns every host.)

    def owns(self, host):
        """Whether this engine may act on ``host`` (None: speak for the
        engines, e.g. alert the administrators): it leads."""
        return self.leads()

    def token(self, host):
        """The fencing token of ``host``'s journal writes: the epoch."""
        return self.epoch

    @property
    def generation(self):
        """Changes each time this engine gains hosts to act on (None while
        it acts on none): here, its epoch."""
        return self.epoch

    # --- life ------------------------------------------------------------

    def load(self):
        """Load the backend's tooz driver (no connection, no thread yet).

        :raises ValueError: no tooz driver for the URL.
        """
        try:
            self._new_coordinator()
        except Exception as exc:
            raise ValueError('[coordination] backend_url %s: %s: %s' % (
                where(self.url), type(exc).__name__, exc)) from None

    def start(self):
        """Contend once now (so that a lone engine leads from its first
        decision), then keep contending or renewing in a thread of its own.
        A backend that cannot be reached is tried again at every tick: the
        engine is a standby meanwhile.

        :raises ValueError: no tooz driver for the URL.
        """
        if self._coordinator is None:
            self.load()
        self.tick()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                         name='leadership')
        self._thread.start()

    def stop(self):
        """Stop contending; give the leadership up if held (a standby takes
        over at once instead of after the lease)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.lease)
        epoch = self._epoch
        self._step_down('the engine stops')
        self._discard(self._coordinator)
        if epoch is not None:
            _resign(self._journal, epoch=epoch)

    def _new_coordinator(self):
        """A fresh coordinator (and lock object); the old one is stopped
        in the background. After a call that failed or did not answer in
        time, tooz's idea of what this engine holds may be wrong (a lock
        taken after its deadline, a release that failed on a dead
        connection): a new connection, and closing the old one, puts it
        right."""
        from tooz import coordination as tooz_coordination
        old = self._coordinator
        self._coordinator = tooz_coordination.get_coordinator(
            self.url, self.member_id.encode())
        self._lock = None
        self._lock_held = False
        self._discard(old)

    def _discard(self, coordinator):
        if coordinator is None:
            return

        def close():
            try:
                if coordinator.is_started:
                    coordinator.stop()
            except Exception as exc:
                LOG.debug('Coordination backend %s: closing: %s: %s',
                          where(self.url), type(exc).__name__, exc)
        threading.Thread(target=close, daemon=True,
                         name='coordination-close').start()

    def _run(self):
        renew = self.lease / 3.0
        failed = False
        while not self._stop.wait(
                renew if self._epoch is not None and not failed
                else min(renew, CONTEND_INTERVAL)):
            failed = not self.tick()
            self.backend_ok = not failed

    def tick(self):
        """Renew the leadership, or contend for it (the thread's loop);
        False when the backend or the journal failed."""
        ok = True
        try:
            if self._lock is None:
                if not self._coordinator.is_started:
                    self._backend(self._coordinator.start, False)
                self._lock = self._coordinator.get_lock(LOCK_NAME)
                LOG.info('Coordination backend %s: connected as %s',
                         where(self.url), self.member_id)
            if self._epoch is None:
                self._contend()
            else:
                self._renew()
        except Exception as exc:
            ok = False
            LOG.error('Coordination backend %s: %s: %s', where(self.url),
                      type(exc).__name__, exc)
            if self._epoch is None:
                self._new_coordinator()
        with self._mutex:
            lapsed = self._epoch is not None and not self._leads()
            since = self._clock() - self._renewed if lapsed else 0.0
        if lapsed:
            # A lapsed lease is never revived: the next term is a new
            # election with a new epoch.
            self._step_down('leadership not renewed for %.1f s (lease '
                            '%.1f s)' % (since, self.lease))
            self._new_coordinator()
        return ok

    def _contend(self):
        if not self._lock_held:
            if not self._backend(self._lock.acquire, False):
                return
            self._lock_held = True
        # The lock is ours: take the next epoch. A journal that cannot be
        # written gets the lock back (it would expire, or block the others,
        # while it is of no use).
        try:
            epoch = self._journal.elect(self.member_id)
        except Exception:
            self._release()
            raise
        with self._mutex:
            self._epoch = epoch
            self._renewed = self._clock()
        LOG.warning('Leadership: %s leads, epoch %d (backend %s, lease '
                    '%.1f s)', self.member_id, epoch, where(self.url),
                    self.lease)
        self.changed.set()

    def _renew(self):
        began = self._clock()
        with self._mutex:
            if not self._leads():
                return          # lapsed: tick() steps down
            epoch = self._epoch
        self._backend(self._coordinator.heartbeat)
        try:
            owner = self._backend(self._lock.is_still_owner)
        except NotImplementedError:     # (tooz.NotImplemented too)
            owner = True    # the backend cannot tell (file: held while we
            # live; PostgreSQL, MySQL: dies with our connection)
        if not owner:
            self._step_down('the backend gave the lock to another engine')
            return
        if not self._journal.renew(epoch):
            self._step_down('the journal names another leader')
            return
        with self._mutex:
            if self._epoch == epoch and self._leads():
                self._renewed = began

    def _release(self):
        if not self._lock_held:
            return
        self._lock_held = False
        try:
            if not self._backend(self._lock.release):
                raise RuntimeError('the backend says it was not held')
        except Exception as exc:
            LOG.warning('Leadership: the lock could not be released (%s: '
                        '%s): closing the connection to the backend',
                        type(exc).__name__, exc)
            self._new_coordinator()

    def _step_down(self, why):
        with self._mutex:
            was = self._epoch
            self._epoch = None
            self._renewed = None
        self._release()
        if was is not None:
            LOG.error('Leadership: %s stops leading (epoch %d): %s',
                      self.member_id, was, why)
            self.changed.set()
            if self.on_lost is not None and not self._stop.is_set():
                try:
                    self.on_lost(why)
                except Exception:
                    LOG.exception('Leadership: on_lost failed')


def _resign(journal, **whose):
    try:
        journal.resign(**whose)
    except Exception as exc:    # (the journal down: the lease tells)
        LOG.warning('Could not note in the journal that this engine stops: '
                    '%s: %s', type(exc).__name__, exc)


GROUP_NAME = b'freezer-dr-engines'
#: The key whose owner on the ring speaks for all the engines (alerts).
SPEAKER_KEY = b'freezer-dr'


class Partitions:
    """Engines that share the hosts (``[coordination] partitions``): every
    engine is a member of one tooz group, and each host belongs to the
    member that tooz's consistent hash ring over the members gives it.

    Each tick (a quarter of the lease) the engine heartbeats its
    membership, reads the members, and claims in the journal the hosts the
    ring now gives it (:meth:`Journal.claim
    <freezer_dr.journal.api.Journal.claim>`: each claim takes the host's
    next epoch, so the previous owner's writes are refused from then on);
    hosts the ring gives to another member are dropped at once, and hosts
    the journal says another engine claimed are dropped too. An engine
    that could not tick for :attr:`lapse` (two thirds of the lease, less
    than the backend's membership expiry, the lease) acts on nothing, by
    its own clock: by the time the others see it gone and claim its hosts,
    it has stopped.

    :ivar known: the hosts to share (a frozenset the engine thread
        replaces as its core learns hosts).
    :ivar changed: set each time this engine gains hosts or stops acting.
    """

    def __init__(self, journal, url, member_id, lease, clock=time.monotonic):
        self._journal = journal
        self.url = url
        self.member_id = member_id
        self.lease = lease
        self.lapse = lease * 2.0 / 3.0
        self.known = frozenset()
        self.changed = threading.Event()
        self.on_lost = None
        #: Whether the last contention or renewal reached the coordination
        #: backend and the journal (None before the first).
        self.backend_ok = None
        self._clock = clock
        self._coordinator = None
        self._joined = False
        self._members = None
        self._ring = None
        self._claims = {}
        self._generation = 0
        self._renewed = None
        self._acting_told = False
        self._mutex = threading.Lock()
        self._stop = threading.Event()
        self._thread = None
        self._caller = _Caller()

    def _backend(self, function, *args):
        return self._caller.call(self.lease / 3.0, function, *args)

    # --- what the engine asks (any thread) ---------------------------------

    def _acting(self):
        return self._renewed is not None and \
            self._clock() - self._renewed <= self.lapse

    def leads(self):
        """Whether this engine acts at all now (it ticked within
        :attr:`lapse`)."""
        with self._mutex:
            return self._acting()

    def owns(self, host):
        """Whether this engine may act on ``host`` now; None: whether it
        speaks for all the engines (the ring's owner of SPEAKER_KEY)."""
        with self._mutex:
            if not self._acting():
                return False
            if host is None:
                return self._ring is not None and self._ring.get_nodes(
                    SPEAKER_KEY) == {self.member_id.encode()}
            return host in self._claims

    def token(self, host):
        """The :class:`~freezer_dr.journal.api.HostToken` of ``host``
        (None when this engine does not own it)."""
        with self._mutex:
            if not self._acting() or host not in self._claims:
                return None
            return journal_api.HostToken(host, self._claims[host])

    @property
    def generation(self):
        with self._mutex:
            return self._generation if self._acting() else None

    @property
    def epoch(self):
        return self.generation

    def owned(self):
        """The hosts this engine owns now, sorted."""
        with self._mutex:
            return sorted(self._claims) if self._acting() else []

    def check(self, token):
        """Right before an irreversible act on ``token.host``: this engine
        still acts, still owns the host with that epoch, and the journal
        agrees (a fenced write).

        :raises journal_api.Deposed: it does not.
        """
        with self._mutex:
            ok = token is not None and self._acting() and \
                self._claims.get(token.host) == token.epoch
        if ok and self._journal.renew(token):
            return
        if token is not None:
            with self._mutex:
                if self._claims.get(token.host) == token.epoch:
                    del self._claims[token.host]
        raise journal_api.Deposed('this engine (%s) no longer owns %s' % (
            self.member_id, token.host if token else 'the host'))

    # --- life ------------------------------------------------------------

    def load(self):
        """Load the backend's tooz driver.

        :raises ValueError: no tooz driver for the URL, or one without
            groups.
        """
        parts = parse.urlsplit(self.url)
        scheme = parts.scheme
        if scheme.split('+')[0] not in GROUP_BACKENDS:
            raise ValueError(
                '[coordination] partitions needs a backend with group '
                'membership (%s), not %s: set [coordination] backend_url'
                % (', '.join(sorted(GROUP_BACKENDS)), scheme))
        query = dict(parse.parse_qsl(parts.query))
        for option in ('membership_timeout', 'timeout'):
            if option in query:
                if float(query[option]) < self.lease:
                    raise ValueError(
                        '[coordination] backend_url: %s=%s is shorter than '
                        '[coordination] lease (%.1f s): the others would '
                        'take this engine\'s hosts while it still acts'
                        % (option, query[option], self.lease))
                break
        from tooz import coordination as tooz_coordination
        try:
            self._coordinator = tooz_coordination.get_coordinator(
                self.url, self.member_id.encode())
        except Exception as exc:
            raise ValueError('[coordination] backend_url %s: %s: %s' % (
                where(self.url), type(exc).__name__, exc)) from None

    def start(self):
        if self._coordinator is None:
            self.load()
        self.tick()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name='partitions')
        self._thread.start()

    def stop(self):
        """Leave the group: the others take this engine's hosts at their
        next tick."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.lease)
        with self._mutex:
            self._renewed = None
            self._claims.clear()
        _resign(self._journal, holder=self.member_id)
        coordinator = self._coordinator
        if coordinator is not None and self._joined:
            try:
                self._backend(lambda: coordinator.leave_group(
                    GROUP_NAME).get())
            except Exception as exc:
                LOG.warning('Partitions: leaving the group: %s: %s',
                            type(exc).__name__, exc)
        if coordinator is not None:
            try:
                self._backend(coordinator.stop)
            except Exception:
                pass

    def _run(self):
        while not self._stop.wait(self.lease / 4.0):
            self.backend_ok = bool(self.tick())

    def tick(self):
        """Heartbeat, read the members, claim and drop hosts; False when
        the backend or the journal failed."""
        from tooz import coordination as tooz_coordination
        from tooz import hashring
        began = self._clock()
        try:
            coordinator = self._coordinator
            if not coordinator.is_started:
                self._backend(coordinator.start, False)
                self._joined = False
            if not self._joined:
                self._join(tooz_coordination)
            # The journal first: an engine that reaches the backend but not
            # the journal must not keep its membership (and its hosts)
            # alive while it cannot act.
            held = self._journal.held_by(self.member_id)
            self._backend(coordinator.heartbeat)
            members = self._backend(
                lambda: coordinator.get_members(GROUP_NAME).get())
            me = self.member_id.encode()
            if me not in members:
                self._joined = False
                raise RuntimeError('this engine is no longer a member')
            if members != self._members:
                LOG.warning('Partitions: %d engines share the hosts: %s',
                            len(members), ', '.join(sorted(
                                m.decode() for m in members)))
                self._members = members
                ring = hashring.HashRing(members)
            else:
                ring = self._ring
            mine = {h for h in self.known
                    if ring.get_nodes(h.encode()) == {me}}
            with self._mutex:
                self._ring = ring
                for host in list(self._claims):
                    if host not in mine or held.get(host) != \
                            self._claims[host]:
                        del self._claims[host]
                wanted = mine - set(self._claims)
            if wanted and self._clock() - began > self.lapse:
                # (This view of the members is too old to take hosts on.)
                LOG.warning('Partitions: the tick took %.1f s: no host '
                            'claimed from it', self._clock() - began)
                wanted = ()
            if wanted:
                taken = self._journal.claim(self.member_id, wanted)
                with self._mutex:
                    self._claims.update(taken)
                    self._generation += 1
                LOG.warning('Partitions: %s owns %d hosts now (%d new)',
                            self.member_id, len(self._claims), len(taken))
                self.changed.set()
            with self._mutex:
                self._renewed = began
            ok = True
        except Exception as exc:
            LOG.error('Partitions: backend %s or journal: %s: %s',
                      where(self.url), type(exc).__name__, exc)
            ok = False
        # (Whether it stopped acting between two ticks or in this one.)
        acting = self.leads()
        if acting != self._acting_told:
            self._acting_told = acting
            if acting:
                self.changed.set()
            else:
                self._lost('membership and hosts not renewed for %.1f s'
                           % self.lapse)
        return ok

    def _join(self, tooz_coordination):
        coordinator = self._coordinator
        try:
            self._backend(lambda: coordinator.create_group(GROUP_NAME).get())
        except tooz_coordination.GroupAlreadyExist:
            pass
        try:
            self._backend(lambda: coordinator.join_group(GROUP_NAME).get())
        except tooz_coordination.MemberAlreadyExist:
            LOG.warning('Partitions: a member named %s is in the group '
                        'already: this engine before a restart, or another '
                        'engine with the same [coordination] member_id (they '
                        'would take hosts from each other: give each its '
                        'own)', self.member_id)
        self._joined = True
        LOG.warning('Partitions: %s joined the engines (backend %s, lease '
                    '%.1f s)', self.member_id, where(self.url), self.lease)

    def _lost(self, why):
        LOG.error('Partitions: %s stops acting: %s', self.member_id, why)
        self.changed.set()
        if self.on_lost is not None and not self._stop.is_set():
            try:
                self.on_lost(why)
            except Exception:
                LOG.exception('Partitions: on_lost failed')


#: tooz backends with group membership.
GROUP_BACKENDS = frozenset(('redis', 'rediss', 'etcd3', 'zookeeper',
                            'kazoo'))
