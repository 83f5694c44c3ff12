"""Working a ticket to its end and back: resuming work, resolving, closing (by an agent or by
the customer's confirmation; automatically, by the time rule "Close resolved tickets" through
tickets/system.py) and reopening."""
from __future__ import annotations

from datetime import datetime, timedelta

from .. import clock, settings
from ..extensions import db
from ..mail import notify
from ..models import Agent, ThreadEntry, Ticket
from .rules import (
    InvalidTransition,
    _answer,
    _body,
    _bump,
    _set_status,
    _status_note,
    _Unit,
    check,
)


def resume(agent: Agent, ticket: Ticket, note: str = "", *, expected_version: int | None = None) -> Ticket:
    """Take a pending or escalated ticket back to open."""
    check(agent, ticket, "resume", expected_version)
    now = clock.utcnow()
    with _Unit(ticket, expected_version):
        _bump(ticket, now)
        escalated = ticket.status == "escalated"
        _set_status(ticket, "open", agent=agent, now=now, note=_status_note(ticket, agent, note, now))
        if escalated:
            notify.handed_back(ticket, ticket.team, agent, note.strip())
    return ticket


def resolve(agent: Agent, ticket: Ticket, resolution: str, *, uploads=(),
            expected_version: int | None = None, seen_version: int | None = None) -> ThreadEntry:
    """Post the resolution to the customer (-> resolved)."""
    check(agent, ticket, "resolve", expected_version, seen_version)
    body = _body(resolution, "resolution")
    now = clock.utcnow()
    with _Unit(ticket, expected_version) as unit:
        _bump(ticket, now)
        entry = _answer(ticket, agent, body, uploads=uploads, now=now, stored=unit.stored, purpose="resolution")
        _set_status(ticket, "resolved", agent=agent, now=now)
        db.session.flush()
        notify.resolved(ticket, entry)
    return entry


def close(agent: Agent, ticket: Ticket, note: str = "", *, expected_version: int | None = None) -> Ticket:
    """Close the ticket; the customer is told. An optional note stays on record (internal)."""
    check(agent, ticket, "close", expected_version)
    now = clock.utcnow()
    with _Unit(ticket, expected_version):
        _bump(ticket, now)
        _set_status(ticket, "closed", agent=agent, now=now, note=_status_note(ticket, agent, note, now))
        notify.closed(ticket, agent)
    return ticket


def reopen(agent: Agent, ticket: Ticket, note: str = "", *, expected_version: int | None = None) -> Ticket:
    """Reopen a resolved or closed ticket; its SLA clock starts again."""
    check(agent, ticket, "reopen", expected_version)
    now = clock.utcnow()
    with _Unit(ticket, expected_version):
        _bump(ticket, now)
        _set_status(ticket, "open", agent=agent, now=now, note=_status_note(ticket, agent, note, now))
        ticket.is_answered = False
        notify.reopened(ticket, agent=agent)
    return ticket


def customer_may_reopen(ticket: Ticket, now: datetime | None = None) -> bool:
    """Resolved tickets always reopen on a reply; closed ones within the configured days."""
    if ticket.status == "resolved":
        return True
    if ticket.status == "closed":
        days = settings.get("reopen_days")
        return ticket.closed_at is not None and (now or clock.utcnow()) - ticket.closed_at <= timedelta(days=days)
    return True


def customer_confirm(ticket: Ticket) -> Ticket:
    """The customer confirms the resolution: resolved -> closed."""
    if ticket.status != "resolved":
        raise InvalidTransition("Only a resolved ticket can be confirmed and closed.")
    now = clock.utcnow()
    with _Unit(ticket, ticket.version):
        _bump(ticket, now)
        _set_status(ticket, "closed", customer=ticket.customer, now=now,
                    note="The customer confirmed the resolution")
        notify.closed(ticket, None)
    return ticket
