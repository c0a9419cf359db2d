"""The host state machine as data: one line per allowed transition.

Every state change of a host goes through :func:`next_state`, so a change
that is not in this table is a bug that raises :class:`InvalidTransition`
instead of silently happening. ``tools/states_to_doc.py`` draws the diagram
in ``doc/source/host-states.rst`` from this table.
"""

import typing

from freezer_dr.liveness import states as s


class Transition(typing.NamedTuple):
    source: str
    trigger: str
    target: str
    why: str


class InvalidTransition(Exception):
    """A trigger that the table does not allow in the host's state."""


TABLE = (
    Transition(s.UNKNOWN, 'heartbeat', s.UP,
               'the agent was heard from: its heartbeats are watched now'),
    Transition(s.UP, 'heartbeat_overdue', s.SUSPECT,
               'the failure detector\'s deadline passed with no heartbeat'),
    Transition(s.SUSPECT, 'heartbeat', s.UP,
               'the heartbeat was late, the host is not dead'),
    Transition(s.SUSPECT, 'bus_recovered', s.UP,
               'the engine was deaf: every host gets a fresh grace'),
    Transition(s.SUSPECT, 'declared_dead', s.DEAD,
               'evidence agreed and the storm guard allowed it'),
    Transition(s.DEAD, 'fence_started', s.FENCING,
               'the recovery powers the host off first'),
    Transition(s.FENCING, 'fence_confirmed', s.FENCED,
               'power-off read back: the host can no longer write'),
    Transition(s.FENCING, 'fence_failed', s.RECOVERY_FAILED,
               'power-off failed or could not be confirmed: no evacuation'),
    Transition(s.FENCED, 'isolation_failed', s.RECOVERY_FAILED,
               'nova could not force the host down: no evacuation'),
    Transition(s.FENCED, 'evacuation_started', s.EVACUATING,
               'only a fenced host\'s instances are rebuilt elsewhere'),
    Transition(s.EVACUATING, 'evacuation_done', s.RECOVERED,
               'every instance was handled'),
    Transition(s.EVACUATING, 'evacuation_failed', s.RECOVERY_FAILED,
               'evacuation could not be completed'),
    Transition(s.DEAD, 'recovery_refused', s.RECOVERY_FAILED,
               'the journal holds a failed recovery of this incarnation: '
               'only an operator retries it'),
    Transition(s.RECOVERY_FAILED, 'retry', s.DEAD,
               'an operator asked to run the recovery again'),
    Transition(s.UNKNOWN, 'recovery_resumed', s.DEAD,
               'the engine (re)started with this host\'s recovery '
               'unfinished in the journal: it resumes'),
    Transition(s.UNKNOWN, 'journal_recovered', s.RECOVERED,
               'the engine (re)started: the journal says the host was '
               'recovered and is not re-armed yet'),
    Transition(s.UNKNOWN, 'journal_failed', s.RECOVERY_FAILED,
               'the engine (re)started: the journal says the recovery '
               'failed and the host is not re-armed yet'),
    Transition(s.RECOVERED, 'rearm', s.UNKNOWN,
               'an operator put the repaired host back in service'),
    Transition(s.RECOVERY_FAILED, 'rearm', s.UNKNOWN,
               'an operator put the repaired host back in service'),
    Transition(s.UNKNOWN, 'maintenance_on', s.MAINTENANCE,
               'planned work: never recovered automatically'),
    Transition(s.UP, 'maintenance_on', s.MAINTENANCE,
               'planned work: never recovered automatically'),
    Transition(s.SUSPECT, 'maintenance_on', s.MAINTENANCE,
               'planned work: never recovered automatically'),
    Transition(s.RECOVERED, 'maintenance_on', s.MAINTENANCE,
               'the operator takes the host for repair'),
    Transition(s.RECOVERY_FAILED, 'maintenance_on', s.MAINTENANCE,
               'the operator takes the host for repair'),
    Transition(s.MAINTENANCE, 'maintenance_off', s.UNKNOWN,
               'back in service once its agent is heard from again'),
)

_NEXT = {(t.source, t.trigger): t.target for t in TABLE}
TRIGGERS = tuple(sorted({t.trigger for t in TABLE}))


def next_state(state, trigger):
    """The state a host in ``state`` moves to on ``trigger``.

    :raises InvalidTransition: when the table does not allow it.
    """
    try:
        return _NEXT[state, trigger]
    except KeyError:
        raise InvalidTransition('%r is not allowed in state %r'
                                % (trigger, state)) from None


def allowed(state, trigger):
    return (state, trigger) in _NEXT


def to_dot():
    """The state machine in Graphviz's dot language."""
    lines = ['digraph host_states {',
             '    rankdir=LR;',
             '    node [shape=box, style=rounded];']
    for state in s.ALL:
        lines.append('    %s;' % state)
    for t in TABLE:
        lines.append('    %s -> %s [label="%s"];'
                     % (t.source, t.target, t.trigger))
    lines.append('}')
    return '\n'.join(lines) + '\n'
