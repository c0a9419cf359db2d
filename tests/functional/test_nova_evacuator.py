"""The nova evacuator against a real nova (tests/harness): isolate, evacuate
with verification, reserved hosts, opt-in and exclusion, and no second
evacuation when called again."""

import os

from oslo_config import cfg
import oslo_messaging
import pytest

from freezer_dr import bus
from freezer_dr.drivers import base
from freezer_dr.drivers.nova import evacuation as nova_driver
from freezer_dr.drivers.nova import isolation
from freezer_dr.drivers.nova import policy as nova_policy
from tests.harness import cloud as harness
from tests.helpers import wait_for


def _evacuator(cloud, **policy):
    session = cloud.session(harness.FREEZER_USER, 'service')
    defaults = {'retry_delay': 0.5, 'verify_timeout': 60}
    defaults.update(policy)
    return nova_driver.NovaEvacuator(
        session=session, region_name=harness.REGION,
        policy=nova_policy.Policy(**defaults), poll_interval=0.2)


def _isolator(cloud):
    return isolation.NovaIsolator(
        session=cloud.session(harness.FREEZER_USER, 'service'),
        region_name=harness.REGION)


def _host(server):
    return getattr(server, 'OS-EXT-SRV-ATTR:host')


def _evacuations(nova, ids):
    return [m for m in nova.migrations.list()
            if m.migration_type == 'evacuation' and m.instance_uuid in ids]


def test_isolate_then_evacuate_everything_and_verify(cloud_hosts):
    cloud = cloud_hosts
    servers = cloud.boot(6, 'demo-a', hosts=['compute-1', 'compute-2',
                                             'compute-3'])
    admin = cloud.nova(version='2.53')
    victims = [s for s in servers if _host(s) == 'compute-1']
    stopped = victims[0]
    admin.servers.stop(stopped.id)
    wait_for(lambda: admin.servers.get(stopped.id).status == 'SHUTOFF', 30,
             message='instance stopped')
    cloud.host('compute-1').kill()
    evacuator = _evacuator(cloud)

    status, detail = _isolator(cloud).isolate('compute-1')
    assert status == 'done', detail
    service = admin.services.list(host='compute-1',
                                  binary='nova-compute')[0]
    assert service.forced_down and service.status == 'disabled'
    assert service.disabled_reason.startswith('freezer-dr: declared dead')
    assert _isolator(cloud).isolate('compute-1')[0] == 'done'     # idempotent

    results = evacuator.evacuate('compute-1')
    assert sorted(r.id for r in results) == sorted(v.id for v in victims)
    assert all(r.ok for r in results), results
    for result in results:
        now = admin.servers.get(result.id)
        assert _host(now) == result.target_host != 'compute-1'
        assert now.status == ('SHUTOFF' if result.id == stopped.id
                              else 'ACTIVE')
        assert result.project_id == now.tenant_id
    ids = {v.id for v in victims}
    assert {m.status for m in _evacuations(admin, ids)} == {'done'}
    assert len(_evacuations(admin, ids)) == len(ids)

    # Again (a restarted engine): nothing is evacuated a second time.
    again = evacuator.evacuate('compute-1')
    assert again == [] or all(r.ok for r in again)
    assert len(_evacuations(admin, ids)) == len(ids)
    assert _isolator(cloud).isolate('no-such-host')[0] == 'failed'


def test_reserved_hosts_only(cloud_hosts):
    cloud = cloud_hosts
    admin = cloud.nova(version='2.53')
    reserved = admin.services.list(host='compute-4',
                                   binary='nova-compute')[0]
    servers = cloud.boot(4, 'demo-b', hosts=['compute-1', 'compute-2'])
    admin.services.disable_log_reason(reserved.id, 'reserved for HA')
    cloud.host('compute-1').kill()
    evacuator = _evacuator(cloud, reserved_hosts=('compute-4',))
    assert _isolator(cloud).isolate('compute-1')[0] == 'done'
    results = evacuator.evacuate('compute-1')
    victims = {s.id for s in servers if _host(s) == 'compute-1'}
    assert {r.id for r in results} == victims and len(victims) == 2
    assert {r.target_host for r in results if r.ok} == {'compute-4'}
    assert all(r.ok for r in results), results
    assert admin.services.list(host='compute-4')[0].status == 'enabled'


def test_opt_in_by_metadata_and_exclusions(cloud_hosts):
    cloud = cloud_hosts
    admin = cloud.nova(version='2.53')
    opted = cloud.boot(1, 'demo-a', prefix='opted', hosts=['compute-2'],
                       meta={'HA_Enabled': 'True'})[0]
    urgent = cloud.boot(1, 'demo-a', prefix='urgent', hosts=['compute-2'],
                        meta={'HA_Enabled': 'yes',
                              'evacuation_priority': '10'})[0]
    plain = cloud.boot(1, 'demo-a', prefix='plain', hosts=['compute-2'])[0]
    amphora = cloud.boot(1, 'demo-a', prefix='amphora', hosts=['compute-2'],
                         meta={'HA_Enabled': 'true'}, tags=['amphora'])[0]
    excluded = cloud.boot(1, 'demo-b', prefix='excluded',
                          hosts=['compute-2'],
                          meta={'HA_Enabled': 'true'})[0]
    cloud.host('compute-2').kill()
    evacuator = _evacuator(cloud, select='metadata',
                           exclude_tags=('amphora',),
                           exclude_projects=(excluded.tenant_id,))
    servers = evacuator.instances('compute-2')
    selected, left = evacuator.select('compute-2', servers)
    assert [s.id for s in selected] == [urgent.id, opted.id]
    why = {s.id: reason for s, reason in left}
    assert 'opt-in' in why[plain.id]
    assert 'amphora' in why[amphora.id]
    assert 'excluded' in why[excluded.id]

    assert _isolator(cloud).isolate('compute-2')[0] == 'done'
    results = {r.id: r for r in evacuator.evacuate('compute-2')}
    assert results[opted.id].ok and results[opted.id].target_host
    assert results[urgent.id].ok and results[urgent.id].target_host
    for left_alone in (plain, amphora, excluded):
        assert results[left_alone.id].detail.startswith('not evacuated')
        assert _host(admin.servers.get(left_alone.id)) == 'compute-2'
    assert _evacuations(admin, {plain.id, amphora.id, excluded.id}) == []


@pytest.mark.parametrize('select', ['flavor', 'image'])
def test_opt_in_by_flavor_or_image_selects_nothing_unmarked(cloud_hosts,
                                                           select):
    cloud = cloud_hosts
    cloud.boot(2, 'demo-a', hosts=['compute-3'])
    evacuator = _evacuator(cloud, select=select)
    selected, left = evacuator.select('compute-3',
                                      evacuator.instances('compute-3'))
    assert selected == [] and len(left) == 2
    assert all('opt-in' in why for _, why in left)


def test_rearm_waits_for_the_host_to_start_again(cloud_hosts):
    cloud = cloud_hosts
    cloud.boot(1, 'demo-a', hosts=['compute-3'])
    cloud.host('compute-3').kill()
    evacuator = _evacuator(cloud)
    assert _isolator(cloud).isolate('compute-3')[0] == 'done'
    assert all(r.ok for r in evacuator.evacuate('compute-3'))
    # nova keeps the host forced down until its nova-compute has started
    # again and cleaned up after the evacuations.
    with pytest.raises(Exception, match='evacuation migration'):
        _isolator(cloud).rearm('compute-3')
    host = cloud.host('compute-3')
    host.ipmitool('power', 'off', check=True)
    host.ipmitool('power', 'on', check=True)

    def rearmed():
        try:
            return _isolator(cloud).rearm('compute-3')[0] == 'done'
        except Exception:
            return False
    wait_for(rearmed, 90, interval=1, message='nova to take compute-3 back')
    admin = cloud.nova(version='2.53')
    wait_for(lambda: admin.services.list(host='compute-3')[0].state == 'up',
             60, message='compute-3 up')
    service = admin.services.list(host='compute-3')[0]
    assert not service.forced_down and service.status == 'enabled'
    # Enabled once nova saw the compute up: placement no longer marks the
    # host disabled, and an instance can be placed there right away.
    assert not cloud._disabled_trait('compute-3')
    again = cloud.boot(1, 'demo-a', prefix='after-rearm',
                       hosts=['compute-3'])[0]
    assert _host(admin.servers.get(again.id)) == 'compute-3'


def test_a_deposed_engine_requests_no_more_evacuations(cloud_hosts):
    """The guard (the engine's leadership check) stops a host's
    evacuation between two requests: the instances requested before are
    evacuated, no other is; the next leader's call evacuates the rest,
    each once."""
    cloud = cloud_hosts
    servers = cloud.boot(4, 'demo-a', hosts=['compute-1'])
    admin = cloud.nova(version='2.53')
    ids = {s.id for s in servers}
    cloud.host('compute-1').kill()
    assert _isolator(cloud).isolate('compute-1')[0] == 'done'
    allowed = [2]

    def guard():
        if allowed[0] <= 0:
            raise base.StopActing('deposed (test)')
        allowed[0] -= 1
    with pytest.raises(base.StopActing):
        _evacuator(cloud, concurrency=1).evacuate('compute-1', guard=guard)
    assert len(_evacuations(admin, ids)) == 2
    results = _evacuator(cloud).evacuate('compute-1')
    assert all(r.ok for r in results), results
    evacuations = _evacuations(admin, ids)
    assert sorted(m.instance_uuid for m in evacuations) == sorted(ids)


def _os_services_requests(cloud):
    """The requests on /os-services in nova-api's own log (its request
    log: one line per request, method and path)."""
    found = []
    for name in os.listdir(cloud.log_dir):
        if name.startswith('nova-api'):
            with open(os.path.join(cloud.log_dir, name),
                      errors='replace') as f:
                found += [line for line in f if '/os-services' in line
                          and ' status: ' in line]
    return found


def test_isolation_is_one_request_per_host(cloud_hosts):
    """Isolation is on every recovery's critical path: nova sees one
    ``PUT /os-services/{id}`` for the dead host, no lookup first (the
    engine's inventory listed the services before the death)."""
    cloud = cloud_hosts
    isolator = _isolator(cloud)
    assert 'compute-2' in isolator.services()     # the inventory's listing
    cloud.host('compute-2').kill()
    before = _os_services_requests(cloud)

    status, detail = isolator.isolate('compute-2')

    assert status == 'done', detail
    service_id = isolator.service_ids('compute-2')[0]
    # (nova-api logs a request once it has answered it.)
    wait_for(lambda: any(service_id in line for line in
                         _os_services_requests(cloud)[len(before):]), 10,
             message='the PUT in nova-api\'s log')
    made = [line for line in _os_services_requests(cloud)[len(before):]
            if service_id in line or 'compute-2' in line]
    assert len(made) == 1, made
    assert '"PUT ' in made[0], made
    service = cloud.nova(version='2.53').services.list(
        host='compute-2', binary='nova-compute')[0]
    assert service.forced_down and service.status == 'disabled'
    assert service.disabled_reason.startswith('freezer-dr: declared dead')


def _server_polls(cloud):
    """The polls of every changed instance in nova-api's request log."""
    found = []
    for name in os.listdir(cloud.log_dir):
        if name.startswith('nova-api'):
            with open(os.path.join(cloud.log_dir, name),
                      errors='replace') as f:
                found += [line for line in f if 'changes-since' in line]
    return found


def test_evacuated_instances_are_read_on_nova_s_notifications(cloud_hosts):
    """nova's instance notifications reach the evacuator the way the
    engine wires them (a NovaListener on the cloud's bus): each instance is
    read when nova announces it, and nova is not polled (both poll
    intervals are set to 60 s: were the notifications not heard, the
    instances would not be verified before their 50 s deadline)."""
    cloud = cloud_hosts
    servers = cloud.boot(3, 'demo-a', hosts=['compute-3'])
    conf = cfg.ConfigOpts()
    conf([], project='freezer-dr-test', default_config_files=[])
    transport = oslo_messaging.get_notification_transport(
        conf, url=cloud.transport_url)
    evacuator = nova_driver.NovaEvacuator(
        session=cloud.session(harness.FREEZER_USER, 'service'),
        region_name=harness.REGION,
        policy=nova_policy.Policy(retry_delay=0.5, verify_timeout=50),
        poll_interval=60, fallback_poll_interval=60)
    listener = bus.NovaListener(transport, 'nova',
                                ['versioned_notifications'],
                                'freezer-dr-test-instances',
                                lambda batch: None,
                                instance_sink=evacuator.observe)
    listener.start(wait=True)
    try:
        cloud.host('compute-3').kill()
        assert _isolator(cloud).isolate('compute-3')[0] == 'done'
        before = len(_server_polls(cloud))
        results = evacuator.evacuate('compute-3')
    finally:
        listener.stop()
        transport.cleanup()
    assert sorted(r.id for r in results) == sorted(s.id for s in servers)
    # (Polls every 60 s, verify_timeout 50 s: only nova's notifications
    # can have told these instances were back.)
    assert all(r.ok for r in results), [r for r in results if not r.ok]
    assert len(_server_polls(cloud)) == before


def test_a_prepared_evacuation_starts_with_its_requests(cloud_hosts):
    """``prepare`` (the workflow calls it while the host is fenced) lists
    the host ahead: ``evacuate`` then sends every planned evacuation before
    any listing, and still evacuates an instance that came to the host
    after the preparation (the host is listed again once those are done),
    and counts one deleted meanwhile as nothing to evacuate."""
    cloud = cloud_hosts
    admin = cloud.nova(version='2.53')
    early = cloud.boot(3, 'demo-a', prefix='early', hosts=['compute-1'])
    session = cloud.session(harness.FREEZER_USER, 'service')
    sent = []
    request = session.request

    def recorded(url, method, *args, **kwargs):
        sent.append((method, url))
        return request(url, method, *args, **kwargs)
    session.request = recorded
    evacuator = nova_driver.NovaEvacuator(
        session=session, region_name=harness.REGION,
        policy=nova_policy.Policy(retry_delay=0.5, verify_timeout=60),
        poll_interval=0.2)
    evacuator.prepare('compute-1')
    late = cloud.boot(1, 'demo-b', prefix='late', hosts=['compute-1'])[0]
    gone = early[0]
    admin.servers.delete(gone.id)
    wait_for(lambda: gone.id not in {s.id for s in admin.servers.list(
        search_opts={'all_tenants': True})}, 60, message='instance deleted')
    cloud.host('compute-1').kill()
    assert _isolator(cloud).isolate('compute-1')[0] == 'done'
    del sent[:]

    results = evacuator.evacuate('compute-1')

    by_id = {r.id: r for r in results}
    assert set(by_id) == {s.id for s in early} | {late.id}
    assert all(r.ok for r in results), results
    assert by_id[gone.id].detail.startswith('deleted before its evacuation')
    moved = [early[1].id, early[2].id, late.id]
    for server_id in moved:
        assert by_id[server_id].target_host not in ('', 'compute-1')
        now = admin.servers.get(server_id)
        assert _host(now) == by_id[server_id].target_host
        assert now.status == 'ACTIVE'
    assert len(_evacuations(admin, set(moved))) == 3
    first_evacuate = next(i for i, (method, url) in enumerate(sent)
                          if method == 'POST' and url.endswith('/action'))
    listings = [i for i, (method, url) in enumerate(sent)
                if method == 'GET' and '/servers/detail' in url
                and 'host=compute-1' in url]
    assert listings and first_evacuate < listings[0], sent
    before = {url.split('/servers/')[1].split('/')[0]
              for method, url in sent[:listings[0]]
              if method == 'POST' and url.endswith('/action')}
    assert before == {s.id for s in early}, sent
