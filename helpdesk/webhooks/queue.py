"""Queueing deliveries in the transaction of the event itself: exactly once from the desk's side.

Every change of a ticket writes an Event row (the history) in its transaction. A session hook
notes the Events each flush writes; just before that transaction commits, it adds one
WebhookDelivery per enabled webhook subscribed to the Event's kind. A change that rolls back
leaves no delivery; one that commits cannot lose its deliveries. The body is built then, from
the ticket as the transaction leaves it, and every attempt sends those same bytes.
"""
from __future__ import annotations

import json
from datetime import datetime

from flask import has_app_context
from sqlalchemy import inspect, select

from ..extensions import db, listen_to_sessions
from ..mail.links import agent_link
from ..models import Event, Webhook, WebhookDelivery, event_kind

_EVENTS = "helpdesk.webhook_events"  # session.info: Events flushed in this transaction
_QUEUED = "helpdesk.webhook_queued"  # session.info: (webhook id, event id) queued in it


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value else None


def _person(agent_or_customer):
    return {"name": agent_or_customer.name, "email": agent_or_customer.email} if agent_or_customer else None


def body(event: Event, kind: str) -> str:
    """The JSON body of one event (README: Webhooks, "Payload")."""
    ticket = event.ticket
    if event.agent is not None:
        by = {"type": "agent", "name": event.agent.name}
    elif event.customer is not None:
        by = {"type": "customer", "name": event.customer.name}
    elif event.rule_name:
        by = {"type": "rule", "name": event.rule_name}
    elif event.action == "collaborator_replied":
        by = {"type": "collaborator", "name": event.note}
    else:
        by = {"type": "system", "name": "System"}
    data = {
        "event": {
            "id": event.id, "type": kind, "action": event.action, "from": event.old, "to": event.new,
            "by": by, "occurred_at": _iso(event.created_at),
        },
        "ticket": {
            "number": ticket.number, "subject": ticket.subject,
            "status": ticket.status, "status_label": ticket.status_label,
            "priority": ticket.priority.name, "department": ticket.department.name,
            "team": ticket.team.name if ticket.team else None,
            "assignee": _person(ticket.assignee),
            "sla_plan": ticket.sla.name if ticket.sla else None,
            "customer": _person(ticket.customer),
            "source": ticket.source,
            "tags": [tag.name for tag in ticket.tags],
            "created_at": _iso(ticket.created_at), "updated_at": _iso(ticket.updated_at),
            "url": agent_link(ticket) if has_app_context() else None,
        },
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _add(session, webhook: Webhook, event: Event, kind: str) -> WebhookDelivery | None:
    queued = session.info.setdefault(_QUEUED, set())
    if (webhook.id, event.id) in queued:
        return None
    queued.add((webhook.id, event.id))
    delivery = WebhookDelivery(webhook_id=webhook.id, event_id=event.id, kind=kind, payload=body(event, kind))
    session.add(delivery)
    return delivery


def enqueue(webhook: Webhook, event: Event) -> WebhookDelivery | None:
    """Queue `event` for `webhook` in the current transaction (a rule's "call a webhook" action):
    at most one delivery per webhook and event, whoever asks. Returns the new delivery, or None
    when it was queued already. The caller commits."""
    session = db.session
    session.flush()
    kind = event_kind(event) or f"ticket.{event.action}"
    if (webhook.id, event.id) in session.info.get(_QUEUED, ()) or session.scalar(
            select(WebhookDelivery.id).where(WebhookDelivery.webhook_id == webhook.id,
                                             WebhookDelivery.event_id == event.id)) is not None:
        return None
    return _add(session, webhook, event, kind)


def _note_events(session, flush_context):
    events = [obj for obj in session.new if isinstance(obj, Event)]
    if events:
        session.info.setdefault(_EVENTS, []).extend(events)


def _queue_deliveries(session):
    if not session.info.get(_EVENTS):
        return
    session.flush()  # Events added since the last flush are noted too
    events = [e for e in session.info.pop(_EVENTS, ()) if inspect(e).persistent and event_kind(e)]
    if not events:
        return
    hooks = session.scalars(select(Webhook).where(Webhook.active.is_(True)).order_by(Webhook.id)).all()
    added = False
    for event in events:
        kind = event_kind(event)
        for hook in hooks:
            if kind in hook.event_list:
                added = _add(session, hook, event, kind) is not None or added
    if added:
        session.flush()


def _forget(session, transaction):
    # Only when the whole transaction ends: a savepoint rolled back leaves the Events noted before
    # it (its own are no longer persistent, and are skipped).
    if transaction.parent is None:
        session.info.pop(_EVENTS, None)
        session.info.pop(_QUEUED, None)


# Registered before the live panel's and the audit's listeners (create_app), so the deliveries
# are written before the change counters are bumped and the audit rule is checked.
_LISTENERS = (
    ("after_flush", _note_events),
    ("before_commit", _queue_deliveries),
    ("after_transaction_end", _forget),
)


def init_app(app) -> None:
    """Listen to every database session (see extensions.listen_to_sessions)."""
    listen_to_sessions(_LISTENERS)
