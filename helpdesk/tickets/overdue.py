"""Overdue detection: flagging the tickets past a due time, once each, with the history
event, the alert mail and the SLA plan's escalation."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update

from .. import clock, live
from ..extensions import db
from ..mail import notify
from ..models import Priority, SLAPlan, Ticket
from .assignment import _assign
from .deadlines import crossed_due_clause
from .rules import _event


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
    now = now or clock.utcnow()
    # Sorted here, not in SQL: an ORDER BY id would tempt the planner to walk every ticket in id
    # order instead of reading the few past due from their index.
    candidates = sorted(db.session.scalars(select(Ticket.id).where(crossed_due_clause(now))))
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
            .where(Ticket.id == ticket_id, crossed_due_clause(now))
            .values(is_overdue=True, version=Ticket.version + 1)
            .execution_options(synchronize_session=False, desk_scoped=True)
        )
        if claim.rowcount != 1:  # someone else flagged it, or it was answered meanwhile
            db.session.rollback()
            return None
        ticket = db.session.get(Ticket, ticket_id, populate_existing=True)
        live.ticket_changed(ticket)  # the claim's statement changed this ticket, in its scopes
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
