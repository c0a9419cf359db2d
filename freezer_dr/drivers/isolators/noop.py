"""The ``noop`` isolator: for a fencing-only deployment (``[recovery]
isolator = noop``). The host is not forced down nor disabled in nova; the
isolate step is journaled as skipped, saying so."""

from freezer_dr.drivers import base


class NoopIsolator(base.Isolator):
    def __init__(self, conf=None):
        pass

    def isolate(self, host):
        return base.skipped( 'no isolation configured '
                                '([recovery] isolator = noop): %s is not '
                                'forced down in nova' % host)

    def rearm(self, host):
        return base.skipped( 'no isolation configured: '
                                'nothing to undo in nova for %s' % host)
