"""The security checks of issue 6's classes 2 to 6, proven able to fail.

Each test here makes the desk deliberately vulnerable in one way (a function, a setting or a
view replaced through `monkeypatch`, or an extra route on a test app) and runs the SAME check
that passes on the real desk in the class's own test module: the check must report the hole.
`monkeypatch` puts everything back, so no other test sees a variant.

How the variants map to the issue's list:

2. Uploads (checks in test_security_portal.py):
   - the type judged from the name, not the bytes           -> hostile_upload_accepted
   - the double-extension rule dropped (bytes only)          -> hostile_upload_accepted
   - HTML and SVG added to the accepted types                -> hostile_upload_accepted
   - no size or count limit                                  -> upload_limit_problems
   - files kept under static/ by their own names             -> storage_problems
   - a download served inline, or without nosniff/sandbox   -> download_problems
   - a file of another customer's ticket served (IDOR)       -> route_table_failures (portal rows)
3. Access control (checks in test_security_access.py):
   - can_see() says yes to everyone                          -> route_table_failures
   - the queues' visibility clause dropped                   -> route_table_failures
   - the admin area's role check dropped                     -> route_table_failures
   - a new route with no row in the table                    -> routes_missing_from_table
   - private / inactive topics usable by id                  -> topic_misuse_problems
   - the active flag ignored at sign-in and per request      -> disabled_agent_problems
4. CSRF, Post/Redirect/Get, idempotency key:
   - CSRF checking turned off, or one view exempted          -> csrf_failures (test_security_access.py)
   - the idempotency key ignored                             -> double_submit_problems (test_portal.py)
   - the form answered with a page instead of a redirect     -> prg_problems (here)
5. Sessions and logins (checks in test_security_auth.py):
   - the session kept across sign-in (fixation)              -> session_renewal_problems
   - a role change that keeps the session                    -> role_change_problems
   - no idle timeout; polling counted as activity            -> idle_timeout_problems, polling_problems
   - cookies without HttpOnly / SameSite / Secure            -> cookie_problems
   - password change without the current password            -> password_change_problems
   - no length cap on passwords                              -> password_change_problems, overlong_sign_in_problems
   - a reset form that tells known from unknown addresses    -> reset_answer_problems
   - reset links that outlive their use or their hour        -> reset_link_problems
   - no lockout; unknown addresses never locked; no IP limit -> lockout_problems, ip_throttle_problems
6. Customer access links (checks in test_security_portal.py):
   - the signature not checked                               -> access_link_problems
   - no expiry                                               -> access_link_problems
   - "send a new link" that revokes nothing                  -> access_link_problems
   - a file of another ticket through one's own link         -> route_table_failures (portal rows)
   - number + email opening the thread with verification on -> status_check_problems
"""
from __future__ import annotations

import secrets

import pytest
from flask import redirect, url_for
from sqlalchemy import func, select

from helpdesk import queues, tickets
from helpdesk.extensions import csrf, db
from helpdesk.models import Agent, Ticket

import test_portal
from test_security_access import (  # noqa: F401  (world and csrf_app are fixtures)
    ADMIN, AGENT_PAGES, PORTAL, csrf_app, csrf_failures, disabled_agent_problems, route_table_failures,
    routes_missing_from_table, topic_misuse_problems, world,
)


def rows(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


# --- 3. access control ------------------------------------------------------------------------


def test_can_see_saying_yes_to_everyone_is_caught(client, desk, world, monkeypatch):
    monkeypatch.setattr(tickets, "can_see", lambda agent, ticket: True)
    failures = route_table_failures(client, desk, world, "other_dept_agent", AGENT_PAGES[:3])
    # Ticket A's page, its file and its note's file: all three opened to an agent of another department.
    assert len([f for f in failures if "on A: 200, expected 404" in f]) == 3, failures
    assert any("shows" in f and "Subject of ticket A" in f for f in failures)


def test_queues_without_the_visibility_clause_are_caught(client, desk, world, monkeypatch):
    monkeypatch.setattr(queues, "visibility_clause", lambda agent: None)
    queue_pages = [r for r in AGENT_PAGES if r.url == "/agent/"]
    failures = route_table_failures(client, desk, world, "agent", queue_pages)
    assert failures and all("Subject of ticket B" in f for f in failures), failures


def test_admin_area_without_its_role_check_is_caught(client, desk, world, monkeypatch):
    monkeypatch.setattr(Agent, "has_role", lambda self, role: True)
    failures = route_table_failures(client, desk, world, "agent", ADMIN[:2])
    assert {f for f in failures if "expected 403" in f} == {
        f"GET {url} on {key}: 200, expected 403" for url in ("/admin/", "/admin/outbox") for key in "AB"}, failures


def test_portal_file_route_without_its_ticket_clause_is_caught(app, client, desk, world, monkeypatch):
    """The classic IDOR: the link is checked, the file is then fetched by its id alone."""
    from flask import send_file

    from helpdesk.attachments import path_for
    from helpdesk.models import Attachment
    from helpdesk.portal import routes as portal

    def attachment(token, attachment_id):
        portal._ticket_or_404(token)
        att = db.session.get(Attachment, attachment_id)
        return send_file(path_for(att.storage_key), as_attachment=True, download_name=att.filename)

    monkeypatch.setitem(app.view_functions, "portal.attachment", attachment)
    file_rows = [r for r in PORTAL if "/files/" in r.url]
    failures = route_table_failures(client, desk, world, "customer_a", file_rows)
    assert "GET /t/{own_link}/files/{file} on B: 200, expected 404" in failures
    assert any("note file" in f for f in failures)  # the internal note's file too


def test_a_route_missing_from_the_table_is_caught(app_config, app):
    from helpdesk import create_app

    fresh = create_app(app_config)
    assert routes_missing_from_table(fresh) == []
    fresh.add_url_rule("/agent/export", "agent.export", lambda: "all tickets", methods=["GET", "POST"])
    assert sorted(routes_missing_from_table(fresh)) == ["GET /agent/export (agent.export)",
                                                       "POST /agent/export (agent.export)"]


def _any_topic(monkeypatch):
    """The portal's topic lookup without its public/active test (form, topic fields)."""
    from helpdesk import models
    from helpdesk.portal import forms
    from helpdesk.portal import routes as portal

    def any_topic(topic_id):
        return db.session.get(models.HelpTopic, int(topic_id)) if str(topic_id or "").isdigit() else None

    monkeypatch.setattr(forms, "public_topic", any_topic)
    monkeypatch.setattr(portal, "public_topic", any_topic)


@pytest.mark.parametrize("change", ["private", "inactive"])
def test_portal_using_any_topic_by_id_is_caught(client, desk, monkeypatch, change):
    """The portal's lookup loosened: the lifecycle still refuses the ticket, the check sees the form give way."""
    _any_topic(monkeypatch)
    problems = topic_misuse_problems(client, desk, change)
    assert f"a ticket form with the {change} topic got 400" in problems  # answered by the lifecycle, not the form
    assert f"the topic fields show the {change} topic" in problems


@pytest.mark.parametrize("change", ["private", "inactive"])
def test_lifecycle_opening_with_any_topic_is_caught(client, desk, monkeypatch, change):
    """Both layers loosened (portal lookup and open_ticket's own test): the ticket is opened."""
    _any_topic(monkeypatch)
    real = tickets.open_ticket

    def open_with_any_topic(**kw):
        topic = kw["topic"]
        public, active = topic.public, topic.active
        topic.public = topic.active = True
        try:
            return real(**kw)
        finally:
            topic.public, topic.active = public, active
            db.session.commit()

    monkeypatch.setattr(tickets, "open_ticket", open_with_any_topic)
    problems = topic_misuse_problems(client, desk, change)
    assert f"a ticket was opened with the {change} topic" in problems
    assert f"a ticket form with the {change} topic got 302" in problems


def test_ignoring_the_active_flag_is_caught(app, client, desk, login, monkeypatch):
    """A sign-in, a user loader and a Flask-Login user that never look at `active`."""
    from flask import request
    from flask_login import login_user

    from helpdesk.extensions import login_manager

    def load_any(identity):
        agent_id, _, token = identity.partition(":")
        agent = db.session.get(Agent, int(agent_id))
        return agent if agent and agent.session_token == token else None

    def sign_in():
        agent = db.session.scalar(select(Agent).where(Agent.email == request.form["email"]))
        if agent is None or not agent.check_password(request.form["password"]):
            return "Wrong email or password, or the account is disabled.", 401
        login_user(agent)
        return redirect(url_for("agent.queue"))

    monkeypatch.setattr(login_manager, "_user_callback", load_any)
    monkeypatch.setattr(Agent, "is_active", property(lambda self: True))
    monkeypatch.setitem(app.view_functions, "auth.login", sign_in)
    problems = disabled_agent_problems(client, desk, login)
    assert problems == ["the open session of a disabled agent still works",
                        "a disabled agent signing in got 302"], problems


# --- 4. CSRF, Post/Redirect/Get and the idempotency key ---------------------------------------

# A few state-changing endpoints of each audience: the check over them all runs in test_security_access.
CSRF_SAMPLE = {"portal.new_ticket", "portal.reply", "agent.reply", "admin.settings_page", "account.password"}


def test_csrf_check_turned_off_is_caught(csrf_app, desk, world):
    assert csrf_failures(csrf_app, desk, world, CSRF_SAMPLE) == []
    csrf_app.config["WTF_CSRF_ENABLED"] = False
    failures = csrf_failures(csrf_app, desk, world, CSRF_SAMPLE)
    for endpoint in ("/new", "/t/<token>/reply", "/agent/tickets/<number>/reply", "/admin/settings",
                     "/account/password"):
        assert any(f" {endpoint} " in f for f in failures), (endpoint, failures)
    assert any("changed something" in f for f in failures)


def test_a_view_exempt_from_csrf_is_caught(csrf_app, desk, world):
    """A state-changing view added without the token (csrf.exempt) shows up in the URL-map check."""
    from flask_login import current_user

    def note_everywhere():
        for ticket in db.session.scalars(select(Ticket)).all():
            tickets.add_note(current_user, ticket, "forged")
        return redirect("/agent/")

    csrf_app.add_url_rule("/agent/close-all", "agent.close_all", csrf.exempt(note_everywhere), methods=["POST"])
    failures = csrf_failures(csrf_app, desk, world, CSRF_SAMPLE | {"agent.close_all"})
    assert [f.rsplit(":", 1)[0] for f in failures if "changed" not in f] == [
        "POST /agent/close-all {}", "POST /agent/close-all {'HX-Request': 'true'}",
        "POST /agent/close-all {'HX-Request': 'true', 'X-CSRFToken': 'forged'}"], failures
    assert any("changed something" in f for f in failures)


def test_ignoring_the_idempotency_key_is_caught(client, desk, app, monkeypatch):
    real = tickets.open_ticket
    monkeypatch.setattr(tickets, "open_ticket", lambda **kw: real(**{**kw, "idempotency_key": None}))
    assert test_portal.double_submit_problems(client, desk, app) == ["the same form opened 3 tickets"]


def prg_problems(client, desk) -> list[str]:
    """Post/Redirect/Get: a sent form answers with a redirect to a page that is safe to reload
    (reloading it sends nothing again), with and without htmx for the customer's reply."""
    problems = []
    response = client.post("/new", data={
        "name": "Ken", "email": "ken@example.net", "topic": desk.topics["General inquiry"].id,
        "subject": "Printer on fire", "description": "Really.", "idempotency_key": secrets.token_urlsafe(20)})
    if response.status_code not in (302, 303) or response.headers.get("Location") != "/submitted":
        problems.append(f"a new ticket answered {response.status_code}, not a redirect to /submitted")
    else:
        for _ in range(2):  # the reload of the page the browser landed on
            client.get("/submitted")
    if rows(Ticket) != 1:
        problems.append(f"{rows(Ticket)} tickets after one form and a reload")
    from helpdesk.security import access_token

    ticket = db.session.scalar(select(Ticket))
    if ticket is not None:
        url = f"/t/{access_token(ticket)}"
        response = client.post(f"{url}/reply", data={"body": "More details"})
        if response.status_code not in (302, 303) or response.headers.get("Location") != url:
            problems.append(f"a reply answered {response.status_code}, not a redirect to the ticket")
    return problems


def test_forms_follow_post_redirect_get(client, desk):
    assert prg_problems(client, desk) == []


def test_a_form_answered_with_a_page_is_caught(client, desk, monkeypatch):
    """The confirmation rendered as the POST's answer: a reload would send the form again."""
    from helpdesk.portal import routes as portal

    monkeypatch.setattr(portal, "redirect", lambda target, *a, **kw: portal.submitted() if target == "/submitted"
                        else portal._ticket_page(db.session.scalar(select(Ticket)), target.rsplit("/", 1)[-1]))
    problems = prg_problems(client, desk)
    assert problems == ["a new ticket answered 200, not a redirect to /submitted",
                        "a reply answered 200, not a redirect to the ticket"], problems
