"""Faults at the portal: the disk refusing an attachment write leaves a clear message and
nothing else (no ticket, no customer, no mail, no stray file)."""
from __future__ import annotations

import errno
import io
import secrets
from pathlib import Path

import pytest

from helpdesk import attachments
from helpdesk.models import Customer, OutboxMail, ThreadEntry, Ticket
from helpdesk.security import access_token
from support.rows import count


def counts():
    return [count(m) for m in (Ticket, Customer, ThreadEntry, OutboxMail)]


def disk_full(monkeypatch, after=0):
    """The disk accepts `after` files, then refuses with ENOSPC."""
    real = attachments.store
    calls = {"n": 0}

    def store(upload):
        calls["n"] += 1
        if calls["n"] > after:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(upload)

    monkeypatch.setattr(attachments, "store", store)


def check_new_ticket_when_the_disk_is_full(client, desk, app, inbox) -> None:
    """The second file is refused by the disk: a clear message and nothing else is left (no
    ticket, no customer, no mail, no stray file); the same form goes through once there is room."""
    form = {"name": "Ken", "email": "ken@example.net", "topic": desk.topics["General inquiry"].id,
            "subject": "Printer on fire", "description": "Really."}
    with pytest.MonkeyPatch.context() as disk:
        disk_full(disk, after=1)  # the first file is written, the second is refused
        response = client.post("/new", data={
            **form, "idempotency_key": secrets.token_urlsafe(20),
            "attachments": [(io.BytesIO(b"one"), "one.txt"), (io.BytesIO(b"two"), "two.txt")],
        })
    page = response.get_data(as_text=True)
    assert 400 <= response.status_code < 500
    assert "The attachment could not be saved. Nothing was changed; please try again." in page
    assert "Traceback" not in page and "No space left" not in page
    assert counts() == [0, 0, 0, 0]
    assert not [p for p in Path(app.config["HELPDESK_UPLOAD_DIR"]).rglob("*") if p.is_file()]
    assert inbox.deliver().messages == []
    # The same form goes through once the disk has room again.
    response = client.post("/new", data={
        **form, "idempotency_key": secrets.token_urlsafe(20), "attachments": [(io.BytesIO(b"one"), "one.txt")],
    })
    assert response.status_code == 302 and counts()[0] == 1


def test_portal_new_ticket_when_the_disk_is_full(client, desk, app, inbox):
    check_new_ticket_when_the_disk_is_full(client, desk, app, inbox)


def test_portal_reply_when_the_disk_is_full(client, desk, make_ticket, monkeypatch, app):
    ticket = make_ticket(email="ken@example.net")
    before = counts()
    disk_full(monkeypatch)
    response = client.post(f"/t/{access_token(ticket)}/reply",
                           data={"body": "Here is the log", "attachments": [(io.BytesIO(b"log"), "log.txt")]})
    assert 400 <= response.status_code < 500
    assert "The attachment could not be saved" in response.get_data(as_text=True)
    assert counts() == before
