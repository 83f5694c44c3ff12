"""The report cells: the dashboard's counts and time histograms per local day, kept by the
database so that a year of a million-ticket desk is read from a few thousand rows.

Each ticket contributes a fixed set of cells, computed from its own columns: the day it was
created (and the hour, for the busiest-hours map), first answered and finished, in the desk's
time zone, with the columns the reports filter and break down by, and a histogram bucket of its
response and resolution times. Triggers on `ticket` write the change in the same transaction as
the change itself, whatever made it: the contribution a ticket leaves (n = -1) and the one it
enters (n = +1). Rows are only ever inserted, so writers never wait for each other here;
helpdesk.reports.cells folds the rows of the days that changed into one row per group, and
rebuilds them all when the desk's time zone changes.

A cell belongs to one cut, the set of columns it keeps (the others are NULL):
  a  department, help topic, priority, channel, SLA plan
  b  department, priority, team, assignee
  t  nothing: the histograms of the whole desk
  d  department (histograms)
  p  department and priority (histograms)
  A, B, T, D, P  the same as a, b, t, d and p, per month (`day` is the month's first): a long period reads
     its whole months from these and the days around them from the daily ones
  g  department, priority and assignee: first responses in SLA hours, per month only, since per
     day there would be nearly a row per ticket (the days around whole months: the tickets)
  h  department and priority, and the hour: tickets created (the busiest hours)
  r  department and priority: the replies each agent (`agent_id`) sent, by the ticket's current
     department and priority (triggers on thread_entry, and on ticket when those change)

The local day comes from `report_zone`: from each instant on, the desk's UTC offset in minutes.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional
from zoneinfo import ZoneInfo

from flask import g
from sqlalchemy import DDL, Index, String, delete, event, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..sla import offsets
from .ticket import ThreadEntry, Ticket


class ReportCell(db.Model):
    __tablename__ = "report_cell"
    __table_args__ = (
        Index("ix_report_cell_read", "event", "cut", "day"),
        Index("ix_report_cell_narrow", "event", "cut", "department_id", "priority_id", "day"),
        Index("ix_report_cell_unfolded", "day", sqlite_where=db.text("folded = 0"),
              postgresql_where=db.text("NOT folded")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event: Mapped[str] = mapped_column(String(8))
    cut: Mapped[str] = mapped_column(String(1))
    day: Mapped[date]
    hour: Mapped[Optional[int]]
    department_id: Mapped[Optional[int]]
    topic_id: Mapped[Optional[int]]
    priority_id: Mapped[Optional[int]]
    source: Mapped[Optional[str]] = mapped_column(String(16))
    sla_id: Mapped[Optional[int]]
    team_id: Mapped[Optional[int]]
    assignee_id: Mapped[Optional[int]]
    agent_id: Mapped[Optional[int]]
    breached: Mapped[Optional[bool]]
    planned: Mapped[Optional[bool]]
    reopened: Mapped[Optional[bool]]
    bucket: Mapped[Optional[int]]
    n: Mapped[int]
    folded: Mapped[bool] = mapped_column(default=False, server_default=db.false())


class ReportZone(db.Model):
    """The desk's UTC offset from each instant on (naive UTC), for the time zone `zone`."""

    __tablename__ = "report_zone"

    starts: Mapped[datetime] = mapped_column(primary_key=True)
    minutes: Mapped[int]
    zone: Mapped[str] = mapped_column(String(64))


# --- what a ticket contributes ---------------------------------------------------------------------

GROUPS = ("department_id", "topic_id", "priority_id", "source", "sla_id", "team_id", "assignee_id")
CUTS = {"a": ("department_id", "topic_id", "priority_id", "source", "sla_id"),
        "b": ("department_id", "priority_id", "team_id", "assignee_id"),
        "t": (), "d": ("department_id",), "p": ("department_id", "priority_id"),
        "g": ("department_id", "priority_id", "assignee_id"), "r": ("department_id", "priority_id"),
        "h": ("department_id", "priority_id"), "T": (), "D": ("department_id",), "P": ("department_id", "priority_id"),
        "A": ("department_id", "topic_id", "priority_id", "source", "sla_id"),
        "B": ("department_id", "priority_id", "team_id", "assignee_id")}
# Cuts counted per month (`day` is the month's first day); A, B, T, D and P are a, b, t, d and p by month.
MONTHLY = "gTDPAB"
DAILY_OF = {"T": "t", "D": "d", "P": "p"}
FIELDS = ("event", "cut", "day", "hour", *GROUPS, "agent_id", "breached", "planned", "reopened", "bucket")
# Histogram steps: below each bound (seconds), one bucket per step; past the last, a day each.
STEPS = ((3600, 60), (4 * 3600, 300), (86400, 900), (7 * 86400, 3600), (30 * 86400, 6 * 3600))
LAST_STEP = 86400
# Counted events: (event, the ticket's time column, breached column or None).
COUNTS = (("created", "created_at", None), ("answered", "first_responded_at", "first_response_breached"),
          ("finished", "finished_at", "resolution_breached"))
# Histograms: (event, time column, value column, cuts).
HISTOGRAMS = (("fr_work", "first_responded_at", "first_response_work_secs", "tdpTDPg"),
              ("fr_wall", "first_responded_at", "first_response_secs", "tdpTDP"),
              ("res_work", "finished_at", "resolution_work_secs", "tdpTDP"),
              ("res_wall", "finished_at", "resolution_secs", "tdpTDP"))
# A change of any other column leaves the cells alone.
WATCHED = ("created_at", "first_responded_at", "finished_at", *GROUPS, "first_response_breached",
           "resolution_breached", "reopen_count", "first_response_secs", "first_response_work_secs",
           "resolution_secs", "resolution_work_secs")


def bucket_sql(value: str) -> str:
    """The histogram bucket of a number of seconds, in SQL both databases read alike."""
    parts, base, low = [], 0, 0
    for bound, step in STEPS:
        parts.append(f"WHEN {value} < {bound} THEN {base} + ({value} - {low}) / {step}")
        base += (bound - low) // step
        low = bound
    return f"CASE {' '.join(parts)} ELSE {base} + ({value} - {low}) / {LAST_STEP} END"


def bucket_of(seconds: int) -> int:
    """The histogram bucket of a number of seconds (what bucket_sql computes)."""
    base, low = 0, 0
    for bound, step in STEPS:
        if seconds < bound:
            return base + (seconds - low) // step
        base, low = base + (bound - low) // step, bound
    return base + (seconds - low) // LAST_STEP


def bucket_floor(bucket: int) -> int:
    """The fewest seconds a bucket holds (what the histogram reports for it)."""
    base, low = 0, 0
    for bound, step in STEPS:
        size = (bound - low) // step
        if bucket < base + size:
            return low + (bucket - base) * step
        base, low = base + size, bound
    return low + (bucket - base) * LAST_STEP


def _boolean(dialect: str, value: bool) -> str:
    """A boolean literal as each database writes one."""
    if dialect == "postgresql":
        return "true" if value else "false"
    return "1" if value else "0"


def _offset(dialect: str, instant: str) -> str:
    found = f"(SELECT minutes FROM report_zone WHERE starts <= {instant} ORDER BY starts DESC LIMIT 1)"
    if dialect == "sqlite":
        return f"printf('%+d minutes', coalesce({found}, 0))"
    return f"make_interval(mins => coalesce({found}, 0))"


# The desk's local day, month (its first day) or hour of a stored instant, per database.
_LOCAL = {
    "sqlite": {"day": "date({i}, {o})", "month": "date({i}, {o}, 'start of month')",
               "hour": "CAST(strftime('%H', {i}, {o}) AS INTEGER)"},
    "postgresql": {"day": "CAST({i} + {o} AS date)", "month": "CAST(date_trunc('month', {i} + {o}) AS date)",
                   "hour": "CAST(extract(hour FROM {i} + {o}) AS integer)"},
}


def local(dialect: str, instant: str, unit: str) -> str:
    return _LOCAL[dialect][unit].format(i=instant, o=_offset(dialect, instant))


_NULL = {"hour": "CAST(NULL AS integer)", "source": "CAST(NULL AS varchar)", "breached": "CAST(NULL AS boolean)",
         "planned": "CAST(NULL AS boolean)", "reopened": "CAST(NULL AS boolean)", "bucket": "CAST(NULL AS integer)"}


def _null(field: str) -> str:
    return _NULL.get(field, "CAST(NULL AS integer)")


def contributions(dialect: str, row: str) -> list[tuple[str, str]]:
    """(SELECT list in FIELDS order, WHERE) of each cell a ticket adds; `row` names the ticket
    (NEW, OLD or a table)."""
    found = []
    for name, at, breached in COUNTS:
        for cut in ("abhAB" if name == "created" else "abAB"):
            kept = CUTS[cut]
            values = {
                "event": f"'{name}'", "cut": f"'{cut}'",
                "day": local(dialect, f"{row}.{at}", "month" if cut in MONTHLY else "day"),
                "hour": local(dialect, f"{row}.{at}", "hour") if cut == "h" else _null("hour"),
                **{g: f"{row}.{g}" if g in kept else _null(g) for g in GROUPS}, "agent_id": _null("agent_id"),
                "breached": f"{row}.{breached}" if breached else _null("breached"),
                "planned": f"{row}.sla_id IS NOT NULL" if name == "finished" else _null("planned"),
                "reopened": f"{row}.reopen_count > 0" if name == "finished" else _null("reopened"),
                "bucket": _null("bucket"),
            }
            found.append((values, f"{row}.{at} IS NOT NULL"))
    for name, at, value, cuts in HISTOGRAMS:
        for cut in cuts:
            kept = CUTS[cut]
            day = local(dialect, f"{row}.{at}", "month" if cut in MONTHLY else "day")
            values = {"event": f"'{name}'", "cut": f"'{cut}'", "day": day,
                      "hour": _null("hour"), **{g: f"{row}.{g}" if g in kept else _null(g) for g in GROUPS}, "agent_id": _null("agent_id"),
                      "breached": _null("breached"), "planned": _null("planned"), "reopened": _null("reopened"),
                      "bucket": bucket_sql(f"{row}.{value}")}
            found.append((values, f"{row}.{at} IS NOT NULL AND {row}.{value} IS NOT NULL"))
    return [(", ".join(v[f] for f in FIELDS), where) for v, where in found]


_FIELDS = ", ".join(FIELDS)


def _insert(dialect: str, row: str, n: int) -> str:
    folded = _boolean(dialect, False)
    parts = [f"SELECT {values}, {n}, {folded} WHERE {where}" for values, where in contributions(dialect, row)]
    return f"INSERT INTO report_cell ({_FIELDS}, n, folded) " + " UNION ALL ".join(parts)


def _reply(dialect: str, entry: str, ticket: str) -> str:
    """The SELECT list (FIELDS order) of the replies cell of an entry of a ticket."""
    values = {"event": "'replied'", "cut": "'r'", "day": local(dialect, f"{entry}.created_at", "day"),
              **{g: _null(g) for g in FIELDS[3:]}, "department_id": f"{ticket}.department_id",
              "priority_id": f"{ticket}.priority_id", "agent_id": f"{entry}.agent_id"}
    return ", ".join(values[f] for f in FIELDS)


_REPLY = "{e}.kind = 'reply' AND {e}.agent_id IS NOT NULL"


def _entry_change(dialect: str, row: str, n: int) -> str:
    """A reply written or taken away: its cell, by its ticket's current department and priority
    (none if the ticket is gone: its own trigger took its replies away before it went)."""
    folded = _boolean(dialect, False)
    return (f"INSERT INTO report_cell ({_FIELDS}, n, folded) SELECT {_reply(dialect, row, 't')}, {n}, {folded} "
            f"FROM ticket t WHERE t.id = {row}.ticket_id AND {_REPLY.format(e=row)}")


def _ticket_replies(dialect: str, row: str, sign: str) -> str:
    """All the replies of a ticket, by its department and priority as `row` has them."""
    folded = _boolean(dialect, False)
    named = ", ".join(f"{v} AS {f}" for v, f in zip(_split(_reply(dialect, "e", row)), FIELDS))
    return (f"INSERT INTO report_cell ({_FIELDS}, n, folded) SELECT {_FIELDS}, {sign}count(*), {folded} "
            f"FROM (SELECT {named} FROM thread_entry e WHERE e.ticket_id = {row}.id AND {_REPLY.format(e='e')}) "
            f"AS c GROUP BY {_FIELDS}")


def fill_sql(dialect: str) -> list[str]:
    """Statements that add the folded cells of every ticket (and reply) there is."""
    folded = _boolean(dialect, True)
    found = []
    for values, where in contributions(dialect, "ticket"):
        named = ", ".join(f"{v} AS {f}" for v, f in zip(_split(values), FIELDS))
        found.append(f"INSERT INTO report_cell ({_FIELDS}, n, folded) SELECT {_FIELDS}, count(*), {folded} "
                     f"FROM (SELECT {named} FROM ticket WHERE {where}) AS c GROUP BY {_FIELDS}")
    named = ", ".join(f"{v} AS {f}" for v, f in zip(_split(_reply(dialect, "e", "t")), FIELDS))
    found.append(f"INSERT INTO report_cell ({_FIELDS}, n, folded) SELECT {_FIELDS}, count(*), {folded} "
                 f"FROM (SELECT {named} FROM thread_entry e JOIN ticket t ON t.id = e.ticket_id "
                 f"WHERE {_REPLY.format(e='e')}) AS c GROUP BY {_FIELDS}")
    return found


def _split(values: str) -> list[str]:
    """The SELECT list back into its expressions (commas inside parentheses or quotes kept)."""
    parts, depth, quoted, current = [], 0, False, ""
    for ch in values:
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        elif not quoted:
            depth += (ch == "(") - (ch == ")")
        current += ch
    parts.append(current.strip())
    return parts


def _changed(differs: str) -> str:
    return " OR ".join(f"OLD.{c} {differs} NEW.{c}" for c in WATCHED)


_MOVED = ("department_id", "priority_id")  # a ticket's replies move with these
_ENTRY = ("ticket_id", "kind", "agent_id", "created_at")


def _moved(differs: str) -> str:
    return " OR ".join(f"OLD.{c} {differs} NEW.{c}" for c in _MOVED)


def triggers(dialect: str) -> tuple[str, ...]:
    watched = ", ".join(WATCHED)
    entry_changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in _ENTRY)
    if dialect == "sqlite":
        return (
            f"CREATE TRIGGER report_cell_insert AFTER INSERT ON ticket BEGIN {_insert(dialect, 'NEW', 1)}; END",
            f"CREATE TRIGGER report_cell_update AFTER UPDATE OF {watched} ON ticket WHEN {_changed('IS NOT')} "
            f"BEGIN {_insert(dialect, 'OLD', -1)}; {_insert(dialect, 'NEW', 1)}; END",
            f"CREATE TRIGGER report_cell_delete AFTER DELETE ON ticket BEGIN {_insert(dialect, 'OLD', -1)}; END",
            f"CREATE TRIGGER report_cell_replies_move AFTER UPDATE OF {', '.join(_MOVED)} ON ticket "
            f"WHEN {_moved('IS NOT')} BEGIN {_ticket_replies(dialect, 'OLD', '-')}; "
            f"{_ticket_replies(dialect, 'NEW', '')}; END",
            f"CREATE TRIGGER report_cell_replies_gone BEFORE DELETE ON ticket "
            f"BEGIN {_ticket_replies(dialect, 'OLD', '-')}; END",
            f"CREATE TRIGGER report_cell_reply_insert AFTER INSERT ON thread_entry "
            f"BEGIN {_entry_change(dialect, 'NEW', 1)}; END",
            f"CREATE TRIGGER report_cell_reply_update AFTER UPDATE OF {', '.join(_ENTRY)} ON thread_entry "
            f"WHEN {entry_changed} BEGIN {_entry_change(dialect, 'OLD', -1)}; {_entry_change(dialect, 'NEW', 1)}; END",
            f"CREATE TRIGGER report_cell_reply_delete AFTER DELETE ON thread_entry "
            f"BEGIN {_entry_change(dialect, 'OLD', -1)}; END",
        )
    return (
        "CREATE FUNCTION report_cell_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF TG_OP <> 'INSERT' THEN {_insert(dialect, 'OLD', -1)}; END IF; "
        f"IF TG_OP <> 'DELETE' THEN {_insert(dialect, 'NEW', 1)}; END IF; "
        "RETURN NULL; END $$",
        "CREATE TRIGGER report_cell_insert_delete AFTER INSERT OR DELETE ON ticket "
        "FOR EACH ROW EXECUTE FUNCTION report_cell_change()",
        f"CREATE TRIGGER report_cell_update AFTER UPDATE OF {watched} ON ticket "
        f"FOR EACH ROW WHEN ({_changed('IS DISTINCT FROM')}) EXECUTE FUNCTION report_cell_change()",
        "CREATE FUNCTION report_cell_replies() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"{_ticket_replies(dialect, 'OLD', '-')}; "
        f"IF TG_OP = 'UPDATE' THEN {_ticket_replies(dialect, 'NEW', '')}; RETURN NULL; END IF; "
        "RETURN OLD; END $$",
        f"CREATE TRIGGER report_cell_replies_move AFTER UPDATE OF {', '.join(_MOVED)} ON ticket "
        f"FOR EACH ROW WHEN ({_moved('IS DISTINCT FROM')}) EXECUTE FUNCTION report_cell_replies()",
        "CREATE TRIGGER report_cell_replies_gone BEFORE DELETE ON ticket "
        "FOR EACH ROW EXECUTE FUNCTION report_cell_replies()",
        "CREATE FUNCTION report_cell_reply() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF TG_OP <> 'INSERT' THEN {_entry_change(dialect, 'OLD', -1)}; END IF; "
        f"IF TG_OP <> 'DELETE' THEN {_entry_change(dialect, 'NEW', 1)}; END IF; "
        "RETURN NULL; END $$",
        "CREATE TRIGGER report_cell_reply_insert_delete AFTER INSERT OR DELETE ON thread_entry "
        "FOR EACH ROW EXECUTE FUNCTION report_cell_reply()",
        f"CREATE TRIGGER report_cell_reply_update AFTER UPDATE OF {', '.join(_ENTRY)} ON thread_entry "
        f"FOR EACH ROW WHEN ({entry_changed.replace('IS NOT', 'IS DISTINCT FROM')}) "
        "EXECUTE FUNCTION report_cell_reply()",
    )


DROP_TRIGGERS = {
    "sqlite": tuple(f"DROP TRIGGER IF EXISTS report_cell_{name}" for name in (
        "insert", "update", "delete", "replies_move", "replies_gone", "reply_insert", "reply_update", "reply_delete")),
    "postgresql": ("DROP TRIGGER IF EXISTS report_cell_insert_delete ON ticket",
                   "DROP TRIGGER IF EXISTS report_cell_update ON ticket",
                   "DROP TRIGGER IF EXISTS report_cell_replies_move ON ticket",
                   "DROP TRIGGER IF EXISTS report_cell_replies_gone ON ticket",
                   "DROP TRIGGER IF EXISTS report_cell_reply_insert_delete ON thread_entry",
                   "DROP TRIGGER IF EXISTS report_cell_reply_update ON thread_entry",
                   "DROP FUNCTION IF EXISTS report_cell_change()", "DROP FUNCTION IF EXISTS report_cell_replies()",
                   "DROP FUNCTION IF EXISTS report_cell_reply()"),
}

# --- the time zone the cells count days in -----------------------------------------------------------

ZONE_FROM, ZONE_UNTIL = datetime(1970, 1, 1), datetime(2100, 1, 1)
_STORED = "_helpdesk_report_zone"


def stored_zone() -> str | None:
    """The time zone the cells count days in (None: never counted), read once per request."""
    found = g.get(_STORED)
    if found is None:
        found = db.session.scalar(select(ReportZone.zone).limit(1)) or ""
        setattr(g, _STORED, found)
    return found or None


def zone_rows(zone: ZoneInfo) -> list[dict]:
    return [{"starts": at, "minutes": minutes, "zone": zone.key} for at, minutes in offsets(zone, ZONE_FROM, ZONE_UNTIL)]


# Up to this many tickets, a new time zone counts the cells afresh at once (about a second).
REBUILD_AT_ONCE = 20000


def rebuild(zone: ZoneInfo) -> None:
    """Count every ticket's cells afresh, in this time zone, in the caller's transaction. Changes
    to tickets and their threads wait meanwhile (on PostgreSQL a lock; SQLite has one writer), so
    that none is counted in the old zone or twice."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(db.text("LOCK TABLE ticket, thread_entry IN SHARE MODE"))
    db.session.execute(delete(ReportCell))
    db.session.execute(delete(ReportZone))
    db.session.execute(insert(ReportZone), zone_rows(zone))
    for statement in fill_sql(db.engine.dialect.name):
        db.session.execute(db.text(statement))
    g.pop(_STORED, None)


def zone_changed(zone: ZoneInfo) -> bool:
    """The desk's time zone changed: count the cells afresh at once on a small desk (True);
    on a larger one, stop reading them (the reports read the tickets, as exactly) until
    `flask reports rebuild` counts them afresh (False)."""
    if (db.session.scalar(select(db.func.count()).select_from(Ticket)) or 0) <= REBUILD_AT_ONCE:
        rebuild(zone)
        return True
    db.session.execute(delete(ReportZone))
    g.pop(_STORED, None)
    return False


# A schema made from the models (create_all) gets the triggers too, once both tables exist.
ReportCell.__table__.add_is_dependent_on(Ticket.__table__)
ReportCell.__table__.add_is_dependent_on(ThreadEntry.__table__)
ReportCell.__table__.add_is_dependent_on(ReportZone.__table__)
for _dialect in ("sqlite", "postgresql"):
    for _statement in triggers(_dialect):
        event.listen(ReportCell.__table__, "after_create", DDL(_statement.replace("%", "%%")).execute_if(dialect=_dialect))
