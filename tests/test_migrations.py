"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL,
with the default priorities, and can be taken back down to nothing."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from helpdesk import create_app
from helpdesk.extensions import db
from scratch_db import PG_ADMIN_URL, scratch_postgres

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
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
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
