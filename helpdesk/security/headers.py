"""What every response and request goes through: safe redirects after sign-in, the security
headers (CSP and friends), and the refusal of NUL bytes and odd multipart bodies."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Request, abort, current_app, request
from werkzeug.formparser import FormDataParser


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
