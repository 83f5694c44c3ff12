"""The demo desk's automation rules, added once its past is loaded (so they acted on none of
it): the bank-outage rule on, and two time rules to try, switched off (switched on, they would
mail the made-up customers of the demo tickets)."""
from __future__ import annotations

import json

from sqlalchemy import select

from .. import clock
from ..extensions import db
from ..models import Agent, CannedResponse, Department, Priority, Rule, Team

OUTAGE_REPLY = ("Hello {customer_name},\n\nthank you for telling us. We know about the outage and our system "
                "administrators are on it now (ticket {ticket_number}). We will write again as soon as it is "
                "fixed, or within the hour with news.\n\n{desk_name}")
REMINDER = ("Hello {customer_name},\n\nwe are still waiting for your answer on “{subject}”. When you have a "
            "moment, reply to this mail or on the ticket page, and we carry on at once.\n\n{desk_name}")


def _canned(title: str, body: str) -> CannedResponse:
    found = db.session.scalar(select(CannedResponse).where(CannedResponse.title == title,
                                                           CannedResponse.agent_id.is_(None)))
    if found is None:
        found = CannedResponse(title=title, body=body, created_at=clock.utcnow(), updated_at=clock.utcnow())
        db.session.add(found)
        db.session.flush()
    return found


def add() -> int:
    """Add the demo rules (and the canned responses they send); returns how many."""
    teams = {t.name: t for t in db.session.scalars(select(Team))}
    prio = {p.key: p for p in db.session.scalars(select(Priority))}
    it_ops = db.session.scalar(select(Department).where(Department.name == "IT Operations"))
    sysadmin = db.session.scalar(select(Agent).where(Agent.email == "sysadmin@example.com"))
    outage = _canned("Outage acknowledged", OUTAGE_REPLY)
    reminder = _canned("Reminder: we need your answer", REMINDER)
    rules = [
        Rule(name="Bank outages", position=10, kind="event", triggers="opened",
             description="Our bank's outage reports go straight to IT Operations as emergencies, to the "
                         "SysAdmins, and the bank hears at once that we are on it.",
             conditions=json.dumps([{"field": "sender_domain", "op": "equals", "value": "bank.example"},
                                    {"field": "subject", "op": "contains", "value": "outage"}]),
             actions=json.dumps([{"type": "set_department", "value": it_ops.id},
                                 {"type": "set_priority", "value": prio["emergency"].id},
                                 {"type": "set_team", "value": teams["SysAdmins/Developers"].id},
                                 {"type": "canned_reply", "value": outage.id}])),
        Rule(name="Remind after 3 days awaiting the customer", position=10, kind="time", active=False,
             wait="pending", wait_minutes=3 * 1440,
             description="A gentle reminder to a customer who has not answered our question.",
             conditions=json.dumps([{"field": "status", "op": "is", "value": "pending"}]),
             actions=json.dumps([{"type": "canned_reply", "value": reminder.id}])),
        Rule(name="Page the SysAdmins: Emergency unassigned for 15 minutes", position=20, kind="time",
             active=False, wait="unassigned", wait_minutes=15,
             conditions=json.dumps([{"field": "priority", "op": "is", "value": prio["emergency"].id}]),
             actions=json.dumps([{"type": "mail", "to": [sysadmin.email],
                                  "subject": "Emergency unassigned: {subject}",
                                  "value": "Ticket {ticket_number} ({priority}) has waited 15 minutes "
                                           "without an agent. Please take it."}])),
    ]
    now = clock.utcnow()
    for rule in rules:
        rule.created_at = rule.updated_at = now
        db.session.add(rule)
    db.session.commit()
    return len(rules)
