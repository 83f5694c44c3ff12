"""A local SMTP server that keeps every mail in a Maildir, so a trial desk's mail can be read.

`make run` starts it and points the desk at it; the admin area shows its mailbox.
Production deployments set MAIL_SERVER to a real relay instead.
"""
from __future__ import annotations

import email
import email.policy
import mailbox
import time
from pathlib import Path

from aiosmtpd.controller import Controller


class _Keeper:
    def __init__(self, path: str):
        # Maildir(create=True) makes tmp/new/cur only when the folder itself is new.
        for sub in ("tmp", "new", "cur"):
            (Path(path) / sub).mkdir(parents=True, exist_ok=True)
        self.box = mailbox.Maildir(path, create=False)

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        if "X-Delivered-To" not in message:
            message["X-Delivered-To"] = ", ".join(envelope.rcpt_tos)
        self.box.add(message.as_bytes())
        return "250 Message accepted"


def serve(host: str, port: int, path: str) -> None:
    Path(path).mkdir(parents=True, exist_ok=True)
    controller = Controller(_Keeper(path), hostname=host, port=port)
    controller.start()
    print(f"Keeping mail sent to {host}:{port} in {path}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


def read(path: str, limit: int = 200) -> list[dict]:
    """The newest mails in the Maildir, parsed for display."""
    if not (Path(path) / "cur").is_dir():
        return []
    box = mailbox.Maildir(path, create=False)
    items = []
    for key in box.keys():
        raw = box.get_bytes(key)
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        body = msg.get_body(("plain",))
        items.append({
            "key": key,
            "to": msg.get("X-Delivered-To") or msg.get("To", ""),
            "subject": msg.get("Subject", ""),
            "date": email.utils.parsedate_to_datetime(msg["Date"]) if msg.get("Date") else None,
            "text": body.get_content() if body else "",
            "has_html": msg.get_body(("html",)) is not None,
        })
    items.sort(key=lambda m: m["date"].timestamp() if m["date"] else 0, reverse=True)
    return items[:limit]


def read_html(path: str, key: str) -> str | None:
    """The HTML part of the mail kept under `key`, or None (no such mail, or no HTML part)."""
    if not (Path(path) / "cur").is_dir():
        return None
    box = mailbox.Maildir(path, create=False)
    try:
        raw = box.get_bytes(key)
    except KeyError:
        return None
    body = email.message_from_bytes(raw, policy=email.policy.default).get_body(("html",))
    return body.get_content() if body is not None else None
