"""Fixtures: an app on a real database (SQLite, or PostgreSQL when HELPDESK_TEST_POSTGRES is
set), a real SMTP server (aiosmtpd) that receives what the outbox sender delivers, the demo
desk, and fixtures to sign in and to open tickets. What they stand on is in support/; the
rows tests build are made by factories.py."""
from __future__ import annotations

import socket
import threading
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller
from flask import request_started
from sqlalchemy import select

import factories
import helpdesk.models as models
from helpdesk import clock as desk_clock
from helpdesk import create_app, demo
from helpdesk.extensions import db
from helpdesk.mail import outbox
from helpdesk.models import Agent, Department, HelpTopic, Priority, SLAPlan, Team
from support.apps import empty_g, share_compiled_templates, share_url_builders
from support.clock import Clock
from support.db import PG_ADMIN_URL, empty_all_tables, scratch_postgres, seed_demo_desk, share_engines
from support.inbox import Inbox, RefusingInbox, point_smtp_at
from support.net import free_port
from support.receiver import Receiver

# Fast hashes in tests only; the product uses scrypt.
models.PASSWORD_METHOD = "pbkdf2:sha256:1000"
# What every test's new app shares with the others of the run (see support/apps.py, support/db.py).
share_compiled_templates()
share_url_builders()
share_engines()


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


# --- SMTP -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
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
        empty_all_tables()
        factories.restart_numbering()
        smtp_server.inbox.clear()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def fresh_g_per_request():
    """Every app the test makes (also a second one, e.g. with CSRF or rate limits on)."""
    request_started.connect(empty_g)
    yield
    request_started.disconnect(empty_g)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def inbox(app, smtp_server):
    """The SMTP server's inbox; call deliver() to run the outbox sender first."""
    box = smtp_server.inbox

    def deliver():
        _, failed = outbox.send_due()
        assert failed == 0, "the outbox sender could not deliver"
        db.session.expire_all()
        return box

    box.deliver = deliver
    return box


# --- the demo desk, tickets, signing in, a second app ------------------------------------------


@pytest.fixture
def desk(app):
    """The demo desk: departments, teams, topics, SLA plans, priorities and five agents."""
    seed_demo_desk()
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
    """factories.make_ticket on the demo desk, the help topic first: make_ticket(),
    make_ticket("Billing question", email="ken@example.net"), make_ticket(status="resolved")."""

    def make(topic="General inquiry", **kw):
        return factories.make_ticket(topic=desk.topics[topic] if isinstance(topic, str) else topic, **kw)

    return make


@pytest.fixture
def ticket(make_ticket, inbox):
    """Ken's new outage ticket ("Mobile banking down", Support); the mails its opening caused are
    already delivered and cleared."""
    t = make_ticket("Business Critical Outage", email="ken@example.net", name="Ken", subject="Mobile banking down")
    inbox.deliver()
    inbox.clear()
    return t


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
def admin(login, desk):
    """The test client, signed in as the demo admin."""
    return login(desk.admin)


@pytest.fixture
def csrf_app(app_config, app):
    """The app with CSRF protection on, as in production (same database)."""
    protected = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    yield protected
    with protected.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def clock(monkeypatch):
    """The desk's clock (helpdesk.clock), under the test's control: clock.set(datetime), clock.advance(hours=1).
    Starts on Monday 2026-03-23 08:00 UTC."""
    fixed = Clock()
    monkeypatch.setattr(desk_clock, "utcnow", fixed)
    return fixed


# --- SMTP servers that misbehave ------------------------------------------------------------------


@pytest.fixture
def refusing_smtp(app):
    box = RefusingInbox({"gone@example.net": "550 5.1.1 No such mailbox",
                         "busy@example.net": "450 4.2.1 Mailbox busy, try later"})
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    point_smtp_at(app, controller.port)
    yield box
    controller.stop()


@pytest.fixture
def silent_smtp():
    """A server that accepts connections and never says a word."""
    listener = socket.create_server(("127.0.0.1", 0))
    held, stop = [], threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


# --- a webhook receiver ---------------------------------------------------------------------------


@pytest.fixture
def receiver(app):
    """A real HTTP server on 127.0.0.1 that records what it is sent (support/receiver.py); the
    app may send webhooks to 127.0.0.1 (HELPDESK_WEBHOOK_ALLOW), as an admin would allow it."""
    app.config["HELPDESK_WEBHOOK_ALLOW"] = "127.0.0.1"
    server = Receiver()
    yield server
    server.down()


@pytest.fixture
def mail_catcher(app, tmp_path):
    """The desk's own local mail catcher (as `make run` starts it), keeping mail in a Maildir; the
    app sends to it and its dev mailbox reads it."""
    from aiosmtpd.controller import Controller

    from helpdesk.mail.devserver import _Keeper
    from support.net import free_port

    path = tmp_path / "mail"
    path.mkdir()  # as `flask mail catch` leaves it before the first mail
    controller = Controller(_Keeper(str(path)), hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config["HELPDESK_DEV_MAILBOX"] = str(path)
    state = app.extensions["mail"]
    state.server, state.port = "127.0.0.1", controller.port
    yield path
    controller.stop()
