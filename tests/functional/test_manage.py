"""freezer-dr-manage host rearm, recovery retry and recovery show: the
real command against a real journal (sqlite, PostgreSQL, MariaDB)."""

import json
import subprocess

from freezer_dr.journal import api
from freezer_dr.journal import schema
from tests.helpers import command
from tests.peers.notifiers import free_port


def _manage(conf, *args):
    return subprocess.run([command('freezer-dr-manage'), '--config-file',
                           str(conf), *args], capture_output=True, text=True,
                          timeout=120)


def test_rearm_retry_and_show(tmp_path, db_url):
    conf = tmp_path / 'freezer-dr.conf'
    conf.write_text('[database]\nconnection = %s\n'
                    '[recovery]\nisolator = noop\n' % db_url)
    assert _manage(conf, 'db', 'sync').returncode == 0
    db = schema.engine_for(db_url)
    journal = api.Journal(db)
    try:
        rec = journal.begin('c-1', 'boot-a', 'declared dead')
        journal.step_started(rec.id, 'fence')
        journal.step_finished(rec.id, 'fence', api.FAILED,
                              'power-off not confirmed (BMC silent)')
        journal.finish(rec.id, api.FAILED)

        shown = _manage(conf, 'recovery', 'show', str(rec.id))
        assert shown.returncode == 0, shown.stderr
        lines = shown.stdout.splitlines()
        assert lines[0] == 'recovery %d of c-1, incarnation boot-a: failed' \
            % rec.id
        assert '  re-armed: no' in lines
        fence = [line for line in lines if line.split()[:2] == ['fence',
                                                               'failed']]
        assert len(fence) == 1 and 'BMC silent' in fence[0]
        assert 'Z' in fence[0]          # when it started, UTC
        missing = _manage(conf, 'recovery', 'show', '9999')
        assert missing.returncode == 3          # not found
        assert missing.stderr == \
            'freezer-dr-manage: no recovery 9999 in the journal\n'
        as_json = json.loads(_manage(conf, 'recovery', 'show', str(rec.id),
                                     '-f', 'json').stdout)
        assert (as_json['id'], as_json['host'], as_json['status']) == (
            rec.id, 'c-1', 'failed')
        assert [(s['name'], s['status']) for s in as_json['steps']] == [
            ('fence', 'failed')]
        assert as_json['steps'][0]['seconds'] >= 0
        # The host's recoveries, with the engine's endpoint unreachable.
        closed = 'http://127.0.0.1:%d' % free_port()
        host = _manage(conf, 'host', 'show', 'c-1', '--url', closed,
                       '-f', 'json')
        assert host.returncode == 0, host.stderr
        host = json.loads(host.stdout)
        assert host['live'] is None
        assert host['live_unknown'].startswith('cannot ask the engine')
        assert [r['id'] for r in host['recoveries']] == [rec.id]
        listed = _manage(conf, 'host', 'list', '--url', closed)
        assert listed.returncode == 4           # the engine unreachable
        assert listed.stderr.startswith('freezer-dr-manage: cannot ask '
                                        'the engine at %s/v1/hosts' % closed)
        assert _manage(conf, 'host', 'show', 'nobody', '--url',
                       closed).returncode == 3
        version = json.loads(_manage(conf, 'db', 'version', '-f',
                                     'json').stdout)
        assert version['revision'] == version['head'] == schema.head()

        retried = _manage(conf, 'recovery', 'retry', 'c-1')
        assert retried.returncode == 0, retried.stderr
        assert 'reopened' in retried.stdout
        assert journal.get(rec.id).status == api.RUNNING
        assert [r.id for r in journal.unfinished()] == [rec.id]
        again = _manage(conf, 'recovery', 'retry', 'c-1')
        assert again.returncode == 1 and 'nothing to retry' in again.stderr

        under_way = _manage(conf, 'host', 'rearm', 'c-1')
        assert under_way.returncode == 1
        assert 'under way' in under_way.stderr
        journal.finish(rec.id, api.DONE)
        rearmed = _manage(conf, 'host', 'rearm', 'c-1', '--by', 'alice')
        assert rearmed.returncode == 0, rearmed.stderr
        record = journal.get(rec.id)
        assert record.rearmed_by == 'alice' and record.rearmed_at
        assert journal.outstanding() == []
        assert [r.id for r in journal.rearmed_since(record.rearmed_at)] == [
            rec.id]
        assert journal.last_rearmed_at() == record.rearmed_at
        twice = _manage(conf, 'host', 'rearm', 'c-1')
        assert twice.returncode == 0 and 'already' in twice.stdout
        assert journal.get(rec.id).rearmed_by == 'alice'
        assert 'by alice' in _manage(conf, 'recovery', 'show',
                                     str(rec.id)).stdout
        assert _manage(conf, 'recovery', 'retry', 'c-1').returncode == 1
        nobody = _manage(conf, 'host', 'rearm', 'nobody')
        assert nobody.returncode == 3
        assert 'no recovery of nobody' in nobody.stderr
    finally:
        db.dispose()
