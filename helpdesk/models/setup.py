"""The desk's setup, as admins edit it: priorities, SLA plans and their holidays, help topics,
settings, mail wording, and the audit of every change to them."""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock, sla
from ..extensions import db
from .people import Agent, Department, Team


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


class Setting(db.Model):
    """A desk setting an admin changed (helpdesk.settings: the environment gives the defaults)."""

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")


class MailTemplate(db.Model):
    """An admin's wording for one kind of mail (helpdesk.mail.wording): its subject and its
    opening message. No row, or an empty field: the built-in wording."""

    __tablename__ = "mail_template"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # e.g. "reply_customer"
    subject: Mapped[Optional[str]] = mapped_column(String(250))
    message: Mapped[Optional[str]] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=clock.current)


class AuditEntry(db.Model):
    """One changed field of the desk's configuration: who, when, what, from, to."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_type_id", "object_type", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.current)
    agent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("agent.id", ondelete="SET NULL"))
    agent_name: Mapped[str] = mapped_column(String(120), default="")
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[Optional[int]]
    object_name: Mapped[str] = mapped_column(String(200), default="")
    field: Mapped[str] = mapped_column(String(64))
    old: Mapped[Optional[str]] = mapped_column(String(500))
    new: Mapped[Optional[str]] = mapped_column(String(500))
