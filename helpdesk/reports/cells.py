"""Reading, folding and rebuilding the report cells (helpdesk.models.report_cell).

A figure reads the cells when one cut keeps every column its viewer's scope, its filters and its
breakdown need, and the cells count days in the desk's current time zone; otherwise it reads the
tickets, as exactly. The two always agree: tests build every dashboard both ways.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Callable
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import bindparam, func, literal, literal_column, select
from sqlalchemy.exc import OperationalError

from ..extensions import db
from ..models import Agent, ReportCell, Ticket
from ..models.report_cell import (
    CUTS,
    FIELDS,
    MONTHLY,
    bucket_floor,
    bucket_sql,
    stored_zone,
    zone_changed,
)
from . import period as periods
from .scope import Filters, clause

log = logging.getLogger(__package__)

# What each kind of figure counts, as an event and the flags its cells carry.
KINDS = {
    "created": ("created", {}), "finished": ("finished", {}), "answered": ("answered", {}),
    "fr_met": ("answered", {"breached": False}), "fr_late": ("answered", {"breached": True}),
    "res_met": ("finished", {"planned": True, "breached": False}), "res_late": ("finished", {"breached": True}),
    "reopened": ("finished", {"reopened": True}), "replied": ("replied", {}),
}
# The histogram behind a measured time: (kind of population, value column) -> event.
HISTOGRAMS = {("answered", "first_response_work_secs"): "fr_work", ("answered", "first_response_secs"): "fr_wall",
              ("finished", "resolution_work_secs"): "res_work", ("finished", "resolution_secs"): "res_wall"}
HISTOGRAM_CUTS = {"fr_work": "tdpg", "fr_wall": "tdp", "res_work": "tdp", "res_wall": "tdp"}  # daily, or g
MONTHS_OF = {"t": "T", "d": "D", "p": "P", "g": "g", "a": "A", "b": "B"}
EVENT_FLAGS = {"created": (), "answered": ("breached",), "finished": ("breached", "planned", "reopened"),
               "replied": ()}
FILTER_COLUMNS = {"department": "department_id", "topic": "topic_id", "priority": "priority_id",
                  "channel": "source", "team": "team_id", "assignee": "assignee_id"}


def scope_columns(viewer: Agent) -> set[str]:
    if viewer.is_admin:
        return set()
    if viewer.is_manager:
        return {"department_id"}
    return {"department_id", "team_id", "assignee_id"}


class Cells:
    """The cells one report may read: its viewer's scope and filters, its period's days."""

    def __init__(self, viewer: Agent, period: periods.Period, filters: Filters):
        self.viewer, self.period, self.filters = viewer, period, filters
        self.on = current_app.config.get("HELPDESK_REPORT_CELLS", True) and stored_zone() == period.zone.key
        self.needed = scope_columns(viewer) | {FILTER_COLUMNS[k] for k in filters.args()}
        self._scanned: dict = {}
        self._rows: dict = {}

    def scanned(self, kind: str) -> int:
        """How many tickets of the whole desk an exact count of a kind in the period reads (an
        index range, whatever the scope and filters keep of it); 0 with the cells off."""
        if not self.on:
            return 0
        if kind not in self._scanned:
            event, _ = KINDS[kind]
            c = ReportCell
            self._scanned[kind] = int(db.session.scalar(select(func.coalesce(func.sum(c.n), 0)).where(
                c.event == event, c.cut == "a", c.day >= self.period.first, c.day <= self.period.last)))
        return self._scanned[kind]

    def cut(self, *columns: str, among: str = "ab") -> str | None:
        """The first cut keeping every column needed, or None (read the tickets)."""
        if not self.on:
            return None
        wanted = self.needed | set(columns)
        return next((c for c in among if wanted <= set(CUTS[c])), None)

    def _where(self, event: str, cut: str, first: date | None = None, last: date | None = None) -> list:
        c = ReportCell
        found = [c.event == event, c.cut == cut, c.day >= (first or self.period.first),
                 c.day <= (last or self.period.last)]
        scope = clause(self.viewer, c)
        if scope is not None:
            found.append(scope)
        return found + self.filters.conditions(c)

    def counts(self, cut: str, kind: str, *groups) -> dict:
        """{group values (a tuple): n} of a kind of figure, grouped by cell columns. The cells of
        an event are read once per report for each grouping, with the event's flags, and each
        kind takes its own from them (met and breached targets come from one read)."""
        event, flags = KINDS[kind]
        names = [g.key for g in groups]
        rows = self._read(cut, event, tuple(names))
        checks = [(len(names) + EVENT_FLAGS[event].index(k), v) for k, v in flags.items()]
        found: dict = defaultdict(int)
        for row in rows:
            if all(row[i] is v or (row[i] is not None and row[i] == v) for i, v in checks):
                found[row[:len(names)]] += row[-1]
        return {k: n for k, n in found.items() if n}

    def total_by(self, cut: str, kind: str, column: str, read_by: tuple) -> dict:
        """{value of one column: n}, from the cells read grouped by `read_by` (which holds it), so
        that figures grouping a little differently share one read."""
        found: dict = defaultdict(int)
        for values, n in self.counts(cut, kind, *[getattr(ReportCell, k) for k in read_by]).items():
            found[values[read_by.index(column)]] += n
        return dict(found)

    def _read(self, cut: str, event: str, names: tuple) -> list:
        """The cells of an event grouped by `names` and the event's flags: the months the period
        holds whole by month, the days around them by day (all by day when grouped by day)."""
        key = (cut, event, names)
        if key not in self._rows:
            c = ReportCell
            columns = [getattr(c, k) for k in (*names, *EVENT_FLAGS[event])]
            total = func.sum(c.n)
            parts, _ = self._spans(cut, by_month="day" not in names and "hour" not in names)
            found: dict = defaultdict(int)
            for read_cut, first, last in parts:
                query = select(*columns, total).where(*self._where(event, read_cut, first, last))
                for row in db.session.execute(query.group_by(*columns) if columns else query):
                    found[tuple(row[:-1])] += int(row[-1] or 0)
            self._rows[key] = [(*k, n) for k, n in found.items() if n]
        return self._rows[key]

    def histogram(self, kind: str, value, group: str | None, tickets: Callable[[datetime, datetime], list]) -> dict | None:
        """{group value: [(bucket floor in seconds, n), ...] in order} of a measured time, or None
        when no cut keeps what is needed. The months the period holds whole are read by month, the
        days around them by day, or from the tickets (`tickets(start, end)`: the conditions for the
        population's tickets between two instants) for a cut kept only by month."""
        event = HISTOGRAMS.get((kind, value.key))
        if event is None:
            return None
        cut = self.cut(*([group] if group else []), among=HISTOGRAM_CUTS[event])
        if cut is None:
            return None
        c = ReportCell
        key = getattr(c, group) if group else literal(0)
        total = func.sum(c.n)
        found: dict = defaultdict(lambda: defaultdict(int))

        parts, edges = self._spans(cut)
        for read_cut, first, last in parts:
            rows = db.session.execute(select(key, c.bucket, total).where(*self._where(event, read_cut, first, last))
                                      .group_by(key, c.bucket).having(total != 0))
            for k, b, n in rows:
                found[k][b] += int(n)
        t = Ticket
        ticket_key = getattr(t, group) if group else literal(0)
        bucket = literal_column(bucket_sql(f"ticket.{value.key}"))
        for start, end in self._instants(edges):
            rows = db.session.execute(select(ticket_key, bucket, func.count()).where(
                *tickets(start, end), value.is_not(None)).group_by(ticket_key, bucket))
            for k, b, n in rows:
                found[k][b] += int(n)
        return {k: [(bucket_floor(b), n) for b, n in sorted(buckets.items()) if n]
                for k, buckets in found.items() if any(buckets.values())}

    def _spans(self, cut: str, by_month: bool = True) -> tuple[list, list]:
        """([(cut to read, first day, last day), ...], [(first, last) days left for the tickets]):
        the months the period holds whole from the cut's monthly twin, the days around them from
        the cut itself, or from the tickets when the cut is kept only by month."""
        if not by_month or cut not in MONTHS_OF:
            return [(cut, self.period.first, self.period.last)], []
        first, last, edges = self._months()
        parts = [] if first is None else [(MONTHS_OF[cut], first, last)]
        if cut in MONTHLY:
            return parts, edges
        return parts + [(cut, a, b) for a, b in edges], []

    def _months(self) -> tuple:
        """(first month, last month, [(first, last) days outside them]) of the period: the months
        it holds whole, as their first days (None, None when it holds none)."""
        period = self.period
        first = period.first if period.first.day == 1 else (period.first.replace(day=28) + timedelta(days=4)).replace(day=1)
        end = (period.last + timedelta(days=1)).replace(day=1)  # the first day after the last whole month
        if first >= end:
            return None, None, [(period.first, period.last)]
        last = (end - timedelta(days=1)).replace(day=1)
        edges = [(period.first, first - timedelta(days=1)), (end, period.last)]
        return first, last, [(a, b) for a, b in edges if a <= b]

    def _instants(self, days: list) -> list:
        """Days (first, last) as instants [start, end)."""
        zone = self.period.zone
        return [(periods.to_utc(a, zone), periods.to_utc(b + timedelta(days=1), zone)) for a, b in days]


# --- keeping the cells ----------------------------------------------------------------------------------


_FIELDS = ", ".join(FIELDS)


def fold() -> bool:
    """Fold the rows of each event, cut and day that changed into one row per cell, in a
    transaction of its own (see helpdesk.tickets.tally.compact, which folds the same way), each
    read on the (event, cut, day) index. False if the database was busy."""
    try:
        with db.engine.begin() as conn:
            postgresql = conn.dialect.name == "postgresql"
            last = conn.scalar(select(func.max(ReportCell.id)))
            c = ReportCell
            touched, waiting = defaultdict(list), defaultdict(int)
            if postgresql:
                changed = conn.execute(select(c.event, c.cut, c.day, func.count()).where(
                    ~c.folded, c.id <= (last or 0)).group_by(c.event, c.cut, c.day))  # the partial index's words
            else:  # SQLite keeps no statistics of a partial index that was empty, and would read them all
                changed = conn.execute(db.text(
                    "SELECT event, cut, day, count(*) FROM report_cell INDEXED BY ix_report_cell_unfolded "
                    "WHERE folded = 0 AND id <= :last GROUP BY event, cut, day"), {"last": last or 0})
            for event, cut, day, n in changed:
                touched[(event, cut)].append(day)
                waiting[(event, cut)] += n
            for (event, cut), days in touched.items():
                if cut in MONTHLY and waiting[(event, cut)] < FOLD_MONTHS_AFTER:
                    continue  # a month holds many cells: its change rows wait until they are many

                for part in range(0, len(days), 500):
                    values = {"event": event, "cut": cut, "days": days[part:part + 500], "last": last}
                    where = "id <= :last AND event = :event AND cut = :cut AND day IN :days"
                    if postgresql:  # one statement: a change committed meanwhile is folded or left, never lost
                        conn.execute(db.text(
                            f"WITH gone AS (DELETE FROM report_cell WHERE {where} RETURNING {_FIELDS}, n) "
                            f"INSERT INTO report_cell ({_FIELDS}, n, folded) SELECT {_FIELDS}, sum(n), true "
                            f"FROM gone GROUP BY {_FIELDS} HAVING sum(n) <> 0").bindparams(_DAYS), values)
                    else:
                        conn.execute(db.text(
                            f"INSERT INTO report_cell ({_FIELDS}, n, folded) SELECT {_FIELDS}, sum(n), 1 "
                            f"FROM report_cell WHERE {where} GROUP BY {_FIELDS} HAVING sum(n) <> 0").bindparams(_DAYS),
                            values)
                        conn.execute(db.text(f"DELETE FROM report_cell WHERE {where}").bindparams(_DAYS), values)
    except OperationalError as exc:  # busy: the figures stay exact, the next round folds
        log.info("report cells not folded this time: %s", exc.orig)
        return False
    return True


_DAYS = bindparam("days", expanding=True)
# A monthly cut's change rows are folded once there are this many (a month's cells are many, and
# every change today touches this month's): reading them unfolded meanwhile costs little.
FOLD_MONTHS_AFTER = 20000


def tidy(zone: ZoneInfo) -> None:
    """What the overdue check does each round: fold the cells; or, if they do not count days in
    the desk's time zone (it changed by configuration, or on a large desk), count them afresh
    as a new time zone would be (at once on a small desk), and otherwise say once that
    `flask reports rebuild` is wanted."""
    global _told
    if stored_zone() == zone.key:
        fold()
        return
    counted = zone_changed(zone)
    db.session.commit()
    if counted:
        log.info("report cells counted afresh in the time zone %s", zone.key)
    elif not _told:
        _told = True
        log.warning("the reports read the tickets (slower) until their cells are counted afresh in the time "
                    "zone %s: run `flask --app app reports rebuild` at a quiet moment", zone.key)


_told = False
