"""The desk's data: tickets and their threads, people, and the desk's configuration."""
from __future__ import annotations

import secrets
from datetime import date, datetime, timezone
from typing import Optional

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates
from werkzeug.security import check_password_hash, generate_password_hash

from .extensions import db


def utcnow() -> datetime:
    """Now, as a naive UTC datetime: every stored time is naive UTC."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


ROLES = ("agent", "manager", "admin")
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}

SOURCES = ("web", "email", "phone", "api", "chat", "agent")

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

PASSWORD_MAX = 128
PASSWORD_MIN = 8
# werkzeug's default (scrypt). The hash records its method, so checking works whatever this is.
PASSWORD_METHOD = "scrypt"


agent_departments = db.Table(
    "agent_department",
    db.Column("agent_id", ForeignKey("agent.id", ondelete="CASCADE"), primary_key=True),
    db.Column("department_id", ForeignKey("department.id", ondelete="CASCADE"), primary_key=True),
)

team_members = db.Table(
    "team_member",
    db.Column("team_id", ForeignKey("team.id", ondelete="CASCADE"), primary_key=True),
    db.Column("agent_id", ForeignKey("agent.id", ondelete="CASCADE"), primary_key=True),
)


class Department(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    email: Mapped[Optional[str]] = mapped_column(String(254))
    manager_id: Mapped[Optional[int]] = mapped_column(ForeignKey("agent.id", use_alter=True))
    sla_id: Mapped[Optional[int]] = mapped_column(ForeignKey("sla_plan.id"))
    active: Mapped[bool] = mapped_column(default=True)

    manager: Mapped[Optional["Agent"]] = relationship(foreign_keys=[manager_id])
    sla: Mapped[Optional["SLAPlan"]] = relationship()
    agents: Mapped[list["Agent"]] = relationship(
        secondary=agent_departments, back_populates="departments", order_by="Agent.name"
    )

    def __str__(self):
        return self.name


class Team(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    lead_id: Mapped[Optional[int]] = mapped_column(ForeignKey("agent.id", use_alter=True))
    active: Mapped[bool] = mapped_column(default=True)

    lead: Mapped[Optional["Agent"]] = relationship(foreign_keys=[lead_id])
    members: Mapped[list["Agent"]] = relationship(
        secondary=team_members, back_populates="teams", order_by="Agent.name"
    )

    def __str__(self):
        return self.name


class Agent(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="agent")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Changed whenever the password or role changes; part of the session identity,
    # so old sessions and remember-me cookies stop working.
    session_token: Mapped[str] = mapped_column(String(64), default=lambda: secrets.token_hex(16))
    # Two-factor sign-in: the TOTP secret once enrolment is confirmed (None: not enrolled), and
    # the last time step a code was accepted for, so a code works once.
    totp_secret: Mapped[Optional[str]] = mapped_column(String(64))
    totp_last_step: Mapped[Optional[int]]

    departments: Mapped[list[Department]] = relationship(
        secondary=agent_departments, back_populates="agents", order_by="Department.name"
    )
    teams: Mapped[list[Team]] = relationship(
        secondary=team_members, back_populates="members", order_by="Team.name"
    )

    def __str__(self):
        return self.name

    # Flask-Login
    @property
    def is_active(self):
        return self.active

    def get_id(self):
        """The signed-in session's identity, "agent id:session key": the Flask session and the
        remember-me cookie name one StaffSession (helpdesk/auth.py sets the key at sign-in and
        when it loads the agent for a request)."""
        key = getattr(self, "staff_session_key", None)
        if not key:
            raise RuntimeError("This agent is not signed in through a staff session.")
        return f"{self.id}:{key}"

    def __eq__(self, other):
        """The same agent (UserMixin would compare sign-in identities, which rows not signed in
        have none of)."""
        if isinstance(other, Agent):
            return self is other or (self.id is not None and self.id == other.id)
        return NotImplemented

    def __ne__(self, other):
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = object.__hash__

    def set_password(self, password: str) -> None:
        if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
            raise ValueError(f"Passwords are {PASSWORD_MIN} to {PASSWORD_MAX} characters long.")
        self.password_hash = generate_password_hash(password, method=PASSWORD_METHOD)
        self.session_token = secrets.token_hex(16)

    @validates("role")
    def _rotate_on_role_change(self, key, role):
        """A privilege change ends the agent's sessions: they sign in again with the new role."""
        if role not in ROLE_RANK:
            raise ValueError(f"Unknown role: {role!r}")
        if self.role is not None and role != self.role:
            self.session_token = secrets.token_hex(16)
        return role

    def check_password(self, password: str) -> bool:
        if not password or len(password) > PASSWORD_MAX:
            return False
        return check_password_hash(self.password_hash, password)

    def has_role(self, role: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]

    @property
    def is_manager(self):
        return self.has_role("manager")

    @property
    def is_admin(self):
        return self.has_role("admin")


class RecoveryCode(db.Model):
    """One of an agent's single-use two-factor recovery codes, stored hashed (salt$sha256)."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[Optional[datetime]]


class PasswordResetRequest(db.Model):
    """An address someone asked a password reset link for, until the outbox sender looks it up
    (account.mail_reset_links). The form writes one for any address and answers at once, so what
    it does, and how long it takes, is the same for an agent's address and any other."""

    __tablename__ = "password_reset_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StaffSession(db.Model):
    """One sign-in of an agent on one device. The Flask session and the remember-me cookie carry
    its random key (stored here only as a SHA-256); sign-out deletes the row, so copies of those
    cookies stop working, while the agent's other devices keep theirs. The idle timeout reads
    last_seen_at, whichever cookie brought the session back. agent_token is the agent's
    session_token at sign-in: a change of role, password or two-factor setting ends the rest."""

    __tablename__ = "staff_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    agent_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ip: Mapped[Optional[str]] = mapped_column(String(45))
    user_agent: Mapped[Optional[str]] = mapped_column(String(200))


class Customer(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __str__(self):
        return self.name


class Priority(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    colour: Mapped[str] = mapped_column(String(7))
    # Higher is more urgent; queues sort on it.
    urgency: Mapped[int] = mapped_column(unique=True)

    def __str__(self):
        return self.name


class SLAPlan(db.Model):
    __tablename__ = "sla_plan"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    grace_hours: Mapped[int]  # resolution target, in hours of the schedule
    first_response_hours: Mapped[Optional[int]]
    # "24x7", or "business": business_days (0 = Monday, comma separated) from opens_at to
    # closes_at ("HH:MM") in `timezone` (blank: the desk's), minus the plan's holidays.
    schedule: Mapped[str] = mapped_column(String(16), default="24x7")
    business_days: Mapped[str] = mapped_column(String(20), default="0,1,2,3,4")
    opens_at: Mapped[str] = mapped_column(String(5), default="09:00")
    closes_at: Mapped[str] = mapped_column(String(5), default="17:00")
    timezone: Mapped[str] = mapped_column(String(64), default="")
    # What happens to a ticket that goes overdue under this plan.
    overdue_alerts: Mapped[bool] = mapped_column(default=True)
    escalate_raise_priority: Mapped[bool] = mapped_column(default=False)
    escalate_team_id: Mapped[Optional[int]] = mapped_column(ForeignKey("team.id"))
    active: Mapped[bool] = mapped_column(default=True)

    escalate_team: Mapped[Optional["Team"]] = relationship()
    holidays: Mapped[list["SLAHoliday"]] = relationship(
        back_populates="sla", order_by="SLAHoliday.day", cascade="all, delete-orphan"
    )

    def __str__(self):
        hours = f"{self.grace_hours} business h" if self.schedule == "business" else f"{self.grace_hours} h"
        return f"{self.name} ({hours})"

    def due_from(self, start: datetime, desk_timezone: str = "UTC") -> datetime:
        """Resolution due time for a clock started at `start`, without pauses, under this
        plan's schedule (business hours count only open hours; see helpdesk/sla.py)."""
        from . import sla

        return sla.add_business_seconds(sla.schedule_for(self, desk_timezone), start, self.grace_hours * 3600)


class SLAHoliday(db.Model):
    """A day on which a business-hours plan's clock does not run."""

    __tablename__ = "sla_holiday"
    __table_args__ = (UniqueConstraint("sla_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sla_id: Mapped[int] = mapped_column(ForeignKey("sla_plan.id", ondelete="CASCADE"))
    day: Mapped[date]
    name: Mapped[str] = mapped_column(String(120), default="")

    sla: Mapped[SLAPlan] = relationship(back_populates="holidays")


class HelpTopic(db.Model):
    __tablename__ = "help_topic"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    public: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)
    instructions: Mapped[str] = mapped_column(Text, default="")
    department_id: Mapped[Optional[int]] = mapped_column(ForeignKey("department.id"))
    priority_id: Mapped[Optional[int]] = mapped_column(ForeignKey("priority.id"))
    sla_id: Mapped[Optional[int]] = mapped_column(ForeignKey("sla_plan.id"))
    assign_agent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("agent.id"))
    assign_team_id: Mapped[Optional[int]] = mapped_column(ForeignKey("team.id"))
    customer_sets_priority: Mapped[bool] = mapped_column(default=False)
    auto_acknowledge: Mapped[bool] = mapped_column(default=True)
    sort: Mapped[int] = mapped_column(default=0)
    # A child topic's unset department, priority, SLA plan, instructions and assignment are its parent's.
    parent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("help_topic.id"))
    # "" (none here: the parent's, or the agent/team set above), "agent", "team" or "round_robin"
    # (the team's active members in turn; rr_last_agent_id is the last one given a ticket).
    assign_mode: Mapped[str] = mapped_column(String(16), default="")
    rr_last_agent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("agent.id", ondelete="SET NULL"))

    department: Mapped[Optional[Department]] = relationship()
    priority: Mapped[Optional[Priority]] = relationship()
    sla: Mapped[Optional[SLAPlan]] = relationship()
    assign_agent: Mapped[Optional[Agent]] = relationship(foreign_keys=[assign_agent_id])
    assign_team: Mapped[Optional[Team]] = relationship()
    parent: Mapped[Optional["HelpTopic"]] = relationship(remote_side=[id])

    def __str__(self):
        return self.name

    @property
    def full_name(self):
        return f"{self.parent.name} › {self.name}" if self.parent else self.name

    def lineage(self):
        """This topic, its parent, the parent's parent... (a cycle ends the walk)."""
        seen, topic = set(), self
        while topic is not None and id(topic) not in seen:
            seen.add(id(topic))
            yield topic
            topic = topic.parent

    def _inherited(self, attr):
        for topic in self.lineage():
            value = getattr(topic, attr)
            if value and getattr(value, "active", True):
                return value
        return None

    @property
    def effective_department(self) -> Optional[Department]:
        return self._inherited("department")

    @property
    def effective_priority(self) -> Optional[Priority]:
        return self._inherited("priority")

    @property
    def effective_sla(self) -> Optional[SLAPlan]:
        return self._inherited("sla")

    @property
    def effective_instructions(self) -> str:
        return self._inherited("instructions") or ""

    def effective_assignment(self):
        """(mode, agent, team, topic that defines it); mode "" when nothing is auto-assigned."""
        for topic in self.lineage():
            mode = topic.assign_mode or (
                "agent" if topic.assign_agent_id else "team" if topic.assign_team_id else "")
            if mode:
                return mode, topic.assign_agent, topic.assign_team, topic
        return "", None, None, self


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
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[Optional[datetime]]
    closed_at: Mapped[Optional[datetime]]
    reopened_at: Mapped[Optional[datetime]]
    is_overdue: Mapped[bool] = mapped_column(default=False)
    # The SLA clock (tickets._recompute_due): the first-response target, when the first agent
    # answer came, and whether each target was met (None until known). For reports.
    first_response_due_at: Mapped[Optional[datetime]]
    first_responded_at: Mapped[Optional[datetime]]
    first_response_breached: Mapped[Optional[bool]]
    resolution_breached: Mapped[Optional[bool]]
    is_answered: Mapped[bool] = mapped_column(default=False)
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
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

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
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

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
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="events")
    agent: Mapped[Optional[Agent]] = relationship()
    customer: Mapped[Optional[Customer]] = relationship()

    @property
    def actor_name(self):
        if self.agent:
            return self.agent.name
        if self.customer:
            return self.customer.name
        return "System"


class OutboxMail(db.Model):
    """A mail waiting to be sent, being sent, sent, or given up on (kept, never dropped)."""

    __tablename__ = "outbox_mail"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ticket.id", ondelete="SET NULL"), index=True)
    event: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(255))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sending|sent|failed
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[Optional[datetime]]
    claim_token: Mapped[Optional[str]] = mapped_column(String(32))
    sent_at: Mapped[Optional[datetime]]
    last_error: Mapped[Optional[str]] = mapped_column(String(500))


class IdempotencyKey(db.Model):
    """A submitted form's one-time key, so a double submit never opens two tickets."""

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Setting(db.Model):
    """A desk setting an admin changed (helpdesk.settings: the environment gives the defaults)."""

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")


class AuditEntry(db.Model):
    """One changed field of the desk's configuration: who, when, what, from, to."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_type_id", "object_type", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    agent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("agent.id", ondelete="SET NULL"))
    agent_name: Mapped[str] = mapped_column(String(120), default="")
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[Optional[int]]
    object_name: Mapped[str] = mapped_column(String(200), default="")
    field: Mapped[str] = mapped_column(String(64))
    old: Mapped[Optional[str]] = mapped_column(String(500))
    new: Mapped[Optional[str]] = mapped_column(String(500))
class SLAPause(db.Model):
    """A stretch in which a ticket's resolution clock stood still: it awaited the customer.
    `ended_at` is None while the ticket still waits."""

    __tablename__ = "sla_pause"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime]
    ended_at: Mapped[Optional[datetime]]
class MailTemplate(db.Model):
    """An admin's wording for one kind of mail (helpdesk.mail_templates): its subject and its
    opening message. No row, or an empty field: the built-in wording."""

    __tablename__ = "mail_template"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # e.g. "reply_customer"
    subject: Mapped[Optional[str]] = mapped_column(String(250))
    message: Mapped[Optional[str]] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


from .live_models import DeskState, Presence  # noqa: E402,F401  (tables of the live agent panel)
from .channels_models import (  # noqa: E402,F401  (the intake channels' tables)
    ApiKey, Collaborator, FailedMail, HeldMail, Mailbox, ProcessedMail,
)
