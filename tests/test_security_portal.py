"""The public side: CAPTCHA, status checks that never show a thread without the mail step,
mail header injection, one address per field, no mail to our own address, hostile uploads.

The status-check and upload checks are functions returning what they found wrong, so that
test_security_variants_access.py can show each of them failing on a vulnerable variant."""
from __future__ import annotations

import base64
import io
import json
import re
import secrets
import time

import altcha
import pytest
from sqlalchemy import func, select

from helpdesk import tickets
from helpdesk.extensions import db
from helpdesk.models import Customer, OutboxMail, Ticket
from helpdesk.security import access_token, captcha
from support.pages import without_tokens
from support.rows import count

FORM = {"name": "Ken", "email": "ken@example.net", "subject": "Printer on fire", "description": "Really."}


def new_ticket(client, desk, **data):
    values = {**FORM, "topic": desk.topics["General inquiry"].id, "idempotency_key": secrets.token_urlsafe(20), **data}
    return client.post("/new", data=values)


# --- CAPTCHA (ALTCHA proof of work) -------------------------------------------------------------

WIDGET = re.compile(r'<altcha-widget challenge="([^"]+)" name="altcha"')


@pytest.fixture
def captcha_on(app):
    app.config["HELPDESK_CAPTCHA"] = True


def _challenge(client) -> altcha.Challenge:
    """A fresh challenge from the URL the form's widget reads."""
    url = WIDGET.search(client.get("/new").get_data(as_text=True)).group(1)
    response = client.get(url)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    return altcha.Challenge.from_dict(response.get_json())


def solve(client) -> str:
    """The widget's payload for a fresh challenge, found by brute force as the widget finds it."""
    challenge = _challenge(client)
    return altcha.Payload(challenge, altcha.solve_challenge(challenge)).to_base64()


def _payload(data) -> str:
    return base64.b64encode(json.dumps(data).encode()).decode()


def test_captcha_is_off_by_default(client, desk):
    assert "altcha" not in client.get("/new").get_data(as_text=True)
    assert client.get("/captcha/challenge").status_code == 404
    assert new_ticket(client, desk).status_code == 302


def check_captcha_must_be_answered(client, desk):
    """A missing, forged or wrong solution opens nothing and keeps what was typed; a right one opens the ticket."""
    before = count(Ticket)
    response = new_ticket(client, desk, subject="Printer still on fire")  # no solution: no JavaScript
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "did not finish" in page and "Printer still on fire" in page
    assert count(Ticket) == before
    challenge = _challenge(client)
    response = new_ticket(client, desk, altcha=_payload({"challenge": challenge.to_dict(),
                                                         "solution": {"counter": 1, "derivedKey": "00" * 32}}))
    assert response.status_code == 400 and "failed or has expired" in response.get_data(as_text=True)
    assert count(Ticket) == before
    assert new_ticket(client, desk, altcha=solve(client)).status_code == 302
    assert count(Ticket) == before + 1


def test_captcha_must_be_answered(client, desk, captcha_on):
    check_captcha_must_be_answered(client, desk)


def check_a_solved_captcha_works_once(client, desk):
    before = count(Ticket)
    payload = solve(client)
    key = secrets.token_urlsafe(20)
    ok = new_ticket(client, desk, altcha=payload, idempotency_key=key)
    assert ok.status_code == 302
    # The same form sent again (double click) still lands on its ticket...
    again = new_ticket(client, desk, altcha=payload, idempotency_key=key)
    assert again.status_code == 302 and count(Ticket) == before + 1
    # ...but the solved challenge cannot be reused for another ticket.
    replay = new_ticket(client, desk, altcha=payload, subject="Spam")
    assert replay.status_code == 400 and count(Ticket) == before + 1
    assert "failed or has expired" in replay.get_data(as_text=True)


def test_a_solved_captcha_works_once(client, desk, captcha_on):
    check_a_solved_captcha_works_once(client, desk)


def _garbage(client, app) -> dict[str, str]:
    """Payloads that must each be refused: not base64, not the right JSON, forged, expired, off by one."""
    challenge = _challenge(client)  # each wrong solution gets its own challenge: none is refused as spent
    solution = altcha.solve_challenge(challenge)
    params = challenge.parameters
    off_by_one = altcha.Solution(solution.counter + 1, altcha.derive_key_pbkdf2(
        params, bytes.fromhex(params.salt), bytes.fromhex(params.nonce) + (solution.counter + 1).to_bytes(4, "big")).hex())
    not_hex = _challenge(client)
    forged = altcha.create_challenge(captcha.ALGORITHM, 1, counter=1, hmac_secret="not the desk's key")
    other = altcha.create_challenge(captcha.ALGORITHM, 1, counter=1, expires_at=int(time.time()) + 600,
                                    hmac_secret=app.config["SECRET_KEY"])
    with app.test_request_context():
        key = captcha._key("challenge")
    expired = altcha.create_challenge(captcha.ALGORITHM, 1, counter=1, expires_at=int(time.time()) - 1, hmac_secret=key)
    unsigned = altcha.create_challenge(captcha.ALGORITHM, 1, counter=1)
    return {
        "not base64": "%%% not base64 %%%",
        "base64 of text": base64.b64encode(b"hello").decode(),
        "a JSON number": _payload(42),
        "a JSON list": _payload([1, 2]),
        "a JSON string": _payload("challenge"),
        "no solution": _payload({"challenge": challenge.to_dict()}),
        "wrong field types": _payload({"challenge": {"parameters": "x", "signature": 5}, "solution": []}),
        "nested garbage": _payload({"challenge": {"parameters": {"algorithm": None}}, "solution": {"counter": "x"}}),
        "too long": "A" * 5000,
        "the counter off by one": altcha.Payload(challenge, off_by_one).to_base64(),
        "a key that is not hex": altcha.Payload(not_hex, altcha.Solution(solution.counter, "zz")).to_base64(),
        "a challenge signed with another key": altcha.Payload(forged, altcha.solve_challenge(forged)).to_base64(),
        "signed with SECRET_KEY itself": altcha.Payload(other, altcha.solve_challenge(other)).to_base64(),
        "an expired challenge": altcha.Payload(expired, altcha.solve_challenge(expired)).to_base64(),
        "an unsigned challenge": altcha.Payload(unsigned, altcha.solve_challenge(unsigned)).to_base64(),
    }


def test_a_garbage_or_wrong_solution_is_a_form_error_and_opens_nothing(client, desk, app, captcha_on):
    before = count(Ticket)
    for what, payload in _garbage(client, app).items():
        response = new_ticket(client, desk, altcha=payload, subject=f"Kept: {what}")
        page = response.get_data(as_text=True)
        assert response.status_code == 400, what
        assert "failed or has expired" in page and f"Kept: {what}" in page, what
    assert count(Ticket) == before


def check_a_wrong_solution_uses_up_its_challenge(client, desk):
    """A wrong guess is not followed by another for the same challenge: the first submission spends it."""
    challenge = _challenge(client)
    solution = altcha.solve_challenge(challenge)
    guess = altcha.Solution(solution.counter - 1, solution.derived_key)
    assert new_ticket(client, desk, altcha=altcha.Payload(challenge, guess).to_base64()).status_code == 400
    right = new_ticket(client, desk, altcha=altcha.Payload(challenge, solution).to_base64())
    assert right.status_code == 400 and "failed or has expired" in right.get_data(as_text=True)
    assert new_ticket(client, desk, altcha=solve(client)).status_code == 302


def test_a_wrong_solution_uses_up_its_challenge(client, desk, captcha_on):
    check_a_wrong_solution_uses_up_its_challenge(client, desk)


def test_a_correct_solution_opens_exactly_one_ticket(client, desk, captcha_on):
    before = count(Ticket)
    payload = solve(client)
    assert new_ticket(client, desk, altcha=payload, subject="First").status_code == 302
    assert new_ticket(client, desk, altcha=payload, subject="Second").status_code == 400
    db.session.expire_all()
    assert count(Ticket) == before + 1
    assert db.session.scalar(select(func.count()).select_from(Ticket).where(Ticket.subject == "Second")) == 0


def test_the_challenge_carries_no_answer_and_expires(client, desk, captcha_on):
    """The page and the challenge hold no solution (a regular expression finds nothing to copy); the
    challenge lasts at most twenty minutes and asks for at least MIN_COUNTER key derivations."""
    challenge = _challenge(client)
    text = json.dumps(challenge.to_dict())
    assert "counter" not in text and "derivedKey" not in text
    assert time.time() + 60 < challenge.parameters.expires_at <= time.time() + 20 * 60 + 1
    assert challenge.parameters.cost == captcha.COST
    solution = altcha.solve_challenge(challenge)
    assert captcha.MIN_COUNTER <= solution.counter < captcha.MIN_COUNTER + captcha.SPREAD


def test_without_javascript_the_form_says_what_to_do(client, desk, app, captcha_on):
    app.config["MAIL_DEFAULT_SENDER"] = "Help desk <help@example.org>"
    page = client.get("/new").get_data(as_text=True)
    noscript = re.search(r'<noscript>\s*(<p class="captcha-noscript">.*?)</noscript>', page, re.S).group(1)
    assert "needs JavaScript" in noscript and 'href="mailto:help@example.org"' in noscript


# --- status checks --------------------------------------------------------------------------------


def status_check_problems(client, desk, make_ticket, inbox) -> list[str]:
    """Verification on: number + email (right or wrong) answer the same, show no thread and no
    link; the right pair mails the link, which opens the ticket."""
    ticket = make_ticket(email="ken@example.net", subject="Mobile banking down", body="Secret outage details")
    tickets.reply(desk.tech, ticket, "Secret agent reply")
    problems = []
    for headers in ({}, {"HX-Request": "true"}):
        pages = []
        for email in ("ken@example.net", "eve@example.net"):
            response = client.post("/status", data={"number": ticket.number, "email": email},
                                   headers=headers, follow_redirects=True)
            page = response.get_data(as_text=True)
            if response.status_code != 200 or "Secret" in page or "Mobile banking down" in page or "/t/" in page:
                problems.append(f"the status check for {email} {headers} showed the ticket ({response.status_code})")
            pages.append(without_tokens(page))
        if pages[0] != pages[1]:
            problems.append(f"the right and a wrong address get different answers {headers}")
    links = [m for mail in inbox.deliver().to("ken@example.net") if "Your link" in str(mail["Subject"])
             for m in re.findall(r"http://desk\.test(/t/\S+)", inbox.text(mail))]
    if len(links) != 2:  # the mailed step: one link per request
        problems.append(f"{len(links)} links mailed for two requests")
    elif "Mobile banking down" not in client.get(links[0]).get_data(as_text=True):
        problems.append("the mailed link does not open the ticket")
    if inbox.to("eve@example.net"):
        problems.append("a wrong address was mailed")
    return problems


def test_number_and_email_never_show_the_thread(client, desk, make_ticket, inbox):
    """Verification on (the default): the answer is a mail with the link, never the ticket."""
    assert status_check_problems(client, desk, make_ticket, inbox) == []


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


# --- customer access links -----------------------------------------------------------------------


def access_link_problems(client, desk, make_ticket, monkeypatch) -> list[str]:
    """A customer's link opens its own ticket and nothing else; a link signed with another key, a
    tampered one, one past the admin's `access_link_days`, one revoked by "send a new link", and a
    collaborator's link once they are off copy or past those days: all 404, showing no thread."""
    import base64
    import json
    import time

    from itsdangerous import URLSafeTimedSerializer

    from helpdesk import settings
    from helpdesk.security import collaborator_token

    ken = make_ticket(email="ken@example.net", subject="Mobile banking down")
    make_ticket(email="eve@example.net", subject="Payroll secrets")
    problems = []

    def opens(token: str, what: str, expected: bool) -> None:
        page = client.get(f"/t/{token}")
        shown = "Mobile banking down" in page.get_data(as_text=True) or "Payroll" in page.get_data(as_text=True)
        if expected and page.status_code != 200:
            problems.append(f"{what} did not open: {page.status_code}")
        elif not expected and (page.status_code != 404 or shown):
            problems.append(f"{what} opened: {page.status_code}")

    token = access_token(ken)
    opens(token, "the customer's link", True)
    if "Payroll secrets" in client.get(f"/t/{token}").get_data(as_text=True):
        problems.append("the customer's link shows another ticket")
    forged = URLSafeTimedSerializer("not-our-key", salt="helpdesk.ticket-access").dumps(
        {"t": ken.id, "n": ken.access_nonce})
    opens(forged, "a link signed with another key", False)
    payload, rest = token.split(".", 1)
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    other = base64.urlsafe_b64encode(json.dumps({**data, "t": ken.id + 1}, separators=(",", ":")).encode())
    opens(other.decode().rstrip("=") + "." + rest, "a link re-pointed at another ticket", False)

    collab = tickets.add_collaborator(desk.tech, ken, "cc@example.net", "Cc")
    cc_token = collaborator_token(collab)
    opens(cc_token, "a collaborator's link", True)
    # The admin shortens links to a week: a link eight days old is dead, six days old still works.
    settings.save({"access_link_days": 7})
    db.session.commit()
    real = time.time
    for days, expected in ((6, True), (8, False)):
        monkeypatch.setattr(time, "time", lambda d=days: real() + d * 86400)
        opens(token, f"a customer's link {days} days old", expected)
        opens(cc_token, f"a collaborator's link {days} days old", expected)
    monkeypatch.setattr(time, "time", real)

    tickets.new_access_link(desk.tech, ken)
    opens(token, "a link revoked by a new one", False)
    if client.post(f"/t/{token}/reply", data={"body": "hello"}).status_code != 404:
        problems.append("a revoked link took a reply")
    opens(access_token(ken), "the new link", True)
    tickets.remove_collaborator(desk.tech, ken, collab)
    opens(cc_token, "the link of someone taken off copy", False)
    return problems


def test_access_links_are_signed_scoped_expiring_and_revocable(client, desk, make_ticket, monkeypatch):
    assert access_link_problems(client, desk, make_ticket, monkeypatch) == []


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


HOSTILE_UPLOADS = [
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
]


def hostile_upload_accepted(client, desk, name, data) -> str | None:
    """What went wrong when a hostile file was sent with a new ticket; None if it was refused."""
    before = count(Ticket), count(OutboxMail)
    response = new_ticket(client, desk, attachments=[(io.BytesIO(data), name)])
    if response.status_code != 400 or "cannot be attached" not in response.get_data(as_text=True):
        return f"{name} got {response.status_code}"
    if (count(Ticket), count(OutboxMail)) != before:
        return f"{name} was refused but left a ticket or a mail"
    return None


@pytest.mark.parametrize("name, data", HOSTILE_UPLOADS)
def test_hostile_uploads_are_refused(client, desk, name, data):
    assert hostile_upload_accepted(client, desk, name, data) is None


def download_problems(client, desk, login) -> list[str]:
    """A PNG with HTML after it, downloaded by the customer and by an agent: kept as an image,
    served as an attachment with its stored type, nosniff and a sandboxing CSP."""
    assert new_ticket(client, desk, attachments=[(io.BytesIO(PNG + HTML), "shot.png")]).status_code == 302
    ticket = db.session.scalar(select(Ticket))
    att = ticket.entries[0].attachments[0]
    problems = []
    if att.content_type != "image/png" or att.filename != "shot.png":
        problems.append(f"stored as {att.content_type} {att.filename}")
    for who, url in (("customer", f"/t/{access_token(ticket)}/files/{att.id}"), ("agent", f"/agent/files/{att.id}")):
        if who == "agent":
            login(desk.tech)
        response = client.get(url)
        headers = response.headers
        if response.status_code != 200:
            problems.append(f"{who} download: {response.status_code}")
        if not headers.get("Content-Disposition", "").startswith("attachment;"):
            problems.append(f"{who} download not an attachment: {headers.get('Content-Disposition')!r}")
        if headers.get("Content-Type") != "image/png":
            problems.append(f"{who} download served as {headers.get('Content-Type')!r}")
        if headers.get("X-Content-Type-Options") != "nosniff":
            problems.append(f"{who} download without nosniff")
        if "sandbox" not in headers.get("Content-Security-Policy", ""):
            problems.append(f"{who} download without a sandboxing CSP")
    return problems


def test_a_png_polyglot_is_only_ever_downloaded(client, desk, login):
    """Bytes that are a real PNG (with HTML after them) are kept as an image, and served as a
    download with nosniff and a sandbox, so the HTML inside can never run."""
    assert download_problems(client, desk, login) == []


def upload_limit_problems(client, desk, app) -> list[str]:
    """A file one byte over the size limit, and one file more than the count limit: refused."""
    app.config["HELPDESK_MAX_ATTACHMENT_MB"] = 1
    problems = []
    big = io.BytesIO(b"a" * (1024 * 1024 + 1))
    response = new_ticket(client, desk, attachments=[(big, "big.txt")])
    if response.status_code != 400 or "larger than 1 MB" not in response.get_data(as_text=True):
        problems.append(f"a file over the size limit got {response.status_code}")
    many = [(io.BytesIO(b"hello\n"), f"f{i}.txt") for i in range(app.config["HELPDESK_MAX_ATTACHMENTS"] + 1)]
    response = new_ticket(client, desk, attachments=many)
    if response.status_code != 400 or "At most" not in response.get_data(as_text=True):
        problems.append(f"one file too many got {response.status_code}")
    if count(Ticket):
        problems.append(f"{count(Ticket)} tickets opened")
    return problems


def test_upload_size_and_count_are_enforced(client, desk, app):
    assert upload_limit_problems(client, desk, app) == []


def storage_problems(client, desk, app) -> list[str]:
    """A file named to escape the upload folder: kept under a random name, outside static/, and
    not reachable through /static/."""
    from pathlib import Path

    new_ticket(client, desk, attachments=[(io.BytesIO(b"hello"), "../../static/evil.txt")])
    att = db.session.scalar(select(Ticket)).entries[0].attachments[0]
    problems = []
    if "/" in att.filename or ".." in att.filename:
        problems.append(f"the name kept its path: {att.filename}")
    files = [p for p in Path(app.config["HELPDESK_UPLOAD_DIR"]).rglob("*") if p.is_file()]
    if len(files) != 1 or files[0].name != att.storage_key or "evil" in str(files[0]) or len(att.storage_key) < 32:
        problems.append(f"not stored under a random name: {[str(f) for f in files]}")
    static = Path(app.static_folder).resolve()
    if Path(app.static_folder, "evil.txt").exists() or any(static in f.resolve().parents for f in files):
        problems.append("stored under static/")
    for url in ["/static/evil.txt"] + [f"/static/{f.resolve().relative_to(static)}" for f in files
                                        if static in f.resolve().parents]:
        if client.get(url).status_code != 404:
            problems.append(f"served at {url}")
    return problems


def test_stored_files_live_outside_static_under_random_names(client, desk, app):
    assert storage_problems(client, desk, app) == []


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
