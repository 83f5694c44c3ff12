"""mail in: mail from an agent's address that proves nothing is held for that agent to confirm

Revision ID: 20261201_mail_trust_held_mail
Revises: 20261206_api_ticket_key
Create Date: 2026-12-01 09:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "20261201_mail_trust_held_mail"
down_revision = "20261206_api_ticket_key"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "held_mail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("subject", sa.String(length=255), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"], name=op.f("fk_held_mail_agent_id_agent"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], name=op.f("fk_held_mail_ticket_id_ticket"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_held_mail")),
    )
    with op.batch_alter_table("held_mail", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_held_mail_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_held_mail_ticket_id"), ["ticket_id"], unique=False)


def downgrade():
    with op.batch_alter_table("held_mail", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_held_mail_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_held_mail_agent_id"))
    op.drop_table("held_mail")
