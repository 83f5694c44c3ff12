"""What every page shares: template filters and globals, the desk's name and theme, security
headers, the upload limit that follows the settings, and the refusal of NUL bytes."""
from __future__ import annotations

from flask import current_app, request, send_from_directory
from jinja2 import FileSystemBytecodeCache

from .. import clock, settings, theme
from ..models import STATUS_LABELS
from ..reports import charts as report_charts
from ..security.headers import add_security_headers, refuse_nul_bytes
from ..text import ago, due_text, filesize, format_datetime, minutes
from .errors import is_api_request


def init_app(app):
    """Register the filters, globals and per-request rules every page follows."""
    if app.jinja_env.bytecode_cache is None:
        # Compiled templates kept on disk (Jinja's per-user folder in the system's temp dir; an
        # entry carries its source's checksum, so an edited template compiles again): a new
        # worker loads them instead of compiling, faster and with less memory held afterwards.
        app.jinja_env.bytecode_cache = FileSystemBytecodeCache()
    app.jinja_env.filters.update(dt=format_datetime, ago=ago, filesize=filesize, due_text=due_text,
                                   minutes=minutes, report_value=report_charts.format_value)
    app.jinja_env.globals.update(STATUS_LABELS=STATUS_LABELS, now=clock.current, report_charts=report_charts)
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

    @app.get("/favicon.ico")
    def favicon():
        """The desk's icon where browsers and feed readers look for it without reading the page."""
        return send_from_directory(app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon",
                                   max_age=7 * 24 * 3600)

    @app.context_processor
    def desk():
        return {"desk_name": settings.get("desk_name"), "theme_version": settings.get("theme_version")}
