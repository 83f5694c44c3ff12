"""helpdesk: an open-source help desk. create_app() builds the Flask application."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask
from werkzeug.routing import IntegerConverter

from . import config as config_module
from . import extensions as ext

ROOT = Path(__file__).resolve().parent.parent


class RowId(IntegerConverter):
    """`<int:...>` in every URL: a row id fits the 32-bit integer columns, so a longer number
    matches no page (404) instead of reaching the database, which would refuse it (500)."""

    def __init__(self, map, fixed_digits=0, min=None, max=2**31 - 1, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def create_app(config: dict | None = None) -> Flask:
    """Application factory: environment configuration, overridden by `config` (tests)."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    os.makedirs(app.instance_path, exist_ok=True)
    from .security import HelpdeskRequest

    app.request_class = HelpdeskRequest  # odd multipart bodies read as malformed, not as a field named None
    app.config.from_mapping(config_module.from_environment(app.instance_path))
    if config:
        app.config.from_mapping(config)
    cfg = app.config
    if cfg.get("MAX_CONTENT_LENGTH") is None:
        cfg["MAX_CONTENT_LENGTH"] = (cfg["HELPDESK_MAX_ATTACHMENTS"] * cfg["HELPDESK_MAX_ATTACHMENT_MB"] + 2) * 1024 * 1024
        cfg["HELPDESK_BODY_LIMIT_FROM_SETTINGS"] = True  # follows the admin's attachment settings

    ext.db.init_app(app)
    ext.end_reads_with_commit(app)
    from .models.search import include_object

    ext.migrate.init_app(app, ext.db, directory=str(ROOT / "migrations"), render_as_batch=True,
                         include_object=include_object)
    ext.mail.init_app(app)
    ext.csrf.init_app(app)
    ext.htmx.init_app(app)
    login_manager = ext.login_manager
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    from . import audit, automations, jobs, live, webhooks
    from .admin import bp as admin_bp
    from .agent import bp as agent_bp
    from .api import bp as api_bp
    from .auth import account
    from .auth import routes as sign_in
    from .cli import register
    from .portal import bp as portal_bp
    from .security import limits
    from .web import errors, health, pages

    app.url_map.converters["int"] = RowId  # before any route is added
    automations.init_app(app)  # first: what the rules do is part of the change the listeners below see
    webhooks.init_app(app)  # its deliveries are written before the counters and the audit check
    live.init_app(app)
    audit.init_app(app)
    login_manager.user_loader(sign_in.load_staff_session)
    app.session_interface = sign_in.SessionCookie()
    health.init_app(app)
    app.register_blueprint(portal_bp)
    app.register_blueprint(sign_in.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(agent_bp, url_prefix="/agent")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    ext.csrf.exempt(api_bp)  # authenticated by key, never by cookie
    pages.init_app(app)
    errors.init_app(app)
    limits.init_app(app)
    register(app)
    jobs.init_app(app)
    return app
