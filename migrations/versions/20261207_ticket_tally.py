"""Queue counts exact at any size: the ticket tally kept by triggers, and ticket.next_due_at

Revision ID: 20261207_ticket_tally
Revises: 20261201_mail_trust_held_mail
Create Date: 2026-12-07 02:00:00

The tally is filled from the tickets already there. next_due_at is computed by the database
(stored on PostgreSQL, virtual on SQLite, which cannot add a stored column to a table) and
indexed. SQLite gets its planner statistics of the ticket table at the end (ANALYZE).

A later migration that rebuilds the ticket table on SQLite (batch mode) drops its triggers with
it, and must create them again (helpdesk.models.tally.triggers).
"""
from alembic import op
import sqlalchemy as sa

from helpdesk.models.tally import DROP_TRIGGERS, FILL, triggers
from helpdesk.models.ticket import NEXT_DUE_SQL

revision = "20261207_ticket_tally"
down_revision = "20261201_mail_trust_held_mail"
branch_labels = None
depends_on = None


def upgrade():
    dialect = op.get_bind().dialect.name
    op.create_table(
        "ticket_tally",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("priority_id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=True),
        sa.Column("is_overdue", sa.Boolean(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_tally")),
    )
    op.execute(FILL)
    for statement in triggers(dialect):
        op.execute(statement)
    persisted = True if dialect == "postgresql" else None
    op.add_column("ticket", sa.Column("next_due_at", sa.DateTime(), sa.Computed(NEXT_DUE_SQL, persisted=persisted),
                                      nullable=True))
    op.create_index("ix_ticket_next_due_at", "ticket", ["next_due_at"], unique=False)
    if dialect == "sqlite":
        op.execute("ANALYZE ticket")


def downgrade():
    dialect = op.get_bind().dialect.name
    op.drop_index("ix_ticket_next_due_at", table_name="ticket")
    if dialect == "sqlite":
        # SQLite cannot drop a column an index or a generated column depends on in place.
        with op.batch_alter_table("ticket", schema=None) as batch_op:
            batch_op.drop_column("next_due_at")
    else:
        op.drop_column("ticket", "next_due_at")
    for statement in DROP_TRIGGERS[dialect]:
        op.execute(statement)
    op.drop_table("ticket_tally")
