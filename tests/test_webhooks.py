"""Outgoing webhooks against a real HTTP receiver on 127.0.0.1: signed bodies of the documented
schema, a receiver that is down or failing and comes back, exactly once (also with two
deliverers at once), nothing for a rolled-back change or a disabled webhook, and no request to
an address the desk does not allow."""
from __future__ import annotations

import hashlib
import hmac
import json
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from factories import make_webhook
from helpdesk import tickets, webhooks
from helpdesk.extensions import db
from helpdesk.models import Event, WebhookDelivery
from helpdesk.webhooks import send
from helpdesk.webhooks.addresses import Refused, check_url
from support.db import PG_ADMIN_URL, at_once

SECRET = "whsec_test-secret"


def deliveries() -> list[WebhookDelivery]:
    db.session.expire_all()
    return list(db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def signed(request) -> bool:
    expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(request.headers["X-Helpdesk-Signature"], expected)


def test_a_new_ticket_is_posted_signed_with_the_documented_body(desk, make_ticket, receiver):
    make_webhook(receiver.url)
    ticket = make_ticket(subject="Printer on fire", email="ken@example.net", name="Ken")
    assert [d.kind for d in deliveries()] == ["ticket.created"]

    assert webhooks.deliver_due() == (1, 0)
    [request] = receiver.requests
    assert request.path == "/hooks/helpdesk"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Helpdesk-Event"] == "ticket.created"
    [row] = deliveries()
    assert request.headers["X-Helpdesk-Delivery"] == row.uid
    assert signed(request)
    data = json.loads(request.body)
    event = db.session.scalar(select(Event).where(Event.ticket_id == ticket.id, Event.action == "created"))
    assert data["event"] == {"id": event.id, "type": "ticket.created", "action": "created", "from": None,
                             "to": "General inquiry via web", "by": {"type": "customer", "name": "Ken"},
                             "occurred_at": event.created_at.isoformat(timespec="seconds") + "Z"}
    assert data["ticket"]["number"] == ticket.number
    assert data["ticket"]["subject"] == "Printer on fire"
    assert data["ticket"]["status"] == ticket.status
    assert data["ticket"]["priority"] == ticket.priority.name
    assert data["ticket"]["department"] == "Support"
    assert data["ticket"]["customer"] == {"name": "Ken", "email": "ken@example.net"}
    assert data["ticket"]["url"] == f"http://desk.test/agent/tickets/{ticket.number}"
    assert {"team", "assignee", "sla_plan", "source", "created_at", "updated_at", "status_label"} <= set(data["ticket"])
    assert (row.status, row.attempts, row.last_status) == ("delivered", 1, 204)
    assert webhooks.deliver_due() == (0, 0)  # nothing twice
    assert len(receiver.requests) == 1


def test_each_kind_of_change_is_its_own_event(desk, make_ticket, receiver):
    make_webhook(receiver.url)
    ticket = make_ticket()
    tickets.claim(desk.tech, ticket)
    tickets.reply(desk.tech, ticket, "Have you tried turning it off and on?")
    tickets.customer_reply(ticket, "Yes.")
    tickets.add_note(desk.tech, ticket, "Internal: nothing to send")
    tickets.resolve(desk.tech, ticket, "Fixed.")
    kinds = [(d.kind, json.loads(d.payload)["event"]["action"]) for d in deliveries()]
    assert kinds == [("ticket.created", "created"), ("ticket.updated", "claimed"), ("ticket.updated", "status"),
                     ("ticket.replied", "replied"), ("ticket.replied", "customer_replied"),
                     ("ticket.resolved", "status")]


def test_receiver_down_then_failing_then_back_gets_the_event_once(desk, make_ticket, receiver, clock):
    make_webhook(receiver.url)
    receiver.down()
    make_ticket()
    assert webhooks.deliver_due() == (0, 1)
    [row] = deliveries()
    assert (row.status, row.attempts, row.last_status) == ("waiting", 1, None)
    assert "ConnectionRefused" in row.last_error
    assert row.next_attempt_at == clock.now + timedelta(minutes=1)
    assert webhooks.deliver_due() == (0, 0)  # not due yet: no second try at once

    receiver.up()
    receiver.status = 500
    clock.advance(minutes=1)
    assert webhooks.deliver_due() == (0, 1)
    [row] = deliveries()
    assert (row.status, row.attempts, row.last_status, row.last_error) == ("waiting", 2, 500, "HTTP 500")
    assert row.next_attempt_at == clock.now + timedelta(minutes=5)

    receiver.status = 200
    clock.advance(minutes=5)
    assert webhooks.deliver_due() == (1, 0)
    clock.advance(days=2)
    assert webhooks.deliver_due() == (0, 0)
    [row] = deliveries()
    assert (row.status, row.attempts, row.last_status, row.last_error) == ("delivered", 3, 200, None)
    assert [r.answered for r in receiver.requests] == [500, 200]
    assert len({r.headers["X-Helpdesk-Delivery"] for r in receiver.requests}) == 1  # the same id each time
    assert receiver.requests[0].body == receiver.requests[1].body


def test_a_delivery_is_given_up_after_its_attempts_kept_and_retried(desk, make_ticket, receiver, clock):
    make_webhook(receiver.url)
    receiver.status = 503
    make_ticket()
    for _ in range(send.MAX_ATTEMPTS):
        assert webhooks.deliver_due() == (0, 1)
        clock.advance(hours=12)
    [row] = deliveries()
    assert (row.status, row.attempts, row.last_status) == ("failed", send.MAX_ATTEMPTS, 503)
    assert sum(send.BACKOFF) / 3600 > 18  # tried for most of a day
    assert webhooks.deliver_due() == (0, 0)

    receiver.status = 202
    assert webhooks.retry(row)
    db.session.commit()
    assert webhooks.deliver_due() == (1, 0)
    assert deliveries()[0].status == "delivered"


def test_a_rolled_back_change_queues_nothing(desk, make_ticket, receiver):
    make_webhook(receiver.url)
    ticket = make_ticket()
    before = len(deliveries())
    db.session.add(Event(ticket=ticket, action="priority", old="Normal", new="High"))
    db.session.flush()
    db.session.rollback()
    ticket = db.session.get(type(ticket), ticket.id)
    ticket.subject = "Another change, committed"  # writes no event: sends nothing
    db.session.commit()
    assert len(deliveries()) == before
    with pytest.raises(tickets.InvalidInput):
        tickets.reply(desk.tech, ticket, "   ")  # refused by the lifecycle: nothing written
    assert len(deliveries()) == before


def test_a_savepoint_rolled_back_drops_only_its_own_events(desk, make_ticket, receiver):
    make_webhook(receiver.url)
    ticket = make_ticket()
    before = len(deliveries())
    db.session.add(Event(ticket=ticket, action="priority", old="Normal", new="High"))
    db.session.flush()
    savepoint = db.session.begin_nested()
    db.session.add(Event(ticket=ticket, action="team", old=None, new="Senior Support"))
    db.session.flush()
    savepoint.rollback()
    db.session.commit()
    assert [json.loads(d.payload)["event"]["action"] for d in deliveries()[before:]] == ["priority"]


def test_disabled_and_unsubscribed_webhooks_get_nothing(desk, make_ticket, receiver):
    make_webhook(receiver.url, name="Off", active=False)
    make_webhook(receiver.url, name="Resolved only", events=("ticket.resolved",))
    make_ticket(status="resolved")
    assert [(d.webhook.name, d.kind) for d in deliveries()] == [("Resolved only", "ticket.resolved")]
    assert webhooks.deliver_due() == (1, 0)
    assert [r.headers["X-Helpdesk-Event"] for r in receiver.requests] == ["ticket.resolved"]


def test_a_disabled_webhooks_waiting_deliveries_wait_for_it(desk, make_ticket, receiver):
    hook = make_webhook(receiver.url)
    make_ticket()
    hook.active = False
    db.session.commit()
    assert webhooks.deliver_due() == (0, 0)
    assert receiver.requests == []
    hook.active = True
    db.session.commit()
    assert webhooks.deliver_due() == (1, 0)


def test_enqueue_queues_one_delivery_per_webhook_and_event(desk, make_ticket, receiver):
    """What a rule's "call a webhook" action does: one call, never a second delivery."""
    hook = make_webhook(receiver.url, events=("ticket.resolved",))
    ticket = make_ticket()
    event = ticket.events[0]
    assert webhooks.enqueue(hook, event) is not None
    assert webhooks.enqueue(hook, event) is None
    db.session.commit()
    assert webhooks.enqueue(hook, event) is None
    assert [d.kind for d in deliveries()] == ["ticket.created"]


def _deliver_all() -> list[str]:
    done = 0
    while True:
        delivered, failed = send.deliver_pending(limit=3)
        done += delivered
        if delivered + failed == 0:
            return done


@pytest.mark.parametrize("database", [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.postgres),
])
def test_two_deliverers_at_once_send_each_event_once(app, desk, make_ticket, receiver, database):
    if db.engine.dialect.name != database:
        pytest.skip(f"this run uses {db.engine.dialect.name}" +
                    ("" if PG_ADMIN_URL or database != "postgresql" else "; set HELPDESK_TEST_POSTGRES"))
    make_webhook(receiver.url)
    for _ in range(12):
        make_ticket()
    done, errors = at_once(app, _deliver_all)
    assert errors == []
    assert sum(done) == 12
    counts = Counter(r.headers["X-Helpdesk-Delivery"] for r in receiver.requests)
    assert len(counts) == 12 and set(counts.values()) == {1}
    assert {d.status for d in deliveries()} == {"delivered"}


# --- where a webhook may send ------------------------------------------------------------------


@pytest.mark.parametrize("url, why", [
    ("ftp://example.com/hook", "http:// or https://"),
    ("https:///hook", "no host name"),
    ("https://user:pw@example.com/hook", "no user name or password"),
    ("http://127.0.0.1:8080/hook", "loopback"),
    ("http://[::1]/hook", "loopback"),
    ("http://[::ffff:127.0.0.1]/hook", "loopback"),
    ("http://10.1.2.3/hook", "private"),
    ("http://192.168.0.10/hook", "private"),
    ("http://169.254.169.254/latest/meta-data", "link-local"),
    ("http://0.0.0.0/hook", "unspecified"),
    ("http://224.0.0.1/hook", "multicast"),
    ("http://localhost:5000/hook", "loopback"),
    ("http://100.64.0.1/hook", "not a public address"),
])
def test_urls_to_other_than_public_addresses_are_refused(app, url, why):
    with pytest.raises(Refused, match=why):
        check_url(url, {"HELPDESK_WEBHOOK_ALLOW": ""})


def test_the_allow_list_opens_hosts_and_networks(app):
    allow = {"HELPDESK_WEBHOOK_ALLOW": "10.0.0.0/8, localhost,192.168.1.5"}
    assert check_url("http://10.9.8.7:8080/x?y=1", allow).path == "/x?y=1"
    assert check_url("http://localhost/x", allow).address in ("127.0.0.1", "::1")
    assert check_url("https://192.168.1.5/", allow).port == 443
    with pytest.raises(Refused, match="private"):
        check_url("http://192.168.1.6/", allow)
    assert check_url("https://93.184.215.14/hook", {}).address == "93.184.215.14"  # public


def test_the_address_is_checked_again_when_sending(desk, make_ticket, receiver, app):
    make_webhook(receiver.url)  # allowed when it was saved
    make_ticket()
    app.config["HELPDESK_WEBHOOK_ALLOW"] = ""  # no longer
    assert webhooks.deliver_due() == (0, 1)
    assert receiver.requests == []
    [row] = deliveries()
    assert row.status == "waiting" and "Not sent: 127.0.0.1 is a loopback address" in row.last_error


def _self_signed(tmp_path):
    """A certificate for "localhost" that nobody trusts, and its key, as PEM files."""
    from datetime import datetime, timezone

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@pytest.fixture
def tls_receiver(receiver, app, tmp_path, monkeypatch):
    """The receiver answering HTTPS with a certificate for "localhost"; (receiver, its certificate file)."""
    import ssl

    cert_file, key_file = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    receiver.down()
    receiver.up(tls=context)
    app.config["HELPDESK_WEBHOOK_ALLOW"] = "localhost,127.0.0.1"
    if check_url(f"https://localhost:{receiver.port}/").address != "127.0.0.1":
        pytest.skip("localhost is not 127.0.0.1 first on this machine")
    return receiver, cert_file


def test_https_receivers_must_show_a_trusted_certificate(desk, make_ticket, tls_receiver):
    receiver, _ = tls_receiver
    make_webhook(f"https://localhost:{receiver.port}/hooks/helpdesk")
    make_ticket()
    assert webhooks.deliver_due() == (0, 1)
    [row] = deliveries()
    assert "CERTIFICATE_VERIFY_FAILED" in row.last_error
    assert receiver.requests == []


def test_https_checks_the_urls_host_name_on_the_certificate(desk, make_ticket, tls_receiver, monkeypatch):
    """The desk connects to the address it checked, and still verifies the certificate for the
    name in the URL (and sends it as the Host)."""
    receiver, cert_file = tls_receiver
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))  # trusted, as a real CA's would be
    make_webhook(f"https://localhost:{receiver.port}/hooks/helpdesk", name="By name")
    make_webhook(f"https://127.0.0.1:{receiver.port}/hooks/helpdesk", name="By address")  # not on the certificate
    make_ticket()
    assert webhooks.deliver_due() == (1, 1)
    by_name, by_address = deliveries()
    assert by_name.status == "delivered"
    assert receiver.requests[0].headers["Host"] == f"localhost:{receiver.port}"
    assert by_address.status == "waiting" and "CERTIFICATE_VERIFY_FAILED" in by_address.last_error


def test_the_deliver_command_delivers_what_is_due(app, desk, make_ticket, receiver):
    make_webhook(receiver.url)
    make_ticket()
    result = app.test_cli_runner().invoke(args=["webhooks", "deliver"])
    assert result.exit_code == 0 and "Delivered 1, not delivered 0." in result.output
    assert len(receiver.delivered()) == 1
