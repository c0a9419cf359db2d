"""Hosts the engine expects (nova's compute services, the fencer's
credentials) and hosts it hears: a host dead before the engine started,
one that runs no agent, and an engine cut off from most hosts."""

from freezer_dr import events
from freezer_dr.liveness import actions as act
from freezer_dr.liveness import states
from freezer_dr.liveness import storm
from tests.unit.liveness.test_core import Cloud

GRACE = 30.0


def inventory(cloud, source='nova', **hosts):
    cloud.send(events.Inventory(cloud.now, source, tuple(sorted(
        (name.replace('_', '-'), state) for name, state in hosts.items()))))


def test_a_host_dead_before_start_is_declared_after_the_grace():
    cloud = Cloud(3, startup_grace=GRACE)
    cloud.silent.add('compute-02')
    inventory(cloud, compute_00='up', compute_01='up', compute_02='down')
    cloud.run(GRACE - 1)
    assert cloud.of(act.DECLARE_DEAD) == []
    cloud.run(2)
    dead = cloud.of(act.DECLARE_DEAD)
    assert [a.host for a in dead] == ['compute-02']
    details = dict(dead[0].details)
    assert details['evidence'] == 'nova'
    assert details['boot_id'] is None
    assert 'never heard since the engine started' in dead[0].reason
    assert cloud.core.under_recovery() == [('compute-02', 'unknown')]


def test_a_host_without_agent_that_nova_reports_up_is_reported_never_fenced():
    cloud = Cloud(2, startup_grace=GRACE)
    cloud.silent.add('compute-01')
    inventory(cloud, compute_00='up', compute_01='up')
    cloud.run(GRACE + 5)
    for _ in range(3):          # asked again: reported once
        inventory(cloud, compute_00='up', compute_01='up')
        cloud.run(60)
    assert [a.host for a in cloud.of(act.UNHEARD)] == ['compute-01']
    assert cloud.of(act.DECLARE_DEAD) == []
    assert cloud.core.state_of('compute-01') == states.UNKNOWN


def test_known_only_to_the_fencer_or_disabled_in_nova_is_never_fenced():
    cloud = Cloud(1, startup_grace=GRACE)
    inventory(cloud, 'fencer', compute_00='unknown', compute_09='unknown')
    inventory(cloud, compute_00='up', compute_08='disabled')
    cloud.run(GRACE * 3)
    assert sorted(a.host for a in cloud.of(act.UNHEARD)) == [
        'compute-08', 'compute-09']
    assert cloud.of(act.DECLARE_DEAD) == []


def test_nova_reporting_down_later_declares_a_host_never_heard():
    cloud = Cloud(2, startup_grace=GRACE)
    cloud.silent.add('compute-01')
    inventory(cloud, compute_00='up', compute_01='up')
    cloud.run(GRACE + 5)
    assert cloud.of(act.DECLARE_DEAD) == []
    inventory(cloud, compute_00='up', compute_01='down')
    assert [a.host for a in cloud.of(act.DECLARE_DEAD)] == ['compute-01']


def test_a_host_heard_within_the_grace_is_watched_as_usual():
    cloud = Cloud(2, startup_grace=GRACE)
    inventory(cloud, compute_00='up', compute_01='down')
    cloud.run(GRACE * 2)        # nova was late: the host heartbeats
    assert cloud.of(act.DECLARE_DEAD) == []
    assert cloud.of(act.UNHEARD) == []
    assert cloud.core.state_of('compute-01') == states.UP


def test_a_never_heard_suspect_that_heartbeats_comes_up():
    cloud = Cloud(12, startup_grace=GRACE)
    down = ['compute-%02d' % n for n in range(6, 12)]
    cloud.silent.update(down)
    inventory(cloud, **{h.replace('-', '_'): 'down' if h in down else 'up'
                        for h in cloud.hosts})
    cloud.run(GRACE + 2)
    # Six never heard at once: the storm guard lets the first ones through
    # (as for hosts dying one after the other), then holds the rest.
    declared = [a.host for a in cloud.of(act.DECLARE_DEAD)]
    assert 0 < len(declared) < 6
    assert len(cloud.of(act.ALERT_STORM)) == 1
    held = [h for h in down if h not in declared]
    assert {cloud.core.state_of(h) for h in held} == {states.SUSPECT}
    cloud.silent.clear()        # their agents were slow to start
    cloud.run(5)
    assert [a.host for a in cloud.of(act.DECLARE_DEAD)] == declared
    assert {cloud.core.state_of(h) for h in held} == {states.UP}
    assert cloud.of(act.STORM_CLEARED)


def test_an_engine_hearing_too_few_hosts_declares_nobody_and_alerts_once():
    cloud = Cloud(10, min_heard_fraction=0.6, max_failed_hosts=0,
                  max_failed_percent=0.0)
    cloud.run(150)
    cut = ['compute-%02d' % n for n in range(5)]   # half the hosts
    cloud.silent.update(cut)
    cloud.run(60)
    assert cloud.of(act.DECLARE_DEAD) == []
    alerts = cloud.of(act.ALERT_STORM)
    assert len(alerts) == 1
    assert dict(alerts[0].details)['heard'] == 5
    assert 'may be the one cut off' in alerts[0].reason
    cloud.silent.clear()
    cloud.run(10)
    assert cloud.of(act.DECLARE_DEAD) == []
    assert cloud.of(act.STORM_CLEARED)
    assert set(cloud.core.states().values()) == {states.UP}


def test_one_silent_host_is_recovered_whatever_the_fraction():
    cloud = Cloud(1, min_heard_fraction=0.9)
    cloud.run(150)
    cloud.silent.add('compute-00')
    cloud.run(10)
    assert [a.host for a in cloud.of(act.DECLARE_DEAD)] == ['compute-00']


def test_is_cut_off():
    assert not storm.is_cut_off(0, 1, 0.5)     # one silent host alone
    assert storm.is_cut_off(0, 2, 0.5)
    assert not storm.is_cut_off(5, 5, 0.5)     # half heard: not less
    assert storm.is_cut_off(4, 6, 0.5)
    assert not storm.is_cut_off(0, 10, 0.0)    # disabled


def test_inventory_events_parse_and_reject_bad_states():
    ev = events.parse_notification(
        'freezer-dr', events.INVENTORY,
        events.inventory_payload('nova', {'b': 'down', 'a': 'up'}), 5.0,
        internal=True)
    assert ev == events.Inventory(5.0, 'nova', (('a', 'up'), ('b', 'down')))
    try:
        events.parse_notification(
            'freezer-dr', events.INVENTORY,
            {'source': 'nova', 'hosts': {'a': 'sleeping'}}, 5.0,
            internal=True)
    except events.MalformedMessage as exc:
        assert 'sleeping' in str(exc)
    else:
        raise AssertionError('a bad state was taken')


def _forced_down(cloud, host):
    cloud.send(events.ServiceStatus(cloud.now, 'update', host, 'nova-compute',
                                    True, 'forged', True, None))


def test_a_nova_event_alone_never_declares_a_host_never_heard():
    """Safety rule 7: anyone on the bus can send a service.update with
    forced_down; only nova's API (the inventory) may have a never-heard
    host declared dead."""
    cloud = Cloud(1, startup_grace=GRACE)
    inventory(cloud, 'fencer', compute_00='unknown', compute_05='unknown')
    _forced_down(cloud, 'compute-05')
    cloud.run(GRACE + 5)
    inventory(cloud, 'fencer', compute_00='unknown', compute_05='unknown')
    _forced_down(cloud, 'compute-05')
    cloud.run(5)
    assert cloud.of(act.DECLARE_DEAD) == []
    assert cloud.core.state_of('compute-05') == states.UNKNOWN


def test_a_bus_blip_leaves_a_held_never_heard_host_suspect():
    cloud = Cloud(3, startup_grace=GRACE, max_failed_hosts=1)
    down = ['compute-01', 'compute-02']
    cloud.silent.update(down)
    inventory(cloud, compute_00='up', compute_01='down', compute_02='down')
    cloud.run(GRACE + 2)
    held = [a.host for a in cloud.of(act.HELD)]
    assert held
    cloud.send(events.BusStatus(cloud.now, False))
    cloud.run(2)
    cloud.send(events.BusStatus(cloud.now, True))
    cloud.run(30)       # timers of the held host: no crash, still nova's
    assert cloud.core.state_of(held[0]) == states.SUSPECT
    cloud.silent.clear()
    cloud.run(3)
    assert cloud.core.state_of(held[0]) == states.UP


def test_a_never_heard_host_keeps_its_incarnation_whatever_it_says():
    cloud = Cloud(2, startup_grace=GRACE)
    cloud.silent.add('compute-01')
    inventory(cloud, compute_00='up', compute_01='down')
    cloud.run(GRACE + 2)
    assert cloud.core.under_recovery() == [('compute-01', 'unknown')]
    cloud.silent.clear()
    cloud.boot['compute-01'] = 'boot-new'
    cloud.run(3)        # it speaks (dead: ignored), with a boot id
    assert cloud.core.under_recovery() == [('compute-01', 'unknown')]


def test_the_hosts_version_changes_when_hosts_come_and_go():
    cloud = Cloud(1)
    before = cloud.core.hosts_version
    cloud.run(2)
    tracked = cloud.core.hosts_version
    assert tracked > before
    inventory(cloud, compute_01='up')       # compute-00 no longer listed
    assert cloud.core.state_of('compute-00') is None
    assert cloud.core.hosts_version > tracked


def test_once_hosts_are_listed_only_those_are_tracked():
    """Issue 12: a name nova and the fencer do not know is not tracked
    (ghost names cannot make a storm); one heard before the first list is
    forgotten then; the cap holds whatever arrives."""
    cloud = Cloud(2, startup_grace=GRACE)
    cloud.run(3)
    cloud.send(events.Heartbeat(cloud.now, 'ghost-1', 1, 'b', cloud.now))
    inventory(cloud, compute_00='up', compute_01='up')
    assert [a.host for a in cloud.of(act.UNTRACKED)] == ['ghost-1']
    for n in range(6):
        cloud.send(events.Heartbeat(cloud.now, 'ghost-%d' % n, 1, 'b',
                                    cloud.now))
    assert cloud.core.unknown_refused == 6
    assert sorted(cloud.core.states()) == ['compute-00', 'compute-01']
    capped = Cloud(3, max_hosts=2)
    capped.run(2)
    assert capped.core.host_count() == 2
    assert capped.core.unknown_refused > 0


def test_a_host_dead_before_start_waits_for_the_engine_to_hear():
    """The start-up grace runs out before the engine knows it hears the
    bus: the host is neither reported as running no agent nor declared;
    once the engine hears, it is declared on nova's word."""
    cloud = Cloud(3, bus_confirmed=False, startup_grace=GRACE)
    cloud.silent.add('compute-02')
    inventory(cloud, compute_00='up', compute_01='up', compute_02='down')
    cloud.run(GRACE + 5)
    assert cloud.of(act.UNHEARD) == [] and cloud.of(act.DECLARE_DEAD) == []
    cloud.send(events.BusStatus(cloud.now, True))
    cloud.run(3)
    dead = cloud.of(act.DECLARE_DEAD)
    assert [a.host for a in dead] == ['compute-02']
    assert dict(dead[0].details)['evidence'] == 'nova'
    assert cloud.of(act.UNHEARD) == []
