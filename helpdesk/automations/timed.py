"""Time rules, run by the scheduled job (jobs.py "automations", `flask automations run --loop`).

A time rule waits for a ticket to have been so for a while (WAITS); each wait has a "since", the
moment it began, read from the ticket's own columns and rows:

- pending: when the ticket began to await the customer (its open SLA pause);
- unassigned: the latest of its creation, its reopening and its last change of assignee (the
  history's "assigned"/"claimed" events: a ticket without an assignee now lost it, or never had
  one, at its last such change); active tickets only;
- unanswered: the customer's (or someone on copy's) first message after the last answer of an
  agent, while the ticket is not answered (a rule's own reply is no agent's answer); a second
  message before the answer does not start the wait again;
- resolved: when it was resolved (status resolved);
- due: the next due time itself (first response or resolution, not overdue yet); the rule acts
  `wait` before it, so a new due time is a new wait.

A round takes each active time rule in order, reads its candidates with one query (the wait
reached, the rule's SQL-readable conditions, and no run recorded for this rule, ticket and
since) and acts on each in a transaction of its own: the RuleRun row goes in first; its unique
(rule, ticket, since) is what makes a rule act once per wait, however many schedulers run at once
(on PostgreSQL the second insert waits for the first transaction and then fails). The ticket is
then read again and the wait and the conditions tested on it; when they hold, the actions apply
as the rule (history "by rule …"), and everything commits together. When the conditions do not
hold nothing is recorded: a condition that becomes true later in the same wait ("priority is
Emergency") still fires then.

Business-hours rules count the wait in the ticket's SLA plan's hours (24x7 without a plan): the
query bounds each plan's tickets by the exact instant its hours give, and the count is checked
once more in Python. A round reads at most LIMIT candidates per rule, oldest wait first; after a
full page the next round goes on after it, so neither a backlog nor tickets whose other conditions
do not hold keep the rest waiting.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import aliased
from sqlalchemy.orm.exc import StaleDataError

from .. import clock, sla, tickets
from ..extensions import db
from ..models import ACTIVE_STATUSES, Event, Rule, RuleRun, Setting, SLAPause, SLAPlan, ThreadEntry, Ticket
from ..tickets.deadlines import schedule
from . import conditions, engine

log = logging.getLogger(__name__)

LIMIT = 500  # candidates read per rule and round

AUTO_CLOSE = "auto_close"  # Rule.system of the desk's auto-close
AUTO_CLOSE_NAME = "Close resolved tickets"
AUTO_CLOSE_DEFAULT_DAYS = 7


@dataclass(frozen=True)
class Done:
    """A time rule acted on a ticket (the job's report)."""

    rule: str
    number: str
    stop: bool = False  # the rule said to run no further rules on the ticket (in this round)

    def __str__(self):
        return f"#{self.number}: rule “{self.rule}”"


# --- when each wait began --------------------------------------------------------------------


def _wait(rule: engine.Compiled, now: datetime):
    """(since, the SQL conditions of being in this wait) for rule.wait, on the ticket table."""
    t = Ticket
    active = t.status.in_(ACTIVE_STATUSES)
    if rule.wait == "pending":
        since = select(func.max(SLAPause.started_at)).where(
            SLAPause.ticket_id == t.id, SLAPause.ended_at.is_(None)).correlate(t).scalar_subquery()
        return since, [t.status == "pending"]
    if rule.wait == "resolved":
        return t.resolved_at, [t.status == "resolved"]
    if rule.wait == "unassigned":
        changed = select(func.max(Event.created_at)).where(
            Event.ticket_id == t.id, Event.action.in_(("assigned", "claimed"))).correlate(t).scalar_subquery()
        began = func.coalesce(t.reopened_at, t.created_at)
        return case((changed > began, changed), else_=began), [t.assignee_id.is_(None), active]
    if rule.wait == "unanswered":
        message, answer = aliased(ThreadEntry), aliased(ThreadEntry)
        answered = select(func.max(answer.id)).where(
            answer.ticket_id == t.id, answer.kind == "reply", answer.agent_id.is_not(None)).correlate(t)
        since = select(func.min(message.created_at)).where(
            message.ticket_id == t.id, message.kind == "message",
            message.id > func.coalesce(answered.scalar_subquery(), 0)).correlate(t).scalar_subquery()
        return since, [t.is_answered.is_(False), active]
    if rule.wait == "due":
        return t.next_due_at, [t.next_due_at > now]  # NULL once overdue or no longer worked
    raise ValueError(f"unknown wait {rule.wait!r}")


def _business_start(hours: sla.Schedule, now: datetime, seconds: float) -> datetime | None:
    """A moment (to the second, or just after) from which `seconds` of open time have passed by
    now: every start at or before the true one is at or before it. None: the hours never open."""
    if not hours.ever_open:
        return None
    span = timedelta(seconds=max(seconds, 60))
    for _ in range(24):
        if sla.business_seconds_between(hours, now - span, now) >= seconds:
            break
        span *= 2
    else:
        return None
    early, late = now - span, now - timedelta(seconds=seconds)  # open time: enough at early
    if sla.business_seconds_between(hours, late, now) >= seconds:
        return late
    while late - early > timedelta(seconds=1):
        middle = early + (late - early) / 2
        if sla.business_seconds_between(hours, middle, now) >= seconds:
            early = middle
        else:
            late = middle
    return late


def _reached(rule: engine.Compiled, since, sla_id, now: datetime, plans: dict):
    """SQL: the wait that began at `since` has lasted the rule's time by now (for `due`: the due
    time is within it). For business hours, per SLA plan, bounded by the instant its hours give."""
    seconds = rule.wait_minutes * 60
    due = rule.wait == "due"
    wall = since <= (now + timedelta(seconds=seconds) if due else now - timedelta(seconds=seconds))
    if not rule.business_hours:
        return wall
    by_plan = []
    for plan_id, hours in plans.items():
        if due:
            bound = sla.add_business_seconds(hours, now, seconds + 1) if hours.ever_open else None
        else:
            bound = _business_start(hours, now, seconds)
        if bound is not None:
            by_plan.append(and_(sla_id == plan_id, since <= bound))
    return or_(and_(or_(sla_id.is_(None), sla_id.not_in(list(plans) or [0])), wall), *by_plan)


def _business_plans() -> dict[int, sla.Schedule]:
    plans = db.session.scalars(select(SLAPlan).where(SLAPlan.schedule == "business")).all()
    return {p.id: hours for p in plans if not (hours := schedule(p)).always}


def _lasted(rule: engine.Compiled, ticket: Ticket, since: datetime, now: datetime) -> bool:
    """The exact test in Python (business time in the ticket's plan's hours)."""
    seconds = rule.wait_minutes * 60
    hours = schedule(ticket.sla) if rule.business_hours else sla.Schedule()
    if rule.wait == "due":
        return now < since and sla.business_seconds_between(hours, now, since) <= seconds
    return sla.business_seconds_between(hours, since, now) >= seconds


# --- the conditions SQL can read ---------------------------------------------------------------

_COLUMNS = {"priority": Ticket.priority_id, "status": Ticket.status, "department": Ticket.department_id,
            "topic": Ticket.topic_id, "assignee": Ticket.assignee_id, "team": Ticket.team_id,
            "sla": Ticket.sla_id, "channel": Ticket.source}


def _clause(condition: dict):
    column = _COLUMNS.get(condition["field"])
    if column is None:
        return None
    op, value = condition["op"], condition["value"]
    if op == "is":
        return column == value
    if op == "is_not":
        return or_(column != value, column.is_(None))
    if op == "in_list":
        return column.in_(value)
    if op == "not_in_list":
        return or_(column.not_in(value), column.is_(None))
    if op == "is_empty":
        return column.is_(None)
    if op == "not_empty":
        return column.is_not(None)
    return None


def _narrowing(rule: engine.Compiled) -> list:
    """The rule's conditions on the ticket's own columns, as SQL (the rest are tested in Python)."""
    clauses = [_clause(c) for c in rule.conditions]
    if rule.match == "any":
        return [or_(*clauses)] if clauses and None not in clauses else []
    return [c for c in clauses if c is not None]


# --- a round ---------------------------------------------------------------------------------


def _candidates(rule: engine.Compiled, now: datetime, plans: dict, limit: int, after) -> list[tuple[int, datetime]]:
    since, being = _wait(rule, now)
    inner = select(Ticket.id.label("ticket_id"), Ticket.sla_id.label("sla_id"), since.label("since")).where(
        *being, *_narrowing(rule))
    if rule.department_id is not None:
        inner = inner.where(Ticket.department_id == rule.department_id)
    inner = inner.subquery()
    query = select(inner.c.ticket_id, inner.c.since).where(
        inner.c.since.is_not(None),
        _reached(rule, inner.c.since, inner.c.sla_id, now, plans),
        ~exists().where(RuleRun.rule_id == rule.id, RuleRun.ticket_id == inner.c.ticket_id,
                        RuleRun.since == inner.c.since),
    )
    if after is not None:
        query = query.where(or_(inner.c.since > after[0], and_(inner.c.since == after[0], inner.c.ticket_id > after[1])))
    return [tuple(row) for row in db.session.execute(query.order_by(inner.c.since, inner.c.ticket_id).limit(limit))]


def _still_waiting(rule: engine.Compiled, ticket: Ticket, since: datetime, now: datetime) -> bool:
    """The ticket, read again in the run's transaction, is in the same wait, long enough."""
    expr, being = _wait(rule, now)
    current = db.session.scalar(select(expr).where(Ticket.id == ticket.id, *being))
    return current == since and _lasted(rule, ticket, since, now)


def _act_once(rule: engine.Compiled, ticket_id: int, since: datetime, now: datetime) -> Done | None:
    """One ticket, one transaction: the run's row first (a second scheduler's insert fails here),
    then the wait and conditions on the ticket as it is now, then the actions. None: not done."""
    session = db.session
    try:
        session.add(RuleRun(rule_id=rule.id, ticket_id=ticket_id, since=since, created_at=now))
        session.flush()
    except IntegrityError:  # done by another scheduler (or the ticket is gone)
        session.rollback()
        return None
    try:
        ticket = session.get(Ticket, ticket_id, populate_existing=True)
        facts = conditions.Facts(ticket=ticket, now=now) if ticket is not None else None
        if facts is None or not _still_waiting(rule, ticket, since, now) \
                or not conditions.matches(list(rule.conditions), rule.match, facts):
            session.rollback()  # nothing recorded: it may still fire later in this wait
            return None
        with engine.as_rule_action(session):
            stop = engine.act(rule, ticket, now)
            session.flush()  # its Events are noted as a rule's (the loop guard) while inside
        done = Done(rule.name, ticket.number, stop)
        session.commit()
        return done
    except (StaleDataError, IntegrityError, tickets.LifecycleError) as exc:
        # The ticket changed meanwhile (the next round sees it as it is now), or a rule made for
        # opened tickets only: nothing is recorded.
        session.rollback()
        log.info("time rule %r on ticket %s: not applied (%s)", rule.name, ticket_id, exc)
        return None
    except (OperationalError, InterfaceError):  # the database is away: the round stops, the next one retries
        session.rollback()
        raise
    except Exception:  # this ticket only: the others still get their turn
        session.rollback()
        log.exception("time rule %r on ticket %s failed; it is tried again next round", rule.name, ticket_id)
        return None


def run_due(now: datetime | None = None, limit: int = LIMIT) -> list[Done]:
    """One round of the time rules; what they did."""
    now = now or clock.utcnow()
    rules = engine.active_rules("time")
    if not rules:
        return []
    plans = _business_plans() if any(r.business_hours for r in rules) else {}
    cursors = current_app.extensions.setdefault("helpdesk.timed_cursors", {})
    done: list[Done] = []
    stopped: set[int] = set()
    for rule in rules:
        if rule.wait is None or rule.wait_minutes < 0:
            continue
        key = (rule.id, rule.wait, rule.wait_minutes)
        found = _candidates(rule, now, plans, limit, cursors.get(key))
        db.session.rollback()  # each ticket in a transaction of its own
        cursors[key] = (found[-1][1], found[-1][0]) if len(found) >= limit else None
        for ticket_id, since in found:
            if ticket_id in stopped:
                continue
            result = _act_once(rule, ticket_id, since, now)
            if result is not None:
                done.append(result)
                if result.stop:
                    stopped.add(ticket_id)
    return done


# --- the rules the desk itself relies on -------------------------------------------------------


def auto_close_days() -> int:
    """The days of the auto-close the desk had before it was a rule: the admin's setting, else the
    configuration (HELPDESK_AUTO_CLOSE_DAYS); 0: off."""
    row = db.session.get(Setting, "auto_close_days")
    try:
        return int(row.value) if row is not None else int(current_app.config.get("HELPDESK_AUTO_CLOSE_DAYS") or 0)
    except ValueError:
        return 0


def auto_close_rule(days: int) -> dict:
    """The columns of the auto-close rule (the migration 20261216_auto_close_rule writes the same)."""
    return dict(
        name=AUTO_CLOSE_NAME, system=AUTO_CLOSE, kind="time", active=days > 0, position=1000,
        description="Closes a ticket some days after it was resolved, mailing the customer. "
                    "Switch it off to keep resolved tickets open for replies.",
        wait="resolved", wait_minutes=(days if days > 0 else AUTO_CLOSE_DEFAULT_DAYS) * 1440, match="all",
        conditions=json.dumps([{"field": "status", "op": "is", "value": "resolved"}]),
        actions=json.dumps([{"type": "close"}]),
    )


def ensure_system_rules() -> None:
    """Create the desk's own rules where missing (a database made without the migrations); the
    caller commits."""
    if db.session.scalar(select(Rule.id).where(Rule.system == AUTO_CLOSE)) is None:
        columns = auto_close_rule(auto_close_days())
        if db.session.scalar(select(Rule.id).where(Rule.name == columns["name"])) is not None:
            columns["name"] += " (desk)"
        db.session.add(Rule(**columns))
        db.session.flush()
