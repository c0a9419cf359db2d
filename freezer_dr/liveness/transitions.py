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

"""The host state machine as data: one line per allowed transition, and
how the progress of a recovery moves a host along it.

Everything that changes a host's state is in this module and in the
liveness core that applies it: :data:`TABLE` (the transitions) and
:data:`PROGRESS` (which triggers each step of a recovery reports). Every
state change goes through :func:`next_state`, so a change that is not in
the table raises :class:`InvalidTransition` instead of silently happening;
the core turns a progress report the table does not allow into an
``ignored_progress`` decision. ``tools/states_to_doc.py`` writes both
tables, and the diagram, into ``doc/source/host-states.rst``.
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
    Transition(s.UNKNOWN, 'never_heard', s.SUSPECT,
               'expected (nova or the fencer know it), never heard since '
               'the engine started, and nova reports its service down'),
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
    Transition(s.SUSPECT, 'operator_confirmed', s.DEAD,
               'an operator confirmed the silent host dead (freezer-dr-manage '
               'host recover, signed with the master key), whatever the '
               'storm guard holds'),
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


class Progress(typing.NamedTuple):
    """What a report of a recovery's progress (``step`` ended with, or
    started: ``status``) means for the host: the ``triggers`` that lead
    there, in order. A host that is already part of the way along them
    (a resumed recovery is told "done" again of the steps it finished
    before the restart) takes only the rest."""

    step: str
    status: str
    triggers: tuple
    why: str


#: The step name of a recovery's end, in :data:`PROGRESS`.
RECOVERY = 'recovery'

PROGRESS = (
    Progress('fence', 'started', ('fence_started',),
             'the fencer is called'),
    Progress('fence', 'done', ('fence_started', 'fence_confirmed'),
             'power-off confirmed (or overridden by the operator)'),
    Progress('fence', 'failed', ('fence_started', 'fence_failed'),
             'power-off failed or could not be confirmed'),
    Progress('isolate', 'failed', ('isolation_failed',),
             'nova could not force the host down'),
    Progress('evacuate', 'started', ('evacuation_started',),
             'the evacuator is called'),
    Progress('evacuate', 'done', ('evacuation_started', 'evacuation_done'),
             'every selected instance is back elsewhere'),
    Progress('evacuate', 'failed', ('evacuation_started',
                                    'evacuation_failed'),
             'some instance could not be evacuated'),
    Progress(RECOVERY, 'done', ('fence_started', 'fence_confirmed',
                                'evacuation_started', 'evacuation_done'),
             'the recovery ended well (the journal may say so of a '
             'recovery finished by another engine)'),
    Progress(RECOVERY, 'failed', ('recovery_refused',),
             'the recovery ended without running (the journal holds a '
             'failed recovery of this incarnation)'),
)

_NEXT = {(t.source, t.trigger): t.target for t in TABLE}
_TARGET = {t.trigger: t.target for t in TABLE}
_PROGRESS = {(p.step, p.status): p.triggers for p in PROGRESS}
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


def progress_path(state, step, status):
    """The triggers that the report ``(step, status)`` applies to a host in
    ``state``: ``()`` when the report moves nothing (a step with no
    transition, or a host already where the report leads).

    :raises InvalidTransition: when the table allows none of them from
        ``state``.
    """
    triggers = _PROGRESS.get((step, status), ())
    if not triggers or state == _TARGET[triggers[-1]]:
        return ()
    for i, trigger in enumerate(triggers):
        if allowed(state, trigger):
            return triggers[i:]
    raise InvalidTransition('progress %s %s is not allowed in state %r '
                            '(it leads to %r by %s)' % (
                                step, status, state,
                                _TARGET[triggers[-1]], ', '.join(triggers)))


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
