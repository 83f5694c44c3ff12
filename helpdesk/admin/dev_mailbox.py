"""The local dev mailbox (/admin/dev-mailbox): the mails the local mail catcher received, when
HELPDESK_DEV_MAILBOX is set. Admins only: it holds every mail the desk sent, admins'
password-reset links included."""
from __future__ import annotations

import re
from datetime import timezone

from flask import abort, current_app, make_response
from markupsafe import Markup, escape

from ..htmx import render
from .blueprint import admin_only, bp

_URL = re.compile(r"https?://[^\s<>\"']+")


# The HTML part of a mail is shown in a sandboxed frame, never in the page: served on its own with
# a CSP that forbids scripts, forms, plugins and every outside request (images included), and lets
# only this desk's pages frame it.
HTML_PART_CSP = ("sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                 "form-action 'none'; base-uri 'none'; frame-ancestors 'self'")


def _mailbox_path() -> str:
    """The dev mailbox's folder; 404 when the dev mailbox is off. Admins only."""
    admin_only()
    path = current_app.config.get("HELPDESK_DEV_MAILBOX")
    if not path:
        abort(404)
    return path


@bp.route("/dev-mailbox")
def dev_mailbox():
    """The mails the local mail catcher received (only when HELPDESK_DEV_MAILBOX is set; admins only,
    since it shows every agent's password-reset link)."""
    path = _mailbox_path()
    from ..mail import devserver  # here: it brings the SMTP catcher (aiosmtpd), which no web page needs

    mails = devserver.read(path, limit=100)
    for mail in mails:
        if mail["date"] is not None:
            mail["date"] = mail["date"].astimezone(timezone.utc).replace(tzinfo=None)
        mail["html"] = link_desk_urls(mail["text"], current_app.config["HELPDESK_BASE_URL"])
    return render("admin/dev_mailbox.html", mails=mails, path=path)


@bp.route("/dev-mailbox/<key>/html")
def dev_mailbox_html(key):
    """One caught mail's HTML part, for the sandboxed frame on the dev mailbox page."""
    path = _mailbox_path()
    from ..mail import devserver

    html = devserver.read_html(path, key)
    if html is None:
        abort(404, "There is no such mail, or it has no HTML part.")
    response = make_response(html)
    response.headers.update({"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": HTML_PART_CSP,
                             "X-Frame-Options": "SAMEORIGIN", "Cache-Control": "no-store"})
    return response


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
