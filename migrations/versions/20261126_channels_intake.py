"""intake channels: API keys, collaborators, IMAP mailboxes, processed and failed mail

Revision ID: 20261126_channels
Revises: 7576fbe5797d
Create Date: 2026-11-26 10:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "20261126_channels"
down_revision = "20261125_live"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("scopes", sa.String(length=40), nullable=False),
        sa.Column("ip_ranges", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("last_used_ip", sa.String(length=45), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["agent.id"], name=op.f("fk_api_key_created_by_id_agent"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_key_key_hash")),
    )
    op.create_table(
        "collaborator",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("access_nonce", sa.String(length=16), nullable=False),
        sa.Column("added_by_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["added_by_id"], ["agent.id"], name=op.f("fk_collaborator_added_by_id_agent"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], name=op.f("fk_collaborator_ticket_id_ticket"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collaborator")),
        sa.UniqueConstraint("ticket_id", "email", name=op.f("uq_collaborator_ticket_id")),
    )
    with op.batch_alter_table("collaborator", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_collaborator_ticket_id"), ["ticket_id"], unique=False)

    with op.batch_alter_table("thread_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("collaborator_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_thread_entry_collaborator_id_collaborator"), "collaborator",
                                    ["collaborator_id"], ["id"], ondelete="SET NULL")

    op.create_table(
        "mailbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("security", sa.String(length=10), nullable=False),
        sa.Column("username", sa.String(length=255), nullable=False),
        sa.Column("password", sa.String(length=255), nullable=False),
        sa.Column("folder", sa.String(length=255), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("move_to", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("last_fetch_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["department_id"], ["department.id"], name=op.f("fk_mailbox_department_id_department")),
        sa.ForeignKeyConstraint(["topic_id"], ["help_topic.id"], name=op.f("fk_mailbox_topic_id_help_topic")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailbox")),
        sa.UniqueConstraint("name", name=op.f("uq_mailbox_name")),
    )
    op.create_table(
        "processed_mail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], name=op.f("fk_processed_mail_ticket_id_ticket"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_processed_mail")),
        sa.UniqueConstraint("key", name=op.f("uq_processed_mail_key")),
    )
    with op.batch_alter_table("processed_mail", schema=None) as batch_op:
        batch_op.create_index("ix_processed_mail_message_id", ["message_id"], unique=False)
    op.create_table(
        "failed_mail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=140), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=254), nullable=True),
        sa.Column("subject", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_failed_mail")),
    )


def downgrade():
    op.drop_table("failed_mail")
    with op.batch_alter_table("processed_mail", schema=None) as batch_op:
        batch_op.drop_index("ix_processed_mail_message_id")
    op.drop_table("processed_mail")
    op.drop_table("mailbox")
    with op.batch_alter_table("thread_entry", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_thread_entry_collaborator_id_collaborator"), type_="foreignkey")
        batch_op.drop_column("collaborator_id")
    with op.batch_alter_table("collaborator", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_collaborator_ticket_id"))
    op.drop_table("collaborator")
    op.drop_table("api_key")
