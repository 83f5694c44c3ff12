"""report_cell, report_zone: the dashboard's counts and time histograms per local day, kept by
triggers on ticket and filled from the tickets already there; partial indexes for the SLA
breaches the dashboard lists

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


def upgrade():
    conn = op.get_bind()
    dialect = conn.dialect.name
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
        sa.Column("breached", sa.Boolean(), nullable=True),
        sa.Column("planned", sa.Boolean(), nullable=True),
        sa.Column("reopened", sa.Boolean(), nullable=True),
        sa.Column("bucket", sa.Integer(), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("folded", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_cell")),
    )
    op.create_index("ix_report_cell_read", "report_cell", ["event", "cut", "day"])
    op.create_index("ix_report_cell_unfolded", "report_cell", ["day"], sqlite_where=sa.text("folded = 0"),
                    postgresql_where=sa.text("NOT folded"))
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
    for statement in DROP_TRIGGERS[op.get_bind().dialect.name]:
        op.execute(statement)
    op.drop_index("ix_ticket_res_breached_created", table_name="ticket")
    op.drop_index("ix_ticket_fr_breached_created", table_name="ticket")
    op.drop_index("ix_ticket_unanswered_due", table_name="ticket")
    op.drop_index("ix_report_cell_unfolded", table_name="report_cell")
    op.drop_index("ix_report_cell_read", table_name="report_cell")
    op.drop_table("report_cell")
    op.drop_table("report_zone")
