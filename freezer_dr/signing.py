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

"""Signed heartbeats and maintenance messages (pure: no I/O, no clock).

Anything that can publish on the cloud's RabbitMQ (every OpenStack service
has the credentials) could otherwise speak for any host. Each host signs
what it publishes with its own key, derived from one master key that only
the control plane holds::

    key(host) = HMAC-SHA256(master, "freezer-dr heartbeat " + host)

so a compromised compute node cannot speak for another, and the engine
holds one secret (two while a new master key is rolled out: the previous
one is still accepted). An operator's message (maintenance through
``freezer-dr-manage``) is signed with the master key itself.

The signature is HMAC-SHA256, hex, over the canonical JSON of the payload
without its ``signature`` field (keys sorted, no spaces, UTF-8): the host,
boot id, sequence number, send time and check results are all covered.
"""

import hashlib
import hmac
import json
import os

#: The payload field that carries the signature.
FIELD = 'signature'
#: Who signed a message: the host (its derived key) or an operator (the
#: master key).
BY_HOST = 'host'
BY_OPERATOR = 'operator'

_PREFIX = b'freezer-dr heartbeat '
MASTER_KEY_BYTES = 32


class KeyError_(ValueError):
    """A key file that cannot be used (says why)."""


def derive(master, host):
    """The key of ``host`` (bytes) from the master key (bytes)."""
    return hmac.new(master, _PREFIX + host.encode('utf-8'),
                    hashlib.sha256).digest()


def canonical(payload):
    """The bytes a signature covers: ``payload`` without its signature,
    as sorted, compact JSON."""
    unsigned = {k: v for k, v in payload.items() if k != FIELD}
    return json.dumps(unsigned, sort_keys=True, separators=(',', ':'),
                      ensure_ascii=False, allow_nan=False).encode('utf-8')


def sign(payload, key):
    """``payload`` with its signature added (a new dict)."""
    signed = dict(payload)
    signed[FIELD] = hmac.new(key, canonical(payload),
                             hashlib.sha256).hexdigest()
    return signed


def _matches(payload, key, signature):
    expected = hmac.new(key, canonical(payload), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


class Verifier:
    """Checks signatures against one master key (and a previous one during
    a rotation); keeps the derived keys of the hosts whose signatures
    matched (a dict look-up per message after the first). A name that
    never signed right is derived again each time and kept nowhere: a
    flood of made-up names costs time, not memory."""

    #: Hosts whose keys are kept (beyond it the cache starts again).
    MAX_KEPT = 100000

    def __init__(self, master, previous=None):
        self._masters = [m for m in (master, previous) if m]
        self._keys = {}

    def who(self, payload, host):
        """Who signed ``payload`` for ``host``: :data:`BY_HOST`,
        :data:`BY_OPERATOR`, or None (unsigned, or a signature that does
        not match: to be dropped)."""
        signature = payload.get(FIELD)
        if type(signature) is not str or len(signature) != 64:
            return None
        try:
            keys = self._keys.get(host)
            known = keys is not None
            if not known:
                keys = [derive(m, host) for m in self._masters]
            for key in keys:
                if _matches(payload, key, signature):
                    if not known:
                        if len(self._keys) >= self.MAX_KEPT:
                            self._keys.clear()
                        self._keys[host] = keys
                    return BY_HOST
            for master in self._masters:
                if _matches(payload, master, signature):
                    return BY_OPERATOR
        except (TypeError, ValueError):     # not JSON-able: not ours
            return None
        return None


def new_master_key():
    """A new random master key, as the text written to its file."""
    return os.urandom(MASTER_KEY_BYTES).hex() + '\n'


def read_key(path, what):
    """The key in file ``path`` (``what`` names the option, for errors).

    :raises KeyError_: the file cannot be read, is readable by others, or
        holds no key.
    """
    try:
        mode = os.stat(path).st_mode
        with open(path, encoding='ascii') as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyError_('%s: cannot read %s: %s' % (what, path, exc)) \
            from None
    if mode & 0o077:
        raise KeyError_('%s: %s is readable by others (mode %o): run "chmod '
                        '600 %s"' % (what, path, mode & 0o777, path))
    return parse_key(text, '%s (%s)' % (what, path))


def write_key(path, text):
    """Write a key file, mode 0600 from its creation.

    :raises OSError: it exists, or cannot be written.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'w', encoding='ascii') as f:
        f.write(text)


def parse_key(text, what):
    """The key bytes of a key file's text (hex).

    :raises KeyError_: naming ``what`` and why.
    """
    text = text.strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise KeyError_('%s: not a hex key' % what) from None
    if len(key) < 16:
        raise KeyError_('%s: too short (%d bytes, 16 at least)'
                        % (what, len(key)))
    return key
