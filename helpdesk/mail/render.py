"""Mail about a ticket is rendered when it is sent, not in the request that caused it.

At the event, notify.py freezes what the mail shows (`freeze`): the ticket's facts as they are
at that moment (subject, status, priority, department, topic, SLA plan, due time, customer), the
message it quotes, the people and team it names, the recipient's name and link, the admin's
wording, the desk's name. That is stored as JSON on the outbox row, in the same transaction as
the ticket change; later edits (a reply's text, the status, a rename) never change a mail that
was already queued. The sender renders the row (`render`) just before sending it and keeps the
result on the row. Only the ticket's number is read at send time, from the ticket itself: a mail
whose ticket is gone cannot be rendered, and is kept and reported as failed (MailNotRenderable).
"""
from __future__ import annotations

import json
from datetime import date, datetime
from types import SimpleNamespace

from flask import render_template
from sqlalchemy import select

from ..extensions import db
from ..models import OutboxMail, Ticket
from . import wording


class MailNotRenderable(Exception):
    """The row cannot become a mail (its ticket is gone, its context is unreadable...)."""


def _name(obj) -> dict | None:
    return None if obj is None else {"name": obj.name}


def _person(obj) -> dict | None:
    return None if obj is None else {"name": obj.name, "email": obj.email}


def _entry(entry) -> dict | None:
    if entry is None:
        return None
    return {
        "body": entry.body, "body_html": entry.body_html,
        "agent": _name(entry.agent),
        "collaborator": _person(getattr(entry, "collaborator", None)),
        "attachments": [{"filename": a.filename} for a in entry.attachments],
    }


def _value(value):
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_value(v) for v in value]
    if hasattr(value, "name"):  # an agent, a team, a department...
        return _name(value)
    raise TypeError(f"cannot freeze {type(value).__name__} for a mail")


# Context entries the templates read as objects, and what of them they read.
_SHAPES = {"entry": _entry, "collaborator": _person, "agent": _name, "actor": _name, "team": _name}


def freeze(ticket: Ticket, context: dict, message: str | None) -> str:
    """The mail's context as JSON: every value as it is now (the ticket's facts included)."""
    frozen = {
        "ticket": {
            "subject": ticket.subject, "status": ticket.status,
            "customer": _person(ticket.customer),
            "topic": _name(ticket.topic), "department": _name(ticket.department),
            "priority": _name(ticket.priority), "sla": _name(ticket.sla),
            "due_at": _value(ticket.due_at),
        },
        "message": message,
    }
    for key, value in context.items():
        if key == "ticket":
            continue
        shape = _SHAPES.get(key)
        frozen[key] = shape(value) if shape is not None else _value(value)
    return json.dumps(frozen, separators=(",", ":"), ensure_ascii=False)


def _thaw(value):
    if isinstance(value, dict):
        if "$dt" in value:
            return datetime.fromisoformat(value["$dt"])
        if "$date" in value:
            return date.fromisoformat(value["$date"])
        return SimpleNamespace(**{k: _thaw(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_thaw(v) for v in value]
    return value


def context_of(row: OutboxMail, number: str) -> dict:
    """The template context of an unrendered row, with the ticket's number read at send time."""
    try:
        frozen = json.loads(row.context)
        facts = frozen.pop("ticket")
    except (TypeError, ValueError, KeyError) as exc:
        raise MailNotRenderable(f"its stored context cannot be read ({exc})") from None
    context = {key: _thaw(value) for key, value in frozen.items()}
    context["ticket"] = SimpleNamespace(number=number, **{k: _thaw(v) for k, v in facts.items()})
    message = context.pop("message", None)
    context["message"] = message
    context["message_html"] = wording.as_html(message) if message else None
    return context


def render(row: OutboxMail) -> None:
    """Fill in the row's body_text and body_html from its kind and context (nothing to do for a
    row queued rendered). Raises MailNotRenderable when it cannot be done; the row is unchanged."""
    if row.body_text is not None and row.body_html is not None:
        return
    if not row.kind or (row.kind not in wording.KINDS and row.kind not in wording.OWN_WORDING) or not row.context:
        raise MailNotRenderable(f"it has no body and no known kind of mail ({row.kind!r})")
    number = None
    if row.ticket_id is not None:
        number = db.session.scalar(select(Ticket.number).where(Ticket.id == row.ticket_id))
    if number is None:
        raise MailNotRenderable("its ticket is gone")
    context = context_of(row, number)
    message_html = context.pop("message_html")
    try:
        text = render_template(f"email/{row.kind}.txt", **context)
        context["message"] = message_html
        html = render_template(f"email/{row.kind}.html", **context)
    except Exception as exc:  # noqa: BLE001 - a template error must not stop the sender
        raise MailNotRenderable(f"its templates failed: {type(exc).__name__}: {exc}") from None
    row.body_text, row.body_html = text, html
