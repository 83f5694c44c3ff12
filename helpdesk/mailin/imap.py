"""Fetching IMAP mailboxes: each new message is taken in once (mailin.take_in), then marked
read, moved or deleted as the mailbox says. A message is recorded by its UID in the same
transaction as its ticket, so a fetcher stopped mid-way, or two fetchers at once, never take
a message twice: the next round only does the mailbox action for what was already taken in.

A round that fails leaves the desk's own wording on the mailbox (last_error), one message per
kind of failure, never the server's text: the mailbox form must not become a way to read other
services' banners. A mailbox set to send its password unencrypted to another machine without the
admin's explicit choice is not connected to at all."""
from __future__ import annotations

import imaplib
import logging
import ssl
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from .. import clock, crypto
from ..extensions import db
from ..models import Mailbox, ProcessedMail
from . import route

log = logging.getLogger(__name__)
BATCH = 200  # messages per mailbox and round


@dataclass
class Round:
    mailbox: str
    outcomes: dict = field(default_factory=dict)
    error: str | None = None

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


# What the admin sees when a round fails: the desk's words, one per kind of failure.
COULD_NOT_CONNECT = "Could not connect to the IMAP server: check its name and port (is it an IMAP server?)."
TLS_FAILED = ("The secure connection (TLS) to the IMAP server failed: its certificate was not accepted, "
              "or it does not offer the chosen security.")
SIGN_IN_REFUSED = "The IMAP server refused the sign-in: check the user name and password."
FOLDER_NOT_FOUND = "The folder was not found on the IMAP server: check its name."
TIMED_OUT = "The IMAP server did not answer in time."
BROKE_OFF = "The IMAP server broke off or answered unexpectedly while fetching; the next round tries again."
PLAINTEXT_REFUSED = ("Not fetched: without TLS the password would go unencrypted to {host}. Choose TLS or "
                     "STARTTLS, or tick “Send the password unencrypted to this server” in the mailbox's settings.")


class FetchFailed(Exception):
    """A round that failed, with the desk's own message for the admin (the cause is logged)."""


@contextmanager
def _step(message: str):
    """Failures of one step of the conversation become `message` (timeouts and TLS errors keep
    their own)."""
    try:
        yield
    except TimeoutError as exc:
        raise FetchFailed(TIMED_OUT) from exc
    except ssl.SSLError as exc:
        raise FetchFailed(TLS_FAILED) from exc
    except imaplib.IMAP4.error as exc:  # the server said no (abort: the connection broke, or it spoke no IMAP)
        aborted = isinstance(exc, imaplib.IMAP4.abort) and message not in (COULD_NOT_CONNECT, TLS_FAILED)
        raise FetchFailed(BROKE_OFF if aborted else message) from exc
    except OSError as exc:
        raise FetchFailed(message if message in (COULD_NOT_CONNECT, TLS_FAILED) else BROKE_OFF) from exc


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def connect(box: Mailbox) -> imaplib.IMAP4:
    """Connect and sign in; FetchFailed with the desk's message when that fails."""
    if box.plaintext_refused:  # the stored setting alone never sends the password in clear across the network
        raise FetchFailed(PLAINTEXT_REFUSED.format(host=box.host))
    password = box.login_password()  # before connecting: a password the key cannot read is the admin's to fix
    timeout = current_app.config["HELPDESK_IMAP_TIMEOUT"]
    with _step(COULD_NOT_CONNECT):
        if box.security == "ssl":
            conn = imaplib.IMAP4_SSL(box.host, box.port, ssl_context=ssl.create_default_context(), timeout=timeout)
        else:
            conn = imaplib.IMAP4(box.host, box.port, timeout=timeout)
    try:
        if box.security == "starttls":
            with _step(TLS_FAILED):
                conn.starttls(ssl_context=ssl.create_default_context())
        with _step(SIGN_IN_REFUSED):
            conn.login(box.username, password)
    except FetchFailed:
        try:
            conn.shutdown()
        except OSError:
            pass
        raise
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
        with _step(FOLDER_NOT_FOUND):
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
                outcome = route.take_in(raw, source=f"mailbox {name}", key=key, mailbox=db.session.get(Mailbox, box_id))
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
        except (FetchFailed, imaplib.IMAP4.error, OSError) as exc:
            db.session.rollback()
            error = str(exc) if isinstance(exc, FetchFailed) else (TIMED_OUT if isinstance(exc, TimeoutError)
                                                                   else BROKE_OFF)
            result = Round(box.name, error=error)
            cause = exc.__cause__ if isinstance(exc, FetchFailed) else exc
            # The server's own words go to the operator's log only (repr: no line breaks from outside).
            log.warning("mailbox %s: %s (%r)", box.name, error, cause)
        except crypto.Undecryptable:
            db.session.rollback()
            error = ("The password could not be decrypted (SECRET_KEY or HELPDESK_ENCRYPTION_KEY changed "
                     "since it was saved): enter it again in the admin area.")
            result = Round(box.name, error=error)
            log.warning("mailbox %s: %s", box.name, error)
        box = db.session.get(Mailbox, box_id)
        box.last_fetch_at, box.last_error = clock.utcnow(), error
        db.session.commit()
        rounds.append(result)
    return rounds
