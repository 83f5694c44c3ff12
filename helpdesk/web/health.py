"""Running the desk: a request id on every request and log line, /healthz for monitors and
load balancers, and `flask backup`."""
from __future__ import annotations

import logging
import re
import sqlite3
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

import click
from flask import Blueprint, current_app, g, has_request_context, jsonify, request
from flask.cli import with_appcontext
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from ..extensions import db
from ..mail import outbox

bp = Blueprint("ops", __name__)
log = logging.getLogger("helpdesk.request")

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
LOG_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"


# --- request ids ------------------------------------------------------------------------------


def request_id() -> str:
    """The current request's id ("-" outside a request)."""
    if has_request_context():
        return getattr(g, "request_id", None) or "-"
    return "-"


def _install_record_factory() -> None:
    """Every log record, from any library, carries the request id (once per process)."""
    old = logging.getLogRecordFactory()
    if getattr(old, "_helpdesk", False):
        return

    def factory(*args, **kwargs):
        record = old(*args, **kwargs)
        record.request_id = request_id()
        return record

    factory._helpdesk = True
    logging.setLogRecordFactory(factory)


def configure_logging(app) -> None:
    """Log lines on stderr as `time level [request id] logger: message`."""
    _install_record_factory()
    logger = logging.getLogger("helpdesk")
    if not any(getattr(h, "_helpdesk", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handler._helpdesk = True
        logger.addHandler(handler)
    level = app.config.get("HELPDESK_LOG_LEVEL", "INFO")
    logger.setLevel(level)


def _start_request():
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _finish_request(response):
    response.headers[REQUEST_ID_HEADER] = request_id()
    if request.endpoint != "static":
        elapsed = (time.perf_counter() - g.get("request_started", time.perf_counter())) * 1000
        path = request.path
        token = (request.view_args or {}).get("token")
        if isinstance(token, str) and token:
            path = path.replace(token, "[link]")  # access and reset links are credentials: never logged
        log.info("%s %s %s %.0fms", request.method, path, response.status_code, elapsed)
    return response


# --- health -------------------------------------------------------------------------------------


@bp.get("/healthz")
def healthz():
    """Database reachable? Mail waiting, and for how long? 200 when the desk can serve, else 503."""
    report = {"status": "ok", "database": "ok"}
    try:
        db.session.execute(text("SELECT 1"))
        waiting, oldest = outbox.backlog()
        stale_after = current_app.config["HELPDESK_HEALTH_MAIL_MINUTES"] * 60
        report["mail"] = {
            "waiting": waiting,
            "oldest_waiting_seconds": round(oldest) if oldest is not None else None,
            "stale": oldest is not None and oldest > stale_after,
        }
        if report["mail"]["stale"]:
            report["status"] = "degraded"
        code = 200
    except Exception as exc:  # noqa: BLE001 - any failure to reach the database is "down"
        db.session.rollback()
        log.error("health check: database unreachable: %s", exc)
        report.update(status="down", database="unreachable")
        code = 503
    response = jsonify(report)
    response.status_code = code
    response.headers["Cache-Control"] = "no-store"
    return response


# --- backup -------------------------------------------------------------------------------------


@click.command("backup")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(path: Path | None):
    """Copy the database to PATH while the desk runs (SQLite), or print the pg_dump command (PostgreSQL)."""
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    if url.get_backend_name() == "sqlite":
        source = url.database
        if not source or source == ":memory:":
            raise click.ClickException("This desk's SQLite database is in memory: there is nothing to back up.")
        target = path or Path(current_app.instance_path) / "backups" / f"helpdesk-{stamp}.db"
        if target.exists():
            raise click.ClickException(f"{target} exists already; choose another file.")
        target.parent.mkdir(parents=True, exist_ok=True)
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        dst = sqlite3.connect(target)
        try:
            with dst:
                src.backup(dst)  # SQLite's online backup: consistent while the desk keeps writing
            count = dst.execute("SELECT count(*) FROM ticket").fetchone()[0]
        finally:
            src.close()
            dst.close()
        click.echo(f"Backed up the database to {target} ({target.stat().st_size} bytes, {count} tickets).")
        click.echo(f"Back up the attachments too: {current_app.config['HELPDESK_UPLOAD_DIR']}")
        return
    if url.get_backend_name() == "postgresql":
        target = path or Path(f"helpdesk-{stamp}.dump")
        safe = URL.create("postgresql", username=url.username, host=url.host, port=url.port,
                          database=url.database, query=url.query).render_as_string(hide_password=False)
        click.echo("This desk runs on PostgreSQL: back it up with pg_dump (it runs while the desk is in use):")
        click.echo("")
        prefix = "PGPASSWORD=... " if url.password else ""
        click.echo(f"  {prefix}pg_dump --format=custom --file={target} '{safe}'")
        click.echo("")
        click.echo(f"Restore into an empty database with: pg_restore --no-owner -d DBNAME {target}")
        click.echo(f"Back up the attachments too: {current_app.config['HELPDESK_UPLOAD_DIR']}")
        return
    raise click.ClickException(f"No backup method for {url.get_backend_name()} databases.")


def init_app(app) -> None:
    configure_logging(app)
    app.before_request(_start_request)
    app.after_request(_finish_request)
    app.register_blueprint(bp)
    app.cli.add_command(backup_command)
    proxies = app.config.get("HELPDESK_PROXY_FIX", 0)
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Trust X-Forwarded-For/-Proto/-Host from this many proxies in front of the desk.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
