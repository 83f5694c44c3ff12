"""Data behind the live agent panel: a desk-wide change counter and who has which ticket open."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

PRESENCE_STATES = ("viewing", "typing")


class DeskState(db.Model):
    """Change counters. Row 1: `version` goes up by one in every transaction that changes a
    ticket or the setup the pages show, so "has anything changed?" is one primary-key read, the
    same on every worker and host. Row 2 (made by its first change): setup changes only, what a
    ticket page asks besides its ticket's version. Row 3: ticket changes made by a statement that
    does not say which tickets. From row 4 on, one row per department, team and assignee (id
    4 * its id + its kind), bumped by every change of a ticket in it: what an agent's queue pages
    follow (see helpdesk/live.py)."""

    __tablename__ = "desk_state"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


class Presence(db.Model):
    """An agent who has a ticket open (viewing) or is writing on it (typing), until expires_at.
    Rows are renewed by the page's heartbeat and ignored, then removed, once expired."""

    __tablename__ = "presence"
    __table_args__ = (Index("ix_presence_ticket_expires", "ticket_id", "expires_at"),)

    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="viewing")
    expires_at: Mapped[datetime]
