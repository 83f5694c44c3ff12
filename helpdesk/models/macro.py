"""Macros: a named list of steps (reply, note, status, priority, assignment, SLA plan...) an agent
applies to a ticket in one click, each step through the lifecycle. Whose they are, as canned
responses: an agent's (owner_id), a department's (department_id), or neither: desk-wide. What
the steps may be is helpdesk/tickets/macro_steps.py."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Optional

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..extensions import db
from .people import Agent, Department

NAME_MAX = 120
DESCRIPTION_MAX = 300


class Macro(db.Model):
    __tablename__ = "macro"
    __table_args__ = (
        CheckConstraint("owner_id IS NULL OR department_id IS NULL", name="ck_macro_one_owner"),
        Index("ix_macro_owner_id", "owner_id"),
        Index("ix_macro_department_id", "department_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    description: Mapped[str] = mapped_column(String(DESCRIPTION_MAX), default="")
    owner_id: Mapped[Optional[int]] = mapped_column(ForeignKey("agent.id", ondelete="CASCADE"))
    department_id: Mapped[Optional[int]] = mapped_column(ForeignKey("department.id", ondelete="CASCADE"))
    # The steps, in order, as JSON: [{"do": "reply", "canned": 3}, {"do": "resolve", "text": "..."}, ...]
    actions: Mapped[str] = mapped_column(Text, default="[]")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.current)
    updated_at: Mapped[datetime] = mapped_column(default=clock.current)
    updated_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("agent.id", ondelete="SET NULL"))

    owner: Mapped[Optional[Agent]] = relationship(foreign_keys=[owner_id])
    department: Mapped[Optional[Department]] = relationship()
    updated_by: Mapped[Optional[Agent]] = relationship(foreign_keys=[updated_by_id])

    @property
    def steps(self) -> list[dict]:
        try:
            steps = json.loads(self.actions or "[]")
        except ValueError:
            return []
        return [s for s in steps if isinstance(s, dict)] if isinstance(steps, list) else []

    @property
    def scope(self) -> str:
        return "personal" if self.owner_id else "department" if self.department_id else "desk"

    @property
    def scope_label(self) -> str:
        if self.owner_id:
            return "Personal"
        return self.department.name if self.department_id else "Desk-wide"

    def __str__(self):
        return self.name
