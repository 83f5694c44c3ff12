"""The mail outbox (/admin/outbox): recent mail by status, and (admins) queueing the failed mail
again."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from sqlalchemy import func, select

from .. import audit
from ..extensions import db
from ..htmx import render
from ..mail import outbox
from ..models import OutboxMail
from .blueprint import admin_only, bp

MAIL_STATUSES = ("pending", "sending", "sent", "failed")
PER_PAGE = 50


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
