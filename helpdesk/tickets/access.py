"""Who follows a ticket besides the agents: the customer's access link (renewed on request),
the portal's status check by number and email, and the people on copy (collaborators)."""
from __future__ import annotations

import logging
import secrets
from datetime import datetime

from sqlalchemy import select

from .. import clock, text
from ..extensions import db
from ..mail import notify
from ..models import Agent, Collaborator, Customer, Event, Ticket
from . import rules
from .rules import (
    MAIL_CC_MAX,
    NAME_MAX,
    InvalidInput,
    NotAllowed,
    _bump,
    _event,
    _Unit,
)

log = logging.getLogger(__package__)


def new_access_link(agent: Agent | None, ticket: Ticket, *, expected_version: int | None = None,
                    api_key=None) -> Ticket:
    """Revoke every link mailed so far and mail the customer a fresh one: asked for by an agent
    who may see the ticket, or (agent None) by the API key that opened it. The link only ever
    goes to the customer's mailbox, never back to whoever asked."""
    if api_key is not None:
        if agent is not None or ticket.api_key_id != api_key.id:
            raise NotAllowed("Only the API key that opened this ticket may have its link mailed.")
        note = f"Old links revoked; a new one was mailed, asked for by the API key '{api_key.name}'"
    elif agent is None or not rules.can_see(agent, ticket):
        raise NotAllowed("You do not have access to this ticket.")
    else:
        note = "Old links revoked; a new one was mailed"
    rules.check_version(ticket, "access_link", expected_version)
    now = clock.utcnow()
    with _Unit(ticket, expected_version):
        ticket.access_nonce = secrets.token_hex(8)
        _bump(ticket, now)
        _event(ticket, "access_link", agent=agent, note=note, now=now)
        notify.access_link(ticket)
    return ticket


def ticket_for_status(number: str, email: str) -> Ticket | None:
    """The ticket with this number, if it belongs to this address."""
    number = (number or "").strip().lstrip("#").upper()
    email = (email or "").strip().lower()
    return db.session.scalar(
        select(Ticket).join(Customer).where(Ticket.number == number, Customer.email == email)
    )


def send_status_link(number: str, email: str) -> bool:
    """'Check ticket status': mail the access link if number and email match. Says nothing else."""
    ticket = ticket_for_status(number, email)
    if ticket is None:
        return False
    notify.access_link(ticket)
    db.session.commit()
    return True


# --- collaborators (CC) --------------------------------------------------------------------


def _collaborator_email(email: str) -> str:
    from email_validator import EmailNotValidError, validate_email

    email = (email or "").strip()
    if not email or len(email) > 254 or any(c in email for c in " ,;<>\r\n\t"):
        raise InvalidInput("Enter one email address for the collaborator.")
    try:
        return validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidInput(f"That is not a valid email address: {exc}") from None


def _copied_from_mail(ticket: Ticket, people, customer: Customer, now: datetime, held: str | None = None) -> list:
    """Put the people a customer's mail went to as well on copy of the ticket, each with a
    history event. Skipped: invalid addresses, the customer, anyone already on copy, anyone an
    agent took off copy (that stays so), and everyone past MAIL_CC_MAX on copy.

    `held`: the mail did not prove it came from the customer (mailin.mail_speaks_for), so nobody
    is put on copy; each person is written to the history ("cc_held", with this reason) and the
    ticket page offers agents to put them on copy (held_copies)."""
    if not people:
        return []
    if held is not None:
        return _hold_copies(ticket, people, customer, now, held)
    rows = db.session.scalars(select(Collaborator).where(Collaborator.ticket_id == ticket.id)).all() \
        if ticket.id is not None else []
    known = {c.email for c in rows}
    on_copy = sum(1 for c in rows if c.active)
    added = []
    for name, address in people:
        try:
            address = _collaborator_email(address)
        except InvalidInput:
            continue
        if address == ticket.customer.email or address in known:
            continue
        if on_copy >= MAIL_CC_MAX:
            log.info("ticket %s: %s not put on copy, it has %s people on copy already", ticket.number, address, on_copy)
            continue
        name = text.one_line(name, NAME_MAX) or address
        collab = Collaborator(ticket=ticket, email=address, name=name, created_at=now)
        db.session.add(collab)
        known.add(address)
        on_copy += 1
        added.append(collab)
        _event(ticket, "collaborator_added", customer=customer, new=f"{name} <{address}>",
               note="On copy of the customer's mail", now=now)
    return added


def _hold_copies(ticket: Ticket, people, customer: Customer, now: datetime, why: str) -> list:
    """The people of a mail that proved nothing: in the history only, for an agent to decide."""
    known = {c.email for c in db.session.scalars(select(Collaborator).where(Collaborator.ticket_id == ticket.id))} \
        if ticket.id is not None else set()
    held = []
    for name, address in people:
        try:
            address = _collaborator_email(address)
        except InvalidInput:
            continue
        if address == ticket.customer.email or address in known or len(held) >= MAIL_CC_MAX:
            continue
        known.add(address)
        name = text.one_line(name, NAME_MAX) or address
        held.append((name, address))
        _event(ticket, "cc_held", customer=customer, new=f"{name} <{address}>", note=why, now=now)
    return held


def held_copies(ticket: Ticket, history=None) -> list[tuple[str, str]]:
    """(name, address) of the people held from mail that proved nothing ("cc_held" in the history)
    whom no agent has put on copy (or taken off it) since: the ticket page offers them. `history`:
    the ticket's events oldest first (anything with .action and .new), if the caller read them."""
    if history is None:
        held = db.session.scalars(select(Event.new).where(Event.ticket_id == ticket.id, Event.action == "cc_held")
                                  .order_by(Event.id)).all()
    else:
        held = [e.new for e in history if e.action == "cc_held"]
    if not held:  # as on most tickets: no need to read who is on copy
        return []
    known = {c.email for c in db.session.scalars(select(Collaborator).where(Collaborator.ticket_id == ticket.id))}
    people, seen = [], set()
    for value in held:
        name, _, address = (value or "").rpartition(" <")
        if not address.endswith(">"):  # cut short in the history: not offered as an address
            continue
        address = address[:-1]
        if address and address not in known and address not in seen:
            seen.add(address)
            people.append((name or address, address))
    return people


def add_collaborator(agent: Agent, ticket: Ticket, email: str, name: str = "", *,
                     expected_version: int | None = None):
    """Put someone on copy of the ticket: they get its public replies and their own link."""
    if not rules.can_see(agent, ticket):
        raise NotAllowed("You do not have access to this ticket.")
    rules.check_version(ticket, "collaborators", expected_version)
    email = _collaborator_email(email)
    if email == ticket.customer.email:
        raise InvalidInput("That is the customer's own address; they get every reply already.")
    name = text.one_line(name, NAME_MAX) or email
    now = clock.utcnow()
    with _Unit(ticket, expected_version):
        collab = db.session.scalar(
            select(Collaborator).where(Collaborator.ticket_id == ticket.id, Collaborator.email == email))
        if collab is not None and collab.active:
            raise rules.NoChange(f"{email} is already on copy of this ticket.")
        if collab is None:
            collab = Collaborator(ticket=ticket, email=email, name=name, added_by=agent, created_at=now)
            db.session.add(collab)
        else:  # added again after a removal: a fresh link, the old ones stay dead
            collab.active, collab.name, collab.added_by = True, name, agent
            collab.access_nonce = secrets.token_hex(8)
        _bump(ticket, now)
        _event(ticket, "collaborator_added", agent=agent, new=f"{name} <{email}>", now=now)
    return collab


def remove_collaborator(agent: Agent, ticket: Ticket, collaborator, *, expected_version: int | None = None):
    """Take someone off copy: no more mail, and their access link stops working."""
    if not rules.can_see(agent, ticket):
        raise NotAllowed("You do not have access to this ticket.")
    if collaborator is None or collaborator.ticket_id != ticket.id or not collaborator.active:
        raise InvalidInput("That person is not on copy of this ticket.")
    rules.check_version(ticket, "collaborators", expected_version)
    now = clock.utcnow()
    with _Unit(ticket, expected_version):
        collaborator.active = False
        collaborator.access_nonce = secrets.token_hex(8)
        _bump(ticket, now)
        _event(ticket, "collaborator_removed", agent=agent, old=str(collaborator), now=now)
    return collaborator
