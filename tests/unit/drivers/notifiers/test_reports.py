"""What the notifiers share (pure): a report as a JSON-able dict, its event
type and text; the shipped email templates are in the package."""

import json
import os

from freezer_dr.drivers import base
from freezer_dr.drivers.notifiers import mail
from freezer_dr.drivers.notifiers import reports


def sample(recovered=True):
    return base.RecoveryReport(
        host='compute-7', incarnation='boot-1', reason='heartbeats overdue',
        recovered=recovered, failed_step='' if recovered else 'fence',
        summary='Host compute-7 ...',
        steps=(base.StepReport('fence', 'done' if recovered else 'failed',
                               'power off confirmed', 1.5),),
        instances=(base.InstanceResult('i-1', True, 'ACTIVE on c-2', 'web',
                                       'p-1', 'c-2', 'ACTIVE'),
                   base.InstanceResult('i-2', False, 'no valid host', '',
                                       'p-2')),
        started_at=1795660000.0, finished_at=1795660003.25)


def test_a_report_as_a_dict_survives_json():
    as_dict = reports.as_dict(sample())
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert as_dict['started'] == '2026-11-26T02:26:40Z'
    assert as_dict['steps'] == [{'name': 'fence', 'status': 'done',
                                 'detail': 'power off confirmed',
                                 'seconds': 1.5}]
    assert as_dict['instances'][1] == {
        'id': 'i-2', 'ok': False, 'detail': 'no valid host', 'name': '',
        'project_id': 'p-2', 'target_host': '', 'status': ''}
    assert as_dict['projects'] == ['p-1', 'p-2']


def test_event_types():
    assert reports.event_type(sample(True)) == 'freezer_dr.recovery.end'
    assert reports.event_type(sample(False)) == 'freezer_dr.recovery.error'


def test_text_names_every_instance_with_old_and_new_host():
    text = reports.text(sample(False))
    assert 'Failed step: fence. An operator must act.' in text
    assert 'web (i-1), project p-1: compute-7 -> c-2: evacuated ' \
        '(ACTIVE on c-2)' in text
    assert 'i-2, project p-2: compute-7 -> ?: NOT evacuated ' \
        '(no valid host)' in text
    assert 'Declared dead: 2026-11-26 02:26:40 UTC' in text


def test_options_without_conf_are_the_defaults_and_overrides():
    from freezer_dr.conf import webhook
    values = reports.options(None, webhook, {'timeout': 3.0, 'url': None})
    assert values['timeout'] == 3.0 and values['format'] == 'json'
    assert values['url'] is None and values['verify'] is True


def test_the_email_templates_ship_in_the_package():
    for name in mail.TEMPLATE_NAMES:
        assert os.path.isfile(os.path.join(mail.TEMPLATES, name)), name
