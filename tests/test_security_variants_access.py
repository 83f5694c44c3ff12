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
   - files kept under their own names; uploads under static/ -> storage_problems
   - a download served inline, or without nosniff/sandbox   -> download_problems
   - a file of another customer's ticket served (IDOR)       -> route_table_failures (portal rows)
3. Access control (checks in test_security_access.py):
   - can_see() says yes to everyone                          -> route_table_failures
   - the queues' visibility clause dropped                   -> route_table_failures
   - the admin area's role check dropped                     -> route_table_failures
   - internal notes and their files in the customer's thread -> route_table_failures (portal rows)
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
   - cookies without HttpOnly / SameSite / Secure, or Secure
     not derived from an https:// address                   -> cookie_problems
   - password change without the current password            -> password_change_problems
   - no length cap on passwords                              -> password_change_problems, overlong_sign_in_problems
   - a reset form that tells known from unknown addresses    -> reset_answer_problems
   - a reset form that answers the same but looks the address
     up and queues the mail while the visitor waits (timing)  -> reset_request_problems
   - reset links that outlive their use or their hour        -> reset_link_problems, reset_expiry_problems
   - a reset link that outlives a change of the address      -> reset_rename_problems
   - no lockout                                              -> lockout_problems
   - only known addresses locked (enumeration)               -> unknown_address_answers
   - a sign-in that skips the password hash for deactivated
     agents (timing tells them apart)                        -> sign_in_cost_problems
   - no per-IP throttle on sign-in                           -> ip_throttle_problems
6. Customer access links (checks in test_security_portal.py):
   - the signature not checked                               -> access_link_problems
   - no expiry                                               -> access_link_problems
   - "send a new link" that revokes nothing                  -> access_link_problems
   - someone taken off copy whose link still works           -> access_link_problems
   - a file of another ticket through one's own link         -> route_table_failures (portal rows)
   - number + email opening the thread with verification on -> status_check_problems
   - a status answer that tells a right address from a wrong -> status_check_problems
"""
from __future__ import annotations

import secrets

from flask import redirect, url_for
from sqlalchemy import func, select

import test_portal
from helpdesk import tickets
from helpdesk.auth import forms
from helpdesk.extensions import csrf, db
from helpdesk.mail import links
from helpdesk.models import Agent, Ticket
from helpdesk.security import tokens
from helpdesk.tickets import queues
from support.rows import count as rows
from test_security_access import (  # noqa: F401  (world is a fixture)
    ADMIN,
    AGENT_PAGES,
    PORTAL,
    csrf_failures,
    disabled_agent_problems,
    route_table_failures,
    routes_missing_from_table,
    topic_misuse_problems,
    world,
)
from test_security_auth import (  # noqa: F401  (limited_app is a fixture)
    PASSWORD_REFUSALS,
    cookie_problems,
    idle_timeout_problems,
    ip_throttle_problems,
    limited_app,
    lockout_problems,
    overlong_sign_in_problems,
    password_change_problems,
    polling_problems,
    reset_answer_problems,
    reset_expiry_problems,
    reset_link_problems,
    reset_rename_problems,
    reset_request_problems,
    role_change_problems,
    session_renewal_problems,
    sign_in_cost_problems,
    unknown_address_answers,
)
from test_security_portal import (
    HOSTILE_UPLOADS,
    access_link_problems,
    download_problems,
    hostile_upload_accepted,
    status_check_problems,
    storage_problems,
    upload_limit_problems,
)

# --- 3. access control ------------------------------------------------------------------------


def test_can_see_saying_yes_to_everyone_is_caught(client, desk, world, monkeypatch):
    monkeypatch.setattr(tickets.rules, "can_see", lambda agent, ticket: True)
    monkeypatch.setattr(tickets, "can_see", lambda agent, ticket: True)
    failures = route_table_failures(client, desk, world, "other_dept_agent", AGENT_PAGES[:3])
    # Ticket A's page, its file and its note's file: all three opened to an agent of another department.
    assert len([f for f in failures if "on A: 200, expected 404" in f]) == 3, failures
    assert any("shows" in f and "Subject of ticket A" in f for f in failures)


def test_queues_without_the_visibility_clause_are_caught(client, desk, world, monkeypatch):
    monkeypatch.setattr(queues, "visibility_clause", lambda agent, t=None: None)
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


def test_internal_notes_on_the_customers_page_are_caught(client, desk, world, monkeypatch):
    """The public thread taking every kind of entry: notes and their files reach customers."""
    from helpdesk import models

    monkeypatch.setattr(models.ticket, "PUBLIC_KINDS", ("message", "reply", "note"))
    failures = route_table_failures(client, desk, world, "customer_a", [PORTAL[0], PORTAL[4]])
    assert "GET /t/{link} on A shows ['Internal note A']" in failures
    assert "GET /t/{own_link}/files/{note_file} on A: 200, expected 404" in failures


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


def test_portal_using_any_topic_by_id_is_caught(client, desk, monkeypatch):
    """The portal's lookup loosened: the lifecycle still refuses the ticket, the check sees the form give way."""
    change = "private"
    _any_topic(monkeypatch)
    problems = topic_misuse_problems(client, desk, change)
    assert f"a ticket form with the {change} topic got 400" in problems  # answered by the lifecycle, not the form
    assert f"the topic fields show the {change} topic" in problems


def test_lifecycle_opening_with_any_topic_is_caught(client, desk, monkeypatch):
    """Both layers loosened (portal lookup and open_ticket's own test): the ticket is opened."""
    change = "inactive"
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

    from helpdesk.auth import routes as auth
    from helpdesk.extensions import login_manager

    def load_any(identity):
        return _staff_session_loader(identity, check=lambda agent, staff: staff.agent_token == agent.session_token)

    def sign_in():
        agent = db.session.scalar(select(Agent).where(Agent.email == request.form["email"]))
        if agent is None or not agent.check_password(request.form["password"]):
            return "Wrong email or password, or the account is disabled.", 401
        auth.open_staff_session(agent)
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


def test_a_view_exempt_from_csrf_is_caught(csrf_app, desk, world, monkeypatch):
    """A state-changing view added without the token (csrf.exempt) shows up in the URL-map check."""
    from flask_login import current_user

    def note_everywhere():
        for ticket in db.session.scalars(select(Ticket)).all():
            tickets.add_note(current_user, ticket, "forged")
        return redirect("/agent/")

    monkeypatch.setattr(csrf, "_exempt_views", set(csrf._exempt_views))  # the extension is shared by every app
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


# --- 5. sessions and logins ------------------------------------------------------------------


def _staff_session_loader(identity, check):
    """helpdesk.auth's user loader with `check(agent, staff_session)` in place of its own."""
    from flask import g

    from helpdesk.auth import routes as auth
    from helpdesk.models import StaffSession

    agent_id, _, key = identity.partition(":")
    staff = db.session.scalar(select(StaffSession).where(StaffSession.key_hash == auth._digest(key)))
    agent = db.session.get(Agent, int(agent_id))
    if staff is None or agent is None or staff.agent_id != agent.id or not check(agent, staff):
        return None
    agent.staff_session_key = key
    g.staff_session, g.staff_session_id = staff, staff.id
    return agent


def test_a_session_kept_across_sign_in_is_caught(client, desk, monkeypatch):
    """Session fixation: the sign-in adds the agent to whatever session the browser brought."""
    from helpdesk.auth import routes as auth

    def keep_session(agent, remember=False):
        auth.open_staff_session(agent, remember)  # without session.clear()

    monkeypatch.setattr(auth, "start_session", keep_session)
    assert session_renewal_problems(client, desk) == ["the session from before the sign-in was kept"]


def test_a_session_that_outlives_a_role_change_is_caught(client, desk, login, monkeypatch):
    """A user loader that ignores the session token (a staff session outlives the agent's token)."""
    from helpdesk.extensions import login_manager

    def by_id(identity):
        return _staff_session_loader(identity, check=lambda agent, staff: agent.active)

    monkeypatch.setattr(login_manager, "_user_callback", by_id)
    assert role_change_problems(client, desk, login) == ["the session survived a role change: 403"]


def test_no_idle_timeout_is_caught(app, client, desk, login, monkeypatch):
    monkeypatch.setitem(app.config, "HELPDESK_IDLE_MINUTES", 0)
    problems = idle_timeout_problems(client, desk, login, monkeypatch)
    assert "after 31 idle minutes a page got 200" in problems and "the idle session still works" in problems


def test_polling_counted_as_activity_is_caught(client, desk, login, make_ticket, monkeypatch):
    poll = "ticket live"
    from helpdesk.auth import routes as auth

    monkeypatch.setattr(auth, "PASSIVE_ENDPOINTS", {"static"})
    monkeypatch.setattr(auth, "LIVE_REGIONS", {})
    problems = polling_problems(client, desk, login, make_ticket, monkeypatch, poll)
    assert f"{poll} kept the session alive" in problems, problems


COOKIE_VARIANTS = [
    ({"SESSION_COOKIE_HTTPONLY": False}, "session cookie at http://desk.test without HttpOnly"),
    ({"REMEMBER_COOKIE_HTTPONLY": False}, "remember_token cookie at http://desk.test without HttpOnly"),
    ({"SESSION_COOKIE_SAMESITE": None}, "session cookie at https://desk.example.com without SameSite=Lax"),
    ({"REMEMBER_COOKIE_SAMESITE": "None"}, "remember_token cookie at http://desk.test without SameSite=Lax"),
    ({"SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False},
     "session cookie at https://desk.example.com without Secure"),
]


def test_cookie_flags_turned_off_are_caught(app_config, app, desk, monkeypatch):
    for override, expected in COOKIE_VARIANTS:
        assert expected in cookie_problems(app_config, desk, monkeypatch, **override), override


def test_secure_cookies_not_derived_from_https_are_caught(app_config, app, desk, monkeypatch):
    """The configuration forgetting to turn Secure on when the desk's address is https://."""
    from helpdesk import config

    real = config.from_environment
    monkeypatch.setattr(config, "from_environment", lambda path: {
        **real(path), "SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False})
    assert cookie_problems(app_config, desk, monkeypatch) == [
        "session cookie at https://desk.example.com without Secure",
        "remember_token cookie at https://desk.example.com without Secure"]


def test_password_change_without_the_current_password_is_caught(app, client, desk, login, monkeypatch):
    """A change-password view that validates the new password only."""
    from flask_login import current_user

    from helpdesk.auth import account

    def change_password():
        form = account.PasswordForm()
        form.validate()
        if form.new.errors or form.confirm.errors:
            return account._page(400, password_form=form)
        current_user.set_password(form.new.data)
        db.session.commit()
        return redirect(url_for("account.index"))

    monkeypatch.setitem(app.view_functions, "account.password", change_password)
    for case in PASSWORD_REFUSALS:
        problems = password_change_problems(client, desk, login, *case)
        if case[3] in ("That is not your current password.", "Enter your current password."):
            assert problems == [f"{case[3]!r} case got 302", f"{case[3]!r} case changed the password"], problems
            desk.tech.set_password("demo-tech-1")
            db.session.commit()
        else:
            assert problems == []  # the other rules still hold in this variant


def test_no_password_length_cap_is_caught(client, desk, login, monkeypatch):
    from helpdesk import models

    monkeypatch.setattr(forms._LENGTH, "max", 100_000)
    monkeypatch.setattr(models.people, "PASSWORD_MAX", 100_000)
    too_long = next(case for case in PASSWORD_REFUSALS if len(case[1]) > 128)
    assert password_change_problems(client, desk, login, *too_long) == [
        "'A password has 8 to 128 characters.' case got 302",
        "'A password has 8 to 128 characters.' case changed the password"]


def test_no_length_cap_at_sign_in_is_caught(client, desk, monkeypatch):
    from helpdesk import models
    from helpdesk.auth import routes as auth

    length = next(v for v in auth.LoginForm.password.kwargs["validators"] if hasattr(v, "max"))
    monkeypatch.setattr(length, "max", -1)
    monkeypatch.setattr(models.people, "PASSWORD_MAX", 1_000_000)
    assert overlong_sign_in_problems(client, desk)[0] == "an overlong password got 401"


def test_a_reset_form_that_tells_addresses_apart_is_caught(app, client, desk, inbox, monkeypatch):
    """The forgot-password view of many desks: 'we mailed you' or 'no such account'."""
    from flask import flash, request

    from helpdesk.auth import account
    from helpdesk.mail import notify

    real = app.view_functions["account.forgot"]

    def forgot():
        if request.method == "GET":
            return real()
        email = request.form["email"].strip().lower()
        agent = db.session.scalar(select(Agent).where(func.lower(Agent.email) == email))
        if agent is None:
            flash("There is no account with that address.", "error")
            return redirect(url_for("account.forgot"))
        notify.password_reset(agent, links.external_url("account.reset", token=tokens.reset_token(agent)))
        db.session.commit()
        flash(account.RESET_SENT, "info")
        return redirect(url_for("auth.login"))

    monkeypatch.setitem(app.view_functions, "account.forgot", forgot)
    assert reset_answer_problems(client, desk, inbox) == [
        "known and unknown addresses get different answers ([200, 200, 200])", "the answer is not the generic one"]


def test_a_reset_form_that_mails_while_the_visitor_waits_is_caught(app, client, desk, inbox, monkeypatch):
    """The same answer for every address, but the lookup and the mail happen in the request:
    an agent's address takes longer to answer than any other."""
    from flask import flash, request

    from helpdesk.auth import account
    from helpdesk.mail import notify

    real = app.view_functions["account.forgot"]

    def forgot():
        if request.method == "GET":
            return real()
        email = request.form["email"].strip().lower()
        agent = db.session.scalar(select(Agent).where(func.lower(Agent.email) == email))
        if agent is not None and agent.active:
            notify.password_reset(agent, links.external_url("account.reset", token=tokens.reset_token(agent)))
            db.session.commit()
        flash(account.RESET_SENT, "info")
        return redirect(url_for("auth.login"))

    monkeypatch.setitem(app.view_functions, "account.forgot", forgot)
    problems = reset_request_problems(client, desk, inbox)
    assert problems[0].startswith("the queries differ: tech@example.com: ")
    assert problems[1] == "the rows written differ: 1 mails queued, requests recorded for []"


def test_a_reusable_reset_link_is_caught(app, client, desk, inbox, monkeypatch):
    """A reset token that does not die with the password it was made for."""

    monkeypatch.setattr(tokens, "_fingerprint", lambda agent: "same")
    problems = reset_link_problems(client, desk, inbox, app)
    assert problems == ["the used link opened again: 200", "the used link set a password again"]


def test_a_reset_link_bound_to_the_password_only_is_caught(app, client, desk, inbox, monkeypatch):
    """A reset token that dies with the password but not with the address it was mailed to."""
    import hashlib


    monkeypatch.setattr(tokens, "_fingerprint", lambda agent: hashlib.sha256(agent.password_hash.encode()).hexdigest())
    problems = reset_rename_problems(client, desk, inbox, app)
    assert problems == ["the old address's link opened after the change: 200",
                        "the old address's link set a password: 302", "the password was changed through the old link"]


def test_a_reset_link_without_expiry_is_caught(client, desk, inbox, monkeypatch):

    monkeypatch.setattr(tokens, "RESET_SECONDS", None)
    assert reset_expiry_problems(client, desk, inbox, monkeypatch) == ["the link still worked after an hour"]


def test_no_lockout_is_caught(limited_app, desk, monkeypatch):
    monkeypatch.setitem(limited_app.config, "HELPDESK_LOGIN_ATTEMPTS", 1000)
    problems = lockout_problems(limited_app, desk, monkeypatch)
    assert "the 4th wrong password got 401, not the lockout" in problems
    assert "the right password worked on a locked account" in problems


def test_lockout_for_known_accounts_only_is_caught(limited_app, desk, monkeypatch):
    """Locking only real accounts tells an attacker which addresses exist."""
    from helpdesk.security import limits

    real = limits.record_failure
    known = {a.email for a in db.session.scalars(select(Agent))}
    monkeypatch.setattr(limits, "record_failure", lambda email: email in known and real(email))
    answers, known_answers = unknown_address_answers(limited_app, desk)
    assert answers == [401] * 5 and known_answers == [401, 401, 401, 429, 429]


def test_a_sign_in_that_skips_the_hash_is_caught(limited_app, desk, monkeypatch):
    """The usual shortcut: a deactivated agent is refused before the password is hashed, so it
    answers many times faster than a real attempt."""
    from helpdesk.auth import routes as auth

    real = auth._password_matches

    def matches(agent, password):
        return False if agent is not None and not agent.active else real(agent, password)

    monkeypatch.setattr(auth, "_password_matches", matches)
    problems = sign_in_cost_problems(limited_app, desk, monkeypatch)
    assert problems == ["deactivated agent, wrong password: 0 password hashes",
                        "deactivated agent, right password: 0 password hashes"]


def test_no_per_address_throttle_is_caught(app_config, app, desk, monkeypatch):
    from helpdesk import create_app
    from helpdesk.security import limits

    monkeypatch.setattr(limits, "RULES", [r for r in limits.RULES if r.endpoint != "auth.login"])
    unthrottled = create_app({**app_config, "RATELIMIT_ENABLED": True,
                              "RATELIMIT_KEY_PREFIX": f"test-{secrets.token_hex(4)}"})
    with unthrottled.app_context():
        assert ip_throttle_problems(unthrottled, desk) == [f"eleven failed sign-ins from one address got {[401] * 11}"]
        db.session.remove()
        db.engine.dispose()


# --- 2. uploads -------------------------------------------------------------------------------


def _accepted(client, desk) -> set[str]:
    return {name for name, data in HOSTILE_UPLOADS if hostile_upload_accepted(client, desk, name, data)}


def test_type_judged_from_the_name_is_caught(client, desk, monkeypatch):
    """The common mistake: the type guessed from the file's name (HTML saved as page.txt gets in)."""
    import mimetypes
    from types import SimpleNamespace

    from helpdesk import attachments

    names = []
    real_name = attachments.secure_filename
    monkeypatch.setattr(attachments, "secure_filename", lambda name: names.append(real_name(name)) or names[-1])
    monkeypatch.setattr(attachments, "magic", SimpleNamespace(
        from_buffer=lambda data, mime: mimetypes.guess_type(names[-1])[0] or "application/octet-stream"))
    assert {"page.txt", "image.png", "drawing.png"} <= _accepted(client, desk)


def test_no_double_extension_rule_is_caught(client, desk, monkeypatch):
    """The bytes alone judged: a real PNG (or PDF) start with .html or .svg at the end of the name gets in."""
    from helpdesk import attachments

    monkeypatch.setattr(attachments, "BLOCKED_EXTENSIONS", set())
    assert {"polyglot.png.html", "photo.png.svg", "report.pdf.html"} <= _accepted(client, desk)


def test_html_and_svg_among_the_accepted_types_are_caught(client, desk, monkeypatch):
    from helpdesk import attachments

    real = attachments.allowed_types
    monkeypatch.setattr(attachments, "allowed_types", lambda: real() | {"text/html", "image/svg+xml"})
    assert {"page.txt", "image.png", "drawing.png"} <= _accepted(client, desk)


def test_no_size_or_count_limit_is_caught(client, desk, app, monkeypatch):
    from helpdesk import attachments

    monkeypatch.setattr(attachments, "_limits", lambda: (10 * 1024 * 1024, 100))
    assert upload_limit_problems(client, desk, app) == [
        "a file over the size limit got 302", "one file too many got 302", "2 tickets opened"]


def test_files_stored_under_their_own_names_are_caught(client, desk, app, monkeypatch):
    from helpdesk import attachments

    def store(upload):
        path = attachments.path_for(upload.filename)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(upload.data)
        return upload.filename

    monkeypatch.setattr(attachments, "store", store)
    problems = storage_problems(client, desk, app)
    assert len(problems) == 1 and problems[0].startswith("not stored under a random name"), problems


def test_files_stored_under_static_are_caught(client, desk, app, monkeypatch, tmp_path):
    """The upload folder put inside the folder the web server serves."""
    (tmp_path / "static").mkdir()
    monkeypatch.setattr(app, "static_folder", str(tmp_path / "static"))
    monkeypatch.setitem(app.config, "HELPDESK_UPLOAD_DIR", str(tmp_path / "static" / "uploads"))
    problems = storage_problems(client, desk, app)
    assert problems[0] == "stored under static/" and problems[1].startswith("served at /static/uploads/"), problems


def test_downloads_served_inline_are_caught(client, desk, login, monkeypatch):
    from helpdesk import attachments

    real = attachments.send_file  # every download (portal, agent, API) goes through attachments.download
    monkeypatch.setattr(attachments, "send_file", lambda *a, **kw: real(*a, **{**kw, "as_attachment": False}))
    assert download_problems(client, desk, login) == [
        "customer download not an attachment: 'inline; filename=shot.png'",
        "agent download not an attachment: 'inline; filename=shot.png'"]


def test_downloads_without_nosniff_or_sandbox_are_caught(app, client, desk, login, monkeypatch):
    """Both layers gone: the download views' own headers and the headers every page gets."""
    from helpdesk.security import add_security_headers

    for endpoint in ("portal.attachment", "agent.attachment"):
        def bare(*args, real=app.view_functions[endpoint], **kwargs):
            response = real(*args, **kwargs)
            del response.headers["X-Content-Type-Options"], response.headers["Content-Security-Policy"]
            return response

        monkeypatch.setitem(app.view_functions, endpoint, bare)
    monkeypatch.setitem(app.after_request_funcs, None,
                        [f for f in app.after_request_funcs[None] if f is not add_security_headers])
    assert download_problems(client, desk, login) == [
        "customer download without nosniff", "customer download without a sandboxing CSP",
        "agent download without nosniff", "agent download without a sandboxing CSP"]


# --- 6. customer access links -----------------------------------------------------------------


def test_links_whose_signature_is_not_checked_are_caught(client, desk, make_ticket, monkeypatch):

    real = tokens._serializer

    class Unchecked:
        """Reads the token's payload without verifying its signature (or its age)."""

        def dumps(self, obj):
            return real().dumps(obj)

        def loads(self, token, max_age=None):
            return real().loads_unsafe(token)[1]

    monkeypatch.setattr(tokens, "_serializer", Unchecked)
    problems = access_link_problems(client, desk, make_ticket, monkeypatch)
    assert "a link signed with another key opened: 200" in problems, problems


def test_links_that_never_expire_are_caught(client, desk, make_ticket, monkeypatch):

    monkeypatch.setattr(tokens, "_max_age", lambda: None)
    assert access_link_problems(client, desk, make_ticket, monkeypatch) == [
        "a customer's link 8 days old opened: 200", "a collaborator's link 8 days old opened: 200"]


def test_a_new_link_that_revokes_nothing_is_caught(client, desk, make_ticket, monkeypatch):
    """'Send a new link' that only mails the current link again."""
    from helpdesk.mail import notify

    def mail_again(agent, ticket, *, expected_version=None):
        notify.access_link(ticket)
        db.session.commit()
        return ticket

    monkeypatch.setattr(tickets, "new_access_link", mail_again)
    assert access_link_problems(client, desk, make_ticket, monkeypatch) == [
        "a link revoked by a new one opened: 200", "a revoked link took a reply"]


def test_collaborators_kept_after_removal_are_caught(client, desk, make_ticket, monkeypatch):
    """Taking someone off copy that stops the mail but leaves their link working."""
    def stop_mail_only(agent, ticket, collaborator, *, expected_version=None):
        collaborator.name = collaborator.name + " (off copy)"
        db.session.commit()
        return collaborator

    monkeypatch.setattr(tickets, "remove_collaborator", stop_mail_only)
    assert access_link_problems(client, desk, make_ticket, monkeypatch) == [
        "the link of someone taken off copy opened: 200"]


def test_number_and_email_opening_the_thread_are_caught(app, client, desk, make_ticket, inbox, monkeypatch):
    """The status form acting as if verification were off while the admin has it on."""
    monkeypatch.setitem(app.config, "HELPDESK_STATUS_REQUIRES_MAIL", False)
    problems = status_check_problems(client, desk, make_ticket, inbox)
    assert "the status check for ken@example.net {} showed the ticket (200)" in problems, problems
    assert "0 links mailed for two requests" in problems


def test_a_status_answer_that_tells_addresses_apart_is_caught(client, desk, make_ticket, inbox, monkeypatch):
    from flask import flash

    real = tickets.send_status_link

    def telling(number, email):
        sent = real(number, email)
        if not sent:
            flash("There is no ticket with that number for that address.", "error")
        return sent

    monkeypatch.setattr(tickets, "send_status_link", telling)
    # (The htmx answer shows no flashed message, so only the full page tells them apart here.)
    assert status_check_problems(client, desk, make_ticket, inbox) == [
        "the right and a wrong address get different answers {}"]


def test_a_live_poll_answered_before_the_visibility_check_is_caught(app, desk, make_ticket, monkeypatch):
    """The ticket's live region answering 304 for a matching tag before asking whether the
    agent may see the ticket: an agent of another department learns that it exists."""
    from helpdesk import live
    from test_live import region_headers, unseen_ticket_poll_problems

    ticket = make_ticket(topic="Business Critical Outage", subject="Mobile banking down")
    tech = app.test_client()
    tech.post("/login", data={"email": desk.tech.email, "password": desk.passwords[desk.tech.email]})
    url, headers = region_headers(tech.get(f"/agent/tickets/{ticket.number}").get_data(as_text=True), "live-poller")
    state = live.ticket_state_by_number(ticket.number)
    assert unseen_ticket_poll_problems(app, desk, ticket, url, headers["If-None-Match"], state) == []
    real = live.ticket_state_by_number
    monkeypatch.setattr(live, "ticket_state_by_number", lambda number, visible=None: real(number))
    problems = unseen_ticket_poll_problems(app, desk, ticket, url, headers["If-None-Match"], state)
    assert problems == ["with If-None-Match *: 304, not as for a missing ticket"], problems
