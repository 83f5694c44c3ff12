"""ticket: what reports measure (finished_at, first response and resolution times on the wall
clock and in the SLA plan's hours, reopen count), backfilled from each ticket's history

Revision ID: 20261218_report_facts
Revises: 20261217_canned_attachments
Create Date: 2026-12-18 09:00:00
"""
from datetime import date, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfoNotFoundError

import sqlalchemy as sa
from alembic import op
from flask import current_app, has_app_context

from helpdesk import sla

revision = "20261218_report_facts"
down_revision = "20261217_canned_attachments"
branch_labels = None
depends_on = None

COLUMNS = ("first_response_secs", "first_response_work_secs", "resolution_secs", "resolution_work_secs")
DONE = ("Resolved", "Closed")  # the history's labels of the statuses that end work
BATCH = 2000


def upgrade():
    # Plain ADD COLUMN (a batch copy of the table would trip over its generated column on SQLite).
    op.add_column("ticket", sa.Column("finished_at", sa.DateTime(), nullable=True))
    for name in COLUMNS:
        op.add_column("ticket", sa.Column(name, sa.Integer(), nullable=True))
    op.add_column("ticket", sa.Column("reopen_count", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_ticket_first_responded_at", "ticket", ["first_responded_at"])
    op.create_index("ix_ticket_finished_at", "ticket", ["finished_at"])
    op.create_index("ix_ticket_first_response_due_at", "ticket", ["first_response_due_at"])
    op.create_index("ix_ticket_status_created", "ticket", ["status", "created_at"])
    op.create_index("ix_thread_entry_created", "thread_entry", ["created_at", "kind", "agent_id", "ticket_id"])
    _backfill(op.get_bind())


def downgrade():
    op.drop_index("ix_thread_entry_created", table_name="thread_entry")
    op.drop_index("ix_ticket_status_created", table_name="ticket")
    op.drop_index("ix_ticket_first_response_due_at", table_name="ticket")
    op.drop_index("ix_ticket_finished_at", table_name="ticket")
    op.drop_index("ix_ticket_first_responded_at", table_name="ticket")
    for name in ("reopen_count", *COLUMNS, "finished_at"):
        op.execute(f"ALTER TABLE ticket DROP COLUMN {name}")  # in place on SQLite too (3.35+)


# --- backfill: the same arithmetic the lifecycle now does as it happens (tickets/deadlines.py) ----


def _as_datetime(value):
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _schedules(conn) -> dict:
    desk_tz = conn.scalar(sa.text("SELECT value FROM setting WHERE key = 'timezone'")) or (
        current_app.config.get("HELPDESK_TIMEZONE") if has_app_context() else None) or "UTC"
    holidays: dict[int, list] = {}
    for sla_id, day in conn.execute(sa.text("SELECT sla_id, day FROM sla_holiday")):
        holidays.setdefault(sla_id, []).append(SimpleNamespace(day=day if isinstance(day, date) else
                                                               date.fromisoformat(str(day))))
    schedules = {None: sla.Schedule()}
    rows = conn.execute(sa.text("SELECT id, schedule, business_days, opens_at, closes_at, timezone FROM sla_plan"))
    for row in rows.mappings():
        plan = SimpleNamespace(**row, holidays=holidays.get(row["id"], []))
        try:
            schedules[row["id"]] = sla.schedule_for(plan, desk_tz)
        except (ValueError, ZoneInfoNotFoundError):
            schedules[row["id"]] = sla.Schedule()
    return schedules


def _worked(hours, start, end, pauses) -> float:
    total = sla.business_seconds_between(hours, start, end)
    for paused_from, paused_to in pauses:
        total -= sla.business_seconds_between(hours, max(paused_from, start), min(paused_to or end, end))
    return total


def _backfill(conn) -> None:
    schedules = _schedules(conn)
    last = 0
    while True:
        tickets = conn.execute(sa.text(
            "SELECT id, sla_id, status, created_at, first_responded_at, resolved_at, closed_at FROM ticket "
            "WHERE id > :last AND (first_responded_at IS NOT NULL OR status IN ('resolved', 'closed') "
            "OR reopened_at IS NOT NULL) ORDER BY id LIMIT :batch"), {"last": last, "batch": BATCH}).mappings().all()
        if not tickets:
            return
        last = tickets[-1]["id"]
        ids = [t["id"] for t in tickets]
        history: dict[int, list] = {}
        for ticket_id, at, old, new in conn.execute(sa.text(
                "SELECT ticket_id, created_at, old, new FROM event WHERE action = 'status' "
                "AND ticket_id IN :ids ORDER BY id").bindparams(sa.bindparam("ids", expanding=True)), {"ids": ids}):
            history.setdefault(ticket_id, []).append((_as_datetime(at), old, new))
        pauses: dict[int, list] = {}
        for ticket_id, started, ended in conn.execute(sa.text(
                "SELECT ticket_id, started_at, ended_at FROM sla_pause WHERE ticket_id IN :ids")
                .bindparams(sa.bindparam("ids", expanding=True)), {"ids": ids}):
            pauses.setdefault(ticket_id, []).append((_as_datetime(started), _as_datetime(ended)))
        updates = [_facts(t, schedules.get(t["sla_id"], sla.Schedule()), history.get(t["id"], []),
                          pauses.get(t["id"], [])) for t in tickets]
        conn.execute(sa.text(
            "UPDATE ticket SET finished_at = :finished_at, first_response_secs = :first_response_secs, "
            "first_response_work_secs = :first_response_work_secs, resolution_secs = :resolution_secs, "
            "resolution_work_secs = :resolution_work_secs, reopen_count = :reopen_count WHERE id = :id")
            .bindparams(sa.bindparam("finished_at", type_=sa.DateTime())), updates)


def _facts(ticket, hours, history, pauses) -> dict:
    created = _as_datetime(ticket["created_at"])
    facts = {"id": ticket["id"], "finished_at": None, "first_response_secs": None, "first_response_work_secs": None,
             "resolution_secs": None, "resolution_work_secs": None, "reopen_count": 0}
    answered = _as_datetime(ticket["first_responded_at"])
    if answered is not None:
        facts["first_response_secs"] = max(int(round((answered - created).total_seconds())), 0)
        facts["first_response_work_secs"] = max(int(round(sla.business_seconds_between(hours, created, answered))), 0)
    # Worked stretches from the history: each runs from creation or a reopening to its end.
    start, worked, finished = created, 0.0, None
    for at, old, new in history:
        if new in DONE and old not in DONE and start is not None:
            worked += _worked(hours, start, at, pauses)
            start, finished = None, at
        elif old in DONE and new not in DONE:
            facts["reopen_count"] += 1
            start, finished = at, None
    if ticket["status"] in ("resolved", "closed"):
        finished = finished or _as_datetime(ticket["resolved_at"]) or _as_datetime(ticket["closed_at"])
        facts["finished_at"] = finished
        facts["resolution_secs"] = max(int(round((finished - created).total_seconds())), 0)
        facts["resolution_work_secs"] = max(int(round(worked)), 0)
    elif worked:
        facts["resolution_work_secs"] = max(int(round(worked)), 0)
    return facts
