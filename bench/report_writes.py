"""What keeping the report cells costs the lifecycle: a ticket's whole life through the lifecycle's
own functions (opened by the web form's code, assigned, answered, resolved, reopened by the
customer, resolved again: six changes, four of them to columns the cells count) with the cells'
triggers in place and with them dropped, in alternating runs in one sitting. Run by hand, never
in CI:

    .venv/bin/python bench/report_writes.py                       # a temporary SQLite file
    .venv/bin/python bench/report_writes.py --database postgresql+psycopg://postgres@127.0.0.1:5432/bench_writes

A PostgreSQL database named this way is a scratch one: made afresh and dropped at the end. Prints
per run the median and 95th percentile of a life's time, and the ratio with cells / without.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, select, text  # noqa: E402

from helpdesk import create_app, tickets  # noqa: E402
from helpdesk.demo import seed  # noqa: E402
from helpdesk.extensions import db  # noqa: E402
from helpdesk.models import Agent, HelpTopic  # noqa: E402
from helpdesk.models.report_cell import DROP_TRIGGERS, triggers  # noqa: E402


def life(n: int, agent: Agent, topic: HelpTopic) -> float:
    """One ticket's life; its time in ms."""
    start = time.perf_counter()
    ticket = tickets.open_ticket(name="Bench Customer", email=f"c{n}@bench.example", subject=f"Life {n}",
                                 body="Something is broken.", topic=topic)
    tickets.assign(agent, ticket, agent=agent)
    tickets.reply(agent, ticket, "Looking into it.")
    tickets.resolve(agent, ticket, "Fixed.")
    tickets.customer_reply(ticket, "Broken again.")
    tickets.resolve(agent, ticket, "Fixed again.")
    return (time.perf_counter() - start) * 1000


def run(label: str, lives: int, counter: list) -> list[float]:
    agent = db.session.scalar(select(Agent).where(Agent.email == "manager@example.com"))
    topic = db.session.scalar(select(HelpTopic).order_by(HelpTopic.id))
    times = []
    for _ in range(lives):
        counter[0] += 1
        times.append(life(counter[0], agent, topic))
    times.sort()
    print(f"{label:>14}: median {statistics.median(times):.1f} ms, p95 {times[int(len(times) * 0.95)]:.1f} ms "
          f"a life, over {lives}; load {os.getloadavg()[0]:.2f}", flush=True)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="a scratch PostgreSQL database (default: a temporary SQLite file)")
    parser.add_argument("--lives", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    folder = tempfile.mkdtemp()
    url = args.database or f"sqlite:///{folder}/writes.sqlite3"
    if args.database:
        admin_url, name = url.rsplit("/", 1)
        with create_engine(f"{admin_url}/postgres", isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "HELPDESK_UPLOAD_DIR": f"{folder}/uploads",
                      "MAIL_PORT": 1, "HELPDESK_RATELIMIT": False})
    with app.app_context():
        db.create_all()
        seed()
        db.session.commit()
        dialect = db.engine.dialect.name
        print(f"{dialect}: {args.rounds} rounds of {args.lives} ticket lives, with the report cells and without")
        counter, found = [0], {"with cells": [], "without": []}
        run("warm-up", 50, counter)
        for _ in range(args.rounds):
            found["with cells"] += run("with cells", args.lives, counter)
            for statement in DROP_TRIGGERS[dialect]:
                db.session.execute(text(statement))
            db.session.commit()
            found["without"] += run("without", args.lives, counter)
            for statement in triggers(dialect):
                db.session.execute(text(statement))
            db.session.commit()
        with_cells, without = statistics.median(found["with cells"]), statistics.median(found["without"])
        print(f"median a life: {with_cells:.1f} ms with the cells, {without:.1f} ms without: "
              f"{with_cells / without:.2f} times")
        db.session.remove()
        db.engine.dispose()
    if args.database:
        with create_engine(f"{admin_url}/postgres", isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))


if __name__ == "__main__":
    main()
