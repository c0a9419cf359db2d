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
    """``url`` with the lease as the lock's expiry where the backend has
    one (redis's ``timeout``), unless the URL sets it."""
    parts = parse.urlsplit(url)
    if parts.scheme not in ('redis', 'rediss'):
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
        self._step_down('the engine stops')
        self._discard(self._coordinator)

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
