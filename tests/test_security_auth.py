"""Sign-in and sessions: throttling and lockout (memory and Redis storage), session renewal,
idle timeout, cookies, password change and reset, two-factor codes.

The checks are functions returning what they found wrong, so that
test_security_variants_access.py can show each of them failing on a vulnerable variant."""
from __future__ import annotations

import os
import re
import secrets
import socket
import time

import pyotp
import pytest
from sqlalchemy import select

from helpdesk import create_app
from helpdesk.extensions import db
from helpdesk.models import Agent, OutboxMail
from helpdesk.security import limits
from support.pages import without_tokens

WRONG = "Wrong email or password, or the account is disabled."


@pytest.fixture
def limited_app(app_config, app):
    """The app with rate limits and lockout on (the other tests run with them off)."""
    limited = create_app({**app_config, "RATELIMIT_ENABLED": True,
                          "RATELIMIT_KEY_PREFIX": f"test-{secrets.token_hex(4)}"})
    with limited.app_context():
        yield limited
        db.session.remove()
        db.engine.dispose()


def sign_in(client, email, password, **extra):
    return client.post("/login", data={"email": email, "password": password, **extra})


# --- lockout and rate limits --------------------------------------------------------------------


def lockout_problems(limited_app, desk, monkeypatch) -> list[str]:
    """Four wrong passwords lock the account for two minutes, from any address, and no other."""
    client = limited_app.test_client()
    email, password = desk.tech.email, desk.passwords[desk.tech.email]
    problems = []
    for _ in range(3):
        response = sign_in(client, email, "wrong-password")
        if response.status_code != 401 or WRONG not in response.get_data(as_text=True):
            problems.append(f"a wrong password got {response.status_code}")
    response = sign_in(client, email, "wrong-password")
    if (response.status_code != 429 or "Too many failed sign-ins for this account. Try again in 2 minutes"
            not in response.get_data(as_text=True)):
        problems.append(f"the 4th wrong password got {response.status_code}, not the lockout")
    # Locked: even the right password is refused, from any address.
    if sign_in(client, email, password).status_code != 429:
        problems.append("the right password worked on a locked account")
    other_ip = limited_app.test_client()
    if other_ip.post("/login", data={"email": email.upper(), "password": password},
                     environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code != 429:
        problems.append("a locked account signed in from another address")
    # Other accounts are not affected.
    if sign_in(client, desk.manager.email, desk.passwords[desk.manager.email]).status_code != 302:
        problems.append("another account was locked too")
    # Two minutes later the lock is gone.
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 121)
    if limits.lockout_remaining(email) != 0:
        problems.append("the lock outlived two minutes")
    monkeypatch.setattr(time, "time", real)
    return problems


def test_four_failures_lock_the_account_for_two_minutes(limited_app, desk, monkeypatch):
    assert lockout_problems(limited_app, desk, monkeypatch) == []


def sign_in_costs(limited_app, desk, monkeypatch) -> dict[str, tuple[int, int, int]]:
    """Each way a sign-in can go, and what it cost: (status, password hashes computed, SQL
    statements run). Counted, not timed, so a busy machine cannot make the check flaky."""
    from sqlalchemy import event

    from helpdesk import models
    from helpdesk.auth import routes as auth

    hashes = []
    for module in (auth, models.people):  # the desk checks hashes in both places
        real = module.check_password_hash

        def counted(stored, password, real=real):
            hashes.append(1)
            return real(stored, password)

        monkeypatch.setattr(module, "check_password_hash", counted)
    statements = []

    def count(*args):
        statements.append(1)

    client = limited_app.test_client()
    disabled = db.session.get(Agent, desk.vendor.id)
    disabled.active = False
    db.session.commit()
    for _ in range(limited_app.config["HELPDESK_LOGIN_ATTEMPTS"]):
        limits.record_failure(desk.manager.email)  # the manager's account is locked
    paths = {
        "unknown address": ("nobody@example.com", "x" * 10),
        "deactivated agent, wrong password": (desk.vendor.email, "x" * 10),
        "deactivated agent, right password": (desk.vendor.email, desk.passwords[desk.vendor.email]),
        "wrong password": (desk.tech.email, "x" * 10),
        "locked account, right password": (desk.manager.email, desk.passwords[desk.manager.email]),
        "right password": (desk.tech.email, desk.passwords[desk.tech.email]),
    }
    costs = {}
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        for i, (path, (email, password)) in enumerate(paths.items()):
            db.session.expire_all()
            hashes.clear()
            statements.clear()
            status = client.post("/login", data={"email": email, "password": password},
                                 environ_base={"REMOTE_ADDR": f"10.7.0.{i + 1}"}).status_code
            costs[path] = (status, len(hashes), len(statements))
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return costs


def sign_in_cost_problems(limited_app, desk, monkeypatch) -> list[str]:
    """Every sign-in computes exactly one password hash and runs the same queries, whatever the
    address, the agent's state, the lock or the password: the time taken tells nothing."""
    costs = sign_in_costs(limited_app, desk, monkeypatch)
    problems = [f"{path}: {hashes} password hashes" for path, (_, hashes, _) in costs.items() if hashes != 1]
    refused = {path: sql for path, (status, _, sql) in costs.items() if status != 302}
    if len(set(refused.values())) != 1:
        problems.append(f"refused sign-ins ran different numbers of queries: {refused}")
    statuses = [status for status, _, _ in costs.values()]
    if statuses != [401, 401, 401, 401, 429, 302]:
        problems.append(f"the sign-ins were answered {statuses}")
    return problems


def test_every_sign_in_costs_the_same(limited_app, desk, monkeypatch):
    assert sign_in_cost_problems(limited_app, desk, monkeypatch) == []


def unknown_address_answers(limited_app, desk) -> tuple[list[int], list[int]]:
    """Five wrong sign-ins for an unknown address and five for a known one: the statuses."""
    client = limited_app.test_client()
    answers = [sign_in(client, "nobody@example.com", "x" * 10).status_code for _ in range(5)]
    known = [sign_in(client, desk.vendor.email, "x" * 10).status_code for _ in range(5)]
    return answers, known


def test_unknown_address_locks_the_same_way(limited_app, desk):
    """No difference between known and unknown addresses (no account enumeration)."""
    answers, known = unknown_address_answers(limited_app, desk)
    assert answers == known == [401, 401, 401, 429, 429]


def test_success_clears_the_failure_count(limited_app, desk):
    client = limited_app.test_client()
    email, password = desk.tech.email, desk.passwords[desk.tech.email]
    for _ in range(3):
        sign_in(client, email, "nope-nope")
    assert sign_in(client, email, password).status_code == 302
    client.post("/logout")
    for _ in range(3):
        assert sign_in(client, email, "nope-nope").status_code == 401


def ip_throttle_problems(limited_app, desk) -> list[str]:
    """Ten failed sign-ins (for ten accounts) from one address: the 11th request is throttled."""
    client = limited_app.test_client()
    codes = [sign_in(client, f"user{i}@example.com", "x" * 10).status_code for i in range(11)]
    if codes != [401] * 10 + [429]:
        return [f"eleven failed sign-ins from one address got {codes}"]
    response = sign_in(client, desk.tech.email, desk.passwords[desk.tech.email])
    page = response.get_data(as_text=True)
    if response.status_code != 429 or "Slow down" not in page or "Too many attempts from your address" not in page:
        return [f"a sign-in from a throttled address got {response.status_code}"]
    if "Traceback" in page or int(response.headers["Retry-After"]) <= 0:
        return ["the throttled page is not the friendly one"]
    return []


def test_login_is_throttled_per_ip_with_a_friendly_page(limited_app, desk):
    assert ip_throttle_problems(limited_app, desk) == []
    # Another address is not throttled.
    other = limited_app.test_client()
    response = other.post("/login", data={"email": desk.tech.email, "password": desk.passwords[desk.tech.email]},
                          environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert response.status_code == 302


@pytest.mark.parametrize("url, data, allowed", [
    ("/status", {"number": "ABCDEF", "email": "ken@example.net"}, 5),
    ("/login/forgot", {"email": "who@example.net"}, 3),
])
def test_public_forms_are_throttled(limited_app, desk, url, data, allowed):
    client = limited_app.test_client()
    codes = [client.post(url, data=data).status_code for _ in range(allowed + 1)]
    assert all(code in (200, 302) for code in codes[:allowed]) and codes[allowed] == 429
    # htmx gets the message as a flash in place of the form.
    response = client.post(url, data=data, headers={"HX-Request": "true"})
    assert response.status_code == 429 and "Too many attempts" in response.get_data(as_text=True)


def new_ticket_codes(client, desk, emails, ips=None) -> list[int]:
    """The answers to one new-ticket form per address, each sent from its IP (default: one IP)."""
    topic = desk.topics["General inquiry"].id
    codes = []
    for i, email in enumerate(emails):
        environ = {"REMOTE_ADDR": ips[i]} if ips else {}
        codes.append(client.post("/new", environ_base=environ, data={
            "name": "Ken", "email": email, "topic": topic, "subject": "Hi", "description": "x",
            "idempotency_key": secrets.token_urlsafe(20)}).status_code)
    return codes


def check_new_ticket_throttled_per_ip(limited_app, desk) -> None:
    """One IP: five new tickets a minute, whatever addresses it uses."""
    codes = new_ticket_codes(limited_app.test_client(), desk, [f"k{i}@example.net" for i in range(6)])
    assert codes == [302] * 5 + [429], codes


def check_new_ticket_throttled_per_address(limited_app, desk) -> None:
    """One address: ten new tickets an hour, from however many IPs (the open-ticket cap off)."""
    limited_app.config["HELPDESK_MAX_OPEN_TICKETS"] = 0
    codes = new_ticket_codes(limited_app.test_client(), desk, ["Ken@example.net"] * 11,
                             ips=[f"10.0.0.{i + 1}" for i in range(11)])
    assert codes == [302] * 10 + [429], codes


def test_captcha_challenges_are_throttled_per_ip(limited_app, desk):
    """HELPDESK_CAPTCHA=1: ten challenges a minute from one IP (a few per form a person sends)."""
    limited_app.config["HELPDESK_CAPTCHA"] = True
    client = limited_app.test_client()
    codes = [client.get("/captcha/challenge").status_code for _ in range(11)]
    assert codes == [200] * 10 + [429], codes
    assert client.get("/captcha/challenge", environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 200


def test_new_ticket_and_reply_are_throttled_per_ip(limited_app, desk, make_ticket):
    check_new_ticket_throttled_per_ip(limited_app, desk)
    client = limited_app.test_client()
    from helpdesk.security import access_token

    link = f"/t/{access_token(make_ticket())}/reply"
    codes = [client.post(link, data={"body": f"message {i}"}).status_code for i in range(11)]
    assert codes == [302] * 10 + [429]


def test_new_ticket_is_throttled_per_address(limited_app, desk):
    check_new_ticket_throttled_per_address(limited_app, desk)


REDIS_URL = os.environ.get("HELPDESK_TEST_REDIS", "redis://127.0.0.1:6379/15")


def _redis_url() -> str | None:
    from urllib.parse import urlsplit

    parts = urlsplit(REDIS_URL)
    try:
        with socket.create_connection((parts.hostname, parts.port or 6379), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            if sock.recv(16).startswith(b"+PONG"):
                return REDIS_URL
    except OSError:
        pass
    return None


def test_two_app_instances_share_counts_through_redis(app_config, app, desk):
    """As two gunicorn workers would: failures in one count in the other."""
    url = _redis_url()
    if url is None:
        pytest.skip(f"no Redis answers at {REDIS_URL} (apt-get install redis-server; .ci/run starts one)")
    config = {**app_config, "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": url,
              "RATELIMIT_KEY_PREFIX": f"test-{secrets.token_hex(6)}"}
    worker1, worker2 = create_app(config), create_app(config)
    assert worker1.extensions["helpdesk_limiter"] is not worker2.extensions["helpdesk_limiter"]
    c1, c2 = worker1.test_client(), worker2.test_client()
    email = desk.tech.email
    assert sign_in(c1, email, "wrong-one").status_code == 401
    assert sign_in(c2, email, "wrong-two").status_code == 401
    assert sign_in(c1, email, "wrong-three").status_code == 401
    assert sign_in(c2, email, "wrong-four").status_code == 429  # the 4th failure, counted across both
    assert sign_in(c1, email, desk.passwords[email]).status_code == 429
    # The per-IP limit is shared too: 10 failures spread over both workers.
    codes = [sign_in(c, f"x{i}@example.com", "x" * 10).status_code for i, c in enumerate([c1, c2] * 3)]
    assert codes.count(429) >= 1
    for a in (worker1, worker2):
        with a.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_captcha_solution_is_spent_in_every_worker_through_redis(app_config, app, desk):
    """HELPDESK_CAPTCHA=1 with two workers: a solution sent to one is refused by the other."""
    from test_security_portal import new_ticket, solve

    url = _redis_url()
    if url is None:
        pytest.skip(f"no Redis answers at {REDIS_URL} (apt-get install redis-server; .ci/run starts one)")
    config = {**app_config, "RATELIMIT_STORAGE_URI": url, "RATELIMIT_KEY_PREFIX": f"test-{secrets.token_hex(6)}",
              "HELPDESK_CAPTCHA": True}
    worker1, worker2 = create_app(config), create_app(config)
    c1, c2 = worker1.test_client(), worker2.test_client()
    payload = solve(c1)
    assert new_ticket(c1, desk, altcha=payload).status_code == 302
    replay = new_ticket(c2, desk, altcha=payload, subject="Replayed")
    assert replay.status_code == 400 and "failed or has expired" in replay.get_data(as_text=True)
    for a in (worker1, worker2):
        with a.app_context():
            db.session.remove()
            db.engine.dispose()


def test_memory_storage_is_per_instance(app_config, app, desk):
    """The default storage counts inside one process: documented as single-worker only."""
    config = {**app_config, "RATELIMIT_ENABLED": True}
    c1, c2 = create_app(config).test_client(), create_app(config).test_client()
    for _ in range(3):
        sign_in(c1, desk.tech.email, "wrong-one")
    assert sign_in(c2, desk.tech.email, "wrong-one").status_code == 401


def test_open_ticket_cap_per_address(client, desk, make_ticket, app):
    check_open_ticket_cap(client, desk, make_ticket, app)


def check_open_ticket_cap(client, desk, make_ticket, app) -> None:
    app.config["HELPDESK_MAX_OPEN_TICKETS"] = 2
    make_ticket(email="ken@example.net")
    make_ticket(email="ken@example.net")
    response = client.post("/new", data={
        "name": "Ken", "email": "KEN@example.net", "topic": desk.topics["General inquiry"].id,
        "subject": "Third", "description": "x", "idempotency_key": "c" * 20})
    assert response.status_code == 429
    assert "You already have 2 open requests with us" in response.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count()).select_from(OutboxMail).where(
        OutboxMail.subject.contains("Third"))) == 0
    # Someone else is not affected.
    response = client.post("/new", data={
        "name": "Amy", "email": "amy@example.net", "topic": desk.topics["General inquiry"].id,
        "subject": "Mine", "description": "x", "idempotency_key": "d" * 20})
    assert response.status_code == 302


@pytest.mark.parametrize("known", [False, True], ids=["new address", "known customer"])
def test_open_ticket_cap_holds_for_forms_sent_at_once(client, desk, make_ticket, app, known):
    assert open_ticket_cap_race_problems(desk, make_ticket, app, known) == []


def open_ticket_cap_race_problems(desk, make_ticket, app, known: bool, forms: int = 6) -> list[str]:
    """Six forms for one address sent at the same moment, with HELPDESK_MAX_OPEN_TICKETS=2:
    exactly two tickets are open afterwards, and every other form got the cap's 429."""
    from helpdesk.models import Customer, Ticket
    from support.db import at_once

    app.config["HELPDESK_MAX_OPEN_TICKETS"] = 2
    if known:
        make_ticket(email="ken@example.net")
    topic = desk.topics["General inquiry"].id

    def send():
        response = app.test_client().post("/new", data={
            "name": "Ken", "email": "ken@example.net", "topic": topic, "subject": "At once",
            "description": "x", "idempotency_key": secrets.token_urlsafe(20)})
        return response.status_code, response.get_data(as_text=True)

    results, errors = at_once(app, send, forms)
    problems = [f"a form failed: {e!r}" for e in errors]
    db.session.expire_all()
    opened = db.session.scalar(select(db.func.count()).select_from(Ticket).join(Customer)
                               .where(Customer.email == "ken@example.net"))
    if opened != 2:
        problems.append(f"{opened} tickets open for one address, the cap is 2")
    statuses = sorted(status for status, _ in results)
    expected = sorted([302] * (2 - known) + [429] * (forms - 2 + known))
    if statuses != expected:
        problems.append(f"the forms answered {statuses}, not {expected}")
    if not all("You already have 2 open requests with us" in body for status, body in results if status == 429):
        problems.append("a refused form did not say why")
    return problems


# --- sessions -----------------------------------------------------------------------------------


def _session_cookie(client) -> str | None:
    cookie = client.get_cookie("session")
    return cookie.value if cookie else None


def session_renewal_problems(client, desk) -> list[str]:
    """Something planted in the browser's session before sign-in is gone after it (no fixation)."""
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
    sign_in(client, desk.tech.email, desk.passwords[desk.tech.email])
    with client.session_transaction() as sess:
        if not sess.get("_user_id", "").startswith(f"{desk.tech.id}:"):
            return ["the sign-in did not work"]
        return ["the session from before the sign-in was kept"] if "planted" in sess else []


def test_session_is_renewed_at_sign_in(client, desk):
    assert session_renewal_problems(client, desk) == []


def role_change_problems(client, desk, login) -> list[str]:
    """A manager made an agent is signed out (privilege change); the same role set again is no change."""
    login(desk.manager)
    assert client.get("/admin/").status_code == 200
    desk.manager.role = "agent"
    db.session.commit()
    problems = []
    response = client.get("/admin/")
    if response.status_code != 302 or not response.headers["Location"].startswith("/login"):
        problems.append(f"the session survived a role change: {response.status_code}")
    # Setting the same role again changes nothing.
    login(desk.tech)
    desk.tech.role = "agent"
    db.session.commit()
    if client.get("/agent/").status_code != 200:
        problems.append("setting the same role signed the agent out")
    return problems


def test_role_change_ends_the_session(client, desk, login):
    assert role_change_problems(client, desk, login) == []


def test_sign_out_forgets_the_remember_me_cookie(client, desk):
    sign_in(client, desk.tech.email, desk.passwords[desk.tech.email], remember="y")
    assert client.get_cookie("remember_token") is not None
    client.post("/logout")
    assert client.get_cookie("remember_token") is None
    assert client.get("/agent/").status_code == 302


def idle_timeout_problems(client, desk, login, monkeypatch) -> list[str]:
    """30 minutes without activity end the session, with a message; htmx is sent to sign in."""
    login(desk.tech)
    assert client.get("/agent/").status_code == 200
    real = time.time
    problems = []
    # Polling the counts is not activity: it neither keeps the session alive nor ends it early.
    monkeypatch.setattr(time, "time", lambda: real() + 29 * 60)
    if client.get("/agent/counts", headers={"HX-Request": "true"}).status_code != 200:
        problems.append("the session ended before 30 minutes")
    monkeypatch.setattr(time, "time", lambda: real() + 31 * 60)
    response = client.get("/agent/queue/closed")
    if response.status_code != 302 or response.headers["Location"] != "/login?next=/agent/queue/closed":
        problems.append(f"after 31 idle minutes a page got {response.status_code}")
    else:
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        if "You were signed out after 30 minutes without activity" not in page:
            problems.append("no message says why the session ended")
    if client.get("/agent/").status_code != 302:
        problems.append("the idle session still works")
    # htmx requests are sent to the sign-in page as a whole.
    login(desk.tech)
    monkeypatch.setattr(time, "time", lambda: real() + 70 * 60)
    response = client.get("/agent/", headers={"HX-Request": "true"})
    if not response.headers.get("HX-Redirect", "").startswith("/login"):
        problems.append("an idle htmx request was not sent to sign in")
    monkeypatch.setattr(time, "time", real)
    return problems


def test_idle_session_ends(client, desk, login, monkeypatch, app):
    assert idle_timeout_problems(client, desk, login, monkeypatch) == []


LIVE_POLLS = {
    "queue counts": ("GET", "/agent/counts?current=open", {}, {}),
    "queue results": ("GET", "/agent/queue/mine", {}, {"HX-Trigger": "results"}),
    "ticket live": ("GET", "/agent/tickets/{number}/live?since=1&shown=1", {}, {"HX-Trigger": "live-poller"}),
    "presence": ("POST", "/agent/tickets/{number}/presence", {"state": "viewing"}, {"HX-Trigger": "presence"}),
}


def polling_problems(client, desk, login, make_ticket, monkeypatch, poll) -> list[str]:
    """A live part polling every ten minutes does not keep an idle session alive past 30 minutes."""
    ticket = make_ticket()
    method, url, data, headers = LIVE_POLLS[poll]
    url = url.format(number=ticket.number)
    login(desk.tech)
    real = time.time
    problems = []
    for minutes in (10, 20, 29):
        monkeypatch.setattr(time, "time", lambda m=minutes: real() + m * 60)
        response = client.open(url, method=method, data=data, headers={"HX-Request": "true", **headers})
        if response.status_code not in (200, 204, 304) or "HX-Redirect" in response.headers:
            problems.append(f"{poll} after {minutes} minutes: {response.status_code}")
    monkeypatch.setattr(time, "time", lambda: real() + 31 * 60)
    response = client.open(url, method=method, data=data, headers={"HX-Request": "true", **headers})
    if not response.headers.get("HX-Redirect", "").startswith("/login"):
        problems.append(f"{poll} kept the session alive")
    if client.get("/agent/").status_code != 302:
        problems.append(f"the session polled by {poll} still works after 31 idle minutes")
    monkeypatch.setattr(time, "time", real)
    return problems


@pytest.mark.parametrize("poll", LIVE_POLLS)
def test_live_polling_is_not_activity(client, desk, login, make_ticket, monkeypatch, poll):
    """The panel's live parts poll on their own: an open page does not keep an idle session alive."""
    assert polling_problems(client, desk, login, make_ticket, monkeypatch, poll) == []


def test_searching_a_queue_is_activity(client, desk, login, monkeypatch):
    """The same endpoint as the results' poll, asked by the search form: that is the person."""
    login(desk.tech)
    real = time.time
    for minutes in (20, 40, 60):
        monkeypatch.setattr(time, "time", lambda m=minutes: real() + m * 60)
        response = client.get("/agent/queue/mine?q=printer", headers={"HX-Request": "true", "HX-Trigger": "queue-filters"})
        assert response.status_code == 200 and "HX-Redirect" not in response.headers
    assert client.get("/agent/").status_code == 200


def test_activity_keeps_the_session(client, desk, login, monkeypatch):
    login(desk.tech)
    real = time.time
    for minutes in (20, 40, 60):
        monkeypatch.setattr(time, "time", lambda m=minutes: real() + m * 60)
        assert client.get("/agent/").status_code == 200


def cookie_problems(app_config, desk, monkeypatch, **override) -> list[str]:
    """The session and remember-me cookies: HttpOnly and SameSite=Lax always; Secure when the desk
    is served over HTTPS (HELPDESK_BASE_URL in the environment, as in production), not otherwise."""
    problems = []
    for base_url, secure in (("http://desk.test", False), ("https://desk.example.com", True)):
        monkeypatch.setenv("HELPDESK_BASE_URL", base_url)
        config = {k: v for k, v in app_config.items() if k != "HELPDESK_BASE_URL"}
        instance = create_app({**config, **override})
        response = sign_in(instance.test_client(), desk.tech.email, desk.passwords[desk.tech.email], remember="y")
        cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
        for name in ("session", "remember_token"):
            cookie = cookies.get(name, "")
            flags = {part.strip() for part in cookie.split(";")}
            for flag in ("HttpOnly", "SameSite=Lax"):
                if flag not in flags:
                    problems.append(f"{name} cookie at {base_url} without {flag}")
            if ("Secure" in flags) != secure:
                problems.append(f"{name} cookie at {base_url} {'without' if secure else 'with'} Secure")
        with instance.app_context():
            db.engine.dispose()
    monkeypatch.delenv("HELPDESK_BASE_URL", raising=False)
    return problems


def test_cookies_are_httponly_samesite_and_secure_behind_https(app_config, app, desk, monkeypatch):
    assert cookie_problems(app_config, desk, monkeypatch) == []


def test_proxy_fix_trusts_forwarded_headers_only_when_configured(app_config, app, desk):
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
    seen = {}

    def whoami():
        from flask import request

        seen["ip"], seen["secure"] = request.remote_addr, request.is_secure
        return "ok"

    for proxies, ip, secure in ((0, "127.0.0.1", False), (1, "203.0.113.7", True)):
        instance = create_app({**app_config, "HELPDESK_PROXY_FIX": proxies})
        instance.add_url_rule("/_whoami", "whoami", whoami)
        response = instance.test_client().get("/_whoami", headers=headers)
        assert seen == {"ip": ip, "secure": secure}
        assert ("Strict-Transport-Security" in response.headers) is secure


# --- password change ------------------------------------------------------------------------------


def change(client, current, new, confirm=None):
    return client.post("/account/password", data={"current": current, "new": new, "confirm": confirm or new})


PASSWORD_REFUSALS = [
    ("wrong-current", "a-new-password", None, "That is not your current password."),
    ("demo-tech-1", "short", None, "A password has 8 to 128 characters."),
    ("demo-tech-1", "x" * 129, None, "A password has 8 to 128 characters."),
    ("demo-tech-1", "a-new-password", "another-one", "The two new passwords differ."),
    ("", "a-new-password", None, "Enter your current password."),
]


def password_change_problems(client, desk, login, current, new, confirm, message) -> list[str]:
    """A password change that must be refused (400, with its message) and leave the password as it was."""
    login(desk.tech)
    response = change(client, current, new, confirm)
    problems = []
    if response.status_code != 400 or message not in response.get_data(as_text=True):
        problems.append(f"{message!r} case got {response.status_code}")
    db.session.expire_all()
    stored = db.session.get(Agent, desk.tech.id).password_hash
    from werkzeug.security import check_password_hash

    if not check_password_hash(stored, "demo-tech-1"):
        problems.append(f"{message!r} case changed the password")
    return problems


@pytest.mark.parametrize("current, new, confirm, message", PASSWORD_REFUSALS)
def test_password_change_refusals(client, desk, login, current, new, confirm, message):
    assert password_change_problems(client, desk, login, current, new, confirm, message) == []


def test_password_change_renews_the_session_and_ends_the_others(app, desk, login, client):
    login(desk.tech)
    other_device = app.test_client()
    sign_in(other_device, desk.tech.email, desk.passwords[desk.tech.email])
    assert other_device.get("/agent/").status_code == 200
    old_cookie = _session_cookie(client)
    response = change(client, "demo-tech-1", "correct horse battery")
    assert response.status_code == 302
    assert "Your password was changed" in client.get("/account").get_data(as_text=True)
    assert _session_cookie(client) != old_cookie
    assert client.get("/agent/").status_code == 200
    assert other_device.get("/agent/").status_code == 302
    client.post("/logout")
    assert sign_in(client, desk.tech.email, "correct horse battery").status_code == 302


def test_guessing_the_current_password_is_throttled(limited_app, desk):
    """A signed-in session (a laptop left open) cannot be used to guess the password: the forms
    that ask for it refuse after ten wrong tries a minute, per agent."""
    client = limited_app.test_client()
    assert sign_in(client, desk.tech.email, desk.passwords[desk.tech.email]).status_code == 302
    for n in range(10):
        assert change(client, f"wrong-guess-{n}", "a-new-password").status_code == 400
    refused = change(client, desk.passwords[desk.tech.email], "a-new-password")
    assert refused.status_code == 429
    assert "Too many wrong passwords" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Agent, desk.tech.id).check_password(desk.passwords[desk.tech.email])
    # Another agent is not held up.
    other = limited_app.test_client()
    assert sign_in(other, desk.manager.email, desk.passwords[desk.manager.email]).status_code == 302
    assert change(other, "wrong-guess", "a-new-password").status_code == 400


def overlong_sign_in_problems(client, desk) -> list[str]:
    """A 100,000-character password at sign-in is refused as too long, before any hashing."""
    started = time.perf_counter()
    response = sign_in(client, desk.tech.email, "x" * 100_000)
    problems = [] if response.status_code == 400 else [f"an overlong password got {response.status_code}"]
    if time.perf_counter() - started >= 1:
        problems.append("an overlong password took a second or more")
    return problems


def test_overlong_password_at_sign_in_is_refused_quickly(client, desk):
    assert overlong_sign_in_problems(client, desk) == []


# --- password reset -----------------------------------------------------------------------------


def _reset_link(inbox, address) -> str:
    mails = inbox.deliver().to(address)
    assert mails, "no reset mail"
    return re.search(r"http://desk\.test(/login/reset/\S+)", inbox.text(mails[-1])).group(1)


def test_reset_mail_names_the_desk_as_the_admin_set_it(client, desk, inbox):
    from helpdesk.models import Setting

    db.session.add(Setting(key="desk_name", value="Acme Support"))
    db.session.commit()
    client.post("/login/forgot", data={"email": desk.tech.email})
    mail = inbox.deliver().to(desk.tech.email)[-1]
    assert mail["Subject"] == "Choose a new password for Acme Support"
    assert "Acme Support" in inbox.text(mail)


def reset_answer_problems(client, desk, inbox) -> list[str]:
    """'Forgot password' answers the same for a known and an unknown address (no enumeration);
    only the known one gets a mail."""
    pages, codes = [], []
    for email in (desk.tech.email, "nobody@example.com", desk.tech.email.upper()):
        response = client.post("/login/forgot", data={"email": email}, follow_redirects=True)
        codes.append(response.status_code)
        pages.append(without_tokens(response.get_data(as_text=True)))
    problems = []
    if codes != [200] * 3 or not pages[0] == pages[1] == pages[2]:
        problems.append(f"known and unknown addresses get different answers ({codes})")
    if "If that address belongs to an active agent account" not in pages[1]:
        problems.append("the answer is not the generic one")
    inbox.deliver()
    if len(inbox.to(desk.tech.email)) != 2 or inbox.to("nobody@example.com"):
        problems.append("the reset mails did not go to the known address only")
    return problems


def test_reset_answers_the_same_for_any_address(client, desk, inbox):
    assert reset_answer_problems(client, desk, inbox) == []


def reset_request_work(client, email) -> tuple[int, str | None, list[str]]:
    """What "Forgot your password?" does for an address: the answer, and the SQL it ran (the
    statements' text; the values differ)."""
    from sqlalchemy import event

    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        response = client.post("/login/forgot", data={"email": email})
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return response.status_code, response.headers.get("Location"), statements


def reset_request_problems(client, desk, inbox) -> list[str]:
    """The form does the same work for an agent's address, a deactivated agent's and an unknown
    one (the same answer, the same queries, the same rows, no mail queued while the visitor
    waits); the outbox sender then mails the link to the active agent only."""
    from helpdesk.models import PasswordResetRequest

    disabled = db.session.get(Agent, desk.vendor.id)
    disabled.active = False
    db.session.commit()
    addresses = [desk.tech.email, "nobody@example.com", desk.vendor.email]
    work = {email: reset_request_work(client, email) for email in addresses}
    problems = []
    if len({(status, location) for status, location, _ in work.values()}) != 1:
        problems.append(f"the answers differ: {[(s, loc) for s, loc, _ in work.values()]}")
    if len({tuple(statements) for _, _, statements in work.values()}) != 1:
        problems.append("the queries differ: " + "; ".join(
            f"{email}: {len(statements)}" for email, (_, _, statements) in work.items()))
    db.session.expire_all()
    queued = db.session.scalar(select(db.func.count()).select_from(OutboxMail))
    recorded = db.session.scalars(select(PasswordResetRequest.email).order_by(PasswordResetRequest.id)).all()
    if queued or recorded != addresses:
        problems.append(f"the rows written differ: {queued} mails queued, requests recorded for {recorded}")
    if inbox.messages:
        problems.append("a mail went out before the sender ran")
    inbox.deliver()
    if len(inbox.to(desk.tech.email)) != 1 or inbox.to("nobody@example.com") or inbox.to(desk.vendor.email):
        problems.append("the sender did not mail the active agent only")
    elif "/login/reset/" not in inbox.text(inbox.to(desk.tech.email)[0]):
        problems.append("the mail has no reset link")
    if db.session.scalar(select(db.func.count()).select_from(PasswordResetRequest)):
        problems.append("the sender left requests behind")
    return problems


def test_reset_requests_cost_the_same_for_any_address(client, desk, inbox):
    assert reset_request_problems(client, desk, inbox) == []


def reset_link_problems(client, desk, inbox, app) -> list[str]:
    """A mailed reset link sets a new password once, ends the agent's other sessions, then dies."""
    other_device = app.test_client()
    sign_in(other_device, desk.tech.email, desk.passwords[desk.tech.email])
    client.post("/login/forgot", data={"email": desk.tech.email})
    link = _reset_link(inbox, desk.tech.email)
    assert client.get(link).status_code == 200
    problems = []
    if client.post(link, data={"new": "short", "confirm": "short"}).status_code != 400:
        problems.append("a too-short new password was taken")
    response = client.post(link, data={"new": "brand new secret", "confirm": "brand new secret"})
    if response.status_code != 302 or sign_in(client, desk.tech.email, "brand new secret").status_code != 302:
        return problems + ["the link did not set the new password"]
    if other_device.get("/agent/").status_code != 302:
        problems.append("the agent's other sessions survived the reset")
    # The link died with the password it was made for.
    response = client.get(link)
    if response.status_code != 404 or "This link no longer works" not in response.get_data(as_text=True):
        problems.append(f"the used link opened again: {response.status_code}")
    if client.post(link, data={"new": "another secret", "confirm": "another secret"}).status_code != 404:
        problems.append("the used link set a password again")
    return problems


def test_reset_link_sets_a_new_password_once(client, desk, inbox, app):
    assert reset_link_problems(client, desk, inbox, app) == []


def reset_rename_problems(client, desk, inbox, app) -> list[str]:
    """A reset link mailed to an agent's old address dies when an admin changes the address in
    Admin → Agents: whoever still reads the old mailbox cannot take the renamed account over."""
    password = desk.passwords[desk.tech.email]
    client.post("/login/forgot", data={"email": desk.tech.email})
    link = _reset_link(inbox, desk.tech.email)
    admin = app.test_client()
    sign_in(admin, desk.admin.email, desk.passwords[desk.admin.email])
    tech = db.session.get(Agent, desk.tech.id)
    form = {"name": tech.name, "email": "tech.new@example.com", "role": tech.role, "active": "y",
            "departments": [str(d.id) for d in tech.departments], "teams": [str(t.id) for t in tech.teams]}
    response = admin.post(f"/admin/agents/{tech.id}", data=form)
    if response.status_code != 302:
        return [f"the admin's change of the address got {response.status_code}"]
    problems = []
    response = client.get(link)
    if response.status_code != 404 or "This link no longer works" not in response.get_data(as_text=True):
        problems.append(f"the old address's link opened after the change: {response.status_code}")
    response = client.post(link, data={"new": "taken over now", "confirm": "taken over now"})
    if response.status_code != 404:
        problems.append(f"the old address's link set a password: {response.status_code}")
    db.session.expire_all()
    agent = db.session.get(Agent, desk.tech.id)
    if agent.email != "tech.new@example.com":
        problems.append("the address was not changed")
    if not agent.check_password(password) or agent.check_password("taken over now"):
        problems.append("the password was changed through the old link")
    return problems


def test_reset_link_dies_when_an_admin_changes_the_address(client, desk, inbox, app):
    assert reset_rename_problems(client, desk, inbox, app) == []


def reset_expiry_problems(client, desk, inbox, monkeypatch) -> list[str]:
    """A reset link works within the hour and not after it."""
    client.post("/login/forgot", data={"email": desk.tech.email})
    link = _reset_link(inbox, desk.tech.email)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 3500)
    problems = [] if client.get(link).status_code == 200 else ["the link did not work within the hour"]
    monkeypatch.setattr(time, "time", lambda: real() + 3601)
    if client.get(link).status_code != 404:
        problems.append("the link still worked after an hour")
    monkeypatch.setattr(time, "time", real)
    return problems


def test_reset_link_expires_after_an_hour(client, desk, inbox, monkeypatch):
    assert reset_expiry_problems(client, desk, inbox, monkeypatch) == []


def test_reset_is_not_mailed_to_disabled_agents(client, desk, inbox):
    desk.vendor.active = False
    db.session.commit()
    client.post("/login/forgot", data={"email": desk.vendor.email})
    assert not inbox.deliver().to(desk.vendor.email)


def test_tampered_reset_token_is_refused(client, desk):
    from helpdesk.security.tokens import reset_token

    token = reset_token(desk.tech)
    assert client.get(f"/login/reset/{token[:-2]}xx").status_code == 404
    assert client.get("/login/reset/not-a-token").status_code == 404


# --- two-factor sign-in ---------------------------------------------------------------------------


def _enrol(client) -> str:
    assert client.post("/account/two-factor/start").status_code == 302
    page = client.get("/account/two-factor").get_data(as_text=True)
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    qr = client.get("/account/two-factor/qr.svg")
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml" and b"<svg" in qr.data
    assert "<img" in page and "/account/two-factor/qr.svg" in page
    return secret


def test_enrolment_needs_a_right_code(client, desk, login):
    login(desk.tech)
    secret = _enrol(client)
    response = client.post("/account/two-factor", data={"code": "000000"})
    assert response.status_code == 400 and "That code is not right" in response.get_data(as_text=True)
    db.session.refresh(desk.tech)
    assert desk.tech.totp_secret is None
    response = client.post("/account/two-factor", data={"code": pyotp.TOTP(secret).now()})
    # The recovery codes are shown this once, on the confirmation's own page (never cached).
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert "Two-factor sign-in is on" in response.get_data(as_text=True)
    db.session.refresh(desk.tech)
    assert desk.tech.totp_secret == secret
    assert "10</strong> unused recovery codes left" in client.get("/account").get_data(as_text=True)


def test_sign_in_asks_for_the_code_after_the_password(client, desk, login, monkeypatch):
    login(desk.tech)
    secret = _enrol(client)
    client.post("/account/two-factor", data={"code": pyotp.TOTP(secret).now()})
    client.post("/logout")
    response = sign_in(client, desk.tech.email, desk.passwords[desk.tech.email])
    assert response.status_code == 302 and response.headers["Location"] == "/login/code"
    assert client.get("/agent/").status_code == 302  # not signed in yet
    assert client.post("/login/code", data={"code": "123456"}).status_code == 401
    # A code already used (the one that confirmed enrolment) does not work again.
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 60)
    code = pyotp.TOTP(secret).at(real() + 60)
    response = client.post("/login/code", data={"code": code})
    assert response.status_code == 302 and response.headers["Location"] == "/agent/"
    assert client.get("/agent/").status_code == 200
    client.post("/logout")
    sign_in(client, desk.tech.email, desk.passwords[desk.tech.email])
    assert client.post("/login/code", data={"code": code}).status_code == 401  # replay


def test_code_step_without_a_password_step_goes_back(client, desk):
    response = client.post("/login/code", data={"code": "123456"})
    assert response.status_code == 302 and response.headers["Location"] == "/login"


def test_wrong_codes_lock_the_account(limited_app, desk):
    agent = db.session.get(Agent, desk.tech.id)
    agent.totp_secret = pyotp.random_base32()
    db.session.commit()
    client = limited_app.test_client()
    sign_in(client, desk.tech.email, desk.passwords[desk.tech.email])
    codes = [client.post("/login/code", data={"code": "000000"}).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 303]
    assert sign_in(client, desk.tech.email, desk.passwords[desk.tech.email]).status_code == 429


def test_required_two_factor_sends_agents_to_enrolment(client, desk, login, app):
    app.config["HELPDESK_REQUIRE_TOTP"] = True
    login(desk.tech)
    response = client.get("/agent/")
    assert response.status_code == 302 and response.headers["Location"] == "/account/two-factor"
    secret = _enrol(client)
    assert client.get("/agent/tickets/XYZ").status_code == 302
    assert client.post("/account/two-factor", data={"code": pyotp.TOTP(secret).now()}).status_code == 200
    assert client.get("/agent/").status_code == 200
    assert client.post("/account/two-factor/disable", data={"current": "demo-tech-1"}).status_code == 403


def test_two_factor_can_be_turned_off_with_the_password(client, desk, login):
    login(desk.tech)
    secret = _enrol(client)
    client.post("/account/two-factor", data={"code": pyotp.TOTP(secret).now()})
    assert client.post("/account/two-factor/disable", data={"current": "wrong"}).status_code == 400
    assert client.post("/account/two-factor/disable", data={"current": "demo-tech-1"}).status_code == 302
    db.session.refresh(desk.tech)
    assert desk.tech.totp_secret is None
