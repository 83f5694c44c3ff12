"""The SLA clock: due times from the plan's schedule, time spent awaiting the customer, the
first response, and what counts as overdue. Only the lifecycle moves it."""
from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfoNotFoundError

from sqlalchemy import and_, or_, select, update

from .. import settings, sla
from ..extensions import db
from ..models import ACTIVE_STATUSES, SLAPause, SLAPlan, Ticket

log = logging.getLogger(__package__)


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
    """Resolved or closed: record whether the resolution target was met, and how long it took."""
    _end_pause(ticket, now)
    if ticket.sla is not None:
        late = ticket.due_at is not None and ticket.due_at < now
        # Once breached, a ticket stays breached, even if it is reopened and resolved in time.
        ticket.resolution_breached = bool(ticket.resolution_breached) or late
    ticket.is_overdue = False
    ticket.finished_at = now
    created = ticket.created_at or now
    ticket.resolution_secs = _seconds(now - created)
    # Worked time adds up over the stretches a reopening starts, each without its pauses.
    start = ticket.reopened_at or created
    ticket.resolution_work_secs = (ticket.resolution_work_secs or 0) + worked_seconds(
        schedule(ticket.sla), start, now, _pauses(ticket, start))


def _reopened(ticket: Ticket) -> None:
    """Work starts again on a finished ticket: it counts as reopened, its times run on."""
    ticket.finished_at = None
    ticket.resolution_secs = None
    ticket.reopen_count = (ticket.reopen_count or 0) + 1


def worked_seconds(hours: sla.Schedule, start: datetime, end: datetime,
                   pauses: list[tuple[datetime, datetime | None]]) -> int:
    """The schedule's open time from start to end, without the pauses within it."""
    total = sla.business_seconds_between(hours, start, end)
    for paused_from, paused_to in pauses:
        total -= sla.business_seconds_between(hours, max(paused_from, start), min(paused_to or end, end))
    return _seconds(total)


def _seconds(value) -> int:
    seconds = value.total_seconds() if hasattr(value, "total_seconds") else value
    return max(int(round(seconds)), 0)


def _first_response(ticket: Ticket, now: datetime) -> None:
    """The first agent answer the customer sees: record when, and whether it was in time."""
    if ticket.first_responded_at is not None:
        return
    ticket.first_responded_at = now
    created = ticket.created_at or now
    ticket.first_response_secs = _seconds(now - created)
    ticket.first_response_work_secs = _seconds(sla.business_seconds_between(schedule(ticket.sla), created, now))
    if ticket.first_response_due_at is not None:
        ticket.first_response_breached = ticket.first_response_due_at < now
    _clear_overdue(ticket, now)


def overdue_clause(now: datetime):
    """SQL condition: being worked and past the resolution or first-response due time. Either
    flagged by the overdue check (the flag goes as soon as nothing is past due any more), or
    crossed a due time since: Ticket.next_due_at, an index range however large the desk."""
    return or_(
        and_(Ticket.is_overdue.is_(True), Ticket.status.in_(ACTIVE_STATUSES)),
        crossed_due_clause(now),
    )


def crossed_due_clause(now: datetime):
    """SQL condition: being worked, not flagged overdue yet, and past a due time."""
    return Ticket.next_due_at < now
