"""Automations: rules that act on tickets when something happens to them (event rules) or when
time has passed (time rules), and the record that a time rule acted on a ticket once.

A rule's conditions and actions are JSON lists, read and checked by helpdesk/automations/."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..extensions import db
from .people import Agent, Department

RULE_KINDS = {"event": "When something happens", "time": "When time has passed"}

# What an event rule waits for (from the ticket's history Events; see automations/engine.py).
TRIGGERS = {
    "opened": "A ticket is opened",
    "customer_replied": "The customer (or someone on copy) writes",
    "agent_replied": "An agent answers the customer",
    "status_changed": "The status changes",
    "priority_changed": "The priority changes",
    "assignee_changed": "The assignee changes",
    "team_changed": "The team changes",
    "reopened": "A ticket is reopened",
}

# What a time rule waits for: how long a ticket has been so (see automations/timed.py).
WAITS = {
    "pending": "Awaiting the customer for",
    "unassigned": "Unassigned for",
    "unanswered": "No agent answer to the customer's message for",
    "resolved": "Resolved for",
    "due": "Due (resolution or first response) within",
}

MATCH = {"all": "all of the conditions", "any": "any of the conditions"}

NAME_MAX = 120


class Rule(db.Model):
    """An automation. `department_id` set: a department's rule (its managers write it), which acts
    only on that department's tickets; None: the desk's (admins). `system` names a rule the desk
    itself relies on (auto-close), which may be changed and switched off but not deleted."""

    __table_args__ = (Index("ix_rule_kind_active_position", "kind", "active", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(8), default="event")  # RULE_KINDS
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)  # the order rules run in, lowest first
    triggers: Mapped[str] = mapped_column(String(200), default="")  # TRIGGERS keys, comma-separated
    channels: Mapped[str] = mapped_column(String(100), default="")  # for "opened": SOURCES; "" = any
    wait: Mapped[Optional[str]] = mapped_column(String(16))  # WAITS key (time rules)
    wait_minutes: Mapped[Optional[int]]
    business_hours: Mapped[bool] = mapped_column(default=False)  # count the wait in the SLA's hours
    match: Mapped[str] = mapped_column(String(4), default="all")  # MATCH
    conditions: Mapped[str] = mapped_column(Text, default="[]")
    actions: Mapped[str] = mapped_column(Text, default="[]")
    department_id: Mapped[Optional[int]] = mapped_column(ForeignKey("department.id", ondelete="CASCADE"))
    system: Mapped[Optional[str]] = mapped_column(String(32), unique=True)
    # Round-robin in a team: the agent this rule gave its last ticket to.
    rr_last_agent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("agent.id", ondelete="SET NULL"))
    matched_count: Mapped[int] = mapped_column(default=0)
    last_matched_at: Mapped[Optional[datetime]]
    created_at: Mapped[datetime] = mapped_column(default=clock.current)
    updated_at: Mapped[datetime] = mapped_column(default=clock.current)
    updated_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("agent.id", ondelete="SET NULL"))

    department: Mapped[Optional[Department]] = relationship()
    updated_by: Mapped[Optional[Agent]] = relationship(foreign_keys=[updated_by_id])

    def __str__(self):
        return self.name

    @property
    def trigger_list(self) -> list[str]:
        return [t for t in (self.triggers or "").split(",") if t]

    @property
    def channel_list(self) -> list[str]:
        return [c for c in (self.channels or "").split(",") if c]

    @property
    def condition_list(self) -> list[dict]:
        return json.loads(self.conditions or "[]")

    @property
    def action_list(self) -> list[dict]:
        return json.loads(self.actions or "[]")

    @property
    def scope_label(self) -> str:
        return self.department.name if self.department_id else "Whole desk"


class RuleRun(db.Model):
    """A time rule acted on a ticket for the wait that began at `since` (e.g. when it began to
    await the customer). Unique: two schedulers running at once act once; a new wait (the ticket
    awaits the customer again later) is a new row."""

    __tablename__ = "rule_run"
    __table_args__ = (UniqueConstraint("rule_id", "ticket_id", "since", name="uq_rule_run_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("rule.id", ondelete="CASCADE"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    since: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=clock.current)
