"""thread_entry.purpose: an agent's public entry that asked the customer or resolved the ticket

Revision ID: 20261210_thread_entry_purpose
Revises: 20261209_agent_preferences
Create Date: 2026-12-10 09:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "20261210_thread_entry_purpose"
down_revision = "20261209_agent_preferences"
branch_labels = None
depends_on = None

# The status event an agent's question or resolution wrote in the same moment as its entry.
_FILL = """
UPDATE thread_entry SET purpose = :purpose
WHERE kind = 'reply' AND agent_id IS NOT NULL AND EXISTS (
    SELECT 1 FROM event
    WHERE event.ticket_id = thread_entry.ticket_id AND event.action = 'status'
      AND event.agent_id = thread_entry.agent_id AND event.new = :status
      AND event.created_at = thread_entry.created_at)
"""


def upgrade():
    with op.batch_alter_table("thread_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("purpose", sa.String(length=12), nullable=True))
    op.execute(sa.text(_FILL).bindparams(purpose="question", status="Awaiting customer"))
    op.execute(sa.text(_FILL).bindparams(purpose="resolution", status="Resolved"))


def downgrade():
    with op.batch_alter_table("thread_entry", schema=None) as batch_op:
        batch_op.drop_column("purpose")
