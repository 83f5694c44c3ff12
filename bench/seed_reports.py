"""Fill a desk with tickets spread over the last years, each worked as the lifecycle would have
worked it, for the reports dashboard's benchmark.

    HELPDESK_DATABASE_URL=sqlite:////tmp/bench_reports/desk.sqlite3 \
        .venv/bin/python bench/seed_reports.py --tickets 1000000 --years 2
    HELPDESK_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_reports \
        .venv/bin/python bench/seed_reports.py --tickets 1000000 --years 2

Creation times follow a desk's rhythm in its time zone (busy weekday office hours, quiet nights,
weekends and Christmas, a slow growth); each ticket gets a thread (the customer's message, one to
four replies and notes, the customer's answers), a history (status changes, assignments,
escalations, overdue flags), SLA pauses while it awaited the customer, and the report columns
(first response and resolution times, wall and in the plan's hours, breaches, reopenings) as
bench/report_life.py lives it through. The demo desk (bench/seed.py) gets --agents agents in all,
and --timezone as its time zone when it has none set (the rhythm and the business hours count there).

Rows go in by chunks of --chunk tickets, one transaction each: executemany on SQLite, COPY on
PostgreSQL; the ticket tally's triggers count them, and it is folded at the end.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import report_texts as texts  # noqa: E402
from report_clock import DAY, EPOCH, Clock, arrivals, seconds, staffed  # noqa: E402
from report_life import ENTRY_COLUMNS, EVENT_COLUMNS, PAUSE_COLUMNS, TICKET_COLUMNS, Desk, Plan, live  # noqa: E402
from seed import ALPHABET, finish_desk, numbers, open_desk  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from helpdesk import create_app, sla  # noqa: E402
from helpdesk.clock import utcnow  # noqa: E402
from helpdesk.extensions import db  # noqa: E402
from helpdesk.models import (  # noqa: E402
    Agent,
    Customer,
    Department,
    HelpTopic,
    Priority,
    Rule,
    Setting,
    SLAPlan,
    Team,
    Ticket,
)

TOPIC_WEIGHTS = {"General inquiry": 45, "Password reset": 30, "Billing question": 18, "Business Critical Outage": 3}
URGENCY_WEIGHTS = {1: 25, 2: 55, 3: 15, 4: 5}
FIRST_NAMES = ("Anna", "Bram", "Chloé", "Daan", "Eva", "Finn", "Greta", "Hugo", "Iris", "Jesse", "Kim", "Lars",
               "Mila", "Noah", "Olga", "Piet", "Quinn", "Roos", "Sem", "Tess", "Umar", "Vera", "Wout", "Yara")
LAST_NAMES = ("de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos",
              "Vos", "Peters", "Hendriks", "van Dijk", "Dekker", "Brouwer", "Kok", "Verhoeven", "Kaya", "Nowak")


class SQLiteWriter:
    """executemany on the driver's connection: times as SQLAlchemy stores them on SQLite."""

    def __init__(self, engine):
        self.raw = engine.raw_connection()
        self.conn = self.raw.driver_connection
        self.conn.execute("PRAGMA cache_size = -262144")  # 256 MB: the ticket indexes stay in memory

    @staticmethod
    def stamp(t: float) -> str:
        return (EPOCH + timedelta(seconds=t)).isoformat(" ", "microseconds")

    def write(self, table, columns, rows):
        marks = ", ".join("?" * len(columns))
        self.conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def commit(self):
        self.conn.commit()

    def close(self):
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.raw.close()


class PostgresWriter:
    """COPY through psycopg, one transaction per chunk."""

    def __init__(self, engine):
        self.raw = engine.raw_connection()
        self.conn = self.raw.driver_connection

    @staticmethod
    def stamp(t: float):
        return EPOCH + timedelta(seconds=t)

    def write(self, table, columns, rows):
        with self.conn.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def commit(self):
        self.conn.commit()

    def close(self):
        self.raw.close()


def desk_timezone(wanted: str) -> str:
    """The desk's time zone; a desk that has none set gets `wanted` (its business hours count there)."""
    row = db.session.get(Setting, "timezone")
    if row is None or not row.value:
        db.session.merge(Setting(key="timezone", value=wanted))
        db.session.commit()
        return wanted
    return row.value


def add_agents(total: int, rng, since) -> None:
    """Agents up to `total`, spread over the departments (two to one, by ticket volume) and the teams."""
    have = db.session.scalar(select(func.count(Agent.id)))
    departments = db.session.scalars(select(Department).order_by(Department.id)).all()
    teams = db.session.scalars(select(Team).order_by(Team.id)).all()
    password = generate_password_hash("bench-agent-1", method="scrypt")
    for i in range(have, total):
        first, last = FIRST_NAMES[i % len(FIRST_NAMES)], LAST_NAMES[(i * 7) % len(LAST_NAMES)]
        agent = Agent(email=f"agent{i}@bench.example.org", name=f"{first} {last}", role="agent",
                      password_hash=password, created_at=since)
        agent.departments = [departments[0] if i % 3 else departments[-1]]
        if teams and i % 4 == 0:
            agent.teams = [teams[(i // 4) % len(teams)]]
        db.session.add(agent)
    db.session.commit()


def build_desk(now: float, start: float, tz_name: str, rng, writer, first_customer: int, n_customers: int) -> Desk:
    """The desk's setup as each ticket's life reads it."""
    horizon = now + 200 * DAY
    plans = {None: Plan(None, Clock(sla.Schedule(), start, horizon), None, None)}
    for plan in db.session.scalars(select(SLAPlan)):
        plans[plan.id] = Plan(plan.id, Clock(sla.schedule_for(plan, tz_name), start - 2 * DAY, horizon),
                              plan.grace_hours * 3600.0, (plan.first_response_hours or 0) * 3600.0 or None)
    topics, weights, total = [], [], 0
    for topic in db.session.scalars(select(HelpTopic).where(HelpTopic.active.is_(True)).order_by(HelpTopic.id)):
        priority = topic.effective_priority
        fixed = None if topic.customer_sets_priority or priority is None else (priority.id, priority.urgency)
        department = topic.effective_department or db.session.scalars(select(Department).limit(1)).one()
        plan = topic.effective_sla or department.sla
        topics.append((topic.id, topic.name, department.id, fixed, plan.id if plan else None))
        total += TOPIC_WEIGHTS.get(topic.name, 10)
        weights.append(total)
    priorities = [(p.id, p.urgency) for p in db.session.scalars(select(Priority).order_by(Priority.urgency))]
    agents, managers, names = {}, {}, {}
    everyone = db.session.scalars(select(Agent).where(Agent.active.is_(True)).order_by(Agent.id)).all()
    for agent in everyone:
        names[agent.id] = agent.name
    for department in db.session.scalars(select(Department)):
        staff = [a.id for a in department.agents if a.active] or [a.id for a in everyone]
        cumulated, acc = [], 0.0
        for _ in staff:
            acc += rng.uniform(0.5, 1.5)  # some agents take more tickets than others
            cumulated.append(acc)
        agents[department.id] = (staff, cumulated)
        if department.manager_id:
            managers[department.id] = department.manager_id
    teams = [(t.id, t.name, [a.id for a in t.members if a.active])
             for t in db.session.scalars(select(Team).where(Team.active.is_(True)))]
    rule = db.session.scalar(select(Rule).where(Rule.system == "auto_close", Rule.active.is_(True)))
    taken = set(db.session.scalars(select(Ticket.number)))
    salt = rng.getrandbits(30)

    def number(tid: int) -> str:
        n = (tid * 0x9E3779B1 + salt) % (1 << 30)  # odd factor: one number per id
        code = "".join(ALPHABET[(n >> shift) & 31] for shift in (25, 20, 15, 10, 5, 0))
        return next(numbers(1, taken)) if code in taken else code

    pools = {"first": texts.first_messages(), "replies": texts.rendered(texts.REPLIES),
             "questions": texts.rendered(texts.QUESTIONS), "notes": texts.rendered(texts.NOTES),
             "follow_ups": texts.rendered(texts.FOLLOW_UPS), "resolutions": texts.rendered(texts.RESOLUTIONS),
             "reopens": texts.rendered(texts.REOPENS)}
    priority_weights, acc = [], 0
    for _, urgency in priorities:
        acc += URGENCY_WEIGHTS.get(urgency, 10)
        priority_weights.append(acc)
    return Desk(
        now=now, rng=rng, stamp=writer.stamp, number=number, staff=Clock(staffed(ZoneInfo(tz_name)), start, horizon),
        plans=plans, topics=topics, topic_weights=weights, priorities=priorities, priority_weights=priority_weights,
        agents=agents, managers=managers, teams=teams, names=names,
        customers=(first_customer, n_customers),
        auto_close=(rule.id, rule.name, (rule.wait_minutes or 0) * 60.0) if rule else None, pools=pools,
    )


def write_customers(writer, first: int, count: int, since: float, rng, chunk: int) -> None:
    tag = f"{rng.getrandbits(24):06x}"
    stamp = writer.stamp(since)
    for start in range(0, count, chunk):
        rows = []
        for i in range(start, min(start + chunk, count)):
            name = f"{FIRST_NAMES[i % len(FIRST_NAMES)]} {LAST_NAMES[(i // len(FIRST_NAMES)) % len(LAST_NAMES)]}"
            rows.append((first + i, f"{name.split()[0].lower()}.{i}.{tag}@example.org", name, stamp))
        writer.write("customer", ("id", "email", "name", "created_at"), rows)
        writer.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=20000)
    parser.add_argument("--years", type=float, default=2.0, help="creation times spread over this many years")
    parser.add_argument("--customers", type=int, default=0, help="default: tickets / 4")
    parser.add_argument("--agents", type=int, default=30, help="agents on the desk in all (default 30)")
    parser.add_argument("--timezone", default="Europe/Amsterdam", help="the desk's, when it has none set")
    parser.add_argument("--chunk", type=int, default=5000, help="tickets per transaction")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    began = time.monotonic()

    app = create_app()
    with app.app_context():
        open_desk()
        tz_name = desk_timezone(args.timezone)
        now = seconds(utcnow())
        start = now - args.years * 365.25 * DAY
        add_agents(args.agents, rng, EPOCH + timedelta(seconds=start - 60 * DAY))
        n_customers = args.customers or max(args.tickets // 4, 1)
        first_customer = (db.session.scalar(select(func.max(Customer.id))) or 0) + 1
        first_ticket = (db.session.scalar(select(func.max(Ticket.id))) or 0) + 1
        dialect = db.engine.dialect.name
        writer = (PostgresWriter if dialect == "postgresql" else SQLiteWriter)(db.engine)
        desk = build_desk(now, start, tz_name, rng, writer, first_customer, n_customers)
        db.session.commit()
        print(f"{dialect}: {args.tickets} tickets over {args.years} years, desk time zone {tz_name}", flush=True)
        write_customers(writer, first_customer, n_customers, start - 30 * DAY, rng, args.chunk * 4)
        tickets, entries, events, pauses = [], [], [], []

        def flush():
            writer.write("ticket", TICKET_COLUMNS, tickets)
            writer.write("thread_entry", ENTRY_COLUMNS, entries)
            writer.write("event", EVENT_COLUMNS, events)
            writer.write("sla_pause", PAUSE_COLUMNS, pauses)
            writer.commit()
            for rows in (tickets, entries, events, pauses):
                rows.clear()

        for i, created in enumerate(arrivals(args.tickets, start, now, ZoneInfo(tz_name), rng)):
            life = live(desk, first_ticket + i, created)
            tickets.append(life.ticket_row())
            entries.extend(life.entries)
            events.extend(life.events)
            pauses.extend(life.pauses)
            if len(tickets) == args.chunk:
                flush()
                if (i + 1) % (args.chunk * 20) == 0:
                    print(f"  {i + 1} / {args.tickets} tickets, {time.monotonic() - began:.0f} s", flush=True)
        flush()
        writer.close()
        finish_desk()
        if dialect == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                # The tally's million change rows are folded: its table shrinks to the few it keeps.
                conn.execute(db.text("VACUUM FULL ticket_tally"))
                conn.execute(db.text("VACUUM (ANALYZE)"))  # as autovacuum would leave it: all pages visible
        print(f"Seeded in {time.monotonic() - began:.0f} s.")


if __name__ == "__main__":
    main()
