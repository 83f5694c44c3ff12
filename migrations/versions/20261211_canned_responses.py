"""canned_response: texts agents insert into replies (personal, a department's, desk-wide)

Revision ID: 20261211_canned_responses
Revises: 20261210_thread_entry_purpose
Create Date: 2026-12-11 09:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "20261211_canned_responses"
down_revision = "20261210_thread_entry_purpose"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "canned_response",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("agent_id IS NULL OR department_id IS NULL", name="ck_canned_response_one_owner"),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["department_id"], ["department.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_canned_response_agent_id", "canned_response", ["agent_id"])
    op.create_index("ix_canned_response_department_id", "canned_response", ["department_id"])


def downgrade():
    op.drop_index("ix_canned_response_department_id", table_name="canned_response")
    op.drop_index("ix_canned_response_agent_id", table_name="canned_response")
    op.drop_table("canned_response")
