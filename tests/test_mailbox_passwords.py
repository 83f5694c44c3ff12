"""IMAP mailbox passwords are stored encrypted (Fernet, key from SECRET_KEY or
HELPDESK_ENCRYPTION_KEY), never shown back in the admin form, and decrypted only to log in:
after the key changed, the fetcher reports that mailbox's password as unreadable, not a crash."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select, text

from factories import make_mailbox
from helpdesk import config as config_module
from helpdesk import crypto
from helpdesk.extensions import db
from helpdesk.mailin import imap as imapfetch
from helpdesk.models import Mailbox
from support.net import free_port

PASSWORD = "imap-pässword-7"
UNREADABLE = "The password could not be decrypted"


def form(desk, **values):
    data = {"name": "Support inbox", "department": desk.departments["Support"].id, "topic": 0,
            "host": "127.0.0.1", "port": free_port(), "security": "none", "username": "desk",
            "password": PASSWORD, "folder": "INBOX", "action": "seen", "active": "y"}
    data.update(values)
    return data


def stored(name: str = "Support inbox") -> str:
    return db.session.execute(text("SELECT password_encrypted FROM mailbox WHERE name = :n"), {"n": name}).scalar()


def box(name: str = "Support inbox") -> Mailbox:
    db.session.expire_all()
    return db.session.scalar(select(Mailbox).where(Mailbox.name == name))


def test_the_password_is_stored_encrypted_and_never_shown_back(client, login, desk):
    login(desk.admin)
    assert client.post("/admin/mailboxes", data=form(desk)).status_code == 302
    token = stored()
    assert token.startswith("gAAAAA") and PASSWORD not in token  # a Fernet token, not the password
    assert box().login_password() == PASSWORD
    with pytest.raises(AttributeError):
        box().password  # write-only: nothing reads it by accident  # noqa: B018
    page = client.get(f"/admin/mailboxes/{box().id}").get_data(as_text=True)
    assert "Change “Support inbox”" in page and PASSWORD not in page and token not in page
    [field] = re.findall(r'<input[^>]*name="password"[^>]*>', page)
    assert 'type="password"' in field and 'value=""' in field
    # a refused form does not echo the password typed into it either
    refused = client.post(f"/admin/mailboxes/{box().id}", data=form(desk, name="", password="typed-Secret-9"))
    assert refused.status_code == 400 and "typed-Secret-9" not in refused.get_data(as_text=True)
    # a blank password keeps the stored one (same server and account); a new one replaces it, encrypted again
    assert client.post(f"/admin/mailboxes/{box().id}",
                       data=form(desk, password="", folder="Support", port=box().port)).status_code == 302
    assert box().folder == "Support" and box().login_password() == PASSWORD and stored() == token
    assert client.post(f"/admin/mailboxes/{box().id}",
                       data=form(desk, password="new-Secret-2", port=box().port)).status_code == 302
    assert box().login_password() == "new-Secret-2" and "new-Secret-2" not in stored()
    listing = client.get("/admin/mailboxes").get_data(as_text=True)
    assert "new-Secret-2" not in listing and stored() not in listing


def test_a_changed_secret_key_is_reported_on_the_mailbox_and_the_others_go_on(app, client, login, desk):
    make_mailbox(port=free_port(), security="none", password=PASSWORD)
    make_mailbox("Other inbox", port=free_port(), security="none", username="other", password="other-pass")
    app.config["SECRET_KEY"] = "a-new-secret-key"
    with pytest.raises(crypto.Undecryptable):
        box().login_password()
    rounds = {r.mailbox: r for r in imapfetch.fetch_all()}
    assert rounds["Support inbox"].error.startswith(UNREADABLE) and "enter it again" in rounds["Support inbox"].error
    assert rounds["Other inbox"].error and UNREADABLE in rounds["Other inbox"].error  # both were encrypted before
    assert UNREADABLE in box().last_error and box().last_fetch_at is not None
    result = app.test_cli_runner().invoke(args=["mail", "fetch"])
    assert result.exit_code == 0 and f"Support inbox: {UNREADABLE}" in result.output
    login(desk.admin)
    assert UNREADABLE in client.get("/admin/mailboxes").get_data(as_text=True)
    # the admin enters it again: it is read with the new key; the other mailbox still waits for its own
    assert client.post(f"/admin/mailboxes/{box().id}", data=form(desk, port=box().port)).status_code == 302
    assert box().login_password() == PASSWORD
    rounds = {r.mailbox: r for r in imapfetch.fetch_all()}
    assert UNREADABLE not in rounds["Support inbox"].error  # it got as far as connecting (nobody listens)
    assert UNREADABLE in rounds["Other inbox"].error


def test_helpdesk_encryption_key_is_used_instead_of_the_secret_key(app, desk, monkeypatch):
    monkeypatch.setenv("HELPDESK_ENCRYPTION_KEY", "an-encryption-key-kept-apart")
    assert config_module.from_environment(app.instance_path)["HELPDESK_ENCRYPTION_KEY"] == "an-encryption-key-kept-apart"
    app.config["HELPDESK_ENCRYPTION_KEY"] = "an-encryption-key-kept-apart"
    make_mailbox(password=PASSWORD)
    app.config["SECRET_KEY"] = "rotated-secret-key"  # does not matter while the encryption key stays
    assert box().login_password() == PASSWORD
    app.config["HELPDESK_ENCRYPTION_KEY"] = "another-encryption-key"
    with pytest.raises(crypto.Undecryptable):
        box().login_password()
    app.config["HELPDESK_ENCRYPTION_KEY"] = ""  # back to the SECRET_KEY: not what it was encrypted with
    with pytest.raises(crypto.Undecryptable):
        box().login_password()


def test_a_tampered_token_is_unreadable_not_a_crash(app, desk):
    make_mailbox(password=PASSWORD)
    mailbox = box()
    for bad in (stored()[:-4] + "AAAA", "not a token", "ü"):
        mailbox.password_encrypted = bad
        with pytest.raises(crypto.Undecryptable):
            mailbox.login_password()
