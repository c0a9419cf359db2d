"""The ``static`` monitor: the hosts of ``[static_monitor] hosts``."""

from freezer_dr.drivers import base


class StaticMonitor(base.Monitor):
    """Reports the hosts the configuration lists (drills)."""

    def __init__(self, conf):
        self._hosts = [h.strip() for h in conf.static_monitor.hosts
                       if h.strip()]

    def validate(self):
        if not self._hosts:
            return ['[static_monitor] hosts is empty: the static monitor '
                    'reports no failed host']
        return []

    def failed_hosts(self):
        return list(self._hosts)
