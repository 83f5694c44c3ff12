"""PostgreSQL restarted under the running app: requests during the outage fail cleanly (503 on
/healthz, a friendly error page, nothing half-saved) and the app recovers on its own once the
server is back, without a restart (pool_pre_ping); the form sent again opens exactly one ticket.

Runs in the PostgreSQL pass (HELPDESK_TEST_POSTGRES set), as root: it starts a throwaway
cluster of its own on a free port (never the machine's cluster) and removes it afterwards.
"""
from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from helpdesk import create_app, demo
from helpdesk.extensions import db
from helpdesk.models import Customer, HelpTopic, OutboxMail, Ticket
from support.net import free_port

pytestmark = pytest.mark.postgres


def _pg_bin() -> Path | None:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
    return versions[-1].parent if versions else None


@pytest.fixture
def throwaway_postgres():
    if not os.environ.get("HELPDESK_TEST_POSTGRES"):
        pytest.skip("PostgreSQL pass only (set HELPDESK_TEST_POSTGRES)")
    pg_bin = _pg_bin()
    if pg_bin is None or os.geteuid() != 0 or not shutil.which("runuser"):
        pytest.skip("needs the PostgreSQL server binaries and root (to run them as the postgres user)")
    base = Path(tempfile.mkdtemp(prefix="helpdesk-pgfault-"))
    shutil.chown(base, "postgres", "postgres")
    port = free_port()
    data = base / "data"

    def as_postgres(*args):
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True, timeout=60)

    as_postgres(str(pg_bin / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"

    def ctl(*args):
        as_postgres(str(pg_bin / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"), "-w", *args)

    ctl("-o", options, "start")
    cluster = type("Cluster", (), {})()
    cluster.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    cluster.stop = lambda: ctl("stop", "-m", "fast")
    cluster.start = lambda: ctl("-o", options, "start")
    try:
        yield cluster
    finally:
        subprocess.run(["runuser", "-u", "postgres", "--", str(pg_bin / "pg_ctl"), "-D", str(data), "stop",
                        "-m", "immediate"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def test_the_app_recovers_when_postgresql_restarts(throwaway_postgres, app_config, tmp_path):
    app = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": throwaway_postgres.url,
                      "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "connect_args": {"connect_timeout": 3}}})
    with app.app_context():
        db.create_all()
        demo.seed()
        topic_id = db.session.scalar(select(HelpTopic.id).where(HelpTopic.name == "General inquiry"))
        db.session.remove()
    client = app.test_client()

    def submit(key):
        return client.post("/new", data={"name": "Ken", "email": "ken@example.net", "topic": topic_id,
                                         "subject": f"Outage {key[:6]}", "description": "Down.", "idempotency_key": key})

    assert client.get("/healthz").status_code == 200
    assert submit(secrets.token_urlsafe(20)).status_code == 302  # the pool now holds open connections

    throwaway_postgres.stop()
    assert client.get("/healthz").status_code == 503
    key = secrets.token_urlsafe(20)
    response = submit(key)
    page = response.get_data(as_text=True)
    assert response.status_code == 500 and "Something went wrong on our side" in page
    assert "Traceback" not in page and "psycopg" not in page

    throwaway_postgres.start()
    # No restart of the app: the dead pooled connections are noticed and replaced.
    assert client.get("/healthz").status_code == 200
    assert submit(key).status_code == 302
    assert submit(key).status_code == 302  # the same form again: still one ticket
    with app.app_context():
        assert db.session.scalar(select(func.count(Ticket.id))) == 2
        assert db.session.scalar(select(func.count(Customer.id))) == 1
        acks = db.session.scalar(select(func.count(OutboxMail.id)).where(OutboxMail.recipient == "ken@example.net"))
        assert acks == 2  # one acknowledgement per ticket, none for the failed attempt
        db.session.remove()
        db.engine.dispose()
