"""Every admin form: a good submission saves and is audited; each bad input answers 400 with a
message and saves nothing."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.models import Agent, AuditEntry, Department, HelpTopic, Priority, SLAHoliday, SLAPlan, Team
from support.pages import text_of
from support.rows import count as snapshot


def audit_count() -> int:
    return db.session.scalar(select(func.count(AuditEntry.id)))


def topic_data(desk, **over):
    data = {"name": "VPN access", "parent": "0", "public": "y", "active": "y", "sort": "5",
            "instructions": "Say which office you work from.", "department": str(desk.departments["IT Operations"].id),
            "priority": str(desk.priorities["high"].id), "sla": str(desk.slas["Priority"].id),
            "auto_acknowledge": "y", "assign_mode": "", "assign_agent": "0", "assign_team": "0"}
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def sla_data(**over):
    data = {"name": "Gold", "grace_hours": "24", "first_response_hours": "4", "active": "y",
            "schedule": "business", "business_days": ["0", "1", "2", "3", "4"], "opens_at": "08:00",
            "closes_at": "18:00", "timezone": "Europe/Berlin", "overdue_alerts": "y", "escalate_team": "0"}
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


# --- help topics ------------------------------------------------------------------------------


def test_an_admin_creates_a_help_topic(admin, desk):
    response = admin.post("/admin/topics/new", data=topic_data(desk))
    assert response.status_code == 302
    topic = db.session.scalar(select(HelpTopic).where(HelpTopic.name == "VPN access"))
    assert topic.department.name == "IT Operations" and topic.priority.key == "high"
    assert topic.sla.name == "Priority" and topic.public and topic.auto_acknowledge
    assert not topic.customer_sets_priority and topic.sort == 5
    page = text_of(admin.get("/admin/topics"))
    assert "VPN access" in page and "Help topic “VPN access” created." in page
    fields = {e.field: (e.old, e.new) for e in db.session.scalars(select(AuditEntry).where(AuditEntry.object_id == topic.id,
                                                                                          AuditEntry.object_type == "topic"))}
    assert fields["created"] == (None, "VPN access")
    assert fields["department"] == (None, "IT Operations")


@pytest.mark.parametrize("over, message", [
    ({"name": ""}, "Give it a name."),
    ({"name": "x" * 121}, "At most 120 characters."),
    ({"name": "billing QUESTION"}, "Another help topic has this name."),
    ({"sort": "abc"}, "Not a valid integer value."),
    ({"sort": "-1"}, "A number from 0 to 9999."),
    ({"department": "999999"}, "That choice is not available."),
    ({"department": "abc"}, "That choice is not available."),
    ({"priority": "999999"}, "That choice is not available."),
    ({"sla": "999999"}, "That choice is not available."),
    ({"parent": "999999"}, "That choice is not available."),
    ({"assign_mode": "everyone"}, "Not a valid choice."),
    ({"assign_mode": "agent", "assign_agent": "0"}, "Choose the agent who gets this topic&#39;s tickets."),
    ({"assign_mode": "team", "assign_team": "0"}, "Choose the team."),
    ({"assign_mode": "round_robin", "assign_team": "0"}, "Choose the team."),
    ({"instructions": "x" * 2001}, "At most 2000 characters."),
])
def test_bad_topic_input_is_refused(admin, desk, over, message):
    before, audits = snapshot(HelpTopic), audit_count()
    response = admin.post("/admin/topics/new", data=topic_data(desk, **over))
    assert response.status_code == 400
    assert message in text_of(response)
    assert snapshot(HelpTopic) == before and audit_count() == audits


def test_inactive_agents_and_teams_cannot_be_chosen_for_assignment(admin, desk):
    desk.vendor.active = False
    desk.teams["Vendor Support"].active = False
    db.session.commit()
    for over in ({"assign_mode": "agent", "assign_agent": str(desk.vendor.id)},
                 {"assign_mode": "team", "assign_team": str(desk.teams["Vendor Support"].id)}):
        response = admin.post("/admin/topics/new", data=topic_data(desk, **over))
        assert response.status_code == 400 and "That choice is not available" in text_of(response)


def test_a_topic_cannot_become_its_own_ancestor(admin, desk):
    parent, child = desk.topics["General inquiry"], desk.topics["Billing question"]
    child.parent = parent
    db.session.commit()
    response = admin.post(f"/admin/topics/{parent.id}", data=topic_data(desk, name=parent.name, parent=str(child.id)))
    assert response.status_code == 400 and "cannot be its own parent" in text_of(response)
    db.session.expire_all()
    assert parent.parent_id is None
    # and a topic is never offered as its own parent
    page = text_of(admin.get(f"/admin/topics/{parent.id}"))
    parent_select = page.split('id="parent"')[1].split("</select>")[0]
    assert f'<option value="{child.id}"' in parent_select
    assert f'<option value="{parent.id}"' not in parent_select


def test_editing_a_topic_audits_each_changed_field(admin, desk):
    topic = desk.topics["Billing question"]
    response = admin.post(f"/admin/topics/{topic.id}", data=topic_data(
        desk, name="Billing", priority=str(desk.priorities["normal"].id), sla=str(desk.slas["Standard"].id),
        department=str(desk.departments["Support"].id), instructions=topic.instructions, sort="3"))
    assert response.status_code == 302
    entries = {e.field: (e.old, e.new) for e in db.session.scalars(select(AuditEntry))}
    assert entries == {"name": ("Billing question", "Billing"), "priority": ("Low", "Normal")}
    assert all(e.agent_name == "Ada Admin" for e in db.session.scalars(select(AuditEntry)))


# --- SLA plans --------------------------------------------------------------------------------


def test_an_admin_creates_a_business_hours_plan(admin, desk):
    assert admin.post("/admin/sla-plans/new", data=sla_data()).status_code == 302
    plan = db.session.scalar(select(SLAPlan).where(SLAPlan.name == "Gold"))
    assert (plan.grace_hours, plan.first_response_hours, plan.schedule) == (24, 4, "business")
    assert (plan.business_days, plan.opens_at, plan.closes_at, plan.timezone) == ("0,1,2,3,4", "08:00", "18:00", "Europe/Berlin")


@pytest.mark.parametrize("over, message", [
    ({"name": ""}, "Give it a name."),
    ({"name": "standard"}, "Another SLA plan has this name."),
    ({"grace_hours": "0"}, "from 1 to 8760"),
    ({"grace_hours": "8761"}, "from 1 to 8760"),
    ({"grace_hours": ""}, "Give the resolution target in hours."),
    ({"grace_hours": "2.5"}, "Not a valid integer value."),
    ({"first_response_hours": "0"}, "from 1 to 8760"),
    ({"first_response_hours": "9000"}, "from 1 to 8760"),
    ({"opens_at": "9:00"}, "Give a time as HH:MM"),
    ({"closes_at": "24:00"}, "Give a time as HH:MM"),
    ({"opens_at": "17:00", "closes_at": "09:00"}, "The closing time must be after the opening time."),
    ({"opens_at": "09:00", "closes_at": "09:00"}, "The closing time must be after the opening time."),
    ({"business_days": None}, "Choose at least one business day."),
    ({"business_days": ["7"]}, "That choice is not available."),
    ({"timezone": "Mars/Olympus"}, "That is not a known time zone."),
    ({"timezone": "../../etc/passwd"}, "That is not a known time zone."),
    ({"schedule": "sometimes"}, "Not a valid choice."),
    ({"escalate_team": "999999"}, "That choice is not available."),
])
def test_bad_sla_input_is_refused(admin, desk, over, message):
    before, audits = snapshot(SLAPlan), audit_count()
    response = admin.post("/admin/sla-plans/new", data=sla_data(**over))
    assert response.status_code == 400
    assert message in text_of(response)
    assert snapshot(SLAPlan) == before and audit_count() == audits


def test_a_24x7_plan_needs_no_business_days(admin, desk):
    response = admin.post("/admin/sla-plans/new", data=sla_data(schedule="24x7", business_days=None, timezone=""))
    assert response.status_code == 302


def test_holidays_are_added_and_removed_inline(admin, desk):
    plan = desk.slas["Standard"]
    htmx = {"HX-Request": "true"}
    response = admin.post(f"/admin/sla-plans/{plan.id}/holidays", data={"holiday-day": "2026-12-25", "holiday-name": "Christmas"},
                          headers=htmx)
    assert response.status_code == 200
    html = text_of(response)
    assert html.lstrip().startswith('<section class="card" id="holidays"') and "Christmas" in html
    assert "<html" not in html
    again = admin.post(f"/admin/sla-plans/{plan.id}/holidays", data={"holiday-day": "2026-12-25"}, headers=htmx)
    assert again.status_code == 400 and "That date is a holiday of this plan already." in text_of(again)
    bad = admin.post(f"/admin/sla-plans/{plan.id}/holidays", data={"holiday-day": "25.12.2026"}, headers=htmx)
    assert bad.status_code == 400 and "Give the date as YYYY-MM-DD." in text_of(bad)
    holiday = db.session.scalar(select(SLAHoliday))
    assert db.session.scalar(select(func.count(SLAHoliday.id))) == 1
    # another plan's holiday id is not this plan's
    other = desk.slas["Emergency"]
    assert admin.post(f"/admin/sla-plans/{other.id}/holidays/{holiday.id}/delete").status_code == 404
    # without JS: Post/Redirect/Get
    response = admin.post(f"/admin/sla-plans/{plan.id}/holidays/{holiday.id}/delete")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/admin/sla-plans/{plan.id}#holidays")
    assert db.session.scalar(select(func.count(SLAHoliday.id))) == 0
    entries = [(e.field, e.old, e.new) for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert entries == [("holiday", None, "2026-12-25 Christmas"), ("holiday", "2026-12-25 Christmas", None)]


# --- departments and teams --------------------------------------------------------------------


def test_departments_are_created_with_a_valid_mail_address(admin, desk):
    data = {"name": "Billing", "email": "billing@example.com", "manager": str(desk.manager.id),
            "sla": str(desk.slas["Standard"].id), "active": "y"}
    assert admin.post("/admin/departments/new", data=data).status_code == 302
    dept = db.session.scalar(select(Department).where(Department.name == "Billing"))
    assert dept.manager == desk.manager and dept.email == "billing@example.com"


@pytest.mark.parametrize("over, message", [
    ({"name": ""}, "Give it a name."),
    ({"name": "support"}, "Another department has this name."),
    ({"email": "not-an-address"}, "That is not a valid email address."),
    ({"email": "a@example.com, b@example.com"}, "Enter one email address"),
    ({"manager": "999999"}, "That choice is not available."),
    ({"sla": "x"}, "That choice is not available."),
])
def test_bad_department_input_is_refused(admin, desk, over, message):
    data = {"name": "Billing", "email": "billing@example.com", "manager": "0", "sla": "0", "active": "y"}
    data.update(over)
    before = snapshot(Department)
    response = admin.post("/admin/departments/new", data=data)
    assert response.status_code == 400 and message in text_of(response)
    assert snapshot(Department) == before and audit_count() == 0


def test_teams_take_active_agents_as_members(admin, desk):
    data = {"name": "Night shift", "lead": str(desk.tech.id), "members": [str(desk.tech.id), str(desk.sysadmin.id)],
            "active": "y"}
    assert admin.post("/admin/teams/new", data=data).status_code == 302
    team = db.session.scalar(select(Team).where(Team.name == "Night shift"))
    assert {a.email for a in team.members} == {"tech@example.com", "sysadmin@example.com"}
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.field == "members"))
    assert entry.new == "Sam Sysadmin, Tom Technician"


@pytest.mark.parametrize("over, message", [
    ({"name": ""}, "Give it a name."),
    ({"name": "senior support"}, "Another team has this name."),
    ({"members": ["999999"]}, "That choice is not available."),
    ({"members": ["abc"]}, "That choice is not available."),
    ({"lead": "999999"}, "That choice is not available."),
])
def test_bad_team_input_is_refused(admin, desk, over, message):
    data = {"name": "Night shift", "lead": "0", "members": [], "active": "y"}
    data.update(over)
    before = snapshot(Team)
    response = admin.post("/admin/teams/new", data=data)
    assert response.status_code == 400 and message in text_of(response)
    assert snapshot(Team) == before


def test_an_inactive_agent_cannot_join_a_team(admin, desk):
    desk.vendor.active = False
    db.session.commit()
    team = desk.teams["Senior Support"]
    response = admin.post(f"/admin/teams/{team.id}", data={"name": team.name, "lead": "0",
                                                            "members": [str(desk.vendor.id)], "active": "y"})
    assert response.status_code == 400 and "That choice is not available." in text_of(response)


# --- agents -----------------------------------------------------------------------------------


def agent_data(**over):
    data = {"name": "Nora New", "email": "nora@example.com", "role": "agent", "active": "y",
            "departments": [], "teams": [], "password": "a-good-password"}
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def test_an_admin_creates_an_agent_who_can_sign_in(admin, desk, client):
    data = agent_data(departments=[str(desk.departments["Support"].id)])
    assert admin.post("/admin/agents/new", data=data).status_code == 302
    agent = db.session.scalar(select(Agent).where(Agent.email == "nora@example.com"))
    assert [d.name for d in agent.departments] == ["Support"]
    entries = {e.field: e.new for e in db.session.scalars(select(AuditEntry).where(AuditEntry.object_id == agent.id))}
    assert entries["password"] == "set" and "a-good-password" not in str(entries)
    client.post("/logout")
    assert client.post("/login", data={"email": "nora@example.com", "password": "a-good-password"}).status_code == 302


def test_a_generated_first_password_is_shown_once(admin, desk):
    response = admin.post("/admin/agents/new", data=agent_data(password=""))
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    html = text_of(response)
    assert "It is shown this once" in html
    agent = db.session.scalar(select(Agent).where(Agent.email == "nora@example.com"))
    password = re.search(r'<code data-autofocus tabindex="-1">([^<]+)</code>', html).group(1)
    assert agent.check_password(password)
    assert password not in text_of(admin.get(f"/admin/agents/{agent.id}"))


@pytest.mark.parametrize("over, message", [
    ({"name": ""}, "Give it a name."),
    ({"email": ""}, "Give the agent&#39;s email address."),
    ({"email": "nope"}, "That is not a valid email address."),
    ({"email": "TECH@example.com"}, "Another agent signs in with this email address."),
    ({"role": "superuser"}, "Not a valid choice."),
    ({"password": "short"}, "A password has 8 to 128 characters."),
    ({"password": "x" * 129}, "A password has 8 to 128 characters."),
    ({"departments": ["999999"]}, "That choice is not available."),
    ({"teams": ["1x"]}, "That choice is not available."),
])
def test_bad_agent_input_is_refused(admin, desk, over, message):
    before = snapshot(Agent)
    response = admin.post("/admin/agents/new", data=agent_data(**over))
    assert response.status_code == 400 and message in text_of(response)
    assert snapshot(Agent) == before and audit_count() == 0


# --- priorities -------------------------------------------------------------------------------


def test_priority_rows_are_edited_inline(admin, desk):
    low = desk.priorities["low"]
    htmx = {"HX-Request": "true"}
    row = text_of(admin.get(f"/admin/priorities/{low.id}/edit", headers=htmx))
    assert row.lstrip().startswith(f'<tr id="priority-{low.id}" class="editing">') and 'name="colour"' in row
    response = admin.post(f"/admin/priorities/{low.id}", data={"name": "Minor", "colour": "#10B981"}, headers=htmx)
    assert response.status_code == 200 and response.headers.get("HX-Refresh") == "true"
    assert text_of(response).lstrip().startswith(f'<tr id="priority-{low.id}">') and "Minor" in text_of(response)
    db.session.expire_all()
    assert (low.name, low.colour) == ("Minor", "#10b981")
    entries = {e.field: (e.old, e.new) for e in db.session.scalars(select(AuditEntry))}
    assert entries == {"name": ("Low", "Minor"), "colour": ("#64748b", "#10b981")}
    # without JS the same form is a page of its own
    page = admin.get(f"/admin/priorities/{low.id}/edit")
    assert "<html" in text_of(page) and f'action="/admin/priorities/{low.id}"' in text_of(page)


@pytest.mark.parametrize("data, message", [
    ({"name": "", "colour": "#123456"}, "Give it a name."),
    ({"name": "High", "colour": "#123456"}, "Another priority has this name."),
    ({"name": "Minor", "colour": "red"}, "Give a colour as #rrggbb"),
    ({"name": "Minor", "colour": "#12345"}, "Give a colour as #rrggbb"),
    ({"name": "Minor", "colour": "#123456;}body{"}, "Give a colour as #rrggbb"),
])
def test_bad_priority_input_is_refused(admin, desk, data, message):
    low = desk.priorities["low"]
    response = admin.post(f"/admin/priorities/{low.id}", data=data)
    assert response.status_code == 400 and message in text_of(response)
    db.session.expire_all()
    assert (low.name, low.colour) == ("Low", "#64748b") and audit_count() == 0


def test_priority_colours_reach_every_page_through_the_theme_stylesheet(admin, desk, client):
    low = desk.priorities["low"]
    html = text_of(client.get("/"))
    link = re.search(r'href="(/theme\.css\?v=\d+)"', html).group(1)
    assert ".prio-low { --prio-color: #64748b; }" in text_of(client.get(link))
    admin.post(f"/admin/priorities/{low.id}", data={"name": "Low", "colour": "#00aa00"})
    new_link = re.search(r'href="(/theme\.css\?v=\d+)"', text_of(client.get("/"))).group(1)
    assert new_link != link  # a new URL: browsers fetch the new colours at once
    css = client.get(new_link)
    assert ".prio-low { --prio-color: #00aa00; }" in text_of(css)
    assert css.headers["Content-Type"].startswith("text/css") and "immutable" in css.headers["Cache-Control"]


def test_priorities_are_added_reordered_and_tickets_follow(admin, desk, make_ticket):
    ticket = make_ticket("Billing question")  # low
    assert admin.post("/admin/priorities/new", data={"new-name": "Critical!", "new-colour": "#7c3aed"}).status_code == 302
    critical = db.session.scalar(select(Priority).where(Priority.name == "Critical!"))
    assert critical.key == "critical" and critical.urgency == 5
    low = desk.priorities["low"]
    assert admin.post(f"/admin/priorities/{low.id}/move", data={"direction": "up"}).status_code == 302
    db.session.expire_all()
    assert (desk.priorities["normal"].urgency, low.urgency) == (1, 2)
    assert ticket.urgency == 2  # the queue sort key follows the new order
    assert admin.post(f"/admin/priorities/{critical.id}/move", data={"direction": "up"}).status_code == 409
    assert admin.post(f"/admin/priorities/{critical.id}/move", data={"direction": "sideways"}).status_code == 400


def test_default_and_used_priorities_are_never_deleted(admin, desk, make_ticket):
    response = admin.post(f"/admin/priorities/{desk.priorities['low'].id}/delete")
    assert response.status_code == 409 and "four default priorities" in text_of(response)
    admin.post("/admin/priorities/new", data={"new-name": "Critical", "new-colour": "#7c3aed"})
    critical = db.session.scalar(select(Priority).where(Priority.key == "critical"))
    topic = desk.topics["Billing question"]
    topic.priority = critical
    db.session.commit()
    response = admin.post(f"/admin/priorities/{critical.id}/delete")
    assert response.status_code == 409 and "1 help topic" in text_of(response)
    topic.priority = desk.priorities["low"]
    db.session.commit()
    assert admin.post(f"/admin/priorities/{critical.id}/delete").status_code == 302
    assert db.session.scalar(select(func.count(Priority.id))) == 4
