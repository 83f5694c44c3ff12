"""Delivering webhooks: claim, POST, retry with backoff, never drop, never send twice.

Run by the scheduled jobs (jobs.py), never in a web request. As with the mail outbox, a sender
claims a row with an UPDATE that only succeeds while the row is still waiting, so several
senders (threads, processes or hosts) can run at once and each delivery is attempted by one.
A 2xx answer is delivered; anything else, a refused address, a connection error or a timeout is
tried again later, up to MAX_ATTEMPTS times (about 19 hours); then the row is "failed" and kept
for an admin to retry.
"""
from __future__ import annotations

import hashlib
import hmac
import http.client
import logging
import secrets
import socket
import ssl
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from .. import clock, crypto
from ..extensions import db
from ..models import Webhook, WebhookDelivery
from .addresses import Refused, Target, check_url

log = logging.getLogger(__name__)

# Seconds to wait after the 1st, 2nd, ... failed attempt; after the last one the row is failed.
BACKOFF = (60, 5 * 60, 30 * 60, 3600, 2 * 3600, 5 * 3600, 10 * 3600)
MAX_ATTEMPTS = len(BACKOFF) + 1
STALE_CLAIM = timedelta(minutes=10)  # a sender that died mid-send gives its rows back after this
USER_AGENT = "Helpdesk-Webhooks/1"


def backoff(attempts: int) -> timedelta:
    """The wait after `attempts` failed attempts: 1 min, 5 min, 30 min, 1 h, 2 h, 5 h, 10 h."""
    return timedelta(seconds=BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1])


def signature(secret: str, raw: bytes) -> str:
    """The X-Helpdesk-Signature value: sha256=<hex HMAC-SHA256 of the raw body>."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), raw, hashlib.sha256).hexdigest()


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the checked address; the Host header keeps the URL's host name."""

    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """TLS to the checked address, verifying the certificate for the URL's host name."""

    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self._address = target.address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(webhook_url: str, secret: str, kind: str, uid: str, payload: str) -> int:
    """POST one delivery's body; return the receiver's HTTP status. Raises Refused or OSError."""
    target = check_url(webhook_url)
    raw = payload.encode("utf-8")
    timeout = current_app.config.get("HELPDESK_WEBHOOK_TIMEOUT", 10)
    conn = (_PinnedHTTPS if target.scheme == "https" else _PinnedHTTP)(target, timeout)
    try:
        conn.request("POST", target.path, body=raw, headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Helpdesk-Event": kind,
            "X-Helpdesk-Delivery": uid,
            "X-Helpdesk-Signature": signature(secret, raw),
        })
        response = conn.getresponse()
        response.read(64 * 1024)  # a little of the answer, so the connection closes cleanly
        return response.status
    except http.client.HTTPException as exc:
        raise OSError(f"bad answer: {type(exc).__name__}") from None
    finally:
        conn.close()


def _claim(limit: int) -> list[int]:
    now = clock.utcnow()
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.status == "sending", WebhookDelivery.claimed_at < now - STALE_CLAIM)
        .values(status="waiting", claim_token=None)
    )
    db.session.commit()
    # A disabled webhook's deliveries wait until it is enabled again.
    candidates = db.session.scalars(
        select(WebhookDelivery.id).join(Webhook)
        .where(WebhookDelivery.status == "waiting", WebhookDelivery.next_attempt_at <= now,
               Webhook.active.is_(True))
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit)
    ).all()
    claimed = []
    for delivery_id in candidates:
        token = secrets.token_hex(16)
        result = db.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == "waiting")
            .values(status="sending", claim_token=token, claimed_at=now)
        )
        db.session.commit()
        if result.rowcount == 1:
            claimed.append((delivery_id, token))
    return claimed


def _finish(delivery_id: int, token: str, attempts: int, status: int | None, error: str | None) -> bool:
    now = clock.utcnow()
    delivered = error is None and status is not None and 200 <= status < 300
    values = {"attempts": attempts + 1, "claim_token": None, "last_status": status}
    if delivered:
        values.update(status="delivered", delivered_at=now, last_error=None)
    else:
        error = error or f"HTTP {status}"
        failed = attempts + 1 >= MAX_ATTEMPTS
        values.update(status="failed" if failed else "waiting", last_error=error[:500],
                      next_attempt_at=now + backoff(attempts + 1))
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.claim_token == token).values(**values)
    )
    db.session.commit()
    return delivered


def _attempt(delivery_id: int, token: str) -> bool:
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None:  # its webhook was deleted meanwhile
        return False
    hook = delivery.webhook
    url, attempts, what = hook.url, delivery.attempts, (delivery.kind, delivery.uid, delivery.payload)
    try:
        secret = hook.signing_secret()
    except crypto.Undecryptable:
        secret = None
    db.session.rollback()  # no transaction stays open while the receiver answers
    status = error = None
    if secret is None:
        error = "Not sent: the secret could not be decrypted (the desk's key changed); make a new one."
    else:
        try:
            status = post(url, secret, *what)
        except Refused as exc:
            error = f"Not sent: {exc}"
        except OSError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if error or not 200 <= status < 300:
        log.warning("webhook delivery %s to %s not delivered (attempt %s): %s", delivery_id, url, attempts + 1,
                    error or f"HTTP {status}")
    return _finish(delivery_id, token, attempts, status, error)


def deliver_pending(limit: int = 50) -> tuple[int, int]:
    """Attempt what is due now; return (delivered, not delivered). Safe to run in several places at once."""
    delivered = failed = 0
    for delivery_id, token in _claim(limit):
        if _attempt(delivery_id, token):
            delivered += 1
        else:
            failed += 1
    return delivered, failed


def deliver_due(max_rounds: int = 20) -> tuple[int, int]:
    """Rounds of deliver_pending until nothing is due (a failed one waits for its next try)."""
    total_delivered = total_failed = 0
    for _ in range(max_rounds):
        delivered, failed = deliver_pending()
        total_delivered += delivered
        total_failed += failed
        if delivered + failed == 0:
            break
    return total_delivered, total_failed


def retry(delivery: WebhookDelivery) -> bool:
    """Give a failed delivery one more attempt at the next round (the caller audits and commits)."""
    if delivery.status != "failed":
        return False
    delivery.status = "waiting"
    delivery.next_attempt_at = clock.utcnow()  # attempts are kept: one more try, then failed again
    return True
