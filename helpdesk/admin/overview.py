"""The admin area's overview (/admin/): tickets by status and whether mail is leaving the desk."""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_login import current_user
from sqlalchemy import func, select

from .. import clock
from ..extensions import db
from ..htmx import render
from ..mail import outbox
from ..models import ACTIVE_STATUSES, STATUSES, OutboxMail
from ..text import duration
from ..tickets import queues, tally
from .blueprint import bp

STALE_BACKLOG = timedelta(minutes=15)  # older waiting mail suggests the sender is not running


def outbox_health() -> dict:
    """Waiting, failed and recently sent mail: is mail leaving the desk?"""
    waiting, oldest = outbox.backlog()
    counts = dict(db.session.execute(
        select(OutboxMail.status, func.count(OutboxMail.id)).group_by(OutboxMail.status)
    ).all())
    sent_today = db.session.scalar(
        select(func.count(OutboxMail.id)).where(OutboxMail.status == "sent",
                                                OutboxMail.sent_at >= clock.utcnow() - timedelta(days=1))
    )
    return {
        "waiting": waiting,
        "oldest_age": duration(oldest) if oldest is not None else None,
        "failed": counts.get("failed", 0),
        "sent_today": sent_today,
        "stale": oldest is not None and oldest > STALE_BACKLOG.total_seconds(),
    }


@bp.route("/")
def index():
    """Overview: tickets by status and the outbox's health."""
    by_status = tally.by_status()
    overdue = queues.counts(current_user)["overdue"]  # an admin's queues hold every ticket
    return render(
        "admin/index.html",
        statuses=[(s, by_status.get(s, 0)) for s in STATUSES],
        total=sum(by_status.values()),
        active=sum(by_status.get(s, 0) for s in ACTIVE_STATUSES),
        overdue=overdue,
        health=outbox_health(),
        background_sender=current_app.config.get("HELPDESK_BACKGROUND_SENDER"),
    )
