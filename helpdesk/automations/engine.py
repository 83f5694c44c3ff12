"""Event rules, run in the transaction of the change that fired them.

Every change to a ticket writes history Events in its transaction. A session hook notes them as
they are flushed; just before the transaction commits, each ticket's new Events say what
happened (TRIGGERS), and the active event rules run on it in order (position, then id): a rule
whose triggers and conditions hold applies its actions through tickets.system, whose Events say
the rule did them. Nothing is committed in between: the change and everything its rules did
commit together, or nothing does (a rule that rejects a new ticket rolls the opening back).

No loops: the Events a rule writes may fire rules again, but only MAX_DEPTH rounds deep, and a
rule acts at most once on a ticket in one transaction. A rule's action that cannot apply (a
closed ticket cannot change priority, an agent left the department) is written to the history
as refused, and the rule's other actions still run.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select, update

from .. import clock, tickets
from ..extensions import db, listen_to_sessions
from ..models import STATUS_LABELS, Event, Rule, ThreadEntry, Ticket
from ..tickets import system
from . import actions, conditions

log = logging.getLogger(__name__)

MAX_DEPTH = 3

_NOTED = "helpdesk.rules_noted"  # session.info: [(Event, depth)] flushed and not yet looked at
_ENTRIES = "helpdesk.rules_entries"  # session.info: {ticket id: newest message or answer flushed}
_FIRED = "helpdesk.rules_fired"  # session.info: {(rule id, ticket id)} acted in this transaction
_DEPTH = "helpdesk.rules_depth"  # session.info: the depth of the Events being written now

_DONE = {STATUS_LABELS["resolved"], STATUS_LABELS["closed"]}
_ANSWERED = {STATUS_LABELS["pending"], STATUS_LABELS["resolved"]}


@dataclass(frozen=True)
class Compiled:
    """A rule as the engine runs it: read once per change of the rules, kept per process."""

    id: int
    name: str
    position: int
    department_id: int | None
    triggers: frozenset[str]
    channels: frozenset[str]
    match: str
    conditions: tuple[dict, ...]
    actions: tuple[dict, ...]
    wait: str | None = None  # time rules (automations/timed.py): WAITS key, minutes, counted how
    wait_minutes: int = 0
    business_hours: bool = False

    @classmethod
    def of(cls, rule: Rule) -> "Compiled":
        return cls(rule.id, rule.name, rule.position, rule.department_id, frozenset(rule.trigger_list),
                   frozenset(rule.channel_list), rule.match, tuple(rule.condition_list), tuple(rule.action_list),
                   rule.wait, rule.wait_minutes or 0, bool(rule.business_hours))

    def fires_on(self, ticket: Ticket, triggers: frozenset[str]) -> bool:
        if self.department_id is not None and self.department_id != ticket.department_id:
            return False
        hit = self.triggers & triggers
        if not hit:
            return False
        return not (hit == {"opened"} and self.channels and ticket.source not in self.channels)


def active_rules(kind: str = "event") -> tuple[Compiled, ...]:
    """The active rules of a kind in order; read again only when a rule changed (every save
    stamps updated_at), so a change costs one small query, not 200 rows. Kept per app (its
    database): another app's rules may have the same ids and times."""
    key = (kind,) + tuple(db.session.execute(
        select(func.count(Rule.id), func.max(Rule.updated_at), func.sum(Rule.id)).where(
            Rule.kind == kind, Rule.active.is_(True))).one())
    cache = current_app.extensions.setdefault("helpdesk.rules_cache", {})
    cached = cache.get(kind)
    if cached is None or cached[0] != key:
        rows = db.session.scalars(select(Rule).where(Rule.kind == kind, Rule.active.is_(True))
                                  .order_by(Rule.position, Rule.id)).all()
        cached = cache[kind] = (key, tuple(Compiled.of(r) for r in rows))
    return cached[1]


# --- what happened ---------------------------------------------------------------------------


def triggers_of(events) -> frozenset[str]:
    found = set()
    for e in events:
        action = e.action
        if action == "created":
            found.add("opened")
        elif action in ("customer_replied", "collaborator_replied"):
            found.add("customer_replied")
        elif action == "replied" and e.agent_id is not None:
            found.add("agent_replied")
        elif action == "status":
            found.add("status_changed")
            if e.old in _DONE and e.new not in _DONE:
                found.add("reopened")
            if e.agent_id is not None and e.new in _ANSWERED:
                found.add("agent_replied")  # a question to the customer, or the resolution
        elif action == "priority":
            found.add("priority_changed")
        elif action in ("claimed", "assigned"):
            found.add("assignee_changed")
        elif action in ("team", "escalated"):
            found.add("team_changed")
    return frozenset(found)


@dataclass(frozen=True)
class MailFacts:
    recipients: tuple[str, ...]
    mailbox_id: int | None


_MAIL: ContextVar[MailFacts | None] = ContextVar("rules_mail", default=None)


@contextmanager
def mail_in(recipients, mailbox_id: int | None):
    """Inside, the changes are a mail's doing: rules may test where it was sent."""
    token = _MAIL.set(MailFacts(tuple(sorted({r.lower() for r in recipients if r})), mailbox_id))
    try:
        yield
    finally:
        _MAIL.reset(token)


def facts_for(ticket: Ticket, triggers: frozenset[str], message: ThreadEntry | None) -> conditions.Facts:
    mail = _MAIL.get()
    return conditions.Facts(ticket=ticket, now=clock.utcnow(), triggers=triggers, message=message,
                            recipients=mail.recipients if mail else (),
                            mailbox_id=mail.mailbox_id if mail else None)


# --- acting ----------------------------------------------------------------------------------


def act(rule: Compiled, ticket: Ticket, now) -> bool:
    """Apply the rule's actions to the ticket, as the rule; True when it says to stop."""
    db.session.execute(update(Rule).where(Rule.id == rule.id).values(
        matched_count=Rule.matched_count + 1, last_matched_at=now).execution_options(synchronize_session=False))
    stop = False
    with system.acting(rule):
        system.bump(ticket, now)
        run = actions.Run(rule=rule, ticket=ticket, now=now)
        for action in rule.actions:
            if action["type"] == "stop":
                stop = True
                continue
            try:
                actions.apply(action, run)
            except tickets.Rejected:
                raise
            except tickets.NoChange:
                continue
            except tickets.LifecycleError as exc:
                label, _ = actions.describe(action)
                system.refused(ticket, label, exc.message, now)
    return stop


def _run(session) -> None:
    # before_commit comes before the commit's own flush: Events not flushed yet are noted by it.
    if not session.info.get(_NOTED) and not any(isinstance(obj, Event) for obj in session.new):
        return
    session.flush()
    rules = active_rules("event")
    if not rules:
        _forget_noted(session)
        return
    fired = session.info.setdefault(_FIRED, set())
    while session.info.get(_NOTED):
        batch = session.info.pop(_NOTED)
        by_ticket: dict[int, list[tuple[Event, int]]] = {}
        for event, depth in batch:
            if event.ticket_id is not None:
                by_ticket.setdefault(event.ticket_id, []).append((event, depth))
        for ticket_id, group in by_ticket.items():
            depth = max(d for _, d in group)
            if depth >= MAX_DEPTH:
                log.warning("ticket %s: rules stopped after %s rounds of rules firing rules", ticket_id, depth)
                continue
            ticket = session.get(Ticket, ticket_id)
            triggers = triggers_of(e for e, _ in group)
            if ticket is None or not triggers:
                continue
            facts = None
            session.info[_DEPTH] = depth + 1
            try:
                for rule in rules:
                    if (rule.id, ticket_id) in fired or not rule.fires_on(ticket, triggers):
                        continue
                    if facts is None:
                        facts = facts_for(ticket, triggers, session.info.get(_ENTRIES, {}).get(ticket_id))
                    if not conditions.matches(rule.conditions, rule.match, facts):
                        continue
                    fired.add((rule.id, ticket_id))
                    stop = act(rule, ticket, clock.utcnow())
                    # Written now: the next rule reads the ticket's columns (priority_id, ...)
                    # as this one left them.
                    session.flush()
                    if stop:
                        break
            finally:
                session.info.pop(_DEPTH, None)


def _note(session, flush_context) -> None:
    depth = session.info.get(_DEPTH, 0)
    noted = None
    for obj in session.new:
        if isinstance(obj, Event):
            if noted is None:
                noted = session.info.setdefault(_NOTED, [])
            noted.append((obj, depth))
        elif isinstance(obj, ThreadEntry) and obj.kind in ("message", "reply") and obj.via != "rule":
            entries = session.info.setdefault(_ENTRIES, {})
            if obj.ticket_id not in entries or (entries[obj.ticket_id].id or 0) < (obj.id or 0):
                entries[obj.ticket_id] = obj


def _forget_noted(session) -> None:
    for key in (_NOTED, _ENTRIES):
        session.info.pop(key, None)


def _forget(session, transaction) -> None:
    if transaction.parent is None:
        for key in (_NOTED, _ENTRIES, _FIRED, _DEPTH):
            session.info.pop(key, None)


@contextmanager
def as_rule_action(session=None):
    """Inside, the Events written count as a rule's (one round deep): a time rule's actions."""
    session = session or db.session
    session.info[_DEPTH] = 1
    try:
        yield
    finally:
        session.info.pop(_DEPTH, None)


# Registered before the webhooks' listeners (create_app): what the rules do is sent too.
_LISTENERS = (
    ("after_flush", _note),
    ("before_commit", _run),
    ("after_transaction_end", _forget),
)


def init_app(app) -> None:
    listen_to_sessions(_LISTENERS)
