"""A TLS terminating proxy on loopback in front of a plain TCP service (the
machine's RabbitMQ): clients speak TLS to it, with a certificate of the
test's own (tests/peers/notifiers.py ``self_signed``), and it forwards the
plain bytes. It stands for a RabbitMQ with TLS on its own port, without
touching the machine's broker. It counts the TLS connections it forwarded
(a client that does not complete a TLS handshake is closed), and can be cut
(every connection closed, new ones refused) and restored, like
tests/peers/tcpproxy.py.

Run alone: ``python -m tests.peers.tlsproxy CERT KEY [TARGET_PORT]``.
"""

import asyncio
import ssl
import sys
import threading


class TlsProxy:
    """Accepts TLS on 127.0.0.1:<port> with ``cert_file``/``key_file``,
    forwards to ``target`` (host, port)."""

    HANDSHAKE_TIMEOUT = 5.0

    def __init__(self, cert_file, key_file, target=('127.0.0.1', 5672)):
        self.target = target
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert_file, key_file)
        #: TLS connections accepted (handshake done) and forwarded.
        self.tls_connections = 0
        #: Clients refused after their handshake: the proxy was cut, or
        #: the target refused. (A client whose handshake fails, a plain
        #: one or one that does not trust the certificate, is closed by
        #: asyncio and never reaches the proxy.)
        self.refused = 0
        self.failures = []
        self._cut = False
        self._open = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever,
                                        name='tlsproxy', daemon=True)
        self._thread.start()
        self._server = self._run(asyncio.start_server(
            self._handle, '127.0.0.1', 0, ssl=self.context,
            ssl_handshake_timeout=self.HANDSHAKE_TIMEOUT))
        self.port = self._server.sockets[0].getsockname()[1]

    def _run(self, coroutine, timeout=10):
        return asyncio.run_coroutine_threadsafe(
            coroutine, self._loop).result(timeout)

    def cut(self):
        """Close every connection; refuse new ones until :meth:`restore`."""
        async def cut():
            self._cut = True
            for writer in list(self._open):
                writer.close()
            self._open.clear()
        self._run(cut())

    def restore(self):
        self._cut = False

    def close(self):
        async def close():
            self._server.close()
            self._cut = True
            for writer in list(self._open):
                writer.close()
            self._open.clear()
        try:
            self._run(close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)

    async def _handle(self, reader, writer):
        if self._cut:
            self.refused += 1
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(
                *self.target)
        except OSError as exc:
            self.refused += 1
            self.failures.append('upstream: %s' % exc)
            writer.close()
            return
        if self._cut:
            self.refused += 1
            writer.close()
            up_writer.close()
            return
        self.tls_connections += 1
        self._open.update((writer, up_writer))
        try:
            await asyncio.gather(self._pipe(reader, up_writer),
                                 self._pipe(up_reader, writer))
        finally:
            for w in (writer, up_writer):
                self._open.discard(w)
                w.close()

    @staticmethod
    async def _pipe(reader, writer):
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except (OSError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()


if __name__ == '__main__':
    proxy = TlsProxy(sys.argv[1], sys.argv[2],
                     ('127.0.0.1', int(sys.argv[3]) if len(sys.argv) > 3
                      else 5672))
    print(proxy.port, flush=True)
    threading.Event().wait()
