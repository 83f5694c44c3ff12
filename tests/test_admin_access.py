"""Who may do what in the admin area: anonymous visitors sign in, agents are refused, managers
read every page but change nothing (403), admins do both."""
from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.models import AuditEntry, SLAHoliday


def _ids(desk):
    sla = desk.slas["Standard"]
    holiday = SLAHoliday(sla=sla, day=date(2026, 12, 25), name="Christmas")
    db.session.add(holiday)
    db.session.commit()
    return {
        "topic": desk.topics["Billing question"].id, "sla": sla.id, "holiday": holiday.id,
        "department": desk.departments["Support"].id, "team": desk.teams["Vendor Support"].id,
        "agent": desk.vendor.id, "priority": desk.priorities["low"].id,
    }


READ = [
    "/admin/topics", "/admin/topics/new", "/admin/topics/{topic}",
    "/admin/sla-plans", "/admin/sla-plans/new", "/admin/sla-plans/{sla}",
    "/admin/departments", "/admin/departments/new", "/admin/departments/{department}",
    "/admin/teams", "/admin/teams/new", "/admin/teams/{team}",
    "/admin/agents", "/admin/agents/new", "/admin/agents/{agent}",
    "/admin/priorities", "/admin/priorities/{priority}/edit", "/admin/priorities/{priority}/row",
    "/admin/settings", "/admin/audit", "/admin/audit?type=topic",
]

WRITE = [
    "/admin/topics/new", "/admin/topics/{topic}", "/admin/topics/{topic}/deactivate",
    "/admin/topics/{topic}/activate", "/admin/topics/{topic}/delete",
    "/admin/sla-plans/new", "/admin/sla-plans/{sla}", "/admin/sla-plans/{sla}/deactivate",
    "/admin/sla-plans/{sla}/activate", "/admin/sla-plans/{sla}/delete",
    "/admin/sla-plans/{sla}/holidays", "/admin/sla-plans/{sla}/holidays/{holiday}/delete",
    "/admin/departments/new", "/admin/departments/{department}", "/admin/departments/{department}/deactivate",
    "/admin/departments/{department}/activate", "/admin/departments/{department}/delete",
    "/admin/teams/new", "/admin/teams/{team}", "/admin/teams/{team}/deactivate",
    "/admin/teams/{team}/activate", "/admin/teams/{team}/delete",
    "/admin/agents/new", "/admin/agents/{agent}", "/admin/agents/{agent}/deactivate",
    "/admin/agents/{agent}/activate", "/admin/agents/{agent}/delete", "/admin/agents/{agent}/password",
    "/admin/priorities/new", "/admin/priorities/{priority}", "/admin/priorities/{priority}/move",
    "/admin/priorities/{priority}/delete",
    "/admin/settings",
]


# One test per role, each going through every route (one desk per role keeps the run fast).

READ_EXPECTED = {"anonymous": 302, "agent": 403, "manager": 200, "admin": 200}
WRITE_EXPECTED = {"anonymous": 302, "agent": 403, "manager": 403}


def _client_as(role, client, login, desk):
    return client if role == "anonymous" else login(getattr(desk, {"agent": "tech"}.get(role, role)))


@pytest.mark.parametrize("role", list(READ_EXPECTED))
def test_who_may_read_the_admin_pages(role, client, login, desk):
    ids = _ids(desk)
    browser = _client_as(role, client, login, desk)
    for url in READ:
        response = browser.get(url.format(**ids))
        assert response.status_code == READ_EXPECTED[role], (role, url)
        if role == "anonymous":
            assert "/login" in response.headers["Location"]
        if role == "manager":  # read-only: the forms have no save button
            html = response.get_data(as_text=True)
            assert "Save changes" not in html and "Save settings" not in html and "Add holiday" not in html, url
        if role in ("manager", "admin"):  # and they look read-only: fields disabled, a note above
            html = response.get_data(as_text=True)
            for classes in re.findall(r'<form class="card admin-form ([^"]*)"', html):
                read_only = role == "manager"
                assert ("read-only" in classes.split()) == read_only, (role, url)
                assert ('<fieldset class="plain" disabled>' in html) == read_only, (role, url)
                assert ("<strong>Read only.</strong> Only administrators can change" in html) == read_only, (role, url)


@pytest.mark.parametrize("role", list(WRITE_EXPECTED))
def test_only_admins_change_anything(role, client, login, desk):
    ids = _ids(desk)
    browser = _client_as(role, client, login, desk)
    for url in WRITE:
        response = browser.post(url.format(**ids), data={"name": "Hacked", "direction": "up", "mode": "generate"})
        assert response.status_code == WRITE_EXPECTED[role], (role, url)
        if role == "manager":
            assert "Only administrators may do that." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(AuditEntry.id))) == 0


def test_the_sidebar_links_every_admin_page(login, desk):
    html = login(desk.manager).get("/admin/").get_data(as_text=True)
    for label, url in [("Help topics", "/admin/topics"), ("SLA plans", "/admin/sla-plans"),
                       ("Departments", "/admin/departments"), ("Teams", "/admin/teams"),
                       ("Agents", "/admin/agents"), ("Priorities", "/admin/priorities"),
                       ("Settings", "/admin/settings"), ("Audit log", "/admin/audit")]:
        assert f'href="{url}">{label}</a>' in html


@pytest.mark.parametrize("url", ["/admin/topics/999999", "/admin/sla-plans/999999", "/admin/agents/999999",
                                 "/admin/departments/999999", "/admin/teams/999999",
                                 "/admin/priorities/999999/edit"])
def test_unknown_ids_are_404(login, desk, url):
    assert login(desk.admin).get(url).status_code == 404
    assert login(desk.admin).post(url).status_code in (404, 405)


@pytest.mark.parametrize("url", ["/admin/topics", "/admin/agents", "/admin/priorities", "/admin/mailboxes",
                                 "/admin/api-keys", "/admin/settings", "/admin/mail-templates/reply_customer"])
def test_a_manager_is_told_the_page_is_read_only(login, desk, url):
    note = "<strong>Read only.</strong> Only administrators can change"
    assert note in login(desk.manager).get(url).get_data(as_text=True)
    assert note not in login(desk.admin).get(url).get_data(as_text=True)
