"""A ticket and what hangs off it: its thread, attachments, history events, SLA pauses,
the people on copy, and the one-time keys that stop a double submit opening two tickets."""
from __future__ import annotations

import secrets
from datetime import datetime
from typing import Optional

from sqlalchemy import Computed, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..extensions import db
from .people import Agent, Customer, Department, Team
from .setup import HelpTopic, Priority, SLAPlan

SOURCES = ("web", "email", "phone", "api", "chat", "agent")
SOURCE_LABELS = {"web": "Web form", "email": "Email", "phone": "Phone", "api": "API", "chat": "Chat",
                 "agent": "In person or other"}


# Ticket statuses. "Active" statuses are the ones still being worked.
STATUSES = ("new", "open", "pending", "escalated", "resolved", "closed")


ACTIVE_STATUSES = ("new", "open", "pending", "escalated")


DONE_STATUSES = ("resolved", "closed")


STATUS_LABELS = {
    "new": "New",
    "open": "Open",
    "pending": "Awaiting customer",
    "escalated": "Escalated",
    "resolved": "Resolved",
    "closed": "Closed",
}


ENTRY_KINDS = ("message", "reply", "note")

# When a ticket still being worked and not yet flagged overdue passes its next due time (the
# first-response target until the first answer, then or also the resolution target); NULL once
# flagged or no longer worked. Computed by the database from the columns it reads, so no code
# path can forget it; indexed, so the overdue check and the Overdue queue read only the tickets
# that crossed a due time since the last check, whatever the desk's size.
NEXT_DUE_SQL = (
    f"CASE WHEN is_overdue OR status NOT IN ({', '.join(repr(s) for s in ACTIVE_STATUSES)}) THEN NULL "
    "WHEN first_responded_at IS NULL AND first_response_due_at IS NOT NULL "
    "AND (due_at IS NULL OR first_response_due_at < due_at) THEN first_response_due_at "
    "ELSE due_at END"
)


class Ticket(db.Model):
    __table_args__ = (
        Index("ix_ticket_status_updated", "status", "updated_at"),
        Index("ix_ticket_status_due", "status", "due_at"),
        Index("ix_ticket_status_urgency", "status", "urgency"),
        Index("ix_ticket_assignee_status", "assignee_id", "status"),
        Index("ix_ticket_department_status", "department_id", "status"),
        Index("ix_ticket_team_status", "team_id", "status"),
        # Queue orderings: a page is read straight off an index, whatever the desk's size.
        Index("ix_ticket_urgency_updated", "urgency", "updated_at", "id"),
        Index("ix_ticket_due_id", "due_at", "id"),
        Index("ix_ticket_updated_id", "updated_at", "id"),
        Index("ix_ticket_next_due_at", "next_due_at"),
        # Reports read the tickets of a period by when they were answered or finished, or when a
        # target fell due; open tickets by age.
        # Only answered tickets: SQLite reckons a value of an index shared by as many tickets as any
        # other, and would read the never-answered ones (tens of thousands) through it.
        Index("ix_ticket_first_responded_at", "first_responded_at",
              sqlite_where=db.text("first_responded_at IS NOT NULL"),
              postgresql_where=db.text("first_responded_at IS NOT NULL")),
        Index("ix_ticket_finished_at", "finished_at"),
        Index("ix_ticket_first_response_due_at", "first_response_due_at"),
        Index("ix_ticket_status_created", "status", "created_at"),
        # First responses left past their target: a few tickets among all those due in a period.
        Index("ix_ticket_unanswered_due", "first_response_due_at", sqlite_where=db.text("first_responded_at IS NULL"),
              postgresql_where=db.text("first_responded_at IS NULL")),
        # The newest breaches, listed: read newest first until enough are found.
        Index("ix_ticket_fr_breached_created", "created_at", sqlite_where=db.text("first_response_breached IS 1"),
              postgresql_where=db.text("first_response_breached IS true")),
        Index("ix_ticket_res_breached_created", "created_at", sqlite_where=db.text("resolution_breached IS 1"),
              postgresql_where=db.text("resolution_breached IS true")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(12), unique=True)
    subject: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="new")
    priority_id: Mapped[int] = mapped_column(ForeignKey("priority.id"))
    # Copy of priority.urgency so queues sort by priority on an index, without a join.
    urgency: Mapped[int] = mapped_column(default=2)
    topic_id: Mapped[Optional[int]] = mapped_column(ForeignKey("help_topic.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    assignee_id: Mapped[Optional[int]] = mapped_column(ForeignKey("agent.id"))
    team_id: Mapped[Optional[int]] = mapped_column(ForeignKey("team.id"))
    sla_id: Mapped[Optional[int]] = mapped_column(ForeignKey("sla_plan.id"))
    due_at: Mapped[Optional[datetime]]
    source: Mapped[str] = mapped_column(String(16), default="web")
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.current, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=clock.current)
    resolved_at: Mapped[Optional[datetime]]
    closed_at: Mapped[Optional[datetime]]
    reopened_at: Mapped[Optional[datetime]]
    is_overdue: Mapped[bool] = mapped_column(default=False)
    next_due_at: Mapped[Optional[datetime]] = mapped_column(Computed(NEXT_DUE_SQL, persisted=True))
    # The SLA clock (helpdesk/tickets/deadlines.py): the first-response target, when the first agent
    # answer came, and whether each target was met (None until known). For reports.
    first_response_due_at: Mapped[Optional[datetime]]
    first_responded_at: Mapped[Optional[datetime]]
    first_response_breached: Mapped[Optional[bool]]
    resolution_breached: Mapped[Optional[bool]]
    is_answered: Mapped[bool] = mapped_column(default=False)
    # What reports measure, recorded by the lifecycle as it happens (helpdesk/tickets/deadlines.py):
    # when work last ended (resolved, or closed unresolved; None while worked or once reopened);
    # seconds from creation to the first answer and to that end, on the wall clock and in the
    # SLA plan's hours (the resolution's without the time awaiting the customer or spent
    # resolved before a reopening); how often the ticket was reopened.
    finished_at: Mapped[Optional[datetime]]
    first_response_secs: Mapped[Optional[int]]
    first_response_work_secs: Mapped[Optional[int]]
    resolution_secs: Mapped[Optional[int]]
    resolution_work_secs: Mapped[Optional[int]]
    reopen_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # The API key that opened the ticket (None: any other way in). Only that key may add
    # messages to it or have its link mailed through the API; a revoked key keeps the row.
    api_key_id: Mapped[Optional[int]] = mapped_column(ForeignKey("api_key.id", ondelete="SET NULL"))
    # Rotated to revoke every access link mailed so far.
    access_nonce: Mapped[str] = mapped_column(String(16), default=lambda: secrets.token_hex(8))
    version: Mapped[int] = mapped_column(default=1)

    # The lifecycle sets the next version itself; the UPDATE only applies to the version read.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    priority: Mapped[Priority] = relationship(lazy="joined")
    topic: Mapped[Optional[HelpTopic]] = relationship()
    department: Mapped[Department] = relationship()
    assignee: Mapped[Optional[Agent]] = relationship()
    team: Mapped[Optional[Team]] = relationship()
    sla: Mapped[Optional[SLAPlan]] = relationship()
    customer: Mapped[Customer] = relationship()
    entries: Mapped[list["ThreadEntry"]] = relationship(
        back_populates="ticket", order_by="ThreadEntry.id", cascade="all, delete-orphan"
    )
    events: Mapped[list["Event"]] = relationship(
        back_populates="ticket", order_by="Event.id", cascade="all, delete-orphan"
    )

    def __str__(self):
        return f"#{self.number}"

    @property
    def status_label(self):
        return STATUS_LABELS[self.status]

    @property
    def is_active(self):
        return self.status in ACTIVE_STATUSES

    @property
    def source_label(self):
        return SOURCE_LABELS.get(self.source, self.source)

    def overdue_at(self, now: datetime) -> bool:
        """Past its resolution or first-response due time and still being worked (exact,
        whatever the flag says)."""
        if not self.is_active:
            return False
        if self.due_at is not None and self.due_at < now:
            return True
        return (self.first_responded_at is None and self.first_response_due_at is not None
                and self.first_response_due_at < now)


# The kinds of thread entry a customer sees (and the API shows): their messages and the agents'
# replies. Internal notes never. Read at call time (ThreadEntry.public()), one place to change.
PUBLIC_KINDS = ("message", "reply")


class ThreadEntry(db.Model):
    __tablename__ = "thread_entry"
    # Reports count the replies of a period per agent from this index alone.
    __table_args__ = (Index("ix_thread_entry_created", "created_at", "kind", "agent_id", "ticket_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # message | reply | note
    agent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("agent.id"))
    customer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("customer.id"))
    # A message from someone on copy of the ticket (not the customer).
    collaborator_id: Mapped[Optional[int]] = mapped_column(ForeignKey("collaborator.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)  # as written (plain text / light Markdown)
    body_html: Mapped[str] = mapped_column(Text)  # rendered and sanitised
    # How it reached the desk when not through the web pages: "email" (received by mail).
    via: Mapped[Optional[str]] = mapped_column(String(16))
    # What an agent's public entry was for, beyond a reply: "question" (asked the customer, the
    # ticket then awaited them) or "resolution".
    purpose: Mapped[Optional[str]] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=clock.current)

    ticket: Mapped[Ticket] = relationship(back_populates="entries")
    agent: Mapped[Optional[Agent]] = relationship()
    customer: Mapped[Optional[Customer]] = relationship()
    collaborator: Mapped[Optional["Collaborator"]] = relationship()
    attachments: Mapped[list["Attachment"]] = relationship(
        back_populates="entry", order_by="Attachment.id"
    )

    @property
    def is_public(self):
        return self.kind != "note"

    @classmethod
    def public(cls):
        """The SQL condition for entries a customer may see."""
        return cls.kind.in_(PUBLIC_KINDS)

    @property
    def author_name(self):
        if self.agent:
            return self.agent.name
        if self.collaborator:
            return self.collaborator.name
        if self.customer:
            return self.customer.name
        return "System"


class Attachment(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("thread_entry.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    # Random name of the stored file under the upload folder; never derived from the upload.
    storage_key: Mapped[str] = mapped_column(String(80), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.current)

    ticket: Mapped[Ticket] = relationship()
    entry: Mapped[ThreadEntry] = relationship(back_populates="attachments")


class Event(db.Model):
    """One line of a ticket's history: who did what, when, from what to what."""

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    agent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("agent.id"))
    customer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("customer.id"))
    action: Mapped[str] = mapped_column(String(32))
    old: Mapped[Optional[str]] = mapped_column(String(200))
    new: Mapped[Optional[str]] = mapped_column(String(200))
    note: Mapped[Optional[str]] = mapped_column(String(500))
    # The ticket's version once this event was written: what changed since version N.
    version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=clock.current)
    # The automation rule that did it (its name kept as it was, should the rule go).
    rule_id: Mapped[Optional[int]] = mapped_column(ForeignKey("rule.id", ondelete="SET NULL"))
    rule_name: Mapped[Optional[str]] = mapped_column(String(120))

    ticket: Mapped[Ticket] = relationship(back_populates="events")
    agent: Mapped[Optional[Agent]] = relationship()
    customer: Mapped[Optional[Customer]] = relationship()

    @property
    def actor_name(self):
        if self.agent:
            return self.agent.name
        if self.rule_name:
            return f"Rule “{self.rule_name}”"
        if self.customer:
            return self.customer.name
        return "System"


class SLAPause(db.Model):
    """A stretch in which a ticket's resolution clock stood still: it awaited the customer.
    `ended_at` is None while the ticket still waits."""

    __tablename__ = "sla_pause"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime]
    ended_at: Mapped[Optional[datetime]]


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
    created_at: Mapped[datetime] = mapped_column(default=clock.current)

    ticket: Mapped[Ticket] = relationship()
    added_by: Mapped[Optional[Agent]] = relationship()

    def __str__(self):
        return f"{self.name} <{self.email}>"


class IdempotencyKey(db.Model):
    """A submitted form's one-time key, so a double submit never opens two tickets."""

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=clock.current)
