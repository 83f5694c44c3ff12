"""Mail rows: the outbox (every mail the desk sends, kept until sent or given up on), the IMAP
mailboxes it fetches from, and the record of every mail taken in: processed once, held for an
agent to confirm, or kept raw when it could not be read."""
from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock, crypto
from ..extensions import db
from .people import Agent, Department
from .setup import HelpTopic
from .ticket import Ticket


class OutboxMail(db.Model):
    """A mail waiting to be sent, being sent, sent, or given up on (kept, never dropped).

    A mail about a ticket is queued unrendered: `kind` names its templates and `context` (JSON)
    holds what it shows as it was at the event (see mail/render.py); the sender renders
    body_text and body_html when it sends, and keeps them. Other mails are queued rendered."""

    __tablename__ = "outbox_mail"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ticket.id", ondelete="SET NULL"), index=True)
    event: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(255))
    body_text: Mapped[Optional[str]] = mapped_column(Text)  # None until rendered
    body_html: Mapped[Optional[str]] = mapped_column(Text)
    kind: Mapped[Optional[str]] = mapped_column(String(40))  # wording.KINDS key; None: queued rendered
    context: Mapped[Optional[str]] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sending|sent|failed
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=clock.current)
    next_attempt_at: Mapped[datetime] = mapped_column(default=clock.current)
    claimed_at: Mapped[Optional[datetime]]
    claim_token: Mapped[Optional[str]] = mapped_column(String(32))
    sent_at: Mapped[Optional[datetime]]
    last_error: Mapped[Optional[str]] = mapped_column(String(500))


MAILBOX_SECURITY = ("ssl", "starttls", "none")


MAILBOX_ACTIONS = ("seen", "move", "delete")


def loopback_host(host: str) -> bool:
    """True for this machine written as such: localhost, 127.0.0.0/8, ::1. Names are not looked
    up (what a name points to can change), so any other name counts as another machine."""
    host = (host or "").strip().lower().rstrip(".")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Mailbox(db.Model):
    """An IMAP mailbox the fetcher polls for one department."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    topic_id: Mapped[Optional[int]] = mapped_column(ForeignKey("help_topic.id"))
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(default=993)
    security: Mapped[str] = mapped_column(String(10), default="ssl")
    username: Mapped[str] = mapped_column(String(255))
    # Encrypted (crypto.py): set it through `password`, read it only with login_password().
    password_encrypted: Mapped[str] = mapped_column(Text, default="")
    folder: Mapped[str] = mapped_column(String(255), default="INBOX")
    action: Mapped[str] = mapped_column(String(10), default="seen")
    move_to: Mapped[str] = mapped_column(String(255), default="")
    active: Mapped[bool] = mapped_column(default=True)
    # The admin's explicit (audited) choice to send the password unencrypted to another machine.
    allow_plaintext: Mapped[bool] = mapped_column(default=False, server_default=false())
    last_fetch_at: Mapped[Optional[datetime]]
    # The desk's own wording of the last round's failure (helpdesk/mailin/imap.py), never the server's text.
    last_error: Mapped[Optional[str]] = mapped_column(String(500))

    department: Mapped[Department] = relationship()
    topic: Mapped[Optional[HelpTopic]] = relationship()

    def __str__(self):
        return self.name

    def _set_password(self, value: str) -> None:
        self.password_encrypted = crypto.encrypt(value) if value else ""

    # Write-only: reading it fails (so no form or template can show it back); see login_password.
    password = property(None, _set_password, doc="Set the password; it is stored encrypted.")

    @property
    def plaintext_refused(self) -> bool:
        """No TLS to a server that is not this machine, without the admin's explicit choice: the
        password would cross the network in clear, so the form refuses it and the fetcher never
        connects."""
        return self.security == "none" and not loopback_host(self.host) and not self.allow_plaintext

    def login_password(self) -> str:
        """The password in clear, to log in; raises crypto.Undecryptable when the key changed."""
        return crypto.decrypt(self.password_encrypted) if self.password_encrypted else ""


class ProcessedMail(db.Model):
    """One row per mail taken in, written in the same transaction as its effect (exactly once).

    `key` is the mailbox's UID ("imap:<mailbox>:<uidvalidity>:<uid>") or the Message-ID;
    a mail fetched twice, or by two fetchers at once, fails the unique constraint."""

    __tablename__ = "processed_mail"
    __table_args__ = (UniqueConstraint("key"), Index("ix_processed_mail_message_id", "message_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255))
    message_id: Mapped[Optional[str]] = mapped_column(String(255))
    ticket_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ticket.id", ondelete="SET NULL"))
    outcome: Mapped[str] = mapped_column(String(20))  # created | replied | noted | ignored | failed | rejected | spam | duplicate
    note: Mapped[Optional[str]] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=clock.current)


HELD_STATES = ("waiting", "confirmed", "discarded")


class HeldMail(db.Model):
    """A mail from an agent's address that did not prove it came from them (see mailin.py): kept
    raw, shown on the ticket, and made that agent's internal note only when they confirm it."""

    __tablename__ = "held_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[Optional[str]] = mapped_column(String(255))
    subject: Mapped[Optional[str]] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)  # the note it would become (the mail's text, trimmed)
    raw: Mapped[bytes] = mapped_column(LargeBinary)  # the whole mail: its attachments come from it
    state: Mapped[str] = mapped_column(String(10), default="waiting")  # HELD_STATES
    created_at: Mapped[datetime] = mapped_column(default=clock.current)
    decided_at: Mapped[Optional[datetime]]

    ticket: Mapped[Ticket] = relationship()
    agent: Mapped[Agent] = relationship()


class FailedMail(db.Model):
    """A mail that could not be read: kept raw for an admin to look at, never lost."""

    __tablename__ = "failed_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(140))
    error: Mapped[str] = mapped_column(String(500))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int]
    sender: Mapped[Optional[str]] = mapped_column(String(254))
    subject: Mapped[Optional[str]] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=clock.current)
