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

"""A keystone stand-in on loopback (http.server) that issues v3 tokens of
a short, chosen lifetime and counts them: enough for keystoneauth1's
``v3password`` plugin to authenticate, find a compute endpoint and renew.
(The real keystone of the cloud harness issues hour-long tokens: a test of
renewal cannot wait that long.)"""

import datetime
import http.server
import json
import threading
import uuid


class Keystone:
    """``with Keystone(lifetime=6.0) as ks: ks.auth_url ...``;
    ``ks.issued`` lists ``(token, issued_at, expires_at)`` (epoch
    seconds) of every token issued."""

    def __init__(self, lifetime, port=0):
        self.lifetime = lifetime
        self.issued = []
        self._lock = threading.Lock()
        keystone = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get('Content-Length') or 0)
                self.rfile.read(length)
                if not self.path.endswith('/v3/auth/tokens'):
                    self.send_error(404)
                    return
                token, body = keystone._issue()
                data = json.dumps(body).encode()
                self.send_response(201)
                self.send_header('X-Subject-Token', token)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = http.server.ThreadingHTTPServer(('127.0.0.1', port),
                                                       Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.auth_url = 'http://127.0.0.1:%d/v3' % self.port

    def _issue(self):
        now = datetime.datetime.now(datetime.timezone.utc)
        expires = now + datetime.timedelta(seconds=self.lifetime)
        token = uuid.uuid4().hex

        def stamp(when):
            return when.strftime('%Y-%m-%dT%H:%M:%S.%fZ')

        with self._lock:
            self.issued.append((token, now.timestamp(),
                                expires.timestamp()))
        domain = {'id': 'default', 'name': 'Default'}
        return token, {'token': {
            'methods': ['password'], 'issued_at': stamp(now),
            'expires_at': stamp(expires),
            'user': {'id': 'u1', 'name': 'freezer-dr', 'domain': domain},
            'project': {'id': 'p1', 'name': 'service', 'domain': domain},
            'roles': [{'id': 'r1', 'name': 'admin'}],
            'catalog': [{'type': 'compute', 'name': 'nova', 'id': 'c1',
                         'endpoints': [{
                             'id': 'e1', 'interface': 'public',
                             'region': 'RegionOne', 'region_id': 'RegionOne',
                             'url': 'http://127.0.0.1:9/v2.1'}]}]}}

    def expiry_of(self, token):
        with self._lock:
            return next(e for t, _, e in self.issued if t == token)

    def __enter__(self):
        threading.Thread(target=self._server.serve_forever,
                         daemon=True).start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
