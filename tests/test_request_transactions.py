"""How a request's transaction ends: whatever a request did not commit is never kept, and on
PostgreSQL a request that only read ends with COMMIT (so the connection keeps the statements
psycopg prepared for it; a ROLLBACK makes it forget them)."""
import pytest
from sqlalchemy import event, select, update

from helpdesk.extensions import db
from helpdesk.models import Priority


@pytest.fixture
def probes(app, desk):
    low_id = desk.priorities["low"].id

    @app.get("/_probe/dirty")
    def dirty():
        db.session.get(Priority, low_id).name = "Left dirty"
        return "ok"

    @app.get("/_probe/flushed")
    def flushed():
        db.session.get(Priority, low_id).name = "Flushed only"
        db.session.flush()
        return "ok"

    @app.get("/_probe/core")
    def core():
        db.session.execute(update(Priority).where(Priority.id == low_id).values(name="Core only"))
        return "ok"

    @app.get("/_probe/read")
    def read():
        return db.session.scalar(select(Priority.name).where(Priority.id == low_id))

    return low_id


@pytest.mark.parametrize("path", ["/_probe/dirty", "/_probe/flushed", "/_probe/core"])
def test_what_a_request_did_not_commit_is_not_kept(client, probes, path):
    assert client.get(path).status_code == 200
    db.session.remove()
    assert db.session.scalar(select(Priority.name).where(Priority.id == probes)) == "Low"


def test_a_request_that_only_read_ends_with_commit_on_postgresql(client, probes):
    ended = []
    commit, rollback = (lambda conn: ended.append("commit")), (lambda conn: ended.append("rollback"))
    event.listen(db.engine, "commit", commit)
    event.listen(db.engine, "rollback", rollback)
    try:
        assert client.get("/_probe/read").get_data(as_text=True) == "Low"
        ended_read = list(ended)
        ended.clear()
        client.get("/_probe/core")
    finally:
        event.remove(db.engine, "commit", commit)
        event.remove(db.engine, "rollback", rollback)
    assert ("commit" in ended_read) == (db.engine.dialect.name == "postgresql")
    assert "commit" not in ended  # the request that wrote and did not commit
