"""Two-factor sign-in beyond the app's codes: recovery codes (shown once, stored hashed, each
working once), an admin resetting an agent's second factor, and the desk setting that requires
two-factor sign-in of every agent."""
from __future__ import annotations

import re

import pyotp
import pytest
from sqlalchemy import func, select

from factories import enrol_two_factor
from helpdesk import create_app
from helpdesk.extensions import db
from helpdesk.models import Agent, AuditEntry, RecoveryCode, Setting
from helpdesk.security import totp as twofactor
from support.forms import settings_data
from support.pages import text_of
from test_security_auth import _enrol, limited_app, sign_in  # noqa: F401  (limited_app: a fixture)

CODE = re.compile(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>")


def password_step(client, desk, agent):
    response = sign_in(client, agent.email, desk.passwords[agent.email])
    assert response.status_code == 302 and response.headers["Location"] == "/login/code"


def unused(agent) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(RecoveryCode.id)).where(
        RecoveryCode.agent_id == agent.id, RecoveryCode.used_at.is_(None)))


# --- recovery codes -------------------------------------------------------------------------------


def test_enrolment_shows_ten_codes_once_and_stores_only_hashes(client, desk, login):
    login(desk.tech)
    secret = _enrol(client)
    response = client.post("/account/two-factor", data={"code": pyotp.TOTP(secret).now()})
    page = text_of(response)
    codes = CODE.findall(page)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert "This is the only time they are shown" in page
    assert response.headers["Cache-Control"] == "no-store"
    # Nowhere else: not on the account page, not in the database.
    account = text_of(client.get("/account"))
    assert not any(code in account for code in codes)
    assert "10</strong> unused recovery codes left" in account
    stored = db.session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.agent_id == desk.tech.id)).all()
    assert len(stored) == 10
    for code in codes:
        plain = code.replace("-", "")
        assert not any(code in h or plain in h for h in stored)
    assert all(re.fullmatch(r"[0-9a-f]{16}\$[0-9a-f]{64}", h) for h in stored)
    # Each stored hash belongs to exactly one of the codes shown.
    assert sorted(sum(twofactor.recovery_matches(h, c) for c in codes) for h in stored) == [1] * 10


def test_a_recovery_code_signs_in_once(client, desk):
    _, codes = enrol_two_factor(desk.tech)
    password_step(client, desk, desk.tech)
    page = text_of(client.get("/login/code?use=recovery"))
    assert "Use a recovery code" in page and 'for="code">Recovery code<' in page
    # Typed in capitals with a space instead of the dash: still the same code.
    response = client.post("/login/code?use=recovery", data={"code": codes[0].upper().replace("-", " ")},
                           follow_redirects=True)
    assert response.status_code == 200 and response.request.path == "/agent/"
    assert "You signed in with a recovery code; it will not work again. 9 recovery codes are left." in text_of(response)
    client.post("/logout")
    password_step(client, desk, desk.tech)
    response = client.post("/login/code", data={"code": codes[0]})
    assert response.status_code == 401 and "That code is not right, or was used already" in text_of(response)
    assert client.get("/agent/").status_code == 302
    assert unused(desk.tech) == 9


def test_wrong_recovery_code_is_refused(client, desk):
    enrol_two_factor(desk.tech)
    password_step(client, desk, desk.tech)
    for wrong in ("aaaaa-aaaaa", "not a code", "12345-67890"):
        response = client.post("/login/code?use=recovery", data={"code": wrong})
        assert response.status_code == 401
        assert "That recovery code is not right, or was used already." in text_of(response)
    assert client.get("/agent/").status_code == 302
    assert unused(desk.tech) == 10


def test_few_codes_left_are_warned_about(client, desk):
    _, codes = enrol_two_factor(desk.tech)
    for code in codes[:7]:
        assert twofactor.use_recovery_code(desk.tech, code)
    db.session.commit()
    password_step(client, desk, desk.tech)
    response = client.post("/login/code", data={"code": codes[7]}, follow_redirects=True)
    assert "Only 2 of them are left: make a new set on your account page." in text_of(response)
    assert "Only 2 unused recovery codes are left. Make a new set." in text_of(client.get("/account"))
    client.post("/logout")
    twofactor.use_recovery_code(desk.tech, codes[8])
    db.session.commit()
    password_step(client, desk, desk.tech)
    response = client.post("/login/code", data={"code": codes[9]}, follow_redirects=True)
    assert "You signed in with your last recovery code." in text_of(response)
    assert "You have no unused recovery codes" in text_of(client.get("/account"))


def test_wrong_recovery_codes_lock_the_account(limited_app, desk):  # noqa: F811
    enrol_two_factor(desk.tech)
    client = limited_app.test_client()
    password_step(client, desk, desk.tech)
    answers = [client.post("/login/code", data={"code": "abcde-fghjk"}).status_code for _ in range(4)]
    assert answers == [401, 401, 401, 303]
    assert sign_in(client, desk.tech.email, desk.passwords[desk.tech.email]).status_code == 429


def test_a_code_sent_twice_at_once_works_once(app, desk):
    from support.db import at_once

    _, codes = enrol_two_factor(desk.tech)
    agent_id = desk.tech.id

    def spend():
        used = twofactor.use_recovery_code(db.session.get(Agent, agent_id), codes[3])
        db.session.commit()
        return used

    results, errors = at_once(app, spend)
    assert not errors and sorted(results) == [False, True]


@pytest.mark.parametrize("kind", ["app code", "recovery code"])
def test_one_code_sent_by_several_sign_ins_at_once_signs_in_one(app, desk, kind):
    """Four browsers past the password step send the same code at the same moment: one gets
    in, the others are told the code was used, and nobody else is signed in."""
    from support.db import at_once

    secret, codes = enrol_two_factor(desk.tech)
    code = pyotp.TOTP(secret).now() if kind == "app code" else codes[0]
    clients = [app.test_client() for _ in range(4)]
    for client in clients:
        password_step(client, desk, desk.tech)
    turn = iter(clients)

    def send():
        client = next(turn)
        return client, client.post("/login/code", data={"code": code})

    results, errors = at_once(app, send, times=len(clients))
    assert not errors
    answers = sorted((response.status_code, response.headers.get("Location")) for _, response in results)
    assert answers == [(302, "/agent/"), (401, None), (401, None), (401, None)]
    assert [client.get("/agent/").status_code for client, _ in results].count(200) == 1
    for _, response in results:
        if response.status_code == 401:
            assert "was used already" in text_of(response)
    if kind == "recovery code":
        assert unused(desk.tech) == 9


def test_a_new_set_needs_the_password_and_ends_the_old_one(client, desk):
    _, old = enrol_two_factor(desk.tech)
    client.post("/login", data={"email": desk.tech.email, "password": desk.passwords[desk.tech.email]})
    client.post("/login/code", data={"code": old[0]})
    response = client.post("/account/two-factor/recovery-codes", data={"recovery-current": "wrong password"})
    assert response.status_code == 400 and "That is not your current password." in text_of(response)
    assert unused(desk.tech) == 9
    response = client.post("/account/two-factor/recovery-codes",
                           data={"recovery-current": desk.passwords[desk.tech.email]})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert "Your earlier codes no longer work." in text_of(response)
    new = CODE.findall(text_of(response))
    assert len(new) == 10 and not set(new) & set(old)
    assert unused(desk.tech) == 10
    client.post("/logout")
    password_step(client, desk, desk.tech)
    assert client.post("/login/code", data={"code": old[1]}).status_code == 401
    assert client.post("/login/code", data={"code": new[0]}).status_code == 302


def test_no_new_set_without_two_factor(client, desk, login):
    login(desk.tech)
    response = client.post("/account/two-factor/recovery-codes",
                           data={"recovery-current": desk.passwords[desk.tech.email]})
    assert response.status_code == 409 and "Turn two-factor sign-in on first" in text_of(response)
    assert unused(desk.tech) == 0


def test_turning_two_factor_off_deletes_the_codes(client, desk):
    secret, codes = enrol_two_factor(desk.tech)
    password_step(client, desk, desk.tech)
    client.post("/login/code", data={"code": pyotp.TOTP(secret).now()})
    response = client.post("/account/two-factor/disable", data={"current": desk.passwords[desk.tech.email]},
                           follow_redirects=True)
    assert "Two-factor sign-in is off, and your recovery codes were deleted." in text_of(response)
    assert db.session.scalar(select(func.count(RecoveryCode.id))) == 0


# --- an admin resets an agent's second factor ---------------------------------------------------


def reset_url(agent) -> str:
    return f"/admin/agents/{agent.id}/two-factor/reset"


@pytest.mark.parametrize("who", ["tech", "manager"])
def test_only_admins_reset_two_factor(client, desk, login, who):
    enrol_two_factor(desk.vendor)
    login(getattr(desk, who))
    assert client.post(reset_url(desk.vendor), data={"confirm": "y"}).status_code == 403
    db.session.expire_all()
    assert db.session.get(Agent, desk.vendor.id).totp_secret and unused(desk.vendor) == 10


def test_reset_needs_the_tick(client, desk, login):
    enrol_two_factor(desk.tech)
    login(desk.admin)
    response = client.post(reset_url(desk.tech), data={})
    assert response.status_code == 400 and "Tick the box to confirm the reset." in text_of(response)
    db.session.expire_all()
    assert db.session.get(Agent, desk.tech.id).totp_secret and unused(desk.tech) == 10


def test_reset_clears_the_factor_ends_sessions_audits_and_mails(app, client, desk, login, inbox):
    secret, _ = enrol_two_factor(desk.tech)
    tech = app.test_client()
    password_step(tech, desk, desk.tech)
    assert tech.post("/login/code", data={"code": pyotp.TOTP(secret).now()}).status_code == 302
    assert tech.get("/agent/").status_code == 200
    login(desk.admin)
    page = text_of(client.get(f"/admin/agents/{desk.tech.id}"))
    assert "Reset two-factor sign-in" in page and reset_url(desk.tech) in page
    response = client.post(reset_url(desk.tech), data={"confirm": "y"}, follow_redirects=True)
    assert response.request.path == f"/admin/agents/{desk.tech.id}"
    assert "two-factor sign-in was reset: they were signed out everywhere and mailed." in text_of(response)
    db.session.expire_all()
    agent = db.session.get(Agent, desk.tech.id)
    assert agent.totp_secret is None and agent.totp_last_step is None
    assert db.session.scalar(select(func.count(RecoveryCode.id)).where(RecoveryCode.agent_id == agent.id)) == 0
    # The agent's open session ended.
    response = tech.get("/agent/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.field == "two_factor")).one()
    assert (entry.agent_name, entry.object_type, entry.object_id, entry.old, entry.new) == (
        desk.admin.name, "agent", agent.id, "on", "reset")
    # The agent is told, by mail.
    mails = inbox.deliver().to(desk.tech.email)
    assert [str(m["Subject"]) for m in mails] == ["Your two-factor sign-in at Helpdesk was reset"]
    body = inbox.text(mails[0])
    assert f"{desk.admin.name}, an administrator of Helpdesk, reset the two-factor sign-in" in body
    assert "You were signed out everywhere." in body and "http://desk.test/login" in body
    assert "You now sign in with your password alone." in body
    # Not enrolled any more: nothing to reset, and the page says so.
    assert client.post(reset_url(desk.tech), data={"confirm": "y"}).status_code == 409
    assert "has not set up two-factor sign-in" in text_of(client.get(f"/admin/agents/{desk.tech.id}"))
    # Signing in now takes the password alone.
    tech.post("/login", data={"email": desk.tech.email, "password": desk.passwords[desk.tech.email]})
    assert tech.get("/agent/").status_code == 200


def test_after_a_reset_a_required_factor_is_set_up_again(app, client, desk, login, inbox):
    app.config["HELPDESK_REQUIRE_TOTP"] = True
    enrol_two_factor(desk.tech)
    enrol_two_factor(desk.admin)
    client.post("/login", data={"email": desk.admin.email, "password": desk.passwords[desk.admin.email]})
    client.post("/login/code", data={"code": pyotp.TOTP(db.session.get(Agent, desk.admin.id).totp_secret).now()})
    assert client.post(reset_url(desk.tech), data={"confirm": "y"}).status_code == 302
    body = inbox.text(inbox.deliver().to(desk.tech.email)[0])
    assert "This desk requires two-factor sign-in: the next time you sign in" in " ".join(body.split())
    tech = app.test_client()
    response = sign_in(tech, desk.tech.email, desk.passwords[desk.tech.email])
    assert response.status_code == 302 and response.headers["Location"] == "/agent/"
    response = tech.get("/agent/")
    assert response.status_code == 302 and response.headers["Location"] == "/account/two-factor"


def test_reset_refuses_a_request_without_the_csrf_token(app_config, app, desk):
    enrol_two_factor(desk.tech)
    protected = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    client = protected.test_client()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', text_of(client.get("/login"))).group(1)
    client.post("/login", data={"email": desk.admin.email, "password": desk.passwords[desk.admin.email],
                                "csrf_token": token})
    response = client.post(reset_url(desk.tech), data={"confirm": "y"})
    assert response.status_code == 400 and "Your session expired" in text_of(response)
    db.session.expire_all()
    assert db.session.get(Agent, desk.tech.id).totp_secret
    page = text_of(client.get(f"/admin/agents/{desk.tech.id}"))
    form = page[page.index(reset_url(desk.tech)):]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    assert client.post(reset_url(desk.tech), data={"confirm": "y", "csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Agent, desk.tech.id).totp_secret is None
    with protected.app_context():
        db.session.remove()
        db.engine.dispose()


# --- the desk setting -----------------------------------------------------------------------------


def test_the_setting_requires_enrolment_of_every_agent(app, client, desk, login):
    login(desk.admin)
    page = text_of(client.get("/admin/settings"))
    assert "Require two-factor sign-in for all agents" in page
    assert "0 of 5 active agents have two-factor sign-in on." in page
    assert "If you require it, the other 5 must set it up before they can use the desk (you too" in page
    response = client.post("/admin/settings", data=settings_data(require_totp="y"))
    assert response.status_code == 302
    assert db.session.get(Setting, "require_totp").value == "1"
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.field == "require_totp")).one()
    assert (entry.old, entry.new, entry.object_name) == ("no", "yes", "Require two-factor sign-in for all agents")
    # The admin, who has not set it up, is the first to be sent to do so.
    response = client.get("/admin/settings")
    assert response.status_code == 302 and response.headers["Location"] == "/account/two-factor"
    tech = app.test_client()
    sign_in(tech, desk.tech.email, desk.passwords[desk.tech.email])
    response = tech.get("/agent/", follow_redirects=True)
    assert response.request.path == "/account/two-factor"
    assert "This desk requires two-factor sign-in. Set it up to continue." in text_of(response)


def test_the_setting_overrides_the_environment(app, client, desk, login):
    app.config["HELPDESK_REQUIRE_TOTP"] = True
    db.session.add(Setting(key="require_totp", value="0"))
    db.session.commit()
    login(desk.tech)
    assert client.get("/agent/").status_code == 200
    secret = _enrol(client)
    client.post("/account/two-factor", data={"code": pyotp.TOTP(secret).now()})
    response = client.post("/account/two-factor/disable", data={"current": desk.passwords[desk.tech.email]})
    assert response.status_code == 302


def test_required_setting_keeps_two_factor_on(app, client, desk):
    db.session.add(Setting(key="require_totp", value="1"))
    db.session.commit()
    secret, _ = enrol_two_factor(desk.tech)
    password_step(client, desk, desk.tech)
    client.post("/login/code", data={"code": pyotp.TOTP(secret).now()})
    page = text_of(client.get("/account"))
    assert "This desk requires two-factor sign-in for every agent, so it cannot be turned off." in page
    response = client.post("/account/two-factor/disable", data={"current": desk.passwords[desk.tech.email]})
    assert response.status_code == 403


# --- mails about the agent's second factor --------------------------------------------------------


def _when_shown(before, after) -> set[str]:
    """The sign-in time as a mail shows it (desk time zone), for each minute the request may have taken."""
    from datetime import timedelta

    from helpdesk.text import format_datetime

    minutes = {before.replace(second=0, microsecond=0) + timedelta(minutes=n) for n in range(3)}
    return {format_datetime(m, "%d %b %Y, %H:%M %Z") for m in minutes if m <= after}


def test_a_sign_in_with_a_recovery_code_is_mailed_to_the_agent(client, desk, inbox):
    from helpdesk.clock import utcnow

    _, codes = enrol_two_factor(desk.tech)
    inbox.deliver()
    inbox.clear()
    password_step(client, desk, desk.tech)
    before = utcnow()
    response = client.post("/login/code?use=recovery", data={"code": codes[4]},
                           environ_base={"REMOTE_ADDR": "203.0.113.77"})
    after = utcnow()
    assert response.status_code == 302
    mails = inbox.deliver().to(desk.tech.email)
    assert [str(m["Subject"]) for m in mails] == ["A recovery code was used to sign in to Helpdesk"]
    text, html = " ".join(inbox.text(mails[0]).split()), inbox.html(mails[0])
    assert "with one of your recovery codes" in text
    assert "From the IP address: 203.0.113.77" in text and "<strong>203.0.113.77</strong>" in html
    assert "Recovery codes left: 9 (each works once)" in text and "<strong>9</strong>" in html
    assert any(f"When: {shown}" in text for shown in _when_shown(before, after))
    assert "left: make a new set" not in text and "last recovery code" not in text  # plenty left
    assert "If this was not you, someone knows your password" in text
    assert "http://desk.test/account" in text
    assert not inbox.to(desk.admin.email)


def test_the_mail_says_how_few_codes_are_left(client, desk, inbox):
    _, codes = enrol_two_factor(desk.tech)
    for code in codes[:7]:
        assert twofactor.use_recovery_code(desk.tech, code)
    db.session.commit()
    for code, left, advice in ((codes[7], 2, "Only 2 are left: make a new set on your account page."),
                               (codes[8], 1, "Only 1 is left: make a new set on your account page."),
                               (codes[9], 0, "That was your last recovery code. Make a new set")):
        inbox.clear()
        password_step(client, desk, desk.tech)
        assert client.post("/login/code", data={"code": code}).status_code == 302
        client.post("/logout")
        mails = inbox.deliver().to(desk.tech.email)
        assert len(mails) == 1
        text = " ".join(inbox.text(mails[0]).split())
        assert f"Recovery codes left: {left} (each works once)" in text and advice in text
        assert advice.split(":")[0] in " ".join(inbox.html(mails[0]).split())


def test_no_mail_on_a_sign_in_with_the_apps_code_or_a_wrong_code(client, desk, inbox):
    secret, _ = enrol_two_factor(desk.tech)
    password_step(client, desk, desk.tech)
    assert client.post("/login/code?use=recovery", data={"code": "aaaaa-aaaaa"}).status_code == 401
    assert client.post("/login/code", data={"code": pyotp.TOTP(secret).now()}).status_code == 302
    assert client.get("/agent/").status_code == 200
    assert inbox.deliver().to(desk.tech.email) == []
    assert unused(desk.tech) == 10


def test_turning_two_factor_off_is_mailed_to_the_agent(client, desk, inbox):
    secret, _ = enrol_two_factor(desk.tech)
    password_step(client, desk, desk.tech)
    client.post("/login/code", data={"code": pyotp.TOTP(secret).now()})
    # A wrong password changes nothing and mails nothing.
    assert client.post("/account/two-factor/disable", data={"current": "wrong"}).status_code == 400
    assert inbox.deliver().to(desk.tech.email) == []
    response = client.post("/account/two-factor/disable", data={"current": desk.passwords[desk.tech.email]},
                           environ_base={"REMOTE_ADDR": "198.51.100.23"})
    assert response.status_code == 302
    mails = inbox.deliver().to(desk.tech.email)
    assert [str(m["Subject"]) for m in mails] == ["Two-factor sign-in was turned off for you at Helpdesk"]
    text = " ".join(inbox.text(mails[0]).split())
    assert "Two-factor sign-in was turned off for your agent account at Helpdesk" in text
    assert "From the IP address: 198.51.100.23" in text and "you now sign in with your password alone" in text
    assert "If this was not you, someone knows your password: change it at once" in text


def test_the_agents_name_in_account_mails_is_escaped(client, desk, inbox):
    from hostile import XSS_PAYLOADS, assert_no_live_markup

    agent = db.session.get(Agent, desk.tech.id)
    agent.name = XSS_PAYLOADS[0].format(tag="XSSaccount")
    db.session.commit()
    secret, codes = enrol_two_factor(desk.tech)
    password_step(client, desk, desk.tech)
    client.post("/login/code", data={"code": codes[0]})
    client.post("/account/two-factor/disable", data={"current": desk.passwords[desk.tech.email]})
    mails = inbox.deliver().to(desk.tech.email)
    assert len(mails) == 2
    for mail in mails:
        assert "XSSaccount" in inbox.html(mail)
        assert_no_live_markup(inbox.html(mail), str(mail["Subject"]), allow_own_assets=False)
