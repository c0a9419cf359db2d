import pytest

from freezer_dr.liveness import states
from freezer_dr.liveness import transitions


def test_every_state_is_reachable_and_has_a_way_out():
    sources = {t.source for t in transitions.TABLE}
    targets = {t.target for t in transitions.TABLE}
    for state in states.ALL:
        assert state in sources, state
        if state != states.UNKNOWN:
            assert state in targets, state


def test_table_has_no_duplicate_and_only_known_states():
    keys = [(t.source, t.trigger) for t in transitions.TABLE]
    assert len(keys) == len(set(keys))
    for t in transitions.TABLE:
        assert t.source in states.ALL and t.target in states.ALL
        assert t.why


def test_next_state_follows_the_table():
    assert transitions.next_state(states.UP, 'heartbeat_overdue') == \
        states.SUSPECT
    assert transitions.next_state(states.SUSPECT, 'declared_dead') == \
        states.DEAD


@pytest.mark.parametrize('state,trigger', [
    (states.UP, 'declared_dead'),          # only a suspect is declared
    (states.DEAD, 'evacuation_started'),   # never evacuate unfenced
    (states.FENCING, 'evacuation_started'),
    (states.DEAD, 'maintenance_on'),       # a recovery is not interrupted
    (states.EVACUATING, 'maintenance_on'),
    (states.FENCED, 'heartbeat'),          # fenced stays out of service
    (states.RECOVERED, 'heartbeat'),
    (states.MAINTENANCE, 'heartbeat_overdue'),
])
def test_forbidden_transitions_raise(state, trigger):
    assert not transitions.allowed(state, trigger)
    with pytest.raises(transitions.InvalidTransition):
        transitions.next_state(state, trigger)


def test_evacuation_only_after_a_confirmed_fence():
    into_evacuating = [t for t in transitions.TABLE
                       if t.target == states.EVACUATING]
    assert [(t.source, t.trigger) for t in into_evacuating] == [
        (states.FENCED, 'evacuation_started')]
    into_fenced = [t for t in transitions.TABLE if t.target == states.FENCED]
    assert [(t.source, t.trigger) for t in into_fenced] == [
        (states.FENCING, 'fence_confirmed')]


def test_dot_has_every_transition():
    dot = transitions.to_dot()
    assert dot.startswith('digraph host_states {')
    for t in transitions.TABLE:
        assert '%s -> %s [label="%s"];' % (t.source, t.target,
                                           t.trigger) in dot
