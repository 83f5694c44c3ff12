"""Whose tickets a report counts, and the filters a viewer may narrow it by.

Admins see every ticket; managers the tickets of their departments; agents their own and their
teams'. Every figure, every drill-down and every export goes through `clause`, and still through
the queues' own visibility rule as well, so a report never counts or shows a ticket its viewer may
not see. Filters only ever take values from the lists the viewer is offered (`choices`).
"""
from __future__ import annotations

from dataclasses import dataclass, fields

from sqlalchemy import and_, select

from ..models import SOURCE_LABELS, SOURCES, Agent, Ticket, agent_departments, team_members
from ..text import is_number
from ..tickets.queues import Choice, Options, filter_conditions
from ..tickets.rules import visibility_clause


class FilterError(ValueError):
    """A filter value the viewer was not offered; the message names the filter."""


def clause(viewer: Agent, t=Ticket):
    """The SQL condition for the tickets the viewer's reports count (None: every ticket). On the
    columns of t: the ticket table or the tally."""
    if viewer.is_admin:
        return None
    if viewer.is_manager:
        mine = t.department_id.in_(select(agent_departments.c.department_id)
                                   .where(agent_departments.c.agent_id == viewer.id))
    else:
        teams = select(team_members.c.team_id).where(team_members.c.agent_id == viewer.id)
        mine = (t.assignee_id == viewer.id) | t.team_id.in_(teams)
    return and_(mine, visibility_clause(viewer, t))


def label(viewer: Agent) -> str:
    """What the viewer's reports count, in words."""
    if viewer.is_admin:
        return "every ticket of the desk"
    if viewer.is_manager:
        names = ", ".join(d.name for d in viewer.departments) or "none"
        return f"the tickets of your departments ({names})"
    return "your tickets and your teams'"


@dataclass(frozen=True)
class Choices:
    """What the filter bar offers this viewer."""

    departments: tuple[Choice, ...]
    topics: tuple[Choice, ...]
    priorities: tuple[Choice, ...]
    channels: tuple[Choice, ...]
    teams: tuple[Choice, ...]
    agents: tuple[Choice, ...]


def choices(viewer: Agent) -> Choices:
    options = Options.load()
    departments, teams, agents = options.departments, options.teams, options.agents
    if not viewer.is_admin:
        mine = {d.id for d in viewer.departments}
        my_teams = {t.id for t in viewer.teams}
        if viewer.is_manager:
            departments = tuple(d for d in departments if d.id in mine)
        else:
            departments = ()
            teams = tuple(t for t in teams if t.id in my_teams)
            agents = tuple(a for a in agents if a.id == viewer.id)
    channels = tuple(Choice(i, SOURCE_LABELS[s], s) for i, s in enumerate(SOURCES))
    return Choices(departments, options.topics, options.priorities, channels, teams, agents)


@dataclass(frozen=True)
class Filters:
    """The query-string names are the queue filter bar's (a priority by its key, an agent as
    `assignee`), so a drill-down lands on the queue with its filters shown as set."""

    department: int | None = None
    topic: int | None = None
    priority: str | None = None  # a priority's key
    channel: str | None = None
    team: int | None = None
    assignee: int | None = None

    @classmethod
    def parse(cls, args, offered: Choices) -> "Filters":
        """The filters the query string asks for; FilterError for a value not offered."""
        values = {}
        for name, pool, what in (("department", offered.departments, "department"),
                                 ("topic", offered.topics, "help topic"), ("team", offered.teams, "team"),
                                 ("assignee", offered.agents, "agent")):
            raw = (args.get(name) or "").strip()
            if not raw:
                continue
            if not is_number(raw) or int(raw) not in {c.id for c in pool}:
                raise FilterError(f"There is no such {what} to filter by (or not one you may report on).")
            values[name] = int(raw)
        for name, pool, what in (("priority", offered.priorities, "priority"), ("channel", offered.channels, "channel")):
            raw = (args.get(name) or "").strip()
            if not raw:
                continue
            if raw not in {c.key for c in pool}:
                raise FilterError(f"There is no such {what} to filter by.")
            values[name] = raw
        return cls(**values)

    def args(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) not in (None, "")}

    @property
    def active(self) -> bool:
        return bool(self.args())

    def conditions(self, t=Ticket) -> list:
        """The filters as conditions on t (the ticket table, the tally or the report cells): the
        queue filter bar's, and the team and channel."""
        found = filter_conditions(self, t)
        if self.team:
            found.append(t.team_id == self.team)
        if self.channel:
            found.append(t.source == self.channel)
        return found
