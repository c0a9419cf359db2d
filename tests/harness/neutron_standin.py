"""A neutron stand-in: NOT neutron. It answers the few queries nova makes
about ports and networks for instances booted with ``networks: none``
(every list is empty, every single resource is not found), and logs each
request, so the cloud harness needs no neutron-server.

    python -m tests.harness.neutron_standin --port 26004
"""

import argparse
import http.server
import json
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def _send(self, status, body=None):
        data = b'' if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _parts(self):
        path = self.path.split('?', 1)[0].strip('/')
        parts = [p for p in path.split('/') if p]
        if parts and parts[0] == 'v2.0':
            parts = parts[1:]
        if parts:
            parts[-1] = parts[-1].rsplit('.json', 1)[0]
        return parts

    def do_GET(self):
        parts = self._parts()
        if not parts:
            self._send(200, {'versions': [{'id': 'v2.0', 'status': 'CURRENT',
                                           'links': []}]})
        elif len(parts) == 1:
            # A list: ports, networks, extensions, security-groups, ...
            self._send(200, {parts[0].replace('-', '_'): []})
        else:
            self._not_found(parts)

    def _not_found(self, parts):
        self._send(404, {'NeutronError': {
            'type': 'NotFound', 'detail': '',
            'message': 'the neutron stand-in has no %s' % '/'.join(parts)}})

    def do_DELETE(self):
        self._not_found(self._parts())

    def do_POST(self):
        self._read_body()
        self._not_found(self._parts())

    do_PUT = do_POST

    def _read_body(self):
        length = int(self.headers.get('Content-Length') or 0)
        if length:
            self.rfile.read(length)

    def log_message(self, fmt, *args):
        sys.stdout.write('%s\n' % (fmt % args))
        sys.stdout.flush()


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--port', type=int, required=True)
    args = parser.parse_args(argv)
    server = http.server.ThreadingHTTPServer(('127.0.0.1', args.port),
                                             Handler)
    print('neutron stand-in on 127.0.0.1:%d' % args.port, flush=True)
    server.serve_forever()


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
