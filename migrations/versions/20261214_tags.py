"""tag and ticket_tag: tags on tickets

Revision ID: 20261214_tags
Revises: 20261215_macros
Create Date: 2026-12-14 09:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "20261214_tags"
down_revision = "20261215_macros"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "tag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tag")),
        sa.UniqueConstraint("key", name=op.f("uq_tag_key")),
    )
    op.create_table(
        "ticket_tag",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tag_id"], ["tag.id"], name=op.f("fk_ticket_tag_tag_id_tag"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], name=op.f("fk_ticket_tag_ticket_id_ticket"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("ticket_id", "tag_id", name=op.f("pk_ticket_tag")),
    )
    op.create_index("ix_ticket_tag_tag_id", "ticket_tag", ["tag_id"])


def downgrade():
    op.drop_index("ix_ticket_tag_tag_id", table_name="ticket_tag")
    op.drop_table("ticket_tag")
    op.drop_table("tag")
