"""The ticket lifecycle: the only code that changes a ticket's status, assignment or SLA.

Every public function here is one intention (open, claim, assign, reply, escalate, ...).
Each checks who may do it from which state, then, in one transaction, changes the ticket,
writes its history and queues the mails the change causes. Views call these and nothing else.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from . import attachments, notify
from .extensions import db
from .models import (
    ACTIVE_STATUSES,
    STATUS_LABELS,
    Agent,
    Attachment,
    Customer,
    Department,
    Event,
    HelpTopic,
    IdempotencyKey,
    Priority,
    SLAPlan,
    Team,
    ThreadEntry,
    Ticket,
    agent_departments,
    team_members,
    utcnow,
)
from .text import one_line, render_body

SUBJECT_MAX = 200
BODY_MAX = 20000
NAME_MAX = 120


class LifecycleError(Exception):
    """A change the lifecycle refuses; `status` is the HTTP status a view should answer."""

    status = 409

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotAllowed(LifecycleError):
    status = 403


class InvalidTransition(LifecycleError):
    status = 409


class InvalidInput(LifecycleError):
    status = 400


class TooManyOpen(LifecycleError):
    status = 429


class Conflict(LifecycleError):
    """The ticket changed since the person loaded it; `changes` lists what happened since."""

    status = 409

    def __init__(self, message: str, ticket: Ticket | None = None, changes: list[Event] | None = None):
        super().__init__(message)
        self.ticket = ticket
        self.changes = changes or []


@dataclass(frozen=True)
class Transition:
    label: str
    sources: tuple[str, ...]  # statuses the action may be taken from
    target: str | None  # status after the action; None keeps it (but "new" becomes "open")
    role: str  # least agent role that may take it


ALL = ACTIVE_STATUSES + ("resolved", "closed")

# The one table of what may happen to a ticket. The agent UI offers exactly what it allows.
TRANSITIONS: dict[str, Transition] = {
    "reply": Transition("Reply", ACTIVE_STATUSES, None, "agent"),
    "note": Transition("Internal note", ALL, "", "agent"),
    "claim": Transition("Claim", ACTIVE_STATUSES, None, "agent"),
    "assign": Transition("Assign", ACTIVE_STATUSES, None, "manager"),
    "set_priority": Transition("Priority", ACTIVE_STATUSES, "", "manager"),
    "set_sla": Transition("SLA plan", ACTIVE_STATUSES, "", "manager"),
    "transfer": Transition("Transfer", ACTIVE_STATUSES, "", "manager"),
    "request_info": Transition("Ask customer", ("new", "open", "escalated"), "pending", "agent"),
    "escalate": Transition("Escalate", ("new", "open", "pending"), "escalated", "agent"),
    "resume": Transition("Resume work", ("pending", "escalated"), "open", "agent"),
    "resolve": Transition("Resolve", ACTIVE_STATUSES, "resolved", "agent"),
    "close": Transition("Close", ACTIVE_STATUSES + ("resolved",), "closed", "agent"),
    "reopen": Transition("Reopen", ("resolved", "closed"), "open", "agent"),
}


# --- who may see and do what -------------------------------------------------------------


def visibility_clause(agent: Agent):
    """SQL condition for the tickets an agent may see: their departments, teams and assignments."""
    if agent.is_admin:
        return None
    dept_ids = select(agent_departments.c.department_id).where(agent_departments.c.agent_id == agent.id)
    team_ids = select(team_members.c.team_id).where(team_members.c.agent_id == agent.id)
    return or_(
        Ticket.department_id.in_(dept_ids),
        Ticket.team_id.in_(team_ids),
        Ticket.assignee_id == agent.id,
    )


def can_see(agent: Agent, ticket: Ticket) -> bool:
    if not agent.active:
        return False
    if agent.is_admin or ticket.assignee_id == agent.id:
        return True
    if any(d.id == ticket.department_id for d in agent.departments):
        return True
    return ticket.team_id is not None and any(t.id == ticket.team_id for t in agent.teams)


def allowed(agent: Agent, ticket: Ticket, action: str) -> bool:
    """May this agent take this action on this ticket now? (What the UI offers.)"""
    t = TRANSITIONS[action]
    if not can_see(agent, ticket) or not agent.has_role(t.role) or ticket.status not in t.sources:
        return False
    if action == "claim":
        return ticket.assignee_id != agent.id and (ticket.assignee_id is None or agent.is_manager)
    return True


def available_actions(agent: Agent, ticket: Ticket) -> list[str]:
    return [name for name in TRANSITIONS if allowed(agent, ticket, name)]


def check(agent: Agent, ticket: Ticket, action: str, expected_version: int | None = None) -> Transition:
    """Raise NotAllowed, Conflict or InvalidTransition unless the agent may take the action now."""
    t = TRANSITIONS[action]
    if not can_see(agent, ticket):
        raise NotAllowed("You do not have access to this ticket.")
    if not agent.has_role(t.role):
        raise NotAllowed(f"Only a {t.role} or above may do this: {t.label.lower()}.")
    if expected_version is not None and expected_version != ticket.version:
        raise _conflict(ticket, expected_version)
    if ticket.status not in t.sources:
        raise InvalidTransition(
            f"A ticket that is {STATUS_LABELS[ticket.status].lower()} cannot take this action: "
            f"{t.label.lower()}."
        )
    return t


def _conflict(ticket: Ticket, seen_version: int) -> Conflict:
    changes = db.session.scalars(
        select(Event).where(Event.ticket_id == ticket.id, Event.version > seen_version).order_by(Event.id)
    ).all()
    return Conflict(
        f"Ticket #{ticket.number} was changed by someone else after you opened it. "
        "Review what changed, then submit again.",
        ticket,
        list(changes),
    )


# --- small helpers -------------------------------------------------------------------------

_NUMBER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I


def _new_number() -> str:
    for _ in range(20):
        number = "".join(secrets.choice(_NUMBER_ALPHABET) for _ in range(6))
        if db.session.scalar(select(Ticket.id).where(Ticket.number == number)) is None:
            return number
    raise RuntimeError("could not find a free ticket number")


def _bump(ticket: Ticket, now: datetime) -> None:
    ticket.version = (ticket.version or 0) + 1
    ticket.updated_at = now


def _event(ticket, action, *, agent=None, customer=None, old=None, new=None, note=None, now=None):
    db.session.add(
        Event(
            ticket=ticket,
            agent=agent,
            customer=customer,
            action=action,
            old=None if old is None else str(old)[:200],
            new=None if new is None else str(new)[:200],
            note=None if note is None else one_line(note, 500),
            version=ticket.version,
            created_at=now or utcnow(),
        )
    )


def _set_status(ticket, status, *, agent=None, customer=None, now, note=None):
    if ticket.status == status:
        return
    old = ticket.status
    ticket.status = status
    if status == "resolved":
        ticket.resolved_at = now
        ticket.is_overdue = False
    elif status == "closed":
        ticket.closed_at = now
        ticket.is_overdue = False
    elif old in ("resolved", "closed"):
        ticket.reopened_at = now
        ticket.resolved_at = None
        ticket.closed_at = None
        _recompute_due(ticket, now)
    _event(ticket, "status", agent=agent, customer=customer, old=STATUS_LABELS[old],
           new=STATUS_LABELS[status], note=note, now=now)


def _recompute_due(ticket: Ticket, now: datetime) -> None:
    """Due time from the SLA plan, counted from creation or the last reopening."""
    start = ticket.reopened_at or ticket.created_at or now
    ticket.due_at = ticket.sla.due_from(start) if ticket.sla else None
    ticket.is_overdue = ticket.due_at is not None and ticket.due_at < now and ticket.is_active


def _body(text: str, what: str = "message") -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidInput(f"The {what} cannot be empty.")
    if len(text) > BODY_MAX:
        raise InvalidInput(f"The {what} is longer than {BODY_MAX} characters.")
    return text


def _add_entry(ticket, kind, body, *, agent=None, customer=None, uploads=(), now, stored):
    entry = ThreadEntry(
        ticket=ticket, kind=kind, agent=agent, customer=customer,
        body=body, body_html=render_body(body), created_at=now,
    )
    db.session.add(entry)
    for upload in uploads:
        key = attachments.store(upload)
        stored.append(key)
        db.session.add(Attachment(
            ticket=ticket, entry=entry, filename=upload.filename, content_type=upload.content_type,
            size=upload.size, sha256=upload.sha256, storage_key=key, created_at=now,
        ))
    return entry


class _Unit:
    """One transaction: on any failure, roll back and remove the files it wrote."""

    def __init__(self, ticket: Ticket | None = None, seen_version: int | None = None):
        self.stored: list[str] = []
        self.ticket = ticket
        self.seen_version = seen_version

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            try:
                db.session.commit()
                return False
            except StaleDataError:
                db.session.rollback()
                attachments.discard(self.stored)
                ticket = self.ticket
                if ticket is not None:
                    db.session.refresh(ticket)
                    raise _conflict(ticket, self.seen_version or ticket.version - 1) from None
                raise
            except Exception:
                db.session.rollback()
                attachments.discard(self.stored)
                raise
        db.session.rollback()
        attachments.discard(self.stored)
        if isinstance(exc, StaleDataError) and self.ticket is not None:
            # Someone else saved the ticket first and an autoflush inside the unit noticed it.
            db.session.refresh(self.ticket)
            raise _conflict(self.ticket, self.seen_version or self.ticket.version - 1) from None
        if isinstance(exc, OSError):
            raise LifecycleError("The attachment could not be saved. Nothing was changed; please try again.") from exc
        return False


# --- intake --------------------------------------------------------------------------------


def _customer(email: str, name: str) -> Customer:
    email = email.strip().lower()
    customer = db.session.scalar(select(Customer).where(Customer.email == email))
    if customer is None:
        # INSERT .. ON CONFLICT DO NOTHING: the same person opening two tickets at the same moment
        # gets one customer row, and the insert stays inside the caller's transaction (a SAVEPOINT
        # on SQLite would commit it on its own and leave it behind if the ticket fails).
        insert = {"postgresql": pg_insert, "sqlite": sqlite_insert}[db.session.get_bind().dialect.name]
        db.session.execute(insert(Customer).values(
            email=email, name=one_line(name, NAME_MAX) or email, created_at=utcnow(),
        ).on_conflict_do_nothing(index_elements=["email"]))
        customer = db.session.scalar(select(Customer).where(Customer.email == email))
    return customer


def _default_department() -> Department:
    dept = db.session.scalar(select(Department).where(Department.active.is_(True)).order_by(Department.id))
    if dept is None:
        raise LifecycleError("The desk has no department yet; an admin must create one.")
    return dept


def _priority(key: str) -> Priority:
    return db.session.scalar(select(Priority).where(Priority.key == key))


def open_ticket(
    *,
    name: str,
    email: str,
    subject: str,
    body: str,
    topic: HelpTopic,
    priority: Priority | None = None,
    source: str = "web",
    uploads=(),
    agent: Agent | None = None,
    idempotency_key: str | None = None,
    notify_customer: bool = True,
) -> Ticket:
    """Open a ticket with the help topic's defaults; acknowledge it and alert the department."""
    if idempotency_key:
        existing = db.session.scalar(
            select(IdempotencyKey.ticket_id).where(IdempotencyKey.key == idempotency_key)
        )
        if existing:
            return db.session.get(Ticket, existing)
    if topic is None or not topic.active:
        raise InvalidInput("Choose a help topic.")
    if not topic.public and agent is None:
        raise InvalidInput("Choose a help topic.")
    if agent is None:
        _check_open_limit(email)
    subject = one_line(subject)
    if not subject:
        raise InvalidInput("The subject cannot be empty.")
    if len(subject) > SUBJECT_MAX:
        raise InvalidInput(f"The subject is longer than {SUBJECT_MAX} characters.")
    body = _body(body, "description")
    now = utcnow()

    try:
        return _open(name, email, subject, body, topic, priority, source, uploads, agent,
                     idempotency_key, notify_customer, now)
    except IntegrityError:
        # The same form was submitted twice at the same moment: the other request won.
        if not idempotency_key:
            raise
        existing = db.session.scalar(
            select(IdempotencyKey.ticket_id).where(IdempotencyKey.key == idempotency_key)
        )
        if existing is None:
            raise
        return db.session.get(Ticket, existing)


def _check_open_limit(email: str) -> None:
    """A customer may have at most HELPDESK_MAX_OPEN_TICKETS tickets being worked at once."""
    limit = current_app.config.get("HELPDESK_MAX_OPEN_TICKETS") or 0
    if not limit:
        return
    count = db.session.scalar(
        select(func.count(Ticket.id)).join(Customer)
        .where(Customer.email == (email or "").strip().lower(), Ticket.status.in_(ACTIVE_STATUSES))
    )
    if count >= limit:
        raise TooManyOpen(
            f"You already have {count} open requests with us, the most we accept from one address. "
            "Please reply on one of them, or wait until one is resolved."
        )


def _open(name, email, subject, body, topic, priority, source, uploads, agent, idempotency_key,
          notify_customer, now) -> Ticket:
    with _Unit() as unit:
        customer = _customer(email, name)
        if agent is None and not topic.customer_sets_priority:
            priority = None
        priority = priority or topic.priority or _priority("normal")
        department = topic.department or _default_department()
        sla = topic.sla or department.sla
        ticket = Ticket(
            number=_new_number(), subject=subject, status="new", priority=priority,
            urgency=priority.urgency, topic=topic, department=department, sla=sla,
            source=source, customer=customer, created_at=now, updated_at=now, version=1,
        )
        _recompute_due(ticket, now)
        db.session.add(ticket)
        _add_entry(ticket, "message", body, customer=customer, uploads=uploads, now=now,
                   stored=unit.stored)
        db.session.flush()  # the ticket's id goes into the access link mailed below
        _event(ticket, "created", agent=agent, customer=None if agent else customer,
               new=f"{topic.name} via {source}", now=now)
        notify.ticket_created(ticket, acknowledge=topic.auto_acknowledge and notify_customer)
        if topic.assign_agent and topic.assign_agent.active:
            _assign(ticket, topic.assign_agent, None, actor=None, now=now)
        elif topic.assign_team and topic.assign_team.active:
            _assign(ticket, None, topic.assign_team, actor=None, now=now)
        if idempotency_key:
            db.session.add(IdempotencyKey(key=idempotency_key, ticket_id=ticket.id))
    return ticket


# --- assignment ----------------------------------------------------------------------------


def _assign(ticket, agent_to, team_to, *, actor, now):
    if agent_to is not None and agent_to.id != ticket.assignee_id:
        old = ticket.assignee.name if ticket.assignee else None
        ticket.assignee = agent_to
        _event(ticket, "assigned", agent=actor, old=old, new=agent_to.name, now=now)
        notify.assigned(ticket, agent_to, actor)
    if team_to is not None and team_to.id != ticket.team_id:
        old = ticket.team.name if ticket.team else None
        ticket.team = team_to
        _event(ticket, "team", agent=actor, old=old, new=team_to.name, now=now)
        notify.team_assigned(ticket, team_to, actor)
    if ticket.status == "new" and ticket.assignee is not None:
        _set_status(ticket, "open", agent=actor, now=now)


def claim(agent: Agent, ticket: Ticket, *, expected_version: int | None = None) -> Ticket:
    """Take an unassigned (or someone else's, for managers) ticket as your own."""
    check(agent, ticket, "claim", expected_version)
    if ticket.assignee_id not in (None, agent.id) and not agent.is_manager:
        raise NotAllowed(f"This ticket is already assigned to {ticket.assignee.name}.")
    now = utcnow()
    with _Unit(ticket, expected_version):
        _bump(ticket, now)
        old = ticket.assignee.name if ticket.assignee else None
        ticket.assignee = agent
        _event(ticket, "claimed", agent=agent, old=old, new=agent.name, now=now)
        notify.claimed(ticket, agent)
        if ticket.status == "new":
            _set_status(ticket, "open", agent=agent, now=now)
    return ticket


def assign(manager: Agent, ticket: Ticket, *, agent: Agent | None = None, team: Team | None = None,
           expected_version: int | None = None) -> Ticket:
    """Assign or reassign a ticket to an agent and/or a team (managers)."""
    check(manager, ticket, "assign", expected_version)
    if agent is None and team is None:
        raise InvalidInput("Choose an agent or a team.")
    if agent is not None and not agent.active:
        raise InvalidInput(f"{agent.name} is not active and cannot take tickets.")
    if team is not None and not team.active:
        raise InvalidInput(f"The team {team.name} is not active.")
    if (agent is None or agent.id == ticket.assignee_id) and (team is None or team.id == ticket.team_id):
        raise InvalidInput("The ticket is already assigned that way.")
    now = utcnow()
    with _Unit(ticket, expected_version):
        _bump(ticket, now)
        _assign(ticket, agent, team, actor=manager, now=now)
    return ticket


# --- priority, SLA, department -------------------------------------------------------------


def set_priority(manager: Agent, ticket: Ticket, priority: Priority, *,
                 expected_version: int | None = None) -> Ticket:
    """Change the priority (managers)."""
    check(manager, ticket, "set_priority", expected_version)
    if priority is None:
        raise InvalidInput("Choose a priority.")
    if priority.id == ticket.priority_id:
        raise InvalidInput(f"The priority is already {priority.name}.")
    now = utcnow()
    with _Unit(ticket, expected_version):
        _bump(ticket, now)
        _event(ticket, "priority", agent=manager, old=ticket.priority.name, new=priority.name, now=now)
        ticket.priority = priority
        ticket.urgency = priority.urgency
    return ticket


def set_sla(manager: Agent, ticket: Ticket, sla: SLAPlan, *, expected_version: int | None = None) -> Ticket:
    """Apply an SLA plan (managers); the due time is recomputed from it."""
    check(manager, ticket, "set_sla", expected_version)
    if sla is None or not sla.active:
        raise InvalidInput("Choose an active SLA plan.")
    if sla.id == ticket.sla_id:
        raise InvalidInput(f"The SLA plan is already {sla.name}.")
    now = utcnow()
    with _Unit(ticket, expected_version):
        _bump(ticket, now)
        _event(ticket, "sla", agent=manager, old=ticket.sla.name if ticket.sla else None,
               new=sla.name, now=now)
        ticket.sla = sla
        _recompute_due(ticket, now)
    return ticket


def transfer(manager: Agent, ticket: Ticket, department: Department, *,
             expected_version: int | None = None) -> Ticket:
    """Move a ticket to another department (managers)."""
    check(manager, ticket, "transfer", expected_version)
    if department is None or not department.active:
        raise InvalidInput("Choose an active department.")
    if department.id == ticket.department_id:
        raise InvalidInput(f"The ticket is already in {department.name}.")
    now = utcnow()
    with _Unit(ticket, expected_version):
        _bump(ticket, now)
        _event(ticket, "transferred", agent=manager, old=ticket.department.name, new=department.name, now=now)
        ticket.department = department
        notify.transferred(ticket, manager)
    return ticket


# --- conversation --------------------------------------------------------------------------


def reply(agent: Agent, ticket: Ticket, body: str, *, uploads=(), expected_version: int | None = None) -> ThreadEntry:
    """Answer the customer (mailed to them); an unassigned ticket becomes the replier's."""
    check(agent, ticket, "reply", expected_version)
    body = _body(body, "reply")
    now = utcnow()
    with _Unit(ticket, expected_version) as unit:
        _bump(ticket, now)
        entry = _add_entry(ticket, "reply", body, agent=agent, uploads=uploads, now=now, stored=unit.stored)
        ticket.is_answered = True
        _event(ticket, "replied", agent=agent, now=now)
        if ticket.assignee is None:
            ticket.assignee = agent
            _event(ticket, "claimed", agent=agent, new=agent.name, now=now)
        if ticket.status == "new":
            _set_status(ticket, "open", agent=agent, now=now)
        db.session.flush()
        notify.agent_replied(ticket, entry)
    return entry


def add_note(agent: Agent, ticket: Ticket, body: str, *, uploads=(), expected_version: int | None = None) -> ThreadEntry:
    """An internal note: for agents only, never shown or mailed to the customer."""
    check(agent, ticket, "note", expected_version)
    body = _body(body, "note")
    now = utcnow()
    with _Unit(ticket, expected_version) as unit:
        _bump(ticket, now)
        entry = _add_entry(ticket, "note", body, agent=agent, uploads=uploads, now=now, stored=unit.stored)
        _event(ticket, "note", agent=agent, now=now)
    return entry


def request_info(agent: Agent, ticket: Ticket, body: str, *, uploads=(),
                 expected_version: int | None = None) -> ThreadEntry:
    """Ask the customer for more information; the ticket waits on them (pending)."""
    check(agent, ticket, "request_info", expected_version)
    body = _body(body, "question")
    now = utcnow()
    with _Unit(ticket, expected_version) as unit:
        _bump(ticket, now)
        entry = _add_entry(ticket, "reply", body, agent=agent, uploads=uploads, now=now, stored=unit.stored)
        ticket.is_answered = True
        if ticket.assignee is None:
            ticket.assignee = agent
            _event(ticket, "claimed", agent=agent, new=agent.name, now=now)
        _set_status(ticket, "pending", agent=agent, now=now)
        db.session.flush()
        notify.info_requested(ticket, entry)
    return entry


def escalate(agent: Agent, ticket: Ticket, team: Team, note: str, *,
             expected_version: int | None = None) -> Ticket:
    """Hand the ticket to another team with a note saying why (-> escalated)."""
    check(agent, ticket, "escalate", expected_version)
    if team is None or not team.active:
        raise InvalidInput("Choose the team to escalate to.")
    note = _body(note, "escalation note")
    now = utcnow()
    with _Unit(ticket, expected_version):
        _bump(ticket, now)
        db.session.add(ThreadEntry(ticket=ticket, kind="note", agent=agent, created_at=now,
                                   body=f"Escalated to {team.name}:\n\n{note}",
                                   body_html=render_body(f"**Escalated to {team.name}:**\n\n{note}")))
        old_team = ticket.team.name if ticket.team else None
        ticket.team = team
        _event(ticket, "escalated", agent=agent, old=old_team, new=team.name, note=note, now=now)
        _set_status(ticket, "escalated", agent=agent, now=now)
        notify.escalated(ticket, team, agent, note)
    return ticket


def resume(agent: Agent, ticket: Ticket, note: str = "", *, expected_version: int | None = None) -> Ticket:
    """Take a pending or escalated ticket back to open."""
    check(agent, ticket, "resume", expected_version)
    now = utcnow()
    with _Unit(ticket, expected_version):
        _bump(ticket, now)
        if note.strip():
            body = _body(note, "note")
            db.session.add(ThreadEntry(ticket=ticket, kind="note", agent=agent, created_at=now,
                                       body=body, body_html=render_body(body)))
        _set_status(ticket, "open", agent=agent, now=now, note=note.strip() or None)
    return ticket


def resolve(agent: Agent, ticket: Ticket, resolution: str, *, uploads=(),
            expected_version: int | None = None) -> ThreadEntry:
    """Post the resolution to the customer (-> resolved)."""
    check(agent, ticket, "resolve", expected_version)
    body = _body(resolution, "resolution")
    now = utcnow()
    with _Unit(ticket, expected_version) as unit:
        _bump(ticket, now)
        entry = _add_entry(ticket, "reply", body, agent=agent, uploads=uploads, now=now, stored=unit.stored)
        ticket.is_answered = True
        if ticket.assignee is None:
            ticket.assignee = agent
        _set_status(ticket, "resolved", agent=agent, now=now)
        db.session.flush()
        notify.resolved(ticket, entry)
    return entry


def close(agent: Agent, ticket: Ticket, note: str = "", *, expected_version: int | None = None) -> Ticket:
    """Close the ticket; the customer is told. An optional note stays on record (internal)."""
    check(agent, ticket, "close", expected_version)
    now = utcnow()
    with _Unit(ticket, expected_version):
        _bump(ticket, now)
        if note.strip():
            body = _body(note, "note")
            db.session.add(ThreadEntry(ticket=ticket, kind="note", agent=agent, created_at=now,
                                       body=body, body_html=render_body(body)))
        _set_status(ticket, "closed", agent=agent, now=now, note=note.strip() or None)
        notify.closed(ticket, agent)
    return ticket


def reopen(agent: Agent, ticket: Ticket, note: str = "", *, expected_version: int | None = None) -> Ticket:
    """Reopen a resolved or closed ticket; its SLA clock starts again."""
    check(agent, ticket, "reopen", expected_version)
    now = utcnow()
    with _Unit(ticket, expected_version):
        _bump(ticket, now)
        if note.strip():
            body = _body(note, "note")
            db.session.add(ThreadEntry(ticket=ticket, kind="note", agent=agent, created_at=now,
                                       body=body, body_html=render_body(body)))
        _set_status(ticket, "open", agent=agent, now=now, note=note.strip() or None)
        ticket.is_answered = False
        notify.reopened(ticket, agent=agent)
    return ticket


# --- the customer's side -------------------------------------------------------------------


def customer_may_reopen(ticket: Ticket, now: datetime | None = None) -> bool:
    """Resolved tickets always reopen on a reply; closed ones within the configured days."""
    if ticket.status == "resolved":
        return True
    if ticket.status == "closed":
        days = current_app.config["HELPDESK_REOPEN_DAYS"]
        return ticket.closed_at is not None and (now or utcnow()) - ticket.closed_at <= timedelta(days=days)
    return True


def customer_reply(ticket: Ticket, body: str, *, uploads=()) -> ThreadEntry:
    """A message from the ticket's customer: wakes a pending ticket, reopens a resolved one."""
    body = _body(body, "message")
    now = utcnow()
    if not customer_may_reopen(ticket, now):
        raise InvalidTransition(
            "This ticket was closed too long ago to be reopened. Please open a new ticket."
        )
    customer = ticket.customer
    with _Unit(ticket, ticket.version) as unit:
        _bump(ticket, now)
        entry = _add_entry(ticket, "message", body, customer=customer, uploads=uploads, now=now,
                           stored=unit.stored)
        ticket.is_answered = False
        _event(ticket, "customer_replied", customer=customer, now=now)
        reopened = ticket.status in ("resolved", "closed")
        if ticket.status in ("pending", "resolved", "closed"):
            _set_status(ticket, "open", customer=customer, now=now,
                        note="Reopened by the customer's reply" if reopened else None)
        db.session.flush()
        notify.customer_replied(ticket, entry, reopened=reopened)
    return entry


def customer_confirm(ticket: Ticket) -> Ticket:
    """The customer confirms the resolution: resolved -> closed."""
    if ticket.status != "resolved":
        raise InvalidTransition("Only a resolved ticket can be confirmed and closed.")
    now = utcnow()
    with _Unit(ticket, ticket.version):
        _bump(ticket, now)
        _set_status(ticket, "closed", customer=ticket.customer, now=now,
                    note="The customer confirmed the resolution")
        notify.closed(ticket, None)
    return ticket


def new_access_link(agent: Agent, ticket: Ticket, *, expected_version: int | None = None) -> Ticket:
    """Revoke every link mailed so far and mail the customer a fresh one."""
    if not can_see(agent, ticket):
        raise NotAllowed("You do not have access to this ticket.")
    if expected_version is not None and expected_version != ticket.version:
        raise _conflict(ticket, expected_version)
    now = utcnow()
    with _Unit(ticket, expected_version):
        ticket.access_nonce = secrets.token_hex(8)
        _bump(ticket, now)
        _event(ticket, "access_link", agent=agent, note="Old links revoked; a new one was mailed", now=now)
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

