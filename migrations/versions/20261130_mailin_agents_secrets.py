"""mail in: how a thread entry reached the desk (by mail)

Revision ID: 20261130_mailin_agents_secrets
Revises: 20261129_mail_templates
Create Date: 2026-11-30 06:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "20261130_mailin_agents_secrets"
down_revision = "20261129_mail_templates"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("thread_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("via", sa.String(length=16), nullable=True))


def downgrade():
    with op.batch_alter_table("thread_entry", schema=None) as batch_op:
        batch_op.drop_column("via")
