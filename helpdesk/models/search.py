"""The search index's schema: what the ticket search (helpdesk.tickets.search) reads.

- SQLite: two FTS5 tables with the trigram tokenizer over their rows' text, as external
  content (the text itself stays in ticket and customer): ticket_fts (number, subject) and
  customer_fts (name, email), kept current by triggers on ticket and customer.
- PostgreSQL: pg_trgm GIN indexes on ticket.number, ticket.subject, customer.name and
  customer.email.

The migration 20261207_search_index builds the same objects on a migrated database; here they
are built with the tables by metadata.create_all (the tests' schema). They are not in the
models' metadata, so include_object() keeps autogenerate (and the schema comparison of
tests/test_migrations.py) from proposing to drop them.

A migration that rebuilds ticket or customer on SQLite (batch_alter_table copies the table)
drops that table's triggers: such a migration must create them again (TRIGGERS below).
"""
from __future__ import annotations

from sqlalchemy import DDL, event

from .people import Customer
from .ticket import Ticket

# table -> (FTS table, its columns)
FTS_TABLES = {"ticket": ("ticket_fts", ("number", "subject")), "customer": ("customer_fts", ("name", "email"))}
TRGM_INDEXES = {
    "ix_ticket_number_trgm": ("ticket", "number"),
    "ix_ticket_subject_trgm": ("ticket", "subject"),
    "ix_customer_name_trgm": ("customer", "name"),
    "ix_customer_email_trgm": ("customer", "email"),
}
# FTS5 keeps each table's index in shadow tables named after it.
_FTS_SUFFIXES = ("", "_data", "_idx", "_docsize", "_config", "_content")
SEARCH_OBJECTS = {f"{fts}{suffix}" for fts, _ in FTS_TABLES.values() for suffix in _FTS_SUFFIXES} | set(TRGM_INDEXES)


def fts_statements(table: str) -> list[str]:
    """CREATE statements for a table's FTS index and the triggers that keep it current."""
    fts, columns = FTS_TABLES[table]
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
    ]


def trgm_statements(table: str) -> list[str]:
    return ["CREATE EXTENSION IF NOT EXISTS pg_trgm"] + [
        f"CREATE INDEX IF NOT EXISTS {name} ON {on} USING gin ({column} gin_trgm_ops)"
        for name, (on, column) in TRGM_INDEXES.items() if on == table
    ]


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Autogenerate's filter: the search index is made by hand, never proposed for dropping."""
    return not (reflected and compare_to is None and name in SEARCH_OBJECTS)


def _build_with(table) -> None:
    for statement in fts_statements(table.name):
        event.listen(table, "after_create", DDL(statement).execute_if(dialect="sqlite"))
    event.listen(table, "before_drop", DDL(f"DROP TABLE IF EXISTS {FTS_TABLES[table.name][0]}")
                 .execute_if(dialect="sqlite"))
    for statement in trgm_statements(table.name):
        event.listen(table, "after_create", DDL(statement).execute_if(dialect="postgresql"))


_build_with(Ticket.__table__)
_build_with(Customer.__table__)
