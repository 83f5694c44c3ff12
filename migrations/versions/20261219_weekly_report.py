"""agent: the weekly summary mail of the reports (asked for, and the week last sent for)

Revision ID: 20261219_weekly_report
Revises: 20261218_report_facts
Create Date: 2026-12-19 09:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "20261219_weekly_report"
down_revision = "20261218_report_facts"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("agent", schema=None) as batch_op:
        batch_op.add_column(sa.Column("weekly_report", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("weekly_report_sent_for", sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table("agent", schema=None) as batch_op:
        batch_op.drop_column("weekly_report_sent_for")
        batch_op.drop_column("weekly_report")
