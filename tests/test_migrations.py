"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL,
with the default priorities, and can be taken back down to nothing."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import flask_migrate
import pyotp
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from markupsafe import escape
from sqlalchemy import create_engine, inspect, select, text

from helpdesk import create_app, tickets
from helpdesk.extensions import db
from helpdesk.models import Agent, HelpTopic
from helpdesk.tickets import queues, tally
from release_data import TOTP_SECRET, load, release_files
from support.db import PG_ADMIN_URL, scratch_postgres

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def empty_sqlite(tmp_path):
    yield f"sqlite:///{tmp_path / 'migrated.db'}"


@pytest.fixture
def empty_postgres():
    if not PG_ADMIN_URL:
        pytest.skip("HELPDESK_TEST_POSTGRES is not set")
    with scratch_postgres("helpdesk_migrate") as url:
        yield url


def _differences(app) -> list:
    """What autogenerate (`flask db migrate`) would change: compared as it compares, with the
    app's Migrate options (which leave the hand-made search index alone)."""
    with app.app_context(), db.engine.connect() as conn:
        options = app.extensions["migrate"].configure_args
        context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                         "include_object": options["include_object"]})
        return compare_metadata(context, db.metadata)


def _check_upgrade_and_downgrade(url, tmp_path):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url,
                      "HELPDESK_UPLOAD_DIR": str(tmp_path / "uploads")})
    with app.app_context():
        flask_migrate.upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert set(db.metadata.tables) <= tables
        with db.engine.connect() as conn:
            priorities = conn.execute(text("SELECT key, name, urgency FROM priority ORDER BY urgency")).all()
        assert [tuple(p) for p in priorities] == [
            ("low", "Low", 1), ("normal", "Normal", 2), ("high", "High", 3), ("emergency", "Emergency", 4),
        ]
        # Foreign keys the models mark use_alter exist too (PostgreSQL would silently drop them).
        fks = {fk["name"] for fk in inspect(db.engine).get_foreign_keys("department")}
        assert "fk_department_manager_id_agent" in fks
        fks = {fk["name"] for fk in inspect(db.engine).get_foreign_keys("team")}
        assert "fk_team_lead_id_agent" in fks
    assert _differences(app) == []

    with app.app_context():
        flask_migrate.downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        flask_migrate.upgrade()  # and up again, from the bottom
        assert set(db.metadata.tables) <= set(inspect(db.engine).get_table_names())
        db.session.remove()
        db.engine.dispose()


def test_upgrade_matches_models_on_sqlite(empty_sqlite, tmp_path):
    _check_upgrade_and_downgrade(empty_sqlite, tmp_path)


@pytest.mark.postgres
def test_upgrade_matches_models_on_postgres(empty_postgres, tmp_path):
    _check_upgrade_and_downgrade(empty_postgres, tmp_path)


def test_schema_from_migrations_runs_the_desk(empty_sqlite, tmp_path):
    """The demo desk loads into a migrated database (the priorities are not created twice)."""
    from helpdesk import demo
    from helpdesk.models import Agent, Priority

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_sqlite,
                      "HELPDESK_UPLOAD_DIR": str(tmp_path / "uploads")})
    with app.app_context():
        flask_migrate.upgrade()
        demo.seed()
        assert db.session.query(Priority).count() == 4
        assert db.session.query(Agent).count() == len(demo.DEMO_AGENTS)
        db.session.remove()
        db.engine.dispose()


def test_flask_db_upgrade_command(tmp_path):
    """`flask --app app db upgrade`, as make run and deployments call it."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {**os.environ, "HELPDESK_DATABASE_URL": url}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM priority")).scalar() == 4
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()


# --- upgrading a released desk, with its data ---------------------------------------------------


@pytest.fixture(params=release_files(), ids=lambda p: p.stem)
def release(request):
    return json.loads(request.param.read_text())


def _upgrade_released_desk(url, data, tmp_path):
    """Migrate to the release's revision, load its rows, upgrade to the head; then use the desk."""
    config = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False,
              "RATELIMIT_ENABLED": False, "MAIL_SUPPRESS_SEND": True, "SERVER_NAME": None,
              "HELPDESK_BASE_URL": "http://desk.test", "HELPDESK_UPLOAD_DIR": str(tmp_path / "uploads")}
    app = create_app(config)
    with app.app_context():
        flask_migrate.upgrade(revision=data["revision"])
        db.session.remove()
        db.engine.dispose()
    load(url, data)
    with app.app_context():
        flask_migrate.upgrade()
        db.session.remove()
        db.engine.dispose()
    assert _differences(app) == []

    from helpdesk.models import Ticket
    from helpdesk.security import access_token

    with app.app_context():
        # Every row is still there.
        with db.engine.connect() as conn:
            for table, rows in data["tables"].items():
                count = conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar()
                assert count >= len(rows), table
        released = {t.number: t for t in db.session.scalars(select(Ticket))}
        assert len(released) == len(data["tables"]["ticket"])

        # The upgrade counted the released tickets into the tally: the queues' counts are exact.
        admin = db.session.scalar(select(Agent).where(Agent.email == "admin@example.com"))
        counts = queues.counts(admin)
        assert counts["open"] == sum(t.status in ("new", "open", "escalated") for t in released.values())
        assert counts["closed"] == sum(t.status in ("resolved", "closed") for t in released.values())
        assert tally.by_status() == dict(Counter(t.status for t in released.values()))

        # The upgrade measured the released tickets for the reports, from their history.
        answered = [t for t in released.values() if t.first_responded_at is not None]
        finished = [t for t in released.values() if t.status in ("resolved", "closed")]
        assert answered and finished
        for t in answered:
            assert t.first_response_secs == int((t.first_responded_at - t.created_at).total_seconds()), t.number
            assert 0 <= t.first_response_work_secs <= t.first_response_secs, t.number
        for t in finished:
            assert t.finished_at == (t.resolved_at or t.closed_at), t.number
            assert t.resolution_secs == int((t.finished_at - t.created_at).total_seconds()), t.number
            assert 0 <= t.resolution_work_secs <= t.resolution_secs, t.number
        assert all(t.finished_at is None and t.resolution_secs is None
                   for t in released.values() if t.status not in ("resolved", "closed"))

        client = app.test_client()
        # Agents sign in with their released passwords and work the released tickets.
        assert client.post("/login", data={"email": "admin@example.com", "password": "demo-admin-1"}).status_code == 302
        for name in ("open", "closed"):
            queue = client.get(f"/agent/queue/{name}", follow_redirects=True)
            assert queue.status_code == 200
            shown = {t.number for t in released.values() if t.number in queue.get_data(as_text=True)}
            assert shown, name
        for number, ticket in released.items():
            page = client.get(f"/agent/tickets/{number}")
            assert page.status_code == 200, number
            html = page.get_data(as_text=True)
            assert ticket.subject in html or escape(ticket.subject) in html
            assert "<img src=x onerror" not in html and "<script>alert" not in html
        client.post("/logout")

        # The released second factor still guards its agent.
        response = client.post("/login", data={"email": "sysadmin@example.com", "password": "demo-sysadmin-1"})
        assert response.headers["Location"].endswith("/login/code")
        code = pyotp.TOTP(TOTP_SECRET).now()
        assert client.post("/login/code", data={"code": code}).status_code == 302
        assert client.get("/agent/").status_code == 200
        client.post("/logout")

        # Customers' links work, and a released API key still opens tickets.
        outage = next(t for t in released.values() if t.subject == "Customers cannot reach mobile banking")
        page = client.get(f"/t/{access_token(outage)}")
        assert page.status_code == 200 and "Version 4.2 on Android." in page.get_data(as_text=True)
        api = client.get(f"/api/v1/tickets/{outage.number}",
                         headers={"Authorization": "Bearer hd_release_key_for_tests"})
        assert api.status_code == 200 and api.get_json()["number"] == outage.number

        # The released mailbox password is stored encrypted now, and still logs in.
        from helpdesk.models import Mailbox

        [box] = db.session.scalars(select(Mailbox)).all()
        released_box = data["tables"]["mailbox"][0]
        assert box.login_password() == released_box["password"]
        assert released_box["password"] not in box.password_encrypted

        # New rows carry on after the released ones (PostgreSQL sequences included).
        new = tickets.open_ticket(name="After Upgrade", email="after@example.net", subject="First after upgrade",
                                  body="Opened on the upgraded desk.",
                                  topic=db.session.scalars(select(HelpTopic)).first())
        assert new.id > max(t.id for t in released.values())
        assert new.number not in released
        db.session.remove()
        db.engine.dispose()


def test_released_desk_upgrades_with_its_data_on_sqlite(release, empty_sqlite, tmp_path):
    _upgrade_released_desk(empty_sqlite, release, tmp_path)


@pytest.mark.postgres
def test_released_desk_upgrades_with_its_data_on_postgres(release, empty_postgres, tmp_path):
    _upgrade_released_desk(empty_postgres, release, tmp_path)


# --- mailbox passwords: encrypted on the way up, in clear again on the way down -------------------

BEFORE_ENCRYPTION = "20261129_mail_templates"
ENCRYPTION = "20261130_mailin_agents_secrets"


def _mailbox_rows(url):
    engine = create_engine(url)
    with engine.connect() as conn:
        column = "password_encrypted" if "password_encrypted" in {
            c["name"] for c in inspect(conn).get_columns("mailbox")} else "password"
        rows = dict(conn.execute(text(f"SELECT name, {column} FROM mailbox")).all())
    engine.dispose()
    return column, rows


def _check_mailbox_passwords(url, tmp_path, caplog):
    from helpdesk import crypto
    from helpdesk.models import Mailbox

    config = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "HELPDESK_UPLOAD_DIR": str(tmp_path / "uploads"),
              "SECRET_KEY": "the-desk-secret"}
    app = create_app(config)
    with app.app_context():
        flask_migrate.upgrade(revision=BEFORE_ENCRYPTION)
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO department (name, active) VALUES ('Support', true)"))
            dept = conn.execute(text("SELECT id FROM department")).scalar()
            for name, password in (("A", "pässword-1"), ("B", "")):
                conn.execute(text(
                    "INSERT INTO mailbox (name, department_id, host, port, security, username, password, folder,"
                    " action, move_to, active) VALUES (:n, :d, 'imap.example.net', 993, 'ssl', 'u', :p, 'INBOX',"
                    " 'seen', '', true)"), {"n": name, "d": dept, "p": password})
        db.session.remove()
        db.engine.dispose()
    # No key at all: the upgrade says what to do and changes nothing.
    keyless = create_app({**config, "SECRET_KEY": "", "HELPDESK_ENCRYPTION_KEY": ""})
    with keyless.app_context(), caplog.at_level("ERROR"):
        with pytest.raises(SystemExit):  # `flask db upgrade` exits 1 with the message
            flask_migrate.upgrade()
        assert "neither HELPDESK_ENCRYPTION_KEY nor SECRET_KEY is set" in caplog.text
        assert "run `flask db upgrade` again" in caplog.text
        db.session.remove()
        db.engine.dispose()
    assert _mailbox_rows(url) == ("password", {"A": "pässword-1", "B": ""})
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == BEFORE_ENCRYPTION
        assert "via" not in {c["name"] for c in inspect(conn).get_columns("thread_entry")}
    engine.dispose()

    with app.app_context():
        flask_migrate.upgrade()
        column, rows = _mailbox_rows(url)
        assert column == "password_encrypted" and rows["B"] == ""
        assert "pässword" not in rows["A"] and rows["A"].startswith("gAAAAA")  # a Fernet token
        boxes = {b.name: b for b in db.session.scalars(select(Mailbox))}
        assert boxes["A"].login_password() == "pässword-1" and boxes["B"].login_password() == ""
        db.session.remove()
        flask_migrate.downgrade(revision=BEFORE_ENCRYPTION)
        assert _mailbox_rows(url) == ("password", {"A": "pässword-1", "B": ""})
        db.session.remove()
        db.engine.dispose()
    # Encrypted under one SECRET_KEY, taken down under another: left empty, to be entered again.
    with app.app_context():
        flask_migrate.upgrade()
        db.session.remove()
        db.engine.dispose()
    other = create_app({**config, "SECRET_KEY": "another-secret"})
    with other.app_context():
        with pytest.raises(crypto.Undecryptable):
            db.session.scalar(select(Mailbox).where(Mailbox.name == "A")).login_password()
        db.session.remove()
        flask_migrate.downgrade(revision=BEFORE_ENCRYPTION)
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT password, last_error FROM mailbox WHERE name = 'A'")).one() == (
                "", "The password could not be decrypted: enter it again.")
        db.session.remove()
        db.engine.dispose()


def test_mailbox_passwords_are_encrypted_by_the_upgrade_on_sqlite(empty_sqlite, tmp_path, caplog):
    _check_mailbox_passwords(empty_sqlite, tmp_path, caplog)


@pytest.mark.postgres
def test_mailbox_passwords_are_encrypted_by_the_upgrade_on_postgres(empty_postgres, tmp_path, caplog):
    _check_mailbox_passwords(empty_postgres, tmp_path, caplog)
