"""Response headers on every kind of page, error pages without internals, request ids in
responses and logs, /healthz and `flask backup`."""
from __future__ import annotations

import json
import logging
import re
import sqlite3

import pytest
from sqlalchemy import select

from helpdesk import create_app
from helpdesk.attachments import Upload
from helpdesk.clock import utcnow
from helpdesk.extensions import db
from helpdesk.models import OutboxMail
from helpdesk.security import access_token
from hostile import live_markup


def _pages(client, desk, make_ticket, login):
    """(name, response) for one page of every kind the desk serves."""
    ticket = make_ticket(uploads=[Upload("a.txt", "text/plain", b"hello")])
    link = f"/t/{access_token(ticket)}"
    file_id = ticket.entries[0].attachments[0].id
    out = [
        ("portal start", client.get("/")),
        ("portal form", client.get("/new")),
        ("portal partial", client.get(link, headers={"HX-Request": "true"})),
        ("portal ticket", client.get(link)),
        ("portal download", client.get(f"{link}/files/{file_id}")),
        ("bad link", client.get("/t/nonsense")),
        ("404", client.get("/no/such/page")),
        ("405", client.get("/logout")),
        ("sign-in", client.get("/login")),
        ("healthz", client.get("/healthz")),
    ]
    login(desk.tech)
    out += [
        ("agent queue", client.get("/agent/")),
        ("agent partial", client.get("/agent/", headers={"HX-Request": "true"})),
        ("agent ticket", client.get(f"/agent/tickets/{ticket.number}")),
        ("agent download", client.get(f"/agent/files/{file_id}")),
        ("403", client.get("/admin/")),
        ("account", client.get("/account")),
    ]
    login(desk.admin)
    out += [("admin", client.get("/admin/")), ("admin partial", client.get("/admin/outbox", headers={"HX-Request": "true"}))]
    return out


# htmx must not need what the CSP forbids: no eval, no inline scripts, no inline indicator styles.
HTMX_CONFIG = {"allowEval": False, "allowScriptTags": False, "includeIndicatorStyles": False}


def header_problems(name: str, response, *, https: bool = False) -> list[str]:
    """What a response lacks of the headers every page must carry (HSTS only over HTTPS)."""
    problems = []
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    scripts = directives.get("script-src", directives.get("default-src", []))
    if "'unsafe-inline'" in scripts or "'unsafe-eval'" in scripts or not scripts:
        problems.append(f"{name}: scripts not locked down: {csp!r}")
    if directives.get("frame-ancestors") != ["'none'"] and "sandbox" not in directives:
        problems.append(f"{name}: can be framed: {csp!r}")
    if "script-src 'self'" not in csp and "default-src 'none'" not in csp:
        problems.append(f"{name}: no script-src 'self': {csp!r}")
    if headers.get("X-Content-Type-Options") != "nosniff":
        problems.append(f"{name}: no nosniff")
    if headers.get("Referrer-Policy") != "same-origin":
        problems.append(f"{name}: Referrer-Policy {headers.get('Referrer-Policy')!r}")
    hsts = headers.get("Strict-Transport-Security")
    if https and not (hsts or "").startswith("max-age=31536000"):
        problems.append(f"{name}: no HSTS over HTTPS ({hsts!r})")
    if not https and hsts is not None:
        problems.append(f"{name}: HSTS over plain HTTP")
    if not headers.get("X-Request-ID"):
        problems.append(f"{name}: no request id")
    if response.mimetype == "text/html":
        html = response.get_data(as_text=True)
        problems += [f"{name}: {p}" for p in live_markup(html)]
        config = re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", html)
        if "<html" in html and (config is None or any(json.loads(config.group(1)).get(k) != v
                                                     for k, v in HTMX_CONFIG.items())):
            problems.append(f"{name}: htmx not configured for the CSP")
    return problems


def test_every_kind_of_page_carries_the_security_headers(client, desk, make_ticket, login):
    problems = [p for name, response in _pages(client, desk, make_ticket, login) for p in header_problems(name, response)]
    assert problems == []


def test_downloads_are_attachments_in_a_sandbox(client, desk, make_ticket, login):
    pages = dict(_pages(client, desk, make_ticket, login))
    for name in ("portal download", "agent download"):
        response = pages[name]
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_hsts_over_https_only(app_config, app, desk):
    secure = create_app({**app_config, "HELPDESK_BASE_URL": "https://desk.example.com"}).test_client()
    assert header_problems("start page over HTTPS", secure.get("/"), https=True) == []


@pytest.fixture
def failing_app(app_config, app):
    broken = create_app(app_config)

    @broken.get("/_boom")
    def boom():
        raise RuntimeError("secret internal detail: password=hunter2")

    with broken.app_context():
        yield broken
        db.session.remove()
        db.engine.dispose()


def test_a_server_error_shows_a_friendly_page_and_logs_the_request_id(failing_app, caplog):
    client = failing_app.test_client()
    with caplog.at_level(logging.ERROR, logger="helpdesk"):
        response = client.get("/_boom", headers={"X-Request-ID": "trace-1234-abcd"})
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong on our side" in page
    assert "Traceback" not in page and "hunter2" not in page and "RuntimeError" not in page
    assert response.headers["X-Request-ID"] == "trace-1234-abcd"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors and all(r.request_id == "trace-1234-abcd" for r in errors)
    assert "hunter2" in errors[0].exc_text  # the detail goes to the log, not to the visitor


def test_request_ids_are_generated_or_kept(client, caplog):
    with caplog.at_level(logging.INFO, logger="helpdesk"):
        first = client.get("/").headers["X-Request-ID"]
        second = client.get("/").headers["X-Request-ID"]
        kept = client.get("/", headers={"X-Request-ID": "lb-0123456789"}).headers["X-Request-ID"]
        bad = client.get("/", headers={"X-Request-ID": "x <script> Set-Cookie: a=b"}).headers["X-Request-ID"]
    assert first != second and len(first) == 32
    assert kept == "lb-0123456789"
    assert "<" not in bad and len(bad) == 32
    lines = [r for r in caplog.records if r.name == "helpdesk.request"]
    assert {r.request_id for r in lines} >= {first, second, kept}
    formatted = logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")
    assert f"[{kept}] helpdesk.request: GET / 200" in formatted.format(lines[2])


def test_access_links_never_reach_the_log(client, desk, make_ticket, caplog):
    token = access_token(make_ticket())
    with caplog.at_level(logging.INFO, logger="helpdesk"):
        client.get(f"/t/{token}")
    assert token not in caplog.text and "GET /t/[link] 200" in caplog.text


# --- /healthz -----------------------------------------------------------------------------------


def test_healthz_reports_database_and_mail_backlog(client, desk, make_ticket, app):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok",
                             "mail": {"waiting": 0, "oldest_waiting_seconds": None, "stale": False}}
    make_ticket()
    db.session.execute(OutboxMail.__table__.update().values(created_at=utcnow().replace(microsecond=0)
                                                             - __import__("datetime").timedelta(hours=2)))
    db.session.commit()
    body = client.get("/healthz").json
    assert body["status"] == "degraded" and body["mail"]["stale"] is True
    assert body["mail"]["waiting"] >= 1 and 7100 < body["mail"]["oldest_waiting_seconds"] < 7300


def test_healthz_is_503_when_the_database_is_unreachable(app_config, app, tmp_path):
    down = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none",
                       "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "connect_args": {"connect_timeout": 2}}})
    response = down.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "down" and response.json["database"] == "unreachable"
    assert "nobody" not in response.get_data(as_text=True)


# --- flask backup -------------------------------------------------------------------------------


def test_backup_copies_a_sqlite_database_while_it_is_in_use(app_config, tmp_path, smtp_server):
    source = tmp_path / "live.db"
    live = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{source}"})
    with live.app_context():
        db.create_all()
        from helpdesk import demo, tickets

        demo.seed()
        topic = db.session.scalar(select(demo.HelpTopic).limit(1))
        for i in range(3):
            tickets.open_ticket(name="K", email=f"k{i}@example.net", subject=f"S{i}", body="b", topic=topic)
        runner = live.test_cli_runner()
        target = tmp_path / "copy.db"
        result = runner.invoke(args=["backup", str(target)])
        assert result.exit_code == 0, result.output
        assert "3 tickets" in result.output and "attachments" in result.output
        with sqlite3.connect(target) as copy:
            assert copy.execute("select count(*) from ticket").fetchone()[0] == 3
            assert copy.execute("pragma integrity_check").fetchone()[0] == "ok"
        again = runner.invoke(args=["backup", str(target)])
        assert again.exit_code != 0 and "exists already" in again.output
        db.session.remove()
        db.engine.dispose()


def test_backup_on_postgresql_prints_the_pg_dump_command(app_config, tmp_path):
    pg = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://desk:s3cret@db.example.com:5433/helpdesk"})
    result = pg.test_cli_runner().invoke(args=["backup", str(tmp_path / "x.dump")])
    assert result.exit_code == 0
    assert "pg_dump --format=custom" in result.output
    assert "postgresql://desk@db.example.com:5433/helpdesk" in result.output
    assert "s3cret" not in result.output and "PGPASSWORD=..." in result.output
