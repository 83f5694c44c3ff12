"""SLA clock on tickets: first-response due and answer times, met/breached, pauses

Revision ID: 3c1a9e5d7b20
Revises: 7576fbe5797d
Create Date: 2026-11-26 10:00:00

The ticket keeps its first-response target, when it was first answered and whether each
target was met; sla_pause records the stretches in which the clock stood still (the ticket
awaited the customer), so a new plan can be applied from the start minus those pauses.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '3c1a9e5d7b20'
down_revision = 'a7d3c1e90b42'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_response_due_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('first_responded_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('first_response_breached', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('resolution_breached', sa.Boolean(), nullable=True))

    op.create_table('sla_pause',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_sla_pause_ticket_id_ticket'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_pause'))
    )
    with op.batch_alter_table('sla_pause', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sla_pause_ticket_id'), ['ticket_id'], unique=False)


def downgrade():
    with op.batch_alter_table('sla_pause', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sla_pause_ticket_id'))
    op.drop_table('sla_pause')

    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_column('resolution_breached')
        batch_op.drop_column('first_response_breached')
        batch_op.drop_column('first_responded_at')
        batch_op.drop_column('first_response_due_at')
