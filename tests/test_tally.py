"""The ticket tally behind every queue count: exact whatever changes a ticket (the lifecycle, a
bulk update outside it, a deletion), unchanged by folding, folded when it grows, and SQLite's
planner statistics gathered again when the desk has grown."""
from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import delete, func, select, update

from helpdesk import tickets
from helpdesk.clock import utcnow
from helpdesk.extensions import db
from helpdesk.models import Priority, Ticket, TicketTally
from helpdesk.tickets import queues, tally


def counted_by_hand(agent) -> dict[str, int]:
    """Every queue's count the slow way: each ticket the agent sees, one by one."""
    now = utcnow()
    seen = [t for t in db.session.scalars(select(Ticket)) if tickets.can_see(agent, t)]
    active = ("new", "open", "pending", "escalated")
    return {
        "open": sum(t.status in ("new", "open", "escalated") for t in seen),
        "mine": sum(t.assignee_id == agent.id and t.status in active for t in seen),
        "unassigned": sum(t.assignee_id is None and t.status in active for t in seen),
        "overdue": sum(t.overdue_at(now) for t in seen),
        "pending": sum(t.status == "pending" for t in seen),
        "escalated": sum(t.status == "escalated" for t in seen),
        "closed": sum(t.status in ("resolved", "closed") for t in seen),
    }


def fresh_counts(agent):
    queues._COUNTS_CACHE.clear()
    return queues.counts(agent)


@pytest.fixture
def worked(desk, make_ticket):
    made = [make_ticket(status=status) for status in ("new", "open", "pending", "escalated", "resolved", "closed")]
    made += [make_ticket(topic="Password reset", status="open"), make_ticket()]
    return made


def test_counts_match_the_tickets_through_the_lifecycle(desk, worked):
    for who in (desk.admin, desk.manager, desk.tech, desk.sysadmin):
        assert fresh_counts(who) == counted_by_hand(who), who.name
    tickets.assign(desk.manager, worked[0], agent=desk.tech)
    tickets.transfer(desk.manager, worked[1], desk.departments["IT Operations"])
    tickets.reopen(desk.manager, worked[4])
    for who in (desk.admin, desk.manager, desk.tech, desk.sysadmin):
        assert fresh_counts(who) == counted_by_hand(who), who.name


def test_a_bulk_update_outside_the_lifecycle_is_counted_too(desk, worked):
    emergency = db.session.scalar(select(Priority).where(Priority.key == "emergency"))
    db.session.execute(update(Ticket).values(priority_id=emergency.id, status="open"))
    db.session.execute(delete(Ticket).where(Ticket.id == worked[-1].id))
    db.session.commit()
    assert fresh_counts(desk.admin) == counted_by_hand(desk.admin)
    assert tally.by_status() == {"open": len(worked) - 1}
    filtered = queues.page(desk.admin, "open", queues.Params(priority="emergency"), known=None)
    assert filtered.total == len(worked) - 1


def test_folding_keeps_every_sum_and_leaves_a_row_per_group(desk, worked):
    before = {who.name: fresh_counts(who) for who in (desk.admin, desk.tech)}
    rows_before = db.session.scalar(select(func.count()).select_from(TicketTally))
    assert tally.compact()
    db.session.expire_all()
    rows_after = db.session.scalar(select(func.count()).select_from(TicketTally))
    groups = Counter(
        (t.status, t.department_id, t.team_id, t.assignee_id, t.priority_id, t.topic_id, t.is_overdue)
        for t in db.session.scalars(select(Ticket))
    )
    assert rows_after == len(groups) < rows_before
    assert {who.name: fresh_counts(who) for who in (desk.admin, desk.tech)} == before
    assert tally.compact()  # again: nothing changes
    assert db.session.scalar(select(func.count()).select_from(TicketTally)) == rows_after


def test_a_count_folds_a_grown_tally_first(desk, worked, monkeypatch):
    monkeypatch.setattr(tally, "FOLD_AFTER", 3)
    rows_before = tally.rows()
    assert rows_before > 3
    assert fresh_counts(desk.admin) == counted_by_hand(desk.admin)  # exact before folding
    db.session.rollback()
    assert tally.rows() < rows_before
    assert fresh_counts(desk.admin) == counted_by_hand(desk.admin)


def test_sqlite_statistics_are_gathered_again_when_the_desk_grew(desk, make_ticket, monkeypatch):
    if db.engine.dialect.name != "sqlite":
        assert tally.refresh_statistics() is False  # PostgreSQL's autovacuum keeps its own
        return
    monkeypatch.setattr(tally, "STALE_AFTER", 2)
    for _ in range(3):
        make_ticket()
    with db.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS sqlite_stat1")
    assert tally.refresh_statistics() is True  # none yet
    assert tally.refresh_statistics() is False  # fresh
    make_ticket()
    assert tally.refresh_statistics() is False  # one more ticket: less than STALE_AFTER
    for _ in range(2):
        make_ticket()
    assert tally.refresh_statistics() is True
    with db.engine.connect() as conn:
        stat = conn.exec_driver_sql(
            "SELECT stat FROM sqlite_stat1 WHERE tbl = 'ticket' AND idx = 'ix_ticket_status_updated'").scalar()
    assert int(stat.split()[0]) == db.session.scalar(select(func.count()).select_from(Ticket))


def test_the_overdue_check_round_folds_the_tally(app, desk, worked):
    from helpdesk import jobs

    assert tally.rows() > len(worked)
    jobs.JOBS["overdue"].round(lambda line: None)
    db.session.rollback()
    assert tally.rows() <= len({(t.status, t.department_id, t.assignee_id, t.topic_id)
                                for t in db.session.scalars(select(Ticket))}) * 2
    assert fresh_counts(desk.admin) == counted_by_hand(desk.admin)
