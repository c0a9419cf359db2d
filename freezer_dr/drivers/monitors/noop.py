"""The ``none`` monitor: reports no failed host."""

from freezer_dr.drivers import base


class NoFailuresMonitor(base.Monitor):
    """Reports no failed host (the one-shot command then prints
    "No failed nodes")."""

    def __init__(self, conf=None):
        pass

    def failed_hosts(self):
        return []
