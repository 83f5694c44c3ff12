"""What the admin area protects: things in use are deactivated, never deleted, and vanish from
the places that offer them; the last active admin stays; password resets end sessions; every
change is in the audit log."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from helpdesk import tickets
from helpdesk.extensions import db
from helpdesk.models import Agent, AuditEntry, Team
from support.pages import text_of

# --- in use: deactivate, never delete ---------------------------------------------------------


@pytest.mark.parametrize("kind, path, pick, why", [
    ("topic", "topics", lambda d: d.topics["Billing question"], "1 ticket"),
    ("sla", "sla-plans", lambda d: d.slas["Standard"], "1 ticket"),
    ("department", "departments", lambda d: d.departments["Support"], "1 ticket"),
    ("team", "teams", lambda d: d.teams["Senior Support"], "1 ticket"),
    ("agent", "agents", lambda d: d.tech, "1 assigned ticket"),
])
def test_something_in_use_is_never_deleted(admin, desk, make_ticket, kind, path, pick, why):
    ticket = make_ticket("Billing question")
    tickets.assign(desk.admin, ticket, agent=desk.tech, team=desk.teams["Senior Support"])
    row = pick(desk)
    page = text_of(admin.get(f"/admin/{path}/{row.id}"))
    assert "can be deactivated but never deleted" in page and f"/admin/{path}/{row.id}/delete" not in page
    response = admin.post(f"/admin/{path}/{row.id}/delete")
    assert response.status_code == 409
    assert "cannot be deleted" in text_of(response) and why in text_of(response) and "Deactivate it instead" in text_of(response)
    db.session.expire_all()
    assert db.session.get(type(row), row.id) is not None
    # deactivating works, and is audited
    assert admin.post(f"/admin/{path}/{row.id}/deactivate").status_code == 302
    db.session.expire_all()
    assert db.session.get(type(row), row.id).active is False
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.object_type == kind, AuditEntry.field == "active"))
    assert (entry.old, entry.new, entry.object_id) == ("yes", "no", row.id)
    assert "is deactivated" in text_of(admin.get(f"/admin/{path}"))


def test_unused_things_are_deleted_with_an_audit_entry(admin, desk):
    team = Team(name="Temporary")
    db.session.add(team)
    db.session.commit()
    assert admin.post(f"/admin/teams/{team.id}/delete").status_code == 302
    assert db.session.scalar(select(Team).where(Team.name == "Temporary")) is None
    entry = db.session.scalar(select(AuditEntry))
    assert (entry.object_type, entry.field, entry.old, entry.object_name) == ("team", "deleted", "Temporary", "Temporary")
    assert "Team “Temporary” deleted." in text_of(admin.get("/admin/teams"))


def test_an_agent_with_history_is_only_deactivated(admin, desk, make_ticket):
    ticket = make_ticket()
    tickets.add_note(desk.vendor, ticket, "Looked into it.")  # history: a thread entry and an event
    response = admin.post(f"/admin/agents/{desk.vendor.id}/delete")
    assert response.status_code == 409 and "thread entry" in text_of(response)
    fresh = Agent(email="temp@example.com", name="Temp Worker", role="agent")
    fresh.set_password("a-good-password")
    db.session.add(fresh)
    db.session.commit()
    assert admin.post(f"/admin/agents/{fresh.id}/delete").status_code == 302
    assert db.session.scalar(select(Agent).where(Agent.email == "temp@example.com")) is None


def test_deactivated_topics_vanish_from_the_customer_form(admin, client, desk):
    topic = desk.topics["Billing question"]
    assert f'<option value="{topic.id}">Billing question</option>' in text_of(client.get("/new"))
    admin.post(f"/admin/topics/{topic.id}/deactivate")
    client.post("/logout")
    assert "Billing question" not in text_of(client.get("/new"))
    response = client.post("/new", data={"name": "Ken", "email": "ken@example.net", "topic": str(topic.id),
                                         "subject": "Invoice", "description": "Wrong total",
                                         "idempotency_key": "k" * 20})
    assert response.status_code == 400 and "Choose one of the help topics in the list." in text_of(response)


def test_deactivated_agents_teams_departments_and_plans_are_not_offered_to_agents(admin, login, desk, make_ticket):
    ticket = make_ticket("Business Critical Outage")
    for path, row in (("agents", desk.vendor), ("teams", desk.teams["Vendor Support"]),
                      ("departments", desk.departments["IT Operations"]), ("sla-plans", desk.slas["Priority"])):
        assert admin.post(f"/admin/{path}/{row.id}/deactivate").status_code == 302
    page = text_of(login(desk.manager).get(f"/agent/tickets/{ticket.number}"))
    assert "Tom Technician" in page  # active ones still are
    for name in ("Vic Vendor-Liaison", "Vendor Support", "IT Operations", "Priority (8 h)"):
        assert name not in page, name
    assert "Senior Support" in page and "Standard (48 business h)" in page


def test_a_deactivated_agent_is_signed_out_and_cannot_sign_in(admin, desk, app):
    other = app.test_client()
    assert other.post("/login", data={"email": "tech@example.com", "password": desk.passwords["tech@example.com"]}).status_code == 302
    assert other.get("/agent/").status_code == 200
    admin.post(f"/admin/agents/{desk.tech.id}/deactivate")
    assert other.get("/agent/").status_code == 302
    response = other.post("/login", data={"email": "tech@example.com", "password": desk.passwords["tech@example.com"]})
    assert response.status_code != 302


# --- the last active admin --------------------------------------------------------------------


def _agent_form(agent, **over):
    data = {"name": agent.name, "email": agent.email, "role": agent.role, "active": "y",
            "departments": [str(d.id) for d in agent.departments], "teams": [str(t.id) for t in agent.teams]}
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def test_the_last_admin_cannot_demote_or_deactivate_themself(admin, desk):
    response = admin.post(f"/admin/agents/{desk.admin.id}", data=_agent_form(desk.admin, role="manager"))
    assert response.status_code == 400 and "You are the last active administrator" in text_of(response)
    response = admin.post(f"/admin/agents/{desk.admin.id}", data=_agent_form(desk.admin, active=None))
    assert response.status_code == 400 and "You are the last active administrator" in text_of(response)
    response = admin.post(f"/admin/agents/{desk.admin.id}/deactivate")
    assert response.status_code == 409 and "last active administrator" in text_of(response)
    db.session.expire_all()
    assert desk.admin.role == "admin" and desk.admin.active
    assert db.session.scalar(select(func.count(AuditEntry.id))) == 0


def test_with_a_second_admin_one_may_step_down(admin, desk):
    admin.post(f"/admin/agents/{desk.manager.id}", data=_agent_form(desk.manager, role="admin"))
    db.session.expire_all()
    assert desk.manager.role == "admin"
    response = admin.post(f"/admin/agents/{desk.admin.id}", data=_agent_form(desk.admin, role="manager"))
    assert response.status_code == 302
    db.session.expire_all()
    assert desk.admin.role == "manager"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.object_id == desk.admin.id, AuditEntry.field == "role"))
    assert (entry.old, entry.new) == ("admin", "manager")
    # the role change ended the admin's session: they sign in again
    assert admin.get("/admin/agents").status_code == 302


# --- password reset ---------------------------------------------------------------------------


def test_a_password_reset_ends_sessions_and_swaps_the_password(admin, desk, app):
    tech = app.test_client()
    old = desk.passwords["tech@example.com"]
    assert tech.post("/login", data={"email": "tech@example.com", "password": old}).status_code == 302
    response = admin.post(f"/admin/agents/{desk.tech.id}/password", data={"mode": "set", "password": "brand-new-secret"})
    assert response.status_code == 302
    assert tech.get("/agent/").status_code == 302  # signed out
    fresh = app.test_client()
    assert fresh.post("/login", data={"email": "tech@example.com", "password": old}).status_code != 302
    assert fresh.post("/login", data={"email": "tech@example.com", "password": "brand-new-secret"}).status_code == 302
    entry = db.session.scalar(select(AuditEntry))
    assert (entry.field, entry.old, entry.new) == ("password", None, "reset")
    assert "brand-new-secret" not in str([(e.old, e.new) for e in db.session.scalars(select(AuditEntry))])


def test_a_generated_password_is_shown_once_and_works(admin, desk, app):
    response = admin.post(f"/admin/agents/{desk.tech.id}/password", data={"mode": "generate"})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    password = re.search(r'<code data-autofocus tabindex="-1">([^<]+)</code>', text_of(response)).group(1)
    client = app.test_client()
    assert client.post("/login", data={"email": "tech@example.com", "password": password}).status_code == 302


def test_a_password_typed_while_generate_is_chosen_is_ignored(admin, desk, app):
    """Without JavaScript or :has() the field stays in view: what it holds counts only with "Set this one"."""
    page = text_of(admin.get(f"/admin/agents/{desk.tech.id}"))
    assert "Used only with “Set this one”; ignored when a password is generated." in page
    response = admin.post(f"/admin/agents/{desk.tech.id}/password", data={"mode": "generate", "password": "short"})
    assert response.status_code == 200
    password = re.search(r'<code data-autofocus tabindex="-1">([^<]+)</code>', text_of(response)).group(1)
    assert password != "short"
    client = app.test_client()
    assert client.post("/login", data={"email": "tech@example.com", "password": password}).status_code == 302


@pytest.mark.parametrize("data, message", [
    ({"mode": "set", "password": ""}, "Type the new password"),
    ({"mode": "set", "password": "short"}, "A password has 8 to 128 characters."),
    ({"mode": "other"}, "Not a valid choice."),
])
def test_bad_password_resets_are_refused(admin, desk, data, message):
    response = admin.post(f"/admin/agents/{desk.tech.id}/password", data=data)
    assert response.status_code == 400 and message in text_of(response)
    db.session.expire_all()
    assert desk.tech.check_password(desk.passwords["tech@example.com"])


# --- the audit log page -----------------------------------------------------------------------


def test_the_audit_log_lists_changes_newest_first_and_filters_by_kind(admin, desk):
    team = desk.teams["Vendor Support"]
    admin.post(f"/admin/teams/{team.id}/deactivate")
    admin.post(f"/admin/departments/{desk.departments['Support'].id}", data={
        "name": "Customer Support", "email": "support@example.com", "manager": str(desk.manager.id),
        "sla": str(desk.slas["Standard"].id), "active": "y"})
    html = text_of(admin.get("/admin/audit"))
    html = html[html.index("<tbody"):]
    assert html.index("Customer Support") < html.index("Vendor Support")  # newest first
    assert "Ada Admin" in html and "department #" in html and "Support</td>" in html
    only_teams = text_of(admin.get("/admin/audit?type=team"))
    assert "Vendor Support" in only_teams and "Customer Support" not in only_teams
    assert admin.get("/admin/audit?type=<script>").status_code == 200  # unknown filters are ignored


def test_the_audit_log_is_paginated(admin, desk):
    for i in range(55):
        db.session.add(AuditEntry(agent_id=desk.admin.id, agent_name="Ada Admin", object_type="team",
                                  object_id=1, object_name=f"Team {i:02d}", field="name", old="a", new="b"))
    db.session.commit()
    first = text_of(admin.get("/admin/audit"))
    assert "Team 54" in first and "Team 04" not in first and "Page 1 of 2" in first
    second = text_of(admin.get("/admin/audit?page=2"))
    assert "Team 04" in second and "Team 54" not in second


@pytest.mark.parametrize("page", ["nope", "-3", "0", "99", str(2**63), "9" * 30])
def test_any_audit_page_number_is_a_page(admin, desk, page):
    """A page number past the end (even beyond what the database can count) is an empty page."""
    response = admin.get(f"/admin/audit?page={page}")
    assert response.status_code == 200 and "Audit log" in text_of(response)
