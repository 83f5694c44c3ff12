"""Work repeated on a timer: sending the outbox, the overdue check, the time rules (automations),
fetching IMAP mailboxes, delivering webhooks, the managers' weekly summary mail.

One table, JOBS, serves both ways of running them: the threads create_app() starts in the web
process (HELPDESK_BACKGROUND_SENDER, as `make run` does) and the `--loop` commands a production
desk runs beside gunicorn (`flask mail send --loop`, `flask sla check --loop`, `flask automations
run --loop`, `flask mail fetch --loop`, `flask webhooks deliver --loop`, `flask reports weekly --loop`). A failing round (the database restarting, say) is logged and the next one runs as usual.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Callable

from flask import Flask

from . import settings, tickets, webhooks
from .automations import timed
from .extensions import db
from .mail import outbox
from .mailin import imap
from .reports import cells, weekly

log = logging.getLogger(__name__)

Report = Callable[[str], None]


@dataclass(frozen=True)
class Job:
    round: Callable[[Report], object]  # one round of the work, in an app context
    what: str  # for the log, when a round fails
    interval: float  # seconds between rounds, unless the caller says otherwise


def _send_mail(report: Report) -> None:
    outbox.send_due()


def _check_overdue(report: Report) -> None:
    for flagged in tickets.check_overdue():
        report(str(flagged))
    tickets.tally.tidy()
    cells.tidy(settings.zone())


def _run_automations(report: Report) -> None:
    for done in timed.run_due():
        report(str(done))


def _fetch_mail(report: Report) -> None:
    imap.fetch_all()


def _deliver_webhooks(report: Report) -> None:
    webhooks.deliver_due()


def _weekly_reports(report: Report) -> None:
    for address in weekly.send_due():
        report(f"weekly summary queued for {address}")


JOBS = {
    "mail": Job(_send_mail, "outbox sender round", 5.0),
    "overdue": Job(_check_overdue, "overdue check", 60.0),
    "automations": Job(_run_automations, "time rules round", 60.0),
    "fetch": Job(_fetch_mail, "mail fetch round", 60.0),
    "webhooks": Job(_deliver_webhooks, "webhook delivery round", 5.0),
    "weekly": Job(_weekly_reports, "weekly summary round", weekly.INTERVAL),
}


def run_loop(app: Flask, name: str, interval: float | None = None, stop: threading.Event | None = None,
             report: Report | None = None) -> None:
    """Run job `name` every `interval` seconds until `stop` is set."""
    job = JOBS[name]
    interval = job.interval if interval is None else interval
    report = report or log.info
    stop = stop or threading.Event()
    while not stop.is_set():
        with app.app_context():
            try:
                job.round(report)
            except Exception:
                log.exception("%s failed", job.what)
                db.session.rollback()
            finally:
                db.session.remove()
        stop.wait(interval)


def start(app: Flask, name: str, interval: float | None = None) -> threading.Thread:
    """Run job `name` in a daemon thread of this process."""
    thread = threading.Thread(target=run_loop, args=(app, name, interval), name=f"job-{name}", daemon=True)
    thread.start()
    return thread


def init_app(app: Flask) -> None:
    """The in-process jobs of a single-process desk (`make run`): mail, webhooks, the overdue check,
    the time rules and the weekly summary mail.
    Production runs them as `--loop` commands instead (README: Deployment)."""
    if app.config["HELPDESK_BACKGROUND_SENDER"] and not app.testing:
        start(app, "mail")
        start(app, "webhooks")
        start(app, "overdue", app.config["HELPDESK_SLA_CHECK_SECONDS"])
        start(app, "automations")
        start(app, "weekly")
