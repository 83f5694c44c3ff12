"""The desk's clock. Every "now" the lifecycle, the live panel and the queues read is
`clock.utcnow()`, looked up at each call, so a test sets the time in this one place
(`monkeypatch.setattr(clock, "utcnow", ...)`). Stored times are naive UTC."""
from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    """Now, as a naive UTC datetime: every stored time is naive UTC."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def current() -> datetime:
    """utcnow() as the seam has it at the moment of the call: for what keeps a reference to the
    clock (column defaults, the templates' `now`), so it follows a test's clock too."""
    return utcnow()
