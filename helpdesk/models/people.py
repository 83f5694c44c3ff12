"""People: agents (with their departments, teams, sessions, recovery codes and password
reset requests) and customers."""
from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import TYPE_CHECKING, Optional

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from .. import clock
from ..extensions import db

if TYPE_CHECKING:  # the plan a department's tickets get: a string in its annotation
    from .setup import SLAPlan
from werkzeug.security import check_password_hash, generate_password_hash

ROLES = ("agent", "manager", "admin")


ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}


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
    created_at: Mapped[datetime] = mapped_column(default=clock.current)
    # Changed whenever the password or role changes; part of the session identity,
    # so old sessions and remember-me cookies stop working.
    session_token: Mapped[str] = mapped_column(String(64), default=lambda: secrets.token_hex(16))
    # Two-factor sign-in: the TOTP secret once enrolment is confirmed (None: not enrolled), and
    # the last time step a code was accepted for, so a code works once.
    totp_secret: Mapped[Optional[str]] = mapped_column(String(64))
    totp_last_step: Mapped[Optional[int]]
    # The agent's own preferences (the account page): the colour theme ("auto" follows the
    # browser), the queue's rows ("comfortable" or "compact") and tickets per page, and which
    # browser notifications they asked for.
    theme: Mapped[str] = mapped_column(String(8), default="auto", server_default="auto")
    density: Mapped[str] = mapped_column(String(12), default="comfortable", server_default="comfortable")
    page_size: Mapped[int] = mapped_column(default=25, server_default="25")
    notify_assigned: Mapped[bool] = mapped_column(default=False, server_default=false())
    notify_replies: Mapped[bool] = mapped_column(default=False, server_default=false())
    notify_new: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Managers and admins: the weekly summary mail of their reports (helpdesk/reports/weekly.py),
    # and the Monday of the last week it was sent for (or counted as sent: the week due when they
    # asked for it), so that no week is mailed twice.
    weekly_report: Mapped[bool] = mapped_column(default=False, server_default=false())
    weekly_report_sent_for: Mapped[Optional[date]]

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
    created_at: Mapped[datetime] = mapped_column(default=clock.current)
    used_at: Mapped[Optional[datetime]]


class PasswordResetRequest(db.Model):
    """An address someone asked a password reset link for, until the outbox sender looks it up
    (notify.mail_reset_links). The form writes one for any address and answers at once, so what
    it does, and how long it takes, is the same for an agent's address and any other."""

    __tablename__ = "password_reset_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=clock.current)


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
    created_at: Mapped[datetime] = mapped_column(default=clock.current)
    last_seen_at: Mapped[datetime] = mapped_column(default=clock.current)
    ip: Mapped[Optional[str]] = mapped_column(String(45))
    user_agent: Mapped[Optional[str]] = mapped_column(String(200))


class Customer(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=clock.current)

    def __str__(self):
        return self.name
