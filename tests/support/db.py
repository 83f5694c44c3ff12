"""The run's databases: one SQLite file or PostgreSQL database for the whole run (and throwaway
ones next to it), one engine per database shared by every test's app, emptying every table
between tests, the demo desk written back from a snapshot, and work run in threads at once."""
from __future__ import annotations

import os
import secrets
import threading
from contextlib import contextmanager

from sqlalchemy import create_engine, event, text

from helpdesk import demo
from helpdesk.extensions import db
from helpdesk.models import TicketTally

PG_ADMIN_URL = os.environ.get("HELPDESK_TEST_POSTGRES")  # e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test


@contextmanager
def scratch_postgres(prefix: str):
    """Create an empty database, yield its URL, and drop it again (ending its connections)."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    try:
        # A commit need not wait for the disk: a scratch database outlives no crash.
        yield f"{base}/{name}?options=-c%20synchronous_commit%3Doff"
    finally:
        with admin.connect() as conn:
            conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"
            ), {"n": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


# --- one engine per database for the run --------------------------------------------------------


def sqlite_without_fsync(dbapi_connection, connection_record):
    """A test database outlives no crash, so a commit need not wait for the disk (the twin of
    synchronous_commit=off on PostgreSQL): every commit used to wait for fsync, the larger part
    of a test's own time on a busy disk. Locking and what other connections see are unchanged."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous = OFF")
    cursor.close()


def share_engines() -> None:
    """One database engine per database for the run, not one per app: an engine keeps the SQL
    it compiled, and compiling every statement again for each test's new app was a quarter
    of the suite's time. The app has no engine-level hooks, so sharing changes nothing else
    (a test's dispose() only empties the shared pool)."""
    made: dict = {}
    make = db._make_engine

    def shared(bind_key, options, app):
        key = (bind_key, repr(sorted(options.items(), key=lambda item: item[0])))
        if key not in made:
            engine = made[key] = make(bind_key, options, app)
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", sqlite_without_fsync)
        return made[key]

    db._make_engine = shared


# --- an empty database for each test --------------------------------------------------------------


def _pg_empty_batch(conn) -> str:
    """The statements that empty every table and restart every sequence of this database."""
    sequences = conn.execute(text(
        "SELECT quote_literal(oid::regclass::text) FROM pg_class WHERE relkind = 'S'")).scalars().all()
    statements = ["SET LOCAL session_replication_role = replica"]
    statements += [f"DELETE FROM {conn.dialect.identifier_preparer.format_table(table)}"
                   for table in db.metadata.sorted_tables]
    if sequences:
        statements.append("SELECT " + ", ".join(f"setval({s}, 1, false)" for s in sequences))
    return "; ".join(statements)


def empty_all_tables():
    from helpdesk.reports import board
    from helpdesk.tickets import queues

    queues._COUNTS_CACHE.clear()  # the emptied database starts its change counter again
    board.forget()
    db.session.remove()
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # DELETE and restarting the sequences take a tenth of TRUNCATE's time on tables this
            # small (TRUNCATE makes new files for every table). The tests sign in as a superuser,
            # which may switch the foreign-key triggers off meanwhile. All of it goes to the server
            # as one batch: a round trip per table and per sequence was most of the time.
            conn.exec_driver_sql(_pg_empty_batch(conn))
        else:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
            # Deleting the tickets wrote their tally's change rows (on PostgreSQL the batch runs
            # with triggers off): the tally empties last.
            conn.execute(TicketTally.__table__.delete())


# --- the demo desk ------------------------------------------------------------------------------


_DEMO_ROWS: dict[str, list] = {}


def seed_demo_desk() -> None:
    """demo.seed() on the empty database. The first time in a process (per database) it runs and
    its rows are kept; afterwards the same rows are written back with one INSERT per table (a
    tenth of the ORM's time), with fresh values for the columns whose default is computed
    (creation times, session tokens), as a new seed would give them. Ids come out the same as
    the seed's, since emptying the tables restarts their numbering."""
    key = db.engine.url.render_as_string(hide_password=False)
    if key not in _DEMO_ROWS:
        demo.seed()
        _DEMO_ROWS[key] = [(table, [dict(row._mapping) for row in db.session.execute(table.select())])
                           for table in db.metadata.sorted_tables]
        db.session.commit()
        return
    conn = db.session.connection()
    restarts = []
    for table, rows in _DEMO_ROWS[key]:
        if not rows or table is TicketTally.__table__:  # the triggers write it as the tickets go in
            continue
        computed = [c for c in table.columns if c.default is not None and c.default.is_callable]
        conn.execute(table.insert(), [{**row, **{c.key: c.default.arg(None) for c in computed}} for row in rows])
        serial = table.autoincrement_column
        if serial is not None:
            name = conn.dialect.identifier_preparer.format_table(table)
            restarts.append(f"setval(pg_get_serial_sequence('{name}', '{serial.name}'), "
                            f"(SELECT max({serial.name}) FROM {name}))")
    if conn.dialect.name == "postgresql" and restarts:  # the next id follows the seed's, as after demo.seed()
        conn.exec_driver_sql("SELECT " + ", ".join(restarts))
    db.session.commit()


# --- several at the same moment -----------------------------------------------------------------


def at_once(app, work, times: int = 2) -> tuple[list, list[BaseException]]:
    """Run `work()` in `times` threads released at the same moment, each with its own app
    context and database session; return (what each returned, what each raised)."""
    start = threading.Barrier(times)
    results: list = []
    errors: list[BaseException] = []

    def run():
        with app.app_context():
            try:
                start.wait()
                results.append(work())
            except BaseException as exc:  # reported by the test
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results, errors
