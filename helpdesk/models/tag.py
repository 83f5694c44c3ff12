"""Tags: short labels agents put on tickets (type-ahead from the desk's existing ones), to
filter, search and act on tickets in bulk. One name per tag whatever its case: `key` is the
name in lower case, unique; `name` is how it was first written (admins may rename it)."""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..extensions import db
from .ticket import Ticket

TAG_MAX = 40
TAGS_PER_TICKET = 20
# Letters and digits of any script, spaces, hyphens, underscores and dots.
TAG_PATTERN = re.compile(r"^[\w .-]+$")

ticket_tag = Table(
    "ticket_tag",
    db.metadata,
    Column("ticket_id", Integer, ForeignKey("ticket.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", Integer, ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_ticket_tag_tag_id", "tag_id"),
)


def tag_key(name: str) -> str:
    """The one spelling a tag is known by: trimmed, inner spaces collapsed, lower case."""
    return " ".join((name or "").split()).lower()


class Tag(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(TAG_MAX), unique=True)
    name: Mapped[str] = mapped_column(String(TAG_MAX))
    created_at: Mapped[datetime] = mapped_column(default=clock.current)

    def __str__(self):
        return self.name


Ticket.tags = relationship(Tag, secondary=ticket_tag, order_by=Tag.key, passive_deletes=True)
