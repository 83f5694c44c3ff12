"""The admin overview and the outbox: who may see them (managers read, only admins retry), the
ticket and mail figures the overview shows, and the outbox list (filters, pages, htmx, escaping)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from factories import queue_mails
from helpdesk import tickets
from helpdesk.clock import utcnow
from helpdesk.extensions import db
from helpdesk.models import OutboxMail
from support.pages import text_of

PAGES = ["/admin/", "/admin/outbox", "/admin/outbox?status=failed"]


def stat(html: str, label: str) -> int:
    """The number shown under a label on the overview."""
    match = re.search(re.escape(label) + r"</span>\s*<strong>(\d+)</strong>", html)
    assert match, f"no {label!r} figure on the page"
    return int(match.group(1))


# --- who may come in --------------------------------------------------------------------------


@pytest.mark.parametrize("url", PAGES + ["/admin/dev-mailbox"])
def test_anonymous_visitors_are_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_anonymous_retry_is_refused(client, desk):
    queue_mails(1, "failed")
    response = client.post("/admin/outbox/retry")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert db.session.scalar(select(OutboxMail.status)) == "failed"


@pytest.mark.parametrize("who", ["tech", "sysadmin", "vendor"])
def test_agents_are_refused(client, desk, login, who):
    login(getattr(desk, who))
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 403, url
        assert "managers and administrators" in text_of(response)
    assert client.post("/admin/outbox/retry").status_code == 403


def test_managers_may_read_but_not_retry(client, desk, login):
    queue_mails(2, "failed", attempts=12, last_error="SMTPRecipientsRefused: no such mailbox")
    login(desk.manager)
    for url in PAGES:
        assert client.get(url).status_code == 200, url
    page = text_of(client.get("/admin/outbox"))
    assert "Retry" not in page  # no button they could not use
    response = client.post("/admin/outbox/retry")
    assert response.status_code == 403
    db.session.expire_all()
    assert set(db.session.scalars(select(OutboxMail.status))) == {"failed"}


def test_admin_retries_failed_mail(client, desk, login, inbox):
    queue_mails(3, "failed", attempts=12, last_error="SMTPServerDisconnected: gone")
    queue_mails(1, "sent")
    login(desk.admin)
    page = text_of(client.get("/admin/outbox"))
    assert "Retry 3 failed mails" in page
    response = client.post("/admin/outbox/retry", follow_redirects=True)
    assert response.status_code == 200
    assert "3 failed mails are queued again." in text_of(response)
    db.session.expire_all()
    statuses = [m.status for m in db.session.scalars(select(OutboxMail).where(OutboxMail.event == "test"))]
    assert sorted(statuses) == ["pending", "pending", "pending", "sent"]
    inbox.deliver()
    assert len(inbox.messages) == 3

    again = client.post("/admin/outbox/retry", follow_redirects=True)
    assert "no failed mails" in text_of(again)


def test_retry_needs_a_csrf_token(app, desk, client, login):
    app.config["WTF_CSRF_ENABLED"] = True
    queue_mails(1, "failed")
    app.config["WTF_CSRF_ENABLED"] = False
    login(desk.admin)
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post("/admin/outbox/retry")
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.scalar(select(OutboxMail.status)) == "failed"
    # The page's own form carries a token that works.
    page = text_of(client.get("/admin/outbox"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/admin/outbox/retry", data={"csrf_token": token})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(OutboxMail.status)) == "pending"


# --- what the pages show ----------------------------------------------------------------------


def test_overview_shows_ticket_counts_and_outbox_health(client, desk, login, make_ticket, inbox):
    make_ticket()
    second, third = make_ticket(), make_ticket()
    tickets.claim(desk.tech, second)
    tickets.resolve(desk.tech, third, "Fixed by restarting the spooler.")
    inbox.deliver()  # everything so far is sent
    queue_mails(2, "failed", attempts=12)
    queue_mails(1, "pending", created_at=utcnow() - timedelta(hours=2))
    db.session.execute(update(OutboxMail).where(OutboxMail.status == "sent")
                       .values(sent_at=utcnow() - timedelta(minutes=5)))
    db.session.commit()
    sent = db.session.query(OutboxMail).filter_by(status="sent").count()

    login(desk.manager)
    html = text_of(client.get("/admin/"))
    assert stat(html, "New") == 1
    assert stat(html, "Open") == 1
    assert stat(html, "Resolved") == 1
    assert stat(html, "Closed") == 0
    assert "3 in all · 2 being worked" in html
    assert stat(html, "Waiting to be sent") == 1
    assert stat(html, "Failed") == 2
    assert stat(html, "Sent in 24 h") == sent
    assert "2 h" in html  # the oldest waiting mail's age
    assert "2 mails were given up on" in html
    assert "Is the mail sender running" in html


def test_overview_of_an_empty_desk(client, desk, login):
    login(desk.admin)
    html = text_of(client.get("/admin/"))
    assert stat(html, "New") == 0 and stat(html, "Waiting to be sent") == 0
    assert "given up on" not in html and "Is the mail sender running" not in html


def test_outbox_lists_mail_and_filters_by_status(client, desk, login, make_ticket):
    make_ticket(email="ken@example.net", subject="Printer on fire")
    queue_mails(1, "failed", attempts=12, last_error="SMTPRecipientsRefused: 550 No such mailbox")
    login(desk.admin)
    html = text_of(client.get("/admin/outbox"))
    assert "ken@example.net" in html and "Printer on fire" in html and "r0@example.net" in html

    failed = text_of(client.get("/admin/outbox?status=failed"))
    assert "r0@example.net" in failed and "550 No such mailbox" in failed
    assert "ken@example.net" not in failed

    # Unknown filters are ignored, not an error.
    assert "ken@example.net" in text_of(client.get("/admin/outbox?status=<script>"))


def test_outbox_is_paginated(client, desk, login):
    queue_mails(60)
    login(desk.admin)
    first = text_of(client.get("/admin/outbox"))
    assert first.count("<tr>") == 1 + 50
    assert "Page 1 of 2" in first and "Older" in first
    second = text_of(client.get("/admin/outbox?page=2"))
    assert second.count("<tr>") == 1 + 10
    assert client.get("/admin/outbox?page=nope").status_code == 200
    assert client.get("/admin/outbox?page=-3").status_code == 200
    assert client.get("/admin/outbox?page=99").status_code == 200


def test_outbox_list_is_a_swappable_fragment_for_htmx(client, desk, login):
    queue_mails(1, "failed")
    login(desk.admin)
    response = client.get("/admin/outbox?status=failed", headers={"HX-Request": "true"})
    html = text_of(response)
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="outbox_list">') and "<html" not in html
    assert "r0@example.net" in html


def test_mail_text_is_escaped_on_the_outbox_page(client, desk, login):
    db.session.add(OutboxMail(event="test", recipient="x@example.net", subject="<script>alert(1)</script>",
                              body_text="x", body_html="x", message_id="<xss@desk.test>",
                              last_error="<img src=x onerror=alert(1)>"))
    db.session.commit()
    login(desk.admin)
    html = text_of(client.get("/admin/outbox"))
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html
    assert "<img src=x" not in html


def test_the_outbox_counts_failed_tries_not_attempts(client, desk, login):
    """A mail sent at the first try has no failed try; it never read "Attempts 0"."""
    queue_mails(1, "failed", attempts=12, last_error="SMTPServerDisconnected: gone")
    queue_mails(1, "sent")
    login(desk.admin)
    html = client.get("/admin/outbox").get_data(as_text=True)
    assert '<th scope="col">Failed tries</th>' in html and "Attempts" not in html
    cells = re.findall(r'<td class="mail-error"[^>]*>', html)
    assert len(cells) == 2
