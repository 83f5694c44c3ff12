"""Queues as CSV files: the tickets an agent sees in a queue, with its filters, search and order.

Every cell goes through `neutralise` on its way out (SafeWriter is the only writer): a cell a
spreadsheet would read as a formula (=, +, -, @, tab, carriage return first, after OWASP's
CSV injection guidance) gets a leading single quote, so it shows as text and never runs.
The file starts with a UTF-8 byte order mark so that Excel reads the names right. An export
that fails part way (a database error while reading a chunk) ends with a last line saying it
was cut off, so that nobody takes a part of the queue for all of it.
"""
from __future__ import annotations

import csv
import io
import logging
from array import array
from datetime import datetime, timezone
from typing import Iterable, Iterator
from zoneinfo import ZoneInfo

from sqlalchemy import case, select
from sqlalchemy.orm import aliased

from .. import clock, settings
from ..extensions import db
from ..models import STATUS_LABELS, Agent, Customer, Department, HelpTopic, Priority, Team, Ticket
from . import queues
from . import rows as queue_rows
from .deadlines import overdue_clause

log = logging.getLogger(__name__)

BOM = "\ufeff"
FORMULA_STARTS = frozenset("=+-@\t\r")
CHUNK = 1000  # rows fetched (and written) at a time: memory stays flat whatever the queue's size

# The last line of an export that failed part way (one cell, in the first column).
CUT_OFF = ("EXPORT INCOMPLETE: an error cut this export off after {written} tickets. "
           "This file is not the whole queue: export it again.")

HEADER = ("Number", "Subject", "Status", "Priority", "Help topic", "Department", "Assignee", "Team",
          "Customer name", "Customer email", "Source", "Created", "Last update", "Due", "Overdue",
          "Resolved", "Closed", "Tags")


def neutralise(value) -> str:
    """A cell's text, made inert for spreadsheets: a leading quote before a formula's first sign."""
    if value is None:
        return ""
    text = value if type(value) is str else str(value)
    return "'" + text if text[:1] in FORMULA_STARTS else text


class SafeWriter:
    """csv.writer into a buffer, every cell neutralised; `take()` hands over what was written."""

    def __init__(self):
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")

    def row(self, cells: Iterable) -> None:
        self._writer.writerow([neutralise(cell) for cell in cells])

    def take(self) -> str:
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text


def _columns(now: datetime):
    """SELECT what a row shows, for tickets picked by id (a chunk of the queue)."""
    parent = aliased(HelpTopic)
    return (
        select(
            Ticket.id, Ticket.number, Ticket.subject, Ticket.status, Priority.name, parent.name, HelpTopic.name,
            Department.name, Agent.name, Team.name, Customer.name, Customer.email, Ticket.source,
            Ticket.created_at, Ticket.updated_at, Ticket.due_at, case((overdue_clause(now), True), else_=False),
            Ticket.resolved_at, Ticket.closed_at,
        )
        .select_from(Ticket)
        .join(Priority, Ticket.priority_id == Priority.id)
        .join(Department, Ticket.department_id == Department.id)
        .join(Customer, Ticket.customer_id == Customer.id)
        .outerjoin(HelpTopic, Ticket.topic_id == HelpTopic.id)
        .outerjoin(parent, HelpTopic.parent_id == parent.id)
        .outerjoin(Agent, Ticket.assignee_id == Agent.id)
        .outerjoin(Team, Ticket.team_id == Team.id)
    )


def rows(agent: Agent, queue: str, params: queues.Params, now: datetime | None = None) -> Iterator[str]:
    """The CSV file in pieces: BOM and header, then the tickets a chunk at a time.

    One query lists the ids of the queue's tickets in order (the queue's own conditions,
    visibility included); then each chunk of ids is read and written. No statement stays open
    while the client downloads, so a long export never holds a lock writers wait for (SQLite)
    and only the ids (8 bytes each), never the rows, of the whole queue are in memory at once."""
    now = now or clock.utcnow()
    tz = ZoneInfo(settings.get("timezone") or "UTC")

    def when(value: datetime | None) -> str:
        return value.replace(tzinfo=timezone.utc).astimezone(tz).isoformat(timespec="seconds") if value else ""

    agent_id = agent.id  # for the log: a rollback below expires the agent
    out = SafeWriter()
    out.row(HEADER)
    yield BOM + out.take()
    written = 0
    try:
        ids = array("q")  # 8 bytes a ticket
        listing = queues.listing(agent, queue, params, now, Ticket.id).execution_options(yield_per=10_000)
        for part in db.session.execute(listing).scalars().partitions():
            ids.extend(part)
        db.session.rollback()  # read only: no transaction stays open while the client downloads
        columns = _columns(now)
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            connection = db.session.connection()  # plain rows: no ORM bookkeeping per row
            found = {row[0]: row[1:] for row in connection.execute(columns.where(Ticket.id.in_(chunk)))}
            tags = queue_rows.tags_of(list(chunk))
            db.session.rollback()
            for ticket_id in chunk:
                if ticket_id not in found:  # deleted since the list was read
                    continue
                (number, subject, status, priority, parent, topic, department, assignee, team, name, email,
                 source, created, updated, due, overdue, resolved, closed) = found[ticket_id]
                out.row((
                    number, subject, STATUS_LABELS.get(status, status), priority,
                    f"{parent} › {topic}" if parent and topic else topic, department, assignee, team, name,
                    email, source, when(created), when(updated), when(due), "yes" if overdue else "no",
                    when(resolved), when(closed), ", ".join(tags.get(ticket_id, ())),
                ))
                written += 1
            yield out.take()
    except Exception:  # not GeneratorExit: a client that goes away just stops the file
        log.exception("export of the %s queue for agent %s cut off after %d tickets", queue, agent_id, written)
        try:
            db.session.rollback()
        except Exception:  # the connection itself is gone: the session is thrown away at teardown
            log.warning("rollback after the failed export failed too", exc_info=True)
        out.row((CUT_OFF.format(written=written),))
        yield out.take()


def filename(queue: str, now: datetime | None = None) -> str:
    """tickets-open-2026-03-23.csv: the queue and the desk's local date."""
    tz = ZoneInfo(settings.get("timezone") or "UTC")
    day = (now or clock.utcnow()).replace(tzinfo=timezone.utc).astimezone(tz).date()
    return f"tickets-{queue}-{day.isoformat()}.csv"
