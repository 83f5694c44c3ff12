"""Fixtures: an app on a real database (SQLite, or PostgreSQL when HELPDESK_TEST_POSTGRES is
set), a real SMTP server (aiosmtpd) that receives what the outbox sender delivers, the demo
desk, and helpers to sign in and to open tickets."""
from __future__ import annotations

import email
import email.policy
import socket
import threading
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller
from flask import Flask, g, request_started
from jinja2 import BytecodeCache
from sqlalchemy import event, select, text

import helpdesk.models as models
from helpdesk import clock as desk_clock
from helpdesk import create_app, demo, tickets
from helpdesk.mail import outbox
from helpdesk.extensions import db
from helpdesk.models import Agent, HelpTopic, Priority, SLAPlan, Team, Department
from scratch_db import PG_ADMIN_URL, scratch_postgres

# Fast hashes in tests only; the product uses scrypt.
models.PASSWORD_METHOD = "pbkdf2:sha256:1000"



class _SharedBytecode(BytecodeCache):
    """Compiled templates kept for the whole run: the tests make a new app (and so a new
    template environment) for nearly every test, and compiling the same templates again
    each time was a third of the suite's time. A changed template file gets a new entry
    (each entry carries its source's checksum)."""

    def __init__(self):
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket):
        self.code[bucket.key] = bucket.bytecode_to_string()


Flask.jinja_options = {**Flask.jinja_options, "bytecode_cache": _SharedBytecode()}


def _share_url_builders() -> None:
    """Werkzeug compiles two URL-building functions for every route of every new app, which
    was half the cost of making the app each test gets. The function depends only on the rule
    (its text, parts and defaults), never on the Rule object (it takes it as an argument), so
    apps made in one run can share them."""
    from werkzeug.routing.rules import Rule

    compile_builder = getattr(Rule, "_compile_builder", None)
    if compile_builder is None:  # another werkzeug: nothing to share
        return
    built: dict = {}

    def shared(self, append_unknown=True):
        key = (self.rule, self.subdomain, tuple(self._trace), repr(sorted((self.defaults or {}).items())),
               append_unknown)
        if key not in built:
            built[key] = compile_builder(self, append_unknown)
        return built[key]

    Rule._compile_builder = shared

    # Parsing each rule's text into its parts (and regular expressions) was the other half.
    # The parts depend only on the rule's text and options and the map's converters; a rule
    # made from a cached parse gets its own lists and its own URL builders.
    compile_rule = Rule.compile
    parsed: dict = {}

    def compile_shared(self):
        key = (self.rule, self.subdomain, self.host, self.merge_slashes, self.strict_slashes, self.websocket,
               self.map.host_matching, repr(sorted(self.map.converters.items())))
        if key not in parsed:
            compile_rule(self)
            parsed[key] = (list(self._parts), list(self._trace), dict(self._converters), frozenset(self.arguments))
            return
        parts, trace, converters, arguments = parsed[key]
        self._parts, self._trace, self._converters = list(parts), list(trace), dict(converters)
        self.arguments |= arguments
        self._build = self._compile_builder(False).__get__(self, None)
        self._build_unknown = self._compile_builder(True).__get__(self, None)

    Rule.compile = compile_shared


_share_url_builders()


def _sqlite_without_fsync(dbapi_connection, connection_record):
    """A test database outlives no crash, so a commit need not wait for the disk (the twin of
    synchronous_commit=off on PostgreSQL): every commit used to wait for fsync, the larger part
    of a test's own time on a busy disk. Locking and what other connections see are unchanged."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous = OFF")
    cursor.close()


def _share_engines() -> None:
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
                event.listen(engine, "connect", _sqlite_without_fsync)
        return made[key]

    db._make_engine = shared


_share_engines()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- database ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """One database for the whole run: a SQLite file, or a fresh PostgreSQL database."""
    if not PG_ADMIN_URL:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    with scratch_postgres("helpdesk_test") as url:
        yield url


@pytest.fixture(scope="session")
def _schema(database_url, tmp_path_factory):
    """Create the tables once per run."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                      "HELPDESK_UPLOAD_DIR": str(tmp_path_factory.mktemp("uploads"))})
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.session.remove()
        db.engine.dispose()
    return database_url


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


def _empty_all_tables():
    from helpdesk.tickets import queues

    queues._COUNTS_CACHE.clear()  # the emptied database starts its change counter again
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


# --- SMTP -------------------------------------------------------------------------------------


class Inbox:
    """A real SMTP server's received mail, parsed."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        msg.envelope_to = list(envelope.rcpt_tos)
        with self.lock:
            self.messages.append(msg)
        return "250 OK"

    def to(self, address: str) -> list:
        return [m for m in self.messages if address in m.envelope_to]

    def subjects(self, address: str) -> list[str]:
        return [str(m["Subject"]) for m in self.to(address)]

    def clear(self):
        with self.lock:
            self.messages.clear()

    @staticmethod
    def text(msg) -> str:
        return msg.get_body(("plain",)).get_content()

    @staticmethod
    def html(msg) -> str:
        return msg.get_body(("html",)).get_content()


@pytest.fixture(scope="session")
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield SimpleNamespace(host=controller.hostname, port=controller.port, inbox=inbox)
    controller.stop()


# --- app --------------------------------------------------------------------------------------


@pytest.fixture
def app_config(_schema, smtp_server, tmp_path):
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": _schema,
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": None,
        "HELPDESK_BASE_URL": "http://desk.test",
        "HELPDESK_UPLOAD_DIR": str(tmp_path / "uploads"),
        "MAIL_SERVER": smtp_server.host,
        "MAIL_PORT": smtp_server.port,
        "MAIL_SUPPRESS_SEND": False,
        "MAIL_DEFAULT_SENDER": "Helpdesk <helpdesk@desk.test>",
        "MAIL_TIMEOUT": 5,
        "RATELIMIT_ENABLED": False,
    }


@pytest.fixture
def app(app_config, smtp_server):
    """The app with an empty database; an app context is pushed for the test's own queries."""
    app = create_app(app_config)
    with app.app_context():
        _empty_all_tables()
        smtp_server.inbox.clear()
        yield app
        db.session.remove()
        db.engine.dispose()


def _fresh_g(sender, **extra):
    """Each request starts with an empty flask.g, as in production: the test's pushed app context
    outlives requests, and Flask-Login's user, the settings and the API key are cached on it."""
    for name in list(g):
        g.pop(name, None)


@pytest.fixture(autouse=True)
def fresh_g_per_request():
    """Every app the test makes (also a second one, e.g. with CSRF or rate limits on)."""
    request_started.connect(_fresh_g)
    yield
    request_started.disconnect(_fresh_g)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def inbox(app, smtp_server):
    """The SMTP server's inbox; call deliver() to run the outbox sender first."""
    box = smtp_server.inbox

    def deliver():
        while True:
            sent, failed = outbox.send_pending()
            assert failed == 0, "the outbox sender could not deliver"
            if not sent:
                break
        db.session.expire_all()
        return box

    box.deliver = deliver
    return box


# --- the demo desk and helpers ----------------------------------------------------------------


_DEMO_ROWS: dict[str, list] = {}


def _seed_demo_desk() -> None:
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
        if not rows:
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


@pytest.fixture
def desk(app):
    """The demo desk: departments, teams, topics, SLA plans, priorities and five agents."""
    _seed_demo_desk()
    by_email = {a.email: a for a in db.session.scalars(select(Agent))}
    return SimpleNamespace(
        admin=by_email["admin@example.com"],
        manager=by_email["manager@example.com"],
        tech=by_email["tech@example.com"],
        sysadmin=by_email["sysadmin@example.com"],
        vendor=by_email["vendor@example.com"],
        passwords={e: p for e, _, _, p, _ in demo.DEMO_AGENTS},
        topics={t.name: t for t in db.session.scalars(select(HelpTopic))},
        teams={t.name: t for t in db.session.scalars(select(Team))},
        slas={s.name: s for s in db.session.scalars(select(SLAPlan))},
        priorities={p.key: p for p in db.session.scalars(select(Priority))},
        departments={d.name: d for d in db.session.scalars(select(Department))},
    )


@pytest.fixture
def make_ticket(desk):
    """Open a ticket through the lifecycle, as a customer on the web form would."""
    counter = iter(range(1, 10_000))

    def make(topic="General inquiry", email=None, name="Ken Customer", subject=None, body="It does not work.", **kw):
        n = next(counter)
        return tickets.open_ticket(
            name=name, email=email or f"customer{n}@example.net", subject=subject or f"Problem {n}",
            body=body, topic=desk.topics[topic] if isinstance(topic, str) else topic, **kw,
        )

    return make


@pytest.fixture
def login(client, desk):
    """Sign a demo agent in on the test client: login(desk.manager)."""

    def do(agent):
        client.post("/logout")
        response = client.post("/login", data={"email": agent.email, "password": desk.passwords[agent.email]})
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return do


@pytest.fixture
def clock(monkeypatch):
    """The lifecycle's clock, under the test's control: clock.set(datetime), clock.advance(hours=1).
    Starts on Monday 2026-03-23 08:00 UTC."""

    class Clock:
        def __init__(self):
            self.now = datetime(2026, 3, 23, 8, 0)

        def __call__(self):
            return self.now

        def set(self, value):
            self.now = value

        def advance(self, **delta):
            self.now += timedelta(**delta)

    fixed = Clock()
    monkeypatch.setattr(desk_clock, "utcnow", fixed)
    return fixed
