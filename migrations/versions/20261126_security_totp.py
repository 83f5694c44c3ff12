"""agent two-factor sign-in (TOTP)

Revision ID: 20261126_security_totp
Revises: 7576fbe5797d
Create Date: 2026-11-26 10:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "20261126_security_totp"
down_revision = "20261126_channels"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("agent") as batch:
        batch.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("agent") as batch:
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_secret")
