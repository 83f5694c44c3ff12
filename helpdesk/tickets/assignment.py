"""Who works a ticket and how urgently: claiming, assigning to agents and teams (with the help
topics' auto-assignment and round-robin), escalating to a team, priority, SLA plan, transfer
between departments."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from .. import clock
from ..extensions import db
from ..mail import notify
from ..models import Agent, Department, HelpTopic, Priority, SLAPlan, Team, ThreadEntry, Ticket
from ..text import render_body
from .deadlines import _recompute_due
from .rules import (
    InvalidInput,
    NoChange,
    NotAllowed,
    _body,
    _bump,
    _event,
    _set_status,
    _Unit,
    check,
    may_take_over,
)

# --- assignment ----------------------------------------------------------------------------


def _auto_assign(ticket: Ticket, topic: HelpTopic, now: datetime) -> None:
    """The topic's auto-assignment (or its parent's): an agent, a team, or a team's agents in turn."""
    mode, agent, team, owner = topic.effective_assignment()
    if mode == "agent" and agent is not None and agent.active:
        _assign(ticket, agent, None, actor=None, now=now)
    elif mode == "team" and team is not None and team.active:
        _assign(ticket, None, team, actor=None, now=now)
    elif mode == "round_robin" and team is not None and team.active:
        _assign(ticket, _next_in_rotation(owner, team), team, actor=None, now=now)


def _next_in_rotation(topic: HelpTopic, team: Team) -> Agent | None:
    """The team's next active member after the one the topic gave its last ticket to.

    The last one is stored on the topic, read under a row lock (PostgreSQL), so the rotation
    is fair across restarts and several workers."""
    members = sorted((a for a in team.members if a.active), key=lambda a: a.id)
    if not members:
        return None
    last = db.session.scalar(
        select(HelpTopic.rr_last_agent_id).where(HelpTopic.id == topic.id).with_for_update()
    )
    chosen = next((a for a in members if last is not None and a.id > last), members[0])
    db.session.execute(
        update(HelpTopic).where(HelpTopic.id == topic.id).values(rr_last_agent_id=chosen.id)
    )
    return chosen


def _assign(ticket, agent_to, team_to, *, actor, now, by=None):
    if agent_to is not None and agent_to.id != ticket.assignee_id:
        old = ticket.assignee.name if ticket.assignee else None
        ticket.assignee = agent_to
        _event(ticket, "assigned", agent=actor, old=old, new=agent_to.name, now=now)
        notify.assigned(ticket, agent_to, actor)
    if team_to is not None and team_to.id != ticket.team_id:
        old = ticket.team.name if ticket.team else None
        ticket.team = team_to
        _event(ticket, "team", agent=actor, old=old, new=team_to.name, now=now)
        notify.team_assigned(ticket, team_to, actor, by=by)
    if ticket.status == "new" and ticket.assignee is not None:
        _set_status(ticket, "open", agent=actor, now=now)


def works_in(agent: Agent, department_id: int | None) -> bool:
    """Is the agent one of the department's agents (those a ticket of it may be assigned to)?"""
    return any(d.id == department_id for d in agent.departments)


def claim(agent: Agent, ticket: Ticket, *, expected_version: int | None = None) -> Ticket:
    """Take an unassigned (or someone else's, for managers) ticket as your own."""
    check(agent, ticket, "claim", expected_version)
    if ticket.assignee_id not in (None, agent.id) and not may_take_over(agent, ticket):
        raise NotAllowed(f"This ticket is already assigned to {ticket.assignee.name}.")
    now = clock.utcnow()
    with _Unit(ticket, expected_version):
        _bump(ticket, now)
        old = ticket.assignee.name if ticket.assignee else None
        ticket.assignee = agent
        _event(ticket, "claimed", agent=agent, old=old, new=agent.name, now=now)
        notify.claimed(ticket, agent)
        if ticket.status == "new":
            _set_status(ticket, "open", agent=agent, now=now)
    return ticket


def assign(manager: Agent, ticket: Ticket, *, agent: Agent | None = None, team: Team | None = None,
           expected_version: int | None = None) -> Ticket:
    """Assign or reassign a ticket to an agent of its department and/or a team (managers)."""
    check(manager, ticket, "assign", expected_version)
    if agent is None and team is None:
        raise InvalidInput("Choose an agent or a team.")
    if agent is not None and not agent.active:
        raise InvalidInput(f"{agent.name} is not active and cannot take tickets.")
    if team is not None and not team.active:
        raise InvalidInput(f"The team {team.name} is not active.")
    if (agent is None or agent.id == ticket.assignee_id) and (team is None or team.id == ticket.team_id):
        raise NoChange("The ticket is already assigned that way.")
    if agent is not None and agent.id != ticket.assignee_id and not works_in(agent, ticket.department_id):
        # The same rule for the ticket page's form, bulk actions and every later caller: a ticket
        # goes only to an agent of its department, who may see it without the assignment.
        raise InvalidInput(f"{agent.name} is not an agent of {ticket.department.name} "
                           "and cannot be assigned its tickets.")
    now = clock.utcnow()
    with _Unit(ticket, expected_version):
        _bump(ticket, now)
        _assign(ticket, agent, team, actor=manager, now=now)
    return ticket


def escalate(agent: Agent, ticket: Ticket, team: Team, note: str, *,
             expected_version: int | None = None) -> Ticket:
    """Hand the ticket to another team with a note saying why (-> escalated)."""
    check(agent, ticket, "escalate", expected_version)
    if team is None or not team.active:
        raise InvalidInput("Choose the team to escalate to.")
    note = _body(note, "escalation note")
    now = clock.utcnow()
    with _Unit(ticket, expected_version):
        _bump(ticket, now)
        db.session.add(ThreadEntry(ticket=ticket, kind="note", agent=agent, created_at=now,
                                   body=f"Escalated to {team.name}:\n\n{note}",
                                   body_html=render_body(f"**Escalated to {team.name}:**\n\n{note}")))
        old_team = ticket.team.name if ticket.team else None
        ticket.team = team
        _event(ticket, "escalated", agent=agent, old=old_team, new=team.name, note=note, now=now)
        _set_status(ticket, "escalated", agent=agent, now=now)
        notify.escalated(ticket, team, agent, note)
    return ticket


# --- priority, SLA, department -------------------------------------------------------------


def set_priority(manager: Agent, ticket: Ticket, priority: Priority, *,
                 expected_version: int | None = None) -> Ticket:
    """Change the priority (managers)."""
    check(manager, ticket, "set_priority", expected_version)
    if priority is None:
        raise InvalidInput("Choose a priority.")
    if priority.id == ticket.priority_id:
        raise NoChange(f"The priority is already {priority.name}.")
    now = clock.utcnow()
    with _Unit(ticket, expected_version):
        _bump(ticket, now)
        _event(ticket, "priority", agent=manager, old=ticket.priority.name, new=priority.name, now=now)
        ticket.priority = priority
        ticket.urgency = priority.urgency
    return ticket


def set_sla(manager: Agent, ticket: Ticket, sla: SLAPlan, *, expected_version: int | None = None) -> Ticket:
    """Apply an SLA plan (managers); the due time is recomputed from it."""
    check(manager, ticket, "set_sla", expected_version)
    if sla is None or not sla.active:
        raise InvalidInput("Choose an active SLA plan.")
    if sla.id == ticket.sla_id:
        raise NoChange(f"The SLA plan is already {sla.name}.")
    now = clock.utcnow()
    with _Unit(ticket, expected_version):
        _bump(ticket, now)
        _event(ticket, "sla", agent=manager, old=ticket.sla.name if ticket.sla else None,
               new=sla.name, now=now)
        ticket.sla = sla
        _recompute_due(ticket, now)
    return ticket


def transfer(manager: Agent, ticket: Ticket, department: Department, *,
             expected_version: int | None = None) -> Ticket:
    """Move a ticket to another department (managers)."""
    check(manager, ticket, "transfer", expected_version)
    if department is None or not department.active:
        raise InvalidInput("Choose an active department.")
    if department.id == ticket.department_id:
        raise NoChange(f"The ticket is already in {department.name}.")
    now = clock.utcnow()
    with _Unit(ticket, expected_version):
        _bump(ticket, now)
        _event(ticket, "transferred", agent=manager, old=ticket.department.name, new=department.name, now=now)
        ticket.department = department
        notify.transferred(ticket, manager)
    return ticket


def priority_order_changed(priorities) -> None:
    """Keep the tickets' copy of their priority's urgency (the queues' sort key) in step after
    an admin reorders the priorities; part of the admin's transaction, not a ticket event."""
    for priority in priorities:
        db.session.execute(
            update(Ticket).where(Ticket.priority_id == priority.id).values(urgency=priority.urgency)
            .execution_options(synchronize_session=False)
        )
