"""The rows of the queue table: what it shows of each ticket, read as plain values.

One statement reads the ticket and its customer, another the tags of the page's tickets; the names of its priority, department, help
topic, assignee and team come from the setup, which each worker reads once and keeps until it
changes (live.kept_with_setup). Building the ORM objects of a ticket and the five rows it points
to took longer than the page's SQL, and joining those five tables took PostgreSQL longer to plan
than to run.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ..extensions import db
from ..live import kept_with_setup
from ..models import (
    ACTIVE_STATUSES,
    STATUS_LABELS,
    Agent,
    Customer,
    Department,
    HelpTopic,
    Priority,
    Tag,
    Team,
    Ticket,
    ticket_tag,
)

COLUMNS = (
    Ticket.id, Ticket.number, Ticket.subject, Ticket.status, Ticket.version, Ticket.is_answered,
    Ticket.due_at, Ticket.first_response_due_at, Ticket.first_responded_at, Ticket.updated_at,
    Customer.name, Customer.email,
    Ticket.priority_id, Ticket.department_id, Ticket.topic_id, Ticket.assignee_id, Ticket.team_id,
)


@dataclass(frozen=True, slots=True)
class Label:
    """A name the row shows (a priority's key too, for its colour)."""

    name: str
    key: str = ""
    email: str = ""


@dataclass(frozen=True, slots=True)
class Row:
    """What the queue table shows of one ticket."""

    id: int
    number: str
    subject: str
    status: str
    version: int
    is_answered: bool
    due_at: datetime | None
    first_response_due_at: datetime | None
    first_responded_at: datetime | None
    updated_at: datetime
    customer: Label
    priority: Label
    department: Label
    topic: Label | None
    assignee: Label | None
    team: Label | None
    tags: tuple[str, ...] = ()

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


@dataclass(frozen=True)
class Names:
    """The setup's names by id, every row of each table (a ticket may point to an inactive one)."""

    priorities: dict[int, Label]
    departments: dict[int, Label]
    topics: dict[int, Label]
    agents: dict[int, Label]
    teams: dict[int, Label]

    @classmethod
    def read(cls) -> "Names":
        def labels(*columns):
            return {row[0]: Label(*row[1:]) for row in db.session.execute(select(*columns))}

        return cls(
            priorities=labels(Priority.id, Priority.name, Priority.key),
            departments=labels(Department.id, Department.name),
            topics=labels(HelpTopic.id, HelpTopic.name),
            agents=labels(Agent.id, Agent.name),
            teams=labels(Team.id, Team.name),
        )


def tags_of(ids) -> dict[int, tuple[str, ...]]:
    """The names of the tags of these tickets, by ticket id, each ticket's by name: one statement."""
    found: dict[int, list[str]] = {}
    if ids:
        for ticket_id, name in db.session.execute(
                select(ticket_tag.c.ticket_id, Tag.name).join(Tag, Tag.id == ticket_tag.c.tag_id)
                .where(ticket_tag.c.ticket_id.in_(ids)).order_by(Tag.key)):
            found.setdefault(ticket_id, []).append(name)
    return {key: tuple(names) for key, names in found.items()}


def read(statement) -> list[Row]:
    """The rows of `select(*COLUMNS)` with its conditions, order and limit, in that order, each
    with its tags (a second statement for the page's tickets)."""
    found = db.session.execute(statement.join(Customer, Customer.id == Ticket.customer_id)).all()
    tags = tags_of([row[0] for row in found])
    names = kept_with_setup("queue.names", Names.read)
    if any(row[12] not in names.priorities or row[13] not in names.departments
           or (row[14] is not None and row[14] not in names.topics)
           or (row[15] is not None and row[15] not in names.agents)
           or (row[16] is not None and row[16] not in names.teams) for row in found):
        names = Names.read()  # made after the setup counter this request read: read them now
    return [
        Row(*row[:10], customer=Label(row[10], email=row[11]), priority=names.priorities[row[12]],
            department=names.departments[row[13]],
            topic=None if row[14] is None else names.topics[row[14]],
            assignee=None if row[15] is None else names.agents[row[15]],
            team=None if row[16] is None else names.teams[row[16]], tags=tags.get(row[0], ()))
        for row in found
    ]
