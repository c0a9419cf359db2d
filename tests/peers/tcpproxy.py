"""A TCP proxy on loopback that a test can cut: every connection through
it is closed and new ones are refused (closed at once) until it is
restored. Stands for a network cut between a service and its database."""

import socket
import threading


class TcpProxy:
    """Forwards 127.0.0.1:<port> to ``target`` (host, port)."""

    def __init__(self, target):
        self.target = target
        self._listener = socket.create_server(('127.0.0.1', 0))
        self.port = self._listener.getsockname()[1]
        self._cut = threading.Event()
        self._lock = threading.Lock()
        self._open = set()
        self._closed = False
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True,
                         name='tcpproxy').start()

    def cut(self):
        """Close every connection; refuse new ones until :meth:`restore`."""
        self._cut.set()
        with self._lock:
            for sock in list(self._open):
                _close(sock)
            self._open.clear()

    def restore(self):
        self._cut.clear()

    def close(self):
        self._closed = True
        self.cut()
        _close(self._listener)

    def _accept(self):
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._cut.is_set():
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self.accepted += 1
                self._open.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b),
                                 daemon=True).start()

    def _pipe(self, source, sink):
        try:
            while not self._cut.is_set():
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.discard(source)
                self._open.discard(sink)
            _close(source)
            _close(sink)


def _close(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
