"""The checks of issue 6's classes 8, 9, 11 and 12 (what a request can make the desk do: queries,
redirects, response headers, abuse of the public form), each run against a deliberately
vulnerable variant of the desk: every check must fail there (and passes on ours, in the test that
owns it). A variant is a monkeypatch, undone after its test.

Class (issue 6) -> check (where it lives) -> variants here
 8 Queries          search_problems (test_queues): the search formatted into text() SQL
                    queue_parameter_problems (test_security_access): sort taken as given into
                      ORDER BY; a department filter formatted into the WHERE clause
 9 Redirects        check_next_is_local (test_security_access): next= followed as given; only
                      checked for a leading slash
11 Headers          header_problems (test_security_headers): 'unsafe-inline' or 'unsafe-eval'
                      scripts; no or any frame-ancestors; no Referrer-Policy; HSTS over plain HTTP;
                      no HSTS over HTTPS; htmx allowed to eval, or left at its defaults
12 Public form      check_new_ticket_throttled_per_ip / _per_address (test_security_auth): the app
                      made without that rule; check_open_ticket_cap (test_security_auth): no cap;
                      check_honeypot (test_portal): the field's value dropped;
                      check_captcha_must_be_answered / check_a_solved_captcha_works_once
                      (test_security_portal): any solution accepted; a solved challenge reusable;
                      check_a_wrong_solution_uses_up_its_challenge: only a right solution spends one

The other classes' variants: test_security_variants_access.py (2 to 6),
test_security_variants_mail.py (7); the mail and disk faults': test_fault_variants.py.
"""
from __future__ import annotations

import re
import secrets
import time

import altcha
import pytest
from jinja2 import ChoiceLoader, DictLoader
from sqlalchemy import text
from wtforms import StringField

from helpdesk import create_app, security
from helpdesk.extensions import db
from helpdesk.portal.forms import NewTicketForm
from helpdesk.security import captcha, headers, limits
from helpdesk.tickets import intake, queues, search
from hostile import OPEN_REDIRECTS
from support.variants import fails
from test_portal import check_honeypot
from test_queues import search_desk, search_problems
from test_security_access import HOSTILE_PARAMS, check_next_is_local, queue_parameter_problems
from test_security_auth import (
    check_new_ticket_throttled_per_address,
    check_new_ticket_throttled_per_ip,
    check_open_ticket_cap,
    open_ticket_cap_race_problems,
)
from test_security_headers import header_problems
from test_security_portal import (
    check_a_solved_captcha_works_once,
    check_a_wrong_solution_uses_up_its_challenge,
    check_captcha_must_be_answered,
)

# --- 8 Queries --------------------------------------------------------------------------------


def _formatted_find(q: str):
    """search.find with the words formatted into the SQL."""
    q = q.lower()
    found = db.session.scalars(text(
        f"SELECT id FROM ticket WHERE lower(ticket.subject) LIKE '%{q}%' OR lower(ticket.number) LIKE '%{q}%'"))
    return search.Found(ranks={ticket_id: 0.0 for ticket_id in found}, capped=False)


def test_8_search_check_fails_when_the_search_is_formatted_into_sql(client, login, desk, make_ticket, monkeypatch):
    cases = search_desk(make_ticket)
    login(desk.manager)
    monkeypatch.setattr(search, "find", _formatted_find)
    found = {problem.split(":")[0] for problem in search_problems(client, cases)}
    assert {repr(q) for q in ("O'Brien", "' OR 1=1 --", "%' OR '%'='", "') OR ('1'='1")} <= found


def _taking(monkeypatch, name: str, message: str):
    """Params.parse that keeps `name` as it came, without a word."""
    real = queues.Params.parse.__func__

    def parse(cls, args, options):
        params = real(cls, args, options)
        if args.get(name):
            setattr(params, name, args[name])
            params.problems = [p for p in params.problems if message not in p]
        return params

    monkeypatch.setattr(queues.Params, "parse", classmethod(parse))


VALUES = [v for v in HOSTILE_PARAMS if "\x00" not in v]  # NUL bytes are refused before the queue


def test_8_parameter_check_fails_when_the_sort_goes_into_order_by(client, desk, login, make_ticket, monkeypatch):
    make_ticket(subject="Printer on fire")
    login(desk.admin)
    _taking(monkeypatch, "sort", "sort order")
    real = queues._order
    monkeypatch.setattr(queues, "_order", lambda p: [text(p.sort)] if p.sort not in queues.SORTS else real(p))
    missed = [v for v in VALUES if not queue_parameter_problems(client, v, names=("sort",))]
    assert missed == []


def test_8_parameter_check_fails_when_a_filter_is_formatted_into_sql(client, desk, login, make_ticket, monkeypatch):
    make_ticket(subject="Printer on fire")
    login(desk.admin)
    _taking(monkeypatch, "department", "department filter")
    real = queues._conditions

    def conditions(agent, queue, params, now):
        department, params.department = params.department, None
        found = real(agent, queue, params, now)
        params.department = department
        return found + ([text(f"ticket.department_id = {department}")] if department else [])

    monkeypatch.setattr(queues, "_conditions", conditions)
    missed = [v for v in VALUES if not queue_parameter_problems(client, v, names=("department",))]
    assert missed == []


# --- 9 Redirects ------------------------------------------------------------------------------


# Followed as given, these stay on the desk anyway (Werkzeug writes a backslash as %5C).
HARMLESS = ["/\\evil.com", "/%2F/evil.com", "/%5Cevil.com", "/.//evil.com"]


def test_9_redirect_check_fails_on_a_naive_next(client, desk, monkeypatch):
    from helpdesk.auth import routes as auth

    for variant, caught in (
        (lambda target, default: target or default,  # followed as given
         [t for t in OPEN_REDIRECTS if t not in HARMLESS]),
        (lambda target, default: target if (target or "").startswith("/") else default,  # a leading slash is enough
         ["//evil.com", "////evil.com", "/\t/evil.com", "//evil.com@desk.test"]),
    ):
        monkeypatch.setattr(auth, "safe_next", variant)
        assert [target for target in OPEN_REDIRECTS if fails(check_next_is_local, client, desk, target)] == caught


# --- 11 Headers -------------------------------------------------------------------------------


def _problems(client, **kw) -> str:
    return " | ".join(header_problems("start page", client.get("/"), **kw))


def _after_request(app, monkeypatch, change):
    """Swap the app's security-header hook for a variant that edits what ours set."""
    def variant(response):
        response = security.add_security_headers(response)
        change(response.headers)
        return response

    hooks = [variant if f is security.add_security_headers else f for f in app.after_request_funcs[None]]
    assert variant in hooks
    monkeypatch.setitem(app.after_request_funcs, None, hooks)


def _csp(monkeypatch, old, new):
    assert old in headers.CSP
    monkeypatch.setattr(headers, "CSP", headers.CSP.replace(old, new))


def _htmx_config(app, monkeypatch, config):
    """base.html with another htmx config (no config at all: htmx's defaults)."""
    base = app.jinja_env.loader.get_source(app.jinja_env, "base.html")[0]
    changed = re.sub(r"<meta name=\"htmx-config\" content='[^']*'>", config, base)
    assert changed != base
    monkeypatch.setattr(app.jinja_env, "loader", ChoiceLoader([DictLoader({"base.html": changed}),
                                                                app.jinja_env.loader]))


HEADER_VARIANTS = {
    "'unsafe-inline' scripts": (lambda app, m: _csp(m, "script-src 'self'", "script-src 'self' 'unsafe-inline'"),
                                "scripts not locked down"),
    "'unsafe-eval' scripts": (lambda app, m: _csp(m, "script-src 'self'", "script-src 'self' 'unsafe-eval'"),
                              "scripts not locked down"),
    "no frame-ancestors": (lambda app, m: _csp(m, "; frame-ancestors 'none'", ""), "can be framed"),
    "any frame-ancestors": (lambda app, m: _csp(m, "frame-ancestors 'none'", "frame-ancestors *"), "can be framed"),
    "no Referrer-Policy": (lambda app, m: _after_request(app, m, lambda h: h.pop("Referrer-Policy")),
                           "Referrer-Policy None"),
    "HSTS over plain HTTP": (lambda app, m: _after_request(
        app, m, lambda h: h.setdefault("Strict-Transport-Security", "max-age=60")), "HSTS over plain HTTP"),
    "htmx may eval": (lambda app, m: _htmx_config(app, m, """<meta name="htmx-config" content='{"allowEval": true,\
 "allowScriptTags": false, "includeIndicatorStyles": false}'>"""), "htmx not configured for the CSP"),
    "htmx defaults": (lambda app, m: _htmx_config(app, m, ""), "htmx not configured for the CSP"),
}


def test_11_header_check_fails_on_each_weaker_variant(client, app, desk, monkeypatch):
    assert _problems(client) == ""  # ours; each variant changes one thing of this page
    missed = []
    for name, (apply, problem) in HEADER_VARIANTS.items():
        with monkeypatch.context() as variant:
            apply(app, variant)
            if problem not in _problems(client):
                missed.append(name)
    assert missed == []
    assert _problems(client) == ""  # and ours again


def test_11_header_check_fails_without_hsts_over_https(app_config, app, desk, monkeypatch):
    secure = create_app({**app_config, "HELPDESK_BASE_URL": "https://desk.example.com"})
    _after_request(secure, monkeypatch, lambda headers: headers.pop("Strict-Transport-Security"))
    assert "no HSTS over HTTPS" in _problems(secure.test_client(), https=True)


# --- 12 Abuse of the public form --------------------------------------------------------------


@pytest.fixture
def limited_without(app_config, app, monkeypatch):
    """An app with rate limits on, made while limits.RULES lacks the rules `drop` matches."""
    contexts = []

    def make(drop):
        monkeypatch.setattr(limits, "RULES", [r for r in limits.RULES if not drop(r)])
        limited = create_app({**app_config, "RATELIMIT_ENABLED": True,
                              "RATELIMIT_KEY_PREFIX": f"test-{secrets.token_hex(4)}"})
        contexts.append(limited.app_context())
        contexts[-1].push()
        return limited

    yield make
    for context in reversed(contexts):
        db.session.remove()
        db.engine.dispose()
        context.pop()


def test_12_limit_checks_fail_without_their_rules(limited_without, desk):
    limited = limited_without(lambda r: r.endpoint == "portal.new_ticket" and r.scope == "ip")
    assert fails(check_new_ticket_throttled_per_ip, limited, desk)
    limited = limited_without(lambda r: r.endpoint == "portal.new_ticket" and r.scope == "email")
    assert fails(check_new_ticket_throttled_per_address, limited, desk)


def test_12_open_ticket_cap_check_fails_without_the_cap(client, desk, make_ticket, app, monkeypatch):
    monkeypatch.setattr(intake, "_check_open_limit", lambda email: None)
    assert fails(check_open_ticket_cap, client, desk, make_ticket, app)


def test_12_open_ticket_cap_race_check_fails_without_the_customer_lock(desk, make_ticket, app, monkeypatch):
    from helpdesk.tickets import intake

    monkeypatch.setattr(intake, "_lock_customer", lambda customer: None)
    counted = intake._check_open_limit

    def slow_count(email):  # every form counts before any inserts, as on a loaded server
        counted(email)
        time.sleep(0.3)

    monkeypatch.setattr(intake, "_check_open_limit", slow_count)
    assert open_ticket_cap_race_problems(desk, make_ticket, app, known=True) != []


def test_12_honeypot_check_fails_when_the_field_is_not_read(client, desk, monkeypatch):
    monkeypatch.setattr(NewTicketForm, "website", StringField("Leave this field empty", filters=[lambda v: None]))
    assert fails(check_honeypot, client, desk)


def test_12_captcha_check_fails_when_any_answer_passes_or_an_answer_is_reused(client, desk, app, monkeypatch):
    app.config["HELPDESK_CAPTCHA"] = True
    with monkeypatch.context() as variant:
        variant.setattr(captcha, "solved", lambda payload: True)
        assert fails(check_captcha_must_be_answered, client, desk)
    with monkeypatch.context() as variant:
        variant.setattr(limits, "first_use", lambda kind, token, ttl: True)
        assert fails(check_a_solved_captcha_works_once, client, desk)
    with monkeypatch.context() as variant:  # the arithmetic CAPTCHA's flaw: a wrong answer spent nothing
        real = limits.first_use
        variant.setattr(captcha, "solved", lambda payload: bool(
            altcha.verify_solution(payload, captcha._key("challenge")).verified) and real(
                "captcha", altcha.Payload.from_base64(payload).challenge.signature, captcha.MAX_AGE))
        assert fails(check_a_wrong_solution_uses_up_its_challenge, client, desk)
