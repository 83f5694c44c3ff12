"""The agent's ticket page, timed in-process: milliseconds and SQL statements per view, for a
short thread (4 entries) and a long one (200 entries), signed in as the demo admin and as an
agent. No web server and no network: what is left is the desk's own work (queries, forms,
templates). Run by hand, never in CI:

    HELPDESK_DATABASE_URL=sqlite:////tmp/tp-bench.sqlite3 SECRET_KEY=x \
        .venv/bin/python bench/seed.py --tickets 1000 --mix sbs
    HELPDESK_DATABASE_URL=sqlite:////tmp/tp-bench.sqlite3 SECRET_KEY=x \
        .venv/bin/python bench/ticket_page.py

The two tickets are added the first time (subjects "Bench: 4 entries", "Bench: 200 entries"),
in the Support department, open and assigned to the agent (so both see every action they may
take); every tenth entry has an attachment, authors alternate between the customer and agents.
--profile prints where the time of the long ticket's views goes (cProfile, top functions).
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import secrets
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, func, insert, select  # noqa: E402

from helpdesk import create_app  # noqa: E402
from helpdesk.clock import utcnow  # noqa: E402
from helpdesk.extensions import db  # noqa: E402
from helpdesk.models import (  # noqa: E402
    Agent,
    Attachment,
    Customer,
    Department,
    Event,
    Priority,
    SLAPlan,
    ThreadEntry,
    Ticket,
)
from helpdesk.text import render_body  # noqa: E402

ADMIN = ("admin@example.com", "demo-admin-1")
AGENT = ("tech@example.com", "demo-tech-1")
SIZES = (4, 200)


def bench_ticket(entries: int) -> str:
    """The number of the bench ticket with this many thread entries (made if missing)."""
    subject = f"Bench: {entries} entries"
    number = db.session.scalar(select(Ticket.number).where(Ticket.subject == subject))
    if number:
        return number
    agent = db.session.scalar(select(Agent).where(Agent.email == AGENT[0]))
    manager = db.session.scalar(select(Agent).where(Agent.email == "manager@example.com"))
    support = db.session.scalar(select(Department).where(Department.name == "Support"))
    priority = db.session.scalar(select(Priority).order_by(Priority.urgency.desc()))
    sla = db.session.scalar(select(SLAPlan).order_by(SLAPlan.grace_hours))
    now = utcnow()
    created = now - timedelta(days=2)
    customer_id = (db.session.scalar(select(func.max(Customer.id))) or 0) + 1
    db.session.execute(insert(Customer), [{"id": customer_id, "email": f"bench-{entries}@example.org",
                                           "name": f"Bench Customer {entries}", "created_at": created}])
    number = "B" + secrets.token_hex(3).upper()[:5]
    ticket_id = (db.session.scalar(select(func.max(Ticket.id))) or 0) + 1
    db.session.execute(insert(Ticket), [{
        "id": ticket_id, "number": number, "subject": subject, "status": "open",
        "priority_id": priority.id, "urgency": priority.urgency, "department_id": support.id,
        "assignee_id": agent.id, "sla_id": sla.id, "due_at": now + timedelta(hours=sla.grace_hours),
        "source": "web", "customer_id": customer_id, "created_at": created, "updated_at": now,
        "is_overdue": False, "is_answered": True, "access_nonce": secrets.token_hex(8), "version": 3,
    }])
    first_entry = (db.session.scalar(select(func.max(ThreadEntry.id))) or 0) + 1
    rows, files = [], []
    for i in range(entries):
        kind = ("message", "reply", "note")[i % 3]
        body = f"Entry {i}: the **printer** on floor {i % 7} is _offline_ again.\n\nSee https://status.example.org"
        row = {"id": first_entry + i, "ticket_id": ticket_id, "kind": kind, "body": body,
               "body_html": render_body(body), "created_at": created + timedelta(minutes=i)}
        row.update({"customer_id": customer_id} if kind == "message" else
                   {"agent_id": (agent if i % 2 else manager).id})
        rows.append(row)
        if i % 10 == 9:
            files.append({"ticket_id": ticket_id, "entry_id": first_entry + i, "filename": f"log-{i}.txt",
                          "content_type": "text/plain", "size": 1234 + i, "sha256": "0" * 64,
                          "storage_key": secrets.token_hex(16), "created_at": row["created_at"]})
    db.session.execute(insert(ThreadEntry), rows)
    if files:
        db.session.execute(insert(Attachment), files)
    db.session.execute(insert(Event), [
        {"ticket_id": ticket_id, "customer_id": customer_id, "action": "created", "new": "via web",
         "version": 1, "created_at": created},
        {"ticket_id": ticket_id, "agent_id": agent.id, "action": "claimed", "new": agent.name,
         "version": 2, "created_at": created},
        {"ticket_id": ticket_id, "agent_id": agent.id, "action": "status", "old": "New", "new": "Open",
         "version": 3, "created_at": created},
    ])
    db.session.commit()
    return number


def signed_in(app, email: str, password: str):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    answer = client.post("/login", data={"csrf_token": token, "email": email, "password": password})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    return client


def measure(client, url: str, views: int, statements: list) -> tuple[float, float, float]:
    """p50 ms per view (wall clock and CPU time: on a shared machine the CPU time is the steadier)
    and statements per view (the same for every view)."""
    for _ in range(5):  # warm: templates compiled, caches filled
        assert client.get(url).status_code == 200
    times, cpu, counts = [], [], []
    for _ in range(views):
        statements.clear()
        start, start_cpu = time.perf_counter(), time.process_time()
        answer = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        assert answer.status_code == 200
        counts.append(len(statements))
    return statistics.median(times), statistics.median(cpu), statistics.median(counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--views", type=int, default=200)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("HELPDESK_RATELIMIT", "0")
    os.environ.setdefault("HELPDESK_LOG_LEVEL", "WARNING")
    app = create_app()
    statements: list = []
    with app.app_context():
        numbers = {n: bench_ticket(n) for n in SIZES}
        event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    for who, login in (("admin", ADMIN), ("agent", AGENT)):
        client = signed_in(app, *login)
        for size, number in numbers.items():
            url = f"/agent/tickets/{number}"
            ms, cpu, count = measure(client, url, args.views, statements)
            print(f"{who:<6} {size:>4} entries: {ms:6.2f} ms/view p50 ({cpu:6.2f} ms CPU)  "
                  f"{count:4.0f} statements/view", flush=True)
        if args.profile:
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(50):
                client.get(f"/agent/tickets/{numbers[SIZES[-1]]}")
            profile.disable()
            pstats.Stats(profile).sort_stats(os.environ.get("BENCH_SORT", "cumulative")).print_stats(int(os.environ.get("BENCH_TOP", "40")))


if __name__ == "__main__":
    main()
