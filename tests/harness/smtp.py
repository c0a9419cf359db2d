"""An SMTP server on loopback (aiosmtpd) that keeps every mail it
receives, for assertions and for the demo to show."""

import email
import email.policy
import socket
import threading

from aiosmtpd import controller


class _Keeper:
    def __init__(self):
        self.messages = []
        self.changed = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content,
                                           policy=email.policy.default)
        with self.changed:
            self.messages.append({'from': envelope.mail_from,
                                  'to': list(envelope.rcpt_tos),
                                  'subject': message['subject'],
                                  'body': message.get_body(
                                      ('plain',)).get_content()
                                  if message.get_body(('plain',))
                                  else message.get_content(),
                                  'message': message})
            self.changed.notify_all()
        return '250 Message accepted for delivery'


class MailSink:
    def __init__(self):
        self._keeper = _Keeper()
        self.port = None
        self._controller = None

    @property
    def messages(self):
        return list(self._keeper.messages)

    def start(self):
        # Controller(port=0) does not work: pick a free port first.
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            self.port = s.getsockname()[1]
        self._controller = controller.Controller(
            self._keeper, hostname='127.0.0.1', port=self.port)
        self._controller.start()
        return self

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait(self, count, timeout):
        """Wait until at least ``count`` mails arrived; return them."""
        with self._keeper.changed:
            self._keeper.changed.wait_for(
                lambda: len(self._keeper.messages) >= count, timeout)
        return self.messages
