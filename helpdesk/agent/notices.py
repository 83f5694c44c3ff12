"""Browser notifications on the agent panel: what happened since a tab last looked that the
agent asked to hear of (a ticket assigned to them, a customer's reply on their ticket, a new
ticket they see), read from the tickets' history.

They ride on the navigation's counts poll (agent.counts), which every agent page runs anyway: no
poll or connection of their own. Its URL holds a cursor, an Event id. The counts region is
rendered afresh only when the agent's version moved (a ticket of theirs changed, or the setup:
their own choices are part of it) or the minute turned; otherwise the poll is a 304 that reads
no event. A fresh render lists the agent's events after the cursor and puts the next cursor in
its poll URL. The cursor trails the newest event by SETTLE: an event whose transaction commits
after a later one's is still listed at a later render; the page keeps the ids it has shown, and
`since` (the newest event at the page's first render) keeps it from showing what happened
before it was loaded.

Events are those of tickets the agent sees (tickets.visibility_clause), never the agent's own."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from flask import url_for
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import aliased

from .. import clock, tickets
from ..extensions import db
from ..models import Agent, Customer, Department, Event, Ticket

# At most this many events in one answer, the newest: more at once would be noise, not news.
LIMIT = 20
# How far the cursor trails the newest event: longer than a lifecycle transaction takes.
SETTLE = timedelta(seconds=15)

ASSIGNED = ("assigned", "claimed")
REPLIED = ("customer_replied", "collaborator_replied")
CREATED = ("created",)


@dataclass
class Notice:
    """One notification: its event's id (the browser's tag), the words and the ticket's page."""

    id: int
    title: str
    body: str
    url: str

    def as_json(self) -> dict:
        return {"id": self.id, "title": self.title, "body": self.body, "url": self.url}


@dataclass
class Batch:
    """What one render of the counts region carries: the notices after the cursor it was asked
    for, the cursor for its next poll, and the newest event id now (`since`)."""

    after: int
    since: int
    items: list[Notice] = field(default_factory=list)

    def as_json(self) -> list[dict]:
        return [n.as_json() for n in self.items]


def wanted(agent: Agent) -> bool:
    """Has the agent asked for any browser notification?"""
    return bool(agent.notify_assigned or agent.notify_replies or agent.notify_new)


def _newest() -> tuple[int, int]:
    """The newest event id, and the newest one older than SETTLE (both read backwards on the key)."""
    newest = db.session.scalar(select(Event.id).order_by(Event.id.desc()).limit(1)) or 0
    settled = db.session.scalar(select(Event.id).where(Event.created_at < clock.utcnow() - SETTLE)
                                .order_by(Event.id.desc()).limit(1)) or 0
    return newest, settled


def _kinds(agent: Agent):
    """The events each of the agent's choices asks for, as SQL conditions."""
    kinds = []
    if agent.notify_assigned:  # to them, and still theirs
        kinds.append(and_(Event.action.in_(ASSIGNED), Event.new == agent.name, Ticket.assignee_id == agent.id))
    if agent.notify_replies:
        kinds.append(and_(Event.action.in_(REPLIED), Ticket.assignee_id == agent.id))
    if agent.notify_new:
        kinds.append(Event.action.in_(CREATED))
    return kinds


def poll(agent: Agent, after: int | None) -> Batch | None:
    """The agent's notices after event `after` (None: the page's first render, which lists none),
    or None if they asked for no notification."""
    if not wanted(agent):
        return None
    newest, settled = _newest()
    batch = Batch(after=max(settled, after or 0), since=newest)
    if after is None or newest <= after:
        return batch
    actor = aliased(Agent)
    conditions = [Event.id > after, Event.id <= newest, or_(*_kinds(agent)),
                  or_(Event.agent_id.is_(None), Event.agent_id != agent.id)]
    visible = tickets.visibility_clause(agent)
    if visible is not None:
        conditions.append(visible)
    rows = db.session.execute(
        select(Event.id, Event.action, Event.note, Ticket.id, Ticket.number, Ticket.subject,
               Department.name, actor.name, Customer.name)
        .join(Ticket, Ticket.id == Event.ticket_id)
        .join(Department, Department.id == Ticket.department_id)
        .outerjoin(actor, actor.id == Event.agent_id)
        .outerjoin(Customer, Customer.id == Event.customer_id)
        .where(*conditions).order_by(Event.id.desc()).limit(LIMIT)
    ).all()
    batch.items = _notices(reversed(rows))
    return batch


def _notices(rows) -> list[Notice]:
    """One notice per event, oldest first; a new ticket assigned to the agent at once (by the
    help topic, in the same answer) is one notice, not two."""
    notices, created = [], {}
    for event_id, action, note, ticket_id, number, subject, department, actor, customer in rows:
        body = _body(action, note, department, actor, customer)
        if action in ASSIGNED and ticket_id in created:
            notices.remove(created.pop(ticket_id))
            body = f"New ticket in {department}, assigned to you"
        notice = Notice(event_id, f"#{number} {subject}", body, url_for("agent.ticket", number=number))
        if action in CREATED:
            created[ticket_id] = notice
        notices.append(notice)
    return notices


def _body(action: str, note: str | None, department: str, actor: str | None, customer: str | None) -> str:
    if action in CREATED:
        return f"New ticket in {department}"
    if action in ASSIGNED:
        return f"Assigned to you by {actor}" if actor else "Assigned to you by the help topic's rules"
    if action == "collaborator_replied":  # the note is "Name <address>"
        name = (note or "").rsplit(" <", 1)[0].strip() if (note or "").endswith(">") else note
        return f"{name or 'Someone on copy'} replied"
    return f"{customer or 'The customer'} replied"
