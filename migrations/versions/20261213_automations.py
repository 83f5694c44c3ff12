"""rule and rule_run: automation rules and the runs of time rules; event.rule_id and rule_name

Revision ID: 20261213_automations
Revises: 20261212_webhooks
Create Date: 2026-12-13 09:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "20261213_automations"
down_revision = "20261212_webhooks"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("triggers", sa.String(length=200), nullable=False),
        sa.Column("channels", sa.String(length=100), nullable=False),
        sa.Column("wait", sa.String(length=16), nullable=True),
        sa.Column("wait_minutes", sa.Integer(), nullable=True),
        sa.Column("business_hours", sa.Boolean(), nullable=False),
        sa.Column("match", sa.String(length=4), nullable=False),
        sa.Column("conditions", sa.Text(), nullable=False),
        sa.Column("actions", sa.Text(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("system", sa.String(length=32), nullable=True),
        sa.Column("rr_last_agent_id", sa.Integer(), nullable=True),
        sa.Column("matched_count", sa.Integer(), nullable=False),
        sa.Column("last_matched_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["department_id"], ["department.id"], name=op.f("fk_rule_department_id_department"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["updated_by_id"], ["agent.id"], name=op.f("fk_rule_updated_by_id_agent"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["rr_last_agent_id"], ["agent.id"], name=op.f("fk_rule_rr_last_agent_id_agent"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule")),
        sa.UniqueConstraint("name", name=op.f("uq_rule_name")),
        sa.UniqueConstraint("system", name=op.f("uq_rule_system")),
    )
    op.create_index("ix_rule_kind_active_position", "rule", ["kind", "active", "position"])
    op.create_table(
        "rule_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("since", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["rule_id"], ["rule.id"], name=op.f("fk_rule_run_rule_id_rule"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], name=op.f("fk_rule_run_ticket_id_ticket"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_run")),
        sa.UniqueConstraint("rule_id", "ticket_id", "since", name="uq_rule_run_once"),
    )
    op.create_index(op.f("ix_rule_run_ticket_id"), "rule_run", ["ticket_id"])
    with op.batch_alter_table("event") as batch:
        batch.add_column(sa.Column("rule_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("rule_name", sa.String(length=120), nullable=True))
        batch.create_foreign_key(op.f("fk_event_rule_id_rule"), "rule", ["rule_id"], ["id"], ondelete="SET NULL")


def downgrade():
    with op.batch_alter_table("event") as batch:
        batch.drop_constraint(op.f("fk_event_rule_id_rule"), type_="foreignkey")
        batch.drop_column("rule_name")
        batch.drop_column("rule_id")
    op.drop_index(op.f("ix_rule_run_ticket_id"), table_name="rule_run")
    op.drop_table("rule_run")
    op.drop_index("ix_rule_kind_active_position", table_name="rule")
    op.drop_table("rule")
