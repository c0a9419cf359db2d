"""freezer-dr: compute-node high availability for OpenStack."""

import warnings

# oslo.service (through oslo.messaging and tooz) imports eventlet, which
# warns at import that it is deprecated, nine lines on standard error of
# every command (cron mails them). freezer-dr does not use eventlet; the
# warning is not the operator's to act on.
warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')
