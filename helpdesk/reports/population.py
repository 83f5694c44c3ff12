"""The tickets behind a figure: one SQL condition per kind of figure and per breakdown, used both to
count the figure and to list its tickets on the queue page (the drill-down), so the two can never
disagree.

A drill-down link carries the period, the filters, the figure's kind and its breakdown values
(`Drill.args`); `Drill.parse` reads them back and refuses anything it did not make.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, or_, true

from ..models import ACTIVE_STATUSES, STATUSES, Ticket
from ..text import is_number
from ..tickets.deadlines import overdue_clause
from . import period as periods
from .scope import Choices, FilterError, Filters

# Open tickets by age, in days: (key, label, from, to); to None = no upper bound.
AGES = (("0-1", "Under 1 day", 0, 1), ("1-3", "1–3 days", 1, 3), ("3-7", "3–7 days", 3, 7),
        ("7+", "Over 7 days", 7, None))

# What a figure counts, in words (the queue page's banner says it).
KINDS = {
    "created": "created",
    "finished": "resolved or closed",
    "answered": "first answered",
    "fr_met": "answered within the first-response target",
    "fr_breached": "past the first-response target",
    "res_met": "resolved within the resolution target",
    "res_breached": "past the resolution target",
    "reopened": "resolved after a reopening",
    "open": "open now",
    "overdue": "overdue now",
    "unassigned": "unassigned now",
    "aged": "open now, by age",
}
NOW_KINDS = ("open", "overdue", "unassigned", "aged")  # about now, whatever the period
# A breach is one of two kinds, each read on an index of its own (counted apart, listed together).
BREACHES = {"fr_breached": ("fr_late", "fr_missed"), "res_breached": ("res_late", "res_missed")}

# Breakdowns a figure may be split by: the query-string name and the ticket's column.
DIMENSIONS = {
    "status": "status",
    "by_priority": "priority_id",
    "by_topic": "topic_id",
    "by_department": "department_id",
    "by_team": "team_id",
    "by_agent": "assignee_id",
    "by_plan": "sla_id",
    "by_channel": "source",
}
NONE = "none"  # a breakdown value for "no team", "unassigned", "no help topic"...


def _in(column, start: datetime, end: datetime):
    return and_(column >= start, column < end)


def condition(kind: str, start: datetime, end: datetime, now: datetime, age: str | None = None):
    """The tickets a figure of this kind counts for the period [start, end)."""
    t = Ticket
    until = min(end, now)
    if kind == "created":
        return _in(t.created_at, start, end)
    if kind == "finished":
        return _in(t.finished_at, start, end)
    if kind == "answered":
        return _in(t.first_responded_at, start, end)
    if kind == "fr_met":
        return and_(_in(t.first_responded_at, start, end), t.first_response_breached.is_(False))
    if kind == "fr_breached":  # answered late in the period, or left unanswered past a target due in it
        return or_(*(condition(part, start, end, now) for part in BREACHES["fr_breached"]))
    if kind == "fr_late":
        return and_(_in(t.first_responded_at, start, end), t.first_response_breached.is_(True))
    if kind == "fr_missed":
        return and_(t.first_responded_at.is_(None), _in(t.first_response_due_at, start, until),
                    or_(t.finished_at.is_(None), t.finished_at > t.first_response_due_at))
    if kind == "res_met":
        return and_(_in(t.finished_at, start, end), t.sla_id.is_not(None), t.resolution_breached.is_(False))
    if kind == "res_breached":  # finished late in the period, or still open past a target due in it
        return or_(*(condition(part, start, end, now) for part in BREACHES["res_breached"]))
    if kind == "res_late":
        return and_(_in(t.finished_at, start, end), t.resolution_breached.is_(True))
    if kind == "res_missed":
        return and_(t.status.in_(ACTIVE_STATUSES), _in(t.due_at, start, until))  # on (status, due_at)
    if kind == "reopened":
        return and_(_in(t.finished_at, start, end), t.reopen_count > 0)
    if kind == "open":
        return t.status.in_(ACTIVE_STATUSES)
    if kind == "overdue":
        return overdue_clause(now)
    if kind == "unassigned":
        return and_(t.status.in_(ACTIVE_STATUSES), t.assignee_id.is_(None))
    if kind == "aged":
        band = next(b for b in AGES if b[0] == age)
        newer = now - timedelta(days=band[2])
        older = now - timedelta(days=band[3]) if band[3] is not None else None
        return and_(t.status.in_(ACTIVE_STATUSES), t.created_at <= newer,
                    true() if older is None else t.created_at > older)
    raise KeyError(kind)


def dimension(name: str, value) -> object:
    """A breakdown value as a condition on tickets."""
    column = getattr(Ticket, DIMENSIONS[name])
    if value == NONE:
        return column.is_(None)
    return column == value


@dataclass(frozen=True)
class Drill:
    """A figure's tickets: its kind, period, filters and breakdown values."""

    kind: str
    period: periods.Period
    filters: Filters
    age: str | None = None
    day: date | None = None  # one bar of the volume chart: from this day to the bar's end
    hour: int | None = None  # one cell of the heat map: weekday (0 = Sunday) * 100 + hour
    dims: dict = field(default_factory=dict)  # DIMENSIONS name -> value (an id, a key or NONE)

    def args(self) -> dict:
        values = {"drill": self.kind, **self.period.args(), **self.filters.args(), **self.dims}
        if self.age:
            values["age"] = self.age
        if self.day:
            values["day"] = self.day.isoformat()
        if self.hour is not None:
            values["hour"] = self.hour
        return values

    def conditions(self, now: datetime) -> list:
        start, end = self.period.start, self.period.end
        if self.day is not None:
            start = max(start, periods.to_utc(self.day, self.period.zone))
            end = min(end, periods.to_utc(self.period.bucket_end(self.day) + timedelta(days=1), self.period.zone))
        found = [condition(self.kind, start, end, now, self.age), *self.filters.conditions()]
        if self.hour is not None:
            found.append(periods.weekday_hour(periods.local_time(Ticket.created_at, self.period.offsets()))
                         == self.hour)
        found.extend(dimension(name, value) for name, value in self.dims.items())
        return found

    @property
    def label(self) -> str:
        """What the tickets are, in words, e.g. "Tickets created, 1 Nov 2026 – 30 Nov 2026"."""
        what = KINDS[self.kind]
        if self.kind == "aged":
            what = "open now for " + next(b[1] for b in AGES if b[0] == self.age).lower()
        if self.kind in NOW_KINDS:
            return f"Tickets {what}"
        when = self.period.label
        if self.day is not None:
            last = self.period.bucket_end(self.day)
            when = periods.Period("custom", self.day, last, self.period.zone).label
        if self.hour is not None:
            day_name = ("Sundays", "Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays")
            when += f", {day_name[self.hour // 100]} {self.hour % 100:02d}:00–{self.hour % 100:02d}:59"
        return f"Tickets {what}, {when}"

    @classmethod
    def parse(cls, args, zone, now: datetime, offered: Choices) -> "Drill":
        """The drill-down the query string asks for; PeriodError or FilterError if it cannot be."""
        kind = args.get("drill", "")
        if kind not in KINDS:
            raise FilterError("That figure is not one the reports show.")
        period = periods.parse(args, zone, now)
        filters = Filters.parse(args, offered)
        age = args.get("age") or None
        if kind == "aged" and age not in {b[0] for b in AGES}:
            raise FilterError("That age band is not one the reports show.")
        day = None
        if args.get("day"):
            try:
                day = date.fromisoformat(args["day"])
            except ValueError:
                raise FilterError("The day is not a date (YYYY-MM-DD).") from None
            if not period.first <= day <= period.last:
                raise FilterError("That day is outside the report's period.")
        hour = args.get("hour")
        if hour is not None:
            if not is_number(hour) or int(hour) // 100 > 6 or int(hour) % 100 > 23:
                raise FilterError("That hour is not one of the week's.")
            hour = int(hour)
        dims = {}
        for name in DIMENSIONS:
            value = args.get(name)
            if value is None:
                continue
            if name == "status":
                if value not in STATUSES:
                    raise FilterError("There is no such status.")
            elif name == "by_channel":
                if value not in {c.key for c in offered.channels}:
                    raise FilterError("There is no such channel.")
            elif value != NONE:
                if not is_number(value):
                    raise FilterError("A breakdown value was not understood.")
                value = int(value)
            dims[name] = value
        return cls(kind, period, filters, age, day, hour, dims)

