"""nova's compute API for gunicorn. nova parses sys.argv as its own
command line, so gunicorn's arguments must not reach it; the configuration
comes from OS_NOVA_CONFIG_DIR / OS_NOVA_CONFIG_FILES."""

import sys

sys.argv = sys.argv[:1]

from nova.wsgi.osapi_compute import application  # noqa: E402,F401
