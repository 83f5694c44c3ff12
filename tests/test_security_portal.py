"""The public side: CAPTCHA, status checks that never show a thread without the mail step,
mail header injection, one address per field, no mail to our own address, hostile uploads."""
from __future__ import annotations

import io
import re
import secrets

import pytest
from sqlalchemy import func, select

from helpdesk import tickets
from helpdesk.extensions import db
from helpdesk.models import Customer, OutboxMail, Ticket
from helpdesk.security import access_token

FORM = {"name": "Ken", "email": "ken@example.net", "subject": "Printer on fire", "description": "Really."}


def new_ticket(client, desk, **data):
    values = {**FORM, "topic": desk.topics["General inquiry"].id, "idempotency_key": secrets.token_urlsafe(20), **data}
    return client.post("/new", data=values)


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


# --- CAPTCHA --------------------------------------------------------------------------------------


def _question(page: str) -> tuple[int, str]:
    words = "zero one two three four five six seven eight nine ten".split()
    a, b = re.search(r"What is (\w+) plus (\w+)\?", page).groups()
    token = re.search(r'name="captcha_token" type="hidden" value="([^"]+)"', page).group(1)
    return words.index(a) + words.index(b), token


@pytest.fixture
def captcha_on(app):
    app.config["HELPDESK_CAPTCHA"] = True


def test_captcha_is_off_by_default(client, desk):
    assert "Security question" not in client.get("/new").get_data(as_text=True)
    assert new_ticket(client, desk).status_code == 302


def check_captcha_must_be_answered(client, desk):
    """A wrong, missing or forged answer opens nothing; the right one opens the ticket."""
    before = count(Ticket)
    page = client.get("/new").get_data(as_text=True)
    answer, token = _question(page)
    response = new_ticket(client, desk, captcha_token=token, captcha_answer=str(answer + 1))
    assert response.status_code == 400
    assert "That answer is not right. Here is a new question." in response.get_data(as_text=True)
    assert count(Ticket) == before
    assert new_ticket(client, desk).status_code == 400  # no answer at all
    assert new_ticket(client, desk, captcha_token="forged", captcha_answer="4").status_code == 400
    answer, token = _question(client.get("/new").get_data(as_text=True))
    assert new_ticket(client, desk, captcha_token=token, captcha_answer=str(answer)).status_code == 302
    assert count(Ticket) == before + 1


def test_captcha_must_be_answered(client, desk, captcha_on):
    check_captcha_must_be_answered(client, desk)


def check_a_solved_captcha_works_once(client, desk):
    before = count(Ticket)
    answer, token = _question(client.get("/new").get_data(as_text=True))
    key = secrets.token_urlsafe(20)
    ok = new_ticket(client, desk, captcha_token=token, captcha_answer=str(answer), idempotency_key=key)
    assert ok.status_code == 302
    # The same form sent again (double click) still lands on its ticket...
    again = new_ticket(client, desk, captcha_token=token, captcha_answer=str(answer), idempotency_key=key)
    assert again.status_code == 302 and count(Ticket) == before + 1
    # ...but the solved question cannot be reused for another ticket.
    replay = new_ticket(client, desk, captcha_token=token, captcha_answer=str(answer), subject="Spam")
    assert replay.status_code == 400 and count(Ticket) == before + 1


def test_a_solved_captcha_works_once(client, desk, captcha_on):
    check_a_solved_captcha_works_once(client, desk)


def test_captcha_page_has_no_answer_in_it(client, desk, captcha_on):
    page = client.get("/new").get_data(as_text=True)
    answer, token = _question(page)
    import base64
    import json

    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert str(answer) not in json.dumps(payload).replace(payload["n"], "").replace(payload["h"], "")


# --- status checks --------------------------------------------------------------------------------


def test_number_and_email_never_show_the_thread(client, desk, make_ticket, inbox):
    """Verification on (the default): the answer is a mail with the link, never the ticket."""
    ticket = make_ticket(email="ken@example.net", subject="Mobile banking down", body="Secret outage details")
    tickets.reply(desk.tech, ticket, "Secret agent reply")
    for headers in ({}, {"HX-Request": "true"}):
        response = client.post("/status", data={"number": ticket.number, "email": "ken@example.net"},
                               headers=headers, follow_redirects=True)
        page = response.get_data(as_text=True)
        assert response.status_code == 200
        assert "Secret" not in page and "Mobile banking down" not in page and "/t/" not in page
    links = [m for mail in inbox.deliver().to("ken@example.net") if "Your link" in str(mail["Subject"])
             for m in re.findall(r"http://desk\.test(/t/\S+)", inbox.text(mail))]
    assert len(links) == 2  # the mailed step: one link per request
    assert "Mobile banking down" in client.get(links[0]).get_data(as_text=True)


def test_without_verification_number_and_email_open_the_ticket(client, desk, make_ticket, app):
    app.config["HELPDESK_STATUS_REQUIRES_MAIL"] = False
    ticket = make_ticket(email="ken@example.net", subject="Mobile banking down")
    assert "Open the ticket" in client.get("/status").get_data(as_text=True)
    response = client.post("/status", data={"number": ticket.number, "email": "KEN@example.net"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/t/")
    assert "Mobile banking down" in client.get(response.headers["Location"]).get_data(as_text=True)
    response = client.post("/status", data={"number": ticket.number, "email": "eve@example.net"})
    assert response.status_code == 404 and "Mobile banking down" not in response.get_data(as_text=True)
    response = client.post("/status", data={"number": ticket.number, "email": "ken@example.net"},
                           headers={"HX-Request": "true"})
    assert "Mobile banking down" in client.get(response.headers["HX-Redirect"]).get_data(as_text=True)


# --- mail headers and addresses -------------------------------------------------------------------


ONE_ADDRESS_PAYLOADS = [
    "a@x.org, b@y.org", "a@x.org;b@y.org", "a@x.org\nBcc: c@z.org", "a@x.org\r\nBcc: c@z.org",
    "Ken <a@x.org>", "a@x.org b@y.org", "<a@x.org>", "a@x.org%0ABcc:c@z.org",
]


def check_email_field_takes_one_address(client, desk, email):
    """Both public forms refuse anything but one plain address, and nothing is stored or queued."""
    before = count(Ticket), count(OutboxMail)
    response = new_ticket(client, desk, email=email)
    assert response.status_code == 400, f"new ticket with {email!r}: {response.status_code}"
    assert (count(Ticket), count(OutboxMail)) == before
    response = client.post("/status", data={"number": "ABCDEF", "email": email})
    assert response.status_code == 400, f"status check with {email!r}: {response.status_code}"


@pytest.mark.parametrize("email", ONE_ADDRESS_PAYLOADS)
def test_email_field_takes_one_address(client, desk, email):
    check_email_field_takes_one_address(client, desk, email)


INJECTED_NAME = "Ken\r\nBcc: victim@evil.example"
INJECTED_SUBJECT = "Help\r\nBcc: victim@evil.example\r\nX-Injected: yes"


def check_no_injected_headers(messages, evil: str = "victim@evil.example") -> None:
    """Mails written from a name and subject carrying CR/LF: each goes to its one recipient, with
    no header the text tried to add and a subject on one line."""
    assert messages, "no mail arrived (the check would prove nothing)"
    for msg in messages:
        assert evil not in msg.envelope_to, msg.envelope_to
        assert len(msg.envelope_to) == 1, msg.envelope_to
        assert msg["Bcc"] is None and msg["X-Injected"] is None, list(msg.keys())
        assert "\n" not in str(msg["Subject"]) and "\r" not in str(msg["Subject"])


def test_line_breaks_in_names_and_subjects_cannot_inject_headers(client, desk, inbox):
    response = new_ticket(client, desk, name=INJECTED_NAME, subject=INJECTED_SUBJECT)
    assert response.status_code == 302
    customer = db.session.scalar(select(Customer))
    assert "\n" not in customer.name and "\r" not in customer.name
    check_no_injected_headers(inbox.deliver().messages)


OWN_ADDRESS = "support@example.org"


def check_the_desk_never_mails_its_own_address(client, desk, inbox):
    """(MAIL_DEFAULT_SENDER set to support@example.org.) A customer (or a forged form) using the
    desk's own address gets no auto-response, and a row queued some other way is never sent."""
    assert new_ticket(client, desk, email="Support@Example.org").status_code == 302
    queued = [m.recipient for m in db.session.scalars(select(OutboxMail))]
    assert queued and OWN_ADDRESS not in queued  # the agents' alerts were queued, no acknowledgement
    # A row written some other way is still never sent.
    db.session.add(OutboxMail(event="test", recipient="SUPPORT@example.org", subject="loop", body_text="x",
                              body_html="<p>x</p>", message_id="<loop@desk.test>"))
    db.session.commit()
    inbox.deliver()
    assert not inbox.to("SUPPORT@example.org") and not inbox.to(OWN_ADDRESS)
    row = db.session.scalar(select(OutboxMail).where(OutboxMail.message_id == "<loop@desk.test>"))
    assert row.status == "failed" and "own address" in row.last_error


def test_the_desk_never_mails_its_own_address(client, desk, inbox, app):
    app.config["MAIL_DEFAULT_SENDER"] = f"Support Desk <{OWN_ADDRESS}>"
    check_the_desk_never_mails_its_own_address(client, desk, inbox)


def check_outgoing_mail_is_marked_auto_generated(client, desk, inbox):
    """Every mail says it is automatic, so out-of-office replies and other desks do not answer it."""
    new_ticket(client, desk)
    messages = inbox.deliver().messages
    assert messages
    for msg in messages:
        assert msg["Auto-Submitted"] == "auto-generated"


def test_outgoing_mail_is_marked_auto_generated(client, desk, inbox):
    check_outgoing_mail_is_marked_auto_generated(client, desk, inbox)


# --- uploads --------------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
HTML = b"<!doctype html><html><body><script>alert(1)</script></body></html>"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>'


@pytest.mark.parametrize("name, data", [
    ("page.html", HTML),
    ("page.txt", HTML),  # HTML content under an innocent name
    ("image.png", HTML),
    ("drawing.svg", SVG),
    ("drawing.png", SVG),
    ("report.pdf.html", b"%PDF-1.4\n" + HTML),
    ("photo.png.svg", PNG + SVG),
    ("invoice.html.pdf", HTML),
    ("run.exe", b"MZ\x90\x00" + b"\x00" * 60),
    ("polyglot.png.html", PNG + HTML),
])
def test_hostile_uploads_are_refused(client, desk, name, data):
    response = new_ticket(client, desk, attachments=[(io.BytesIO(data), name)])
    assert response.status_code == 400, name
    assert "cannot be attached" in response.get_data(as_text=True)
    assert count(Ticket) == 0 and count(OutboxMail) == 0


def test_a_png_polyglot_is_only_ever_downloaded(client, desk, login):
    """Bytes that are a real PNG (with HTML after them) are kept as an image, and served as a
    download with nosniff and a sandbox, so the HTML inside can never run."""
    assert new_ticket(client, desk, attachments=[(io.BytesIO(PNG + HTML), "shot.png")]).status_code == 302
    ticket = db.session.scalar(select(Ticket))
    att = ticket.entries[0].attachments[0]
    assert att.content_type == "image/png" and att.filename == "shot.png"
    for url in (f"/t/{access_token(ticket)}/files/{att.id}",):
        response = client.get(url)
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert response.headers["Content-Type"] == "image/png"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response.headers["Content-Security-Policy"]
    login(desk.tech)
    response = client.get(f"/agent/files/{att.id}")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in response.headers["Content-Security-Policy"]


def test_upload_size_and_count_are_enforced(client, desk, app):
    app.config["HELPDESK_MAX_ATTACHMENT_MB"] = 1
    big = io.BytesIO(b"a" * (1024 * 1024 + 1))
    response = new_ticket(client, desk, attachments=[(big, "big.txt")])
    assert response.status_code == 400 and "larger than 1 MB" in response.get_data(as_text=True)
    many = [(io.BytesIO(b"x"), f"f{i}.txt") for i in range(app.config["HELPDESK_MAX_ATTACHMENTS"] + 1)]
    response = new_ticket(client, desk, attachments=many)
    assert response.status_code == 400 and "At most" in response.get_data(as_text=True)
    assert count(Ticket) == 0


def test_stored_files_live_outside_static_under_random_names(client, desk, app):
    from pathlib import Path

    new_ticket(client, desk, attachments=[(io.BytesIO(b"hello"), "../../static/evil.txt")])
    att = db.session.scalar(select(Ticket)).entries[0].attachments[0]
    assert "/" not in att.filename and ".." not in att.filename
    stored = list(Path(app.config["HELPDESK_UPLOAD_DIR"]).rglob("*"))
    files = [p for p in stored if p.is_file()]
    assert len(files) == 1 and files[0].name == att.storage_key and "evil" not in str(files[0])
    assert not Path(app.static_folder, "evil.txt").exists()
    assert client.get("/static/evil.txt").status_code == 404


# --- NUL bytes (PostgreSQL cannot store them) -----------------------------------------------------


def test_nul_bytes_are_refused_before_they_reach_the_database(client, desk, login, make_ticket):
    ticket = make_ticket()
    response = new_ticket(client, desk, description="a\x00b")
    assert response.status_code == 400 and "NUL byte" in response.get_data(as_text=True)
    assert count(Ticket) == 1
    assert client.post(f"/t/{access_token(ticket)}/reply", data={"body": "x\x00"}).status_code == 400
    assert client.post("/login", data={"email": "a\x00@example.com", "password": "x" * 10}).status_code == 400
    login(desk.manager)
    assert client.get("/agent/queue/closed", query_string={"q": "a\x00b"}).status_code == 400
    assert client.get("/agent/tickets/AB%00C").status_code == 400
    response = client.post(f"/agent/tickets/{ticket.number}/reply", data={"body": "x\x00y", "version": ticket.version},
                           headers={"HX-Request": "true"})
    assert response.status_code == 400 and count(Ticket) == 1
