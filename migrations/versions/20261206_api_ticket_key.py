"""API: the key that opened a ticket (ticket.api_key_id), so only that key writes to it

Revision ID: 20261206_api_ticket_key
Revises: 20261201_mailbox_plaintext
Create Date: 2026-12-06 19:00:00

Tickets opened before this revision have no key recorded: no API key may add messages to them.
"""
from alembic import op
import sqlalchemy as sa

revision = "20261206_api_ticket_key"
down_revision = "20261201_mailbox_plaintext"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("api_key_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_ticket_api_key_id_api_key"), "api_key",
                                    ["api_key_id"], ["id"], ondelete="SET NULL")


def downgrade():
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_ticket_api_key_id_api_key"), type_="foreignkey")
        batch_op.drop_column("api_key_id")
