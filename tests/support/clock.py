"""Time in the tests: the lifecycle's clock under a test's control (the `clock` fixture puts one
in place), and Berlin wall times written as the naive UTC instants the desk stores."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")


class Clock:
    """Called like helpdesk.tickets.utcnow; starts on Monday 2026-03-23 08:00 UTC."""

    def __init__(self):
        self.now = datetime(2026, 3, 23, 8, 0)

    def __call__(self):
        return self.now

    def set(self, value):
        self.now = value

    def advance(self, **delta):
        self.now += timedelta(**delta)


def berlin(*args) -> datetime:
    """A Berlin wall time -> naive UTC, as the desk stores instants: berlin(2026, 3, 20, 16, 0)."""
    return datetime(*args, tzinfo=BERLIN).astimezone(timezone.utc).replace(tzinfo=None)
