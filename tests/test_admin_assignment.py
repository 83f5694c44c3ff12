"""Auto-assignment by help topic: an agent, a team, or round-robin among a team's active agents
(fair across app instances); child topics fall back to their parent's defaults."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from helpdesk import create_app, tickets
from helpdesk.extensions import db
from helpdesk.models import HelpTopic, Team
from support.pages import text_of


@pytest.fixture
def duo(desk):
    """A team of two agents (and one inactive member) in IT Operations."""
    team = Team(name="Network")
    team.members = [desk.tech, desk.sysadmin]
    db.session.add(team)
    db.session.commit()
    return team


def topic_form(desk, team, **over):
    data = {"name": "Network down", "parent": "0", "public": "y", "active": "y", "sort": "0",
            "department": str(desk.departments["IT Operations"].id), "priority": str(desk.priorities["high"].id),
            "sla": str(desk.slas["Priority"].id), "auto_acknowledge": "y", "assign_mode": "round_robin",
            "assign_agent": "0", "assign_team": str(team.id)}
    data.update(over)
    return data


def test_an_agent_topic_assigns_that_agent(admin, desk, make_ticket, duo):
    admin.post("/admin/topics/new", data=topic_form(desk, duo, assign_mode="agent", assign_agent=str(desk.vendor.id)))
    topic = db.session.scalar(select(HelpTopic).where(HelpTopic.name == "Network down"))
    ticket = make_ticket(topic)
    assert ticket.assignee == desk.vendor and ticket.team is None and ticket.status == "open"


def test_a_team_topic_hands_the_ticket_to_the_team(admin, desk, make_ticket, duo):
    admin.post("/admin/topics/new", data=topic_form(desk, duo, assign_mode="team"))
    ticket = make_ticket(db.session.scalar(select(HelpTopic).where(HelpTopic.name == "Network down")))
    assert ticket.team == duo and ticket.assignee is None and ticket.status == "new"


def test_round_robin_alternates_between_the_team_members(admin, desk, make_ticket, duo):
    assert admin.post("/admin/topics/new", data=topic_form(desk, duo)).status_code == 302
    topic = db.session.scalar(select(HelpTopic).where(HelpTopic.name == "Network down"))
    assignees = [make_ticket(topic).assignee.name for _ in range(3)]
    first, second = sorted([desk.tech, desk.sysadmin], key=lambda a: a.id)
    assert assignees == [first.name, second.name, first.name]
    ticket = make_ticket(topic)
    assert ticket.team == duo and ticket.department.name == "IT Operations" and ticket.priority.key == "high"
    assert [e.action for e in ticket.events if e.action in ("assigned", "team")] == ["assigned", "team"]


def test_round_robin_skips_inactive_members(admin, desk, make_ticket, duo):
    admin.post("/admin/topics/new", data=topic_form(desk, duo))
    topic = db.session.scalar(select(HelpTopic).where(HelpTopic.name == "Network down"))
    first, second = sorted([desk.tech, desk.sysadmin], key=lambda a: a.id)
    admin.post(f"/admin/agents/{first.id}/deactivate")
    assert [make_ticket(topic).assignee.name for _ in range(3)] == [second.name] * 3
    admin.post(f"/admin/agents/{second.id}/deactivate")
    ticket = make_ticket(topic)  # nobody available: the team still gets it
    assert ticket.assignee is None and ticket.team == duo


def test_round_robin_continues_across_app_instances(admin, desk, make_ticket, duo, app_config):
    admin.post("/admin/topics/new", data=topic_form(desk, duo))
    topic_id = db.session.scalar(select(HelpTopic.id).where(HelpTopic.name == "Network down"))
    first, second = sorted([desk.tech.id, desk.sysadmin.id])
    assert make_ticket(db.session.get(HelpTopic, topic_id)).assignee_id == first
    db.session.remove()
    other = create_app(app_config)  # a restart, or another worker
    with other.app_context():
        ticket = tickets.open_ticket(name="Ken", email="ken@example.net", subject="Still down", body="Yes",
                                     topic=db.session.get(HelpTopic, topic_id))
        assert ticket.assignee_id == second
        db.session.remove()
    assert make_ticket(db.session.get(HelpTopic, topic_id)).assignee_id == first


def test_a_child_topic_inherits_its_parents_defaults(admin, desk, make_ticket, duo):
    admin.post("/admin/topics/new", data=topic_form(desk, duo, instructions="Say which office."))
    parent = db.session.scalar(select(HelpTopic).where(HelpTopic.name == "Network down"))
    response = admin.post("/admin/topics/new", data={
        "name": "Wi-Fi", "parent": str(parent.id), "public": "y", "active": "y", "sort": "0",
        "department": "0", "priority": "0", "sla": "0", "auto_acknowledge": "y", "assign_mode": "",
        "assign_agent": "0", "assign_team": "0"})
    assert response.status_code == 302
    child = db.session.scalar(select(HelpTopic).where(HelpTopic.name == "Wi-Fi"))
    ticket = make_ticket(child)
    assert ticket.department.name == "IT Operations" and ticket.priority.key == "high"
    assert ticket.sla.name == "Priority" and ticket.team == duo and ticket.assignee is not None
    # the customer form shows it under its parent, with the parent's instructions
    html = text_of(admin.get(f"/new/topic-fields?topic={child.id}"))
    assert "Say which office." in html
    assert "Network down › Wi-Fi" in text_of(admin.get("/new"))
    # its own values win over the parent's
    child.priority = desk.priorities["low"]
    db.session.commit()
    assert make_ticket(child).priority.key == "low"
    assert "round-robin in Network (from Network down)" in text_of(admin.get("/admin/topics"))


def test_a_deactivated_department_or_plan_is_not_given_to_new_tickets(admin, desk, make_ticket):
    topic = desk.topics["Password reset"]  # IT Operations, Priority plan
    admin.post(f"/admin/sla-plans/{desk.slas['Priority'].id}/deactivate")
    ticket = make_ticket(topic)
    assert ticket.sla is None
    admin.post(f"/admin/departments/{desk.departments['IT Operations'].id}/deactivate")
    ticket = make_ticket(topic)
    assert ticket.department.name == "Support"
