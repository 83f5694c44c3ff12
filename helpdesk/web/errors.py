"""Error answers, for every audience: an error page, only the flash message for htmx, or, under
/api, one JSON shape with the right status (never an HTML page)."""
from __future__ import annotations

from flask import current_app, jsonify, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .. import settings
from ..extensions import db
from ..htmx import is_partial, render, swap_nothing
from ..security import totp
from ..security.limits import API_LIMITED_MESSAGE, LIMITED_MESSAGE, refusal_message
from ..tickets import LifecycleError
from .navigation import panel_context

CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
    422: "invalid", 429: "too_many_requests", 500: "server_error",
}


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, fields: dict | None = None):
        super().__init__(message)
        self.status, self.message = status, message
        self.code = code or CODES.get(status, "error")
        self.fields = fields


def is_api_request() -> bool:
    """Anything under /api (another version, a typo) is answered as the API answers: JSON."""
    return request.path == "/api" or request.path.startswith("/api/")


def error_response(status: int, message: str, code: str | None = None, fields: dict | None = None):
    body = {"code": code or CODES.get(status, "error"), "message": message}
    if fields:
        body["fields"] = fields
    response = jsonify({"error": body})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="helpdesk"'
    return response


def init_app(app):
    """Error answers: an HTML page (or only the flash, for htmx), or JSON under /api."""
    @app.errorhandler(LifecycleError)
    def lifecycle_error(exc: LifecycleError):
        if is_api_request():
            return error_response(exc.status, exc.message)
        return _error_page(exc.status, exc.message)

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return _error_page(400, "Your session expired or the form was sent twice. Reload the page and try again.")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if is_api_request() and exc.code and exc.code >= 400:
            response = error_response(exc.code, _api_message(exc))
            if exc.code == 405 and getattr(exc, "valid_methods", None):
                response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
            return response
        if exc.code == 413:
            limit = settings.get("max_attachment_mb")
            return _error_page(413, f"That upload is too large. Each file may be at most {limit} MB.")
        if exc.code == 429:
            response = _error_page(429, refusal_message(exc, LIMITED_MESSAGE))
            if getattr(exc, "retry_after", None):
                response.headers["Retry-After"] = str(exc.retry_after)
            return response
        if exc.code and exc.code < 400:
            return exc
        stock = exc.description == type(exc).description  # Werkzeug's words, not ours
        return _error_page(exc.code or 500, None if stock else exc.description)

    @app.errorhandler(Exception)
    def server_error(exc):
        current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        if is_api_request():
            return error_response(500, "Something went wrong on our side; nothing was changed. Please try again.")
        return _error_page(500, SERVER_ERROR)


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
        return refusal_message(exc, API_LIMITED_MESSAGE)
    return exc.description or "The request was refused."


# What each refusal is called, what it says when the code that raised it gave no words of its
# own (Werkzeug's stock descriptions speak of "the server" and "the requested URL"), and what to
# do next, for staff and for customers.
_TITLES = {
    400: "That did not work", 403: "Not allowed", 404: "Page not found", 405: "Not possible here",
    409: "That changed meanwhile", 413: "Too large", 429: "Slow down", 500: "Something went wrong",
}
_PLAIN = {
    400: "The desk could not read what your browser sent. Go back and try again.",
    403: "Your role does not allow this.",
    404: "There is no such page, or it is not yours to see.",
    405: "This address does not take that kind of request.",
    409: "Someone changed this meanwhile.",
    413: "What you sent is too large.",
    429: "Too many requests in a short time.",
}
SERVER_ERROR = ("Something went wrong on our side, and it has been logged. What you just did may not have "
                "been saved: go back, check, and try again.")
# (A 400's own message says what to do: the CSRF refusal's, say, already ends "Reload the page".)
_NEXT_STAFF = {
    403: "If you need this done, ask an administrator.",
    404: "Check the address, or find the ticket from your queues or the search.",
    405: "Use the page's own links and buttons.",
    409: "Reload the page to see the change, then try again.",
    429: "Wait a moment, then try again.",
    500: "If it keeps happening, tell your administrator.",
}
_NEXT_ADMIN = {**_NEXT_STAFF, 404: "Check the address, or start again from the admin menu."}
_NEXT_CUSTOMER = {
    403: "To follow your ticket, use the link in the mail we sent you, or look it up with its number "
         "and your email address.",
    404: "Check the address. To follow your ticket, use the link in the mail we sent you, or look it "
         "up with its number and your email address.",
    405: "Use the page's own links and buttons.",
    409: "Reload the page to see the change, then try again.",
    429: "Wait a moment, then try again.",
    500: "If it keeps happening, write to us by email.",
}


def _staff_viewer():
    """The signed-in agent an error page is for, or None (a customer, or nobody signed in).
    Reading the session may itself fail (the database is what broke): then the page is the
    customers' one, which needs nothing from the database."""
    try:
        user = current_user._get_current_object()
        if not user.is_authenticated:
            return None
        user.name, user.role  # what the staff layout shows: read now, while a failure can be caught
        return user
    except Exception:  # noqa: BLE001 - an error page must render whatever broke
        db.session.rollback()
        return None


def _error_page(status: int, message: str | None):
    message = message or _PLAIN.get(status, "The request was refused.")
    if is_partial():
        # Only the flash message changes; the element that made the request stays as it was.
        return swap_nothing(render("errors/flash.html", "flash", status=status, message=message, category="error"))
    agent = _staff_viewer()
    context = {"status": status, "code": status, "title": _TITLES.get(status, "Error"), "message": message}
    if agent is None:
        return render("errors/error.html", layout="portal/layout.html", next_step=_NEXT_CUSTOMER.get(status),
                      **context)
    in_admin = request.blueprint == "admin" and agent.is_manager
    # The queue navigation is plain links, without counts, after a server error (the counts would
    # read the database again, which may be what failed) and for an agent who must still set up
    # two-factor sign-in (who may see nothing of the desk yet).
    plain_nav = status >= 500 or (not agent.totp_secret and totp.required())
    return render("errors/error.html", layout="admin/layout.html" if in_admin else "agent/layout.html",
                  staff=True, in_admin=in_admin, plain_nav=plain_nav,
                  next_step=(_NEXT_ADMIN if in_admin else _NEXT_STAFF).get(status), **{**panel_context(), **context})
