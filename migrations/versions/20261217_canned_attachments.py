"""canned_attachment: files that go with a canned response

Revision ID: 20261217_canned_attachments
Revises: 20261214_tags
Create Date: 2026-12-17 09:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "20261217_canned_attachments"
down_revision = "20261214_tags"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "canned_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=120), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["response_id"], ["canned_response.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("storage_key", name=op.f("uq_canned_attachment_storage_key")),
    )
    op.create_index("ix_canned_attachment_response_id", "canned_attachment", ["response_id"])


def downgrade():
    op.drop_index("ix_canned_attachment_response_id", table_name="canned_attachment")
    op.drop_table("canned_attachment")
