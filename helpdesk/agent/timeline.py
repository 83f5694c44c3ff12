"""The ticket page's thread and history, read as plain rows: two statements whatever their
length (the thread with its authors and attachments, the history with its actors), and no ORM
objects to build, which was most of a long ticket's time. The rows carry what the templates
read of ThreadEntry and Event (macros/thread.html draws an entry for the portal too)."""
from __future__ import annotations

from sqlalchemy import bindparam, select

from ..extensions import db
from ..models import Agent, Attachment, Collaborator, Customer, Event, ThreadEntry, Ticket


class FileRow:
    """An attachment as a thread entry lists it."""

    __slots__ = ("id", "filename", "size")

    def __init__(self, id, filename, size):
        self.id, self.filename, self.size = id, filename, size


class EntryRow:
    """A thread entry: `collaborator` is true when someone on copy wrote it."""

    __slots__ = ("id", "kind", "created_at", "body_html", "via", "purpose", "author_name", "collaborator",
                 "attachments")

    @property
    def is_public(self):
        return self.kind != "note"


class EventRow:
    """A line of the history."""

    __slots__ = ("id", "action", "old", "new", "note", "version", "created_at", "actor_name")


def _name(agent_id, agent_name, *others) -> str:
    """The author as ThreadEntry.author_name and Event.actor_name say it: the agent, else the
    first other (id, name) pair that is set, else "System"."""
    if agent_id is not None:
        return agent_name
    for ident, name in others:
        if ident is not None:
            return name
    return "System"


# Built once: making a statement costs more than running it on a short thread.
_THREAD = (
    select(ThreadEntry.id, ThreadEntry.kind, ThreadEntry.created_at, ThreadEntry.body_html, ThreadEntry.via,
           ThreadEntry.purpose, ThreadEntry.agent_id, Agent.name, ThreadEntry.collaborator_id, Collaborator.name,
           ThreadEntry.customer_id, Customer.name, Attachment.id, Attachment.filename, Attachment.size)
    .outerjoin(Agent, Agent.id == ThreadEntry.agent_id)
    .outerjoin(Collaborator, Collaborator.id == ThreadEntry.collaborator_id)
    .outerjoin(Customer, Customer.id == ThreadEntry.customer_id)
    .outerjoin(Attachment, Attachment.entry_id == ThreadEntry.id)
    .where(ThreadEntry.ticket_id == bindparam("ticket_id"))
    .order_by(ThreadEntry.id, Attachment.id)
)
_HISTORY = (
    select(Event.id, Event.action, Event.old, Event.new, Event.note, Event.version, Event.created_at,
           Event.agent_id, Agent.name, Event.customer_id, Customer.name, Event.rule_id, Event.rule_name)
    .outerjoin(Agent, Agent.id == Event.agent_id)
    .outerjoin(Customer, Customer.id == Event.customer_id)
    .where(Event.ticket_id == bindparam("ticket_id"))
    .order_by(Event.id)
)


def thread(ticket: Ticket) -> list[EntryRow]:
    """The ticket's whole thread, oldest first, each entry with its attachments: one statement."""
    entries: list[EntryRow] = []
    last = None
    for (entry_id, kind, created_at, body_html, via, purpose, agent_id, agent_name, copy_id, copy_name,
         customer_id, customer_name, file_id, filename, size) in db.session.execute(_THREAD, {"ticket_id": ticket.id}):
        if last is None or last.id != entry_id:
            last = EntryRow()
            last.id, last.kind, last.created_at, last.body_html, last.via = entry_id, kind, created_at, body_html, via
            last.purpose = purpose
            last.author_name = _name(agent_id, agent_name, (copy_id, copy_name), (customer_id, customer_name))
            last.collaborator = copy_id is not None
            last.attachments = []
            entries.append(last)
        if file_id is not None:
            last.attachments.append(FileRow(file_id, filename, size))
    return entries


def history(ticket: Ticket) -> list[EventRow]:
    """The ticket's history, oldest first, with who did each thing: one statement."""
    events = []
    for (event_id, action, old, new, note, version, created_at, agent_id, agent_name, customer_id,
         customer_name, rule_id, rule_name) in db.session.execute(_HISTORY, {"ticket_id": ticket.id}):
        row = EventRow()
        row.id, row.action, row.old, row.new, row.note, row.version, row.created_at = (
            event_id, action, old, new, note, version, created_at)
        row.actor_name = _name(agent_id, agent_name, (customer_id, customer_name),
                               (rule_name, f"Rule “{rule_name}”"))
        events.append(row)
    return events
