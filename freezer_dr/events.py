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

"""Events: what freezer-dr hears, as typed values, and the recording format.

Everything in this module is pure: no I/O, no clock, no logging. A message
received from the bus (or read from a recording) goes through
:func:`parse_notification` and comes out as one of the frozen event classes
below, or raises :class:`MalformedMessage` saying what was wrong.

Wire formats understood:

* nova's versioned ``service.create`` / ``service.update`` /
  ``service.delete`` notifications, whose payload is a ``ServiceStatusPayload``
  versioned object (``nova_object.name``, ``nova_object.version``,
  ``nova_object.data``);
* ``freezer_dr.host.heartbeat``, published by freezer-dr-agent;
* ``freezer_dr.host.maintenance``, published by the agent on a planned
  shutdown or by an operator;
* ``freezer_dr.engine.bus``, written by the engine and the recorder when their
  own connection to the bus goes down or comes back.

Events are immutable named tuples rather than frozen dataclasses: the same
guarantees (immutable, typed fields, compared by value), and a heartbeat is
built in 0.35 us instead of 1.0 us, which matters at 100,000 lines per second
of replay. Dispatch on ``type(event)``, never on equality across types.

The recording format is JSON Lines: a header line, then one bus message per
line (see :func:`recording_header` and :func:`recording_line`).
"""

import datetime
import json
import math
import typing

HEARTBEAT = 'freezer_dr.host.heartbeat'
MAINTENANCE = 'freezer_dr.host.maintenance'
#: An operator confirms a silent host dead (freezer-dr-manage host recover),
#: signed with the heartbeat master key.
CONFIRMED_DEAD = 'freezer_dr.host.confirmed_dead'
BUS_STATUS = 'freezer_dr.engine.bus'
INVENTORY = 'freezer_dr.engine.inventory'
#: A host's state in an :class:`Inventory` (nova's view; ``unknown`` when
#: the source cannot tell, e.g. the fencer's credentials).
INVENTORY_STATES = frozenset(('up', 'down', 'disabled', 'unknown'))
NOVA_SERVICE_EVENTS = {
    'service.create': 'create',
    'service.update': 'update',
    'service.delete': 'delete',
}
#: Events the engine makes itself (its canary, its questions to nova and
#: the fencer): read from a recording, never taken from the bus.
INTERNAL_TYPES = frozenset((BUS_STATUS, INVENTORY))
EVENT_TYPES = frozenset((HEARTBEAT, MAINTENANCE, CONFIRMED_DEAD, BUS_STATUS,
                         INVENTORY, *NOVA_SERVICE_EVENTS))

# oslo.messaging's notification priorities (lower case on the wire).
PRIORITIES = frozenset(('audit', 'debug', 'info', 'warn', 'warning', 'error',
                        'critical', 'sample'))

_PRIORITY_NAMES = PRIORITIES | {p.upper() for p in PRIORITIES}

RECORDING_FORMAT = 'freezer-dr-recording'
RECORDING_VERSION = 1

MAX_HOST_LENGTH = 255
MAX_BOOT_ID_LENGTH = 64
MAX_CHECKS = 64
MAX_TEXT_LENGTH = 1024
MAX_LINE_LENGTH = 1024 * 1024


class MalformedMessage(ValueError):
    """A message that is not what it claims to be; ``reason`` says why."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class NotARecording(ValueError):
    """A file whose header does not make it a freezer-dr recording."""


class Check(typing.NamedTuple):
    """The result of one local check run by the agent on its host."""

    name: str
    ok: bool
    detail: str


class Heartbeat(typing.NamedTuple):
    """freezer-dr-agent on ``host`` is alive; ``sequence`` grows by one per
    heartbeat within one agent run; ``boot_id`` is the kernel's boot id, so a
    new one means the host rebooted (a new incarnation)."""

    received_at: float
    host: str
    sequence: int
    boot_id: str
    sent_at: float
    checks: tuple = ()


class ServiceStatus(typing.NamedTuple):
    """nova reported a change of a service (create, update or delete)."""

    received_at: float
    change: str
    host: str
    binary: str
    disabled: bool
    disabled_reason: typing.Optional[str]
    forced_down: bool
    last_seen_up: typing.Optional[float]


class Maintenance(typing.NamedTuple):
    """A host is put into (``enabled``) or taken out of maintenance."""

    received_at: float
    host: str
    enabled: bool
    reason: str
    requested_by: str


class ConfirmedDead(typing.NamedTuple):
    """An operator confirms that ``host``, silent, is dead: the engine
    declares it dead if it suspects it, whatever the storm guard holds.
    Counts only when signed with the heartbeat master key."""

    received_at: float
    host: str
    reason: str
    requested_by: str


class BusStatus(typing.NamedTuple):
    """The engine's own connection to the bus went down or came back."""

    received_at: float
    connected: bool


class Inventory(typing.NamedTuple):
    """The hosts the engine expects to hear from, as one source lists
    them now (the engine asks nova's API, and reads the fencer's
    credentials): ``hosts`` is a sorted tuple of ``(host, state)``, state
    one of :data:`INVENTORY_STATES`."""

    received_at: float
    source: str
    hosts: tuple


Event = typing.Union[Heartbeat, ServiceStatus, Maintenance, BusStatus,
                     Inventory]


# --- small validators -----------------------------------------------------

def _describe(value):
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + '...'
    return '%s %s' % (type(value).__name__, text)


def _require_dict(value, what):
    if type(value) is not dict:
        raise MalformedMessage('%s must be an object, got %s'
                               % (what, _describe(value)))
    return value


def _field(payload, key, what):
    try:
        return payload[key]
    except KeyError:
        raise MalformedMessage('%s has no %r' % (what, key)) from None


def _host_name(value, what):
    if type(value) is not str:
        raise MalformedMessage('%s must be a string, got %s'
                               % (what, _describe(value)))
    if not value or len(value) > MAX_HOST_LENGTH:
        raise MalformedMessage('%s must have 1 to %d characters, got %d'
                               % (what, MAX_HOST_LENGTH, len(value)))
    # isprintable() is False for every Unicode space but the ASCII one.
    if not value.isprintable() or ' ' in value:
        raise MalformedMessage('%s %r contains spaces or control characters'
                               % (what, value[:60]))
    return value


def _number(value, what):
    if type(value) is not float and type(value) is not int:
        raise MalformedMessage('%s must be a number, got %s'
                               % (what, _describe(value)))
    try:
        value = float(value)
    except OverflowError:
        raise MalformedMessage('%s is too large a number' % what) from None
    if not math.isfinite(value):
        raise MalformedMessage('%s must be finite, got %r' % (what, value))
    return value


def _boolean(value, what):
    if type(value) is not bool:
        raise MalformedMessage('%s must be true or false, got %s'
                               % (what, _describe(value)))
    return value


def _text(value, what, nullable=False, limit=MAX_TEXT_LENGTH):
    if value is None and nullable:
        return None
    if type(value) is not str:
        raise MalformedMessage('%s must be a string, got %s'
                               % (what, _describe(value)))
    if len(value) > limit:
        raise MalformedMessage('%s is longer than %d characters'
                               % (what, limit))
    if not value.isprintable():
        # Text from the wire ends up in logs and decisions files: a line
        # break in it would forge lines there. Control characters are kept,
        # escaped.
        value = ''.join(c if c.isprintable() else
                        repr(c)[1:-1] for c in value)
    return value


def _timestamp(value, what):
    """nova serialises datetimes as ISO 8601 strings (``...Z``)."""
    if value is None:
        return None
    if type(value) is not str:
        raise MalformedMessage('%s must be an ISO 8601 time or null, got %s'
                               % (what, _describe(value)))
    text = value[:-1] + '+00:00' if value.endswith('Z') else value
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise MalformedMessage('%s is not an ISO 8601 time: %r'
                               % (what, value[:60])) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


# --- parsers, one per event type -------------------------------------------

# Heartbeats arrive by the thousand per second and look alike: the checks
# that passed and the host names already validated are remembered (bounded),
# so the common heartbeat is validated with a few comparisons.
_PASSED = {'ok': True, 'detail': ''}
_passed_checks = {}
_valid_hosts = set()
_MEMORY_LIMIT = 100000


def _parse_checks(value):
    if value is None:
        return ()
    _require_dict(value, 'heartbeat checks')
    if len(value) > MAX_CHECKS:
        raise MalformedMessage('heartbeat has more than %d checks'
                               % MAX_CHECKS)
    checks = []
    for name, result in value.items():
        # ("is True": 1 == True, and {"ok": 1} is not a passed check.)
        if result == _PASSED and result['ok'] is True:
            check = _passed_checks.get(name)
            if check is not None:
                checks.append(check)
                continue
        shown = _text(name, 'check name', limit=MAX_HOST_LENGTH)
        what = 'check %r' % name[:60]
        _require_dict(result, what)
        check = Check(shown,
                      _boolean(_field(result, 'ok', what), what + ' ok'),
                      _text(result.get('detail', ''), what + ' detail'))
        if check.ok is True and check.detail == '' and \
                len(_passed_checks) < _MEMORY_LIMIT:
            _passed_checks[name] = check
        checks.append(check)
    if len(checks) > 1:
        checks.sort()
    return tuple(checks)


def _parse_heartbeat(payload, received_at):
    if type(payload) is not dict:
        _require_dict(payload, 'heartbeat payload')
    try:
        host = payload['host']
        sequence = payload['sequence']
        boot_id = payload['boot_id']
        sent_at = payload['sent_at']
    except KeyError as exc:
        raise MalformedMessage('heartbeat has no %r' % exc.args[0]) from None
    if type(host) is not str or host not in _valid_hosts:
        _host_name(host, 'heartbeat host')
        if len(_valid_hosts) >= _MEMORY_LIMIT:
            _valid_hosts.clear()
        _valid_hosts.add(host)
    if type(sequence) is not int or sequence < 0:
        raise MalformedMessage('heartbeat sequence must be a whole number '
                               '>= 0, got %s' % _describe(sequence))
    if type(boot_id) is not str or not 0 < len(boot_id) <= \
            MAX_BOOT_ID_LENGTH:
        raise MalformedMessage('heartbeat boot_id must be a string of 1 to '
                               '%d characters, got %s'
                               % (MAX_BOOT_ID_LENGTH, _describe(boot_id)))
    if type(sent_at) is not float or not math.isfinite(sent_at):
        sent_at = _number(sent_at, 'heartbeat sent_at')
    if not boot_id.isprintable():
        boot_id = _text(boot_id, 'heartbeat boot_id')     # (escaped)
    return Heartbeat(received_at, host, sequence, boot_id, sent_at,
                     _parse_checks(payload.get('checks')))


def _parse_maintenance(payload, received_at):
    _require_dict(payload, 'maintenance payload')
    return Maintenance(
        received_at,
        _host_name(_field(payload, 'host', 'maintenance'),
                   'maintenance host'),
        _boolean(_field(payload, 'enabled', 'maintenance'),
                 'maintenance enabled'),
        _text(payload.get('reason', ''), 'maintenance reason'),
        _text(payload.get('requested_by', ''), 'maintenance requested_by',
              limit=MAX_HOST_LENGTH))


def _parse_confirmed_dead(payload, received_at):
    _require_dict(payload, 'confirmed dead payload')
    return ConfirmedDead(
        received_at,
        _host_name(_field(payload, 'host', 'confirmed dead'),
                   'confirmed dead host'),
        _text(payload.get('reason', ''), 'confirmed dead reason'),
        _text(payload.get('requested_by', ''), 'confirmed dead requested_by',
              limit=MAX_HOST_LENGTH))


def _parse_bus_status(payload, received_at):
    _require_dict(payload, 'bus status payload')
    return BusStatus(received_at,
                     _boolean(_field(payload, 'connected', 'bus status'),
                              'bus status connected'))


def _parse_inventory(payload, received_at):
    _require_dict(payload, 'inventory payload')
    source = _text(_field(payload, 'source', 'inventory'),
                   'inventory source', limit=MAX_HOST_LENGTH)
    hosts = _require_dict(_field(payload, 'hosts', 'inventory'),
                          'inventory hosts')
    found = []
    for name, state in hosts.items():
        name = _host_name(name, 'inventory host')
        if state not in INVENTORY_STATES:
            raise MalformedMessage('inventory state of %s must be one of '
                                   '%s, got %s' % (
                                       name, ', '.join(sorted(
                                           INVENTORY_STATES)),
                                       _describe(state)))
        found.append((name, state))
    return Inventory(received_at, source, tuple(sorted(found)))


def inventory_payload(source, hosts):
    """The payload of an :class:`Inventory` (``hosts``: ``{host:
    state}``), as a recording holds it."""
    return {'source': source, 'hosts': dict(sorted(hosts.items()))}


def _parse_service_status(change, payload, received_at):
    _require_dict(payload, 'nova service payload')
    name = payload.get('nova_object.name')
    if name != 'ServiceStatusPayload':
        raise MalformedMessage('nova service payload must be a '
                               'ServiceStatusPayload versioned object, got '
                               'nova_object.name %s' % _describe(name))
    version = payload.get('nova_object.version')
    if type(version) is not str or version.split('.')[0] != '1':
        raise MalformedMessage('unsupported ServiceStatusPayload version %s '
                               '(1.x understood)' % _describe(version))
    data = _require_dict(_field(payload, 'nova_object.data',
                                'ServiceStatusPayload'),
                         'ServiceStatusPayload data')
    what = 'ServiceStatusPayload'
    return ServiceStatus(
        received_at,
        change,
        _host_name(_field(data, 'host', what), what + ' host'),
        _text(_field(data, 'binary', what), what + ' binary',
              limit=MAX_HOST_LENGTH),
        _boolean(_field(data, 'disabled', what), what + ' disabled'),
        _text(data.get('disabled_reason'), what + ' disabled_reason',
              nullable=True),
        _boolean(_field(data, 'forced_down', what), what + ' forced_down'),
        _timestamp(data.get('last_seen_up'), what + ' last_seen_up'))


def parse_notification(publisher_id, event_type, payload, received_at,
                       priority='info', internal=False):
    """Turn one notification, as an oslo.messaging endpoint receives it, into
    an :data:`Event`.

    :param received_at: when the message was received (seconds since the
        epoch); it becomes the event's time.
    :param internal: the message comes from a recording (or the engine
        itself), not the bus: the engine's own event types
        (:data:`INTERNAL_TYPES`) are taken; from the bus they are refused.
    :raises MalformedMessage: on anything that is not a well-formed message of
        a type freezer-dr understands; the reason says what was wrong.
    """
    if type(received_at) is not float or not math.isfinite(received_at):
        received_at = _number(received_at, 'received_at')
    if type(publisher_id) is not str:
        raise MalformedMessage('publisher_id must be a string, got %s'
                               % _describe(publisher_id))
    if type(priority) is not str or (priority not in _PRIORITY_NAMES and
                                     priority.lower() not in PRIORITIES):
        raise MalformedMessage('unknown priority %s' % _describe(priority))
    if event_type == HEARTBEAT:
        return _parse_heartbeat(payload, received_at)
    change = NOVA_SERVICE_EVENTS.get(event_type) \
        if type(event_type) is str else None
    if change is not None:
        return _parse_service_status(change, payload, received_at)
    if event_type == MAINTENANCE:
        return _parse_maintenance(payload, received_at)
    if event_type == CONFIRMED_DEAD:
        return _parse_confirmed_dead(payload, received_at)
    if type(event_type) is str and event_type in INTERNAL_TYPES:
        if not internal:
            raise MalformedMessage('%s is the engine\'s own event: never '
                                   'taken from the bus' % event_type)
        if event_type == BUS_STATUS:
            return _parse_bus_status(payload, received_at)
        return _parse_inventory(payload, received_at)
    raise MalformedMessage('unknown event_type %s' % _describe(event_type))


# --- the recording format ----------------------------------------------------

def recording_header(**details):
    """The first line of a recording, with optional ``details`` (such as
    ``source`` or ``created_at``)."""
    header = {'format': RECORDING_FORMAT, 'version': RECORDING_VERSION}
    header.update(details)
    return json.dumps(header, sort_keys=True)


def recording_line(received_at, publisher_id, event_type, payload,
                   priority='INFO'):
    """One message of a recording, as one line of JSON (no newline)."""
    return json.dumps({'received_at': received_at,
                       'publisher_id': publisher_id,
                       'event_type': event_type,
                       'priority': priority,
                       'payload': payload}, separators=(',', ':'))


def check_header(line):
    """Validate the first line of a recording and return it as a dict.

    :raises NotARecording: with the reason.
    """
    try:
        header = json.loads(line)
    except ValueError:
        raise NotARecording('the first line is not JSON') from None
    if type(header) is not dict or header.get('format') != RECORDING_FORMAT:
        raise NotARecording('the first line does not say "format": "%s"'
                            % RECORDING_FORMAT)
    version = header.get('version')
    if version != RECORDING_VERSION:
        raise NotARecording('recording format version %r is not supported '
                            '(this freezer-dr reads version %d)'
                            % (version, RECORDING_VERSION))
    return header


_raw_decode = json.JSONDecoder().raw_decode


def parse_recording_line(line):
    """Parse one message line of a recording into an :data:`Event`.

    :raises MalformedMessage: when the line is not valid JSON, lacks a key,
        or carries a malformed message.
    """
    if len(line) > MAX_LINE_LENGTH:
        raise MalformedMessage('line is longer than %d bytes'
                               % MAX_LINE_LENGTH)
    try:
        # raw_decode skips json.loads' two whitespace regexes; what it
        # leaves must be blank.
        if line[:1].isspace():
            line = line.lstrip()
        message, end = _raw_decode(line)
        if end != len(line) and not line[end:].isspace():
            raise ValueError('extra data after the object at column %d'
                             % (end + 1))
    except ValueError as exc:
        raise MalformedMessage('not valid JSON: %s' % exc) from None
    except RecursionError:
        raise MalformedMessage('JSON nested too deeply') from None
    if type(message) is not dict:
        raise MalformedMessage('a recorded message must be an object, got %s'
                               % _describe(message))
    try:
        received_at = message['received_at']
        publisher_id = message['publisher_id']
        event_type = message['event_type']
        payload = message['payload']
    except KeyError as exc:
        raise MalformedMessage('recorded message has no %r'
                               % exc.args[0]) from None
    return parse_notification(publisher_id, event_type, payload, received_at,
                              message.get('priority', 'info'), internal=True)
