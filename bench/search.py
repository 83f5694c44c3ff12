"""Ticket search speed: the Open queue searched for a subject word, a customer's name, part of
an email and a ticket number (and part of one), as the demo admin, in-process (no HTTP).

    HELPDESK_DATABASE_URL=sqlite:////tmp/search-1m.sqlite3 .venv/bin/python bench/search.py
    HELPDESK_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench .venv/bin/python bench/search.py

The database must be migrated (`flask db upgrade`) and filled (bench/seed.py). Each query is
timed --runs times (queues.page: the count and the page of rows, ranked) after one run to warm
the caches; prints p50 and p90 in milliseconds and how many tickets matched.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select  # noqa: E402

from helpdesk import create_app  # noqa: E402
from helpdesk.extensions import db  # noqa: E402
from helpdesk.models import Agent, Customer, Ticket  # noqa: E402
from helpdesk.tickets import queues  # noqa: E402


def typical_queries(rng: random.Random) -> list[tuple[str, str]]:
    """(kind, query) taken from the desk's own rows."""
    last = db.session.scalar(select(func.max(Ticket.id)))
    ticket = None
    while ticket is None:
        ticket = db.session.get(Ticket, rng.randint(1, last))
    customer = db.session.get(Customer, ticket.customer_id)
    local, _, domain = customer.email.partition("@")
    word = max(ticket.subject.split(), key=len).lower()
    return [
        ("subject word", word),
        ("customer name", customer.name),
        ("part of an email", f"{local[-6:]}@{domain.split('.')[0]}"),
        ("ticket number", ticket.number),
        ("#number, lower case", "#" + ticket.number.lower()),
        ("part of a number", ticket.number[:4]),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--queue", default="open")
    parser.add_argument("--agent", default="admin@example.com")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("queries", nargs="*", help="more queries to time")
    args = parser.parse_args()

    app = create_app()
    with app.app_context():
        agent = db.session.scalar(select(Agent).where(Agent.email == args.agent))
        options = queues.Options.load()
        total = db.session.scalar(select(func.count()).select_from(Ticket))
        print(f"{db.engine.url.render_as_string()}: {total} tickets; queue {args.queue!r} as {args.agent}")
        cases = typical_queries(random.Random(args.seed)) + [("given", q) for q in args.queries]
        print(f"{'kind':22} {'query':32} {'matched':>8} {'p50 ms':>8} {'p90 ms':>8}")
        for kind, q in cases:
            times, page = [], None
            for run in range(args.runs + 1):
                params = queues.Params.parse({"q": q}, options)
                db.session.refresh(agent)
                start = time.perf_counter()
                page = queues.page(agent, args.queue, params)
                elapsed = (time.perf_counter() - start) * 1000
                db.session.rollback()
                if run:  # the first run warms the caches
                    times.append(elapsed)
            p50 = statistics.median(times)
            p90 = statistics.quantiles(times, n=10)[-1] if len(times) > 1 else p50
            print(f"{kind:22} {q[:32]:32} {page.total:>8} {p50:>8.1f} {p90:>8.1f}")


if __name__ == "__main__":
    main()
