"""The mail a real SMTP server (aiosmtpd) received, parsed; the `smtp_server` and `inbox`
fixtures serve one for the whole run."""
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
