"""The lifecycle's clock under a test's control (the `clock` fixture puts one in place)."""
from __future__ import annotations

from datetime import datetime, timedelta


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
