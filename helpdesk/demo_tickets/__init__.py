"""The demo desk's tickets: three weeks of a small online-shop software company's support, so a
first sign-in shows a desk at work (loaded by `flask seed-demo` after helpdesk.demo.seed()).

Every ticket is opened and worked through the lifecycle (helpdesk.tickets), step by step, with
the desk's clock (helpdesk.clock) set to the moment of each step: history, SLA due times and
breaches, queue counts and the search index are what the desk itself would have made. Between
steps the overdue check runs as its cron job would have, so tickets that went past their due
time were flagged then, with their history event.

No mail is queued for any of it (helpdesk.mail.notify.muted): the customers are made up, and an
outbox sender started later must not mail a past that never happened.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select

from .. import clock, settings, tickets
from ..extensions import db
from ..mail import notify
from ..models import Agent, Collaborator, HelpTopic, Priority, Team, Ticket
from .script import AGENTS
from .stories import STORIES
from .when import timeline

__all__ = ["STORIES", "load", "plan", "timeline"]


class _Cast:
    """The demo desk's rows the stories name."""

    def __init__(self):
        by_email = {a.email: a for a in db.session.scalars(select(Agent))}
        self.agents = {key: by_email[email] for key, email in AGENTS.items()}
        self.teams = {t.name: t for t in db.session.scalars(select(Team))}
        self.topics = {t.name: t for t in db.session.scalars(select(HelpTopic))}
        self.priorities = {p.key: p for p in db.session.scalars(select(Priority))}


def _open(story, cast) -> Ticket:
    name, email = story.customer
    return tickets.open_ticket(
        name=name, email=email, subject=story.subject, body=story.body, topic=cast.topics[story.topic],
        priority=cast.priorities[story.priority] if story.priority else None, source=story.source,
        agent=cast.agents[story.taken_by] if story.taken_by else None, copied=story.copied,
    )


def _on_copy(ticket: Ticket) -> Collaborator:
    return db.session.scalar(select(Collaborator).where(Collaborator.ticket_id == ticket.id,
                                                        Collaborator.active.is_(True)).order_by(Collaborator.id))


def _do(step, ticket: Ticket, cast) -> None:
    """One step: one lifecycle call."""
    who = cast.agents.get(step.who)
    match step.action:
        case "claim":
            tickets.claim(who, ticket)
        case "assign":
            tickets.assign(who, ticket, agent=cast.agents[step.target])
        case "priority":
            tickets.set_priority(who, ticket, cast.priorities[step.target])
        case "reply":
            tickets.reply(who, ticket, step.text)
        case "note":
            tickets.add_note(who, ticket, step.text)
        case "tag":
            tickets.add_tags(who, ticket, step.text.split(", "))
        case "ask":
            tickets.request_info(who, ticket, step.text)
        case "customer":
            tickets.customer_reply(ticket, step.text, via="email" if ticket.source == "email" else None)
        case "copied":
            tickets.customer_reply(ticket, step.text, collaborator=_on_copy(ticket), via="email")
        case "escalate":
            tickets.escalate(who, ticket, cast.teams[step.target], step.text)
        case "resolve":
            tickets.resolve(who, ticket, step.text)
        case "close":
            tickets.close(who, ticket, step.text)
        case "confirm":
            tickets.customer_confirm(ticket)
        case "reopen":
            tickets.reopen(who, ticket, step.text)
        case _:
            raise ValueError(f"unknown demo step {step.action!r}")


def _check_overdue_until(until: datetime, moment: list) -> None:
    """The overdue check, run as a cron job every minute would have up to `until`: each ticket
    is flagged the minute after it went past due."""
    for _ in range(len(STORIES) * 4):  # each round flags at least one ticket
        due = db.session.scalar(select(func.min(Ticket.next_due_at)).where(Ticket.next_due_at < until))
        if due is None:
            return
        moment[0] = min(due + timedelta(minutes=1), until)
        tickets.check_overdue(moment[0])


def plan(now: datetime | None = None) -> tuple[datetime, list]:
    """When each story's opening and steps happen, the last shortly before `now` (default: the
    clock's now). Raises ValueError on a script error, before anything is written."""
    now = now or clock.utcnow()
    try:
        zone = ZoneInfo(settings.get("timezone") or "UTC")
    except (ValueError, ZoneInfoNotFoundError):  # as the SLA clock does: the desk still works, in UTC
        zone = ZoneInfo("UTC")
    return now, timeline(STORIES, now, zone)


def load(planned: tuple[datetime, list] | None = None) -> dict[str, int]:
    """Open and work the demo tickets as `planned` (default: plan()). Meant for the demo desk just
    seeded; returns the number of tickets per status, and "overdue"."""
    now, steps = planned or plan()
    cast = _Cast()
    opened: dict[int, Ticket] = {}
    moment = [now]
    desk_clock = clock.utcnow
    clock.utcnow = lambda: moment[0]
    try:
        with notify.muted():
            for at, i, j in steps:
                _check_overdue_until(at, moment)
                moment[0] = at
                if j < 0:
                    opened[i] = _open(STORIES[i], cast)
                else:
                    _do(STORIES[i].steps[j], opened[i], cast)
            _check_overdue_until(now, moment)
    finally:
        clock.utcnow = desk_clock
    tickets.tally.tidy()
    counts = dict(db.session.execute(select(Ticket.status, func.count(Ticket.id)).group_by(Ticket.status)).all())
    counts["overdue"] = db.session.scalar(select(func.count(Ticket.id)).where(Ticket.is_overdue.is_(True)))
    return counts
