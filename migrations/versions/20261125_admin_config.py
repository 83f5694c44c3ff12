"""admin area: topic parents and assignment modes, settings, audit log

Revision ID: a7d3c1e90b42
Revises: 7576fbe5797d
Create Date: 2026-11-25 21:00:00

help_topic gains parent_id (a child topic falls back to its parent's defaults), assign_mode
and rr_last_agent_id (round-robin among a team's agents). New tables: setting (what an admin
changed of the desk's settings) and audit_entry (every admin change, field by field).
"""
from alembic import op
import sqlalchemy as sa

revision = 'a7d3c1e90b42'
down_revision = '7576fbe5797d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('help_topic', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parent_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('assign_mode', sa.String(length=16), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('rr_last_agent_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_help_topic_parent_id_help_topic'), 'help_topic',
                                    ['parent_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_help_topic_rr_last_agent_id_agent'), 'agent',
                                    ['rr_last_agent_id'], ['id'], ondelete='SET NULL')

    op.create_table('setting',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_setting'))
    )
    op.create_table('audit_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('agent_name', sa.String(length=120), nullable=False),
    sa.Column('object_type', sa.String(length=32), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=True),
    sa.Column('object_name', sa.String(length=200), nullable=False),
    sa.Column('field', sa.String(length=64), nullable=False),
    sa.Column('old', sa.String(length=500), nullable=True),
    sa.Column('new', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], name=op.f('fk_audit_entry_agent_id_agent'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entry'))
    )
    op.create_index('ix_audit_entry_type_id', 'audit_entry', ['object_type', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_audit_entry_type_id', table_name='audit_entry')
    op.drop_table('audit_entry')
    op.drop_table('setting')
    with op.batch_alter_table('help_topic', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_help_topic_rr_last_agent_id_agent'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_help_topic_parent_id_help_topic'), type_='foreignkey')
        batch_op.drop_column('rr_last_agent_id')
        batch_op.drop_column('assign_mode')
        batch_op.drop_column('parent_id')
