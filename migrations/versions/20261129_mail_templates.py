"""admin wording for the desk's mails (subject and opening message per kind of mail)

Revision ID: 20261129_mail_templates
Revises: 20261129_twofactor_recovery
Create Date: 2026-11-29 06:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "20261129_mail_templates"
down_revision = "20261129_twofactor_recovery"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "mail_template",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=250), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_mail_template")),
    )


def downgrade():
    op.drop_table("mail_template")
