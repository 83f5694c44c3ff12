"""The desk's data, by concern. Import rows from here: `from helpdesk.models import Ticket`.

- people.py: agents (departments, teams, sessions, recovery codes, password resets), customers;
- setup.py: what admins edit (priorities, SLA plans and holidays, help topics, settings, mail
  wording) and the audit of their changes;
- ticket.py: tickets, their thread, attachments, events, SLA pauses, people on copy;
- mail.py: the outbox, IMAP mailboxes, and every mail taken in (processed, held, failed);
- api.py: API keys;
- live.py: the live panel's change counter and presence;
- webhook.py: outgoing webhooks and their deliveries;
- tally.py: ticket counts per group, kept by database triggers (what the queue counts read);
- canned.py: canned responses (personal, a department's, desk-wide);
- automation.py: automation rules (event and time rules) and the runs of time rules;
- macro.py: macros, named steps applied to a ticket in one click (scoped as canned responses);
- tag.py: tags on tickets (and the ticket_tag association; Ticket.tags);
- search.py: the ticket search's index (FTS5 tables on SQLite, trigram indexes on PostgreSQL).
"""
from . import search  # noqa: F401 - builds the search index with the tables
from .api import API_KEY_PREFIX, API_SCOPES, ApiKey, hash_api_key
from .automation import MATCH, RULE_KINDS, TRIGGERS, WAITS, Rule, RuleRun
from .canned import CannedAttachment, CannedResponse
from .live import PRESENCE_STATES, DeskState, Presence
from .macro import Macro
from .mail import (
    HELD_STATES,
    MAILBOX_ACTIONS,
    MAILBOX_SECURITY,
    FailedMail,
    HeldMail,
    Mailbox,
    OutboxMail,
    ProcessedMail,
    loopback_host,
)
from .people import (
    PASSWORD_MAX,
    PASSWORD_METHOD,
    PASSWORD_MIN,
    ROLE_RANK,
    ROLES,
    Agent,
    Customer,
    Department,
    PasswordResetRequest,
    RecoveryCode,
    StaffSession,
    Team,
    agent_departments,
    team_members,
)
from .report_cell import ReportCell, ReportZone
from .setup import AuditEntry, HelpTopic, MailTemplate, Priority, Setting, SLAHoliday, SLAPlan
from .tag import TAG_MAX, TAG_PATTERN, TAGS_PER_TICKET, Tag, tag_key, ticket_tag
from .tally import GROUP_COLUMNS, TicketTally
from .ticket import (
    ACTIVE_STATUSES,
    DONE_STATUSES,
    ENTRY_KINDS,
    PUBLIC_KINDS,
    SOURCE_LABELS,
    SOURCES,
    STATUS_LABELS,
    STATUSES,
    Attachment,
    Collaborator,
    Event,
    IdempotencyKey,
    SLAPause,
    ThreadEntry,
    Ticket,
)
from .webhook import DELIVERY_STATES, WEBHOOK_EVENTS, Webhook, WebhookDelivery, event_kind

__all__ = [
    "API_KEY_PREFIX", "API_SCOPES", "ApiKey", "hash_api_key",
    "MATCH", "RULE_KINDS", "TRIGGERS", "WAITS", "Rule", "RuleRun",
    "CannedAttachment", "CannedResponse", "Macro",
    "PRESENCE_STATES", "DeskState", "Presence",
    "HELD_STATES", "MAILBOX_ACTIONS", "MAILBOX_SECURITY", "FailedMail", "HeldMail", "Mailbox", "OutboxMail",
    "ProcessedMail", "loopback_host",
    "PASSWORD_MAX", "PASSWORD_METHOD", "PASSWORD_MIN", "ROLE_RANK", "ROLES", "Agent", "Customer", "Department",
    "PasswordResetRequest", "RecoveryCode", "StaffSession", "Team", "agent_departments", "team_members",
    "AuditEntry", "HelpTopic", "MailTemplate", "Priority", "Setting", "SLAHoliday", "SLAPlan",
    "TAG_MAX", "TAG_PATTERN", "TAGS_PER_TICKET", "Tag", "tag_key", "ticket_tag",
    "ReportCell", "ReportZone",
    "GROUP_COLUMNS", "TicketTally",
    "ACTIVE_STATUSES", "DONE_STATUSES", "ENTRY_KINDS", "PUBLIC_KINDS", "SOURCE_LABELS", "SOURCES", "STATUS_LABELS", "STATUSES",
    "Attachment", "Collaborator", "Event", "IdempotencyKey", "SLAPause", "ThreadEntry", "Ticket",
    "DELIVERY_STATES", "WEBHOOK_EVENTS", "Webhook", "WebhookDelivery", "event_kind",
]
