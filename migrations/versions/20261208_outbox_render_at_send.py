"""outbox: mail about a ticket is queued unrendered (kind + frozen context), rendered when sent

Revision ID: 20261208_outbox_render_at_send
Revises: 20261207_search_index
Create Date: 2026-12-08 09:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "20261208_outbox_render_at_send"
down_revision = "20261207_search_index"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_mail", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("context", sa.Text(), nullable=True))
        batch_op.alter_column("body_text", existing_type=sa.Text(), nullable=True)
        batch_op.alter_column("body_html", existing_type=sa.Text(), nullable=True)


def downgrade():
    # The old schema cannot hold a mail that is not rendered yet; refuse rather than lose it.
    waiting = op.get_bind().execute(sa.text(
        "SELECT count(*) FROM outbox_mail WHERE body_text IS NULL OR body_html IS NULL")).scalar()
    if waiting:
        raise RuntimeError(
            f"{waiting} queued mails are not rendered yet; render them first "
            "(flask --app app mail render), then downgrade again.")
    with op.batch_alter_table("outbox_mail", schema=None) as batch_op:
        batch_op.alter_column("body_html", existing_type=sa.Text(), nullable=False)
        batch_op.alter_column("body_text", existing_type=sa.Text(), nullable=False)
        batch_op.drop_column("context")
        batch_op.drop_column("kind")
