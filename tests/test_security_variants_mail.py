"""The mail checks of issue 6's class 7, each run against a deliberately vulnerable variant of the
desk: every check must fail there (and passes on ours, in the test that owns it). A variant is a
monkeypatch, undone after its test.

Class (issue 6) -> check (where it lives) -> variants here
 7 Mail: CR/LF      check_no_injected_headers (test_security_portal)
                      - names and subjects not made one line, and a sender that writes headers as text
                      - names and subjects not made one line (the mail then cannot be sent at all)
 7 Mail: one address check_email_field_takes_one_address (test_security_portal)
                      - the new-ticket form without its one-address rule; the status form likewise
 7 Mail: own address check_the_desk_never_mails_its_own_address (test_security_portal)
                      - notify queues mail to the desk's address; the sender sends it
 7 Mail: automatic  check_ignored (test_mailin)
                      - mail-in reads every message as a person's; one that forgets our own addresses
                    check_acknowledgements_are_rate_limited (test_mailin): acknowledges every mail
                    check_outgoing_mail_is_marked_auto_generated (test_security_portal): no Auto-Submitted

The other classes' variants: test_security_variants_access.py (2 to 6),
test_security_variants_requests.py (8, 9, 11, 12); the mail and disk faults': test_fault_variants.py.
"""
from __future__ import annotations

import re

import pytest
from flask_mail import Message
from wtforms import EmailField

from helpdesk import text as desk_text
from helpdesk.mail import notify, outbox
from helpdesk.mailin import route, trust
from helpdesk.portal.forms import NewTicketForm, StatusForm, one_email_address
from support.variants import fails
from test_mailin import LOOP_HEADERS, check_acknowledgements_are_rate_limited, check_ignored, eml, loop_mail
from test_security_portal import (
    INJECTED_NAME,
    INJECTED_SUBJECT,
    ONE_ADDRESS_PAYLOADS,
    OWN_ADDRESS,
    check_email_field_takes_one_address,
    check_no_injected_headers,
    check_outgoing_mail_is_marked_auto_generated,
    check_the_desk_never_mails_its_own_address,
    new_ticket,
)


def _as_given(value, limit=None):
    """one_line's variant: CR/LF kept."""
    value = value or ""
    return value[:limit] if limit else value


class _TextMail(Message):
    """A mail whose headers are written as text, the way a hand-made mailer does it."""

    def has_bad_headers(self):
        return False

    def as_bytes(self):
        head = (f"From: {self.sender}\r\nTo: {', '.join(self.recipients)}\r\nSubject: {self.subject}\r\n"
                f"Message-ID: {self.msgId}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
        return (head + self.body).encode()


def _text_mail(row):
    msg = _TextMail(subject=row.subject, recipients=[row.recipient], body=row.body_text)
    msg.msgId = row.message_id
    return msg


def test_7_header_check_fails_when_line_breaks_reach_a_text_written_header(client, desk, inbox, monkeypatch):
    monkeypatch.setattr(desk_text, "one_line", _as_given)
    monkeypatch.setattr(notify, "one_line", _as_given)
    monkeypatch.setattr(outbox, "_message", _text_mail)
    assert new_ticket(client, desk, name=INJECTED_NAME, subject=INJECTED_SUBJECT).status_code == 302
    with pytest.raises(AssertionError, match="Bcc|X-Injected"):
        check_no_injected_headers(inbox.deliver().messages)


def test_7_header_check_fails_when_line_breaks_reach_the_subject(client, desk, inbox, monkeypatch):
    """Flask-Mail refuses the subject: the mail is never delivered, which the check sees too."""
    monkeypatch.setattr(desk_text, "one_line", _as_given)
    monkeypatch.setattr(notify, "one_line", _as_given)
    assert new_ticket(client, desk, name=INJECTED_NAME, subject=INJECTED_SUBJECT).status_code == 302
    assert fails(lambda: check_no_injected_headers(inbox.deliver().messages))


def _without_one_address(monkeypatch, form):
    field = form.email
    validators = [v for v in field.kwargs["validators"] if v is not one_email_address]
    monkeypatch.setattr(form, "email", EmailField(*field.args, **{**field.kwargs, "validators": validators}))


def test_7_one_address_check_fails_on_a_form_that_takes_a_list(client, desk, monkeypatch):
    for form in (NewTicketForm, StatusForm):
        with monkeypatch.context() as variant:
            _without_one_address(variant, form)
            missed = [email for email in ONE_ADDRESS_PAYLOADS
                      if not fails(check_email_field_takes_one_address, client, desk, email)]
        assert missed == [], form.__name__


@pytest.mark.parametrize("where", [notify, outbox], ids=["queued", "sent"])
def test_7_own_address_check_fails_when_the_desk_mails_itself(client, desk, inbox, app, monkeypatch, where):
    app.config["MAIL_DEFAULT_SENDER"] = f"Support Desk <{OWN_ADDRESS}>"
    monkeypatch.setattr(where, "is_own_address", lambda recipient: False)
    assert fails(check_the_desk_never_mails_its_own_address, client, desk, inbox)


def _unique(raw: bytes, n: int) -> bytes:
    return re.sub(rb"Message-ID: <[^>]+>", f"Message-ID: <variant-{n}@mail.example.net>".encode(), raw, count=1)


AUTOMATIC = [eml("auto_reply.eml"), eml("bounce.eml")] + [loop_mail(h) for h in LOOP_HEADERS]


def test_7_automatic_mail_check_fails_when_every_mail_is_taken_as_a_persons(desk, monkeypatch):
    monkeypatch.setattr(route, "automatic_reason", lambda raw, sender: None)
    missed = [n for n, raw in enumerate(AUTOMATIC) if not fails(check_ignored, _unique(raw, n))]
    assert missed == []


def test_7_automatic_mail_check_fails_when_our_own_addresses_are_forgotten(desk, monkeypatch):
    monkeypatch.setattr(trust, "own_addresses", lambda: set())
    caught = [h for n, h in enumerate(LOOP_HEADERS) if fails(check_ignored, _unique(loop_mail(h), n))]
    assert caught == ["From: helpdesk@desk.test", "From: support@example.com"]


def test_7_acknowledgement_limit_check_fails_when_every_mail_is_acknowledged(desk, app, monkeypatch):
    monkeypatch.setattr(route, "_acknowledge", lambda sender: True)
    assert fails(check_acknowledgements_are_rate_limited, app)


def test_7_auto_generated_check_fails_on_unmarked_mail(client, desk, inbox, monkeypatch):
    real = outbox._message

    def unmarked(row):
        msg = real(row)
        msg.extra_headers = {}
        return msg

    monkeypatch.setattr(outbox, "_message", unmarked)
    assert fails(check_outgoing_mail_is_marked_auto_generated, client, desk, inbox)
