"""Who an incoming mail may speak for: a ticket number and the customer's (or an agent's) address
are not enough. A mail proves its sender only by answering one of the desk's own signed
Message-IDs sent to that address, or by the desk's own mail server's Authentication-Results.
Through mailin.take_in, `flask mail pipe`, the real SMTP sink and the agent pages."""
from __future__ import annotations

import re
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from helpdesk import mailin, tickets
from helpdesk.extensions import db
from helpdesk.mailin import route, trust
from helpdesk.models import Collaborator, HeldMail, OutboxMail, ProcessedMail, Ticket
from support.rows import events as history
from test_mailin import TRUSTED_MX, alice_ticket, authenticated, eml, entries, reply_from, trusted_mx  # noqa: F401

ATTACKER = "attacker@elsewhere.example"


def forged_reply(ticket, sender="alice@example.net", text="Please add my new assistant.", n=1, extra=""):
    """A mail anyone could write: From the address, Subject with the ticket number."""
    return reply_from(ticket, sender, text, n=n, extra=extra)


def on_copy(ticket) -> set[str]:
    db.session.expire_all()
    return {c.email for c in db.session.scalars(select(Collaborator).where(
        Collaborator.ticket_id == ticket.id, Collaborator.active.is_(True)))}


# --- the customer's side: people on copy ------------------------------------------------------------


def check_forged_cc_puts_nobody_on_copy(ticket, desk, inbox) -> None:
    """The review's attack: From the customer (forged), Re: [#NUMBER], Cc the attacker."""
    raw = forged_reply(ticket, extra=f"Cc: Assistant <{ATTACKER}>")
    assert mailin.take_in(raw).outcome == "replied"  # the message itself reveals nothing: it is kept
    assert ATTACKER not in on_copy(ticket)
    inbox.clear()
    tickets.reply(desk.tech, db.session.get(Ticket, ticket.id), "Here is everything about your account.")
    inbox.deliver()
    assert inbox.to(ATTACKER) == []


def test_a_forged_reply_does_not_put_its_cc_on_copy_and_the_next_reply_mails_them_nothing(
        alice_ticket, desk, inbox, client, login):
    check_forged_cc_puts_nobody_on_copy(alice_ticket, desk, inbox)
    assert entries(alice_ticket)[-2].body == "Please add my new assistant."
    [held] = history(alice_ticket, "cc_held")
    assert held.new == f"Assistant <{ATTACKER}>" and "did not prove it came from alice@example.net" in held.note
    # the agent sees who was named, why they are not on copy, and can put them on copy in one click
    login(desk.tech)
    page = client.get(f"/agent/tickets/{alice_ticket.number}").get_data(as_text=True)
    assert f'aria-label="Put {ATTACKER} on copy"' in page and "did not prove it came from" in page
    version = db.session.get(Ticket, alice_ticket.id).version
    response = client.post(f"/agent/tickets/{alice_ticket.number}/collaborators",
                           data={"email": ATTACKER, "name": "Assistant", "version": version})
    assert response.status_code == 302 and ATTACKER in on_copy(alice_ticket)
    page = client.get(f"/agent/tickets/{alice_ticket.number}").get_data(as_text=True)
    assert f'aria-label="Put {ATTACKER} on copy"' not in page  # offered until an agent decides


def test_the_forged_cc_attack_through_mail_pipe(alice_ticket, desk, inbox, app):
    raw = forged_reply(alice_ticket, extra=f"Cc: {ATTACKER}")
    result = app.test_cli_runner().invoke(args=["mail", "pipe"], input=raw)
    assert result.exit_code == 0 and result.output.startswith(f"replied #{alice_ticket.number}")
    assert ATTACKER not in on_copy(alice_ticket)


def test_a_real_reply_to_the_desks_mail_puts_its_cc_on_copy(alice_ticket, desk, inbox):
    # The Message-ID of the reply Alice received, as her mail program quotes it
    [mail] = [m for m in inbox.to("alice@example.net") if "restart the printer" in inbox.text(m)]
    answer = f"In-Reply-To: {mail['Message-ID']}\nReferences: {mail['Message-ID']}"
    raw = reply_from(alice_ticket, "alice@example.net", "Adding Bob.", extra=f"{answer}\nCc: Bob <bob@example.net>")
    assert mailin.take_in(raw).outcome == "replied"
    assert on_copy(alice_ticket) == {"bob@example.net"} and history(alice_ticket, "cc_held") == []
    inbox.clear()
    tickets.reply(desk.tech, db.session.get(Ticket, alice_ticket.id), "Hello both.")
    inbox.deliver()
    [copy] = inbox.to("bob@example.net")
    assert "Hello both." in inbox.text(copy)
    # still proof once the outbox is pruned: the signature is checked, not looked up
    db.session.execute(OutboxMail.__table__.delete())
    db.session.commit()
    raw = reply_from(alice_ticket, "alice@example.net", "And Carol.", n=2, extra=f"{answer}\nCc: carol@example.org")
    assert mailin.take_in(raw).outcome == "replied"
    assert on_copy(alice_ticket) == {"bob@example.net", "carol@example.org"}


def test_the_desks_mail_to_someone_else_proves_nothing_for_the_customer(alice_ticket, desk, inbox, make_ticket):
    """A real, signed desk Message-ID, but one sent to another address (here: to the agent)."""
    to_tom = db.session.scalar(select(OutboxMail.message_id).where(
        OutboxMail.ticket_id == alice_ticket.id, OutboxMail.recipient == desk.tech.email).limit(1))
    assert to_tom
    raw = forged_reply(alice_ticket, extra=f"In-Reply-To: {to_tom}\nCc: {ATTACKER}")
    assert mailin.take_in(raw).outcome == "replied"
    assert ATTACKER not in on_copy(alice_ticket)


def test_a_forged_message_id_of_the_old_shape_proves_nothing_and_threads_nothing(alice_ticket, desk):
    forged = f"<abcdef0123456789.{alice_ticket.number}@evil.example>"
    raw = forged_reply(alice_ticket, extra=f"In-Reply-To: {forged}\nCc: {ATTACKER}")
    assert mailin.take_in(raw).outcome == "replied"  # threaded by the subject's [#NUMBER] only
    assert ATTACKER not in on_copy(alice_ticket)
    # without the number in the subject, the forged id does not even find the ticket
    before = len(entries(alice_ticket))
    raw = forged_reply(alice_ticket, n=2, extra=f"In-Reply-To: {forged}").replace(
        f"[#{alice_ticket.number}]".encode(), b"")
    outcome = mailin.take_in(raw)
    assert outcome.outcome == "created" and outcome.ticket.id != alice_ticket.id
    assert len(entries(alice_ticket)) == before


def test_a_new_ticket_by_mail_puts_its_cc_on_copy_only_when_the_mail_server_vouches(desk, inbox, app):
    raw = eml("plain.eml").replace(b"To: support@example.com", b"To: support@example.com\nCc: bob@example.net")
    outcome = mailin.take_in(raw)
    assert outcome.outcome == "created" and on_copy(outcome.ticket) == set()
    [held] = history(outcome.ticket, "cc_held")
    assert held.new == "bob@example.net <bob@example.net>" and "did not vouch" in held.note
    app.config["HELPDESK_MAIL_TRUSTED_AUTHSERV_ID"] = TRUSTED_MX
    again = authenticated(raw.replace(b"plain-1@", b"plain-2@"), "example.net")
    outcome = mailin.take_in(again)
    assert outcome.outcome == "created" and on_copy(outcome.ticket) == {"bob@example.net"}


# --- the agent's side: notes ----------------------------------------------------------------------


def check_forged_agent_mail_is_not_a_note(ticket, desk) -> mailin.Outcome:
    before = [e.id for e in entries(ticket)]
    outcome = mailin.take_in(forged_reply(ticket, "tech@example.com", "Caller verified, change the account email."))
    assert outcome.outcome != "noted"
    assert [e.id for e in entries(ticket)] == before
    return outcome


def signed_in(csrf_app, desk, agent):
    client = csrf_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"email": agent.email, "password": desk.passwords[agent.email],
                                           "csrf_token": token})
    assert response.status_code == 302
    return client


def held_form(page: str, what: str) -> tuple[str, str]:
    """(action URL, CSRF token) of the held mail's Confirm or Discard form on the ticket page."""
    match = re.search(r'<form method="post" action="([^"]+/held-mail/\d+/' + what + r')"[^>]*>\s*'
                      r'<input type="hidden" name="csrf_token" value="([^"]+)"', page)
    assert match, f"no {what} form"
    return match.group(1), match.group(2)


def test_a_forged_agent_mail_is_held_until_that_agent_confirms_it(alice_ticket, desk, inbox, csrf_app):
    outcome = check_forged_agent_mail_is_not_a_note(alice_ticket, desk)
    assert outcome.outcome == "held" and outcome.ticket.id == alice_ticket.id
    [held] = db.session.scalars(select(HeldMail)).all()
    assert held.agent_id == desk.tech.id and held.state == "waiting" and b"Caller verified" in held.raw
    rows = db.session.scalars(select(ProcessedMail)).all()
    assert [r.outcome for r in rows].count("held") == 1 and mailin.take_in(held.raw).outcome == "duplicate"
    [event] = history(alice_ticket, "mail_held")
    assert "A mail claiming to be from Tom" in event.note and "is waiting for them to confirm it" in event.note
    number = alice_ticket.number
    # another agent who sees the ticket is told about it, without its text, and cannot confirm it
    manager = signed_in(csrf_app, desk, desk.manager)
    page = manager.get(f"/agent/tickets/{number}").get_data(as_text=True)
    assert "is waiting for them to confirm it" in page and "Caller verified" not in page
    assert "/held-mail/" not in page
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = manager.post(f"/agent/tickets/{number}/held-mail/{held.id}/confirm", data={"csrf_token": token})
    assert response.status_code == 403 and "Only Tom" in response.get_data(as_text=True)
    assert [e.kind for e in entries(alice_ticket)] == ["message", "reply"]
    # Tom sees it with Confirm and Discard; without the CSRF token nothing happens
    tom = signed_in(csrf_app, desk, desk.tech)
    page = tom.get(f"/agent/tickets/{number}").get_data(as_text=True)
    assert "A mail claiming to be from you is waiting for you to confirm it" in page
    assert "Caller verified, change the account email." in page
    url, token = held_form(page, "confirm")
    assert tom.post(url, data={}).status_code == 400
    assert tom.post(url, data={"csrf_token": token}).status_code == 302
    last = entries(alice_ticket)[-1]
    assert last.kind == "note" and last.agent_id == desk.tech.id and last.via == "email"
    assert last.body == "Caller verified, change the account email."
    db.session.expire_all()
    assert db.session.get(HeldMail, held.id).state == "confirmed"
    assert history(alice_ticket, "mail_confirmed")[0].agent_id == desk.tech.id
    assert tom.post(url, data={"csrf_token": token}).status_code == 409  # once
    page = tom.get(f"/agent/tickets/{number}").get_data(as_text=True)
    assert "waiting for you to confirm" not in page and "confirmed a mail sent in their name" in page
    inbox.clear()
    inbox.deliver()
    assert inbox.to("alice@example.net") == []  # a note, never mailed to the customer


def test_a_held_mail_can_be_discarded_and_keeps_its_attachments_when_confirmed(alice_ticket, desk, csrf_app):
    def agent_mail(n, text):
        msg = EmailMessage()
        msg["From"], msg["To"] = "tech@example.com", "support@example.com"
        msg["Subject"], msg["Message-ID"] = f"Re: [#{alice_ticket.number}]", f"<held-{n}@example.com>"
        msg.set_content(text)
        msg.add_attachment(b"roller log\n", maintype="text", subtype="plain", filename="roller.txt")
        return msg.as_bytes()

    assert mailin.take_in(agent_mail(1, "Not me.")).outcome == "held"
    assert mailin.take_in(agent_mail(2, "Root cause: worn roller.")).outcome == "held"
    first, second = db.session.scalars(select(HeldMail).order_by(HeldMail.id)).all()
    tom = signed_in(csrf_app, desk, desk.tech)
    page = tom.get(f"/agent/tickets/{alice_ticket.number}").get_data(as_text=True)
    url, token = held_form(page, "discard")
    assert url.endswith(f"/held-mail/{first.id}/discard")
    assert tom.post(url, data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.get(HeldMail, first.id).state == "discarded"
    assert history(alice_ticket, "mail_discarded")[0].agent_id == desk.tech.id
    assert tom.post(f"/agent/tickets/{alice_ticket.number}/held-mail/{second.id}/confirm",
                    data={"csrf_token": token}).status_code == 302
    notes = [e for e in entries(alice_ticket) if e.kind == "note"]
    assert [n.body for n in notes] == ["Root cause: worn roller."]
    assert [a.filename for a in notes[0].attachments] == ["roller.txt"]
    # a held mail of another ticket is not found through this one
    assert tom.post(f"/agent/tickets/{alice_ticket.number}/held-mail/{second.id + 99}/confirm",
                    data={"csrf_token": token}).status_code == 404


def test_the_desks_mail_server_vouching_makes_it_a_note_at_once(alice_ticket, desk, trusted_mx):
    raw = forged_reply(alice_ticket, "tech@example.com", "Verified by phone.")
    outcome = mailin.take_in(authenticated(raw, "example.com"))
    assert outcome.outcome == "noted" and entries(alice_ticket)[-1].body == "Verified by phone."
    assert db.session.scalar(select(func.count(HeldMail.id))) == 0


HOP = "Received: from relay.elsewhere.example by mx.desk.test; Thu, 26 Nov 2026 14:00:00 +0100\n"
OTHER = "Authentication-Results: mx.elsewhere.example; dmarc=pass header.from=example.com\n"


@pytest.mark.parametrize("case", ["other authserv-id", "below another server's results", "below an untrusted hop",
                                  "another domain passed", "dmarc failed", "no trusted server set"])
def test_authentication_results_that_do_not_count(alice_ticket, desk, app, case):
    app.config["HELPDESK_MAIL_TRUSTED_AUTHSERV_ID"] = "" if case == "no trusted server set" else TRUSTED_MX
    raw = forged_reply(alice_ticket, "tech@example.com", "Trust me.")
    raw = {
        "other authserv-id": authenticated(raw, "example.com", authserv="mx.elsewhere.example"),
        "below another server's results": authenticated(raw, "example.com", above=OTHER),
        "below an untrusted hop": authenticated(raw, "example.com", above=HOP),
        "another domain passed": authenticated(raw, "elsewhere.example"),
        "dmarc failed": b"Authentication-Results: mx.desk.test; dkim=fail header.d=example.com;"
                        b" dmarc=fail header.from=example.com\n" + raw,
        "no trusted server set": authenticated(raw, "example.com"),
    }[case]
    assert mailin.take_in(raw).outcome == "held"
    assert [e.kind for e in entries(alice_ticket)] == ["message", "reply"]


def test_the_desks_own_hops_above_its_results_are_configured(alice_ticket, desk, app, trusted_mx):
    """An IMAP server's delivery adds a Received header above the MX's results: allowed when said so."""
    raw = authenticated(forged_reply(alice_ticket, "tech@example.com", "Delivered by IMAP."), "example.com", above=HOP)
    app.config["HELPDESK_MAIL_TRUSTED_RECEIVED"] = 1
    assert mailin.take_in(raw).outcome == "noted"
    # but not two hops down
    raw = authenticated(forged_reply(alice_ticket, "tech@example.com", "Two hops.", n=2), "example.com",
                        above=HOP + HOP)
    assert mailin.take_in(raw).outcome == "held"


def test_authentication_results_are_read_as_rfc_8601_writes_them():
    authserv, results = trust._auth_results(
        'mx.desk.test 1; (a comment; with a semicolon (nested)) spf=pass smtp.mailfrom=a@Example.com;\r\n'
        ' dkim=pass (2048-bit key) header.d=Example.COM header.s="sel"; dmarc=pass header.from=example.com')
    assert authserv == "mx.desk.test"
    assert results == [("spf", "pass", {"smtp.mailfrom": "a@example.com"}),
                       ("dkim", "pass", {"header.d": "example.com", "header.s": "sel"}),
                       ("dmarc", "pass", {"header.from": "example.com"})]
    assert trust._auth_results("") == ("", [])


# --- vulnerable variants: each check must fail on a desk weakened back to the old rule ---------------


def _trusting(monkeypatch):
    """mail_speaks_for as it was in effect: every mail speaks for its From address."""
    real = mailin.mail_speaks_for

    def trusting(parsed, ticket):
        speaker = real(parsed, ticket)
        speaker.proven = True
        return speaker

    monkeypatch.setattr(route, "mail_speaks_for", trusting)


def test_variant_the_forged_cc_check_fails_when_every_mail_speaks_for_its_sender(
        alice_ticket, desk, inbox, monkeypatch):
    _trusting(monkeypatch)
    with pytest.raises(AssertionError):
        check_forged_cc_puts_nobody_on_copy(alice_ticket, desk, inbox)


def test_variant_the_forged_note_check_fails_when_every_mail_speaks_for_its_sender(
        alice_ticket, desk, monkeypatch):
    _trusting(monkeypatch)
    with pytest.raises(AssertionError):
        check_forged_agent_mail_is_not_a_note(alice_ticket, desk)

