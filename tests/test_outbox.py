"""The mail outbox against real SMTP servers: down, hanging, refusing, several senders at once,
and headers that cannot be forged by what customers type."""
from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from factories import queue_mails
from helpdesk.clock import utcnow
from helpdesk.extensions import db
from helpdesk.mail import outbox
from helpdesk.models import OutboxMail
from support.db import PG_ADMIN_URL, at_once
from support.inbox import point_smtp_at
from support.net import free_port


def rows() -> list[OutboxMail]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMail).order_by(OutboxMail.id)))


def make_due() -> None:
    db.session.execute(update(OutboxMail).where(OutboxMail.status == "pending").values(next_attempt_at=utcnow()))
    db.session.commit()


def message_ids(box) -> Counter:
    return Counter(str(m["Message-ID"]) for m in box.messages)


# --- SMTP down, then back ---------------------------------------------------------------------


def test_ticket_opened_while_smtp_is_down_is_mailed_once_smtp_is_back(app, make_ticket, inbox, smtp_server):
    check_smtp_down_then_back(app, make_ticket, inbox, smtp_server)


def check_smtp_down_then_back(app, make_ticket, inbox, smtp_server) -> None:
    """Mail written while SMTP is down waits, counted and dated, and goes out once when it is back."""
    point_smtp_at(app, free_port())  # nothing listens there
    ticket = make_ticket(email="ken@example.net", subject="Printer on fire")
    assert ticket.id is not None

    sent, failed = outbox.send_pending()
    assert sent == 0 and failed >= 2  # the customer's acknowledgement and the agents' alerts
    waiting = rows()
    assert {r.status for r in waiting} == {"pending"}
    now = utcnow()
    for row in waiting:
        assert row.attempts == 1
        assert "refused" in row.last_error.lower() or "connect" in row.last_error.lower()
        assert row.next_attempt_at > now
    assert inbox.messages == []

    # Not due yet: another round sends nothing and counts no attempt.
    assert outbox.send_pending() == (0, 0)

    point_smtp_at(app, smtp_server.port)
    make_due()
    inbox.deliver()
    assert {r.status for r in rows()} == {"sent"}
    assert any(f"[#{ticket.number}]" in s for s in inbox.subjects("ken@example.net"))
    assert len(inbox.messages) == len(waiting)
    assert set(message_ids(inbox).values()) == {1}
    assert all(r.sent_at and r.last_error is None for r in rows())

    # Sending again delivers nothing twice.
    assert outbox.send_pending() == (0, 0)
    assert len(inbox.messages) == len(waiting)


def test_hanging_smtp_server_does_not_block_the_sender(app, make_ticket, inbox, silent_smtp, smtp_server):
    check_hanging_server(app, make_ticket, inbox, silent_smtp, smtp_server)


def check_hanging_server(app, make_ticket, inbox, silent_port, smtp_server, timeout=1, budget=5) -> None:
    """A server that never answers holds the sender up for MAIL_TIMEOUT (well under `budget`
    seconds); the mail waits and goes out once a server answers."""
    make_ticket(email="ken@example.net")
    app.config["MAIL_TIMEOUT"] = timeout
    point_smtp_at(app, silent_port)

    started = time.monotonic()
    sent, failed = outbox.send_pending()
    assert time.monotonic() - started < budget
    assert sent == 0 and failed >= 1
    assert all(r.status == "pending" and r.attempts == 1 and r.last_error for r in rows())

    point_smtp_at(app, smtp_server.port)
    make_due()
    inbox.deliver()
    assert inbox.to("ken@example.net")
    assert {r.status for r in rows()} == {"sent"}


# --- refused recipients, giving up, trying again ----------------------------------------------


def test_refused_recipient_is_failed_and_kept_while_the_others_go_out(app, make_ticket, refusing_smtp):
    check_refused_recipient(make_ticket, refusing_smtp)


def check_refused_recipient(make_ticket, refusing_smtp) -> None:
    """A 5xx for one recipient fails that mail (kept, with the reason); the batch goes on."""
    make_ticket(email="gone@example.net", subject="Nobody home")
    make_ticket(email="ken@example.net", subject="Somebody home")

    outbox.send_pending()
    by_recipient = {}
    for row in rows():
        by_recipient.setdefault(row.recipient, []).append(row)
    gone = by_recipient["gone@example.net"]
    assert [r.status for r in gone] == ["failed"]
    assert "No such mailbox" in gone[0].last_error and gone[0].attempts == 1
    # The rest of the batch was delivered on the same connection.
    assert all(r.status == "sent" for email, rs in by_recipient.items() if email != "gone@example.net" for r in rs)
    assert refusing_smtp.to("ken@example.net") and not refusing_smtp.to("gone@example.net")


def test_temporary_refusal_is_tried_again(app, make_ticket, refusing_smtp):
    make_ticket(email="busy@example.net")
    outbox.send_pending()
    busy = [r for r in rows() if r.recipient == "busy@example.net"]
    assert [(r.status, r.attempts) for r in busy] == [("pending", 1)]
    assert "Mailbox busy" in busy[0].last_error


def test_mail_is_given_up_after_max_attempts_and_retry_failed_requeues_it(app, make_ticket, inbox, smtp_server):
    make_ticket(email="ken@example.net")
    db.session.execute(update(OutboxMail).values(attempts=outbox.MAX_ATTEMPTS - 1))
    db.session.commit()
    point_smtp_at(app, free_port())
    outbox.send_pending()
    given_up = rows()
    assert {(r.status, r.attempts) for r in given_up} == {("failed", outbox.MAX_ATTEMPTS)}

    # Failed mails stay failed: no round picks them up, even when due.
    point_smtp_at(app, smtp_server.port)
    db.session.execute(update(OutboxMail).values(next_attempt_at=utcnow() - timedelta(days=1)))
    db.session.commit()
    assert outbox.send_pending() == (0, 0)

    assert outbox.retry_failed() == len(given_up)
    assert {(r.status, r.attempts) for r in rows()} == {("pending", 0)}
    inbox.deliver()
    assert {r.status for r in rows()} == {"sent"}
    assert len(inbox.messages) == len(given_up)


def test_backlog_reports_waiting_mail(app, make_ticket):
    assert outbox.backlog() == (0, None)
    make_ticket()
    count, oldest = outbox.backlog()
    assert count == len(rows()) and count >= 1
    assert 0 <= oldest < 60


def test_malformed_mail_row_does_not_block_the_others(app, make_ticket, inbox):
    """A row that cannot become a mail (a newline in a header) is set aside, the rest go out."""
    make_ticket(email="ken@example.net")
    db.session.add(OutboxMail(event="test", recipient="ken@example.net", subject="Broken\n\nheader",
                              body_text="x", body_html="<p>x</p>", message_id="<broken@desk.test>"))
    db.session.commit()
    outbox.send_pending()
    statuses = {r.message_id: r.status for r in rows()}
    assert statuses.pop("<broken@desk.test>") == "failed"
    assert set(statuses.values()) == {"sent"}
    assert len(inbox.messages) == len(statuses)


# --- headers ----------------------------------------------------------------------------------


def test_headers_are_stable_and_mark_the_mail_automatic(app, make_ticket, inbox, smtp_server):
    point_smtp_at(app, free_port())
    ticket = make_ticket(email="ken@example.net", subject="VPN drops every hour")
    outbox.send_pending()  # fails: the Message-ID must survive the retry
    point_smtp_at(app, smtp_server.port)
    make_due()
    inbox.deliver()
    by_id = {r.message_id: r for r in rows()}
    assert len(inbox.messages) == len(by_id)
    for msg in inbox.messages:
        row = by_id[str(msg["Message-ID"])]
        assert msg.envelope_to == [row.recipient]
        assert msg["Auto-Submitted"] == "auto-generated"
        assert f"[#{ticket.number}]" in str(msg["Subject"])
    assert all(f".{ticket.number}." in mid for mid in by_id)  # <nonce.NUMBER.signature@domain>


def test_cr_lf_in_subject_or_name_cannot_inject_headers(app, make_ticket, inbox):
    ticket = make_ticket(
        email="ken@example.net",
        name="Ken\r\nBcc: evil@example.org",
        subject="Help\r\nBcc: evil@example.org\r\nX-Injected: yes",
    )
    inbox.deliver()
    assert inbox.messages
    for msg in inbox.messages:
        assert msg["Bcc"] is None and msg["X-Injected"] is None
        assert "evil@example.org" not in msg.envelope_to
        assert len(msg.envelope_to) == 1
    (ack,) = inbox.to("ken@example.net")
    assert "\n" not in str(ack["Subject"]) and f"[#{ticket.number}]" in str(ack["Subject"])
    assert ack.envelope_to == ["ken@example.net"]


# --- several senders at once ------------------------------------------------------------------


def _send_all() -> int:
    """One sender's work: send until nothing is left; how many it sent."""
    total = 0
    while True:
        sent, failed = outbox.send_pending(limit=5)
        total += sent
        if sent + failed == 0:
            return total


@pytest.mark.parametrize("database", [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.postgres),
])
def test_two_senders_at_once_send_each_mail_exactly_once(app, inbox, database):
    if db.engine.dialect.name != database:
        pytest.skip(f"this run uses {db.engine.dialect.name}" +
                    ("" if PG_ADMIN_URL or database != "postgresql" else "; set HELPDESK_TEST_POSTGRES"))
    queue_mails(40)
    sent_by, errors = at_once(app, _send_all)
    assert errors == []
    assert sum(sent_by) == 40
    counts = message_ids(inbox)
    assert len(counts) == 40
    assert set(counts.values()) == {1}, [mid for mid, n in counts.items() if n > 1]
    assert {r.status for r in rows()} == {"sent"}
