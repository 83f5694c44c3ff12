"""Changes the desk makes by itself, for an automation rule: inside the caller's transaction (the
event that fired the rule, or a time rule's own), with no agent. Each is checked as the agent's
action would be by state (TRANSITIONS) and target (active, of the ticket's department), writes
the same history Event, said to be the rule's (`acting`), and queues the same mails.

A change that cannot apply raises the lifecycle's errors (InvalidTransition, InvalidInput; NoChange
when the ticket is so already); the automation engine writes a refusal to the history and goes on.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import select, update

from ..extensions import db
from ..mail import notify
from ..models import (
    Agent,
    Department,
    Event,
    HelpTopic,
    OutboxMail,
    Priority,
    Rule,
    SLAPlan,
    Team,
    Ticket,
    Webhook,
)
from ..models.tag import tag_key
from .access import _copied_from_mail
from .assignment import _assign, works_in
from .deadlines import _recompute_due
from .rules import (
    ACTING_RULE,
    TRANSITIONS,
    InvalidInput,
    InvalidTransition,
    NoChange,
    _add_entry,
    _body,
    _bump,
    _event,
    _set_status,
)
from .tags import _add_tags, _remove_tags, find_or_create_tags


@contextmanager
def acting(rule: Rule):
    """Inside, every history Event written says `rule` did it."""
    before = db.session.info.get(ACTING_RULE)
    db.session.info[ACTING_RULE] = (rule.id, rule.name)
    try:
        yield
    finally:
        if before is None:
            db.session.info.pop(ACTING_RULE, None)
        else:
            db.session.info[ACTING_RULE] = before


def _may(ticket: Ticket, action: str) -> None:
    t = TRANSITIONS[action]
    if ticket.status not in t.sources:
        raise InvalidTransition(f"a {ticket.status_label.lower()} ticket cannot take this action: {t.label.lower()}")


def bump(ticket: Ticket, now: datetime) -> None:
    """A rule's changes are a version of the ticket of their own (the concurrency rule sees them)."""
    _bump(ticket, now)


def set_priority(ticket: Ticket, priority: Priority, now: datetime) -> None:
    _may(ticket, "set_priority")
    if priority.id == ticket.priority_id:
        raise NoChange(f"the priority is already {priority.name}")
    _event(ticket, "priority", old=ticket.priority.name, new=priority.name, now=now)
    ticket.priority = priority
    ticket.urgency = priority.urgency


def set_sla(ticket: Ticket, sla: SLAPlan, now: datetime) -> None:
    _may(ticket, "set_sla")
    if not sla.active:
        raise InvalidInput(f"the SLA plan {sla.name} is not active")
    if sla.id == ticket.sla_id:
        raise NoChange(f"the SLA plan is already {sla.name}")
    _event(ticket, "sla", old=ticket.sla.name if ticket.sla else None, new=sla.name, now=now)
    ticket.sla = sla
    _recompute_due(ticket, now)


def set_topic(ticket: Ticket, topic: HelpTopic, now: datetime) -> None:
    _may(ticket, "transfer")
    if not topic.active:
        raise InvalidInput(f"the help topic {topic.name} is not active")
    if topic.id == ticket.topic_id:
        raise NoChange(f"the help topic is already {topic.name}")
    _event(ticket, "topic", old=ticket.topic.name if ticket.topic else None, new=topic.name, now=now)
    ticket.topic = topic


def transfer(ticket: Ticket, department: Department, now: datetime) -> None:
    _may(ticket, "transfer")
    if not department.active:
        raise InvalidInput(f"the department {department.name} is not active")
    if department.id == ticket.department_id:
        raise NoChange(f"the ticket is already in {department.name}")
    _event(ticket, "transferred", old=ticket.department.name, new=department.name, now=now)
    ticket.department = department
    notify.transferred(ticket, None)


def assign_team(ticket: Ticket, team: Team, now: datetime) -> None:
    _may(ticket, "assign")
    if not team.active:
        raise InvalidInput(f"the team {team.name} is not active")
    if team.id == ticket.team_id:
        raise NoChange(f"the ticket is already with {team.name}")
    _assign(ticket, None, team, actor=None, now=now)


def assign_agent(ticket: Ticket, agent: Agent, now: datetime) -> None:
    _may(ticket, "assign")
    if not agent.active:
        raise InvalidInput(f"{agent.name} is not active")
    if agent.id == ticket.assignee_id:
        raise NoChange(f"the ticket is already assigned to {agent.name}")
    if not works_in(agent, ticket.department_id):
        raise InvalidInput(f"{agent.name} is not an agent of {ticket.department.name}")
    _assign(ticket, agent, None, actor=None, now=now)


def assign_in_turn(ticket: Ticket, team: Team, rule: Rule, now: datetime) -> None:
    """The team's next active member (of the ticket's department) after the one this rule gave
    its last ticket to; the rule's row is locked while it is read (PostgreSQL), so the rotation is
    fair across workers. The team takes the ticket too."""
    _may(ticket, "assign")
    if not team.active:
        raise InvalidInput(f"the team {team.name} is not active")
    members = sorted((a for a in team.members if a.active and works_in(a, ticket.department_id)),
                     key=lambda a: a.id)
    if not members:
        raise InvalidInput(f"the team {team.name} has no active agent of {ticket.department.name}")
    last = db.session.scalar(select(Rule.rr_last_agent_id).where(Rule.id == rule.id).with_for_update())
    chosen = next((a for a in members if last is not None and a.id > last), members[0])
    db.session.execute(update(Rule).where(Rule.id == rule.id).values(rr_last_agent_id=chosen.id)
                       .execution_options(synchronize_session=False))
    if chosen.id == ticket.assignee_id and team.id == ticket.team_id:
        raise NoChange(f"the ticket is already assigned to {chosen.name} of {team.name}")
    _assign(ticket, chosen if chosen.id != ticket.assignee_id else None,
            team if team.id != ticket.team_id else None, actor=None, now=now)


def add_tags(ticket: Ticket, names: list[str], now: datetime) -> None:
    """Tag the ticket (a tag the desk does not have yet is created: the rule's author chose it)."""
    _may(ticket, "tag")
    if not _add_tags(ticket, find_or_create_tags(names, may_create=True), now=now):
        raise NoChange("the ticket has these tags already")


def remove_tags(ticket: Ticket, names: list[str], now: datetime) -> None:
    _may(ticket, "tag")
    keys = {tag_key(n) for n in names}
    if not _remove_tags(ticket, [t for t in ticket.tags if t.key in keys], now=now):
        raise NoChange("the ticket has none of these tags")


def copy(ticket: Ticket, addresses: list[str], now: datetime) -> None:
    """Put these people on copy (as a customer's Cc would: not those an agent took off copy)."""
    added = _copied_from_mail(ticket, [(a, a) for a in addresses], ticket.customer, now)
    if not added:
        raise NoChange("everyone is on copy already")


def note(ticket: Ticket, body: str, now: datetime) -> None:
    _add_entry(ticket, "note", _body(body, "note"), now=now, stored=[], via="rule")
    _event(ticket, "noted", now=now)


def reply(ticket: Ticket, body: str, now: datetime) -> None:
    """A public answer in the desk's name (not an agent's: it is no first response)."""
    _may(ticket, "reply")
    entry = _add_entry(ticket, "reply", _body(body, "reply"), now=now, stored=[], via="rule")
    _event(ticket, "replied", now=now)
    db.session.flush()
    notify.agent_replied(ticket, entry)


def resolve(ticket: Ticket, body: str, now: datetime) -> None:
    _may(ticket, "resolve")
    entry = _add_entry(ticket, "reply", _body(body, "resolution"), now=now, stored=[], via="rule",
                       purpose="resolution")
    _set_status(ticket, "resolved", now=now)
    db.session.flush()
    notify.resolved(ticket, entry)


def close(ticket: Ticket, now: datetime, note: str | None = None) -> None:
    _may(ticket, "close")
    _set_status(ticket, "closed", now=now, note=note)
    notify.closed(ticket, None, automatic=True)


def mail(ticket: Ticket, address: str, subject: str, message: str, now: datetime) -> None:
    notify.rule_mail(ticket, address, subject, message)
    _event(ticket, "rule_mailed", new=address, now=now)


def webhook_called(ticket: Ticket, webhook: Webhook, now: datetime) -> Event:
    """The history line of a rule's call of a webhook: the event the webhook is sent."""
    event = _event(ticket, "rule_webhook", new=webhook.name, now=now)
    db.session.flush()
    return event


def suppress_acknowledgement(ticket: Ticket) -> None:
    """Take back the acknowledgement queued to the customer in this transaction."""
    db.session.flush()
    rows = db.session.scalars(select(OutboxMail).where(
        OutboxMail.ticket_id == ticket.id, OutboxMail.event == "created", OutboxMail.status == "pending",
        OutboxMail.recipient == ticket.customer.email)).all()
    if not rows:
        raise NoChange("no acknowledgement was queued")
    for row in rows:
        db.session.delete(row)
    _event(ticket, "acknowledgement_held", now=rows[0].created_at)


def refused(ticket: Ticket, what: str, why: str, now: datetime) -> None:
    """A rule's action that could not apply: said in the history, nothing else changed."""
    _event(ticket, "rule_refused", new=what, note=why, now=now)
