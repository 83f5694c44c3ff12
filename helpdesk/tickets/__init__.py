"""The ticket lifecycle: the only code that changes a ticket's status, assignment or SLA.

Every public function here is one intention (open, claim, assign, reply, escalate, ...).
Each checks who may do it from which state, then, in one transaction, changes the ticket,
writes its history and queues the mails the change causes. Views call these and nothing else.
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfoNotFoundError

from flask import current_app
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from .. import attachments, notify, settings, sla
from ..extensions import db
from ..models import (
    ACTIVE_STATUSES,
    DONE_STATUSES,
    STATUS_LABELS,
    Agent,
    Attachment,
    Customer,
    Department,
    Event,
    HelpTopic,
    IdempotencyKey,
    Priority,
    SLAPause,
    SLAPlan,
    Team,
    ThreadEntry,
    Ticket,
    agent_departments,
    team_members,
    utcnow,
)
from .. import live  # noqa: F401,E402  (every ticket change bumps the desk's change counter)
from ..text import one_line, render_body

log = logging.getLogger(__name__)

SUBJECT_MAX = 200
BODY_MAX = 20000
NAME_MAX = 120
# At most this many people on copy of a ticket are added from the To and Cc of customers' mail.
MAIL_CC_MAX = 10


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
    # The SLA clock: stops on resolving or closing, stands still while awaiting the customer.
    if old in ACTIVE_STATUSES and status in DONE_STATUSES:
        _stop_clock(ticket, now)
    elif status == "pending":
        db.session.add(SLAPause(ticket_id=ticket.id, started_at=now))
        _recompute_due(ticket, now)
    elif old == "pending":
        _end_pause(ticket, now)
        _recompute_due(ticket, now)
    _event(ticket, "status", agent=agent, customer=customer, old=STATUS_LABELS[old],
           new=STATUS_LABELS[status], note=note, now=now)


# --- the SLA clock -----------------------------------------------------------------------


def schedule(plan: SLAPlan | None) -> sla.Schedule:
    """The plan's schedule; a blank time zone is the desk's. A plan whose schedule cannot be
    read counts around the clock (and says so in the log) rather than stopping the desk."""
    try:
        return sla.schedule_for(plan, settings.get("timezone"))
    except (ValueError, ZoneInfoNotFoundError) as exc:
        log.warning("SLA plan %r has an unreadable schedule (%s); counting 24x7", plan.name, exc)
        return sla.Schedule()


def _pauses(ticket: Ticket, since: datetime) -> list[tuple[datetime, datetime | None]]:
    if ticket.id is None:
        return []
    rows = db.session.execute(
        select(SLAPause.started_at, SLAPause.ended_at).where(
            SLAPause.ticket_id == ticket.id, or_(SLAPause.ended_at.is_(None), SLAPause.ended_at > since)
        )
    ).all()
    return [(started, ended) for started, ended in rows]


def _end_pause(ticket: Ticket, now: datetime) -> None:
    db.session.execute(
        update(SLAPause).where(SLAPause.ticket_id == ticket.id, SLAPause.ended_at.is_(None)).values(ended_at=now)
    )


def _recompute_due(ticket: Ticket, now: datetime) -> None:
    """Due times from the SLA plan's schedule: resolution counted from creation or the last
    reopening, minus the time spent awaiting the customer (None while it still waits); first
    response counted from creation, until the first answer."""
    plan = ticket.sla
    if plan is None:
        ticket.due_at = None
        if ticket.first_responded_at is None:
            ticket.first_response_due_at = None
    else:
        hours = schedule(plan)
        start = ticket.reopened_at or ticket.created_at or now
        ticket.due_at, _ = sla.due_with_pauses(hours, start, plan.grace_hours * 3600, _pauses(ticket, start))
        if ticket.first_responded_at is None:
            ticket.first_response_due_at = (
                sla.add_business_seconds(hours, ticket.created_at or now, plan.first_response_hours * 3600)
                if plan.first_response_hours else None
            )
    _clear_overdue(ticket, now)


def _clear_overdue(ticket: Ticket, now: datetime) -> None:
    """The overdue flag goes once nothing is past due any more. Only check_overdue sets it."""
    if ticket.is_overdue and not ticket.overdue_at(now):
        ticket.is_overdue = False


def _stop_clock(ticket: Ticket, now: datetime) -> None:
    """Resolved or closed: record whether the resolution target was met."""
    _end_pause(ticket, now)
    if ticket.sla is not None:
        late = ticket.due_at is not None and ticket.due_at < now
        # Once breached, a ticket stays breached, even if it is reopened and resolved in time.
        ticket.resolution_breached = bool(ticket.resolution_breached) or late
    ticket.is_overdue = False


def _first_response(ticket: Ticket, now: datetime) -> None:
    """The first agent answer the customer sees: record when, and whether it was in time."""
    if ticket.first_responded_at is not None:
        return
    ticket.first_responded_at = now
    if ticket.first_response_due_at is not None:
        ticket.first_response_breached = ticket.first_response_due_at < now
    _clear_overdue(ticket, now)


def overdue_clause(now: datetime):
    """SQL condition: being worked and past the resolution or first-response due time."""
    return and_(
        Ticket.status.in_(ACTIVE_STATUSES),
        or_(
            Ticket.due_at < now,
            and_(Ticket.first_responded_at.is_(None), Ticket.first_response_due_at < now),
        ),
    )


def _body(text: str, what: str = "message") -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidInput(f"The {what} cannot be empty.")
    if len(text) > BODY_MAX:
        raise InvalidInput(f"The {what} is longer than {BODY_MAX} characters.")
    return text


def _add_entry(ticket, kind, body, *, agent=None, customer=None, uploads=(), now, stored, via=None):
    entry = ThreadEntry(
        ticket=ticket, kind=kind, agent=agent, customer=customer,
        body=body, body_html=render_body(body), created_at=now, via=via,
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
    record=None,
    department: Department | None = None,
    copied=(),
) -> Ticket:
    """Open a ticket with the help topic's defaults; acknowledge it and alert the department.

    `record` (optional) is a row saved in the same transaction, e.g. the mail that opened it;
    `department` overrides the topic's (a mailbox's own department); `copied` is (name, email)
    of the people the customer's mail went to as well, put on copy (see _copied_from_mail)."""
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
    if agent is None and source == "web":  # the public form; API keys and mailboxes are trusted
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
                     idempotency_key, notify_customer, now, record, department, copied)
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
          notify_customer, now, record=None, department=None, copied=()) -> Ticket:
    with _Unit() as unit:
        customer = _customer(email, name)
        if agent is None and not topic.customer_sets_priority:
            priority = None
        priority = priority or topic.effective_priority or _priority("normal")
        department = department or topic.effective_department or _default_department()
        sla = topic.effective_sla or (department.sla if department.sla and department.sla.active else None)
        ticket = Ticket(
            number=_new_number(), subject=subject, status="new", priority=priority,
            urgency=priority.urgency, topic=topic, department=department, sla=sla,
            source=source, customer=customer, created_at=now, updated_at=now, version=1,
        )
        _recompute_due(ticket, now)
        db.session.add(ticket)
        _add_entry(ticket, "message", body, customer=customer, uploads=uploads, now=now,
                   stored=unit.stored, via="email" if source == "email" else None)
        db.session.flush()  # the ticket's id goes into the access link mailed below
        _event(ticket, "created", agent=agent, customer=None if agent else customer,
               new=f"{topic.name} via {source}", now=now)
        _copied_from_mail(ticket, copied, customer, now)
        notify.ticket_created(ticket, acknowledge=topic.auto_acknowledge and notify_customer)
        _auto_assign(ticket, topic, now)
        if idempotency_key:
            db.session.add(IdempotencyKey(key=idempotency_key, ticket_id=ticket.id))
        if record is not None:
            record.ticket_id = ticket.id
            db.session.add(record)
    return ticket


# --- assignment ----------------------------------------------------------------------------


def _auto_assign(ticket: Ticket, topic: HelpTopic, now: datetime) -> None:
    """The topic's auto-assignment (or its parent's): an agent, a team, or a team's agents in turn."""
    mode, agent, team, owner = topic.effective_assignment()
    if mode == "agent" and agent is not None and agent.active:
        _assign(ticket, agent, None, actor=None, now=now)
    elif mode == "team" and team is not None and team.active:
        _assign(ticket, None, team, actor=None, now=now)
    elif mode == "round_robin" and team is not None and team.active:
        _assign(ticket, _next_in_rotation(owner, team), team, actor=None, now=now)


def _next_in_rotation(topic: HelpTopic, team: Team) -> Agent | None:
    """The team's next active member after the one the topic gave its last ticket to.

    The last one is stored on the topic, read under a row lock (PostgreSQL), so the rotation
    is fair across restarts and several workers."""
    members = sorted((a for a in team.members if a.active), key=lambda a: a.id)
    if not members:
        return None
    last = db.session.scalar(
        select(HelpTopic.rr_last_agent_id).where(HelpTopic.id == topic.id).with_for_update()
    )
    chosen = next((a for a in members if last is not None and a.id > last), members[0])
    db.session.execute(
        update(HelpTopic).where(HelpTopic.id == topic.id).values(rr_last_agent_id=chosen.id)
    )
    return chosen


def _assign(ticket, agent_to, team_to, *, actor, now, by=None):
    if agent_to is not None and agent_to.id != ticket.assignee_id:
        old = ticket.assignee.name if ticket.assignee else None
        ticket.assignee = agent_to
        _event(ticket, "assigned", agent=actor, old=old, new=agent_to.name, now=now)
        notify.assigned(ticket, agent_to, actor)
    if team_to is not None and team_to.id != ticket.team_id:
        old = ticket.team.name if ticket.team else None
        ticket.team = team_to
        _event(ticket, "team", agent=actor, old=old, new=team_to.name, now=now)
        notify.team_assigned(ticket, team_to, actor, by=by)
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
        _first_response(ticket, now)
        _event(ticket, "replied", agent=agent, now=now)
        if ticket.assignee is None:
            ticket.assignee = agent
            _event(ticket, "claimed", agent=agent, new=agent.name, now=now)
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
    now = utcnow()
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
    now = utcnow()
    with _Unit(ticket, expected_version) as unit:
        _bump(ticket, now)
        entry = _add_entry(ticket, "reply", body, agent=agent, uploads=uploads, now=now, stored=unit.stored)
        ticket.is_answered = True
        _first_response(ticket, now)
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
        _first_response(ticket, now)
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
        days = settings.get("reopen_days")
        return ticket.closed_at is not None and (now or utcnow()) - ticket.closed_at <= timedelta(days=days)
    return True


def priority_order_changed(priorities) -> None:
    """Keep the tickets' copy of their priority's urgency (the queues' sort key) in step after
    an admin reorders the priorities; part of the admin's transaction, not a ticket event."""
    for priority in priorities:
        db.session.execute(
            update(Ticket).where(Ticket.priority_id == priority.id).values(urgency=priority.urgency)
            .execution_options(synchronize_session=False)
        )


def auto_close(now: datetime | None = None) -> list[Ticket]:
    """Close the tickets resolved more than the auto-close setting's days ago (0: never).

    Each closes in its own transaction, with a history event and the customer's closing mail;
    one changed meanwhile (or closed by a concurrent run) is skipped."""
    days = settings.get("auto_close_days")
    if not days or days <= 0:
        return []
    now = now or utcnow()
    cutoff = now - timedelta(days=days)
    ids = db.session.scalars(
        select(Ticket.id).where(Ticket.status == "resolved", Ticket.resolved_at <= cutoff).order_by(Ticket.id)
    ).all()
    closed = []
    for ticket_id in ids:
        ticket = db.session.get(Ticket, ticket_id)
        if ticket is None or ticket.status != "resolved":
            continue
        try:
            with _Unit(ticket, ticket.version):
                _bump(ticket, now)
                _set_status(ticket, "closed", now=now,
                            note=f"Closed automatically {days} days after it was resolved")
                notify.closed(ticket, None, automatic=True)
            closed.append(ticket)
        except Conflict:
            continue
    return closed


def customer_reply(ticket: Ticket, body: str, *, uploads=(), collaborator=None, record=None,
                   via: str | None = None, copied=()) -> ThreadEntry:
    """A message from the ticket's customer (or one of its collaborators): wakes a pending
    ticket, reopens a resolved one. `record` is saved in the same transaction (e.g. the mail);
    `copied`: people the customer's mail also went to, put on copy (see _copied_from_mail)."""
    body = _body(body, "message")
    now = utcnow()
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



# --- overdue detection ------------------------------------------------------------------------


@dataclass
class Flagged:
    """What check_overdue did to one ticket."""

    number: str
    target: str  # "first response" or "resolution"
    mailed: list[str] = field(default_factory=list)
    escalation: list[str] = field(default_factory=list)

    def __str__(self):
        parts = [f"#{self.number} is overdue ({self.target})"]
        parts += self.escalation
        parts.append(f"alert mailed to {', '.join(self.mailed)}" if self.mailed else "no alert mailed")
        return "; ".join(parts)


def check_overdue(now: datetime | None = None) -> list[Flagged]:
    """Flag every ticket that crossed a due time since the last check: history event, alert
    mail, the plan's escalation. Safe to run in several places at once: a ticket is claimed
    with an UPDATE that only succeeds while it is not yet flagged, so each is done once."""
    now = now or utcnow()
    candidates = db.session.scalars(
        select(Ticket.id).where(overdue_clause(now), Ticket.is_overdue.is_(False)).order_by(Ticket.id)
    ).all()
    db.session.rollback()
    done = []
    for ticket_id in candidates:
        flagged = _mark_overdue(ticket_id, now)
        if flagged is not None:
            done.append(flagged)
    return done


def _mark_overdue(ticket_id: int, now: datetime) -> Flagged | None:
    """One ticket, one transaction: the claim, the event, the mails and the escalation."""
    try:
        claim = db.session.execute(
            update(Ticket)
            .where(Ticket.id == ticket_id, Ticket.is_overdue.is_(False), overdue_clause(now))
            .values(is_overdue=True, version=Ticket.version + 1)
            .execution_options(synchronize_session=False)
        )
        if claim.rowcount != 1:  # someone else flagged it, or it was answered meanwhile
            db.session.rollback()
            return None
        ticket = db.session.get(Ticket, ticket_id, populate_existing=True)
        if ticket.due_at is not None and ticket.due_at < now:
            target, due = "resolution", ticket.due_at
        else:
            target, due = "first response", ticket.first_response_due_at
        _event(ticket, "overdue", new="Resolution" if target == "resolution" else "First response",
               note=f"Due {due:%Y-%m-%d %H:%M} UTC, not met", now=now)
        flagged = Flagged(ticket.number, target)
        plan = ticket.sla
        if plan is not None:
            flagged.escalation = _escalate_overdue(ticket, plan, now)
            if plan.overdue_alerts:
                flagged.mailed = notify.overdue(ticket, target, due, flagged.escalation)
        db.session.commit()
        return flagged
    except Exception:
        db.session.rollback()
        raise


def _escalate_overdue(ticket: Ticket, plan: SLAPlan, now: datetime) -> list[str]:
    """The plan's escalation, written to the history as done by the system."""
    done = []
    if plan.escalate_raise_priority:
        higher = db.session.scalar(
            select(Priority).where(Priority.urgency > ticket.urgency).order_by(Priority.urgency).limit(1)
        )
        if higher is not None:
            _event(ticket, "priority", old=ticket.priority.name, new=higher.name,
                   note="Raised one step: overdue under the SLA plan", now=now)
            ticket.priority = higher
            ticket.urgency = higher.urgency
            done.append(f"priority raised to {higher.name}")
    team = plan.escalate_team
    if team is not None and team.active and team.id != ticket.team_id:
        _assign(ticket, None, team, actor=None, now=now, by=f"The SLA plan {plan.name}")
        done.append(f"handed to the team {team.name}")
    return done
# --- collaborators (CC) -------------------------------------------------------------------------


def _collaborator_email(email: str) -> str:
    from email_validator import EmailNotValidError, validate_email

    email = (email or "").strip()
    if not email or len(email) > 254 or any(c in email for c in " ,;<>\r\n\t"):
        raise InvalidInput("Enter one email address for the collaborator.")
    try:
        return validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidInput(f"That is not a valid email address: {exc}") from None


def _copied_from_mail(ticket: Ticket, people, customer: Customer, now: datetime) -> list:
    """Put the people a customer's mail went to as well on copy of the ticket, each with a
    history event. Skipped: invalid addresses, the customer, anyone already on copy, anyone an
    agent took off copy (that stays so), and everyone past MAIL_CC_MAX on copy."""
    from ..models import Collaborator

    if not people:
        return []
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
        name = one_line(name, NAME_MAX) or address
        collab = Collaborator(ticket=ticket, email=address, name=name, created_at=now)
        db.session.add(collab)
        known.add(address)
        on_copy += 1
        added.append(collab)
        _event(ticket, "collaborator_added", customer=customer, new=f"{name} <{address}>",
               note="On copy of the customer's mail", now=now)
    return added


def add_collaborator(agent: Agent, ticket: Ticket, email: str, name: str = "", *,
                     expected_version: int | None = None):
    """Put someone on copy of the ticket: they get its public replies and their own link."""
    from ..models import Collaborator

    if not can_see(agent, ticket):
        raise NotAllowed("You do not have access to this ticket.")
    if expected_version is not None and expected_version != ticket.version:
        raise _conflict(ticket, expected_version)
    email = _collaborator_email(email)
    if email == ticket.customer.email:
        raise InvalidInput("That is the customer's own address; they get every reply already.")
    name = one_line(name, NAME_MAX) or email
    now = utcnow()
    with _Unit(ticket, expected_version):
        collab = db.session.scalar(
            select(Collaborator).where(Collaborator.ticket_id == ticket.id, Collaborator.email == email))
        if collab is not None and collab.active:
            raise InvalidInput(f"{email} is already on copy of this ticket.")
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
    if not can_see(agent, ticket):
        raise NotAllowed("You do not have access to this ticket.")
    if collaborator is None or collaborator.ticket_id != ticket.id or not collaborator.active:
        raise InvalidInput("That person is not on copy of this ticket.")
    if expected_version is not None and expected_version != ticket.version:
        raise _conflict(ticket, expected_version)
    now = utcnow()
    with _Unit(ticket, expected_version):
        collaborator.active = False
        collaborator.access_nonce = secrets.token_hex(8)
        _bump(ticket, now)
        _event(ticket, "collaborator_removed", agent=agent, old=str(collaborator), now=now)
    return collaborator
