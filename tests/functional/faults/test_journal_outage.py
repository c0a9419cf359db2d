"""The journal cut while a host dies (issue 11: no decision is lost): the
engine cannot write the recovery, so it does nothing yet (nothing is
fenced without the journal), keeps the decision in memory, and recovers
the host once the journal is back. Real engine and agent processes, the
ipmi fencer against the BMC simulator, a PostgreSQL journal behind a TCP
proxy that the test cuts, the leadership lock on the machine's redis."""

import signal
import time

from freezer_dr.journal import api
from tests.functional import deployment
from tests.functional import plugins
from tests.functional.deployment import HOST
from tests.functional.deployment import PLUGINS
from tests.helpers import fault_row
from tests.helpers import wait_for

#: [coordination] lease of the engine, seconds.
LEASE = 3.0
#: How long the journal stays cut: many leases, and the first retries of
#: the recovery.
OUTAGE = 30.0


def test_a_host_that_dies_while_the_journal_is_cut_is_recovered_after(
        make_cloud, processes, tmp_path, monkeypatch, plugin_dir,
        journal_behind_proxy):
    url, proxy = journal_behind_proxy
    bmc = deployment.bmc(processes, tmp_path, monkeypatch)
    d = deployment.Deployment(
        make_cloud, processes, url, PLUGINS + 'IpmiFencer',
        coordination__lease=LEASE, coordination__backend_url=(
            'redis://127.0.0.1:6379?namespace=%s' % tmp_path.name))
    try:
        engine = d.start_engine()
        wait_for(lambda: d.journal.leader()[1], 30,
                 message='the engine elected')
        agent = deployment.start_agent(processes, d.cloud, HOST)
        wait_for(lambda: HOST in d.cloud.hosts_up(), 60,
                 message='the agent heard')
        proxy.cut()
        agent.stop(signal.SIGKILL)
        wait_for(lambda: d.cloud.of('declare_dead', HOST), 60,
                 message='%s declared dead' % HOST)
        # The outage under test: the engine must keep the decision while
        # the journal cannot be written, and fence nothing meanwhile.
        time.sleep(OUTAGE)
        assert bmc.status()['counts']['power_off'] == 0
        assert engine.alive()
        assert 'NOT done' in engine.log() or \
            'stops leading' in engine.log()
        proxy.restore()
        wait_for(lambda: 'recovered' in [
            s['state'] for s in d.cloud.of('state', HOST)], 90,
            message='recovered once the journal is back\n' + engine.log())
        wait_for(lambda: d.recovery().status == api.DONE, 30,
                 message='the recovery done in the journal')
        assert bmc.status()['counts']['power_off'] == 1
        assert len(plugins.records(plugin_dir, 'evacuate-calls')) == 1
        assert len(plugins.records(plugin_dir, 'notified')) == 1
        # The administrators were told the decision waited (or that the
        # engine stopped leading, the journal holding its epoch).
        kinds = {a['kind'] for a in plugins.records(plugin_dir, 'alerts')}
        assert kinds and kinds <= {'decision_kept', 'leadership_lost'}, \
            kinds
        fault_row('journal cut %.0f s while a host dies' % OUTAGE,
                  bmc.status()['counts']['power_off'],
                  plugins.most_evacuations(plugin_dir), 0)
    finally:
        d.close()

