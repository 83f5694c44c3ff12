"""The public submission in-process: GET /new, then POST the form, through Flask's test client.

Times each request (p50, p90 in ms; and the CPU time the request took, steadier than the wall
clock on a busy machine; the wall clock also holds SQLite's fsync at commit), counts the SQL statements each POST runs, and checks that
every POST opened one ticket with exactly its expected outbox rows (the acknowledgement and one
alert per department agent and manager, each once). Mail waits in the outbox: MAIL_PORT points at
a closed port and nothing sends. Works on a copy of a seeded SQLite file, so the seed is reused:

    HELPDESK_DATABASE_URL=sqlite:////tmp/submit-bench.sqlite3 SECRET_KEY=x \
        .venv/bin/python bench/seed.py --tickets 1000 --mix sbs
    .venv/bin/python bench/submit.py --database /tmp/submit-bench.sqlite3 --posts 300

`--profile` prints the top of a cProfile of the POSTs (and `--profile-get` of the GETs).
Run by hand, never in CI.
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TOPIC = "Business Critical Outage"


def _field(html: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html) or \
        re.search(rf'value="([^"]*)"[^>]*name="{name}"', html)
    if match is None:
        raise SystemExit(f"the form has no {name} field")
    return match.group(1)


def _ms(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="/tmp/submit-bench.sqlite3", help="a seeded SQLite file (copied)")
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--dir", default=None,
                        help="where the copy goes (default: the system's temp dir; /dev/shm takes fsync out)")
    parser.add_argument("--profile", action="store_true", help="cProfile the POSTs")
    parser.add_argument("--profile-get", action="store_true", help="cProfile the GETs")
    parser.add_argument("--show-sql", action="store_true", help="print the statements of the last POST")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="submit-bench-", dir=args.dir)
    copy = os.path.join(work, "desk.sqlite3")
    shutil.copyfile(args.database, copy)
    os.environ.update(
        HELPDESK_DATABASE_URL=f"sqlite:///{copy}", SECRET_KEY=os.environ.get("SECRET_KEY", "bench-secret"),
        HELPDESK_RATELIMIT="0", HELPDESK_MAX_OPEN_TICKETS="0", HELPDESK_BACKGROUND_SENDER="0",
        MAIL_SERVER="127.0.0.1", MAIL_PORT="9", HELPDESK_UPLOAD_DIR=os.path.join(work, "files"),
        HELPDESK_LOG_LEVEL="WARNING",
    )

    from flask_migrate import upgrade
    from sqlalchemy import event, func, select

    from helpdesk import create_app
    from helpdesk.extensions import db
    from helpdesk.models import Agent, HelpTopic, OutboxMail, Ticket, agent_departments

    app = create_app()
    client = app.test_client()
    with app.app_context():
        upgrade()  # the copy gets the code's schema (a seed made before a migration)
        topic = db.session.scalar(select(HelpTopic).where(HelpTopic.name == TOPIC))
        topic_id = topic.id
        before = db.session.scalar(select(func.max(Ticket.id))) or 0
        engine = db.engine

    statements, last_sql = [], []

    def count(conn, cursor, statement, *_):
        statements[-1] += 1
        last_sql.append(statement)

    get_times, post_times, get_cpu, post_cpu = [], [], [], []
    get_prof = cProfile.Profile() if args.profile_get else None
    post_prof = cProfile.Profile() if args.profile else None
    run = f"{os.getpid()}-{int(time.time())}"
    total = args.warmup + args.posts
    for i in range(total):
        measured = i >= args.warmup
        started, cpu0 = time.perf_counter(), time.thread_time()
        if get_prof and measured:
            get_prof.enable()
        page = client.get(f"/new?topic={topic_id}")
        if get_prof and measured:
            get_prof.disable()
        got, cpu1 = time.perf_counter(), time.thread_time()
        assert page.status_code == 200, page.status_code
        html = page.get_data(as_text=True)
        form = {
            "csrf_token": _field(html, "csrf_token"), "idempotency_key": _field(html, "idempotency_key"),
            "name": "Bench Customer", "email": f"bench{i % 97}@example.org", "topic": str(topic_id),
            "subject": f"Bench {run} {i}: the mobile app shows a blank screen",
            "description": f"Since this morning nothing loads ({i}).\n\nPlease have a look.",
        }
        statements.append(0)
        last_sql.clear()
        event.listen(engine, "before_cursor_execute", count)
        if post_prof and measured:
            post_prof.enable()
        t0, cpu2 = time.perf_counter(), time.thread_time()
        response = client.post("/new", data=form)
        t1, cpu3 = time.perf_counter(), time.thread_time()
        if post_prof and measured:
            post_prof.disable()
        event.remove(engine, "before_cursor_execute", count)
        assert response.status_code == 302, (response.status_code, response.get_data(as_text=True)[:500])
        if measured:
            get_times.append(got - started)
            post_times.append(t1 - t0)
            get_cpu.append(cpu1 - cpu0)
            post_cpu.append(cpu3 - cpu2)
        else:
            statements.pop()

    with app.app_context():
        created = db.session.scalars(select(Ticket).where(Ticket.id > before).order_by(Ticket.id)).all()
        problems = []
        if len(created) != total:
            problems.append(f"{len(created)} tickets for {total} POSTs")
        topic = db.session.get(HelpTopic, topic_id)
        dept = topic.effective_department
        agents = db.session.scalars(select(Agent.email).join(agent_departments).where(
            agent_departments.c.department_id == dept.id, Agent.active.is_(True))).all()
        staff = set(agents) | ({dept.manager.email} if dept.manager and dept.manager.active else set())
        rows = Counter(db.session.execute(
            select(OutboxMail.ticket_id, OutboxMail.event, OutboxMail.recipient)
            .where(OutboxMail.ticket_id > before)).all())
        by_ticket: dict[int, Counter] = {}
        for (ticket_id, event_name, recipient), n in rows.items():
            by_ticket.setdefault(ticket_id, Counter())[(event_name, recipient)] += n
        for ticket in created:
            expected = Counter({("created", email): 1 for email in staff})
            if topic.auto_acknowledge:
                expected[("created", ticket.customer.email)] += 1
            got = by_ticket.get(ticket.id, Counter())
            if got != expected:
                problems.append(f"ticket {ticket.number}: outbox {dict(got)}, expected {dict(expected)}")
                if len(problems) > 5:
                    break

    print(f"{args.posts} submissions (after {args.warmup} warm-up) on a copy of {args.database}")
    print(f"GET  /new   p50 {_ms(get_times, .5):6.2f} ms   p90 {_ms(get_times, .9):6.2f} ms   "
          f"CPU p50 {_ms(get_cpu, .5):6.2f} ms")
    print(f"POST /new   p50 {_ms(post_times, .5):6.2f} ms   p90 {_ms(post_times, .9):6.2f} ms   "
          f"CPU p50 {_ms(post_cpu, .5):6.2f} ms")
    print(f"statements per POST: median {statistics.median(statements):.0f}, max {max(statements)}")
    if args.show_sql:
        for statement in last_sql:
            print("  ", " ".join(statement.split())[:200])
    print(f"mails per ticket: {len(staff) + (1 if topic.auto_acknowledge else 0)}; "
          f"tickets created: {len(created)} for {total} POSTs")
    if problems:
        print("PROBLEMS:\n  " + "\n  ".join(problems))
    for label, prof in (("GET", get_prof), ("POST", post_prof)):
        if prof:
            print(f"\n--- profile of the {label}s ---")
            pstats.Stats(prof).sort_stats("cumulative").print_stats(40)
            if os.environ.get("BENCH_PROFILE_FILE"):
                prof.dump_stats(os.environ["BENCH_PROFILE_FILE"] + label)
    shutil.rmtree(work, ignore_errors=True)
    if problems:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
