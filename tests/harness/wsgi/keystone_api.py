"""keystone's WSGI application for gunicorn. keystone parses sys.argv as
its own command line, so gunicorn's arguments must not reach it; the
configuration file comes from OS_KEYSTONE_CONFIG_FILES."""

import sys

sys.argv = sys.argv[:1]

from keystone.wsgi.api import application  # noqa: E402,F401
