"""When each step of the demo's stories happens: a fixed script of office days, laid on the
calendar that ends with the last whole working day before now, in the desk's time zone.

A story starts either on an office day ("9d 10:20": nine working days before the last whole one,
at 10:20) or shortly before now ("35m ago": mail comes in at any hour). A step follows the one
before it: "+40m", "+2h" or "+1h10m" later, carried to the next working morning if that falls after office
hours, or "+1d 09:30": the next working day at 09:30. Offsets in minutes and hours vary a little,
from a fixed seed, so the desk looks the same on every seed without looking made by a metronome.

Pure functions: no database, no clock of their own. Times come back as naive UTC, as stored.
"""
from __future__ import annotations

import random
import re
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

SEED = 20260317
OPENS, CLOSES = time(8, 30), time(18, 0)  # an office day, for placing steps (not the SLA plans' hours)

_ON_DAY = re.compile(r"^(\d+)d (\d\d):(\d\d)$")
_AGO = re.compile(r"^(\d+)([mh]) ago$")
_LATER = re.compile(r"^\+(?:(\d+)h)?(?:(\d+)m)?$")
_NEXT_DAYS = re.compile(r"^\+(\d+)d (\d\d):(\d\d)$")


def _workday(day: date) -> bool:
    return day.weekday() < 5


def _workdays_from(day: date, n: int) -> date:
    """The n-th working day after (n > 0) or before (n < 0) `day`."""
    step = 1 if n > 0 else -1
    for _ in range(abs(n)):
        day += timedelta(days=step)
        while not _workday(day):
            day += timedelta(days=step)
    return day


def last_whole_workday(local_now: datetime) -> date:
    """The last working day whose office hours are over by `local_now`."""
    day = local_now.date()
    if not (_workday(day) and local_now.time() >= CLOSES):
        day -= timedelta(days=1)
    while not _workday(day):
        day -= timedelta(days=1)
    return day


class Placer:
    """Turns a story's times into instants, from `now` (naive UTC) in the time zone `tz`."""

    def __init__(self, now: datetime, tz: ZoneInfo):
        self.now = now
        self.tz = tz
        self.last_day = last_whole_workday(self._local(now))
        self.rng = random.Random(SEED)

    def _local(self, instant: datetime) -> datetime:
        return instant.replace(tzinfo=timezone.utc).astimezone(self.tz)

    def _utc(self, day: date, at: time) -> datetime:
        return datetime.combine(day, at, tzinfo=self.tz).astimezone(timezone.utc).replace(tzinfo=None)

    def start(self, spec: str) -> datetime:
        if m := _ON_DAY.match(spec):
            days, hh, mm = (int(g) for g in m.groups())
            return self._utc(_workdays_from(self.last_day, -days), time(hh, mm))
        if m := _AGO.match(spec):
            amount, unit = int(m.group(1)), m.group(2)
            return self.now - timedelta(minutes=amount * (60 if unit == "h" else 1))
        raise ValueError(f"not a start time: {spec!r} (e.g. '9d 10:20' or '35m ago')")

    def after(self, previous: datetime, spec: str) -> datetime:
        if (m := _LATER.match(spec)) and spec != "+":
            minutes = int(m.group(1) or 0) * 60 + int(m.group(2) or 0)
            # Drawn for every such step, so each draws the same number whatever the day of the week.
            jitter = self.rng.uniform(-0.2, 0.2)
            moment = previous + timedelta(minutes=max(1, round(minutes * (1 + jitter))))
            local = self._local(moment)
            if not _workday(local.date()) or not OPENS <= local.time() <= CLOSES:
                day = local.date() if local.time() < OPENS and _workday(local.date()) else _workdays_from(local.date(), 1)
                moment = self._utc(day, time(9, 0)) + timedelta(minutes=moment.minute % 30)
            return moment
        if m := _NEXT_DAYS.match(spec):
            days, hh, mm = (int(g) for g in m.groups())
            return self._utc(_workdays_from(self._local(previous).date(), days), time(hh, mm))
        raise ValueError(f"not a step time: {spec!r} (e.g. '+40m', '+2h' or '+1d 09:30')")


def timeline(stories, now: datetime, tz: ZoneInfo) -> list[tuple[datetime, int, int]]:
    """(instant, story index, step index) of every opening (step -1) and step, in the order they
    happen. Raises ValueError if a story is out of order or reaches past `now`: a script error."""
    placer = Placer(now, tz)
    plan = []
    for i, story in enumerate(stories):
        moment = placer.start(story.start)
        plan.append((moment, i, -1))
        for j, step in enumerate(story.steps):
            later = placer.after(moment, step.when)
            if later <= moment:
                raise ValueError(f"demo story {story.subject!r}: step {j} ({step.when}) is not after the one before")
            moment = later
            plan.append((moment, i, j))
        if moment >= now - timedelta(minutes=1):
            raise ValueError(f"demo story {story.subject!r} reaches past now ({moment:%Y-%m-%d %H:%M} UTC)")
    return sorted(plan)
