"""macro: named steps an agent applies to a ticket in one click (personal, a department's, desk-wide)

Revision ID: 20261215_macros
Revises: 20261216_auto_close_rule
Create Date: 2026-12-15 09:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "20261215_macros"
down_revision = "20261216_auto_close_rule"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "macro",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("actions", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("owner_id IS NULL OR department_id IS NULL", name="ck_macro_one_owner"),
        sa.ForeignKeyConstraint(["owner_id"], ["agent.id"], name=op.f("fk_macro_owner_id_agent"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["department_id"], ["department.id"], name=op.f("fk_macro_department_id_department"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["updated_by_id"], ["agent.id"], name=op.f("fk_macro_updated_by_id_agent"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_macro")),
    )
    op.create_index("ix_macro_owner_id", "macro", ["owner_id"])
    op.create_index("ix_macro_department_id", "macro", ["department_id"])


def downgrade():
    op.drop_index("ix_macro_department_id", table_name="macro")
    op.drop_index("ix_macro_owner_id", table_name="macro")
    op.drop_table("macro")
