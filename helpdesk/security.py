"""Customer access links, safe redirects and the response headers every page gets."""
from urllib.parse import urlsplit

from flask import Request, abort, current_app, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from werkzeug.formparser import FormDataParser

from .extensions import db
from .models import Ticket

_ACCESS_SALT = "helpdesk.ticket-access"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_ACCESS_SALT)


def access_token(ticket: Ticket) -> str:
    """A signed token that opens one ticket for its customer until it expires or is revoked."""
    return _serializer().dumps({"t": ticket.id, "n": ticket.access_nonce})


def _max_age() -> int:
    """Seconds an access link (a customer's or a collaborator's) stays valid: the admin's setting."""
    from . import settings

    return settings.get("access_link_days") * 86400


def ticket_for_token(token: str) -> Ticket | None:
    """The ticket a token opens, or None if it is forged, expired or revoked."""
    try:
        data = _serializer().loads(token, max_age=_max_age())
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("t"), int):
        return None
    ticket = db.session.get(Ticket, data["t"])
    if ticket is None or ticket.access_nonce != data.get("n"):
        return None
    return ticket


_COLLAB_SALT = "helpdesk.collaborator-access"


def _collab_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_COLLAB_SALT)


def collaborator_token(collaborator) -> str:
    """A signed token that opens one ticket for one collaborator, until they are taken off copy."""
    return _collab_serializer().dumps({"t": collaborator.ticket_id, "c": collaborator.id,
                                       "n": collaborator.access_nonce})


def access_for_token(token: str):
    """(ticket, collaborator or None) for a customer's or a collaborator's link, else (None, None)."""
    ticket = ticket_for_token(token)
    if ticket is not None:
        return ticket, None
    from .models import Collaborator

    try:
        data = _collab_serializer().loads(token, max_age=_max_age())
    except (BadSignature, SignatureExpired):
        return None, None
    if not isinstance(data, dict) or not isinstance(data.get("c"), int) or not isinstance(data.get("t"), int):
        return None, None
    collab = db.session.get(Collaborator, data["c"])
    if (collab is None or not collab.active or collab.ticket_id != data["t"]
            or collab.access_nonce != data.get("n")):
        return None, None
    return collab.ticket, collab


def safe_next(target: str | None, default: str) -> str:
    """Only local paths are followed after login; anything else goes to the default."""
    if not target:
        return default
    target = target.replace("\\", "/")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def add_security_headers(response):
    """Headers every response carries; downloads set a stricter CSP of their own."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    if request.is_secure or current_app.config["HELPDESK_BASE_URL"].startswith("https://"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


NUL_MESSAGE = "The request contained a character that cannot be stored (a NUL byte). Remove it and try again."


class _FormParser(FormDataParser):
    """Werkzeug's form parser, but a multipart body with a part that has no name it can read
    (no Content-Disposition, no name, `name=` with nothing after it) is read as the malformed
    body it is: an empty form, as for every other multipart body Werkzeug cannot read. Left
    alone, such a part reaches the views as a field named None."""

    def _parse_multipart(self, stream, mimetype, content_length, options):
        stream, form, files = super()._parse_multipart(stream, mimetype, content_length, options)
        if any(not isinstance(name, str) or not name for name in (*form.keys(), *files.keys())):
            raise ValueError("a multipart part without a name")
        return stream, form, files


class HelpdeskRequest(Request):
    """Every request the desk reads: its form comes from _FormParser."""

    form_data_parser_class = _FormParser


def refuse_nul_bytes():
    """No text with NUL bytes reaches the database (PostgreSQL refuses them; no person types one)."""
    if "\x00" in request.path:
        abort(400, NUL_MESSAGE)
    for values in (request.args, request.form if request.method in ("POST", "PUT", "PATCH") else {}):
        for key, value in values.items(multi=True) if values else ():
            if "\x00" in key or "\x00" in value:
                abort(400, NUL_MESSAGE)
