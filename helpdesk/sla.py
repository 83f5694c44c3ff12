"""Business-time arithmetic for SLA plans: pure functions, no database, no request.

Every time stored by the desk is naive UTC. A business-hours plan opens on its business days
from `opens_at` to `closes_at` in its time zone, minus its holidays; its targets count only
those hours. The windows are computed in local wall time with zoneinfo and turned back into
UTC, so a day on which the clocks change still counts what actually elapsed. The walk goes
day by day (a target of 48 business hours visits about ten days), never minute by minute.

A 24x7 plan is plain clock arithmetic.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable, Iterator, Optional
from zoneinfo import ZoneInfo

# A walk that finds no open hour within this many days has a schedule that never opens.
MAX_DAYS = 366 * 40


def _digits(value: str) -> bool:
    """Plain ASCII digits only (str.isdigit() also takes '¹' or '٣')."""
    return value.isascii() and value.isdigit()


@dataclass(frozen=True)
class Schedule:
    """When a plan's clock runs. `always` is 24x7; otherwise the business-hours fields apply."""

    always: bool = True
    tz: ZoneInfo = ZoneInfo("UTC")
    days: frozenset[int] = frozenset(range(5))  # 0 = Monday
    opens: int = 9 * 60  # minutes after local midnight
    closes: int = 17 * 60  # after `opens`; past 24 h reaches into the next day
    holidays: frozenset[date] = frozenset()

    @property
    def ever_open(self) -> bool:
        return self.always or (bool(self.days) and self.closes > self.opens)


def parse_hhmm(value: str) -> int:
    """'09:30' -> 570 minutes; '24:00' is the end of the day. Raises ValueError otherwise."""
    hours, sep, minutes = (value or "").strip().partition(":")
    if not sep or not _digits(hours) or not _digits(minutes) or len(minutes) != 2:
        raise ValueError(f"Not a time of day (HH:MM): {value!r}")
    h, m = int(hours), int(minutes)
    if not (0 <= h <= 23 and 0 <= m <= 59) and (h, m) != (24, 0):
        raise ValueError(f"Not a time of day (HH:MM): {value!r}")
    return h * 60 + m


def parse_days(value: str) -> frozenset[int]:
    """'0,1,2,3,4' -> Monday to Friday."""
    days = set()
    for part in (value or "").split(","):
        part = part.strip()
        if part:
            if not _digits(part) or int(part) > 6:
                raise ValueError(f"Not a weekday number (0 = Monday .. 6 = Sunday): {part!r}")
            days.add(int(part))
    return frozenset(days)


def schedule_for(plan, default_tz: str = "UTC") -> Schedule:
    """The schedule of an SLAPlan row; a blank time zone means the desk's (`default_tz`)."""
    if plan is None or plan.schedule != "business":
        return Schedule()
    opens = parse_hhmm(plan.opens_at)
    closes = parse_hhmm(plan.closes_at)
    if closes <= opens:  # an overnight shift: closes the next morning
        closes += 24 * 60
    return Schedule(
        always=False,
        tz=ZoneInfo(plan.timezone or default_tz or "UTC"),
        days=parse_days(plan.business_days),
        opens=opens,
        closes=closes,
        holidays=frozenset(h.day for h in plan.holidays),
    )


# --- conversions ------------------------------------------------------------------------------


def to_utc(local_wall: datetime, tz: ZoneInfo) -> datetime:
    """A local wall time (naive) in `tz` -> naive UTC. A wall time skipped by a DST change is
    read with the offset before the change (zoneinfo's fold=0), i.e. just after the gap."""
    return local_wall.replace(tzinfo=tz).astimezone(timezone.utc).replace(tzinfo=None)


def local_date(instant: datetime, tz: ZoneInfo) -> date:
    """The date in `tz` at an instant (naive UTC)."""
    return instant.replace(tzinfo=timezone.utc).astimezone(tz).date()


def _windows(schedule: Schedule, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The open windows (naive UTC) that end after `start`, in order, day by day."""
    # The day before too: an overnight window opened yesterday may still be open.
    day = local_date(start, schedule.tz) - timedelta(days=1)
    opens, closes = timedelta(minutes=schedule.opens), timedelta(minutes=schedule.closes)
    for _ in range(MAX_DAYS):
        if day.weekday() in schedule.days and day not in schedule.holidays:
            midnight = datetime.combine(day, time())
            window_open = to_utc(midnight + opens, schedule.tz)
            window_close = to_utc(midnight + closes, schedule.tz)
            if window_close > start and window_close > window_open:
                yield window_open, window_close
        day += timedelta(days=1)
    raise ValueError("The schedule has no open hours in the next forty years.")


# --- the two operations -----------------------------------------------------------------------


def add_business_seconds(schedule: Schedule, start: datetime, seconds: float) -> datetime:
    """The instant at which `seconds` of the schedule's open time have passed since `start`.

    A start outside hours counts from the next opening. A target that runs out exactly at a
    closing time is due at that closing time, not at the next opening.
    """
    if schedule.always:
        return start + timedelta(seconds=seconds)
    if not schedule.ever_open:
        raise ValueError("The schedule has no business days or no open hours.")
    remaining = max(seconds, 0)
    for window_open, window_close in _windows(schedule, start):
        begin = max(window_open, start)
        available = (window_close - begin).total_seconds()
        if remaining <= available:
            return begin + timedelta(seconds=remaining)
        remaining -= available
    raise AssertionError("unreachable")  # _windows raises first


def business_seconds_between(schedule: Schedule, start: datetime, end: datetime) -> float:
    """Open time of the schedule from `start` to `end` (0 when end <= start)."""
    if end <= start:
        return 0.0
    if schedule.always:
        return (end - start).total_seconds()
    if not schedule.ever_open:
        return 0.0
    total = 0.0
    for window_open, window_close in _windows(schedule, start):
        if window_open >= end:
            break
        total += (min(window_close, end) - max(window_open, start)).total_seconds()
    return total


def is_open(schedule: Schedule, instant: datetime) -> bool:
    """Is the clock running at this instant?"""
    if schedule.always:
        return True
    for window_open, window_close in _windows(schedule, instant):
        return window_open <= instant < window_close
    return False


# --- an SLA target with pauses ----------------------------------------------------------------


def due_with_pauses(
    schedule: Schedule,
    start: datetime,
    seconds: float,
    pauses: Iterable[tuple[datetime, Optional[datetime]]],
) -> tuple[Optional[datetime], float]:
    """When a target of `seconds` falls due for a clock started at `start` and stopped during
    `pauses` ((from, to) pairs; to None = still paused). Returns (due, business seconds left).

    While paused, due is None and the seconds left are what the resume will add back. A
    target that ran out before a pause began stays due at that past instant: pausing an
    overdue ticket does not make it on time.
    """
    at = start
    remaining = float(seconds)
    for paused_from, paused_to in sorted(pauses, key=lambda p: p[0]):
        if paused_to is not None and paused_to <= at:
            continue
        paused_from = max(paused_from, at)
        used = business_seconds_between(schedule, at, paused_from)
        if used >= remaining:
            return add_business_seconds(schedule, at, remaining), 0.0
        remaining -= used
        if paused_to is None:
            return None, remaining
        at = paused_to
    return add_business_seconds(schedule, at, remaining), remaining


def offsets(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """Where the zone's offset changes between start and end (naive UTC), found day by day and
    then to the second."""
    def offset(instant: datetime) -> int:
        return int(instant.replace(tzinfo=timezone.utc).astimezone(zone).utcoffset().total_seconds() // 60)

    found = [(start, offset(start))]
    day = start
    while day < end:
        following = min(day + timedelta(days=1), end)
        if offset(following) != found[-1][1]:
            low, high = day, following  # offset(low) is the old one, offset(high) the new
            while (high - low) > timedelta(seconds=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if offset(middle) == found[-1][1] else (low, middle)
            found.append((high.replace(microsecond=0), offset(high)))
        day = following
    return found
