"""Folding the ticket tally's change rows into one row per group (see helpdesk.models.tally).

Counting is exact whether or not the rows were folded; folding only keeps the rows a count reads
few. The overdue check folds every round, and a count folds first when it finds many rows.
"""
from __future__ import annotations

import logging

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from ..extensions import db
from ..models import GROUP_COLUMNS, TicketTally

log = logging.getLogger(__package__)

# Past this many rows a count folds them first (a few hundred groups is the usual size).
FOLD_AFTER = 5000

_COLUMNS = ", ".join(GROUP_COLUMNS)


def rows() -> int:
    """How many rows the tally has (from its key's range: no scan)."""
    low, high = db.session.execute(select(func.min(TicketTally.id), func.max(TicketTally.id))).one()
    return 0 if low is None else high - low + 1


def by_status() -> dict[str, int]:
    """How many tickets have each status (statuses with none left out)."""
    rows = db.session.execute(
        select(TicketTally.status, func.sum(TicketTally.n)).group_by(TicketTally.status)
        .having(func.sum(TicketTally.n) != 0)
    ).all()
    return {status: int(n) for status, n in rows}


def compact() -> bool:
    """Replace the tally's rows by one row per group with a count other than zero, in one
    transaction of its own (the caller's session is left alone). On PostgreSQL one statement
    deletes and re-inserts, so a change row committed meanwhile is either folded or left for the
    next time, never lost; SQLite has one writer at a time. False if the database was busy."""
    try:
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(db.text(
                    f"WITH gone AS (DELETE FROM ticket_tally RETURNING {_COLUMNS}, n) "
                    f"INSERT INTO ticket_tally ({_COLUMNS}, n) SELECT {_COLUMNS}, sum(n) FROM gone "
                    f"GROUP BY {_COLUMNS} HAVING sum(n) <> 0"
                ))
            else:
                last = conn.scalar(select(func.max(TicketTally.id)))
                if last is not None:
                    conn.execute(db.text(
                        f"INSERT INTO ticket_tally ({_COLUMNS}, n) SELECT {_COLUMNS}, sum(n) FROM ticket_tally "
                        f"WHERE id <= :last GROUP BY {_COLUMNS} HAVING sum(n) <> 0"
                    ), {"last": last})
                    conn.execute(db.text("DELETE FROM ticket_tally WHERE id <= :last"), {"last": last})
    except OperationalError as exc:  # busy: counting stays exact, the next round folds
        log.info("ticket tally not folded this time: %s", exc.orig)
        return False
    return True


def tidy() -> None:
    """What the overdue check does after each round: fold the tally, refresh stale statistics."""
    compact()
    refresh_statistics()


# SQLite plans a query from the statistics ANALYZE leaves; it gathers none by itself, and without
# them it reads a million-ticket queue through the wrong index (seconds instead of a millisecond).
# Only the ticket table's matter to the queues; ANALYZE reads each of its indexes once (about five
# seconds at a million tickets, without blocking anyone: the desk runs SQLite in WAL mode), so it
# runs when the number of tickets moved by a tenth (and at least STALE_AFTER) since the last
# time, which the statistics themselves record; any process may find that out, a cron job too.
# A sampled ANALYZE (analysis_limit) is no use here: it puts its sample size where the number of
# tickets per status belongs. PostgreSQL's autovacuum keeps its own statistics.
STALE_AFTER = 1000


def refresh_statistics() -> bool:
    """Gather SQLite's statistics of the ticket table again if the desk grew or shrank by a
    tenth since they were gathered (or never were). True if it ran."""
    if db.engine.dialect.name != "sqlite":
        return False
    try:
        with db.engine.begin() as conn:
            try:
                stat = conn.exec_driver_sql(
                    "SELECT stat FROM sqlite_stat1 WHERE tbl = 'ticket' AND idx = 'ix_ticket_status_updated'"
                ).scalar()
            except OperationalError:  # no statistics at all yet
                stat = None
            tickets = conn.scalar(select(func.coalesce(func.sum(TicketTally.n), 0)))
            if stat is not None:
                counted = int(stat.split()[0])
                if abs(tickets - counted) < max(STALE_AFTER, counted // 10):
                    return False
            elif not tickets:
                return False
            analyze(conn)
    except OperationalError as exc:
        log.info("planner statistics not refreshed this time: %s", exc.orig)
        return False
    return True


def analyze(conn) -> None:
    """Gather the ticket table's statistics on this SQLite connection."""
    conn.exec_driver_sql("ANALYZE ticket")
