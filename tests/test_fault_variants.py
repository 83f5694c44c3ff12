"""The checks of the mail and disk faults, each run against a deliberately unreliable variant of
the desk: every check must fail there (and passes on ours, in the test that owns it). A variant
is a monkeypatch, undone after its test.

Fault -> check (where it lives) -> variants here
 SMTP down          check_smtp_down_then_back (test_outbox): a sender that gives up at the first
                      error; one that marks unsent mail sent
 SMTP hanging       check_hanging_server (test_outbox): no socket timeout
 Recipient refused  check_refused_recipient (test_outbox): a refusal ends the batch; a 5xx retried forever
 Disk full          check_new_ticket_when_the_disk_is_full (test_fault_storage): files of a refused
                      ticket left behind; the part before the refusal committed
"""
from __future__ import annotations

import smtplib
import socket
import time

import pytest

from helpdesk import attachments, tickets
from helpdesk.extensions import db
from helpdesk.mail import outbox
from helpdesk.tickets import rules
from support.variants import fails
from test_fault_storage import check_new_ticket_when_the_disk_is_full
from test_outbox import check_hanging_server, check_refused_recipient, check_smtp_down_then_back


def test_fault_smtp_down_check_fails_when_the_sender_gives_up_at_once(app, make_ticket, inbox, smtp_server,
                                                                     monkeypatch):
    monkeypatch.setattr(outbox, "_permanent", lambda error: True)
    assert fails(check_smtp_down_then_back, app, make_ticket, inbox, smtp_server)


def test_fault_smtp_down_check_fails_when_unsent_mail_is_marked_sent(app, make_ticket, inbox, smtp_server,
                                                                    monkeypatch):
    real = outbox._finish
    monkeypatch.setattr(outbox, "_finish", lambda row, error: real(row, None))
    assert fails(check_smtp_down_then_back, app, make_ticket, inbox, smtp_server)


def test_fault_hanging_check_fails_without_a_socket_timeout(app, make_ticket, inbox, silent_smtp, smtp_server,
                                                           monkeypatch):
    def configure_host(self):  # Flask-Mail's own way: no timeout
        return smtplib.SMTP(self.mail.server, self.mail.port)

    monkeypatch.setattr(outbox._TimeoutConnection, "configure_host", configure_host)
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(2)  # so the variant ends: without it the sender would wait for ever
    try:
        started = time.monotonic()
        assert fails(check_hanging_server, app, make_ticket, inbox, silent_smtp, smtp_server, timeout=0.3, budget=1)
        assert time.monotonic() - started >= 1
    finally:
        socket.setdefaulttimeout(previous)


@pytest.mark.parametrize("name, variant", [
    ("_connection_lost", lambda error: True),
    ("_permanent", lambda error: False),
], ids=["a refusal ends the batch", "a 5xx is tried again and again"])
def test_fault_refused_recipient_check_fails(app, make_ticket, refusing_smtp, monkeypatch, name, variant):
    monkeypatch.setattr(outbox, name, variant)
    assert fails(check_refused_recipient, make_ticket, refusing_smtp)


def test_fault_disk_check_fails_when_files_of_a_refused_ticket_stay(client, desk, app, inbox, monkeypatch):
    monkeypatch.setattr(attachments, "discard", lambda keys: None)
    assert fails(check_new_ticket_when_the_disk_is_full, client, desk, app, inbox)


def test_fault_disk_check_fails_when_half_a_ticket_is_kept(client, desk, app, inbox, monkeypatch):
    real = rules._Unit.__exit__

    def keep_what_was_written(self, exc_type, exc, tb):
        if isinstance(exc, OSError):
            db.session.commit()
            raise tickets.LifecycleError("The attachment could not be saved. Nothing was changed; please try again.")
        return real(self, exc_type, exc, tb)

    monkeypatch.setattr(rules._Unit, "__exit__", keep_what_was_written)
    assert fails(check_new_ticket_when_the_disk_is_full, client, desk, app, inbox)
