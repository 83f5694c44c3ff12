"""mailbox: an admin's explicit choice to send a mailbox's password unencrypted (no TLS) to a
server that is not on this machine

Revision ID: 20261201_mailbox_plaintext
Revises: 20261201_staff_sessions
Create Date: 2026-12-01 06:00:00

Existing mailboxes start without that choice: one set to "no TLS" towards another machine is not
fetched until an admin chooses TLS or STARTTLS, or ticks the choice (which is audited).
"""
from alembic import op
import sqlalchemy as sa

revision = "20261201_mailbox_plaintext"
down_revision = "20261201_staff_sessions"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("mailbox") as batch:
        batch.add_column(sa.Column("allow_plaintext", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table("mailbox") as batch:
        batch.drop_column("allow_plaintext")
