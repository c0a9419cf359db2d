"""The email notifier's start-up check of its SMTP settings (no server
contacted: sending is proven against aiosmtpd in the functional tests)."""

import pytest

from freezer_dr.drivers import base
from freezer_dr.drivers.notifiers import mail


class Contacts:
    def project(self, project_id):
        raise AssertionError('not looked up at start')


def _notifier(**options):
    options.setdefault('admins', ['ops@example.org'])
    return mail.EmailNotifier(contacts=Contacts(), **options)


def test_good_settings_pass():
    assert _notifier(sender='freezer-dr@example.org').validate() == []


@pytest.mark.parametrize('options,option,why', [
    ({'sender': 'freezer-dr'}, '[email] sender', 'not a mail address'),
    ({'admins': ['ops@example.org', 'oncall']}, '[email] admins',
     "'oncall' is not a mail address"),
    ({'admins': [], 'project_mails': False}, '[email] admins',
     'nobody would be mailed'),
    ({'user': 'freezer'}, '[email] password', 'the password is not'),
    ({'ca_file': '/nonexistent/ca.pem'}, '[email] ca_file', 'cannot read'),
])
def test_settings_that_cannot_work_name_the_option(options, option, why):
    options.setdefault('sender', 'freezer-dr@example.org')
    with pytest.raises(base.ConfigurationError) as error:
        _notifier(**options).validate()
    assert error.value.option == option
    assert why in str(error.value)
