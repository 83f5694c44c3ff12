"""Work repeated on a timer (mail sending, the overdue check, mailbox fetching), in a thread of
the web process or in a `--loop` command."""
from __future__ import annotations

import logging
import threading
from typing import Callable

from .extensions import db

log = logging.getLogger(__name__)


def run_every(app, interval: float, stop: threading.Event | None, work: Callable[[], None], what: str) -> None:
    """Call `work` in an app context every `interval` seconds until `stop` is set. A failing
    round (the database restarting, say) is logged and the next one runs as usual."""
    stop = stop or threading.Event()
    while not stop.is_set():
        with app.app_context():
            try:
                work()
            except Exception:
                log.exception("%s failed", what)
                db.session.rollback()
            finally:
                db.session.remove()
        stop.wait(interval)


def start(app, interval: float, loop: Callable, name: str) -> threading.Thread:
    """Run `loop(app, interval)` in a daemon thread."""
    thread = threading.Thread(target=loop, args=(app, interval), name=name, daemon=True)
    thread.start()
    return thread
