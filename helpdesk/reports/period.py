"""A report's period: whole days in the desk's time zone, from a preset (today, 7 or 30 days, this
or last month, this quarter) or a custom range, and the SQL that reads a stored time (naive UTC)
as the desk's local day, weekday and hour.

The local reading is exact across daylight-saving changes without a time-zone database in SQL:
the period is cut where the desk's UTC offset changes (a few cuts a year), and each stretch shifts
the stored time by its own offset (`local_time`). Days are grouped by day for short periods and by
week (from Monday) for long ones.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement
from sqlalchemy.types import DateTime

from .. import sla

PRESETS = {
    "today": "Today",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "month": "This month",
    "last_month": "Last month",
    "quarter": "This quarter",
    "custom": "Custom range",
}
DEFAULT = "30d"
MAX_DAYS = 3 * 366  # a longer report reads more than anyone can look at
EARLIEST = date(2000, 1, 1)
DAILY_UP_TO = 62  # days; longer periods are grouped by week


class PeriodError(ValueError):
    """A period the desk cannot report on; the message says why, for the person who asked."""


@dataclass(frozen=True)
class Period:
    preset: str
    first: date  # local dates, both included
    last: date
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        """The first instant (naive UTC)."""
        return to_utc(self.first, self.zone)

    @property
    def end(self) -> datetime:
        """The instant after the last day (naive UTC, excluded)."""
        return to_utc(self.last + timedelta(days=1), self.zone)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def weekly(self) -> bool:
        return self.days > DAILY_UP_TO

    @property
    def label(self) -> str:
        if self.first == self.last:
            return _day(self.first)
        return f"{_day(self.first)} – {_day(self.last)}"

    def buckets(self) -> list[date]:
        """The first day of each bar: every day, or every week's Monday (the first bar may start
        on a later weekday, the period's first day)."""
        if not self.weekly:
            return [self.first + timedelta(days=i) for i in range(self.days)]
        found, day = [self.first], self.first + timedelta(days=7 - self.first.weekday())
        while day <= self.last:
            found.append(day)
            day += timedelta(days=7)
        return found

    def bucket_of(self, day: date) -> date:
        if not self.weekly:
            return day
        return max(day - timedelta(days=day.weekday()), self.first)

    def bucket_label(self, first: date) -> str:
        if not self.weekly:
            return first.strftime("%d %b")
        return "wk " + first.strftime("%d %b")

    def bucket_end(self, first: date) -> date:
        """The last day of the bar that starts on `first`."""
        if not self.weekly:
            return first
        return min(first + timedelta(days=6 - first.weekday()), self.last)

    def args(self) -> dict:
        """The period as query-string values (what links must keep)."""
        if self.preset == "custom":
            return {"period": "custom", "from": self.first.isoformat(), "to": self.last.isoformat()}
        return {"period": self.preset}

    def offsets(self) -> list[tuple[datetime, int]]:
        """(from this instant, the desk's UTC offset in minutes) for each stretch of the period
        with one offset, in order; the first starts at the period's start."""
        return sla.offsets(self.zone, self.start, self.end)


def _day(day: date) -> str:
    return f"{day.day} {day.strftime('%b %Y')}"


def to_utc(day: date, zone: ZoneInfo) -> datetime:
    """The local midnight starting `day`, as naive UTC."""
    return sla.to_utc(datetime.combine(day, time()), zone)


def local_today(zone: ZoneInfo, now: datetime) -> date:
    return sla.local_date(now, zone)


def parse(args, zone: ZoneInfo, now: datetime) -> Period:
    """The period the query string asks for; PeriodError with a clear message if it cannot be."""
    preset = args.get("period") or DEFAULT
    today = local_today(zone, now)
    if preset not in PRESETS:
        raise PeriodError("That period is not one the reports offer; choose one from the list.")
    if preset == "today":
        return Period(preset, today, today, zone)
    if preset in ("7d", "30d"):
        return Period(preset, today - timedelta(days=int(preset[:-1]) - 1), today, zone)
    if preset == "month":
        return Period(preset, today.replace(day=1), today, zone)
    if preset == "last_month":
        last = today.replace(day=1) - timedelta(days=1)
        return Period(preset, last.replace(day=1), last, zone)
    if preset == "quarter":
        return Period(preset, date(today.year, 3 * ((today.month - 1) // 3) + 1, 1), today, zone)
    first, last = _date(args.get("from"), "start"), _date(args.get("to"), "end")
    if last < first:
        raise PeriodError("The range ends before it starts: pick an end date on or after the start date.")
    if first < EARLIEST or last > today + timedelta(days=366):
        raise PeriodError(f"Reports cover {EARLIEST.year} to next year; pick dates in between.")
    if (last - first).days + 1 > MAX_DAYS:
        raise PeriodError("A report covers at most three years; choose a shorter range.")
    return Period("custom", first, last, zone)


def _date(value, which: str) -> date:
    if not value:
        raise PeriodError(f"A custom range needs {'an' if which == 'end' else 'a'} {which} date.")
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise PeriodError(f"The {which} date is not a date (YYYY-MM-DD).") from None


# --- the stored time read in the desk's time zone, in SQL ----------------------------------------


class _shift(FunctionElement):
    """column + N minutes, as a timestamp."""

    type = DateTime()
    inherit_cache = True


@compiles(_shift, "sqlite")
def _shift_sqlite(element, compiler, **kw):
    column, minutes = list(element.clauses)
    return f"datetime({compiler.process(column, **kw)}, {compiler.process(minutes, **kw)} || ' minutes')"


@compiles(_shift, "postgresql")
def _shift_postgresql(element, compiler, **kw):
    column, minutes = list(element.clauses)
    return f"({compiler.process(column, **kw)} + make_interval(mins => {compiler.process(minutes, **kw)}))"


class local_day(FunctionElement):
    """The date part of a (shifted) timestamp: 'YYYY-MM-DD' on SQLite, a date on PostgreSQL."""

    inherit_cache = True


@compiles(local_day, "sqlite")
def _day_sqlite(element, compiler, **kw):
    return f"date({compiler.process(list(element.clauses)[0], **kw)})"


@compiles(local_day, "postgresql")
def _day_postgresql(element, compiler, **kw):
    return f"CAST({compiler.process(list(element.clauses)[0], **kw)} AS DATE)"


class weekday_hour(FunctionElement):
    """A (shifted) timestamp's weekday (0 = Sunday) * 100 + hour, as an integer."""

    inherit_cache = True


@compiles(weekday_hour, "sqlite")
def _weekday_hour_sqlite(element, compiler, **kw):
    value = compiler.process(list(element.clauses)[0], **kw)
    return f"(CAST(strftime('%w', {value}) AS INTEGER) * 100 + CAST(strftime('%H', {value}) AS INTEGER))"


@compiles(weekday_hour, "postgresql")
def _weekday_hour_postgresql(element, compiler, **kw):
    value = compiler.process(list(element.clauses)[0], **kw)
    return f"(CAST(EXTRACT(DOW FROM {value}) AS INTEGER) * 100 + CAST(EXTRACT(HOUR FROM {value}) AS INTEGER))"


def local_time(column, cuts: list[tuple[datetime, int]]) -> ColumnElement:
    """The stored UTC time in `column` as the desk's wall time, for times within the cuts' span."""
    if len(cuts) == 1:
        return _shift(column, cuts[0][1])
    whens = [(column < cuts[i + 1][0], _shift(column, minutes)) for i, (_, minutes) in enumerate(cuts[:-1])]
    return case(*whens, else_=_shift(column, cuts[-1][1]))


def as_date(value) -> date:
    """A local_day value as a date (SQLite gives text)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])

