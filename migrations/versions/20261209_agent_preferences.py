"""agent: the agent's own preferences (theme, queue density and page size, browser notifications)

Revision ID: 20261209_agent_preferences
Revises: 20261208_outbox_render_at_send
Create Date: 2026-12-09 09:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "20261209_agent_preferences"
down_revision = "20261208_outbox_render_at_send"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("agent", schema=None) as batch_op:
        batch_op.add_column(sa.Column("theme", sa.String(length=8), nullable=False, server_default="auto"))
        batch_op.add_column(sa.Column("density", sa.String(length=12), nullable=False,
                                      server_default="comfortable"))
        batch_op.add_column(sa.Column("page_size", sa.Integer(), nullable=False, server_default="25"))
        batch_op.add_column(sa.Column("notify_assigned", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("notify_replies", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("notify_new", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table("agent", schema=None) as batch_op:
        for name in ("notify_new", "notify_replies", "notify_assigned", "page_size", "density", "theme"):
            batch_op.drop_column(name)
