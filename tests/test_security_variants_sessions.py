"""The checks of test_security_sessions.py, proven able to fail.

Each test makes the desk vulnerable in one way through `monkeypatch` (or adds a route to the
test's app) and runs the SAME check that passes on the real desk; the check must report it:

- the live parts' polls skipping the sign-in rules, as they once did -> half_signed_in_problems
- a new staff route in a blueprint the rule does not know             -> half_signed_in_problems
- sign-out that forgets the browser's session but not the server's    -> sign_out_problems
- a remember-me cookie that brings a session back as if it were new   -> remembered_idle_problems
"""
from __future__ import annotations

from flask import g, session
from sqlalchemy import select

from helpdesk.auth import routes as auth
from helpdesk.extensions import db, login_manager
from helpdesk.models import Ticket
from test_security_access import world  # noqa: F401  (a fixture)
from test_security_sessions import half_signed_in_problems, remembered_idle_problems, sign_out_problems

REQUIRED = "password only, two-factor required but not enrolled"
PENDING = "password only, second step pending"


def test_polls_that_skip_the_sign_in_rules_are_caught(app, desk, world, monkeypatch):  # noqa: F811
    """"Passive" meaning "no rules" again: the polls answer an agent who must enrol first."""
    rules = auth._signed_in_rules
    monkeypatch.setattr(auth, "_signed_in_rules", lambda endpoint: None if auth._passive() else rules(endpoint))
    problems = half_signed_in_problems(app, desk, world, monkeypatch, REQUIRED)
    for endpoint, kind in (("agent.counts", "htmx"), ("agent.ticket_live", "live region"),
                           ("agent.presence", "htmx"), ("agent.queue", "live region")):
        assert any(f"({endpoint}, {kind})" in p for p in problems), (endpoint, problems)
    assert any("showing ['Subject of ticket A']" in p for p in problems), problems


def test_a_staff_route_outside_the_rule_is_caught(app, desk, world, monkeypatch):  # noqa: F811
    """A new blueprint's page that shows tickets, which the rule was not told about: the walk
    finds it in the URL map."""

    def every_subject():
        return ", ".join(db.session.scalars(select(Ticket.subject)))

    app.add_url_rule("/reports/subjects", "reports.subjects", every_subject)
    problems = half_signed_in_problems(app, desk, world, monkeypatch, PENDING)
    assert [p.split(":")[0] for p in problems] == [
        f"GET /reports/subjects (reports.subjects, {kind})" for kind in ("plain", "htmx", "live region")], problems


def test_a_sign_out_that_keeps_the_server_session_is_caught(app, client, desk, monkeypatch):
    monkeypatch.setattr(auth, "_delete_staff_session", lambda: None)
    problems = sign_out_problems(app, client, desk)
    assert problems == [f"a copy of the {what} still works after sign-out (200)"
                        for what in ("session cookie", "remember-me cookie", "both cookies")], problems


def test_a_remember_cookie_that_renews_the_session_is_caught(app, client, desk, monkeypatch):
    """The review's case: the cookie brings the session back as if it were new, past the idle
    timeout."""
    load = login_manager._user_callback

    def renewing(identity):
        agent = load(identity)
        if agent is not None and session.get("_fresh") is False:  # brought back by the remember-me cookie
            g.staff_session.last_seen_at = auth._now()
        return agent

    monkeypatch.setattr(login_manager, "_user_callback", renewing)
    problems = remembered_idle_problems(app, client, desk, monkeypatch)
    assert "the remember-me cookie signed an idle agent back in (200)" in problems, problems
