"""The queue pages read their rows and counts through indexes, on SQLite and PostgreSQL, so a
queue stays as fast at a million tickets as at a thousand: a change that loses an index, or
writes a query no index serves, fails here (bench/queue_plans.py shows the plans at size).

The desk gets a few thousand tickets shaped like a busy one and the planner's statistics, then
every statement of each queue page is explained. On PostgreSQL sequential scans are priced out
(a small table is otherwise read whole by choice), so a plan without an index means there is none.
"""
from __future__ import annotations

import random
import re
from datetime import timedelta

import pytest
from sqlalchemy import event, insert, select

from helpdesk import tickets
from helpdesk.clock import utcnow
from helpdesk.extensions import db
from helpdesk.models import Agent, Customer, HelpTopic, Priority, SLAPlan, Ticket
from helpdesk.tickets import queues, tally

TICKETS = 3000
MIX = ["new"] * 10 + ["open"] * 55 + ["pending"] * 10 + ["escalated"] * 5 + ["resolved"] * 10 + ["closed"] * 10


@pytest.fixture
def busy_desk(desk):
    rng = random.Random(12)
    customer = Customer(email="many@example.net", name="Many Tickets")
    db.session.add(customer)
    db.session.commit()
    topics = db.session.scalars(select(HelpTopic)).all()
    priorities = db.session.scalars(select(Priority)).all()
    agents = db.session.scalars(select(Agent)).all()
    plan = db.session.scalars(select(SLAPlan)).first()
    now = utcnow()
    rows = []
    for i in range(TICKETS):
        status = rng.choice(MIX)
        topic, priority = rng.choice(topics), rng.choice(priorities)
        created = now - timedelta(hours=rng.randint(1, 24 * 200))
        rows.append({
            "number": f"P{i:06d}", "subject": f"Busy desk ticket {i}", "status": status,
            "priority_id": priority.id, "urgency": priority.urgency, "topic_id": topic.id,
            "department_id": topic.department_id, "customer_id": customer.id,
            "assignee_id": rng.choice(agents).id if status != "new" else None,
            "sla_id": plan.id, "due_at": created + timedelta(hours=rng.randint(1, 24 * 30)),
            "is_overdue": False, "created_at": created, "updated_at": created + timedelta(hours=1),
        })
    db.session.execute(insert(Ticket), rows)
    db.session.commit()
    # As the desk's jobs leave it: everything past due flagged, the tally folded, statistics fresh.
    db.session.execute(Ticket.__table__.update().where(Ticket.next_due_at < now).values(is_overdue=True))
    db.session.commit()
    tally.compact()
    with db.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            tally.analyze(conn)
        else:
            conn.exec_driver_sql("ANALYZE ticket")
    return desk


def _statements(client, path) -> list[tuple[str, object]]:
    seen = []

    def listen(conn, cursor, statement, parameters, context, executemany):
        if "ticket" in statement and statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    queues._COUNTS_CACHE.clear()
    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    return seen


def _plan(statement, parameters) -> str:
    with db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            return "\n".join(row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
        conn.exec_driver_sql("SET enable_seqscan = off")
        try:
            return "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters))
        finally:
            conn.exec_driver_sql("RESET enable_seqscan")
            conn.rollback()


def _unindexed(plan: str) -> list[str]:
    """The steps of a plan that read the ticket table without an index, or sort its rows."""
    bad = []
    for line in plan.splitlines():
        step = line.strip()
        if re.fullmatch(r"SCAN ticket( AS \w+)?", step) or re.search(r"Seq Scan on ticket\b(?! *_)", step):
            bad.append(step)
    return bad


QUEUE_PAGES = [
    "/agent/",
    "/agent/queue/mine",
    "/agent/queue/unassigned",
    "/agent/queue/overdue",
    "/agent/queue/pending",
    "/agent/queue/closed",
    "/agent/?department=1",
    "/agent/?sort=due&dir=asc",
    "/agent/?sort=updated",
]


@pytest.mark.parametrize("who", ["admin", "tech"])
def test_every_queue_page_reads_tickets_through_an_index(client, login, busy_desk, who):
    login(getattr(busy_desk, who))
    for path in QUEUE_PAGES:
        statements = _statements(client, path)
        assert statements, path
        for statement, parameters in statements:
            plan = _plan(statement, parameters)
            assert _unindexed(plan) == [], f"{path}: {' '.join(statement.split())}\n{plan}"


def test_the_rows_of_the_open_queue_come_in_index_order_not_sorted(client, login, busy_desk):
    """The first page is read off an index in the page's order: no sort of every open ticket."""
    login(busy_desk.admin)
    rows = [(s, p) for s, p in _statements(client, "/agent/") if "ORDER BY" in s and "LIMIT" in s]
    assert len(rows) == 1
    plan = _plan(*rows[0])
    assert "ix_ticket_urgency_updated" in plan, plan
    assert "TEMP B-TREE" not in plan and not re.search(r"^\s*(->\s*)?(Incremental )?Sort\b", plan, re.M), plan


def test_the_counts_read_the_tally_and_only_tickets_past_due_since_the_check(client, login, busy_desk):
    login(busy_desk.tech)
    counting = [(s, p) for s, p in _statements(client, "/agent/") if "ticket_tally" in s]
    assert len(counting) == 1
    plan = _plan(*counting[0])
    assert "ix_ticket_next_due_at" in plan, plan
    assert _unindexed(plan) == [], plan


def test_the_overdue_check_reads_only_tickets_past_due_since_the_last_check(busy_desk):
    seen = []

    def listen(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "FROM ticket" in statement:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        assert tickets.check_overdue() == []  # every ticket past due is flagged already
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    assert len(seen) == 1
    plan = _plan(*seen[0])
    assert "ix_ticket_next_due_at" in plan and _unindexed(plan) == [], plan
