"""Running the overdue check on a timer: the in-process thread of `make run`, and the loop
behind `flask sla check --loop`. The check itself is tickets.check_overdue()."""
from __future__ import annotations

import logging
import threading
from typing import Callable

from .extensions import db

log = logging.getLogger(__name__)


def run_loop(app, interval: float = 60.0, stop: threading.Event | None = None,
             report: Callable[[str], None] | None = None) -> None:
    """Check, sleep, repeat, until `stop` is set. Errors are logged; the loop keeps going."""
    from .tickets import check_overdue

    stop = stop or threading.Event()
    report = report or log.info
    while not stop.is_set():
        with app.app_context():
            try:
                for flagged in check_overdue():
                    report(str(flagged))
            except Exception:  # the database may be restarting; try again next round
                log.exception("overdue check failed")
                db.session.rollback()
            finally:
                db.session.remove()
        stop.wait(interval)


def start_background_check(app, interval: float = 60.0) -> threading.Thread:
    """The in-process check started next to the background mail sender."""
    thread = threading.Thread(target=run_loop, args=(app, interval), name="overdue-check", daemon=True)
    thread.start()
    return thread
