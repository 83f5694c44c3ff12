"""The admin area: the desk's health at a glance, the mail outbox, the local dev mailbox.
(config.py and extra.py: the desk's configuration, settings and audit log.)

Managers and admins may look; only admins may change anything. The dev mailbox is for admins
only: it holds every mail the desk sent, admins' password-reset links included.
"""
from __future__ import annotations

import re
from datetime import timedelta, timezone

from flask import abort, current_app, flash, redirect, request, url_for
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import func, select

from .. import audit
from ..mail import devserver, outbox
from ..tickets import overdue_clause
from ..extensions import db, login_manager
from ..htmx import render
from ..models import ACTIVE_STATUSES, STATUSES, OutboxMail, Ticket
from .. import clock
from ..text import duration
from . import bp

MAIL_STATUSES = ("pending", "sending", "sent", "failed")
PER_PAGE = 50
STALE_BACKLOG = timedelta(minutes=15)  # older waiting mail suggests the sender is not running
_URL = re.compile(r"https?://[^\s<>\"']+")


@bp.before_request
def staff_only():
    """Managers and admins only; anyone else is sent to sign in or refused."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.is_manager:
        abort(403, "The admin area is for managers and administrators.")
    if request.method not in ("GET", "HEAD"):
        admin_only()


def admin_only():
    if not current_user.is_admin:
        abort(403, "Only administrators may do that.")


@bp.context_processor
def admin_nav():
    """The dev mailbox's link is shown to those who may open it: admins, when it is on."""
    return {"dev_mailbox_on": bool(current_app.config.get("HELPDESK_DEV_MAILBOX"))
            and getattr(current_user, "is_admin", False)}


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
    by_status = dict(db.session.execute(select(Ticket.status, func.count(Ticket.id)).group_by(Ticket.status)).all())
    overdue = db.session.scalar(
        select(func.count(Ticket.id)).where(overdue_clause(clock.utcnow()))
    )
    return render(
        "admin/index.html",
        statuses=[(s, by_status.get(s, 0)) for s in STATUSES],
        total=sum(by_status.values()),
        active=sum(by_status.get(s, 0) for s in ACTIVE_STATUSES),
        overdue=overdue,
        health=outbox_health(),
        background_sender=current_app.config.get("HELPDESK_BACKGROUND_SENDER"),
    )


@bp.route("/outbox")
def outbox_list():
    """Recent outbox mail, newest first, filterable by status."""
    status = request.args.get("status", "")
    if status not in MAIL_STATUSES:
        status = ""
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 100_000)  # beyond: an empty page, not an SQL error
    query = select(OutboxMail).order_by(OutboxMail.created_at.desc(), OutboxMail.id.desc())
    if status:
        query = query.where(OutboxMail.status == status)
    mails = db.paginate(query, page=page, per_page=PER_PAGE, error_out=False)
    counts = dict(db.session.execute(
        select(OutboxMail.status, func.count(OutboxMail.id)).group_by(OutboxMail.status)
    ).all())
    return render("admin/outbox.html", "outbox_list", mails=mails, shown=status,
                  counts=counts, statuses=MAIL_STATUSES)


@bp.route("/outbox/retry", methods=["POST"])
def outbox_retry():
    """Queue the mails that were given up on again (admins only)."""
    admin_only()
    count = outbox.retry_failed(commit=False)
    if count:
        audit.record("outbox", None, [("status", f"failed ({count})", "pending")], name="Failed mail")
        db.session.commit()
    else:
        db.session.rollback()
    if count:
        flash(f"{count} failed {'mail is' if count == 1 else 'mails are'} queued again.", "success")
    else:
        flash("There were no failed mails to retry.", "info")
    return redirect(url_for("admin.outbox_list", status="pending" if count else None))


@bp.route("/dev-mailbox")
def dev_mailbox():
    """The mails the local mail catcher received (only when HELPDESK_DEV_MAILBOX is set; admins only,
    since it shows every agent's password-reset link)."""
    admin_only()
    path = current_app.config.get("HELPDESK_DEV_MAILBOX")
    if not path:
        abort(404)
    mails = devserver.read(path, limit=100)
    for mail in mails:
        if mail["date"] is not None:
            mail["date"] = mail["date"].astimezone(timezone.utc).replace(tzinfo=None)
        mail["html"] = link_desk_urls(mail["text"], current_app.config["HELPDESK_BASE_URL"])
    return render("admin/dev_mailbox.html", mails=mails, path=path)


def link_desk_urls(text: str, base_url: str) -> Markup:
    """Escape a mail's text; links into this desk (and only those) become clickable."""
    base = base_url.rstrip("/")
    out, last = [], 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(".,;:!?)]}")
        end = match.start() + len(url)
        out.append(escape(text[last:match.start()]))
        if url == base or url.startswith((base + "/", base + "?", base + "#")):
            out.append(Markup('<a href="{0}">{0}</a>').format(url))
        else:
            out.append(escape(url))
        last = end
    out.append(escape(text[last:]))
    return Markup("").join(out)
