"""The one rule every staff page passes through, and sessions that end.

- Every staff route of the URL map (whatever blueprint it is in, unless it is named public
  below), asked by a half-signed-in session, with and without htmx and as the queue's live
  region: each answers with a redirect to sign in, to the code step or to enrolment (or a 401
  or 403), never with data. The inventory comes from the URL map, so a new route is walked
  without anyone adding it here.
- Sign-out deletes that session on the server: copies of the browser's session and
  remember-me cookies stop working, while the agent's other devices keep theirs; a session
  brought back by the remember-me cookie obeys the idle timeout.

The checks are functions returning what they found wrong, so that
test_security_variants_sessions.py can show each of them failing on a vulnerable desk."""
from __future__ import annotations

import re
import time

import pyotp
import pytest
from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.models import Agent, AuditEntry, Event, OutboxMail, StaffSession, ThreadEntry, Ticket
from test_security_access import world  # noqa: F401  (a fixture: ticket A with its note and files, admin objects)

# Routes anyone may ask (customers, sign-in steps, the API with its own keys, monitors): every
# other route of the app is a staff route, and walked.
PUBLIC_BLUEPRINTS = {"portal", "auth", "api", "ops"}
PUBLIC_ENDPOINTS = {"static", "theme_css", "favicon", "account.forgot", "account.reset"}
# What an agent not enrolled may use when the desk requires two-factor sign-in: setting it up.
ENROLMENT = {"account.two_factor", "account.two_factor_start", "account.two_factor_confirm",
             "account.two_factor_qr"}
HEADERS = {"plain": {}, "htmx": {"HX-Request": "true"},
           "live region": {"HX-Request": "true", "HX-Trigger": "results"}}
# The admin's `row_id` is the object of the page's own kind.
ROW_KINDS = {"agent": "agent", "department": "department", "team": "team", "topic": "topic", "sla": "sla"}


def sign_in(client, agent, desk, **extra):
    return client.post("/login", data={"email": agent.email, "password": desk.passwords[agent.email], **extra})


def staff_rules(app) -> list:
    return [rule for rule in app.url_map.iter_rules()
            if rule.endpoint.partition(".")[0] not in PUBLIC_BLUEPRINTS and rule.endpoint not in PUBLIC_ENDPOINTS]


def _url(rule, world) -> str:
    """The rule's path, its arguments filled with real objects of the desk (ticket A, its
    internal note's file, ...): what a page would show if the rule let the request through."""
    a = world["A"]
    kind = rule.endpoint.partition(".")[2].partition("_")[0]
    values = {"number": a["number"], "attachment_id": a["note_file"], "collaborator_id": a["collaborator"],
              "name": "mine", "plan_id": a["sla"], "holiday_id": a["holiday"], "mailbox_id": a["mailbox"],
              "mail_id": a["failed_mail"], "key_id": a["api_key"], "priority_id": a["priority"],
              "key": "reply_customer", "held_id": a["held_confirm"], "customer_id": a["customer"],
              "webhook_id": a["webhook"], "delivery_id": a["delivery"], "response_id": a["canned"],
              "file_id": a["canned_file"], "rule_id": a["rule"], "macro_id": a["macro"], "tag_id": a["tag"]}
    if kind in ROW_KINDS:
        values["row_id"] = a[ROW_KINDS[kind]]

    def fill(match):
        assert match.group(1) in values, f"give the walk a value for <{match.group(1)}> ({rule.endpoint})"
        return str(values[match.group(1)])

    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", fill, rule.rule)


def _secrets(desk) -> list[str]:
    """What a half-signed-in session must never be shown."""
    return ["Subject of ticket A", "Internal note A", "note file A", "Mailbox A", "Held mail A", desk.vendor.email]


# --- the half-signed-in states -------------------------------------------------------------------
# Each puts `client` into its state as desk.admin (who may see everything) and returns where the
# refusals must send the browser.


def _two_factor_required_not_enrolled(app, client, desk, monkeypatch):
    app.config["HELPDESK_REQUIRE_TOTP"] = True
    assert sign_in(client, desk.admin, desk).status_code == 302
    return "/account/two-factor"


def _second_step_pending(app, client, desk, monkeypatch):
    desk.admin.totp_secret = pyotp.random_base32()
    db.session.commit()
    response = sign_in(client, desk.admin, desk)
    assert response.headers["Location"] == "/login/code"
    return "/login/code"


def _idle(app, client, desk, monkeypatch):
    monkeypatch.setattr(time, "time", _REAL_TIME)
    assert sign_in(client, desk.admin, desk).status_code == 302
    monkeypatch.setattr(time, "time", lambda: _REAL_TIME() + 31 * 60)
    return "/login"


def _deactivated(app, client, desk, monkeypatch):
    assert sign_in(client, desk.admin, desk).status_code == 302
    desk.admin.active = False
    db.session.commit()
    return "/login"


def _before_a_password_change(app, client, desk, monkeypatch):
    assert sign_in(client, desk.admin, desk).status_code == 302
    desk.admin.set_password("changed on another device")
    db.session.commit()
    return "/login"


_REAL_TIME = time.time
STATES = {
    "password only, two-factor required but not enrolled": _two_factor_required_not_enrolled,
    "password only, second step pending": _second_step_pending,
    "idle past the timeout": _idle,
    "agent deactivated": _deactivated,
    "session from before a password change": _before_a_password_change,
}
# An idle session is ended by the first request that finds it idle: it is put back for each.
REMADE_PER_REQUEST = {"idle past the timeout"}


def _put_back(client, cookies: dict, rows: list[dict]) -> None:
    """The browser's cookies and the staff sessions as they were right after `make`."""
    for name, value in cookies.items():
        client.set_cookie(name, value)
    for row in rows:
        if db.session.get(StaffSession, row["id"]) is None:
            db.session.add(StaffSession(**row))
    db.session.commit()


def _refusal_problem(response, target: str, secrets: list[str]) -> str | None:
    body = response.get_data(as_text=True)
    leaked = [s for s in secrets if s in body]
    if leaked:
        return f"{response.status_code}, showing {leaked}"
    if response.status_code in (401, 403):
        return None
    if "HX-Redirect" in response.headers:
        location = response.headers["HX-Redirect"]
        if body.strip():
            return f"HX-Redirect to {location} with a body"
    elif response.status_code in (302, 303):
        location = response.headers["Location"]
    else:
        return f"{response.status_code} with no redirect"
    if location.split("?")[0] != target:
        return f"sent to {location}, not {target}"
    return None


def half_signed_in_problems(app, desk, world, monkeypatch, state: str) -> list[str]:
    """Every staff route of the URL map (GET, and POST for POST routes; plain, htmx, and as the
    queue's live region) asked by a session in `state`: each answer that is not a refusal sending
    the browser to the right place with no data, and whether anything changed."""
    make = STATES[state]
    client = app.test_client()
    target = make(app, client, desk, monkeypatch)
    secrets = _secrets(desk)

    def counts():
        db.session.expire_all()
        return [db.session.scalar(select(func.count(m.id))) for m in (Event, ThreadEntry, Ticket, AuditEntry, OutboxMail)]

    before = counts()
    cookies = {name: client.get_cookie(name).value for name in ("session", "remember_token") if client.get_cookie(name)}
    rows = [{c.key: getattr(row, c.key) for c in StaffSession.__table__.columns}
            for row in db.session.scalars(select(StaffSession))]
    problems = []
    for rule in staff_rules(app):
        if state.startswith("password only, two-factor required") and rule.endpoint in ENROLMENT:
            continue
        url = _url(rule, world)
        for method in sorted(rule.methods & {"GET", "POST"}):
            for kind, headers in HEADERS.items():
                if state in REMADE_PER_REQUEST:
                    _put_back(client, cookies, rows)
                response = client.open(url, method=method, headers=headers,
                                       data={"state": "viewing", "body": "forged"} if method == "POST" else None)
                problem = _refusal_problem(response, target, secrets)
                if problem:
                    problems.append(f"{method} {url} ({rule.endpoint}, {kind}): {problem}")
                db.session.rollback()
    monkeypatch.setattr(time, "time", _REAL_TIME)
    if counts() != before:
        problems.append(f"refused requests changed something: {before} -> {counts()}")
    return problems


@pytest.mark.parametrize("state", STATES)
def test_no_staff_route_answers_a_half_signed_in_session(app, desk, world, monkeypatch, state):  # noqa: F811
    rules = staff_rules(app)
    endpoints = {rule.endpoint for rule in rules}
    # The walk covers the whole panel, the live parts that poll on their own included.
    assert len(rules) >= 90 and {"agent.counts", "agent.ticket_live", "agent.presence", "agent.queue",
                                 "admin.settings_page", "account.index"} <= endpoints
    problems = half_signed_in_problems(app, desk, world, monkeypatch, state)
    assert not problems, "\n".join(problems)


def test_the_live_parts_send_a_required_enrolment_to_its_page(app, client, desk, make_ticket):
    """The review's case: the desk requires two-factor sign-in, the agent signed in with a
    password only; the polls that used to answer with whole tickets send the page to enrolment."""
    ticket = make_ticket(subject="Payroll export is broken")
    app.config["HELPDESK_REQUIRE_TOTP"] = True
    sign_in(client, desk.tech, desk)
    htmx = {"HX-Request": "true"}
    for method, url, headers in (
            ("GET", f"/agent/tickets/{ticket.number}/live?since=0&shown=0", {**htmx, "HX-Trigger": "live-poller"}),
            ("GET", "/agent/counts?current=open", htmx),
            ("POST", f"/agent/tickets/{ticket.number}/presence", {**htmx, "HX-Trigger": "presence"}),
            ("GET", "/agent/queue/mine?q=payroll", {**htmx, "HX-Trigger": "results"})):
        response = client.open(url, method=method, headers=headers, data={"state": "viewing"})
        assert response.headers.get("HX-Redirect") == "/account/two-factor", (url, response.status_code)
        assert "Payroll export" not in response.get_data(as_text=True)


# --- sign-out ends the session on the server ------------------------------------------------------


def _copy(app, client, *names):
    """A second browser holding copies of these cookies of `client`."""
    copy = app.test_client()
    for name in names:
        copy.set_cookie(name, client.get_cookie(name).value)
    return copy


def _signed_in(client) -> bool:
    response = client.get("/agent/")
    return response.status_code == 200


def sign_out_problems(app, client, desk) -> list[str]:
    """Copies of the session and remember-me cookies taken before sign-out: they work before
    it, and not after it (alone or together); the agent's other device stays signed in."""
    sign_in(client, desk.tech, desk, remember="y")
    other_device = app.test_client()
    sign_in(other_device, desk.tech, desk, remember="y")
    copies = {"session cookie": ("session",), "remember-me cookie": ("remember_token",),
              "both cookies": ("session", "remember_token")}
    problems = []
    for what, names in copies.items():
        if not _signed_in(_copy(app, client, *names)):
            problems.append(f"a copy of the {what} did not work before sign-out")
    copied = {what: [client.get_cookie(name).value for name in names] for what, names in copies.items()}
    client.post("/logout")
    for what, names in copies.items():
        thief = app.test_client()
        for name, value in zip(names, copied[what]):
            thief.set_cookie(name, value)
        response = thief.get("/agent/")
        if response.status_code != 302 or not response.headers["Location"].startswith("/login"):
            problems.append(f"a copy of the {what} still works after sign-out ({response.status_code})")
    if not _signed_in(other_device):
        problems.append("signing out on one device signed the agent out on the other")
    return problems


def test_sign_out_ends_the_session_on_the_server(app, client, desk):
    assert sign_out_problems(app, client, desk) == []
    # One staff session is left: the other device's.
    assert db.session.scalar(select(func.count(StaffSession.id)).where(StaffSession.agent_id == desk.tech.id)) == 1


def remembered_idle_problems(app, client, desk, monkeypatch) -> list[str]:
    """The remember-me cookie alone (the 8-hour session cookie gone) brings the session back
    within the idle timeout, and not after it: the sign-in page, saying why."""
    sign_in(client, desk.tech, desk, remember="y")
    real = time.time
    problems = []
    monkeypatch.setattr(time, "time", lambda: real() + 20 * 60)
    if not _signed_in(_copy(app, client, "remember_token")):
        problems.append("the remember-me cookie did not bring the session back within the idle timeout")
    monkeypatch.setattr(time, "time", lambda: real() + (20 + 31) * 60)
    browser = _copy(app, client, "remember_token")
    response = browser.get("/agent/queue/closed")
    if response.status_code != 302 or not response.headers["Location"].startswith("/login"):
        problems.append(f"the remember-me cookie signed an idle agent back in ({response.status_code})")
    elif "You were signed out after 30 minutes without activity" not in browser.get(
            response.headers["Location"]).get_data(as_text=True):
        problems.append("the sign-in page does not say why")
    if _signed_in(_copy(app, client, "remember_token")):
        problems.append("the remember-me cookie still works after its session ended")
    monkeypatch.setattr(time, "time", real)
    return problems


def test_a_remembered_session_obeys_the_idle_timeout(app, client, desk, monkeypatch):
    assert remembered_idle_problems(app, client, desk, monkeypatch) == []


def test_a_change_of_password_ends_the_other_sessions_and_their_remember_cookies(app, client, desk):
    """Kept true with per-device sessions: the agent's session token still ends the others."""
    sign_in(client, desk.tech, desk)
    other_device = app.test_client()
    sign_in(other_device, desk.tech, desk, remember="y")
    remembered = _copy(app, other_device, "remember_token")
    response = client.post("/account/password", data={"current": desk.passwords[desk.tech.email],
                                                      "new": "correct horse battery", "confirm": "correct horse battery"})
    assert response.status_code == 302 and _signed_in(client)
    assert not _signed_in(other_device) and not _signed_in(remembered)


def test_sessions_are_stored_as_hashes_with_their_device(app, client, desk):
    """The key the cookies carry is stored only as its SHA-256; the row names the device."""
    sign_in(client, desk.tech, desk, remember="y")
    key = client.get_cookie("remember_token").value.split("|")[0].partition(":")[2]
    row = db.session.scalar(select(StaffSession).where(StaffSession.agent_id == desk.tech.id))
    assert key and row.key_hash != key and len(row.key_hash) == 64
    assert row.ip == "127.0.0.1" and row.user_agent.startswith("Werkzeug")
    assert db.session.get(Agent, desk.tech.id).session_token == row.agent_token


def _session_cookie_set(response) -> bool:
    return any(c.startswith("session=") for c in response.headers.getlist("Set-Cookie"))


def test_a_poll_never_writes_back_the_cookie_it_was_sent(app, client, login, desk):
    """A live region's poll sent before an action and answered after it must not put back the
    session cookie from before the action: the action's message for the next page would be lost."""
    htmx = {"HX-Request": "true"}
    login(desk.manager)
    before = client.get_cookie("session").value
    saved = client.post("/agent/macros", headers=htmx, data={
        "name": "Take it", "owner": "me", "active": "y", "step-0-do": "claim",
        "step-0-text": "", "step-0-canned": "", "step-0-target": ""})
    assert saved.status_code == 200 and saved.headers["HX-Location"] == "/agent/macros"
    poll = app.test_client()
    poll.set_cookie("session", before)
    answer = poll.get("/agent/counts", headers=htmx)
    assert answer.status_code == 200 and "HX-Redirect" not in answer.headers
    assert not _session_cookie_set(answer)
    assert "The macro “Take it” was saved." in client.get("/agent/macros").get_data(as_text=True)
    # What the agent does still renews it (the cookie lives on from the last activity).
    assert _session_cookie_set(client.get("/agent/"))
