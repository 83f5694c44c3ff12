"""Running the overdue check on a timer: the in-process thread of `make run`, and the loop
behind `flask sla check --loop`. The check itself is tickets.check_overdue()."""
from __future__ import annotations

import logging
import threading
from typing import Callable

from . import background

log = logging.getLogger(__name__)


def run_loop(app, interval: float = 60.0, stop: threading.Event | None = None,
             report: Callable[[str], None] | None = None) -> None:
    """Check, sleep, repeat, until `stop` is set. Errors are logged; the loop keeps going."""
    from .tickets import check_overdue

    report = report or log.info

    def check():
        for flagged in check_overdue():
            report(str(flagged))

    background.run_every(app, interval, stop, check, "overdue check")


def start_background_check(app, interval: float = 60.0) -> threading.Thread:
    """The in-process check started next to the background mail sender."""
    return background.start(app, interval, run_loop, "overdue-check")
