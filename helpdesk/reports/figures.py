"""The dashboard's figures, counted in the database: from the report cells where they keep what
a figure needs (helpdesk.reports.cells), else by a GROUP BY over the tickets of one population
(helpdesk.reports.population), within the viewer's scope and filters; folded into tables here from
the few grouped rows either returns, never from the tickets themselves. Times are nearest-rank
percentiles (helpdesk.reports.ranks).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from flask import current_app
from sqlalchemy import case, func, select

from ..extensions import db
from ..models import (
    ACTIVE_STATUSES,
    SOURCE_LABELS,
    STATUS_LABELS,
    STATUSES,
    Agent,
    Department,
    HelpTopic,
    Priority,
    ReportCell,
    SLAPlan,
    Team,
    ThreadEntry,
    Ticket,
    TicketTally,
)
from ..tickets.deadlines import crossed_due_clause
from . import cells as kept
from . import period as periods
from . import population as pop
from . import ranks
from .population import NONE, Drill
from .scope import Filters, clause
from .table import Column, Table

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
BREACHES_SHOWN = 50
STEPPED = (" Over many tickets, times are read to a step: the minute under an hour, 5 minutes under 4 hours, "
           "15 minutes under a day, the hour under a week, 6 hours under 30 days, the day beyond.")
# The breakdowns of open tickets and of SLA compliance: (title, DIMENSIONS name, ticket column).
BREAKDOWNS = (("Priority", "by_priority", "priority_id"), ("Help topic", "by_topic", "topic_id"),
              ("Department", "by_department", "department_id"), ("Team", "by_team", "team_id"),
              ("Agent", "by_agent", "assignee_id"))
SLA_BREAKDOWNS = (("SLA plan", "by_plan", "sla_id"),) + BREAKDOWNS


@dataclass(frozen=True)
class Card:
    key: str
    label: str
    value: object
    kind: str = "count"
    href: str | None = None
    hint: str = ""


@dataclass
class Dashboard:
    period: periods.Period
    filters: Filters
    cards: list[Card] = field(default_factory=list)
    tables: dict[str, Table] = field(default_factory=dict)
    open_by: list[Table] = field(default_factory=list)
    sla_by: list[Table] = field(default_factory=list)

    def all_tables(self) -> list[Table]:
        return [*self.tables.values(), *self.open_by, *self.sla_by]

    def table(self, key: str) -> Table | None:
        return next((t for t in self.all_tables() if t.key == key), None)


def _names() -> dict[str, dict]:
    """id -> name of everything a breakdown may show (inactive ones too)."""
    def read(model):
        return dict(db.session.execute(select(model.id, model.name)).all())

    return {"priority_id": read(Priority), "topic_id": read(HelpTopic), "department_id": read(Department),
            "team_id": read(Team), "assignee_id": read(Agent), "sla_id": read(SLAPlan)}


_EMPTY_NAMES = {"priority_id": "No priority", "topic_id": "No help topic", "department_id": "No department",
                "team_id": "No team", "assignee_id": "Unassigned", "sla_id": "No SLA plan"}


def percent(part: int, whole: int) -> float | None:
    return None if not whole else round(100.0 * part / whole, 1)


class Report:
    """One viewer's figures for one period and set of filters, at one instant."""

    def __init__(self, viewer: Agent, period: periods.Period, filters: Filters, now: datetime,
                 link: Callable[[Drill], str], ticket_link: Callable[[str], str]):
        self.viewer, self.period, self.filters, self.now = viewer, period, filters, now
        self._link, self._ticket_link = link, ticket_link
        self.names = _names()
        self.cells = kept.Cells(viewer, period, filters)
        self.stepped = False  # a time was read from a histogram (to its step)

    # --- helpers ---------------------------------------------------------------------------------

    def where(self, *conditions) -> list:
        scope = clause(self.viewer)
        return [c for c in (scope, *self.filters.conditions(), *conditions) if c is not None]

    def population(self, kind: str, age: str | None = None):
        return pop.condition(kind, self.period.start, self.period.end, self.now, age)

    def drill(self, kind: str, **extra) -> str:
        return self._link(Drill(kind, self.period, self.filters, **extra))

    def count(self, kind: str) -> int:
        cut = self.cells.cut() if kind in kept.KINDS else None
        if cut:
            return sum(self.cells.counts(cut, kind).values())
        return db.session.scalar(select(func.count()).select_from(Ticket).where(*self.where(self.population(kind))))

    def name(self, column: str, value) -> str:
        if value is None:
            return _EMPTY_NAMES[column]
        return self.names[column].get(value, f"#{value}")

    def percentiles(self, value, kind: str, group=None, ps=((1, 2), (9, 10))) -> dict:
        """{group value: (p1, p2, ...)} of `value` over a population, each (a, b) the fraction a/b:
        exact, or from the cells to a step when an exact count would read more than
        HELPDESK_REPORT_EXACT_UP_TO tickets (however few the filters keep)."""
        if self.cells.scanned(kind) > current_app.config["HELPDESK_REPORT_EXACT_UP_TO"]:
            found = self.cells.histogram(kind, value, group.key if group is not None else None,
                                         lambda start, end: self.where(pop.condition(kind, start, end, self.now)))
            if found is not None:
                self.stepped = True
                return {k: ranks.stepped(buckets, ps) for k, buckets in found.items()}
        return ranks.exact(value, self.where(self.population(kind), value.is_not(None)), group, ps)

    # --- the figures -----------------------------------------------------------------------------

    def build(self) -> Dashboard:
        board = Dashboard(self.period, self.filters)
        open_rows = self._open_now()
        board.tables["volume"] = self._volume(open_rows)
        board.tables["ages"] = self._ages(open_rows)
        board.open_by = self._open_by(open_rows)
        board.sla_by = self._sla()
        board.tables["breaches"] = self._breaches()
        board.tables["times"] = self._times()
        board.tables["agents"] = self._agents(open_rows)
        board.tables["channels"] = self._channels()
        board.tables["heatmap"] = self._heatmap()
        board.cards = self._cards(board, open_rows)
        return board

    def _by_day(self, column, kind: str) -> dict:
        cut = self.cells.cut()
        if cut:
            found: dict = defaultdict(int)
            for (value,), n in self.cells.counts(cut, kind, ReportCell.day).items():
                found[self.period.bucket_of(periods.as_date(value))] += n
            return found
        day = periods.local_day(periods.local_time(column, self.period.offsets()))
        rows = db.session.execute(select(day, func.count()).where(*self.where(self.population(kind)))
                                  .group_by(day)).all()
        found: dict = defaultdict(int)
        for value, n in rows:
            found[self.period.bucket_of(periods.as_date(value))] += n
        return found

    def _volume(self, open_rows: list) -> Table:
        created = self._by_day(Ticket.created_at, "created")
        finished = self._by_day(Ticket.finished_at, "finished")
        # Open at the end: open now, less those created since, plus those finished since (a
        # reopened ticket counts as open from its creation until it is finished again). Both are
        # index ranges from the end of the period.
        end = min(self.period.end, self.now)
        created_since = db.session.scalar(select(func.count()).select_from(Ticket).where(
            *self.where(Ticket.status.in_(ACTIVE_STATUSES), Ticket.created_at >= end)))
        finished_since = db.session.scalar(select(func.count()).select_from(Ticket).where(
            *self.where(Ticket.finished_at >= end, Ticket.created_at < end)))
        backlog = int(sum(r["n"] for r in open_rows)) - created_since + finished_since
        buckets = self.period.buckets()
        open_at = {}
        for first in reversed(buckets):
            open_at[first] = backlog
            backlog = backlog - created[first] + finished[first]
        rows, links = [], []
        for first in buckets:
            rows.append((self.period.bucket_label(first), created[first], finished[first], open_at[first]))
            links.append((None, self.drill("created", day=first), self.drill("finished", day=first), None))
        return Table("volume", "Created and resolved" + (" per week" if self.period.weekly else " per day"),
                     (Column("bucket", "Week of" if self.period.weekly else "Day", "text"),
                      Column("created", "Created"), Column("resolved", "Resolved"),
                      Column("backlog", "Open at the end")),
                     tuple(rows), tuple(links),
                     note="Resolved counts tickets resolved or closed; a reopened ticket counts as open "
                          "until it is resolved again.")

    def _open_now(self) -> list:
        """Open tickets now, grouped by every column a breakdown shows: from the tally."""
        t = TicketTally
        columns = [t.status, t.priority_id, t.topic_id, t.department_id, t.team_id, t.assignee_id, t.is_overdue]
        conditions = [c for c in (clause(self.viewer, t), *self.filters.conditions(t),
                                  t.status.in_(ACTIVE_STATUSES)) if c is not None]
        query = select(*columns, func.sum(t.n)).where(*conditions).group_by(*columns).having(func.sum(t.n) != 0)
        names = ("status", "priority_id", "topic_id", "department_id", "team_id", "assignee_id", "is_overdue", "n")
        return [dict(zip(names, row)) for row in db.session.execute(query)]

    def _overdue(self, open_rows: list) -> int:
        """Flagged overdue (counted with the open tickets), and crossed a due time since the last
        check (an index range, nearly always empty): the Overdue queue's own count."""
        crossed = db.session.scalar(select(func.count()).select_from(Ticket).where(
            *self.where(crossed_due_clause(self.now))))
        return int(sum(r["n"] for r in open_rows if r["is_overdue"])) + crossed

    def _ages(self, open_rows: list) -> Table:
        """The last week's bands from the tickets opened since; the oldest is what remains."""
        t = Ticket
        recent = [key for key, _, _, until in pop.AGES if until is not None]
        bands = [case((self.population("aged", key), 1), else_=0) for key in recent]
        since = self.now - timedelta(days=max(b[3] for b in pop.AGES if b[3] is not None))
        row = db.session.execute(select(*[func.coalesce(func.sum(b), 0) for b in bands]).where(
            *self.where(t.status.in_(ACTIVE_STATUSES), t.created_at > since))).one()
        counts = [int(n) for n in row]
        counts.append(int(sum(r["n"] for r in open_rows)) - sum(counts))
        return Table("ages", "Open tickets by age", (Column("age", "Age", "text"), Column("open", "Open")),
                     tuple((label, counts[i]) for i, (key, label, *_) in enumerate(pop.AGES)),
                     tuple((None, self.drill("aged", age=key)) for key, *_ in pop.AGES))

    def _open_by(self, open_rows: list) -> list[Table]:
        tables = []
        by_status = defaultdict(int)
        for row in open_rows:
            by_status[row["status"]] += row["n"]
        statuses = [s for s in STATUSES if s in ACTIVE_STATUSES]
        tables.append(Table("open_by_status", "Open now by status", (Column("name", "Status", "text"), Column("open", "Open")),
                            tuple((STATUS_LABELS[s], int(by_status[s])) for s in statuses),
                            tuple((None, self.drill("open", dims={"status": s})) for s in statuses)))
        for title, dim, column in BREAKDOWNS:
            counts = defaultdict(int)
            for row in open_rows:
                counts[row[column]] += row["n"]
            ordered = sorted(((k, int(v)) for k, v in counts.items() if v), key=lambda kv: (-kv[1], self.name(column, kv[0])))
            tables.append(Table(f"open_{dim}", f"Open now by {title.lower()}",
                                (Column("name", title, "text"), Column("open", "Open")),
                                tuple((self.name(column, k), v) for k, v in ordered),
                                tuple((None, self.drill("open", dims={dim: NONE if k is None else k}))
                                      for k, _ in ordered)))
        return tables

    def _sla(self) -> list[Table]:
        """Targets met and breached, first response and resolution, by each breakdown."""
        columns = [Ticket.sla_id, Ticket.priority_id, Ticket.topic_id, Ticket.department_id, Ticket.team_id,
                   Ticket.assignee_id]
        parts = (("fr_met",), pop.BREACHES["fr_breached"], ("res_met",), pop.BREACHES["res_breached"])
        # column -> its value -> [fr met, fr breached, res met, res breached]
        totals: dict = {c.key: defaultdict(lambda: [0, 0, 0, 0]) for c in columns}
        cuts = {c.key: self.cells.cut(c.key) for c in columns}
        for i, kinds in enumerate(parts):
            for kind in kinds:
                # One read per cut that keeps some of the columns, by all of them; the tickets by the rest.
                cells = {k: c for k, c in cuts.items() if c} if kind in kept.KINDS else {}
                for cut in set(cells.values()):
                    keys = [k for k, c in cells.items() if c == cut]
                    for values, n in self.cells.counts(cut, kind, *[getattr(ReportCell, k) for k in keys]).items():
                        for key, value in zip(keys, values):
                            totals[key][value][i] += n
                rest = [c for c in columns if c.key not in cells]
                if not rest:
                    continue
                for row in db.session.execute(select(*rest, func.count()).where(
                        *self.where(self.population(kind))).group_by(*rest)):
                    for column, value in zip(rest, row):
                        totals[column.key][value][i] += int(row[-1])
        tables = []
        for title, dim, column in SLA_BREAKDOWNS:
            ordered = sorted(totals[column].items(), key=lambda kv: self.name(column, kv[0]))
            body, links = [], []
            for key, (fm, fb, rm, rb) in ordered:
                dims = {dim: NONE if key is None else key}
                body.append((self.name(column, key), fm, fb, percent(fm, fm + fb), rm, rb, percent(rm, rm + rb)))
                links.append((None, self.drill("fr_met", dims=dims), self.drill("fr_breached", dims=dims), None,
                              self.drill("res_met", dims=dims), self.drill("res_breached", dims=dims), None))
            tables.append(Table(f"sla_{dim}", f"SLA compliance by {title.lower()}", (
                Column("name", title, "text"), Column("fr_met", "1st response met"),
                Column("fr_breached", "1st response breached"), Column("fr_rate", "1st response in time", "percent"),
                Column("res_met", "Resolution met"), Column("res_breached", "Resolution breached"),
                Column("res_rate", "Resolved in time", "percent")), tuple(body), tuple(links)))
        return tables

    def _breaches(self) -> Table:
        t = Ticket
        found: dict[str, list] = {}  # number -> [created, subject, assignee, targets]
        for which, kind in (("First response", "fr_late"), ("First response", "fr_missed"),
                            ("Resolution", "res_late"), ("Resolution", "res_missed")):
            for number, subject, who, created in db.session.execute(
                    select(t.number, t.subject, t.assignee_id, t.created_at).where(*self.where(self.population(kind)))
                    .order_by(t.created_at.desc()).limit(BREACHES_SHOWN)):
                entry = found.setdefault(number, [created, subject, who, []])
                if which not in entry[3]:
                    entry[3].append(which)
        newest = sorted(found.items(), key=lambda kv: kv[1][0], reverse=True)[:BREACHES_SHOWN]
        body = tuple((number, subject, " and ".join(sorted(targets)), self.name("assignee_id", who))
                     for number, (_, subject, who, targets) in newest)
        return Table("breaches", "SLA breaches", (Column("number", "Ticket", "text"), Column("subject", "Subject", "text"),
                     Column("target", "Target missed", "text"), Column("agent", "Assignee", "text")), body,
                     tuple((self._ticket_link(r[0]), None, None, None) for r in body),
                     note=f"The newest {BREACHES_SHOWN} are listed; every breach is in the figures' links.")

    def _times(self) -> Table:
        """Median and 90th percentile: in the SLA plan's hours and on the wall clock."""
        measures = (("First response", "answered", Ticket.first_response_work_secs, Ticket.first_response_secs),
                    ("Resolution", "finished", Ticket.resolution_work_secs, Ticket.resolution_secs))
        body, links = [], []
        self.stepped = False
        for label, kind, work, wall in measures:
            n = self.count(kind)
            work_p = self.percentiles(work, kind).get(0, [None, None])
            wall_p = self.percentiles(wall, kind).get(0, [None, None])
            body.append((label, n, work_p[0], work_p[1], wall_p[0], wall_p[1]))
            links.append((None, self.drill(kind), None, None, None, None))
        return Table("times", "Response and resolution times", (
            Column("measure", "Measure", "text"), Column("tickets", "Tickets"),
            Column("work_median", "Median (SLA hours)", "duration"), Column("work_p90", "90th percentile (SLA hours)", "duration"),
            Column("wall_median", "Median (wall clock)", "duration"), Column("wall_p90", "90th percentile (wall clock)", "duration")),
            tuple(body), tuple(links),
            note="SLA hours count only the plan's business hours, without time awaiting the customer; "
                 "tickets without a plan count around the clock." + (STEPPED if self.stepped else ""))

    def _agents(self, open_rows: list) -> Table:
        t = Ticket
        open_now = defaultdict(int)
        for row in open_rows:
            open_now[row["assignee_id"]] += row["n"]

        def per_agent(kind):
            cut = self.cells.cut("assignee_id")
            if cut:  # read as the SLA table by team reads them
                found = self.cells.total_by(cut, kind, "assignee_id", ("team_id", "assignee_id"))
                return {k: n for k, n in found.items() if k is not None}
            return dict(db.session.execute(select(t.assignee_id, func.count()).where(
                *self.where(self.population(kind), t.assignee_id.is_not(None))).group_by(t.assignee_id)).all())

        created, finished, reopened = per_agent("created"), per_agent("finished"), per_agent("reopened")
        cut = self.cells.cut(among="r")
        if cut:
            replies = {k: n for (k,), n in self.cells.counts(cut, "replied", ReportCell.agent_id).items()}
        else:
            e = ThreadEntry
            query = select(e.agent_id, func.count()).where(
                e.created_at >= self.period.start, e.created_at < self.period.end, e.kind == "reply").group_by(e.agent_id)
            if self.where():  # only a scope or a filter needs the tickets (the index alone answers the rest)
                query = query.join(t, t.id == e.ticket_id).where(*self.where())
            replies = dict(db.session.execute(query).all())
        self.stepped = False
        first = self.percentiles(t.first_response_work_secs, "answered", group=t.assignee_id, ps=((1, 2),))
        ids = {k for k in (*open_now, *created, *finished, *replies, *first) if k is not None}
        if self.filters.assignee:
            ids &= {self.filters.assignee}
        ordered = sorted(ids, key=lambda k: self.name("assignee_id", k))
        body, links = [], []
        for key in ordered:
            dims = {"by_agent": key}
            body.append((self.name("assignee_id", key), int(open_now.get(key, 0)), created.get(key, 0),
                         replies.get(key, 0), finished.get(key, 0), reopened.get(key, 0), first.get(key, [None])[0]))
            links.append((None, self.drill("open", dims=dims), self.drill("created", dims=dims), None,
                          self.drill("finished", dims=dims), self.drill("reopened", dims=dims), None))
        return Table("agents", "Agents: workload and throughput", (
            Column("agent", "Agent", "text"), Column("open", "Open now"), Column("assigned", "Assigned (created in period)"),
            Column("replies", "Replies sent"), Column("resolved", "Resolved"), Column("reopened", "Reopened"),
            Column("first_response", "Median first response (SLA hours)", "duration")), tuple(body), tuple(links),
            note="Tickets count for the agent they are assigned to now; replies for the agent who sent them."
                 + (STEPPED if self.stepped else ""))

    def _channels(self) -> Table:
        cut = self.cells.cut("source")
        if cut:
            rows = {k: n for (k,), n in self.cells.counts(cut, "created", ReportCell.source).items()}
        else:
            rows = dict(db.session.execute(select(Ticket.source, func.count()).where(
                *self.where(self.population("created"))).group_by(Ticket.source)).all())
        total = sum(rows.values())
        ordered = sorted(rows.items(), key=lambda kv: -kv[1])
        return Table("channels", "Channel mix (tickets created)", (
            Column("channel", "Channel", "text"), Column("created", "Created"), Column("share", "Share", "percent")),
            tuple((SOURCE_LABELS.get(k, k), n, percent(n, total)) for k, n in ordered),
            tuple((None, self.drill("created", dims={"by_channel": k}), None) for k, _ in ordered))

    def _heatmap(self) -> Table:
        cut = self.cells.cut(among="h")
        if cut:
            counts: dict = defaultdict(int)
            for (day, hour), n in self.cells.counts(cut, "created", ReportCell.day, ReportCell.hour).items():
                counts[(periods.as_date(day).weekday() + 1) % 7 * 100 + hour] += n
        else:
            cell = periods.weekday_hour(periods.local_time(Ticket.created_at, self.period.offsets()))
            counts = dict(db.session.execute(select(cell, func.count()).where(
                *self.where(self.population("created"))).group_by(cell)).all())
        body, links, matrix, hrefs = [], [], [], []
        for i, day in enumerate(WEEKDAYS):
            sql_day = (i + 1) % 7  # SQL counts from Sunday
            values = [int(counts.get(sql_day * 100 + h, 0)) for h in range(24)]
            row_links = [self.drill("created", hour=sql_day * 100 + h) if values[h] else None for h in range(24)]
            matrix.append(values)
            hrefs.append(row_links)
            body.append((day, *values))
            links.append((None, *row_links))
        return Table("heatmap", "Busiest hours (tickets created)",
                     (Column("day", "Day", "text"), *[Column(f"h{h:02d}", f"{h:02d}") for h in range(24)]),
                     tuple(body), tuple(links), note="Hours in the desk's time zone.",
                     extra={"matrix": matrix, "links": hrefs})

    def _cards(self, board: Dashboard, open_rows: list) -> list[Card]:
        volume = board.tables["volume"].rows
        created = sum(r[1] for r in volume)
        finished = sum(r[2] for r in volume)
        open_now = sum(r["n"] for r in open_rows)
        unassigned = sum(r["n"] for r in open_rows if r["assignee_id"] is None)
        overdue = self._overdue(open_rows)
        reopened = self.count("reopened")
        plan = board.sla_by[0].rows
        fr_met, fr_breached = sum(r[1] for r in plan), sum(r[2] for r in plan)
        res_met, res_breached = sum(r[4] for r in plan), sum(r[5] for r in plan)
        times = board.tables["times"].rows
        return [
            Card("created", "Created", created, href=self.drill("created")),
            Card("resolved", "Resolved", finished, href=self.drill("finished")),
            Card("open", "Open now", int(open_now), href=self.drill("open")),
            Card("overdue", "Overdue now", overdue, href=self.drill("overdue")),
            Card("unassigned", "Unassigned now", int(unassigned), href=self.drill("unassigned")),
            Card("fr_rate", "First response in time", percent(fr_met, fr_met + fr_breached), "percent",
                 href=self.drill("fr_breached"), hint=f"{fr_breached} breached"),
            Card("res_rate", "Resolved in time", percent(res_met, res_met + res_breached), "percent",
                 href=self.drill("res_breached"), hint=f"{res_breached} breached"),
            Card("first_response", "Median first response", times[0][2], "duration", hint="in SLA hours"),
            Card("resolution", "Median resolution", times[1][2], "duration", hint="in SLA hours"),
            Card("reopen_rate", "Reopen rate", percent(reopened, finished), "percent", href=self.drill("reopened"),
                 hint=f"{reopened} of {finished} resolved"),
        ]


def build(viewer: Agent, period: periods.Period, filters: Filters, now: datetime,
          link: Callable[[Drill], str], ticket_link: Callable[[str], str]) -> Dashboard:
    return Report(viewer, period, filters, now, link, ticket_link).build()

