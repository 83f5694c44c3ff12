"""The conversation on a ticket: agents' replies, internal notes and requests for
information, and the messages of its customer and the people on copy."""
from __future__ import annotations

from .. import notify
from ..extensions import db
from ..models import Agent, ThreadEntry, Ticket
from .access import _copied_from_mail
from .resolution import customer_may_reopen
from .rules import (
    InvalidTransition,
    NotAllowed,
    _add_entry,
    _answer,
    _body,
    _bump,
    _event,
    _now,
    _set_status,
    _Unit,
    check,
)


def reply(agent: Agent, ticket: Ticket, body: str, *, uploads=(), expected_version: int | None = None) -> ThreadEntry:
    """Answer the customer (mailed to them); an unassigned ticket becomes the replier's."""
    check(agent, ticket, "reply", expected_version)
    body = _body(body, "reply")
    now = _now()
    with _Unit(ticket, expected_version) as unit:
        _bump(ticket, now)
        entry = _answer(ticket, agent, body, uploads=uploads, now=now, stored=unit.stored, event="replied")
        if ticket.status == "new":
            _set_status(ticket, "open", agent=agent, now=now)
        db.session.flush()
        notify.agent_replied(ticket, entry)
    return entry


def add_note(agent: Agent, ticket: Ticket, body: str, *, uploads=(), expected_version: int | None = None,
             via: str | None = None, record=None) -> ThreadEntry:
    """An internal note: for agents only, never shown or mailed to the customer.

    `via="email"`: the agent wrote it by mail (see mailin); `record` is saved in the same
    transaction (the mail that brought it)."""
    check(agent, ticket, "note", expected_version)
    body = _body(body, "note")
    now = _now()
    with _Unit(ticket, expected_version) as unit:
        _bump(ticket, now)
        entry = _add_entry(ticket, "note", body, agent=agent, uploads=uploads, now=now, stored=unit.stored,
                           via=via)
        _event(ticket, "note", agent=agent, now=now, note="Received by mail" if via == "email" else None)
        if record is not None:
            record.ticket_id = ticket.id
            db.session.add(record)
    return entry


def request_info(agent: Agent, ticket: Ticket, body: str, *, uploads=(),
                 expected_version: int | None = None) -> ThreadEntry:
    """Ask the customer for more information; the ticket waits on them (pending)."""
    check(agent, ticket, "request_info", expected_version)
    body = _body(body, "question")
    now = _now()
    with _Unit(ticket, expected_version) as unit:
        _bump(ticket, now)
        entry = _answer(ticket, agent, body, uploads=uploads, now=now, stored=unit.stored)
        _set_status(ticket, "pending", agent=agent, now=now)
        db.session.flush()
        notify.info_requested(ticket, entry)
    return entry


def customer_reply(ticket: Ticket, body: str, *, uploads=(), collaborator=None, record=None,
                   via: str | None = None, copied=()) -> ThreadEntry:
    """A message from the ticket's customer (or one of its collaborators): wakes a pending
    ticket, reopens a resolved one. `record` is saved in the same transaction (e.g. the mail);
    `copied`: people the customer's mail also went to, put on copy (see _copied_from_mail)."""
    body = _body(body, "message")
    now = _now()
    if not customer_may_reopen(ticket, now):
        raise InvalidTransition(
            "This ticket was closed too long ago to be reopened. Please open a new ticket."
        )
    if collaborator is not None and (not collaborator.active or collaborator.ticket_id != ticket.id):
        raise NotAllowed("You are no longer on copy of this ticket.")
    customer = None if collaborator is not None else ticket.customer
    who = "a collaborator's" if collaborator is not None else "the customer's"
    with _Unit(ticket, ticket.version) as unit:
        _bump(ticket, now)
        entry = _add_entry(ticket, "message", body, customer=customer, uploads=uploads, now=now,
                           stored=unit.stored, via=via)
        entry.collaborator = collaborator
        ticket.is_answered = False
        if collaborator is not None:
            _event(ticket, "collaborator_replied", note=str(collaborator), now=now)
        else:
            _event(ticket, "customer_replied", customer=customer, now=now)
            _copied_from_mail(ticket, copied, customer, now)
        reopened = ticket.status in ("resolved", "closed")
        if ticket.status in ("pending", "resolved", "closed"):
            _set_status(ticket, "open", customer=customer, now=now,
                        note=f"Reopened by {who} reply" if reopened else None)
        if record is not None:
            record.ticket_id = ticket.id
            db.session.add(record)
        db.session.flush()
        notify.customer_replied(ticket, entry, reopened=reopened)
    return entry
