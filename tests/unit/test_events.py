"""Tests of the event parser and of the recording format (events.py)."""

import copy
import functools
import json
import math
import os

import hypothesis
from hypothesis import strategies
import pytest

from freezer_dr import events

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)),
                        'fixtures', 'nova')
T = 1700000000.25
LAST_SEEN_UP = 1351518125.0     # nova's sample: 2012-10-29T13:42:05Z
MISSING = object()


def _fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return json.load(f)


def _edit(document, changes):
    """A deep copy of ``document`` with ``changes`` applied (a value of
    MISSING deletes the key)."""
    result = copy.deepcopy(document)
    for key, value in changes.items():
        if value is MISSING:
            del result[key]
        else:
            result[key] = value
    return result


HEARTBEAT_PAYLOAD = {
    'host': 'compute-1',
    'sequence': 42,
    'boot_id': '8d2f3c1e-5a8b-4b8e-9d6c-0f1e2d3c4b5a',
    'sent_at': T - 0.01,
    'checks': {
        'nova-compute': {'ok': True, 'detail': ''},
        'disk': {'ok': False, 'detail': '/var is 99% full'},
        'bond0': {'ok': True},
    },
}

NOVA_PAYLOAD = _fixture('service-create.json')['payload']

MAINTENANCE_PAYLOAD = {'host': 'compute-1', 'enabled': True,
                       'reason': 'kernel upgrade', 'requested_by': 'admin'}

LINE = {'received_at': T, 'publisher_id': 'freezer-dr-agent:compute-1',
        'event_type': events.HEARTBEAT, 'priority': 'INFO',
        'payload': HEARTBEAT_PAYLOAD}


def _notification(event_type, payload, received_at=T,
                  publisher_id='freezer-dr-agent:compute-1',
                  priority='INFO'):
    # (The engine's own event types are read from recordings only.)
    return functools.partial(events.parse_notification, publisher_id,
                             event_type, payload, received_at, priority,
                             internal=isinstance(event_type, str) and
                             event_type in events.INTERNAL_TYPES)


def _heartbeat(**changes):
    return _notification(events.HEARTBEAT, _edit(HEARTBEAT_PAYLOAD, changes))


def _checks(checks):
    return _heartbeat(checks=checks)


def _nova(changes=None, data_changes=None, event_type='service.update'):
    payload = _edit(NOVA_PAYLOAD, changes or {})
    if data_changes:
        payload['nova_object.data'] = _edit(payload['nova_object.data'],
                                            data_changes)
    return _notification(event_type, payload,
                         publisher_id='nova-compute:host2')


def _maintenance(**changes):
    return _notification(events.MAINTENANCE,
                         _edit(MAINTENANCE_PAYLOAD, changes))


def _line(text=None, **changes):
    if text is None:
        text = json.dumps(_edit(LINE, changes))
    return functools.partial(events.parse_recording_line, text)


# --- nova's published samples ----------------------------------------------

NOVA_SAMPLES = {
    'service-create.json': events.ServiceStatus(
        received_at=T, change='create', host='host2', binary='nova-compute',
        disabled=False, disabled_reason=None, forced_down=False,
        last_seen_up=None),
    'service-update.json': events.ServiceStatus(
        received_at=T, change='update', host='host1', binary='nova-compute',
        disabled=False, disabled_reason=None, forced_down=False,
        last_seen_up=LAST_SEEN_UP),
    'service-delete.json': events.ServiceStatus(
        received_at=T, change='delete', host='host2', binary='nova-compute',
        disabled=False, disabled_reason=None, forced_down=False,
        last_seen_up=None),
}


@pytest.mark.parametrize('name', sorted(NOVA_SAMPLES))
def test_nova_sample_notification(name):
    sample = _fixture(name)
    event = events.parse_notification(sample['publisher_id'],
                                      sample['event_type'],
                                      sample['payload'], T,
                                      sample['priority'])
    assert type(event) is events.ServiceStatus
    assert event == NOVA_SAMPLES[name]


@pytest.mark.parametrize('name', sorted(NOVA_SAMPLES))
def test_nova_sample_from_a_recording(name):
    sample = _fixture(name)
    line = events.recording_line(T, sample['publisher_id'],
                                 sample['event_type'], sample['payload'],
                                 sample['priority'])
    event = events.parse_recording_line(line)
    assert type(event) is events.ServiceStatus
    assert event == NOVA_SAMPLES[name]


def test_nova_samples_are_the_published_versioned_objects():
    create = _fixture('service-create.json')
    update = _fixture('service-update.json')
    assert create['payload'] == _fixture('service-delete.json')['payload']
    assert create['payload']['nova_object.version'] == '1.1'
    assert create['payload']['nova_object.data']['uuid'] == \
        'fa69c544-906b-4a6a-a9c6-c1f7a8078c73'
    assert update['payload']['nova_object.version'] == '1.0'
    assert 'uuid' not in update['payload']['nova_object.data']
    assert update['publisher_id'] == 'nova-compute:host1'


def test_nova_last_seen_up_is_epoch_seconds():
    event = events.parse_notification(
        'nova-compute:host1', 'service.update',
        _fixture('service-update.json')['payload'], T)
    assert event.last_seen_up == 1351518125.0
    assert type(event.last_seen_up) is float


@pytest.mark.parametrize('text, expected', [
    ('2012-10-29T13:42:05Z', LAST_SEEN_UP),
    ('2012-10-29T13:42:05+00:00', LAST_SEEN_UP),
    ('2012-10-29T15:42:05+02:00', LAST_SEEN_UP),
    ('2012-10-29T13:42:05', LAST_SEEN_UP),      # naive means UTC
    ('2012-10-29T13:42:05.500000Z', LAST_SEEN_UP + 0.5),
    (None, None),
])
def test_nova_last_seen_up_formats(text, expected):
    event = _nova(data_changes={'last_seen_up': text})()
    assert event.last_seen_up == expected


def test_nova_forced_down_and_disabled():
    event = _nova(data_changes={'forced_down': True, 'disabled': True,
                                'disabled_reason': 'host is being fenced'})()
    assert event.forced_down is True
    assert event.disabled is True
    assert event.disabled_reason == 'host is being fenced'
    assert event.change == 'update'


@pytest.mark.parametrize('event_type, change', [
    ('service.create', 'create'),
    ('service.update', 'update'),
    ('service.delete', 'delete'),
])
def test_nova_change_follows_the_event_type(event_type, change):
    assert _nova(event_type=event_type)().change == change


def test_nova_later_minor_versions_are_understood():
    event = _nova({'nova_object.version': '1.7'})()
    assert event.host == 'host2'


def test_nova_other_binaries_parse():
    event = _nova(data_changes={'binary': 'nova-scheduler'})()
    assert event.binary == 'nova-scheduler'


# --- freezer-dr's own messages -------------------------------------------

def test_heartbeat():
    event = _heartbeat()()
    assert type(event) is events.Heartbeat
    assert event == events.Heartbeat(
        received_at=T, host='compute-1', sequence=42,
        boot_id='8d2f3c1e-5a8b-4b8e-9d6c-0f1e2d3c4b5a', sent_at=T - 0.01,
        checks=(events.Check('bond0', True, ''),
                events.Check('disk', False, '/var is 99% full'),
                events.Check('nova-compute', True, '')))


def test_heartbeat_checks_are_sorted_check_tuples():
    names = ['zeta', 'alpha', 'mu', 'beta', 'omega']
    event = _checks({name: {'ok': i % 2 == 0, 'detail': name.upper()}
                     for i, name in enumerate(names)})()
    assert [c.name for c in event.checks] == sorted(names)
    assert all(type(c) is events.Check for c in event.checks)
    assert event.checks[0] == events.Check('alpha', False, 'ALPHA')
    assert type(event.checks) is tuple


@pytest.mark.parametrize('checks', [MISSING, None, {}])
def test_heartbeat_without_checks(checks):
    assert _heartbeat(checks=checks)().checks == ()


def test_heartbeat_accepts_ints_for_times():
    event = _notification(events.HEARTBEAT,
                          _edit(HEARTBEAT_PAYLOAD, {'sent_at': 1700000000}),
                          received_at=1700000001)()
    assert event.sent_at == 1700000000.0
    assert type(event.sent_at) is float
    assert event.received_at == 1700000001.0
    assert type(event.received_at) is float


@pytest.mark.parametrize('changes', [
    {'sequence': 0},
    {'host': 'h' * events.MAX_HOST_LENGTH},
    {'host': 'compute-1.example.org'},
    {'boot_id': 'b' * events.MAX_BOOT_ID_LENGTH},
    {'boot_id': 'x'},
    {'sequence': 2 ** 63},
    {'checks': {'c%02d' % i: {'ok': True} for i in range(events.MAX_CHECKS)}},
    {'checks': {'disk': {'ok': False,
                         'detail': 'd' * events.MAX_TEXT_LENGTH}}},
], ids=['sequence-0', 'host-255', 'fqdn', 'boot-id-64', 'boot-id-1',
        'sequence-huge', '64-checks', 'detail-1024'])
def test_heartbeat_limits_are_inclusive(changes):
    event = _heartbeat(**changes)()
    for key, value in changes.items():
        if key != 'checks':
            assert getattr(event, key) == value
    if 'checks' in changes:
        assert len(event.checks) == len(changes['checks'])


@pytest.mark.parametrize('priority', ['info', 'INFO', 'warn', 'WARNING',
                                      'error', 'Critical', 'sample', 'audit',
                                      'debug'])
def test_priorities(priority):
    assert _notification(events.BUS_STATUS, {'connected': True},
                         priority=priority)() == events.BusStatus(T, True)


def test_maintenance():
    assert _maintenance()() == events.Maintenance(
        received_at=T, host='compute-1', enabled=True,
        reason='kernel upgrade', requested_by='admin')


def test_maintenance_defaults():
    event = _maintenance(enabled=False, reason=MISSING,
                         requested_by=MISSING)()
    assert event == events.Maintenance(T, 'compute-1', False, '', '')


@pytest.mark.parametrize('connected', [True, False])
def test_bus_status(connected):
    event = _notification(events.BUS_STATUS, {'connected': connected},
                          publisher_id='freezer-dr-engine:ctl-1')()
    assert type(event) is events.BusStatus
    assert event == events.BusStatus(T, connected)


@pytest.mark.parametrize('event_type, payload', [
    (events.BUS_STATUS, {'connected': False}),
    (events.INVENTORY, {'source': 'nova', 'hosts': {'victim': 'down'}}),
])
def test_the_engines_own_events_are_never_taken_from_the_bus(event_type,
                                                             payload):
    with pytest.raises(events.MalformedMessage) as raised:
        events.parse_notification('nova-compute:attacker', event_type,
                                  payload, T)
    assert 'never taken from the bus' in raised.value.reason


def test_recorded_line_priority_defaults_to_info():
    event = _line(priority=MISSING)()
    assert type(event) is events.Heartbeat


def test_line_of_exactly_the_limit_is_accepted():
    text = json.dumps(LINE)
    text += ' ' * (events.MAX_LINE_LENGTH - len(text))
    assert len(text) == events.MAX_LINE_LENGTH
    assert events.parse_recording_line(text).host == 'compute-1'


# --- malformed messages --------------------------------------------------

MALFORMED = [
    # The line and the envelope.
    pytest.param(_line('{"received_at": 1700000000,'), 'not valid JSON',
                 id='line-not-json'),
    pytest.param(_line(''), 'not valid JSON', id='line-empty'),
    pytest.param(_line('[1, 2]'), 'must be an object, got list',
                 id='line-array'),
    pytest.param(_line('"heartbeat"'), 'must be an object, got str',
                 id='line-string'),
    pytest.param(_line('42'), 'must be an object, got int',
                 id='line-number'),
    pytest.param(_line('null'), 'must be an object, got NoneType',
                 id='line-null'),
    pytest.param(_line(received_at=MISSING), "no 'received_at'",
                 id='line-no-received_at'),
    pytest.param(_line(publisher_id=MISSING), "no 'publisher_id'",
                 id='line-no-publisher_id'),
    pytest.param(_line(event_type=MISSING), "no 'event_type'",
                 id='line-no-event_type'),
    pytest.param(_line(payload=MISSING), "no 'payload'",
                 id='line-no-payload'),
    pytest.param(_line(received_at='1700000000'),
                 'received_at must be a number, got str',
                 id='received_at-string'),
    pytest.param(_line(received_at=True),
                 'received_at must be a number, got bool',
                 id='received_at-bool'),
    pytest.param(_line(received_at=None),
                 'received_at must be a number, got NoneType',
                 id='received_at-null'),
    pytest.param(_line(received_at=float('inf')),
                 'received_at must be finite', id='received_at-inf'),
    pytest.param(_line(received_at=float('nan')),
                 'received_at must be finite', id='received_at-nan-in-line'),
    pytest.param(_notification(events.BUS_STATUS, {'connected': True},
                               received_at=float('-inf')),
                 'received_at must be finite', id='received_at-minus-inf'),
    pytest.param(_line(json.dumps(LINE) + ' ' * events.MAX_LINE_LENGTH),
                 'longer than %d' % events.MAX_LINE_LENGTH,
                 id='line-longer-than-1MiB'),
    pytest.param(_line(publisher_id=42), 'publisher_id must be a string',
                 id='publisher_id-not-string'),
    pytest.param(_line(event_type='compute.instance.create.end'),
                 "unknown event_type str 'compute.instance.create.end'",
                 id='event_type-unknown'),
    pytest.param(_line(event_type=42), 'unknown event_type int 42',
                 id='event_type-int'),
    pytest.param(_line(event_type=['service.update']),
                 'unknown event_type list', id='event_type-list'),
    pytest.param(_line(event_type=None), 'unknown event_type NoneType',
                 id='event_type-null'),
    pytest.param(_line(priority='LOUD'), "unknown priority str 'LOUD'",
                 id='priority-unknown'),
    pytest.param(_line(priority=None), 'unknown priority NoneType',
                 id='priority-null'),
    pytest.param(_line(priority=3), 'unknown priority int', id='priority-int'),
    # Heartbeats.
    pytest.param(_notification(events.HEARTBEAT, ['compute-1', 42]),
                 'heartbeat payload must be an object, got list',
                 id='heartbeat-payload-list'),
    pytest.param(_line(payload='compute-1'),
                 'heartbeat payload must be an object, got str',
                 id='heartbeat-payload-string'),
    pytest.param(_heartbeat(host=MISSING), "heartbeat has no 'host'",
                 id='heartbeat-no-host'),
    pytest.param(_heartbeat(sequence=MISSING), "heartbeat has no 'sequence'",
                 id='heartbeat-no-sequence'),
    pytest.param(_heartbeat(boot_id=MISSING), "heartbeat has no 'boot_id'",
                 id='heartbeat-no-boot_id'),
    pytest.param(_heartbeat(sent_at=MISSING), "heartbeat has no 'sent_at'",
                 id='heartbeat-no-sent_at'),
    pytest.param(_heartbeat(host=''), 'host must have 1 to 255 characters, '
                 'got 0', id='host-empty'),
    pytest.param(_heartbeat(host='h' * 256), 'host must have 1 to 255 '
                 'characters, got 256', id='host-256'),
    pytest.param(_heartbeat(host='compute 1'),
                 'contains spaces or control characters', id='host-space'),
    pytest.param(_heartbeat(host='compute-1\n'),
                 'contains spaces or control characters', id='host-newline'),
    pytest.param(_heartbeat(host='compute\t1'),
                 'contains spaces or control characters', id='host-tab'),
    pytest.param(_heartbeat(host='compute\u00a01'),
                 'contains spaces or control characters', id='host-nbsp'),
    pytest.param(_heartbeat(host='compute\x001'),
                 'contains spaces or control characters', id='host-nul'),
    pytest.param(_heartbeat(host=42), 'heartbeat host must be a string, got '
                 'int', id='host-int'),
    pytest.param(_heartbeat(host=None), 'heartbeat host must be a string',
                 id='host-null'),
    pytest.param(_heartbeat(sequence=-1), 'sequence must be a whole number '
                 '>= 0, got int -1', id='sequence-negative'),
    pytest.param(_heartbeat(sequence=3.0), 'sequence must be a whole number '
                 '>= 0, got float', id='sequence-float'),
    pytest.param(_heartbeat(sequence=True), 'sequence must be a whole number '
                 '>= 0, got bool', id='sequence-bool'),
    pytest.param(_heartbeat(sequence='42'), 'sequence must be a whole number '
                 '>= 0, got str', id='sequence-string'),
    pytest.param(_heartbeat(boot_id=''), 'boot_id must be a string of 1 to '
                 '64 characters', id='boot_id-empty'),
    pytest.param(_heartbeat(boot_id='b' * 65), 'boot_id must be a string of '
                 '1 to 64 characters', id='boot_id-65'),
    pytest.param(_heartbeat(boot_id=1234), 'boot_id must be a string of 1 '
                 'to 64 characters, got int', id='boot_id-int'),
    pytest.param(_heartbeat(sent_at=float('nan')),
                 'heartbeat sent_at must be finite', id='sent_at-nan'),
    pytest.param(_heartbeat(sent_at=float('inf')),
                 'heartbeat sent_at must be finite', id='sent_at-inf'),
    pytest.param(_heartbeat(sent_at='2023-11-14T22:13:20Z'),
                 'heartbeat sent_at must be a number, got str',
                 id='sent_at-string'),
    pytest.param(_heartbeat(sent_at=False),
                 'heartbeat sent_at must be a number, got bool',
                 id='sent_at-bool'),
    pytest.param(_checks([{'name': 'disk', 'ok': True}]),
                 'heartbeat checks must be an object, got list',
                 id='checks-list'),
    pytest.param(_checks('all good'),
                 'heartbeat checks must be an object, got str',
                 id='checks-string'),
    pytest.param(_checks({'c%02d' % i: {'ok': True} for i in range(65)}),
                 'more than 64 checks', id='checks-65'),
    pytest.param(_checks({'disk': {'detail': 'full'}}),
                 "check 'disk' has no 'ok'", id='check-without-ok'),
    pytest.param(_checks({'disk': {'ok': 'yes'}}),
                 "check 'disk' ok must be true or false, got str",
                 id='check-ok-string'),
    pytest.param(_checks({'disk': {'ok': None, 'detail': ''}}),
                 "check 'disk' ok must be true or false, got NoneType",
                 id='check-ok-null'),
    pytest.param(_checks({'disk': {'ok': False, 'detail': 99}}),
                 "check 'disk' detail must be a string, got int",
                 id='check-detail-int'),
    pytest.param(_checks({'disk': {'ok': False, 'detail': 'd' * 1025}}),
                 "check 'disk' detail is longer than 1024",
                 id='check-detail-too-long'),
    pytest.param(_checks({'disk': True}),
                 "check 'disk' must be an object, got bool",
                 id='check-not-object'),
    pytest.param(_checks({'c' * 256: {'ok': False}}),
                 'check name is longer than 255', id='check-name-too-long'),
    # nova's ServiceStatusPayload.
    pytest.param(_nova({'nova_object.name': 'InstanceActionPayload'}),
                 "nova_object.name str 'InstanceActionPayload'",
                 id='nova-wrong-object-name'),
    pytest.param(_nova({'nova_object.name': MISSING}),
                 'nova_object.name NoneType', id='nova-no-object-name'),
    pytest.param(_nova({'nova_object.version': '2.0'}),
                 "unsupported ServiceStatusPayload version str '2.0'",
                 id='nova-version-2.0'),
    pytest.param(_nova({'nova_object.version': 1.1}),
                 'unsupported ServiceStatusPayload version float',
                 id='nova-version-float'),
    pytest.param(_nova({'nova_object.data': MISSING}),
                 "ServiceStatusPayload has no 'nova_object.data'",
                 id='nova-no-data'),
    pytest.param(_nova({'nova_object.data': ['host2']}),
                 'ServiceStatusPayload data must be an object, got list',
                 id='nova-data-list'),
    pytest.param(_notification('service.update', 'host2 is down'),
                 'nova service payload must be an object, got str',
                 id='nova-payload-string'),
    pytest.param(_nova(data_changes={'host': MISSING}),
                 "ServiceStatusPayload has no 'host'", id='nova-no-host'),
    pytest.param(_nova(data_changes={'host': 'host 2'}),
                 'ServiceStatusPayload host', id='nova-host-space'),
    pytest.param(_nova(data_changes={'forced_down': MISSING}),
                 "ServiceStatusPayload has no 'forced_down'",
                 id='nova-no-forced_down'),
    pytest.param(_nova(data_changes={'disabled': MISSING}),
                 "ServiceStatusPayload has no 'disabled'",
                 id='nova-no-disabled'),
    pytest.param(_nova(data_changes={'binary': MISSING}),
                 "ServiceStatusPayload has no 'binary'", id='nova-no-binary'),
    pytest.param(_nova(data_changes={'forced_down': 'false'}),
                 'forced_down must be true or false, got str',
                 id='nova-forced_down-string'),
    pytest.param(_nova(data_changes={'disabled': 0}),
                 'disabled must be true or false, got int',
                 id='nova-disabled-int'),
    pytest.param(_nova(data_changes={'disabled_reason': 7}),
                 'disabled_reason must be a string, got int',
                 id='nova-disabled_reason-int'),
    pytest.param(_nova(data_changes={'last_seen_up': 'yesterday'}),
                 "last_seen_up is not an ISO 8601 time: 'yesterday'",
                 id='nova-last_seen_up-not-iso'),
    pytest.param(_nova(data_changes={'last_seen_up': '2012-13-45T99:00:00Z'}),
                 'last_seen_up is not an ISO 8601 time',
                 id='nova-last_seen_up-impossible-date'),
    pytest.param(_nova(data_changes={'last_seen_up': 1351518125}),
                 'last_seen_up must be an ISO 8601 time or null, got int',
                 id='nova-last_seen_up-number'),
    # Maintenance and bus status.
    pytest.param(_maintenance(enabled=MISSING), "maintenance has no "
                 "'enabled'", id='maintenance-no-enabled'),
    pytest.param(_maintenance(enabled='yes'), 'maintenance enabled must be '
                 'true or false, got str', id='maintenance-enabled-yes'),
    pytest.param(_maintenance(host=MISSING), "maintenance has no 'host'",
                 id='maintenance-no-host'),
    pytest.param(_maintenance(reason=['upgrade']), 'maintenance reason must '
                 'be a string', id='maintenance-reason-list'),
    pytest.param(_notification(events.MAINTENANCE, None),
                 'maintenance payload must be an object, got NoneType',
                 id='maintenance-payload-null'),
    pytest.param(_notification(events.BUS_STATUS, {}),
                 "bus status has no 'connected'", id='bus-no-connected'),
    pytest.param(_notification(events.BUS_STATUS, {'connected': 'true'}),
                 'bus status connected must be true or false, got str',
                 id='bus-connected-string'),
]


@pytest.mark.parametrize('parse, expected', MALFORMED)
def test_malformed(parse, expected):
    with pytest.raises(events.MalformedMessage) as info:
        parse()
    assert expected in info.value.reason
    assert str(info.value) == info.value.reason
    assert isinstance(info.value, ValueError)


def test_there_are_many_kinds_of_malformed_input():
    assert len({p.id for p in MALFORMED}) == len(MALFORMED) >= 30


def test_a_valid_check_cached_by_name_does_not_relax_validation():
    """The parser remembers checks that passed by name; that memory must
    not make it accept, later, a result it rejects the first time."""
    name = 'cache-probe-%d' % id(object())
    bad = {name: {'ok': 1, 'detail': ''}}
    with pytest.raises(events.MalformedMessage):
        _checks(bad)()
    _checks({name: {'ok': True, 'detail': ''}})()
    with pytest.raises(events.MalformedMessage) as info:
        _checks(bad)()
    assert 'ok must be true or false' in info.value.reason


@pytest.mark.parametrize('line', [
    '{"received_at": 1%s, "publisher_id": "p", "event_type": '
    '"freezer_dr.engine.bus", "payload": {"connected": true}}' % ('0' * 400),
    '{"received_at": 1700000000, "publisher_id": "p", "event_type": '
    '"freezer_dr.host.heartbeat", "payload": {"host": "h", "sequence": 1, '
    '"boot_id": "b", "sent_at": 1%s}}' % ('0' * 400),
    '[' * 100000,
], ids=['received_at-int-beyond-float', 'sent_at-int-beyond-float',
        'nesting-100000-deep'])
def test_pathological_lines_are_malformed_not_crashes(line):
    """Whatever a line holds, parse_recording_line raises MalformedMessage
    (replay and the engine catch that one exception)."""
    assert len(line) <= events.MAX_LINE_LENGTH
    with pytest.raises(events.MalformedMessage):
        events.parse_recording_line(line)


# --- the recording format ------------------------------------------------

def test_check_header_accepts_a_good_header():
    line = '{"format": "freezer-dr-recording", "version": 1, "source": "x"}'
    assert events.check_header(line) == {
        'format': 'freezer-dr-recording', 'version': 1, 'source': 'x'}


@pytest.mark.parametrize('line, expected', [
    ('freezer-dr-recording v1', 'not JSON'),
    ('', 'not JSON'),
    ('{"format": "freezer-dr-journal", "version": 1}', 'format'),
    ('{"version": 1}', 'format'),
    ('{"format": "freezer-dr-recording", "version": 2}', 'version 2'),
    ('{"format": "freezer-dr-recording", "version": "1"}', "version '1'"),
    ('{"format": "freezer-dr-recording"}', 'version None'),
    ('["freezer-dr-recording", 1]', 'format'),
    ('"freezer-dr-recording"', 'format'),
], ids=['not-json', 'empty', 'wrong-format', 'no-format', 'version-2',
        'version-string', 'no-version', 'list', 'string'])
def test_check_header_rejects(line, expected):
    with pytest.raises(events.NotARecording) as info:
        events.check_header(line)
    assert expected in str(info.value)


def test_header_round_trip():
    line = events.recording_header(source='rabbit://ctl-1',
                                   created_at=1700000000.5)
    assert '\n' not in line
    assert events.check_header(line) == {
        'format': events.RECORDING_FORMAT,
        'version': events.RECORDING_VERSION,
        'source': 'rabbit://ctl-1', 'created_at': 1700000000.5}
    assert events.check_header(events.recording_header()) == {
        'format': events.RECORDING_FORMAT,
        'version': events.RECORDING_VERSION}


@pytest.mark.parametrize('publisher_id, event_type, payload', [
    ('freezer-dr-agent:compute-1', events.HEARTBEAT, HEARTBEAT_PAYLOAD),
    ('freezer-dr-agent:compute-1', events.MAINTENANCE, MAINTENANCE_PAYLOAD),
    ('freezer-dr-engine:ctl-1', events.BUS_STATUS, {'connected': False}),
    ('nova-compute:host2', 'service.create', NOVA_PAYLOAD),
    ('nova-compute:host1', 'service.update',
     _fixture('service-update.json')['payload']),
], ids=['heartbeat', 'maintenance', 'bus', 'nova-create', 'nova-update'])
def test_line_round_trip(publisher_id, event_type, payload):
    line = events.recording_line(T, publisher_id, event_type, payload)
    assert '\n' not in line
    assert json.loads(line)['priority'] == 'INFO'
    assert events.parse_recording_line(line) == \
        events.parse_notification(publisher_id, event_type, payload, T,
                                  internal=True)


def test_line_round_trip_keeps_the_priority():
    line = events.recording_line(T, 'p', events.BUS_STATUS,
                                 {'connected': True}, priority='warn')
    assert json.loads(line)['priority'] == 'warn'
    assert events.parse_recording_line(line) == events.BusStatus(T, True)


_HOSTS = strategies.text(
    strategies.characters(min_codepoint=33, max_codepoint=0x2fff,
                          blacklist_categories=('Cc', 'Cs', 'Zs', 'Zl', 'Zp',
                                                'Cf', 'Co', 'Cn')),
    min_size=1, max_size=events.MAX_HOST_LENGTH)


@hypothesis.settings(max_examples=150, deadline=None)
@hypothesis.given(
    received_at=strategies.floats(0, 4e9),
    host=_HOSTS,
    sequence=strategies.integers(0, 2 ** 64),
    boot_id=strategies.text(min_size=1, max_size=events.MAX_BOOT_ID_LENGTH),
    sent_at=strategies.one_of(strategies.floats(-1e12, 1e12),
                              strategies.integers(-2 ** 53, 2 ** 53)),
    checks=strategies.dictionaries(
        strategies.text(max_size=20),
        strategies.fixed_dictionaries({'ok': strategies.booleans(),
                                       'detail': strategies.text(
                                           max_size=40)}),
        max_size=8))
def test_heartbeat_line_round_trip_property(received_at, host, sequence,
                                            boot_id, sent_at, checks):
    payload = {'host': host, 'sequence': sequence, 'boot_id': boot_id,
               'sent_at': sent_at, 'checks': checks}
    line = events.recording_line(received_at, 'p', events.HEARTBEAT,
                                 payload)
    event = events.parse_recording_line(line)
    assert event == events.Heartbeat(
        received_at, host, sequence, _escaped(boot_id), float(sent_at),
        tuple(sorted(events.Check(_escaped(n), r['ok'],
                                  _escaped(r['detail']))
                     for n, r in checks.items())))
    assert not math.isnan(event.sent_at)


def _escaped(text):
    """Text as the parser keeps it: control characters escaped."""
    return ''.join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def test_recording_lines_may_be_indented_but_not_followed_by_data():
    line = events.recording_line(
        5.0, 'freezer-dr-agent:h', events.HEARTBEAT,
        {'host': 'h', 'sequence': 1, 'boot_id': 'b', 'sent_at': 4.0})
    assert events.parse_recording_line('   ' + line + '  \n').host == 'h'
    with pytest.raises(events.MalformedMessage) as raised:
        events.parse_recording_line(line + ' {}')
    assert 'extra data' in raised.value.reason


def test_control_characters_from_the_wire_are_escaped():
    """A line break in a maintenance reason would forge lines in the log
    and the decisions file: it arrives escaped."""
    event = _maintenance(reason='done\n2026-12-02 INFO forged line\x1b[2J')()
    assert event.reason == 'done\\n2026-12-02 INFO forged line\\x1b[2J'
    assert '\n' not in event.reason
