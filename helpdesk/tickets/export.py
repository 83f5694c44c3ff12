"""Queues as CSV files: the tickets an agent sees in a queue, with its filters, search and order;
the reading (`ticket_ids`, then `records` a chunk at a time) serves the XLSX file too (workbook.py).

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
from typing import Callable, Iterable, Iterator, NamedTuple
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


class TooMany(Exception):
    """A queue with more tickets than the file may hold; `most` is how many it may."""

    def __init__(self, most: int):
        super().__init__(most)
        self.most = most


class Record(NamedTuple):
    """One ticket's row, as read: the values of HEADER in its order, times as stored (naive UTC)."""

    number: str
    subject: str
    status: str
    priority: str
    topic: str | None
    department: str
    assignee: str | None
    team: str | None
    customer_name: str | None
    customer_email: str
    source: str
    created: datetime | None
    updated: datetime | None
    due: datetime | None
    overdue: bool
    resolved: datetime | None
    closed: datetime | None
    tags: str


def ticket_ids(agent: Agent, queue: str, params: queues.Params, now: datetime, most: int | None = None) -> array:
    """The ids of the queue's tickets in its order (the queue's own conditions, visibility
    included), 8 bytes each; TooMany, without reading further, past `most` of them. The read ends
    with its transaction: nothing stays open while a file is written or downloaded."""
    ids = array("q")
    listing = queues.listing(agent, queue, params, now, Ticket.id).execution_options(yield_per=10_000)
    result = db.session.execute(listing).scalars()
    try:
        for part in result.partitions():
            ids.extend(part)
            if most is not None and len(ids) > most:
                break
    finally:
        result.close()
    db.session.rollback()
    if most is not None and len(ids) > most:
        raise TooMany(most)
    return ids


def records(ids: array, now: datetime) -> Iterator[list[Record]]:
    """The tickets of `ids`, a chunk (CHUNK) at a time, in the order of `ids`; a ticket deleted
    since the ids were read is left out. Each chunk is read in a transaction of its own, ended
    before the chunk is handed over, so no statement or lock outlives it."""
    columns = _columns(now)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        connection = db.session.connection()  # plain rows: no ORM bookkeeping per row
        found = {row[0]: row[1:] for row in connection.execute(columns.where(Ticket.id.in_(chunk)))}
        tags = queue_rows.tags_of(list(chunk))
        db.session.rollback()
        out = []
        for ticket_id in chunk:
            if ticket_id not in found:  # deleted since the list was read
                continue
            (number, subject, status, priority, parent, topic, department, assignee, team, name, email,
             source, created, updated, due, overdue, resolved, closed) = found[ticket_id]
            out.append(Record(number, subject, STATUS_LABELS.get(status, status), priority,
                              f"{parent} › {topic}" if parent and topic else topic, department, assignee, team,
                              name, email, source, created, updated, due, bool(overdue), resolved, closed,
                              ", ".join(tags.get(ticket_id, ()))))
        yield out


def local_time(zone: ZoneInfo) -> Callable[[datetime | None], datetime | None]:
    """A stored time (naive UTC) as the desk's wall time (aware)."""
    return lambda value: value.replace(tzinfo=timezone.utc).astimezone(zone) if value else None


def rows(agent: Agent, queue: str, params: queues.Params, now: datetime | None = None) -> Iterator[str]:
    """The CSV file in pieces: BOM and header, then the tickets a chunk at a time.

    One query lists the ids of the queue's tickets in order (`ticket_ids`); then each chunk of ids
    is read and written (`records`). No statement stays open while the client downloads, so a long
    export never holds a lock writers wait for (SQLite) and only the ids (8 bytes each), never the
    rows, of the whole queue are in memory at once."""
    now = now or clock.utcnow()
    local = local_time(ZoneInfo(settings.get("timezone") or "UTC"))

    def when(value: datetime | None) -> str:
        return local(value).isoformat(timespec="seconds") if value else ""

    agent_id = agent.id  # for the log: a rollback below expires the agent
    out = SafeWriter()
    out.row(HEADER)
    yield BOM + out.take()
    written = 0
    try:
        for chunk in records(ticket_ids(agent, queue, params, now), now):
            for r in chunk:
                out.row((r.number, r.subject, r.status, r.priority, r.topic, r.department, r.assignee, r.team,
                         r.customer_name, r.customer_email, r.source, when(r.created), when(r.updated), when(r.due),
                         "yes" if r.overdue else "no", when(r.resolved), when(r.closed), r.tags))
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


def filename(queue: str, now: datetime | None = None, ext: str = "csv") -> str:
    """tickets-open-2026-03-23.csv: the queue and the desk's local date."""
    tz = ZoneInfo(settings.get("timezone") or "UTC")
    day = (now or clock.utcnow()).replace(tzinfo=timezone.utc).astimezone(tz).date()
    return f"tickets-{queue}-{day.isoformat()}.{ext}"
