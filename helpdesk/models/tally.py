"""The ticket tally: how many tickets there are in each group of the columns queues count by,
exact at any size without reading the tickets.

The database keeps it: triggers on `ticket` write one row per change (+1 for the group a ticket
enters, -1 for the one it leaves) in the same transaction as the change, whatever made it (the
lifecycle, a bulk UPDATE, an import, a seed). The sum of `n` over a group is the number of tickets
in it; tickets.tally.compact() folds the change rows into one row per group now and then, so
counting reads a few hundred rows rather than a million tickets. Change rows are only ever
inserted, never updated, so two transactions changing tickets never wait for each other here.
"""
from __future__ import annotations

from typing import Optional

from sqlalchemy import DDL, String, event
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .ticket import Ticket

# The columns a queue, a filter, the navigation or a report counts by; a change of any other column of a
# ticket leaves the tally alone.
GROUP_COLUMNS = ("status", "department_id", "team_id", "assignee_id", "priority_id", "topic_id", "is_overdue", "source")


class TicketTally(db.Model):
    __tablename__ = "ticket_tally"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str]
    department_id: Mapped[int]
    team_id: Mapped[Optional[int]]
    assignee_id: Mapped[Optional[int]]
    priority_id: Mapped[int]
    topic_id: Mapped[Optional[int]]
    is_overdue: Mapped[bool]
    source: Mapped[str] = mapped_column(String(16), server_default="web")
    n: Mapped[int]


_COLUMNS = ", ".join(GROUP_COLUMNS)


def _values(row: str, n: int) -> str:
    return "(" + ", ".join(f"{row}.{c}" for c in GROUP_COLUMNS) + f", {n})"


_CHANGED = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in GROUP_COLUMNS)
_INSERT = f"INSERT INTO ticket_tally ({_COLUMNS}, n) VALUES "

SQLITE_TRIGGERS = (
    f"CREATE TRIGGER ticket_tally_insert AFTER INSERT ON ticket BEGIN {_INSERT}{_values('NEW', 1)}; END",
    f"CREATE TRIGGER ticket_tally_update AFTER UPDATE OF {_COLUMNS} ON ticket "
    f"WHEN {_CHANGED.replace('IS DISTINCT FROM', 'IS NOT')} "
    f"BEGIN {_INSERT}{_values('OLD', -1)}, {_values('NEW', 1)}; END",
    f"CREATE TRIGGER ticket_tally_delete AFTER DELETE ON ticket BEGIN {_INSERT}{_values('OLD', -1)}; END",
)

POSTGRESQL_TRIGGERS = (
    "CREATE FUNCTION ticket_tally_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"IF TG_OP <> 'INSERT' THEN {_INSERT}{_values('OLD', -1)}; END IF; "
    f"IF TG_OP <> 'DELETE' THEN {_INSERT}{_values('NEW', 1)}; END IF; "
    "RETURN NULL; END $$",
    "CREATE TRIGGER ticket_tally_insert_delete AFTER INSERT OR DELETE ON ticket "
    "FOR EACH ROW EXECUTE FUNCTION ticket_tally_change()",
    f"CREATE TRIGGER ticket_tally_update AFTER UPDATE OF {_COLUMNS} ON ticket "
    f"FOR EACH ROW WHEN ({_CHANGED}) EXECUTE FUNCTION ticket_tally_change()",
)


def triggers(dialect: str) -> tuple[str, ...]:
    return {"sqlite": SQLITE_TRIGGERS, "postgresql": POSTGRESQL_TRIGGERS}[dialect]


# A schema made from the models (create_all) gets the triggers too, once both tables exist.
TicketTally.__table__.add_is_dependent_on(Ticket.__table__)
for _dialect in ("sqlite", "postgresql"):
    for _statement in triggers(_dialect):
        event.listen(TicketTally.__table__, "after_create", DDL(_statement).execute_if(dialect=_dialect))
