"""Time for the reports seed (bench/seed_reports.py): when tickets arrive, and how much of a
schedule's open time lies between two instants.

Times are float seconds since 1970 (naive UTC, as the desk stores them). A Clock lists a
business-hours schedule's open windows once, with helpdesk.sla's own walk, and then answers by
bisection, so a million tickets cost a million bisections rather than a million day-by-day walks.
"""
from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from helpdesk import sla

EPOCH = datetime(1970, 1, 1)
HOUR = 3600.0
DAY = 86400.0

# Tickets per hour of a working day, local time: a morning peak, lunch, an afternoon, quiet nights.
WORKDAY = (0.08, 0.05, 0.04, 0.04, 0.05, 0.10, 0.25, 0.60, 1.30, 1.90, 2.00, 1.90,
           1.40, 1.70, 1.80, 1.70, 1.40, 0.90, 0.55, 0.45, 0.40, 0.30, 0.20, 0.12)
# Monday is the busiest day (the weekend's backlog), Friday afternoon the quietest working one.
WEEKDAY = (1.15, 1.05, 1.0, 1.0, 0.85, 0.16, 0.12)


def seconds(instant: datetime) -> float:
    return (instant - EPOCH).total_seconds()


def instant(secs: float) -> datetime:
    return EPOCH + timedelta(seconds=secs)


class Clock:
    """Cumulated open seconds of a schedule from a fixed origin (`at`), and back (`when`)."""

    def __init__(self, schedule: sla.Schedule, start: float, end: float):
        self.always = schedule.always
        self.opens: list[float] = []
        self.closes: list[float] = []
        self.before: list[float] = []  # open seconds before each window
        if self.always:
            return
        total = 0.0
        for window_open, window_close in sla._windows(schedule, instant(start)):
            begin, finish = seconds(window_open), seconds(window_close)
            if begin >= end:
                break
            self.opens.append(begin)
            self.closes.append(finish)
            self.before.append(total)
            total += finish - begin

    def at(self, t: float) -> float:
        if self.always:
            return t
        i = bisect_right(self.opens, t) - 1
        if i < 0:
            return 0.0
        return self.before[i] + min(t, self.closes[i]) - self.opens[i]

    def when(self, x: float) -> float:
        """The instant the cumulated open time reaches x; a target that runs out at a closing
        time falls due then, not at the next opening."""
        if self.always:
            return x
        i = max(bisect_left(self.before, x) - 1, 0)
        return self.opens[i] + (x - self.before[i])

    def add(self, t: float, secs: float) -> float:
        return self.when(self.at(t) + secs)

    def between(self, a: float, b: float) -> float:
        return max(self.at(b) - self.at(a), 0.0)

    def is_open(self, t: float) -> bool:
        if self.always:
            return True
        i = bisect_right(self.opens, t) - 1
        return i >= 0 and t < self.closes[i]


def staffed(tz: ZoneInfo) -> sla.Schedule:
    """When agents are at their desks: Monday to Friday, 08:00 to 18:00 local time."""
    return sla.Schedule(always=False, tz=tz, days=frozenset(range(5)), opens=8 * 60, closes=18 * 60)


def _season(local: datetime) -> float:
    if (local.month == 12 and local.day >= 24) or (local.month == 1 and local.day == 1):
        return 0.35
    if local.month in (7, 8):
        return 0.85
    return 1.0


def _rate(local: datetime, progress: float) -> float:
    """Relative ticket rate of an hour: the hour of the day, the day of the week, the season,
    and a desk that grows by half over the span."""
    weekday = local.weekday()
    hourly = WORKDAY[local.hour] if weekday < 5 else 0.25 + math.sqrt(WORKDAY[local.hour])
    return hourly * WEEKDAY[weekday] * _season(local) * (0.8 + 0.4 * progress)


def arrivals(count: int, start: float, end: float, tz: ZoneInfo, rng):
    """`count` creation times, ascending, from the hour of `start` to `end`: each hour gets its
    share of the rate (with a little day-to-day noise), each ticket a random moment in it."""
    first = math.floor(start / HOUR) * HOUR
    rates, noise = [], {}
    t = first
    while t < end:
        local = datetime.fromtimestamp(t, tz)
        day = local.date()
        if day not in noise:
            noise[day] = rng.lognormvariate(0.0, 0.12)
        width = min(HOUR, end - t) / HOUR
        rates.append(_rate(local, (t - first) / (end - first)) * noise[day] * width)
        t += HOUR
    scale = count / sum(rates)
    made, expected = 0, 0.0
    for k, rate in enumerate(rates):
        expected += rate * scale
        n = min(round(expected), count) - made
        made += n
        base = first + k * HOUR
        width = min(HOUR, end - base)
        for offset in sorted(rng.random() for _ in range(n)):
            yield base + offset * width
    for _ in range(count - made):  # rounding left one short
        yield end - 1.0
