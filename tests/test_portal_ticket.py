"""The customer's ticket page behind its signed link: thread, files, replies, reopening, confirming."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from helpdesk import tickets
from helpdesk.attachments import Upload
from helpdesk.clock import utcnow
from helpdesk.extensions import db
from helpdesk.models import Attachment, ThreadEntry, Ticket
from helpdesk.security import access_token
from support.rows import fresh

HX = {"HX-Request": "true"}


_LINKS: dict = {}


def link(ticket: Ticket) -> str:
    """The ticket's access link, made once per ticket and nonce: a token carries the second it
    was made in, so two made a moment apart differ."""
    key = (ticket.id, ticket.access_nonce)
    if key not in _LINKS:
        _LINKS[key] = f"/t/{access_token(ticket)}"
    return _LINKS[key]


def links_same_ticket(a: str, b: str) -> bool:
    """Two access links for the same ticket and nonce (made at any time)."""
    return a.rsplit(".", 2)[0] == b.rsplit(".", 2)[0]


def entry_count(ticket: Ticket) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(ThreadEntry.id)).where(ThreadEntry.ticket_id == ticket.id))


@pytest.fixture
def ken(make_ticket, desk):
    """Ken's outage ticket, assigned to the technician."""
    ticket = make_ticket(topic="Business Critical Outage", email="ken@example.net",
                         subject="Mobile banking is down", body="Nobody can log in to mobile banking.")
    tickets.assign(desk.manager, ticket, agent=desk.tech)
    return ticket


# --- what the page shows -----------------------------------------------------------------------


def test_ticket_page_shows_the_public_thread_and_facts(client, desk, ken):
    tickets.reply(desk.tech, ken, "We are looking at the load balancer.")
    tickets.add_note(desk.tech, ken, "INTERNAL: the vendor's fault, do not tell the customer")
    response = client.get(link(ken))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"#{ken.number}" in page and "Mobile banking is down" in page
    assert "In progress" in page and "High" in page and "Business Critical Outage" in page
    assert "Tom" in page and "Technician" not in page  # the agent's first name only
    assert "Nobody can log in to mobile banking." in page
    assert "We are looking at the load balancer." in page
    assert "INTERNAL" not in page and "vendor&#39;s fault" not in page
    assert "entry-note" not in page and 'class="history' not in page
    assert response.headers["Cache-Control"] == "private, no-store"


def test_escalation_note_and_history_never_shown(client, desk, ken):
    tickets.escalate(desk.tech, ken, desk.teams["SysAdmins/Developers"], "Database cluster X is failing")
    page = client.get(link(ken)).get_data(as_text=True)
    assert "With our specialists" in page
    assert "Database cluster X" not in page and "SysAdmins" not in page


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
    lambda t: "not-a-token",
    lambda t: t.split(".")[0] + ".abc.def",
])
def test_forged_token_is_404_with_a_way_to_a_new_link(client, desk, ken, mangle):
    response = client.get(f"/t/{mangle(access_token(ken))}")
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "invalid or has expired" in page and 'href="/status"' in page
    assert "Mobile banking" not in page


def test_revoked_link_is_404_and_the_new_one_works(client, desk, ken, inbox):
    old = link(ken)
    assert client.get(old).status_code == 200
    tickets.new_access_link(desk.tech, ken)
    assert client.get(old).status_code == 404
    assert client.post(f"{old}/reply", data={"body": "hello"}).status_code == 404
    inbox.deliver()
    mail = [m for m in inbox.to("ken@example.net") if "Your link" in str(m["Subject"])][-1]
    path = re.search(r"http://desk\.test(/t/[A-Za-z0-9._-]+)", inbox.text(mail)).group(1)
    assert client.get(path).status_code == 200


def test_expired_link_is_404(client, desk, ken, app):
    token = access_token(ken)
    app.config["HELPDESK_ACCESS_LINK_DAYS"] = -1
    assert client.get(f"/t/{token}").status_code == 404


# --- attachments -------------------------------------------------------------------------------


def test_public_attachments_download_safely(client, desk, ken):
    entry = tickets.reply(desk.tech, ken, "Here is the log.", uploads=[Upload("fix.txt", "text/plain", b"restart the pool\n")])
    att = entry.attachments[0]
    page = client.get(link(ken)).get_data(as_text=True)
    url = f"{link(ken)}/files/{att.id}"
    assert f'href="{url}"' in page and "fix.txt" in page
    response = client.get(url)
    assert response.status_code == 200
    assert response.data == b"restart the pool\n"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "fix.txt" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response.mimetype == "text/plain"


def test_note_attachments_and_other_tickets_files_are_404(client, desk, ken, make_ticket):
    note = tickets.add_note(desk.tech, ken, "internal", uploads=[Upload("secret.txt", "text/plain", b"secret")])
    other = make_ticket(email="amy@example.net")
    other_entry = tickets.reply(desk.tech, other, "Amy's file", uploads=[Upload("amy.txt", "text/plain", b"amy")])
    assert client.get(f"{link(ken)}/files/{note.attachments[0].id}").status_code == 404
    assert client.get(f"{link(ken)}/files/{other_entry.attachments[0].id}").status_code == 404
    assert client.get(f"{link(ken)}/files/999999").status_code == 404
    assert "secret.txt" not in client.get(link(ken)).get_data(as_text=True)
    # Amy's own link does open her file.
    assert client.get(f"{link(other)}/files/{other_entry.attachments[0].id}").data == b"amy"


# --- replying ----------------------------------------------------------------------------------


def test_customer_reply_appears_mails_the_assignee_and_wakes_a_pending_ticket(client, desk, ken, inbox):
    tickets.request_info(desk.tech, ken, "Which app version do you use?")
    assert fresh(ken).status == "pending"
    inbox.deliver()
    inbox.clear()
    response = client.post(f"{link(ken)}/reply", data={"body": "Version 4.2 on Android."})
    assert response.status_code == 302 and links_same_ticket(response.headers["Location"], link(ken))
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your message was sent." in page and "Version 4.2 on Android." in page
    assert fresh(ken).status == "open"
    inbox.deliver()
    assert any("Customer replied" in s and ken.number in s for s in inbox.subjects("tech@example.com"))


def test_customer_reply_with_a_file(client, desk, ken):
    response = client.post(f"{link(ken)}/reply", content_type="multipart/form-data",
                           data={"body": "Screenshot attached.", "attachments": [(io.BytesIO(b"error 503\n"), "error.txt")]})
    assert response.status_code == 302
    att = db.session.scalars(select(Attachment).where(Attachment.ticket_id == ken.id)).one()
    assert att.filename == "error.txt"
    assert client.get(f"{link(ken)}/files/{att.id}").data == b"error 503\n"


@pytest.mark.parametrize("data,message", [
    ({"body": ""}, "Write a message before sending."),
    ({"body": "z" * 20001}, "A message can be at most 20000 characters long (yours has 20001)."),
    ({"body": "see file", "attachments": [(io.BytesIO(b"<html><script>x</script></html>"), "a.html")]},
     "a.html: files of this type cannot be attached."),
    ({"body": "see file", "attachments": [(io.BytesIO(b"<html><body>x</body></html>"), "a.png")]},
     "a.png looks like text/html"),
])
def test_bad_reply_is_refused_and_nothing_saved(client, desk, ken, data, message):
    before = entry_count(ken)
    response = client.post(f"{link(ken)}/reply", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert entry_count(ken) == before
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Attachment.id))) == 0


def test_reply_reopens_a_resolved_ticket(client, desk, ken, inbox):
    tickets.resolve(desk.tech, ken, "We restarted the gateway.")
    page = client.get(link(ken)).get_data(as_text=True)
    assert "Resolved" in page and "Yes, this solved my problem, close it" in page
    inbox.deliver()
    inbox.clear()
    assert client.post(f"{link(ken)}/reply", data={"body": "Still broken for me."}).status_code == 302
    assert fresh(ken).status == "open"
    inbox.deliver()
    assert any("Reopened by the customer" in s for s in inbox.subjects("tech@example.com"))


def test_reply_reopens_a_recently_closed_ticket(client, desk, ken):
    tickets.close(desk.tech, ken)
    page = client.get(link(ken)).get_data(as_text=True)
    assert "Closed" in page and 'name="body"' in page
    assert client.post(f"{link(ken)}/reply", data={"body": "It happened again."}).status_code == 302
    assert fresh(ken).status == "open"


def test_closed_too_long_ago_cannot_be_reopened(client, desk, ken, app):
    tickets.close(desk.tech, ken)
    ticket = fresh(ken)
    ticket.closed_at = utcnow() - timedelta(days=app.config["HELPDESK_REOPEN_DAYS"] + 1)
    db.session.commit()
    page = client.get(link(ken)).get_data(as_text=True)
    assert "can no longer be reopened. Please" in page and "open a new ticket" in page
    assert 'name="body"' not in page
    before = entry_count(ken)
    response = client.post(f"{link(ken)}/reply", data={"body": "Hello again"})
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Your message was not sent." in body and "Please open a new ticket." in body
    assert entry_count(ken) == before and fresh(ken).status == "closed"


# --- confirming the resolution -----------------------------------------------------------------


def test_confirming_the_resolution_closes_and_mails(client, desk, ken, inbox):
    tickets.resolve(desk.tech, ken, "We restarted the gateway.")
    inbox.deliver()
    inbox.clear()
    response = client.post(f"{link(ken)}/confirm")
    assert response.status_code == 302
    assert "The ticket is closed." in client.get(link(ken)).get_data(as_text=True)
    assert fresh(ken).status == "closed"
    inbox.deliver()
    assert any(s.startswith(f"[#{ken.number}] Closed") for s in inbox.subjects("ken@example.net"))


def test_confirm_only_when_resolved(client, desk, ken):
    page = client.get(link(ken)).get_data(as_text=True)
    assert "Yes, this solved my problem" not in page
    response = client.post(f"{link(ken)}/confirm")
    assert response.status_code == 409
    assert "Only a resolved ticket can be confirmed" in response.get_data(as_text=True)
    assert fresh(ken).status == "open"


# --- htmx ----------------------------------------------------------------------------------------


def test_htmx_reply_returns_the_conversation_block_only(client, desk, ken):
    response = client.post(f"{link(ken)}/reply", data={"body": "Sent through htmx."}, headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="conversation"' in body
    assert "<html" not in body and "Sent through htmx." in body and "Your message was sent." in body
    assert response.headers["HX-Trigger"] == "ticket-updated"
    assert '<textarea id="body"' in body and "Sent through htmx.</textarea>" not in body  # an empty form again


def test_htmx_bad_reply_returns_the_block_with_errors(client, desk, ken):
    response = client.post(f"{link(ken)}/reply", data={"body": ""}, headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="conversation"' in body and "<html" not in body and "Write a message before sending." in body


def test_htmx_confirm_returns_the_conversation_block(client, desk, ken):
    tickets.resolve(desk.tech, ken, "Done.")
    response = client.post(f"{link(ken)}/confirm", headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="conversation"' in body and "<html" not in body and "The ticket is closed." in body
    assert fresh(ken).status == "closed"


def test_htmx_closed_too_long_ago_is_409_block(client, desk, ken):
    tickets.close(desk.tech, ken)
    ticket = fresh(ken)
    ticket.closed_at = utcnow() - timedelta(days=400)
    db.session.commit()
    response = client.post(f"{link(ken)}/reply", data={"body": "Hello"}, headers=HX)
    assert response.status_code == 409
    assert 'id="conversation"' in response.get_data(as_text=True)
