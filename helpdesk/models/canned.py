"""Canned responses: texts agents insert into a reply, personal (an agent's own), a department's
(its agents'), or desk-wide (every agent's); and the files that go with one."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..extensions import db
from .people import Agent, Department

TITLE_MAX = 120
BODY_MAX = 20000


class CannedResponse(db.Model):
    """Whose it is: an agent's (agent_id), a department's (department_id), or neither: desk-wide."""

    __tablename__ = "canned_response"
    __table_args__ = (
        CheckConstraint("agent_id IS NULL OR department_id IS NULL", name="ck_canned_response_one_owner"),
        Index("ix_canned_response_agent_id", "agent_id"),
        Index("ix_canned_response_department_id", "department_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    body: Mapped[str] = mapped_column(Text)
    agent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("agent.id", ondelete="CASCADE"))
    department_id: Mapped[Optional[int]] = mapped_column(ForeignKey("department.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=clock.current)
    updated_at: Mapped[datetime] = mapped_column(default=clock.current)

    agent: Mapped[Optional[Agent]] = relationship()
    department: Mapped[Optional[Department]] = relationship()
    files: Mapped[list["CannedAttachment"]] = relationship(
        back_populates="response", cascade="all, delete-orphan", passive_deletes=True,
        order_by="CannedAttachment.id")

    @property
    def scope(self) -> str:
        return "personal" if self.agent_id else "department" if self.department_id else "desk"

    @property
    def scope_label(self) -> str:
        if self.agent_id:
            return "Personal"
        return self.department.name if self.department_id else "Desk-wide"

    def __str__(self):
        return self.title


class CannedAttachment(db.Model):
    """A file that goes with a canned response: stored like a ticket's attachment (outside static/,
    under a random key), copied anew into each answer it is sent with."""

    __tablename__ = "canned_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("canned_response.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(80), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.current)

    response: Mapped[CannedResponse] = relationship(back_populates="files")
