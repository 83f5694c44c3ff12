"""The queue pages' SQL on a seeded desk: every statement each page runs, its plan, and the
page's time in-process. Run by hand, never in CI:

    HELPDESK_DATABASE_URL=sqlite:////tmp/sbs-ours/db_1000000.sqlite3 SECRET_KEY=x \\
        .venv/bin/python bench/queue_plans.py --out bench/plans/sqlite-1m.txt

SQLite plans come from EXPLAIN QUERY PLAN, PostgreSQL's from EXPLAIN (ANALYZE, BUFFERS). Pages:
the Open, My tickets, Unassigned and Overdue queues and a filtered queue, as the demo admin (who
sees every ticket) and as a demo agent (whose visibility is a condition of every query). Each
page is asked a few times; its time is the median, with the workers' count cache emptied before
each request (as if every request changed something).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, select  # noqa: E402

from helpdesk import create_app  # noqa: E402
from helpdesk.extensions import db  # noqa: E402
from helpdesk.models import Agent, Department  # noqa: E402
from helpdesk.tickets import queues  # noqa: E402

PASSWORDS = {"admin@example.com": "demo-admin-1", "tech@example.com": "demo-tech-1"}


def pages(department_id: int) -> list[tuple[str, str]]:
    return [
        ("Open", "/agent/"),
        ("My tickets", "/agent/queue/mine"),
        ("Unassigned", "/agent/queue/unassigned"),
        ("Overdue", "/agent/queue/overdue"),
        ("Open, one department", f"/agent/?department={department_id}"),
        ("Open, by due time", "/agent/?sort=due&dir=asc"),
    ]


def explain(conn, statement: str, parameters) -> str:
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        return "\n".join(f"  {row[3]}" for row in rows)
    rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).all()
    return "\n".join(f"  {row[0]}" for row in rows)


def sign_in(app, email: str, password: str):
    """A test client signed in as this agent, and the report's heading for them."""
    client = app.test_client()
    reply = client.post("/login", data={"email": email, "password": password})
    assert reply.status_code == 302, f"sign-in as {email} failed"
    with app.app_context():
        who = db.session.scalar(select(Agent).where(Agent.email == email))
        return client, f"\n=== as {who.name} ({who.role})"


def measure(app, client, path: str, times: int, before=None) -> tuple[list[float], list[tuple[str, object]]]:
    """GET path `times` times: each request's time (ms), and the statements the first one ran.
    `before` runs before each request (say, to empty a cache)."""
    captured: list[tuple[str, object]] = []

    def listen(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, parameters))

    took = []
    for i in range(times):
        if before:
            before()
        with app.app_context():
            engine = db.engine
        if i == 0:  # the first request's statements are the ones explained
            event.listen(engine, "before_cursor_execute", listen)
        start = time.perf_counter()
        reply = client.get(path)
        took.append((time.perf_counter() - start) * 1000)
        if i == 0:
            event.remove(engine, "before_cursor_execute", listen)
        assert reply.status_code == 200, (path, reply.status_code)
    return took, captured


def explained(app, captured: list[tuple[str, object]]) -> list[str]:
    """Each SELECT run again alone, with its time and its plan."""
    lines = []
    with app.app_context(), db.engine.connect() as conn:
        for statement, parameters in captured:
            if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            start = time.perf_counter()
            result = conn.exec_driver_sql(statement, parameters)
            if result.returns_rows:
                result.all()
            took = (time.perf_counter() - start) * 1000
            lines.append(f"\n[{took:.1f} ms] " + " ".join(statement.split()))
            lines.append(explain(conn, statement, parameters))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="also write the report to this file")
    parser.add_argument("--times", type=int, default=7)
    args = parser.parse_args()
    app = create_app({"HELPDESK_RATELIMIT": False, "WTF_CSRF_ENABLED": False})
    lines: list[str] = []
    with app.app_context():
        dialect = db.engine.dialect.name
        department = db.session.scalar(select(Department.id).order_by(Department.id))
        tickets = db.session.scalar(db.text("SELECT count(*) FROM ticket"))
        lines.append(f"{dialect}, {tickets} tickets")
    for email in PASSWORDS:
        client, heading = sign_in(app, email, PASSWORDS[email])
        lines.append(heading)
        for label, path in pages(department):
            times, captured = measure(app, client, path, args.times, before=queues._COUNTS_CACHE.clear)
            lines.append(f"\n--- {label}: GET {path}: median {statistics.median(times):.1f} ms over "
                         f"{args.times}, {len(captured)} statements")
            lines.extend(explained(app, captured))
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(report)


if __name__ == "__main__":
    main()
