"""Fetching IMAP mailboxes: each new message is taken in once (mailin.take_in), then marked
read, moved or deleted as the mailbox says. A message is recorded by its UID in the same
transaction as its ticket, so a fetcher stopped mid-way, or two fetchers at once, never take
a message twice: the next round only does the mailbox action for what was already taken in."""
from __future__ import annotations

import imaplib
import logging
import ssl
import threading
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from . import background, crypto, mailin
from .extensions import db
from .models import Mailbox, ProcessedMail, utcnow

log = logging.getLogger(__name__)
BATCH = 200  # messages per mailbox and round


@dataclass
class Round:
    mailbox: str
    outcomes: dict = field(default_factory=dict)
    error: str | None = None

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def connect(box: Mailbox) -> imaplib.IMAP4:
    password = box.login_password()  # before connecting: a password the key cannot read is the admin's to fix
    timeout = current_app.config["HELPDESK_IMAP_TIMEOUT"]
    if box.security == "ssl":
        conn = imaplib.IMAP4_SSL(box.host, box.port, ssl_context=ssl.create_default_context(), timeout=timeout)
    else:
        conn = imaplib.IMAP4(box.host, box.port, timeout=timeout)
        if box.security == "starttls":
            conn.starttls(ssl_context=ssl.create_default_context())
    conn.login(box.username, password)
    return conn


def _check(result, what: str):
    typ, data = result
    if typ != "OK":
        detail = data[0].decode("utf-8", "replace") if data and isinstance(data[0], bytes) else str(data)
        raise imaplib.IMAP4.error(f"{what} failed: {detail}")
    return data


def _raw(data) -> bytes | None:
    for item in data or []:
        if isinstance(item, tuple) and len(item) >= 2 and isinstance(item[1], bytes):
            return item[1]
    return None


def _done_with(conn: imaplib.IMAP4, box: Mailbox, uid: bytes, can_move: bool) -> bool:
    """Apply the mailbox's action; True if messages were flagged for deletion (expunge needed)."""
    if box.action == "seen":
        conn.uid("STORE", uid, "+FLAGS", "(\\Seen)")
        return False
    if box.action == "move":
        if can_move:
            _check(conn.uid("MOVE", uid, _quote(box.move_to)), f"Moving to {box.move_to}")
            return False
        _check(conn.uid("COPY", uid, _quote(box.move_to)), f"Copying to {box.move_to}")
    conn.uid("STORE", uid, "+FLAGS", "(\\Deleted)")
    return True


def fetch_mailbox(box: Mailbox, limit: int = BATCH) -> Round:
    """One round over one mailbox."""
    result = Round(box.name)
    box_id, name = box.id, box.name
    conn = connect(box)
    try:
        _check(conn.select(_quote(box.folder)), f"Opening the folder {box.folder}")
        validity = (conn.response("UIDVALIDITY")[1] or [b"0"])[0]
        validity = validity.decode() if isinstance(validity, bytes) else str(validity or "0")
        criteria = "UNSEEN" if box.action == "seen" else "UNDELETED"
        uids = _check(conn.uid("SEARCH", None, criteria), "Searching")[0].split()[:limit]
        typ, caps = conn.capability()  # as after login (imaplib keeps the greeting's list)
        can_move = typ == "OK" and b"MOVE" in (caps[0] or b"").upper().split()
        expunge = False
        for uid in uids:
            key = f"imap:{box_id}:{validity}:{uid.decode()}"
            if db.session.scalar(select(ProcessedMail.id).where(ProcessedMail.key == key)) is None:
                raw = _raw(_check(conn.uid("FETCH", uid, "(BODY.PEEK[])"), "Fetching"))
                if raw is None:  # gone meanwhile (another fetcher deleted it)
                    continue
                outcome = mailin.take_in(raw, source=f"mailbox {name}", key=key, mailbox=db.session.get(Mailbox, box_id))
                result.count(outcome.outcome)
            else:
                result.count("duplicate")
            expunge = _done_with(conn, db.session.get(Mailbox, box_id), uid, can_move) or expunge
        if expunge:
            conn.expunge()
    finally:
        try:
            conn.logout()
        except (imaplib.IMAP4.error, OSError):
            pass
    return result


def fetch_all() -> list[Round]:
    """One round over every active mailbox; a failing mailbox is noted and the others go on."""
    rounds = []
    ids = list(db.session.scalars(select(Mailbox.id).where(Mailbox.active.is_(True)).order_by(Mailbox.id)))
    for box_id in ids:
        box = db.session.get(Mailbox, box_id)
        try:
            result = fetch_mailbox(box)
            error = None
        except (imaplib.IMAP4.error, OSError, ssl.SSLError) as exc:
            db.session.rollback()
            result, error = Round(box.name, error=f"{type(exc).__name__}: {exc}"[:500]), f"{exc}"[:500]
            log.warning("mailbox %s: %s", box.name, exc)
        except crypto.Undecryptable:
            db.session.rollback()
            error = ("The password could not be decrypted (SECRET_KEY or HELPDESK_ENCRYPTION_KEY changed "
                     "since it was saved): enter it again in the admin area.")
            result = Round(box.name, error=error)
            log.warning("mailbox %s: %s", box.name, error)
        box = db.session.get(Mailbox, box_id)
        box.last_fetch_at, box.last_error = utcnow(), error
        db.session.commit()
        rounds.append(result)
    return rounds


def run_loop(app, interval: float = 60.0, stop: threading.Event | None = None) -> None:
    """Fetch, sleep, repeat, until `stop` is set; errors are logged and the loop goes on."""
    background.run_every(app, interval, stop, fetch_all, "mail fetch round")
