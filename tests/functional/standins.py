"""Small stand-in drivers for the recovery workflow run in the test's own
process: they count what they do (the real BMC, nova and SMTP peers come
with the real drivers; tests/functional/plugins.py has the drivers for
engines in processes of their own)."""

from freezer_dr.drivers import base


class Fencer(base.Fencer):
    """Confirms a power-off (or, with ``confirm=False``, cannot)."""

    CAN_CONFIRM = True

    def __init__(self, confirm=True):
        self.calls = 0
        self.confirm = confirm

    def fence(self, host):
        self.calls += 1
        return base.FenceResult(host, self.confirm,
                                'power off read back' if self.confirm
                                else 'BMC did not answer')


class Evacuator(base.Evacuator):
    """Evacuates ``instances`` (project p-1) to host ``other``, keeping
    the list of what it evacuated."""

    def __init__(self, instances=('i-1', 'i-2')):
        self.evacuated = []
        self.instances = instances

    def evacuate(self, host, guard=None):
        self.evacuated.extend(self.instances)
        return [base.InstanceResult(i, True, 'ACTIVE on other',
                                    project_id='p-1', target_host='other')
                for i in self.instances]


class Notifier(base.Notifier):
    """Keeps the reports it was given, and a line for each."""

    def __init__(self):
        self.sent = []
        self.reports = []

    def notify(self, report):
        self.reports.append(report)
        self.sent.append(('recovered %s' if report.recovered
                          else 'could NOT recover %s') % report.host)
        return 'sent'
