"""The reports dashboard on a seeded desk (bench/seed_reports.py): the whole page's time in-process
for a 30-day and a 12-month period, with and without filters, and every statement it runs with its
plan and its own time. Run by hand, never in CI:

    HELPDESK_DATABASE_URL=sqlite:////tmp/bench_reports/desk.sqlite3 SECRET_KEY=x \\
        .venv/bin/python bench/reports.py --out bench/plans/reports-sqlite-1m.txt

SQLite plans come from EXPLAIN QUERY PLAN, PostgreSQL's from EXPLAIN (ANALYZE, BUFFERS). The
page is asked a few times; its time is the median, with the workers' kept dashboards dropped
before each request (every figure counted afresh, as after any change to the desk). `--only-times` leaves the plans out.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from queue_plans import explained, measure, sign_in  # noqa: E402
from sqlalchemy import select  # noqa: E402

from helpdesk import clock, create_app, settings  # noqa: E402
from helpdesk.extensions import db  # noqa: E402
from helpdesk.models import Department, Priority  # noqa: E402
from helpdesk.reports import board  # noqa: E402
from helpdesk.reports import period as periods  # noqa: E402

PASSWORDS = {"admin@example.com": "demo-admin-1", "manager@example.com": "demo-manager-1"}


def pages(department: int, priority: str, year_from: str, today: str) -> list[tuple[str, str]]:
    year = f"period=custom&from={year_from}&to={today}"
    return [
        ("30 days", "/agent/reports?period=30d"),
        ("30 days, one department", f"/agent/reports?period=30d&department={department}"),
        ("30 days, by e-mail", "/agent/reports?period=30d&channel=email"),
        ("12 months", f"/agent/reports?{year}"),
        ("12 months, one department and priority", f"/agent/reports?{year}&department={department}&priority={priority}"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="also write the report to this file")
    parser.add_argument("--times", type=int, default=5)
    parser.add_argument("--only-times", action="store_true")
    args = parser.parse_args()
    app = create_app({"HELPDESK_RATELIMIT": False, "WTF_CSRF_ENABLED": False})
    lines: list[str] = []
    with app.test_request_context():
        dialect = db.engine.dialect.name
        department = db.session.scalar(select(Department.id).order_by(Department.id))
        priority = db.session.scalar(select(Priority.key).order_by(Priority.urgency.desc()))
        tickets = db.session.scalar(db.text("SELECT count(*) FROM ticket"))
        today = periods.local_today(settings.zone(), clock.utcnow())
        lines.append(f"{dialect}, {tickets} tickets, desk time zone {settings.get('timezone')}")
    for email in PASSWORDS:
        client, heading = sign_in(app, email, PASSWORDS[email])
        lines.append(heading)
        for label, path in pages(department, priority, (today - timedelta(days=364)).isoformat(), today.isoformat()):
            times, captured = measure(app, client, path, args.times, before=board.forget)  # counted afresh
            kept, _ = measure(app, client, path, 3)  # asked again while nothing changed: the kept dashboard
            lines.append(f"\n--- {label}: GET {path}: median {statistics.median(times):.0f} ms, "
                         f"min {min(times):.0f} ms over {args.times}, {len(captured)} statements; "
                         f"asked again: {statistics.median(kept):.0f} ms")
            print(lines[-1], flush=True)
            if not args.only_times:
                lines.extend(explained(app, captured))
    report = "\n".join(lines) + "\n"
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(report)
    else:
        print(report)


if __name__ == "__main__":
    main()
