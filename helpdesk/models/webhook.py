"""Outgoing webhooks: the subscriptions admins set up, and one delivery row per (webhook, event),
kept until delivered or given up on (then kept, for an admin to retry)."""
from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock, crypto
from ..extensions import db
from .ticket import STATUS_LABELS, Event

# What a webhook may subscribe to, in the order the form shows them.
WEBHOOK_EVENTS = {
    "ticket.created": "Ticket created",
    "ticket.updated": "Ticket updated (status, priority, assignment, team, department, SLA plan, tags)",
    "ticket.replied": "Ticket replied (a public message of the customer, someone on copy or an agent)",
    "ticket.resolved": "Ticket resolved",
}
# The history's Event actions each kind stands for; a status change to Resolved is "resolved".
_ACTION_KINDS = {
    "created": "ticket.created",
    **dict.fromkeys(("status", "assigned", "claimed", "team", "priority", "sla", "transferred", "escalated",
                     "topic", "tagged", "untagged"), "ticket.updated"),
    **dict.fromkeys(("replied", "customer_replied", "collaborator_replied"), "ticket.replied"),
    "rule_webhook": "rule.matched",  # sent only to the webhook a rule calls (no one subscribes to it)
}
DELIVERY_STATES = ("waiting", "sending", "delivered", "failed")


def event_kind(event: Event) -> str | None:
    """The webhook event an Event of the history is, or None (notes, access links... send nothing)."""
    if event.action == "status" and event.new == STATUS_LABELS["resolved"]:
        return "ticket.resolved"
    return _ACTION_KINDS.get(event.action)


class Webhook(db.Model):
    """A URL the desk POSTs the events it subscribes to, signed with its own secret."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[str] = mapped_column(String(200), default="")  # WEBHOOK_EVENTS keys, comma-separated
    # Encrypted (crypto.py): it must be read back to sign each body, unlike an API key's hash.
    secret_encrypted: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.current)

    deliveries: Mapped[list["WebhookDelivery"]] = relationship(
        back_populates="webhook", cascade="all, delete-orphan", passive_deletes=True)

    def __str__(self):
        return self.name

    @property
    def event_list(self) -> list[str]:
        return [e for e in self.events.split(",") if e]

    @staticmethod
    def generate_secret() -> str:
        return "whsec_" + secrets.token_urlsafe(32)

    def _set_secret(self, value: str) -> None:
        self.secret_encrypted = crypto.encrypt(value)

    # Write-only, like Mailbox.password: shown once when generated, read back only to sign.
    secret = property(None, _set_secret, doc="Set the signing secret; it is stored encrypted.")

    def signing_secret(self) -> str:
        """The secret in clear; raises crypto.Undecryptable when the key changed."""
        return crypto.decrypt(self.secret_encrypted)


def _delivery_uid() -> str:
    return str(uuid.uuid4())


class WebhookDelivery(db.Model):
    """One event for one webhook: its body (built once, so every attempt sends the same bytes),
    and where its delivery stands. Written in the transaction of the event itself."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("webhook_id", "event_id", name="uq_webhook_delivery_event"),
        Index("ix_webhook_delivery_status_next", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_webhook", "webhook_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True, default=_delivery_uid)  # X-Helpdesk-Delivery
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhook.id", ondelete="CASCADE"))
    # Kept when its ticket (and so the event) is deleted: the body holds what was sent.
    event_id: Mapped[Optional[int]] = mapped_column(ForeignKey("event.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # WEBHOOK_EVENTS key
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="waiting")  # DELIVERY_STATES
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=clock.current)
    next_attempt_at: Mapped[datetime] = mapped_column(default=clock.current)
    claimed_at: Mapped[Optional[datetime]]
    claim_token: Mapped[Optional[str]] = mapped_column(String(32))
    delivered_at: Mapped[Optional[datetime]]
    last_status: Mapped[Optional[int]]  # the receiver's HTTP status, if it answered
    last_error: Mapped[Optional[str]] = mapped_column(String(500))

    webhook: Mapped[Webhook] = relationship(back_populates="deliveries")
    event: Mapped[Optional[Event]] = relationship()
