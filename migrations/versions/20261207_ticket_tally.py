"""Queue counts exact at any size: the ticket tally kept by triggers, and ticket.next_due_at

Revision ID: 20261207_ticket_tally
Revises: 20261201_mail_trust_held_mail
Create Date: 2026-12-07 02:00:00

The tally is filled from the tickets already there. next_due_at is computed by the database
(stored on PostgreSQL, virtual on SQLite, which cannot add a stored column to a table) and
indexed. SQLite gets its planner statistics of the ticket table at the end (ANALYZE).

A later migration that rebuilds the ticket table on SQLite (batch mode) drops its triggers with
it, and must create them again (as helpdesk.models.tally has them then).
"""
from alembic import op
import sqlalchemy as sa

revision = "20261207_ticket_tally"
down_revision = "20261201_mail_trust_held_mail"
branch_labels = None
depends_on = None

# The schema as this revision writes it (a migration is history: later changes to the models'
# helpdesk.models.tally and Ticket.next_due_at come with migrations of their own).
COLUMNS = ("status", "department_id", "team_id", "assignee_id", "priority_id", "topic_id", "is_overdue")
_cols = ", ".join(COLUMNS)
_insert = f"INSERT INTO ticket_tally ({_cols}, n) VALUES "


def _values(row, n):
    return "(" + ", ".join(f"{row}.{c}" for c in COLUMNS) + f", {n})"


def _changed(differs):
    return " OR ".join(f"OLD.{c} {differs} NEW.{c}" for c in COLUMNS)


TRIGGERS = {
    "sqlite": (
        f"CREATE TRIGGER ticket_tally_insert AFTER INSERT ON ticket BEGIN {_insert}{_values('NEW', 1)}; END",
        f"CREATE TRIGGER ticket_tally_update AFTER UPDATE OF {_cols} ON ticket WHEN {_changed('IS NOT')} "
        f"BEGIN {_insert}{_values('OLD', -1)}, {_values('NEW', 1)}; END",
        f"CREATE TRIGGER ticket_tally_delete AFTER DELETE ON ticket BEGIN {_insert}{_values('OLD', -1)}; END",
    ),
    "postgresql": (
        "CREATE FUNCTION ticket_tally_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF TG_OP <> 'INSERT' THEN {_insert}{_values('OLD', -1)}; END IF; "
        f"IF TG_OP <> 'DELETE' THEN {_insert}{_values('NEW', 1)}; END IF; "
        "RETURN NULL; END $$",
        "CREATE TRIGGER ticket_tally_insert_delete AFTER INSERT OR DELETE ON ticket "
        "FOR EACH ROW EXECUTE FUNCTION ticket_tally_change()",
        f"CREATE TRIGGER ticket_tally_update AFTER UPDATE OF {_cols} ON ticket "
        f"FOR EACH ROW WHEN ({_changed('IS DISTINCT FROM')}) EXECUTE FUNCTION ticket_tally_change()",
    ),
}
DROP_TRIGGERS = {
    "sqlite": ("DROP TRIGGER IF EXISTS ticket_tally_insert", "DROP TRIGGER IF EXISTS ticket_tally_update",
               "DROP TRIGGER IF EXISTS ticket_tally_delete"),
    "postgresql": ("DROP TRIGGER IF EXISTS ticket_tally_insert_delete ON ticket",
                   "DROP TRIGGER IF EXISTS ticket_tally_update ON ticket",
                   "DROP FUNCTION IF EXISTS ticket_tally_change()"),
}
# The tally of the tickets already there.
FILL = f"INSERT INTO ticket_tally ({_cols}, n) SELECT {_cols}, count(*) FROM ticket GROUP BY {_cols}"
NEXT_DUE_SQL = (
    "CASE WHEN is_overdue OR status NOT IN ('new', 'open', 'pending', 'escalated') THEN NULL "
    "WHEN first_responded_at IS NULL AND first_response_due_at IS NOT NULL "
    "AND (due_at IS NULL OR first_response_due_at < due_at) THEN first_response_due_at "
    "ELSE due_at END"
)


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
    for statement in TRIGGERS[dialect]:
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
