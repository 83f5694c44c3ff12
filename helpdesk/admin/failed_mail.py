"""Mail the desk could not read (/admin/failed-mail), kept raw: what went wrong, and the raw
message as a download (never shown inline)."""
from __future__ import annotations

from flask import abort, make_response
from sqlalchemy import select

from ..extensions import db
from ..htmx import render
from ..models import FailedMail
from .blueprint import bp


@bp.get("/failed-mail")
def failed_mail():
    """Mails the desk could not read, kept raw: what went wrong, and the raw message."""
    mails = db.session.scalars(select(FailedMail).order_by(FailedMail.created_at.desc()).limit(200))
    return render("admin/failed_mail.html", mails=list(mails))


@bp.get("/failed-mail/<int:mail_id>.eml")
def failed_mail_raw(mail_id):
    """The raw message, as a download (never shown inline)."""
    mail = db.session.get(FailedMail, mail_id)
    if mail is None:
        abort(404, "There is no such mail.")
    response = make_response(mail.raw)
    response.headers["Content-Type"] = "application/octet-stream"
    response.headers["Content-Disposition"] = f'attachment; filename="failed-mail-{mail.id}.eml"'
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response
