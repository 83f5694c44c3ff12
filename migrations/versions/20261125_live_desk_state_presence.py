"""live agent panel: desk_state (the desk-wide change counter) and presence

Revision ID: 20261125_live
Revises: 7576fbe5797d
Create Date: 2026-11-25 12:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "20261125_live"
down_revision = "3c1a9e5d7b20"
branch_labels = None
depends_on = None


def upgrade():
    desk_state = op.create_table(
        "desk_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_state")),
    )
    op.bulk_insert(desk_state, [{"id": 1, "version": 0}])
    op.create_table(
        "presence",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"], name=op.f("fk_presence_agent_id_agent"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], name=op.f("fk_presence_ticket_id_ticket"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("ticket_id", "agent_id", name=op.f("pk_presence")),
    )
    with op.batch_alter_table("presence", schema=None) as batch_op:
        batch_op.create_index("ix_presence_ticket_expires", ["ticket_id", "expires_at"], unique=False)


def downgrade():
    with op.batch_alter_table("presence", schema=None) as batch_op:
        batch_op.drop_index("ix_presence_ticket_expires")
    op.drop_table("presence")
    op.drop_table("desk_state")
