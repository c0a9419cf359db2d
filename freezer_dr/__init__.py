# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""freezer-dr: compute-node high availability for OpenStack."""

import warnings

# oslo.service (through oslo.messaging and tooz) imports eventlet, which
# warns at import that it is deprecated, nine lines on standard error of
# every command (cron mails them). freezer-dr does not use eventlet; the
# warning is not the operator's to act on.
warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')
# eventlet imports dnspython, whose DNSSEC module names DSA keys, which
# cryptography 51 warns about at import (two lines each). freezer-dr
# resolves no DNSSEC; nor is this the operator's to act on.
warnings.filterwarnings('ignore', message=r'DSA is deprecated',
                        module=r'dns\.')
