"""The intake channels' data: API keys, collaborators (CC), IMAP mailboxes and the record of
every mail taken in (processed once, or kept raw when it could not be read)."""
from __future__ import annotations

import hashlib
import ipaddress
import secrets
from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from . import crypto
from .extensions import db
from .models import Agent, Department, HelpTopic, Ticket, utcnow

API_SCOPES = ("create", "read")
API_KEY_PREFIX = "hd_"


def hash_api_key(secret: str) -> str:
    """Keys are long random tokens, so a plain sha256 is enough to store them safely."""
    return hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()


class ApiKey(db.Model):
    """A key a tool (chat, shop, monitoring) uses on the REST API; only its hash is stored."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the key, so admins can tell keys apart; not enough to use it.
    prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[str] = mapped_column(String(40))  # comma separated API_SCOPES
    ip_ranges: Mapped[str] = mapped_column(Text, default="")  # one network per line; empty: any
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("agent.id", ondelete="SET NULL"))
    last_used_at: Mapped[Optional[datetime]]
    last_used_ip: Mapped[Optional[str]] = mapped_column(String(45))
    revoked_at: Mapped[Optional[datetime]]

    created_by: Mapped[Optional[Agent]] = relationship()

    @staticmethod
    def generate() -> str:
        return API_KEY_PREFIX + secrets.token_urlsafe(32)

    @property
    def scope_list(self) -> list[str]:
        return [s for s in self.scopes.split(",") if s]

    @property
    def networks(self) -> list:
        return [ipaddress.ip_network(line.strip(), strict=False)
                for line in self.ip_ranges.splitlines() if line.strip()]

    def allows_ip(self, address: str | None) -> bool:
        networks = self.networks
        if not networks:
            return True
        try:
            ip = ipaddress.ip_address((address or "").split("%")[0])
        except ValueError:
            return False
        if ip.version == 6 and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        return any(ip in net for net in networks)


class Collaborator(db.Model):
    """Someone on copy of a ticket (CC): gets its public replies and may answer, never sees notes."""

    __tablename__ = "collaborator"
    __table_args__ = (UniqueConstraint("ticket_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(120))
    # Part of the collaborator's own access link; rotated on removal so old links stop working.
    access_nonce: Mapped[str] = mapped_column(String(16), default=lambda: secrets.token_hex(8))
    added_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("agent.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    ticket: Mapped[Ticket] = relationship()
    added_by: Mapped[Optional[Agent]] = relationship()

    def __str__(self):
        return f"{self.name} <{self.email}>"


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
    # The desk's own wording of the last round's failure (imapfetch.py), never the server's text.
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
    outcome: Mapped[str] = mapped_column(String(20))  # created | replied | noted | ignored | failed | duplicate
    note: Mapped[Optional[str]] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


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
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
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
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
