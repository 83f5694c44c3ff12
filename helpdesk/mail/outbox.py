"""Delivering the outbox: claim, send, retry with backoff, never drop, never send twice.

A sender claims a row with an UPDATE that only succeeds while the row is still pending, so
several senders (threads, processes or hosts) can run at once and each mail goes out once.
"""
from __future__ import annotations

import logging
import secrets
import smtplib
from datetime import timedelta

from flask import current_app
from flask_mail import Connection, Message
from sqlalchemy import func, select, update

from .. import clock
from ..extensions import db
from ..models import OutboxMail
from . import render
from .addresses import is_own_address
from .notify import mail_reset_links

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12  # about 12 hours of retries with the backoff below; then "failed", kept
STALE_CLAIM = timedelta(minutes=10)  # a sender that died mid-send gives its rows back after this


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min ... capped at 4 h."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 4 * 3600))


class _TimeoutConnection(Connection):
    """Flask-Mail's connection, with a socket timeout so a hanging server cannot block a sender."""

    def configure_host(self):
        timeout = current_app.config.get("MAIL_TIMEOUT", 20)
        m = self.mail
        cls = smtplib.SMTP_SSL if m.use_ssl else smtplib.SMTP
        host = cls(m.server, m.port, timeout=timeout)
        if m.use_tls:
            host.starttls()
        if m.username and m.password:
            host.login(m.username, m.password)
        return host

    def __exit__(self, exc_type, exc_value, tb):
        if self.host is not None:
            try:
                self.host.quit()
            except (smtplib.SMTPException, OSError):
                self.host.close()


def _release_stale(now) -> None:
    db.session.execute(
        update(OutboxMail)
        .where(OutboxMail.status == "sending", OutboxMail.claimed_at < now - STALE_CLAIM)
        .values(status="pending", claim_token=None)
    )
    db.session.commit()


def _claim(limit: int) -> list[OutboxMail]:
    now = clock.utcnow()
    _release_stale(now)
    candidates = db.session.scalars(
        select(OutboxMail.id)
        .where(OutboxMail.status == "pending", OutboxMail.next_attempt_at <= now)
        .order_by(OutboxMail.next_attempt_at, OutboxMail.id)
        .limit(limit)
    ).all()
    token = secrets.token_hex(16)
    claimed = []
    for mail_id in candidates:
        result = db.session.execute(
            update(OutboxMail)
            .where(OutboxMail.id == mail_id, OutboxMail.status == "pending")
            .values(status="sending", claim_token=token, claimed_at=now)
        )
        db.session.commit()
        if result.rowcount == 1:
            claimed.append(mail_id)
    if not claimed:
        return []
    return list(db.session.scalars(select(OutboxMail).where(OutboxMail.id.in_(claimed)).order_by(OutboxMail.id)))


def _message(row: OutboxMail) -> Message:
    """The mail of a row, rendered first if it was queued unrendered (render.render keeps the
    result on the row). Raises MailNotRenderable when that cannot be done."""
    render.render(row)
    msg = Message(
        subject=row.subject,
        recipients=[row.recipient],
        body=row.body_text,
        html=row.body_html,
        extra_headers={"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"},
    )
    msg.msgId = row.message_id
    return msg


def _permanent(error: Exception) -> bool:
    """An error that trying again cannot fix: a 5xx refusal of the recipient, or a mail that
    cannot be built (e.g. a newline in a header, or rendered: its ticket is gone). A 4xx
    refusal is temporary."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    return not isinstance(error, (smtplib.SMTPException, OSError))


def _connection_lost(error: Exception) -> bool:
    # SMTPException is an OSError too; only a dropped or timed-out connection ends the batch.
    return isinstance(error, smtplib.SMTPServerDisconnected) or (
        isinstance(error, OSError) and not isinstance(error, smtplib.SMTPException)
    )


def _finish(row: OutboxMail, error: Exception | None) -> None:
    now = clock.utcnow()
    if error is None:
        values = {"status": "sent", "sent_at": now, "claim_token": None, "last_error": None}
    else:
        attempts = row.attempts + 1
        failed = attempts >= MAX_ATTEMPTS or _permanent(error)
        values = {
            "status": "failed" if failed else "pending",
            "attempts": attempts,
            "next_attempt_at": now + backoff(attempts),
            "claim_token": None,
            "last_error": f"{type(error).__name__}: {error}"[:500],
        }
        log.warning("mail %s to %s not sent (attempt %s): %s", row.id, row.recipient, attempts, error)
    db.session.execute(
        update(OutboxMail).where(OutboxMail.id == row.id, OutboxMail.claim_token == row.claim_token).values(**values)
    )
    db.session.commit()


def send_pending(limit: int = 50) -> tuple[int, int]:
    """Send what is due now; return (sent, not sent). Safe to run in several places at once.
    Password reset requests are looked up first, so their links go out in the same round."""
    mail_reset_links(limit)
    rows = _claim(limit)
    sent = failed = 0
    if not rows:
        return 0, 0
    # Render (a mail about a ticket is rendered now, and kept) and detach the rows' state we
    # need before the loop commits. A row that cannot be rendered is kept, marked failed.
    jobs = []
    for row in rows:
        try:
            render.render(row)
            jobs.append((row, _message(row)))
        except render.MailNotRenderable as exc:
            _finish(row, exc)
            failed += 1
    if not jobs:
        return 0, failed
    try:
        conn = _TimeoutConnection(current_app.extensions["mail"])
        conn.__enter__()
    except (smtplib.SMTPException, OSError) as exc:
        for row, _ in jobs:
            _finish(row, exc)
        return 0, failed + len(jobs)
    try:
        for row, msg in jobs:
            if is_own_address(row.recipient):
                # Never mail the desk's own address: that is how mail loops start.
                _finish(row, ValueError("not sent: the recipient is the desk's own address"))
                continue
            try:
                conn.send(msg)
            except Exception as exc:  # noqa: BLE001 - every failure is recorded on its row
                _finish(row, exc)
                failed += 1
                if _connection_lost(exc):
                    # The connection is gone: give the rest back for the next round.
                    for other, _ in jobs[jobs.index((row, msg)) + 1:]:
                        _finish(other, exc)
                        failed += 1
                    break
            else:
                _finish(row, None)
                sent += 1
    finally:
        conn.__exit__(None, None, None)
    return sent, failed


def render_waiting(batch: int = 200) -> tuple[int, int]:
    """Render in place every queued mail that is not rendered yet (before a downgrade, or to read
    them in the database); returns (rendered, not renderable). Sending is unchanged."""
    done = broken = last = 0
    while True:
        rows = db.session.scalars(select(OutboxMail).where(OutboxMail.body_text.is_(None), OutboxMail.id > last)
                                  .order_by(OutboxMail.id).limit(batch)).all()
        if not rows:
            return done, broken
        for row in rows:
            last = row.id
            try:
                render.render(row)
                done += 1
            except render.MailNotRenderable as exc:
                log.warning("mail %s to %s cannot be rendered: %s", row.id, row.recipient, exc)
                broken += 1
        db.session.commit()


def backlog() -> tuple[int, float | None]:
    """(mails not yet sent, age in seconds of the oldest one)."""
    count, oldest = db.session.execute(
        select(func.count(OutboxMail.id), func.min(OutboxMail.created_at)).where(
            OutboxMail.status.in_(("pending", "sending"))
        )
    ).one()
    return count, (clock.utcnow() - oldest).total_seconds() if oldest else None


def send_due() -> tuple[int, int]:
    """Send rounds until nothing is due or a mail fails (a failed one waits for its retry time);
    return (sent, not sent) over all rounds."""
    total_sent = total_failed = 0
    while True:
        sent, failed = send_pending()
        total_sent += sent
        total_failed += failed
        if sent + failed == 0 or failed:
            return total_sent, total_failed


def retry_failed(commit: bool = True) -> int:
    """Put mails that were given up on back in the queue (commit=False: the caller commits, e.g.
    with its audit entry)."""
    result = db.session.execute(
        update(OutboxMail).where(OutboxMail.status == "failed")
        .values(status="pending", attempts=0, next_attempt_at=clock.utcnow())
    )
    if commit:
        db.session.commit()
    return result.rowcount
