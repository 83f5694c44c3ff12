"""Mail in through `flask mail pipe` and mailin.take_in, with the real messages under tests/mail/:
new tickets, replies threaded by header or by subject, charsets, attachments, HTML, loops, and
messages that cannot be read."""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from factories import make_mailbox
from helpdesk import mailin, tickets
from helpdesk.extensions import db
from helpdesk.mailin import parsing as mail_parse
from helpdesk.models import (
    FailedMail,
    OutboxMail,
    ProcessedMail,
    Ticket,
)
from regex_cost import HOSTILE_BODIES, cpu_budget, hostile_mail
from support.rows import count, entries

MAIL = Path(__file__).parent / "mail"


def eml(name: str, **values) -> bytes:
    raw = (MAIL / name).read_bytes()
    for key, value in values.items():
        raw = raw.replace(b"{" + key.encode() + b"}", value.encode())
    return raw


TRUSTED_MX = "mx.desk.test"


@pytest.fixture
def trusted_mx(app):
    """The desk's own receiving server, whose Authentication-Results the desk trusts."""
    app.config["HELPDESK_MAIL_TRUSTED_AUTHSERV_ID"] = TRUSTED_MX
    return TRUSTED_MX


def authenticated(raw: bytes, domain: str, authserv: str = TRUSTED_MX, above: str = "") -> bytes:
    """The mail as the desk's mail server hands it on: its Authentication-Results on top
    (`above`: headers a later hop put above it)."""
    header = (f"Authentication-Results: {authserv}; spf=pass smtp.mailfrom={domain};\n"
              f" dkim=pass header.d={domain} header.s=sel; dmarc=pass (p=reject) header.from={domain}\n")
    return (above + header).encode() + raw


def desk_mail_to(ticket, address: str) -> str:
    """The Message-ID of the desk's latest mail about this ticket to this address."""
    return db.session.scalar(select(OutboxMail.message_id).where(
        OutboxMail.ticket_id == ticket.id, OutboxMail.recipient == address).order_by(OutboxMail.id.desc()).limit(1))


@pytest.fixture
def alice_ticket(desk, inbox):
    """Alice's printer ticket, opened by mail, with Tom's reply mailed to her."""
    outcome = mailin.take_in(eml("plain.eml"))
    assert outcome.outcome == "created"
    ticket = outcome.ticket
    tickets.reply(desk.tech, ticket, "Please restart the printer and try again.")
    inbox.deliver()
    return ticket


def test_plain_mail_opens_a_ticket_and_acknowledges_it(desk, inbox):
    outcome = mailin.take_in(eml("plain.eml"))
    t = outcome.ticket
    assert outcome.outcome == "created" and t.source == "email" and t.status == "new"
    assert t.subject == "Printer on the second floor is jammed"
    assert t.customer.email == "alice@example.net" and t.customer.name == "Alice Example"
    assert "jams on every page" in entries(t)[0].body and entries(t)[0].customer_id == t.customer_id
    inbox.deliver()
    [ack] = inbox.to("alice@example.net")
    assert str(ack["Subject"]).strip().startswith(f"[#{t.number}] We received your request")
    # the same message again (the MTA retried) is taken once
    assert mailin.take_in(eml("plain.eml")).outcome == "duplicate"
    assert count(Ticket) == 1


def test_html_mail_is_reduced_to_safe_text(desk):
    t = mailin.take_in(eml("html.eml")).ticket
    entry = entries(t)[0]
    assert "invoice 2026-114 charges us twice" in entry.body
    assert "- Line 3" in entry.body and "Bob <script>" in entry.body
    for bad in ("alert", "onclick", "onerror", "tracker.example", "color: red"):
        assert bad not in entry.body and bad not in entry.body_html
    assert "<script>" not in entry.body_html and "&lt;script&gt;" in entry.body_html


def test_attachments_and_inline_images_are_kept_and_refused_ones_noted(desk, app):
    t = mailin.take_in(eml("multipart_attachments.eml")).ticket
    entry = entries(t)[0]
    assert entry.body.startswith("The app shows the error in the screenshot.")  # the text/plain part
    names = sorted(a.filename for a in entry.attachments)
    assert names == ["app.log.txt", "error.png", "inline-1.png"]
    assert {a.content_type for a in entry.attachments} == {"image/png", "text/plain"}
    assert "Not attached:\n- fix.exe: fix.exe: files of this type cannot be attached." in entry.body
    for a in entry.attachments:
        assert (Path(app.config["HELPDESK_UPLOAD_DIR"]) / a.storage_key[:2] / a.storage_key).is_file()


@pytest.mark.parametrize("name, subject, text, who", [
    ("latin1.eml", "Rechnung für März", "Grüße aus Köln: die Rechnung für März fehlt.", "Daniel Müller"),
    ("shift_jis.eml", "プリンター故障", "プリンターが動きません。至急対応をお願いします。", "山田太郎"),
])
def test_non_utf8_charsets(desk, name, subject, text, who):
    t = mailin.take_in(eml(name)).ticket
    assert t.subject == subject and t.customer.name == who
    assert text in entries(t)[0].body


def test_broken_mime_is_read_as_far_as_it_goes(desk):
    outcome = mailin.take_in(eml("broken_mime.eml"))
    t = outcome.ticket
    assert outcome.outcome == "created"
    body = entries(t)[0].body
    assert "The VPN drops every ten minutes. Café wifi or not." in body
    assert "Not attached:" in body and "report.pdf" in body


def test_unreadable_mail_is_kept_raw_and_shown_to_admins(desk, client, login):
    raw = eml("broken.eml")
    outcome = mailin.take_in(raw, source="pipe")
    assert outcome.outcome == "failed" and count(Ticket) == 0
    [kept] = db.session.scalars(select(FailedMail)).all()
    assert kept.raw == raw and "From address" in kept.error
    assert mailin.take_in(raw).outcome == "duplicate" and count(FailedMail) == 1  # reported once
    login(desk.manager)
    page = client.get("/admin/failed-mail").get_data(as_text=True)
    assert "no usable From address" in page
    download = client.get(f"/admin/failed-mail/{kept.id}.eml")
    assert download.data == raw and "attachment" in download.headers["Content-Disposition"]


def test_reply_threaded_by_header_lands_in_the_thread_without_the_quote(alice_ticket, inbox, desk):
    outgoing = db.session.scalar(select(OutboxMail).where(OutboxMail.ticket_id == alice_ticket.id,
                                                          OutboxMail.event == "reply"))
    outcome = mailin.take_in(eml("reply_header.eml", IN_REPLY_TO=outgoing.message_id))
    assert outcome.outcome == "replied" and outcome.ticket.id == alice_ticket.id
    last = entries(alice_ticket)[-1]
    assert last.kind == "message" and last.body == "It works again after the restart, thank you!"
    assert count(Ticket) == 1
    inbox.deliver()
    assert any("Customer replied" in s for s in inbox.subjects(desk.tech.email))


def test_reply_threaded_only_by_subject(alice_ticket):
    outcome = mailin.take_in(eml("reply_subject.eml", NUMBER=alice_ticket.number))
    assert outcome.outcome == "replied" and outcome.ticket.id == alice_ticket.id
    assert entries(alice_ticket)[-1].body == "Sorry, it jams again now."


def test_reply_reopens_a_resolved_ticket_and_a_stale_one_opens_a_new_ticket(alice_ticket, desk, app):
    tickets.resolve(desk.tech, alice_ticket, "Replaced the drum.")
    outcome = mailin.take_in(eml("reply_subject.eml", NUMBER=alice_ticket.number))
    assert outcome.outcome == "replied" and db.session.get(Ticket, alice_ticket.id).status == "open"
    # closed longer ago than HELPDESK_REOPEN_DAYS: a new ticket that points at the old one
    t = db.session.get(Ticket, alice_ticket.id)
    tickets.close(desk.tech, t)
    t.closed_at = t.closed_at.replace(year=t.closed_at.year - 1)
    db.session.commit()
    raw = eml("reply_subject.eml", NUMBER=alice_ticket.number).replace(b"reply-subject-1@", b"reply-subject-2@")
    outcome = mailin.take_in(raw)
    assert outcome.outcome == "created" and outcome.ticket.id != alice_ticket.id
    assert f"A follow-up to ticket #{alice_ticket.number}" in entries(outcome.ticket)[0].body


def test_a_reply_from_a_stranger_opens_a_new_ticket(alice_ticket):
    raw = eml("reply_subject.eml", NUMBER=alice_ticket.number).replace(b"From: alice@example.net",
                                                                       b"From: mallory@example.org")
    outcome = mailin.take_in(raw)
    assert outcome.outcome == "created" and outcome.ticket.customer.email == "mallory@example.org"
    assert len(entries(alice_ticket)) == 2  # nothing added to Alice's ticket


def test_a_collaborator_replies_by_mail(alice_ticket, desk):
    collab = tickets.add_collaborator(desk.tech, alice_ticket, "vendor@printers.example", "Printer Vendor")
    raw = eml("reply_subject.eml", NUMBER=alice_ticket.number).replace(b"From: alice@example.net",
                                                                       b"From: vendor@printers.example")
    outcome = mailin.take_in(raw)
    assert outcome.outcome == "replied"
    last = entries(alice_ticket)[-1]
    assert last.collaborator_id == collab.id and last.customer_id is None and last.author_name == "Printer Vendor"


def check_ignored(raw: bytes, reason: str = "") -> None:
    """Automatic mail (auto-replies, bounces, lists, our own) opens no ticket and gets no answer."""
    before = count(Ticket), count(OutboxMail)
    outcome = mailin.take_in(raw)
    assert outcome.outcome == "ignored", outcome.outcome
    assert reason in outcome.note
    assert (count(Ticket), count(OutboxMail)) == before


@pytest.mark.parametrize("name, reason", [
    ("auto_reply.eml", "Auto-Submitted: auto-replied"),
    ("bounce.eml", "a bounce"),
])
def test_auto_replies_and_bounces_never_open_tickets_or_get_mail(desk, inbox, name, reason):
    check_ignored(eml(name), reason)
    assert count(Ticket) == 0 and count(OutboxMail) == 0
    assert db.session.scalar(select(ProcessedMail.outcome)) == "ignored"


def test_an_auto_reply_to_a_ticket_is_not_added(alice_ticket):
    raw = eml("auto_reply.eml").replace(b"Subject: Automatic reply:", f"Subject: [#{alice_ticket.number}]".encode())
    assert mailin.take_in(raw).outcome == "ignored"
    assert len(entries(alice_ticket)) == 2


LOOP_HEADERS = ["Precedence: bulk", "Precedence: auto_reply", "X-Autoreply: yes",
                "From: helpdesk@desk.test", "From: support@example.com"]


def loop_mail(header: str) -> bytes:
    """plain.eml with one header changed or added."""
    raw = eml("plain.eml")
    if header.startswith("From:"):
        return raw.replace(b"From: Alice Example <Alice@Example.NET>", header.encode())
    return raw.replace(b"MIME-Version: 1.0", f"{header}\nMIME-Version: 1.0".encode())


@pytest.mark.parametrize("header", LOOP_HEADERS)
def test_more_loop_guards(desk, header):
    check_ignored(loop_mail(header))
    assert count(Ticket) == 0


def check_acknowledgements_are_rate_limited(app) -> None:
    app.config["HELPDESK_MAIL_ACKS_PER_HOUR"] = 2
    for n in range(4):
        raw = eml("plain.eml").replace(b"plain-1@", f"plain-{n}-x@".encode())
        assert mailin.take_in(raw).outcome == "created"
    acks = db.session.scalar(select(func.count(OutboxMail.id)).where(
        OutboxMail.recipient == "alice@example.net", OutboxMail.event == "created"))
    assert count(Ticket) == 4 and acks == 2


def test_acknowledgements_to_one_sender_are_rate_limited(desk, app):
    check_acknowledgements_are_rate_limited(app)


def test_mailbox_department_and_topic(desk):
    box = make_mailbox("IT", department=desk.departments["IT Operations"], topic=desk.topics["Billing question"],
                       host="imap.example.com", username="it@example.com", password="x")
    t = mailin.take_in(eml("plain.eml"), mailbox=box).ticket
    assert t.department.name == "IT Operations" and t.topic.name == "Billing question"


def test_quote_trimming():
    text = "Yes, fixed.\n\nOn Mon, 1 Dec 2026 at 10:00, Helpdesk\n<helpdesk@desk.test> wrote:\n> old\n> older\n"
    assert mailin.trim_quoted(text) == "Yes, fixed."
    assert mailin.trim_quoted("Thanks\n> quoted\n>> more\n") == "Thanks"
    assert mailin.trim_quoted("> only a quote") == "> only a quote"
    outlook = "Fine now.\n\n________________________________\nFrom: Helpdesk\nSent: today\n\nold text"
    assert mailin.trim_quoted(outlook) == "Fine now."


def test_flask_mail_pipe_command(desk, app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["mail", "pipe"], input=eml("latin1.eml"))
    assert result.exit_code == 0, result.output
    number = result.output.split("#")[1].split()[0]
    t = db.session.scalar(select(Ticket).where(Ticket.number == number))
    assert t.subject == "Rechnung für März" and t.source == "email"
    again = runner.invoke(args=["mail", "pipe"], input=eml("latin1.eml"))
    assert again.output.startswith("duplicate")
    assert runner.invoke(args=["mail", "pipe"], input=eml("bounce.eml")).output.startswith("ignored")
    assert runner.invoke(args=["mail", "pipe", "--mailbox", "nope"], input=b"x").exit_code != 0


@pytest.mark.parametrize("name", sorted(HOSTILE_BODIES))
def test_megabyte_sized_hostile_mail_is_piped_in_linear_time(desk, app, name):
    """A mail of 1.2 MB built on the old patterns' worst cases (e.g. "<li" * 400,000, "<br" and a
    million spaces) is taken in with little CPU (it cost minutes when regular expressions ran over
    the markup), and what was cut is said in the ticket."""
    runner = app.test_cli_runner()
    start = time.process_time()
    with cpu_budget(60):  # a generous budget that only stops a run that would take many minutes
        result = runner.invoke(args=["mail", "pipe"], input=hostile_mail(name))
    spent = time.process_time() - start
    assert result.exit_code == 0 and result.output.startswith("created"), result.output
    assert spent < 60
    ticket = db.session.scalar(select(Ticket).where(Ticket.subject == f"Hostile {name}"))
    [entry] = entries(ticket)
    assert len(entry.body) <= tickets.BODY_MAX
    if HOSTILE_BODIES[name][0] == "html":
        assert entry.body.endswith("[The rest of this mail was cut: it was too long.]")
    assert entry.body.strip()


def test_a_cut_mail_says_so_but_a_cut_in_its_quoted_history_does_not(desk):
    long_text = "Please help.\n" + "word " * (mail_parse.TEXT_MAX // 5)
    quoted = "Please help.\n\nOn Mon, 1 Dec 2026, Helpdesk wrote:\n" + "> old\n" * mail_parse.TEXT_MAX
    for text, cut in ((long_text, True), (quoted, False)):
        raw = (f"From: a@example.net\r\nSubject: long {cut}\r\nMessage-ID: <long-{cut}@example.net>\r\n"
               f"Content-Type: text/plain\r\n\r\n{text}").encode()
        body = entries(mailin.take_in(raw).ticket)[0].body
        assert body.startswith("Please help.")
        assert body.endswith("[The rest of this mail was cut: it was too long.]") is cut


# --- agents answering by mail -----------------------------------------------------------------------


def reply_from(ticket, sender: str, text: str = "Sorry, it jams again now.", n: int = 1, extra: str = "") -> bytes:
    """reply_subject.eml for this ticket, from another address, with its own Message-ID."""
    raw = eml("reply_subject.eml", NUMBER=ticket.number)
    raw = raw.replace(b"From: alice@example.net", f"From: {sender}".encode())
    raw = raw.replace(b"reply-subject-1@", f"reply-{n}-{sender.split('@')[0]}@".encode())
    raw = raw.replace(b"Sorry, it jams again now.", text.encode())
    if extra:
        raw = raw.replace(b"MIME-Version: 1.0", f"{extra}\nMIME-Version: 1.0".encode())
    return raw


def test_an_agents_mail_to_a_ticket_becomes_an_internal_note(alice_ticket, desk, inbox, client, login, trusted_mx):
    from helpdesk.models import Event
    from helpdesk.security import access_token

    inbox.clear()
    outgoing = db.session.scalar(select(OutboxMail).where(OutboxMail.ticket_id == alice_ticket.id,
                                                          OutboxMail.event == "reply"))
    raw = eml("reply_header.eml", IN_REPLY_TO=outgoing.message_id).replace(
        b"Alice Example <alice@example.net>", b"Vic <Vendor@Example.com>").replace(
        b"It works again after the restart, thank you!", b"Vendor says: firmware 2.1 fixes the jam.")
    outcome = mailin.take_in(authenticated(raw, "example.com"))
    assert outcome.outcome == "noted" and outcome.ticket.id == alice_ticket.id
    last = entries(alice_ticket)[-1]
    assert last.kind == "note" and last.agent_id == desk.vendor.id and last.via == "email"
    assert last.body == "Vendor says: firmware 2.1 fixes the jam." and last.customer_id is None
    assert db.session.scalar(select(ProcessedMail.outcome).where(ProcessedMail.ticket_id == alice_ticket.id)
                             .order_by(ProcessedMail.id.desc()).limit(1)) == "noted"
    event = db.session.scalars(select(Event).where(Event.ticket_id == alice_ticket.id)
                               .order_by(Event.id.desc())).first()
    assert event.action == "note" and event.agent_id == desk.vendor.id and event.note == "Received by mail"
    t = db.session.get(Ticket, alice_ticket.id)
    assert t.status == "open" and t.is_answered  # a note changes nothing the customer sees
    # nobody is mailed: notes do not alert, and never reach the customer
    inbox.deliver()
    assert inbox.messages == []
    # the customer's page does not show it; the agents' page does, marked as received by mail
    portal = client.get(f"/t/{access_token(t)}").get_data(as_text=True)
    assert "firmware 2.1" not in portal and "jams on every page" in portal
    login(desk.tech)
    page = client.get(f"/agent/tickets/{t.number}").get_data(as_text=True)
    assert "firmware 2.1 fixes the jam" in page and "received by mail" in page
    assert "Vic Vendor-Liaison" in page and "Received by mail" in page  # the history's note
    assert count(Ticket) == 1


def test_an_agents_mail_is_a_note_on_a_closed_ticket_too_and_keeps_it_closed(alice_ticket, desk, trusted_mx):
    tickets.close(desk.tech, alice_ticket)
    t = db.session.get(Ticket, alice_ticket.id)
    t.closed_at = t.closed_at.replace(year=t.closed_at.year - 1)  # too old for the customer to reopen
    db.session.commit()
    outcome = mailin.take_in(authenticated(reply_from(alice_ticket, "tech@example.com", "Root cause: worn roller."),
                                           "example.com"))
    assert outcome.outcome == "noted" and outcome.ticket.id == alice_ticket.id
    assert db.session.get(Ticket, alice_ticket.id).status == "closed"
    assert entries(alice_ticket)[-1].kind == "note" and count(Ticket) == 1


@pytest.mark.parametrize("who", ["inactive", "cannot_see"])
def test_an_agent_who_may_not_see_the_ticket_is_a_stranger(alice_ticket, desk, inbox, who):
    sender = desk.tech if who == "inactive" else desk.sysadmin  # IT Operations: not Alice's department
    if who == "inactive":
        sender.active = False
        db.session.commit()
    before = len(entries(alice_ticket))
    outcome = mailin.take_in(reply_from(alice_ticket, sender.email, "Let me in."))
    assert outcome.outcome == "created" and outcome.ticket.id != alice_ticket.id
    assert outcome.ticket.customer.email == sender.email
    assert f"This mail answered ticket #{alice_ticket.number}, but came from an address not on that ticket" \
        in entries(outcome.ticket)[0].body
    assert len(entries(alice_ticket)) == before  # nothing added to Alice's ticket


# --- people on Cc of the customer's mail ----------------------------------------------------------


def copied_to(ticket) -> dict[str, bool]:
    from helpdesk.models import Collaborator

    db.session.expire_all()
    return {c.email: c.active for c in db.session.scalars(select(Collaborator).where(Collaborator.ticket_id == ticket.id))}


def test_cc_of_a_mail_that_opens_a_ticket_puts_people_on_copy(desk, inbox, client, login, trusted_mx):
    from helpdesk.models import Event

    raw = eml("plain.eml").replace(b"To: support@example.com", (
        "To: support@example.com, Bob Boss <Bob@Example.net>\n"
        "Cc: carol@example.org, \"Alice again\" <alice@example.net>, Tom <tech@example.com>,\n"
        " helpdesk@desk.test, itops@example.com, not-an-address, bob@example.net, x@@y, <dave@exa mple.org>\n"
        "Cc: Erin <erin@example.org>\n"
        "Delivered-To: helpdesk-alias@example.com\n"
        "X-Original-To: helpdesk-alias@example.com").encode())
    raw = raw.replace(b"To: support@example.com, Bob", b"To: support@example.com, helpdesk-alias@example.com, Bob")
    outcome = mailin.take_in(authenticated(raw, "example.net"))
    assert outcome.outcome == "created"
    t = outcome.ticket
    # skipped: the desk's own addresses (and the one it was delivered to), the sender, an agent,
    # duplicates and what is not an address
    assert copied_to(t) == {"bob@example.net": True, "carol@example.org": True, "erin@example.org": True}
    events = db.session.scalars(select(Event).where(Event.ticket_id == t.id, Event.action == "collaborator_added")
                                .order_by(Event.id)).all()
    assert [e.new for e in events] == ["Bob Boss <bob@example.net>", "carol@example.org <carol@example.org>",
                                       "Erin <erin@example.org>"]
    assert all(e.customer_id == t.customer_id and e.note == "On copy of the customer's mail" for e in events)
    # they get the desk's replies, each with their own link; the acknowledgement is the customer's
    inbox.deliver()
    assert inbox.to("bob@example.net") == [] and len(inbox.to("alice@example.net")) == 1
    tickets.reply(desk.tech, db.session.get(Ticket, t.id), "We are on it.")
    inbox.deliver()
    for who in ("bob@example.net", "carol@example.org", "erin@example.org"):
        [mail] = inbox.to(who)
        assert "We are on it." in inbox.text(mail)
    login(desk.tech)
    page = client.get(f"/agent/tickets/{t.number}").get_data(as_text=True)
    assert "Bob Boss" in page and "put someone on copy" in page and "On copy of the customer" in page


def test_cc_of_a_customers_reply_adds_people_once_and_never_brings_back_a_removed_one(alice_ticket, desk):
    from helpdesk.models import Collaborator

    kept = tickets.add_collaborator(desk.tech, alice_ticket, "removed@example.org", "Removed")
    tickets.remove_collaborator(desk.tech, alice_ticket, kept)
    answer = f"In-Reply-To: {desk_mail_to(alice_ticket, 'alice@example.net')}"  # proves it is Alice
    raw = reply_from(alice_ticket, "alice@example.net", "Adding my colleague.",
                     extra=f"{answer}\nCc: Pat <pat@example.org>, removed@example.org, vendor@example.com")
    assert mailin.take_in(raw).outcome == "replied"
    assert copied_to(alice_ticket) == {"removed@example.org": False, "pat@example.org": True}
    # the same people on the next mail: nobody twice
    again = reply_from(alice_ticket, "alice@example.net", "Still broken.", n=2, extra=f"{answer}\nCc: pat@example.org")
    assert mailin.take_in(again).outcome == "replied"
    assert db.session.scalar(select(func.count(Collaborator.id)).where(Collaborator.ticket_id == alice_ticket.id)) == 2
    # a collaborator's own Cc adds nobody: only the customer brings people in
    pat = reply_from(alice_ticket, "pat@example.org", "Pat here.", n=3, extra="Cc: quinn@example.org")
    assert mailin.take_in(pat).outcome == "replied"
    assert "quinn@example.org" not in copied_to(alice_ticket)


def test_at_most_ten_people_are_put_on_copy_from_mail(alice_ticket, desk):
    tickets.add_collaborator(desk.tech, alice_ticket, "first@example.org")
    many = ", ".join(f"p{i}@example.org" for i in range(15))
    answer = f"In-Reply-To: {desk_mail_to(alice_ticket, 'alice@example.net')}"
    assert mailin.take_in(reply_from(alice_ticket, "alice@example.net", "Everyone!",
                                     extra=f"{answer}\nCc: {many}")).outcome == "replied"
    on_copy = copied_to(alice_ticket)
    assert len(on_copy) == tickets.MAIL_CC_MAX == 10
    assert "first@example.org" in on_copy and "p8@example.org" in on_copy and "p9@example.org" not in on_copy


# --- a collaborator's mail reaches the customer ------------------------------------------------------


def test_a_collaborators_mail_is_copied_to_the_customer_but_notes_never_are(alice_ticket, desk, inbox, trusted_mx):
    from helpdesk.security import ticket_for_token

    tickets.add_collaborator(desk.tech, alice_ticket, "vendor@printers.example", "Printer Vendor")
    tickets.add_collaborator(desk.tech, alice_ticket, "boss@example.net", "Alice's Boss")
    inbox.clear()
    raw = reply_from(alice_ticket, "vendor@printers.example", "Firmware 2.1 is out; it fixes the jam.")
    assert mailin.take_in(raw).outcome == "replied"
    inbox.deliver()
    [copy] = inbox.to("alice@example.net")
    text = inbox.text(copy)
    assert str(copy["Subject"]).startswith(f"[#{alice_ticket.number}] Printer Vendor wrote on your request")
    assert "Firmware 2.1 is out; it fixes the jam." in text and "who is on copy of your request" in text
    token = re.search(r"http://desk\.test/t/([A-Za-z0-9._-]+)", text).group(1)
    assert ticket_for_token(token).id == alice_ticket.id  # her own link, not the collaborator's
    assert "Firmware 2.1" in inbox.html(copy)
    assert inbox.to("vendor@printers.example") == []  # not mailed their own message
    assert inbox.to("boss@example.net") == []  # others on copy: as for a customer's message, no mail
    assert any("Customer replied" in s for s in inbox.subjects(desk.tech.email))
    # the customer's own message is not copied back to her
    inbox.clear()
    assert mailin.take_in(reply_from(alice_ticket, "alice@example.net", "Thanks!", n=2)).outcome == "replied"
    inbox.deliver()
    assert inbox.to("alice@example.net") == []
    # internal notes, written on the page or by mail, reach neither the customer nor anyone on copy
    inbox.clear()
    tickets.add_note(desk.tech, db.session.get(Ticket, alice_ticket.id), "Secret: vendor owes us a drum.")
    assert mailin.take_in(authenticated(reply_from(alice_ticket, "tech@example.com", "Secret too.", n=3),
                                        "example.com")).outcome == "noted"
    inbox.deliver()
    assert inbox.messages == []


@pytest.mark.parametrize("sender, action, outcome, kind", [
    (None, "customer_reply", "replied", "message"),
    (b"Vic <Vendor@Example.com>", "add_note", "noted", "note"),
])
def test_a_mail_that_meets_a_concurrent_change_is_taken_on_the_ticket_as_it_is_now(
        alice_ticket, monkeypatch, trusted_mx, sender, action, outcome, kind):
    """Another worker changed the ticket meanwhile (Conflict): the mail goes onto the ticket once
    more, with a fresh processed-mail row, and is taken exactly once."""
    real, tried = getattr(tickets, action), []

    def changed_meanwhile(*args, **kwargs):
        ticket = args[1] if action == "add_note" else args[0]  # add_note(agent, ticket, ...)
        tried.append(ticket.id)
        if len(tried) == 1:
            raise tickets.Conflict("The ticket changed since it was loaded.", ticket)
        return real(*args, **kwargs)

    monkeypatch.setattr(tickets, action, changed_meanwhile)
    outgoing = db.session.scalar(select(OutboxMail).where(OutboxMail.ticket_id == alice_ticket.id,
                                                          OutboxMail.event == "reply"))
    raw = eml("reply_header.eml", IN_REPLY_TO=outgoing.message_id)
    if sender:
        raw = authenticated(raw.replace(b"Alice Example <alice@example.net>", sender), "example.com")
    assert mailin.take_in(raw).outcome == outcome
    assert tried == [alice_ticket.id, alice_ticket.id]
    assert [e.kind for e in entries(alice_ticket)].count(kind) == (2 if kind == "message" else 1)
    rows = db.session.scalars(select(ProcessedMail).where(ProcessedMail.outcome == outcome)).all()
    assert len(rows) == 1 and rows[0].ticket_id == alice_ticket.id
