"""What the database holds now: each reader expires the session first, so it sees what the
views and the lifecycle committed (in this session or another), not a copy it loaded earlier."""
from __future__ import annotations

from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.models import Event, ThreadEntry, Ticket


def count(model) -> int:
    """How many rows of `model` there are."""
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def fresh(ticket) -> Ticket:
    """The ticket as stored now."""
    db.session.expire_all()
    return db.session.get(Ticket, ticket.id)


def events(ticket, action=None) -> list[Event]:
    """The ticket's history, oldest first; only the `action` ones when given."""
    db.session.expire_all()
    query = select(Event).where(Event.ticket_id == ticket.id).order_by(Event.id)
    if action:
        query = query.where(Event.action == action)
    return list(db.session.scalars(query))


def entries(ticket) -> list[ThreadEntry]:
    """The ticket's thread (messages, replies, notes), oldest first."""
    db.session.expire_all()
    return list(db.session.scalars(select(ThreadEntry).where(ThreadEntry.ticket_id == ticket.id).order_by(ThreadEntry.id)))
