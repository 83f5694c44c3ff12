"""Admin -> Webhooks: an admin adds a webhook and sees its secret once, bad input is refused with
a clear message, managers only look, and the delivery log shows each delivery and retries a
failed one."""
from __future__ import annotations

import hashlib
import hmac
import re

import pytest
from sqlalchemy import select

from factories import make_webhook
from helpdesk import webhooks
from helpdesk.extensions import db
from helpdesk.models import AuditEntry, Webhook, WebhookDelivery
from support.pages import text_of

PUBLIC_URL = "https://93.184.215.14/hooks/helpdesk"


def form(**over):
    return {"name": "Team chat", "url": PUBLIC_URL, "events": ["ticket.created", "ticket.replied"], "active": "y",
            **over}


def shown_secret(response) -> str:
    [secret] = re.findall(r"whsec_[A-Za-z0-9_-]{20,}", response.get_data(as_text=True))
    return secret


def test_an_admin_adds_a_webhook_and_its_secret_signs_what_is_sent(admin, desk, make_ticket, receiver):
    response = admin.post("/admin/webhooks/new", data=form(url=receiver.url))
    assert response.status_code == 201
    assert "shown only this once" in text_of(response)
    secret = shown_secret(response)
    hook = db.session.scalar(select(Webhook))
    assert (hook.name, hook.url, hook.event_list, hook.active) == (
        "Team chat", receiver.url, ["ticket.created", "ticket.replied"], True)
    assert secret not in hook.secret_encrypted  # stored encrypted
    assert secret not in admin.get(f"/admin/webhooks/{hook.id}").get_data(as_text=True)  # never shown again
    audit = {(e.field, e.new) for e in db.session.scalars(select(AuditEntry).where(AuditEntry.object_type == "webhook"))}
    assert {("created", "Team chat"), ("url", receiver.url), ("secret", "generated")} <= audit

    make_ticket()
    webhooks.deliver_due()
    [request] = receiver.requests
    expected = "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Helpdesk-Signature"] == expected


@pytest.mark.parametrize("over, message", [
    ({"url": "ftp://example.com/x"}, "The URL must start with http:// or https://."),
    ({"url": "http://10.0.0.8/hook"}, "10.0.0.8 is a private address: webhooks go to public addresses only"),
    ({"url": "http://127.0.0.1:9000/hook"}, "127.0.0.1 is a loopback address (this machine)"),
    ({"url": "http://169.254.169.254/"}, "is a link-local address"),
    ({"url": "https://" + "a" * 2000 + ".example/"}, "At most 2000 characters."),
    ({"url": "http://[::1"}, "That is not a valid URL"),
    ({"url": ""}, "Enter the URL to send the events to."),
    ({"events": []}, "Choose at least one event."),
    ({"events": ["ticket.deleted"]}, "That choice is not available."),
    ({"name": ""}, "Give it a name."),
])
def test_bad_input_is_refused_with_a_clear_message(admin, desk, over, message):
    response = admin.post("/admin/webhooks/new", data=form(**over))
    assert response.status_code == 400
    assert message in text_of(response)
    assert db.session.scalar(select(Webhook)) is None


def test_a_second_webhook_with_the_same_name_is_refused(admin, desk):
    make_webhook(PUBLIC_URL, name="Team chat")
    response = admin.post("/admin/webhooks/new", data=form(name="team CHAT"))
    assert response.status_code == 400 and "Another webhook has this name." in text_of(response)


def test_an_edit_switches_off_and_makes_a_new_secret(admin, desk):
    hook = make_webhook(PUBLIC_URL, name="Team chat", secret="whsec_old-secret")
    response = admin.post(f"/admin/webhooks/{hook.id}", data=form(active="", new_secret="y"))
    assert response.status_code == 200
    secret = shown_secret(response)
    db.session.expire_all()
    assert hook.active is False and hook.signing_secret() == secret != "whsec_old-secret"
    response = admin.post(f"/admin/webhooks/{hook.id}", data=form(name="Ops chat", active=""))
    assert response.status_code == 302
    db.session.expire_all()
    assert hook.name == "Ops chat" and hook.signing_secret() == secret


def test_managers_look_and_change_nothing(login, client, desk):
    hook = make_webhook(PUBLIC_URL, name="Team chat")
    login(desk.manager)
    listing = client.get("/admin/webhooks")
    assert listing.status_code == 200 and "Team chat" in text_of(listing)
    assert "Read only." in text_of(listing) and "New webhook" not in text_of(listing)
    page = client.get(f"/admin/webhooks/{hook.id}")
    assert page.status_code == 200 and "Save webhook" not in text_of(page)
    assert client.post(f"/admin/webhooks/{hook.id}/delete").status_code == 403
    assert client.post("/admin/webhooks/new", data=form(name="Other")).status_code == 403
    login(desk.tech)
    assert client.get("/admin/webhooks").status_code == 403
    assert db.session.scalar(select(Webhook.name)) == "Team chat"


def test_the_delivery_log_shows_a_failure_and_retries_it(admin, desk, make_ticket, receiver, clock):
    hook = make_webhook(receiver.url, name="Team chat")
    receiver.status = 500
    make_ticket()
    webhooks.deliver_due()
    page = text_of(admin.get(f"/admin/webhooks/{hook.id}"))
    assert "Waiting" in page and "HTTP 500" in page and "next try" in page and "Retry now" not in page

    delivery = db.session.scalar(select(WebhookDelivery))
    delivery.status = "failed"
    db.session.commit()
    page = text_of(admin.get(f"/admin/webhooks/{hook.id}"))
    assert "Failed" in page and "Retry now" in page
    listing = text_of(admin.get("/admin/webhooks"))
    assert "1 failed" in listing

    response = admin.post(f"/admin/webhooks/{hook.id}/deliveries/{delivery.id}/retry")
    assert response.status_code == 302
    db.session.expire_all()
    assert delivery.status == "waiting"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.field == "delivery"))
    assert (entry.object_name, entry.old, entry.new) == ("Team chat", f"{delivery.uid} failed", "waiting")
    receiver.status = 200
    assert webhooks.deliver_due() == (1, 0)
    page = text_of(admin.get(f"/admin/webhooks/{hook.id}"))
    assert "Delivered" in page and "1 delivered" in page

    other = make_webhook(receiver.url, name="Other")
    assert admin.post(f"/admin/webhooks/{other.id}/deliveries/{delivery.id}/retry").status_code == 404


def test_deleting_a_webhook_removes_its_log(admin, desk, make_ticket, receiver):
    hook = make_webhook(receiver.url, name="Team chat")
    make_ticket()
    assert admin.post(f"/admin/webhooks/{hook.id}/delete").status_code == 302
    assert db.session.scalar(select(Webhook)) is None and db.session.scalar(select(WebhookDelivery)) is None
    assert db.session.scalar(select(AuditEntry.field).where(AuditEntry.object_type == "webhook")) == "deleted"
    assert webhooks.deliver_due() == (0, 0) and receiver.requests == []
