"""The conversation on a ticket: agents' replies, internal notes and requests for
information, and the messages of its customer and the people on copy."""
from __future__ import annotations

from .. import clock
from ..extensions import db
from ..mail import notify
from ..models import Agent, HeldMail, ThreadEntry, Ticket
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
    _set_status,
    _Unit,
    check,
)


def reply(agent: Agent, ticket: Ticket, body: str, *, uploads=(), expected_version: int | None = None,
          seen_version: int | None = None) -> ThreadEntry:
    """Answer the customer (mailed to them); an unassigned ticket becomes the replier's.
    (`seen_version`: see rules.check.)"""
    check(agent, ticket, "reply", expected_version, seen_version)
    body = _body(body, "reply")
    now = clock.utcnow()
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
    now = clock.utcnow()
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
                 expected_version: int | None = None, seen_version: int | None = None) -> ThreadEntry:
    """Ask the customer for more information; the ticket waits on them (pending)."""
    check(agent, ticket, "request_info", expected_version, seen_version)
    body = _body(body, "question")
    now = clock.utcnow()
    with _Unit(ticket, expected_version) as unit:
        _bump(ticket, now)
        entry = _answer(ticket, agent, body, uploads=uploads, now=now, stored=unit.stored, purpose="question")
        _set_status(ticket, "pending", agent=agent, now=now)
        db.session.flush()
        notify.info_requested(ticket, entry)
    return entry


def customer_reply(ticket: Ticket, body: str, *, uploads=(), collaborator=None, record=None,
                   via: str | None = None, copied=(), hold_copied: str | None = None) -> ThreadEntry:
    """A message from the ticket's customer (or one of its collaborators): wakes a pending
    ticket, reopens a resolved one. `record` is saved in the same transaction (e.g. the mail);
    `copied`: people the customer's mail also went to, put on copy, or only listed for an agent
    when `hold_copied` says why the mail proved nothing (see _copied_from_mail)."""
    body = _body(body, "message")
    now = clock.utcnow()
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
            _copied_from_mail(ticket, copied, customer, now, held=hold_copied)
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


# --- mail in an agent's name that proved nothing (see mailin.mail_speaks_for) ------------------


def hold_agent_mail(agent: Agent, ticket: Ticket, body: str, raw: bytes, *, subject: str | None = None,
                    message_id: str | None = None, why: str = "", record=None) -> HeldMail:
    """Keep a mail from `agent`'s address that did not prove it came from them: not a note until
    that agent confirms it on the ticket page. `record` is saved in the same transaction."""
    body = _body(body, "note")
    now = clock.utcnow()
    with _Unit(ticket, ticket.version):
        _bump(ticket, now)
        held = HeldMail(ticket=ticket, agent=agent, body=body, raw=raw, subject=subject, message_id=message_id,
                        state="waiting", created_at=now)
        db.session.add(held)
        _event(ticket, "mail_held", new=agent.name,
               note=f"A mail claiming to be from {agent.name} is waiting for them to confirm it. {why}".strip(),
               now=now)
        if record is not None:
            record.ticket_id = ticket.id
            db.session.add(record)
    return held


def _held_for(agent: Agent, held: HeldMail, expected_version: int | None):
    """Only the agent the held mail claims to be from decides on it, once."""
    ticket = held.ticket
    if held.agent_id != agent.id:
        raise NotAllowed(f"Only {held.agent.name} can confirm or discard a mail sent in their name.")
    if held.state != "waiting":
        raise InvalidTransition(f"This mail was {held.state} already.")
    check(agent, ticket, "note", expected_version)
    return ticket


def confirm_held_mail(agent: Agent, held: HeldMail, *, uploads=(), expected_version: int | None = None) -> ThreadEntry:
    """The agent confirms they sent the held mail: it becomes their internal note, received by mail
    (`uploads`: the mail's attachments, read again from the kept message)."""
    ticket = _held_for(agent, held, expected_version)
    now = clock.utcnow()
    with _Unit(ticket, expected_version) as unit:
        _bump(ticket, now)
        entry = _add_entry(ticket, "note", held.body, agent=agent, uploads=uploads, now=now, stored=unit.stored,
                           via="email")
        held.state, held.decided_at = "confirmed", now
        _event(ticket, "mail_confirmed", agent=agent, note="Received by mail; confirmed by its sender", now=now)
    return entry


def discard_held_mail(agent: Agent, held: HeldMail, *, expected_version: int | None = None) -> HeldMail:
    """The agent did not send the held mail (or does not want it): it is dropped, in the history."""
    ticket = _held_for(agent, held, expected_version)
    now = clock.utcnow()
    with _Unit(ticket, expected_version):
        _bump(ticket, now)
        held.state, held.decided_at = "discarded", now
        _event(ticket, "mail_discarded", agent=agent,
               note=f"A mail in their name (received {held.created_at:%Y-%m-%d %H:%M} UTC) was discarded", now=now)
    return held
