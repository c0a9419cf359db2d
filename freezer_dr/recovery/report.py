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

"""The report of a recovery that notifiers are given, rebuilt from the
journal (so it is whole after a restart too)."""

import json

from freezer_dr.drivers import base
from freezer_dr.journal import api as journal_api

#: Journal steps named ``instance:<uuid>`` hold one instance's result.
INSTANCE_PREFIX = 'instance:'
#: Journal steps named ``notify:<notifier>`` hold one notifier's result.
NOTIFIER_PREFIX = 'notify:'


def starting(host, incarnation, reason, started_at):
    """The report of a recovery that begins: no step yet."""
    return base.RecoveryReport(
        host=host, incarnation=incarnation, reason=reason, recovered=False,
        failed_step='', summary='Host %s was declared dead (%s): its '
        'recovery begins.' % (host, reason), started_at=started_at)


def build(journal, recovery_id, host, incarnation, reason, failed_step='',
          affected=(), held='', next_step=''):
    """The :class:`~freezer_dr.drivers.base.RecoveryReport` of recovery
    ``recovery_id``; ``failed_step`` names the step that failed ('' for a
    recovery that succeeded); ``affected``: the instances still on the
    host (the evacuator's ``affected``), reported beside those the journal
    has; ``held``: why the recovery is held (nothing fenced);
    ``next_step``: the command that moves it on."""
    steps, instances = [], []
    first = last = 0.0
    for record in journal.steps(recovery_id):
        first = min(first or record.started_at, record.started_at)
        last = max(last, record.finished_at or record.started_at)
        if record.name.startswith(NOTIFIER_PREFIX):
            continue
        if record.name.startswith(INSTANCE_PREFIX):
            try:
                instances.append(base.InstanceResult(
                    **json.loads(record.detail)))
            except (ValueError, TypeError):
                instances.append(base.InstanceResult(
                    record.name[len(INSTANCE_PREFIX):],
                    record.status == journal_api.DONE, record.detail))
            continue
        if record.status == journal_api.STARTED:
            continue        # the notify step under way, at most
        seconds = ((record.finished_at or record.started_at)
                   - record.started_at)
        steps.append(base.StepReport(record.name, record.status,
                                     record.detail, seconds))
    known = {i.id for i in instances}
    instances.extend(i for i in affected if i.id not in known)
    moved = sum(1 for i in instances if i.ok)
    if held:
        summary = ('Host %s was declared dead (%s), and its recovery is '
                   'HELD: %s. Nothing was fenced or moved; an operator '
                   'must act.' % (host, reason, held))
    elif failed_step:
        detail = next((s.detail for s in steps if s.name == failed_step), '')
        summary = ('Host %s could NOT be recovered: step %s failed (%s). An '
                   'operator must act.' % (host, failed_step, detail))
    else:
        summary = ('Host %s was declared dead (%s), fenced, and %d of %d '
                   'instances were evacuated.'
                   % (host, reason, moved, len(instances)))
    return base.RecoveryReport(
        host=host, incarnation=incarnation, reason=reason,
        recovered=not (failed_step or held), failed_step=failed_step,
        summary=summary, steps=tuple(steps), instances=tuple(instances),
        started_at=first, finished_at=last, held=bool(held),
        next_step=next_step)


def held(host, incarnation, reason, why, affected, next_step, at):
    """The report of a host held before any step ran, with no journal
    record (the storm guard): ``why`` it is held, the instances still on
    it, the command that moves it on."""
    return base.RecoveryReport(
        host=host, incarnation=incarnation, reason=reason, recovered=False,
        failed_step='', summary='Host %s is silent (%s), and it is HELD: %s. '
        'Nothing was fenced or moved; an operator must act.'
        % (host, reason, why), instances=tuple(affected), started_at=at,
        finished_at=at, held=True, next_step=next_step)
