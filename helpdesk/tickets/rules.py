"""What may happen to a ticket, and the machinery every change goes through.

The states and the one table of transitions (TRANSITIONS), who may see a ticket and take
which action (can_see, allowed, check), the errors a refused change raises, and the shared
steps of every change: one transaction (_Unit), the version bump, the history event and the
status change with its SLA clock.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm.exc import StaleDataError

from .. import attachments, clock, text
from ..extensions import db
from ..models import (
    ACTIVE_STATUSES,
    DONE_STATUSES,
    STATUS_LABELS,
    Agent,
    Attachment,
    Event,
    SLAPause,
    ThreadEntry,
    Ticket,
    agent_departments,
    team_members,
)
from ..text import render_body
from .deadlines import _end_pause, _first_response, _recompute_due, _reopened, _stop_clock

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


class NoChange(InvalidInput):
    """The change asked for is how the ticket already is: nothing to do. Not an error for a person
    (the ticket page says so as information); callers that list refusals (bulk, the API) may
    treat it as the bad input it is for them."""


class TooManyOpen(LifecycleError):
    status = 429


class Rejected(LifecycleError):
    """An automation rule refused the new ticket (`spam`: marked it as spam): nothing was opened;
    the caller keeps what was sent (mail raw, a form as a message) for an admin to look at."""

    status = 422

    def __init__(self, message: str, rule_name: str, spam: bool = False):
        super().__init__(message)
        self.rule_name = rule_name
        self.spam = spam

    @property
    def reason(self) -> str:
        """Why it was kept, for the admins' list of kept mail."""
        if self.spam:
            return f"Marked as spam by the rule “{self.rule_name}”"
        return f"Rejected by the rule “{self.rule_name}”: {self.message}"


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
    "tag": Transition("Tags", ALL, "", "agent"),
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


# --- who may see and do what ---------------------------------------------------------------


def visibility_clause(agent: Agent, t=Ticket):
    """SQL condition for the tickets an agent may see: their departments, teams and assignments.
    On the columns of t: the ticket table, or the tally that counts tickets by the same columns."""
    if agent.is_admin:
        return None
    dept_ids = select(agent_departments.c.department_id).where(agent_departments.c.agent_id == agent.id)
    team_ids = select(team_members.c.team_id).where(team_members.c.agent_id == agent.id)
    return or_(
        t.department_id.in_(dept_ids),
        t.team_id.in_(team_ids),
        t.assignee_id == agent.id,
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
        return ticket.assignee_id != agent.id and may_take_over(agent, ticket)
    return True


def may_take_over(agent: Agent, ticket: Ticket) -> bool:
    """May the agent claim the ticket: unassigned, or they manage, or it is escalated to their team
    (whose member takes the work over while the team has it)."""
    return (ticket.assignee_id is None or agent.is_manager
            or (ticket.status == "escalated" and any(t.id == ticket.team_id for t in agent.teams)))


def available_actions(agent: Agent, ticket: Ticket) -> list[str]:
    return [name for name in TRANSITIONS if allowed(agent, ticket, name)]


# --- the concurrency rule: which changes since a person loaded the page refuse their action -----

# What each action is about. A change saved after the person loaded the form refuses their action
# only if it touched one of these (Conflict: they see what changed, their text kept); any other
# change lets it through. Two agents assigning, resolving or replying at once still collide;
# a customer's message, a note or a priority change does not bounce an escalation.
#   answer:          an agent's public answer (reply, question to the customer, resolution)
#   unseen message:  a message from the customer (or someone on copy) the page had not shown
#   status, assignee, team, priority, sla, department, access_link: those fields
AFFECTS: dict[str, frozenset[str]] = {name: frozenset(aspects) for name, aspects in {
    "reply": ("answer", "unseen message"),
    "note": (),
    "tag": (),
    "claim": ("assignee",),
    "assign": ("assignee", "team"),
    "set_priority": ("priority",),
    "set_sla": ("sla",),
    "transfer": ("department",),
    "request_info": ("answer", "unseen message", "status"),
    "escalate": ("team", "status"),
    "resume": ("status",),
    "resolve": ("answer", "unseen message", "status"),
    "close": ("status",),
    "reopen": ("status",),
    "access_link": ("access_link",),
    "collaborators": (),
}.items()}

# What each history event touches (status events are read by _touched).
_TOUCHES = {
    "claimed": "assignee", "assigned": "assignee", "team": "team", "escalated": "team",
    "priority": "priority", "sla": "sla", "transferred": "department", "replied": "answer",
    "access_link": "access_link",
}
# A status an agent only reaches by answering the customer (a question, the resolution).
_ANSWERED = {STATUS_LABELS["pending"], STATUS_LABELS["resolved"]}
_MESSAGES = {"customer_replied", "collaborator_replied"}


def _touched(changes: list[Event], seen_version: int) -> set[str]:
    """The aspects (see AFFECTS) the changes touched. A customer's message and what it did to
    the status (woke a pending ticket, reopened a resolved one) count as one message, seen if the
    page showed its version."""
    by_version: dict[int, list[Event]] = {}
    for e in changes:
        by_version.setdefault(e.version, []).append(e)
    touched: set[str] = set()
    for version, group in by_version.items():
        if any(e.action in _MESSAGES for e in group):
            if version > seen_version:
                touched.add("unseen message")
            continue
        for e in group:
            if e.action == "status":
                touched.add("status")
                if e.agent_id is not None and e.new in _ANSWERED:
                    touched.add("answer")
            elif e.action in _TOUCHES:
                touched.add(_TOUCHES[e.action])
    return touched


def check(agent: Agent, ticket: Ticket, action: str, expected_version: int | None = None,
          seen_version: int | None = None) -> Transition:
    """Raise NotAllowed, Conflict or InvalidTransition unless the agent may take the action now.

    `expected_version`: the ticket's version when the form was loaded; `seen_version`: the newest
    version the page has shown since (live updates), if newer. The action is refused as a
    Conflict if a change since `expected_version` touched what it affects (AFFECTS), or made it
    impossible."""
    t = TRANSITIONS[action]
    if not can_see(agent, ticket):
        raise NotAllowed("You do not have access to this ticket.")
    if not agent.has_role(t.role):
        raise NotAllowed(f"Only a {t.role} or above may do this: {t.label.lower()}.")
    if expected_version is not None and expected_version != ticket.version:
        conflict = _conflict(ticket, expected_version)
        seen = max(expected_version, seen_version or 0)
        if ticket.status not in t.sources or _touched(conflict.changes, seen) & AFFECTS[action]:
            raise conflict
    if ticket.status not in t.sources:
        raise InvalidTransition(
            f"A ticket that is {STATUS_LABELS[ticket.status].lower()} cannot take this action: "
            f"{t.label.lower()}."
        )
    return t


def check_version(ticket: Ticket, action: str, expected_version: int | None) -> None:
    """The concurrency rule alone, for actions outside TRANSITIONS (access links, people on copy)."""
    if expected_version is not None and expected_version != ticket.version:
        conflict = _conflict(ticket, expected_version)
        if _touched(conflict.changes, expected_version) & AFFECTS[action]:
            raise conflict


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


# --- every change: version, history, status, thread, transaction ---------------------------


def _bump(ticket: Ticket, now: datetime) -> None:
    ticket.version = (ticket.version or 0) + 1
    ticket.updated_at = now


# session.info: (id, name) of the automation rule whose actions are being applied (tickets/system.py);
# the history Events written meanwhile say it did them.
ACTING_RULE = "helpdesk.acting_rule"


def _event(ticket, action, *, agent=None, customer=None, old=None, new=None, note=None, now=None) -> Event:
    rule = db.session.info.get(ACTING_RULE)
    event = (
        Event(
            ticket=ticket,
            agent=agent,
            customer=customer,
            action=action,
            old=None if old is None else str(old)[:200],
            new=None if new is None else str(new)[:200],
            note=None if note is None else text.one_line(note, 500),
            version=ticket.version,
            created_at=now or clock.utcnow(),
            rule_id=rule[0] if rule else None,
            rule_name=rule[1] if rule else None,
        )
    )
    db.session.add(event)
    return event


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
        _reopened(ticket)
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


def _body(text: str, what: str = "message") -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidInput(f"The {what} cannot be empty.")
    if len(text) > BODY_MAX:
        raise InvalidInput(f"The {what} is longer than {BODY_MAX} characters.")
    return text


def _add_entry(ticket, kind, body, *, agent=None, customer=None, uploads=(), now, stored, via=None, purpose=None):
    entry = ThreadEntry(
        ticket=ticket, kind=kind, agent=agent, customer=customer,
        body=body, body_html=render_body(body), created_at=now, via=via, purpose=purpose,
        attachments=[],  # known empty until added below: read without a query (e.g. by a mail)
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


def _answer(ticket, agent, body, *, uploads=(), now, stored, event=None, purpose=None):
    """An agent's answer to the customer on the thread (a reply, a question, the resolution): the
    ticket is answered, its first response is timed, and an unassigned ticket becomes the agent's."""
    entry = _add_entry(ticket, "reply", body, agent=agent, uploads=uploads, now=now, stored=stored, purpose=purpose)
    ticket.is_answered = True
    _first_response(ticket, now)
    if event:
        _event(ticket, event, agent=agent, now=now)
    if ticket.assignee is None:
        ticket.assignee = agent
        _event(ticket, "claimed", agent=agent, new=agent.name, now=now)
    return entry


def _status_note(ticket, agent, note: str, now) -> str | None:
    """The optional note of a status change (resume, close, reopen): kept on the thread as an
    internal note; returned for the history event."""
    if not note.strip():
        return None
    _add_entry(ticket, "note", _body(note, "note"), agent=agent, now=now, stored=[])
    return note.strip()


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
