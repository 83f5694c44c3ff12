"""What a rule would have done to the desk's recent tickets, computed without changing anything:
its conditions tested on each ticket as it is now (with the message that fired the rule's trigger:
the description for "opened", the latest customer message or agent answer for those), and its
actions described against the ticket. Nothing is written, flushed or sent."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select

from .. import clock
from ..extensions import db
from ..models import Rule, ThreadEntry, Ticket
from . import actions, conditions

SIZES = (20, 50, 200)


@dataclass
class Hit:
    ticket: Ticket
    would: list[tuple[str, bool]]  # (what, changes something)


@dataclass
class Preview:
    looked_at: int
    hits: list[Hit]

    @property
    def matched(self) -> int:
        return len(self.hits)


def _message(ticket: Ticket, triggers: set[str]) -> ThreadEntry | None:
    if "opened" in triggers or not triggers:
        return None
    kinds = []
    if "customer_replied" in triggers:
        kinds.append(ThreadEntry.kind == "message")
    if "agent_replied" in triggers:
        kinds.append(ThreadEntry.kind == "reply")
    if not kinds:
        return None
    return db.session.scalar(select(ThreadEntry).where(ThreadEntry.ticket_id == ticket.id, or_(*kinds))
                             .order_by(ThreadEntry.id.desc()).limit(1))


def run(rule: Rule, size: int = 50) -> Preview:
    """The newest `size` tickets the rule could act on (its department's, for a department's
    rule; for "opened" from its channels), and what it would have done to those it matches."""
    with db.session.no_autoflush:
        query = select(Ticket).order_by(Ticket.id.desc()).limit(size)
        if rule.department_id is not None:
            query = query.where(Ticket.department_id == rule.department_id)
        triggers = set(rule.trigger_list) if rule.kind == "event" else set()
        if rule.kind == "event" and triggers == {"opened"} and rule.channel_list:
            query = query.where(Ticket.source.in_(rule.channel_list))
        found = db.session.scalars(query).all()
        now = clock.utcnow()
        rules_conditions, match = rule.condition_list, rule.match
        hits = []
        for ticket in found:
            facts = conditions.Facts(ticket=ticket, now=now, triggers=frozenset(triggers),
                                     message=_message(ticket, triggers))
            if conditions.matches(rules_conditions, match, facts):
                hits.append(Hit(ticket, [actions.describe(a, ticket) for a in rule.action_list]))
        return Preview(len(found), hits)
