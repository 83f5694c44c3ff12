"""report_cell, report_zone: the dashboard's counts and time histograms per local day, kept by
triggers on ticket and thread_entry and filled from the tickets already there; the ticket tally
counts by channel too; partial indexes for the SLA breaches the dashboard lists

Revision ID: 20261220_report_cells
Revises: 20261219_weekly_report
Create Date: 2026-12-20 09:00:00

The triggers and the fill come from helpdesk.models.report_cell as it is at this revision; a
change to what a ticket contributes comes with a migration of its own that drops the triggers,
creates the new ones and rebuilds the cells.
"""
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from alembic import op
from flask import current_app, has_app_context

from helpdesk.models.report_cell import DROP_TRIGGERS, fill_sql, triggers
from helpdesk.sla import offsets

revision = "20261220_report_cells"
down_revision = "20261219_weekly_report"
branch_labels = None
depends_on = None


def _zone(conn) -> ZoneInfo:
    name = conn.scalar(sa.text("SELECT value FROM setting WHERE key = 'timezone'")) or (
        current_app.config.get("HELPDESK_TIMEZONE") if has_app_context() else None) or "UTC"
    try:
        return ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        return ZoneInfo("UTC")


TALLY_BEFORE = ("status", "department_id", "team_id", "assignee_id", "priority_id", "topic_id", "is_overdue")
TALLY_AFTER = (*TALLY_BEFORE, "source")
TALLY_DROP = {
    "sqlite": ("DROP TRIGGER IF EXISTS ticket_tally_insert", "DROP TRIGGER IF EXISTS ticket_tally_update",
               "DROP TRIGGER IF EXISTS ticket_tally_delete"),
    "postgresql": ("DROP TRIGGER IF EXISTS ticket_tally_insert_delete ON ticket",
                   "DROP TRIGGER IF EXISTS ticket_tally_update ON ticket",
                   "DROP FUNCTION IF EXISTS ticket_tally_change()"),
}


def _tally(dialect, columns, make_triggers):
    """Count the tally afresh by these columns, with these triggers."""
    for statement in TALLY_DROP[dialect]:
        op.execute(statement)
    op.execute("DELETE FROM ticket_tally")
    cols = ", ".join(columns)
    op.execute(f"INSERT INTO ticket_tally ({cols}, n) SELECT {cols}, count(*) FROM ticket GROUP BY {cols}")
    for statement in make_triggers:
        op.execute(statement)


def upgrade():
    conn = op.get_bind()
    dialect = conn.dialect.name
    # The ticket tally counts by channel too (the reports' channel filter reads open tickets from it).
    op.add_column("ticket_tally", sa.Column("source", sa.String(length=16), server_default="web", nullable=False))
    _tally(dialect, TALLY_AFTER, _tally_triggers(dialect, TALLY_AFTER))
    zone_table = op.create_table(
        "report_zone",
        sa.Column("starts", sa.DateTime(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("starts", name=op.f("pk_report_zone")),
    )
    op.create_table(
        "report_cell",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=8), nullable=False),
        sa.Column("cut", sa.String(length=1), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("topic_id", sa.Integer(), nullable=True),
        sa.Column("priority_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=True),
        sa.Column("sla_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("breached", sa.Boolean(), nullable=True),
        sa.Column("planned", sa.Boolean(), nullable=True),
        sa.Column("reopened", sa.Boolean(), nullable=True),
        sa.Column("bucket", sa.Integer(), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("folded", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_cell")),
    )
    op.create_index("ix_report_cell_read", "report_cell", ["event", "cut", "day"])
    op.create_index("ix_report_cell_narrow", "report_cell", ["event", "cut", "department_id", "priority_id", "day"])
    op.create_index("ix_report_cell_unfolded", "report_cell", ["day"], sqlite_where=sa.text("folded = 0"),
                    postgresql_where=sa.text("NOT folded"))
    op.drop_index("ix_ticket_first_responded_at", table_name="ticket")
    op.create_index("ix_ticket_first_responded_at", "ticket", ["first_responded_at"],
                    sqlite_where=sa.text("first_responded_at IS NOT NULL"),
                    postgresql_where=sa.text("first_responded_at IS NOT NULL"))
    op.create_index("ix_ticket_unanswered_due", "ticket", ["first_response_due_at"],
                    sqlite_where=sa.text("first_responded_at IS NULL"),
                    postgresql_where=sa.text("first_responded_at IS NULL"))
    for name, column in (("ix_ticket_fr_breached_created", "first_response_breached"),
                         ("ix_ticket_res_breached_created", "resolution_breached")):
        op.create_index(name, "ticket", ["created_at"], sqlite_where=sa.text(f"{column} IS 1"),
                        postgresql_where=sa.text(f"{column} IS true"))
    zone = _zone(conn)
    op.bulk_insert(zone_table, [{"starts": at, "minutes": minutes, "zone": zone.key}
                                for at, minutes in offsets(zone, datetime(1970, 1, 1), datetime(2100, 1, 1))])
    for statement in fill_sql(dialect):
        op.execute(statement)
    for statement in triggers(dialect):
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    for statement in DROP_TRIGGERS[dialect]:
        op.execute(statement)
    op.drop_index("ix_ticket_res_breached_created", table_name="ticket")
    op.drop_index("ix_ticket_fr_breached_created", table_name="ticket")
    op.drop_index("ix_ticket_unanswered_due", table_name="ticket")
    op.drop_index("ix_ticket_first_responded_at", table_name="ticket")
    op.create_index("ix_ticket_first_responded_at", "ticket", ["first_responded_at"])
    op.drop_index("ix_report_cell_unfolded", table_name="report_cell")
    op.drop_index("ix_report_cell_narrow", table_name="report_cell")
    op.drop_index("ix_report_cell_read", table_name="report_cell")
    op.drop_table("report_cell")
    op.drop_table("report_zone")
    for statement in TALLY_DROP[dialect]:
        op.execute(statement)
    with op.batch_alter_table("ticket_tally") as batch_op:
        batch_op.drop_column("source")
    _tally(dialect, TALLY_BEFORE, _tally_triggers(dialect, TALLY_BEFORE))


def _tally_triggers(dialect, columns):
    """The tally's triggers counting by these columns (as helpdesk.models.tally writes them)."""
    cols = ", ".join(columns)
    insert = f"INSERT INTO ticket_tally ({cols}, n) VALUES "

    def values(row, n):
        return "(" + ", ".join(f"{row}.{c}" for c in columns) + f", {n})"

    def changed(differs):
        return " OR ".join(f"OLD.{c} {differs} NEW.{c}" for c in columns)

    if dialect == "sqlite":
        return (
            f"CREATE TRIGGER ticket_tally_insert AFTER INSERT ON ticket BEGIN {insert}{values('NEW', 1)}; END",
            f"CREATE TRIGGER ticket_tally_update AFTER UPDATE OF {cols} ON ticket WHEN {changed('IS NOT')} "
            f"BEGIN {insert}{values('OLD', -1)}, {values('NEW', 1)}; END",
            f"CREATE TRIGGER ticket_tally_delete AFTER DELETE ON ticket BEGIN {insert}{values('OLD', -1)}; END",
        )
    return (
        "CREATE FUNCTION ticket_tally_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF TG_OP <> 'INSERT' THEN {insert}{values('OLD', -1)}; END IF; "
        f"IF TG_OP <> 'DELETE' THEN {insert}{values('NEW', 1)}; END IF; "
        "RETURN NULL; END $$",
        "CREATE TRIGGER ticket_tally_insert_delete AFTER INSERT OR DELETE ON ticket "
        "FOR EACH ROW EXECUTE FUNCTION ticket_tally_change()",
        f"CREATE TRIGGER ticket_tally_update AFTER UPDATE OF {cols} ON ticket "
        f"FOR EACH ROW WHEN ({changed('IS DISTINCT FROM')}) EXECUTE FUNCTION ticket_tally_change()",
    )
