"""A redis-server of a test's own, on a free loopback port, that the test
may stop and start again (the machine's redis is shared: never stop it)."""

import shutil
import socket
import subprocess

from tests.helpers import wait_for


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self, processes, directory, name='redis'):
        self.processes = processes
        self.directory = str(directory)
        self.name = name
        self.port = _free_port()
        self.process = None
        self.url = 'redis://127.0.0.1:%d' % self.port

    def start(self):
        binary = shutil.which('redis-server')
        assert binary, 'redis-server is not installed'
        self.process = self.processes.start(self.name, [
            binary, '--port', str(self.port), '--bind', '127.0.0.1',
            '--save', '', '--appendonly', 'no', '--dir', self.directory])
        wait_for(self.answers, 30, message='redis-server on port %d'
                 % self.port)
        return self

    def answers(self):
        try:
            with socket.create_connection(('127.0.0.1', self.port),
                                          timeout=1) as s:
                s.sendall(b'PING\r\n')
                return s.recv(16).startswith(b'+PONG')
        except OSError:
            return False

    def stop(self):
        self.process.kill()
        wait_for(lambda: not self.answers(), 10, message='redis stopped')


def cli(port, *args):
    return subprocess.run(['redis-cli', '-p', str(port), *args],
                          capture_output=True, text=True, timeout=10)
