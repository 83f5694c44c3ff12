"""password reset requests: the form records the address, the outbox sender looks it up

Revision ID: 20261201_password_reset_requests
Revises: 20261130_mailin_agents_secrets
Create Date: 2026-12-01 09:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "20261201_password_reset_requests"
down_revision = "20261130_mailin_agents_secrets"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "password_reset_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_reset_request")),
    )


def downgrade():
    op.drop_table("password_reset_request")
