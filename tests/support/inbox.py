"""The mail a real SMTP server (aiosmtpd) received, parsed; the `smtp_server` and `inbox`
fixtures serve one for the whole run; servers that refuse some recipients, and pointing the
sender at another server."""
from __future__ import annotations

import email
import email.policy
import threading


class Inbox:
    """A real SMTP server's received mail, parsed."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        msg.envelope_to = list(envelope.rcpt_tos)
        with self.lock:
            self.messages.append(msg)
        return "250 OK"

    def to(self, address: str) -> list:
        return [m for m in self.messages if address in m.envelope_to]

    def subjects(self, address: str) -> list[str]:
        return [str(m["Subject"]) for m in self.to(address)]

    def clear(self):
        with self.lock:
            self.messages.clear()

    @staticmethod
    def text(msg) -> str:
        return msg.get_body(("plain",)).get_content()

    @staticmethod
    def html(msg) -> str:
        return msg.get_body(("html",)).get_content()


class RefusingInbox(Inbox):
    """An SMTP server that refuses some recipients, like a relay that knows no such mailbox."""

    def __init__(self, refused: dict[str, str]):
        super().__init__()
        self.refused = refused

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return self.refused[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"


def point_smtp_at(app, port: int, host: str = "127.0.0.1") -> None:
    """Change where the sender delivers (Flask-Mail copies the settings when the app starts)."""
    app.config.update(MAIL_SERVER=host, MAIL_PORT=port)
    state = app.extensions["mail"]
    state.server, state.port = host, port
