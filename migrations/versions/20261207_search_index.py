"""Search: an index for the ticket search (number, subject, customer name and email)

Revision ID: 20261207_search_index
Revises: 20261207_ticket_tally
Create Date: 2026-12-07 02:00:00

SQLite: FTS5 tables with the trigram tokenizer over ticket (number, subject) and customer
(name, email), as external content, kept current by triggers, and filled from the rows that
are there (a minute or so for a million tickets). PostgreSQL: the pg_trgm extension and GIN
trigram indexes on the same four columns.

A later migration that rebuilds ticket or customer on SQLite (batch_alter_table) drops the
table's triggers and must create them again (helpdesk/models/search.py has the statements).
The downgrade leaves the pg_trgm extension installed: other databases' objects may use it.
"""
from alembic import op

revision = "20261207_search_index"
down_revision = "20261207_ticket_tally"
branch_labels = None
depends_on = None

FTS = {"ticket": ("ticket_fts", ("number", "subject")), "customer": ("customer_fts", ("name", "email"))}
TRGM = {
    "ix_ticket_number_trgm": ("ticket", "number"),
    "ix_ticket_subject_trgm": ("ticket", "subject"),
    "ix_customer_name_trgm": ("customer", "name"),
    "ix_customer_email_trgm": ("customer", "email"),
}


def _fts_statements(table):
    fts, columns = FTS[table]
    cols = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    add = f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new});"
    remove = f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old});"
    return [
        f"CREATE VIRTUAL TABLE {fts} USING fts5({cols}, content='{table}', content_rowid='id', tokenize='trigram')",
        f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN {add} END",
        f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN {remove} END",
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF id, {cols} ON {table} BEGIN {remove} {add} END",
        f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",  # index the rows already there
    ]


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table in FTS:
            for statement in _fts_statements(table):
                op.execute(statement)
    elif dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, (table, column) in TRGM.items():
            op.execute(f"CREATE INDEX {name} ON {table} USING gin ({column} gin_trgm_ops)")


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table, (fts, _) in FTS.items():
            for trigger in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {fts}_{trigger}")
            op.execute(f"DROP TABLE IF EXISTS {fts}")
    elif dialect == "postgresql":
        for name in TRGM:
            op.execute(f"DROP INDEX IF EXISTS {name}")
