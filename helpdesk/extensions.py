"""Extensions, created unbound here and bound to the app in create_app()."""
import sqlite3

import click
from flask_htmx import HTMX
from flask_login import LoginManager
from flask_mail import Mail
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

# Named constraints keep migrations portable between SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

class LazyMigrate:
    """Flask-Migrate, bound to the app without importing it: it brings Alembic, Mako and Pygments
    (about 11 MiB a process), which only `flask db ...` and code running migrations use, never a
    web worker. init_app() puts a stand-in at app.extensions["migrate"] and a `db` command group
    on the CLI; the first use of either imports Flask-Migrate and binds the real one, as
    Migrate(app, db, ...) would have."""

    def __init__(self):
        self.options: dict = {}

    def init_app(self, app, db, **options) -> None:
        self.options = {"db": db, **options}
        app.extensions["migrate"] = _MigrateOnFirstUse(self, app)
        app.cli.add_command(_MigrateCommands(self, app, name="db", help="Perform database migrations."))

    def bind(self, app):
        """The real Migrate bound to the app (replacing the stand-ins); its config."""
        from flask_migrate import Migrate

        Migrate().init_app(app, **self.options)
        return app.extensions["migrate"]


class _MigrateOnFirstUse:
    def __init__(self, lazy: LazyMigrate, app):
        self._lazy, self._app = lazy, app

    def __getattr__(self, name):
        return getattr(self._lazy.bind(self._app), name)


class _MigrateCommands(click.Group):
    """Flask-Migrate's `db` group, loaded when `flask db ...` runs: the context it makes is the
    real group's, so its options, commands and help are Flask-Migrate's own."""

    def __init__(self, lazy: LazyMigrate, app, **kwargs):
        super().__init__(**kwargs)
        self._lazy, self._app = lazy, app

    def _real(self) -> click.Group:
        from flask_migrate.cli import db as commands

        if isinstance(self._app.extensions.get("migrate"), _MigrateOnFirstUse):
            self._lazy.bind(self._app)
        return commands

    def make_context(self, info_name, args, parent=None, **extra):
        return self._real().make_context(info_name, args, parent=parent, **extra)

    def list_commands(self, ctx):
        return self._real().list_commands(ctx)

    def get_command(self, ctx, name):
        return self._real().get_command(ctx, name)


db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
migrate = LazyMigrate()
login_manager = LoginManager()
mail = Mail()
csrf = CSRFProtect()
htmx = HTMX()


def listen_to_sessions(listeners) -> None:
    """Add (event name, function) listeners to every database session, once per process: they
    are global, whatever the app, so a second create_app() adds nothing."""
    for name, listener in listeners:
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


@event.listens_for(Engine, "connect")
def _sqlite_write_ahead_log(dbapi_connection, connection_record) -> None:
    """SQLite in WAL mode: readers never wait for a writer nor a writer for readers (the default
    rollback journal locks the whole file out for readers while a change commits), and a commit
    writes once. Stays set in the database file; an in-memory database keeps its own mode."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()


_WROTE = "helpdesk.wrote"  # on a connection's info: its transaction ran something other than a SELECT


@event.listens_for(Engine, "before_cursor_execute")
def _note_writes(conn, cursor, statement, parameters, context, executemany) -> None:
    if not statement.lstrip()[:6].upper() == "SELECT":
        conn.info[_WROTE] = True


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
def _transaction_ended(conn) -> None:
    conn.info.pop(_WROTE, None)


def end_reads_with_commit(app) -> None:
    """On PostgreSQL a request that only read ends its transaction with COMMIT, not the ROLLBACK
    the session's close would send: psycopg forgets every statement it prepared on a connection
    at each ROLLBACK, so when every read ended that way nothing was ever prepared and
    PostgreSQL planned each statement afresh (2.3 ms for the ticket page's first statement,
    which then ran in 0.2 ms). It writes nothing: a request that failed, ran any statement but
    a SELECT in the transaction, or holds changes it did not flush, still rolls back."""

    @app.teardown_request
    def _end_read(exc) -> None:
        if exc is not None or db.engine.dialect.name != "postgresql":
            return
        session = db.session()
        if not session.in_transaction() or session.new or session.dirty or session.deleted:
            return
        if session.connection().info.get(_WROTE):
            return
        try:
            session.commit()
        except Exception:  # the connection broke: close() rolls back as it would have
            session.rollback()
