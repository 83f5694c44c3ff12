"""Event rules: each trigger, condition and action, order and stop, the loop guard, and a rule's
refused action, run through the lifecycle as the desk's channels run it."""
from __future__ import annotations

import json

from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import Event, Rule, Ticket


def make_rule(name, conditions, actions, *, triggers=("opened",), match="all", position=0, department=None,
              channels=(), active=True):
    rule = Rule(name=name, kind="event", triggers=",".join(triggers), channels=",".join(channels), match=match,
                conditions=json.dumps(conditions), actions=json.dumps(actions), position=position,
                department_id=department.id if department is not None else None, active=active)
    db.session.add(rule)
    db.session.commit()
    return rule


def history(ticket):
    return [(e.action, e.new, e.rule_name) for e in db.session.scalars(
        select(Event).where(Event.ticket_id == ticket.id).order_by(Event.id))]


def test_a_rule_sets_priority_and_team_when_a_matching_ticket_opens(desk, make_ticket):
    make_rule("Bank outages", [{"field": "sender_domain", "op": "equals", "value": "bank.example"},
                               {"field": "subject", "op": "contains", "value": "outage"}],
              [{"type": "set_priority", "value": desk.priorities["emergency"].id},
               {"type": "set_team", "value": desk.teams["SysAdmins/Developers"].id}])
    ticket = make_ticket(email="ops@bank.example", subject="Total OUTAGE of payments")
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket.id)
    assert ticket.priority.key == "emergency"
    assert ticket.team.name == "SysAdmins/Developers"
    assert ("priority", "Emergency", "Bank outages") in history(ticket)
    rule = db.session.scalar(select(Rule))
    assert rule.matched_count == 1 and rule.last_matched_at is not None
    other = make_ticket(email="ops@bank.example", subject="A question")
    assert db.session.get(Ticket, other.id).priority.key != "emergency"
