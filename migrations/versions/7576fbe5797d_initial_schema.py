"""initial schema

Revision ID: 7576fbe5797d
Revises:
Create Date: 2026-11-25 20:18:09.658256

Every table of the desk, and the four priorities every desk has.

department.manager_id and team.lead_id point at agent. The models mark those foreign keys
use_alter (for metadata.create_all); here the agent table is created first, so both keys are
created inline with their tables, which works the same on SQLite and PostgreSQL. PostgreSQL
would otherwise skip a use_alter key in CREATE TABLE and never create it.
"""
from alembic import op
import sqlalchemy as sa

# The default priorities, copied here so this migration never changes when the app code does:
# key, name, colour, urgency (higher is more urgent).
DEFAULT_PRIORITIES = [
    ("low", "Low", "#64748b", 1),
    ("normal", "Normal", "#2563eb", 2),
    ("high", "High", "#d97706", 3),
    ("emergency", "Emergency", "#dc2626", 4),
]


# revision identifiers, used by Alembic.
revision = '7576fbe5797d'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('agent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('session_token', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent')),
    sa.UniqueConstraint('email', name=op.f('uq_agent_email'))
    )
    op.create_table('customer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer')),
    sa.UniqueConstraint('email', name=op.f('uq_customer_email'))
    )
    op.create_table('priority',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('colour', sa.String(length=7), nullable=False),
    sa.Column('urgency', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_priority')),
    sa.UniqueConstraint('key', name=op.f('uq_priority_key')),
    sa.UniqueConstraint('urgency', name=op.f('uq_priority_urgency'))
    )
    op.bulk_insert(
        sa.table('priority', sa.column('key', sa.String), sa.column('name', sa.String),
                 sa.column('colour', sa.String), sa.column('urgency', sa.Integer)),
        [dict(key=k, name=n, colour=c, urgency=u) for k, n, c, u in DEFAULT_PRIORITIES],
    )
    op.create_table('team',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['lead_id'], ['agent.id'], name=op.f('fk_team_lead_id_agent')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team')),
    sa.UniqueConstraint('name', name=op.f('uq_team_name'))
    )
    op.create_table('sla_plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('grace_hours', sa.Integer(), nullable=False),
    sa.Column('first_response_hours', sa.Integer(), nullable=True),
    sa.Column('schedule', sa.String(length=16), nullable=False),
    sa.Column('business_days', sa.String(length=20), nullable=False),
    sa.Column('opens_at', sa.String(length=5), nullable=False),
    sa.Column('closes_at', sa.String(length=5), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('overdue_alerts', sa.Boolean(), nullable=False),
    sa.Column('escalate_raise_priority', sa.Boolean(), nullable=False),
    sa.Column('escalate_team_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['escalate_team_id'], ['team.id'], name=op.f('fk_sla_plan_escalate_team_id_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_plan')),
    sa.UniqueConstraint('name', name=op.f('uq_sla_plan_name'))
    )
    op.create_table('sla_holiday',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sla_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.ForeignKeyConstraint(['sla_id'], ['sla_plan.id'], name=op.f('fk_sla_holiday_sla_id_sla_plan'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_holiday')),
    sa.UniqueConstraint('sla_id', 'day', name=op.f('uq_sla_holiday_sla_id'))
    )
    op.create_table('department',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('manager_id', sa.Integer(), nullable=True),
    sa.Column('sla_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['manager_id'], ['agent.id'], name=op.f('fk_department_manager_id_agent')),
    sa.ForeignKeyConstraint(['sla_id'], ['sla_plan.id'], name=op.f('fk_department_sla_id_sla_plan')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_department')),
    sa.UniqueConstraint('name', name=op.f('uq_department_name'))
    )
    op.create_table('team_member',
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], name=op.f('fk_team_member_agent_id_agent'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_team_member_team_id_team'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('team_id', 'agent_id', name=op.f('pk_team_member'))
    )
    op.create_table('agent_department',
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], name=op.f('fk_agent_department_agent_id_agent'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_agent_department_department_id_department'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('agent_id', 'department_id', name=op.f('pk_agent_department'))
    )
    op.create_table('help_topic',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('instructions', sa.Text(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('priority_id', sa.Integer(), nullable=True),
    sa.Column('sla_id', sa.Integer(), nullable=True),
    sa.Column('assign_agent_id', sa.Integer(), nullable=True),
    sa.Column('assign_team_id', sa.Integer(), nullable=True),
    sa.Column('customer_sets_priority', sa.Boolean(), nullable=False),
    sa.Column('auto_acknowledge', sa.Boolean(), nullable=False),
    sa.Column('sort', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['assign_agent_id'], ['agent.id'], name=op.f('fk_help_topic_assign_agent_id_agent')),
    sa.ForeignKeyConstraint(['assign_team_id'], ['team.id'], name=op.f('fk_help_topic_assign_team_id_team')),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_help_topic_department_id_department')),
    sa.ForeignKeyConstraint(['priority_id'], ['priority.id'], name=op.f('fk_help_topic_priority_id_priority')),
    sa.ForeignKeyConstraint(['sla_id'], ['sla_plan.id'], name=op.f('fk_help_topic_sla_id_sla_plan')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_help_topic')),
    sa.UniqueConstraint('name', name=op.f('uq_help_topic_name'))
    )
    op.create_table('ticket',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=12), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('priority_id', sa.Integer(), nullable=False),
    sa.Column('urgency', sa.Integer(), nullable=False),
    sa.Column('topic_id', sa.Integer(), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('sla_id', sa.Integer(), nullable=True),
    sa.Column('due_at', sa.DateTime(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('reopened_at', sa.DateTime(), nullable=True),
    sa.Column('is_overdue', sa.Boolean(), nullable=False),
    sa.Column('is_answered', sa.Boolean(), nullable=False),
    sa.Column('access_nonce', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['assignee_id'], ['agent.id'], name=op.f('fk_ticket_assignee_id_agent')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_ticket_customer_id_customer')),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_ticket_department_id_department')),
    sa.ForeignKeyConstraint(['priority_id'], ['priority.id'], name=op.f('fk_ticket_priority_id_priority')),
    sa.ForeignKeyConstraint(['sla_id'], ['sla_plan.id'], name=op.f('fk_ticket_sla_id_sla_plan')),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_ticket_team_id_team')),
    sa.ForeignKeyConstraint(['topic_id'], ['help_topic.id'], name=op.f('fk_ticket_topic_id_help_topic')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket')),
    sa.UniqueConstraint('number', name=op.f('uq_ticket_number'))
    )
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_assignee_status', ['assignee_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_ticket_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ticket_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_ticket_department_status', ['department_id', 'status'], unique=False)
        batch_op.create_index('ix_ticket_status_due', ['status', 'due_at'], unique=False)
        batch_op.create_index('ix_ticket_status_updated', ['status', 'updated_at'], unique=False)
        batch_op.create_index('ix_ticket_status_urgency', ['status', 'urgency'], unique=False)
        batch_op.create_index('ix_ticket_team_status', ['team_id', 'status'], unique=False)
        batch_op.create_index('ix_ticket_urgency_updated', ['urgency', 'updated_at', 'id'], unique=False)
        batch_op.create_index('ix_ticket_due_id', ['due_at', 'id'], unique=False)
        batch_op.create_index('ix_ticket_updated_id', ['updated_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ticket_topic_id'), ['topic_id'], unique=False)

    op.create_table('event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('old', sa.String(length=200), nullable=True),
    sa.Column('new', sa.String(length=200), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], name=op.f('fk_event_agent_id_agent')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_event_customer_id_customer')),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_event_ticket_id_ticket'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event'))
    )
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('idempotency_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_idempotency_key_ticket_id_ticket'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_key')),
    sa.UniqueConstraint('key', name=op.f('uq_idempotency_key_key'))
    )
    op.create_table('outbox_mail',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('event', sa.String(length=40), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('claimed_at', sa.DateTime(), nullable=True),
    sa.Column('claim_token', sa.String(length=32), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_outbox_mail_ticket_id_ticket'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_mail')),
    sa.UniqueConstraint('message_id', name=op.f('uq_outbox_mail_message_id'))
    )
    with op.batch_alter_table('outbox_mail', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_mail_ticket_id'), ['ticket_id'], unique=False)
        batch_op.create_index('ix_outbox_status_next', ['status', 'next_attempt_at'], unique=False)

    op.create_table('thread_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], name=op.f('fk_thread_entry_agent_id_agent')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_thread_entry_customer_id_customer')),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_thread_entry_ticket_id_ticket'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_thread_entry'))
    )
    with op.batch_alter_table('thread_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_thread_entry_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=120), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_key', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['thread_entry.id'], name=op.f('fk_attachment_entry_id_thread_entry'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_attachment_ticket_id_ticket'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_attachment_storage_key'))
    )
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachment_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachment_ticket_id'), ['ticket_id'], unique=False)



def downgrade():
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachment_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_attachment_entry_id'))

    op.drop_table('attachment')
    with op.batch_alter_table('thread_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_thread_entry_ticket_id'))

    op.drop_table('thread_entry')
    with op.batch_alter_table('outbox_mail', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_status_next')
        batch_op.drop_index(batch_op.f('ix_outbox_mail_ticket_id'))

    op.drop_table('outbox_mail')
    op.drop_table('idempotency_key')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_ticket_id'))

    op.drop_table('event')
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_topic_id'))
        batch_op.drop_index('ix_ticket_updated_id')
        batch_op.drop_index('ix_ticket_due_id')
        batch_op.drop_index('ix_ticket_urgency_updated')
        batch_op.drop_index('ix_ticket_team_status')
        batch_op.drop_index('ix_ticket_status_urgency')
        batch_op.drop_index('ix_ticket_status_updated')
        batch_op.drop_index('ix_ticket_status_due')
        batch_op.drop_index('ix_ticket_department_status')
        batch_op.drop_index(batch_op.f('ix_ticket_customer_id'))
        batch_op.drop_index(batch_op.f('ix_ticket_created_at'))
        batch_op.drop_index('ix_ticket_assignee_status')

    op.drop_table('ticket')
    op.drop_table('help_topic')
    op.drop_table('agent_department')
    op.drop_table('team_member')
    op.drop_table('department')
    op.drop_table('sla_holiday')
    op.drop_table('sla_plan')
    op.drop_table('team')
    op.drop_table('priority')
    op.drop_table('customer')
    op.drop_table('agent')
