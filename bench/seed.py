"""Fill a desk with N tickets, each with a thread and a history, for the benchmarks.

    HELPDESK_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench \
        python bench/seed.py --tickets 100000

Runs `db upgrade` and the demo seed first when the database is empty. Rows go in with bulk
inserts (a few minutes for 100,000 tickets on PostgreSQL); the mix of statuses, priorities,
departments and assignees looks like a busy desk's.
"""
from __future__ import annotations

import argparse
import random
import secrets
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from helpdesk import create_app, demo  # noqa: E402
from helpdesk.clock import utcnow
from helpdesk.extensions import db  # noqa: E402
from helpdesk.models import (
    ACTIVE_STATUSES,
    Agent,
    Customer,
    Event,
    HelpTopic,
    Priority,
    SLAPlan,
    Team,
    ThreadEntry,
    Ticket,
)
from helpdesk.text import render_body  # noqa: E402
from helpdesk.tickets import tally  # noqa: E402

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
MIXES = {
    # a working desk: most tickets closed, a few waiting on the customer or a team
    "desk": ["new"] * 8 + ["open"] * 30 + ["pending"] * 10 + ["escalated"] * 5 + ["resolved"] * 12 + ["closed"] * 35,
    # the side-by-side shape (../shared/bench): 80% new or open, 10% resolved, 10% closed
    "sbs": ["new"] * 10 + ["open"] * 70 + ["resolved"] * 10 + ["closed"] * 10,
}
WORDS = ("mobile banking login fails printer offline invoice wrong vpn slow mail bounce password reset "
         "report export error timeout screen blank payment declined account locked backup failed").split()


def numbers(count: int, taken: set[str]):
    while count:
        n = "".join(random.choice(ALPHABET) for _ in range(6))
        if n not in taken:
            taken.add(n)
            count -= 1
            yield n


def open_desk() -> None:
    """Migrate the database, and load the demo desk when it has no agents yet."""
    upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    if not db.session.scalar(select(func.count(Agent.id))):
        demo.seed()


def finish_desk() -> None:
    """After bulk inserts: sequences past the ids written, fresh statistics, the tally folded."""
    if db.engine.dialect.name == "postgresql":
        for table in ("customer", "ticket", "thread_entry", "event"):
            db.session.execute(db.text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
            ))
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(db.text("ANALYZE"))
    else:
        with db.engine.begin() as conn:
            tally.analyze(conn)
    tally.compact()
    total = db.session.scalar(select(func.count(Ticket.id)))
    print(f"The desk now has {total} tickets.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--customers", type=int, default=0, help="default: tickets / 4")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--mix", choices=sorted(MIXES), default="desk",
                        help="status mix: desk (default) or sbs, the side-by-side benchmark's shape")
    args = parser.parse_args()
    random.seed(args.seed)

    app = create_app()
    with app.app_context():
        open_desk()
        topics = db.session.scalars(select(HelpTopic)).all()
        priorities = db.session.scalars(select(Priority)).all()
        slas = db.session.scalars(select(SLAPlan)).all()
        agents = db.session.scalars(select(Agent)).all()
        teams = db.session.scalars(select(Team)).all()
        taken = set(db.session.scalars(select(Ticket.number)))
        n_customers = args.customers or max(args.tickets // 4, 1)
        first_customer = (db.session.scalar(select(func.max(Customer.id))) or 0) + 1
        first_ticket = (db.session.scalar(select(func.max(Ticket.id))) or 0) + 1
        now = utcnow()

        tag = secrets.token_hex(3)
        db.session.execute(insert(Customer), [
            {"id": first_customer + i, "email": f"bench-{tag}-{i}@example.org", "name": f"Customer {i}",
             "created_at": now - timedelta(days=400)}
            for i in range(n_customers)
        ])
        body = "The " + " ".join(random.sample(WORDS, 8)) + ".\n\nPlease help, this blocks our team."
        body_html = render_body(body)
        gen = numbers(args.tickets, taken)
        chunk = 5000
        for start in range(0, args.tickets, chunk):
            tickets, entries, events = [], [], []
            for i in range(start, min(start + chunk, args.tickets)):
                tid = first_ticket + i
                created = now - timedelta(minutes=random.randint(1, 60 * 24 * 365))
                status = random.choice(MIXES[args.mix])
                topic = random.choice(topics)
                prio = random.choice(priorities)
                sla = random.choice(slas)
                assignee = random.choice(agents) if status != "new" else None
                updated = min(created + timedelta(hours=random.randint(0, 200)), now)
                tickets.append({
                    "id": tid, "number": next(gen),
                    "subject": " ".join(random.sample(WORDS, 4)).capitalize(),
                    "status": status, "priority_id": prio.id, "urgency": prio.urgency,
                    "topic_id": topic.id, "department_id": topic.department_id,
                    "assignee_id": assignee.id if assignee else None,
                    "team_id": random.choice(teams).id if status == "escalated" else None,
                    "sla_id": sla.id, "due_at": created + timedelta(hours=sla.grace_hours),
                    "source": "web", "customer_id": first_customer + random.randrange(n_customers),
                    "created_at": created, "updated_at": updated,
                    "resolved_at": updated if status in ("resolved", "closed") else None,
                    "closed_at": updated if status == "closed" else None,
                    # as the overdue check leaves a desk: every ticket still worked past its due time flagged
                    "is_overdue": status in ACTIVE_STATUSES and created + timedelta(hours=sla.grace_hours) < now,
                    "is_answered": status != "new",
                    "access_nonce": secrets.token_hex(8), "version": 3,
                })
                customer_id = tickets[-1]["customer_id"]
                entries.append({"ticket_id": tid, "kind": "message", "customer_id": customer_id,
                                "body": body, "body_html": body_html, "created_at": created})
                events.append({"ticket_id": tid, "customer_id": customer_id, "action": "created",
                               "new": f"{topic.name} via web", "version": 1, "created_at": created})
                if assignee:
                    entries.append({"ticket_id": tid, "kind": "reply", "agent_id": assignee.id,
                                    "body": "We are looking into it.", "body_html": "<p>We are looking into it.</p>",
                                    "created_at": updated})
                    entries.append({"ticket_id": tid, "kind": "note", "agent_id": assignee.id,
                                    "body": "Checked the logs.", "body_html": "<p>Checked the logs.</p>",
                                    "created_at": updated})
                    events.append({"ticket_id": tid, "agent_id": assignee.id, "action": "claimed",
                                   "new": assignee.name, "version": 2, "created_at": updated})
                    events.append({"ticket_id": tid, "agent_id": assignee.id, "action": "status",
                                   "old": "New", "new": status.capitalize(), "version": 3, "created_at": updated})
                else:  # three thread entries each, as on the peer's desk: the customer wrote twice more
                    for k in (1, 2):
                        entries.append({"ticket_id": tid, "kind": "message", "customer_id": customer_id,
                                        "body": "Any news on this?", "body_html": "<p>Any news on this?</p>",
                                        "created_at": created + timedelta(minutes=k)})
            db.session.execute(insert(Ticket), tickets)
            db.session.execute(insert(ThreadEntry), entries)
            db.session.execute(insert(Event), events)
            db.session.commit()
            print(f"  {min(start + chunk, args.tickets)} / {args.tickets} tickets", flush=True)
        finish_desk()


if __name__ == "__main__":
    main()
