"""The ticket lifecycle: the only code that changes a ticket's status, assignment or SLA.

Every public function here is one intention (open, claim, assign, reply, escalate, ...).
Each checks who may do it from which state, then, in one transaction, changes the ticket,
writes its history and queues the mails the change causes. Views, mail in, the API and the
jobs call these and nothing else.

Callers use this package's names (`from helpdesk import tickets; tickets.assign(...)`).
The modules, by concern:

- rules.py: the states' transitions (TRANSITIONS), who may see and do what, the errors, and
  the steps every change shares (transaction, version, history event, status change);
- deadlines.py: the SLA clock (due times, time awaiting the customer, first response, overdue);
- intake.py: opening a ticket;
- assignment.py: claim, assign (auto-assignment, round-robin), escalate, priority, SLA plan,
  transfer;
- conversation.py: replies, internal notes, requests for information, customers' messages,
  and mail in an agent's name held for them to confirm;
- resolution.py: resume, resolve, close, reopen, the customer's confirmation;
- access.py: access links, the status check, the people on copy (and those held from mail);
- overdue.py: flagging overdue tickets;
- system.py: the changes the desk makes by itself for an automation rule, inside the transaction
  of the event that fired it (or of a time rule's run: automations/timed.py, auto-close among them);
- tags.py: tags on a ticket (and, for automations, _add_tags/_remove_tags inside a caller's transaction);
- queues.py, search.py and export.py: the read side: the agent's queues, their counts, the
  ticket search, and CSV rows.

"Now" is helpdesk.clock.utcnow(), read at each call: a test sets the lifecycle's time there.
"""
from __future__ import annotations

from . import tally  # noqa: F401
from .access import (  # noqa: F401
    add_collaborator,
    held_copies,
    new_access_link,
    remove_collaborator,
    send_status_link,
    ticket_for_status,
)
from .assignment import (  # noqa: F401
    assign,
    claim,
    escalate,
    priority_order_changed,
    set_priority,
    set_sla,
    transfer,
)
from .conversation import (  # noqa: F401
    add_note,
    confirm_held_mail,
    customer_reply,
    discard_held_mail,
    hold_agent_mail,
    reply,
    request_info,
)
from .deadlines import overdue_clause, schedule  # noqa: F401
from .intake import open_ticket  # noqa: F401
from .overdue import Flagged, check_overdue  # noqa: F401
from .resolution import (  # noqa: F401
    close,
    customer_confirm,
    customer_may_reopen,
    reopen,
    resolve,
    resume,
)
from .rules import (  # noqa: F401
    ALL,
    BODY_MAX,
    MAIL_CC_MAX,
    NAME_MAX,
    SUBJECT_MAX,
    TRANSITIONS,
    Conflict,
    InvalidInput,
    InvalidTransition,
    LifecycleError,
    NoChange,
    NotAllowed,
    Rejected,
    TooManyOpen,
    Transition,
    allowed,
    available_actions,
    can_see,
    check,
    visibility_clause,
)
from .tags import _add_tags, _remove_tags, add_tags, find_or_create_tags, remove_tag  # noqa: F401
