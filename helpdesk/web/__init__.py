"""What every page shares: template filters, error pages, security headers. (Loading the signed-in
agent, and the rules every staff session follows: helpdesk/auth.py.)"""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask import current_app, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .. import settings, theme
from ..extensions import db
from ..htmx import is_partial, render, swap_nothing
from ..models import STATUS_LABELS, utcnow
from ..api.errors import error_response as api_error, is_api_request
from ..security import add_security_headers, refuse_nul_bytes
from ..tickets import LifecycleError


def _local(value: datetime) -> datetime:
    tz = ZoneInfo(settings.get("timezone"))
    return value.replace(tzinfo=timezone.utc).astimezone(tz)


def format_datetime(value: datetime | None, fmt: str = "%d %b %Y, %H:%M") -> str:
    return _local(value).strftime(fmt) if value else ""


def duration(seconds: float) -> str:
    """1 h 20 min, 3 d 4 h, 45 min, under a minute."""
    minutes = int(abs(seconds) // 60)
    days, rem = divmod(minutes, 1440)
    hours, mins = divmod(rem, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min" if mins else "under a minute"


def due_text(ticket, now: datetime | None = None) -> str:
    """'due in 1 h 20 min' or 'overdue by 3 h'; empty when nothing is due."""
    if ticket.due_at is None or not ticket.is_active:
        return ""
    now = now or utcnow()
    delta = (ticket.due_at - now).total_seconds()
    return f"due in {duration(delta)}" if delta >= 0 else f"overdue by {duration(delta)}"


def ago(value: datetime | None) -> str:
    if value is None:
        return ""
    seconds = (utcnow() - value).total_seconds()
    return "just now" if seconds < 60 else f"{duration(seconds)} ago"


def filesize(size: int) -> str:
    for unit in ("bytes", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def init_app(app):
    app.jinja_env.filters.update(dt=format_datetime, ago=ago, filesize=filesize, due_text=due_text)
    app.jinja_env.globals.update(STATUS_LABELS=STATUS_LABELS, now=utcnow)
    app.after_request(add_security_headers)
    theme.init_app(app)

    @app.before_request
    def body_limit():
        """The upload limit follows the attachment settings an admin may change at any time."""
        if request.method in ("POST", "PUT", "PATCH") and current_app.config.get("HELPDESK_BODY_LIMIT_FROM_SETTINGS"):
            mb, count = settings.get("max_attachment_mb"), settings.get("max_attachments")
            files = count * mb * 4 // 3 if is_api_request() else count * mb  # the API sends files in base64
            request.max_content_length = (files + 2) * 1024 * 1024
    app.before_request(refuse_nul_bytes)

    @app.context_processor
    def desk():
        return {"desk_name": settings.get("desk_name"), "theme_version": settings.get("theme_version")}

    @app.errorhandler(LifecycleError)
    def lifecycle_error(exc: LifecycleError):
        if is_api_request():
            return api_error(exc.status, exc.message)
        return _error_page(exc.status, exc.message)

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return _error_page(400, "Your session expired or the form was sent twice. Reload the page and try again.")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if is_api_request() and exc.code and exc.code >= 400:
            response = api_error(exc.code, _api_message(exc))
            if exc.code == 405 and getattr(exc, "valid_methods", None):
                response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
            return response
        if exc.code == 413:
            limit = settings.get("max_attachment_mb")
            return _error_page(413, f"That upload is too large. Each file may be at most {limit} MB.")
        if exc.code == 429:
            from ..limits import LIMITED_MESSAGE, refusal_message

            response = _error_page(429, refusal_message(exc, LIMITED_MESSAGE))
            if getattr(exc, "retry_after", None):
                response.headers["Retry-After"] = str(exc.retry_after)
            return response
        if exc.code and exc.code < 400:
            return exc
        return _error_page(exc.code or 500, exc.description)

    @app.errorhandler(Exception)
    def server_error(exc):
        current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        if is_api_request():
            return api_error(500, "Something went wrong on our side; nothing was changed. Please try again.")
        return _error_page(500, "Something went wrong on our side. Nothing you sent was lost; please try again.")


def _api_message(exc: HTTPException) -> str:
    if exc.code == 413:
        limit = request.max_content_length
        return "The request body is too large" + (f"; at most {limit / 1024 / 1024:.0f} MB." if limit else ".")
    if exc.code == 404:
        return "There is no such API endpoint."
    if exc.code == 405:
        allowed = sorted(set(getattr(exc, "valid_methods", None) or ()) - {"HEAD", "OPTIONS"})
        return "This endpoint does not take that method" + (f"; it takes {', '.join(allowed)}." if allowed else ".")
    if exc.code == 429:  # Flask-Limiter adds Retry-After to the response
        from ..limits import API_LIMITED_MESSAGE, refusal_message

        return refusal_message(exc, API_LIMITED_MESSAGE)
    return exc.description or "The request was refused."


_TITLES = {
    400: "That did not work", 403: "Not allowed", 404: "Not found", 405: "Not allowed",
    409: "That changed meanwhile", 413: "Too large", 429: "Slow down", 500: "Server error",
}


def _error_page(status: int, message: str):
    if is_partial():
        # Only the flash message changes; the element that made the request stays as it was.
        return swap_nothing(render("errors/flash.html", "flash", status=status, message=message, category="error"))
    return render("errors/error.html", status=status, code=status,
                  title=_TITLES.get(status, "Error"), message=message)
