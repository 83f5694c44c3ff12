"""The agent queues: which tickets each holds, their counts, and one sorted, filtered page of them.

Every query is limited to what the agent may see (tickets.visibility_clause). Sort and filter
parameters come from the query string and are only ever looked up in the allowlists below.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from sqlalchemy import and_, case, func, literal, or_, select, true
from sqlalchemy.orm import aliased

from .. import clock
from ..extensions import db
from ..live import kept_with_setup, viewer_key
from ..models import (
    ACTIVE_STATUSES,
    Agent,
    Department,
    HelpTopic,
    Priority,
    Tag,
    Team,
    Ticket,
    TicketTally,
    tag_key,
)
from ..text import is_number
from . import rows, search, tally
from .deadlines import crossed_due_clause
from .rules import visibility_clause

PAGE_SIZE = 25  # tickets per page unless the agent chose another of PAGE_SIZES
PAGE_SIZES = (25, 50, 100)
SEARCH_MAX = 100


@dataclass(frozen=True)
class Queue:
    label: str
    # (t, agent, now) -> SQL condition on the columns of t: the ticket table or the tally, which
    # carries the columns queues count by under the same names (helpdesk.models.tally)
    condition: Callable[[object, Agent, datetime], object]
    # Also holds the tickets that crossed a due time since the overdue check (Ticket.next_due_at):
    # the queue moves with the clock, with no change to any ticket.
    timed: bool = False
    # In the navigation (the queue of every ticket is reached from reports, for a figure's tickets).
    listed: bool = True


def _active(t):
    return t.status.in_(ACTIVE_STATUSES)


# The one table of queues, in the order the navigation shows them.
QUEUES: dict[str, Queue] = {
    "open": Queue("Open", lambda t, agent, now: t.status.in_(("new", "open", "escalated"))),
    "mine": Queue("My tickets", lambda t, agent, now: and_(t.assignee_id == agent.id, _active(t))),
    "unassigned": Queue("Unassigned", lambda t, agent, now: and_(t.assignee_id.is_(None), _active(t))),
    "overdue": Queue("Overdue", lambda t, agent, now: and_(t.is_overdue.is_(True), _active(t)), timed=True),
    "pending": Queue("Awaiting customer", lambda t, agent, now: t.status == "pending"),
    "escalated": Queue("Escalated", lambda t, agent, now: t.status == "escalated"),
    # Named for what it holds (the URL key stays "closed"): resolved tickets wait here for the
    # customer's confirmation, so they belong with the closed ones.
    "closed": Queue("Resolved & closed", lambda t, agent, now: t.status.in_(("resolved", "closed"))),
    "all": Queue("All tickets", lambda t, agent, now: true(), listed=False),
}
DEFAULT_QUEUE = "open"
# The queues the navigation shows and counts.
LISTED = tuple(name for name, q in QUEUES.items() if q.listed)

# Sort keys -> column; each has the direction a first click on its header uses.
SORTS = {
    "priority": (Ticket.urgency, "desc"),
    "due": (Ticket.due_at, "asc"),
    "updated": (Ticket.updated_at, "desc"),
    "number": (Ticket.number, "asc"),
    "created": (Ticket.created_at, "desc"),
}
DEFAULT_SORT = "priority"
DIRECTIONS = ("asc", "desc")


def _visible(agent: Agent, *conditions, t=Ticket):
    clause = visibility_clause(agent, t)
    return [c for c in (clause, *conditions) if c is not None]


def _in_queue(queue: str, agent: Agent, now: datetime):
    """The queue's condition on tickets (what its rows are)."""
    q = QUEUES[queue]
    condition = q.condition(Ticket, agent, now)
    return or_(condition, crossed_due_clause(now)) if q.timed else condition


# Counts are read from the ticket tally (helpdesk.models.tally), exact at any size: a few hundred
# rows summed per agent, plus, for a queue that moves with the clock, the tickets that crossed a
# due time since the overdue check (an index range, nearly always empty). Each worker still keeps
# them for as long as they cannot have changed, which saves even that: the key holds the agent's
# version of the desk (its counters move in the same transaction as any change of a ticket the
# agent sees or saw, or of the agent's departments, teams or role, see
# helpdesk.live.viewer_version; the page reads it anyway for its live regions, so the key costs
# no query), the minute (due times move with the clock) and the agent's role.
_COUNTS_CACHE: dict[tuple, dict[str, int]] = {}
_COUNTS_CACHE_SIZE = 2000


def cached_counts(agent: Agent, now: datetime | None = None) -> dict[str, int] | None:
    """The counts if this worker holds them for the desk as it is now, else None (no counting)."""
    cached = _COUNTS_CACHE.get(viewer_key(agent, now or clock.utcnow()))
    return None if cached is None else dict(cached)


def counts(agent: Agent, now: datetime | None = None) -> dict[str, int]:
    """The number of tickets in every queue: two small queries, or none while nothing changed."""
    now = now or clock.utcnow()
    key = viewer_key(agent, now)
    cached = _COUNTS_CACHE.get(key)
    if cached is None:
        cached = _count(agent, now)
        if len(_COUNTS_CACHE) >= _COUNTS_CACHE_SIZE:
            _COUNTS_CACHE.clear()
        _COUNTS_CACHE[key] = cached
    return dict(cached)


def _count(agent: Agent, now: datetime, names=LISTED, where=lambda t: ()) -> dict[str, int]:
    """How many tickets the agent sees in each of these queues, with these further conditions
    (`where(t)`, on the tally's columns and the tickets' alike): one query."""
    t = TicketTally
    sums = [func.coalesce(func.sum(case((QUEUES[name].condition(t, agent, now), t.n), else_=0)), 0)
            for name in names]
    crossed = [
        select(func.count()).select_from(Ticket)
        .where(*_visible(agent, crossed_due_clause(now), *where(Ticket))).scalar_subquery()
        if QUEUES[name].timed else literal(0)
        for name in names
    ]
    spread = aliased(TicketTally)
    rows = select(func.coalesce(func.max(spread.id) - func.min(spread.id), 0)).scalar_subquery()
    row = db.session.execute(select(*sums, *crossed, rows).where(*_visible(agent, *where(t), t=t))).one()
    if row[-1] > tally.FOLD_AFTER:  # for the next count: this one was exact anyway
        tally.compact()
    return {name: int(row[i]) + int(row[len(names) + i]) for i, name in enumerate(names)}


# --- the listing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """One value a filter (or the bulk bar) offers: a row's id and name (a priority's key too)."""

    id: int
    name: str
    key: str = ""


@dataclass(frozen=True)
class Options:
    """What the filter bar offers: every value a filter may take, and the active teams the bulk
    bar assigns to. Read once per worker and setup change (live.kept_with_setup)."""

    departments: tuple[Choice, ...]
    topics: tuple[Choice, ...]
    priorities: tuple[Choice, ...]
    agents: tuple[Choice, ...]
    teams: tuple[Choice, ...]
    tags: tuple[Choice, ...] = ()  # every tag of the desk, by name (key: its lower-case key)

    @classmethod
    def load(cls) -> "Options":
        return kept_with_setup("queue.options", cls._read)

    @classmethod
    def _read(cls) -> "Options":
        def rows(query):
            return tuple(Choice(*row) for row in db.session.execute(query))

        return cls(
            departments=rows(select(Department.id, Department.name).order_by(Department.name)),
            topics=rows(select(HelpTopic.id, HelpTopic.name).order_by(HelpTopic.sort, HelpTopic.name)),
            priorities=rows(select(Priority.id, Priority.name, Priority.key).order_by(Priority.urgency.desc())),
            agents=rows(select(Agent.id, Agent.name).where(Agent.active.is_(True)).order_by(Agent.name)),
            teams=rows(select(Team.id, Team.name).where(Team.active.is_(True)).order_by(Team.name)),
            tags=rows(select(Tag.id, Tag.name, Tag.key).order_by(Tag.key)),
        )


@dataclass
class Params:
    """A queue page's parameters, checked against the allowlists. Unknown values are dropped
    with a message in `problems`, so a bad link shows the queue instead of failing."""

    sort: str = DEFAULT_SORT
    dir: str = SORTS[DEFAULT_SORT][1]
    page: int = 1
    q: str = ""
    department: int | None = None
    topic: int | None = None
    priority: str | None = None
    assignee: str | None = None  # "unassigned" or an agent id as text
    tag: str | None = None  # a tag's name, as the desk has it
    sort_chosen: bool = False  # sorted by a column the agent picked (else a search is ranked)
    # A report figure's tickets (helpdesk.reports.population): its conditions on tickets, the
    # query-string values that say which (links keep them), and what they are, in words.
    extra: tuple = ()
    extra_args: dict = field(default_factory=dict)
    banner: str = ""
    problems: list[str] = field(default_factory=list)
    _match: search.Match | None = field(default=None, repr=False, compare=False)

    @property
    def text(self) -> str:
        """The search's words, without its `tag:` terms."""
        return search.split_tags(self.q)[0]

    @property
    def tag_keys(self) -> list[str]:
        """The tags the tickets must carry: the filter's and the search's `tag:` terms."""
        keys = search.split_tags(self.q)[1]
        return [tag_key(self.tag), *keys] if self.tag else keys

    @property
    def ranked(self) -> bool:
        """A search the agent has not sorted: best match first."""
        return bool(self.text) and not self.sort_chosen

    @classmethod
    def parse(cls, args, options: Options) -> "Params":
        p = cls()
        sort = args.get("sort", "")
        if sort in SORTS:
            p.sort = sort
            p.dir = SORTS[sort][1]
            p.sort_chosen = True
        elif sort:
            p.problems.append("That sort order is not available; sorted by priority instead.")
        direction = args.get("dir", "")
        if direction in DIRECTIONS:
            p.dir = direction
        elif direction:
            p.problems.append("The sort direction was not understood and was ignored.")
        page = args.get("page", "1")
        p.page = int(page) if is_number(page) and 0 < int(page) < 100_000 else 1
        p.q = " ".join(args.get("q", "").split())[:SEARCH_MAX]
        p.department = p._pick_id(args, "department", {d.id for d in options.departments}, "department")
        p.topic = p._pick_id(args, "topic", {t.id for t in options.topics}, "help topic")
        key = args.get("priority", "")
        if key in {pr.key for pr in options.priorities}:
            p.priority = key
        elif key:
            p.problems.append("Unknown priority filter ignored.")
        who = args.get("assignee", "")
        if who == "unassigned" or (is_number(who) and int(who) in {a.id for a in options.agents}):
            p.assignee = who
        elif who:
            p.problems.append("Unknown assignee filter ignored.")
        key = tag_key(args.get("tag", ""))
        known = next((t for t in options.tags if t.key == key), None) if key else None
        if known is not None:
            p.tag = known.name
        elif key:
            p.problems.append("There is no such tag; the tag filter was ignored.")
        return p

    def _pick_id(self, args, name, allowed, label):
        value = args.get(name, "")
        if is_number(value) and int(value) in allowed:
            return int(value)
        if value:
            self.problems.append(f"Unknown {label} filter ignored.")
        return None

    def filters(self) -> dict:
        """The active filters and search as query-string values (what links must keep)."""
        values = {**self.extra_args, "q": self.q, "department": self.department, "topic": self.topic,
                  "priority": self.priority, "assignee": self.assignee, "tag": self.tag}
        return {k: v for k, v in values.items() if v not in (None, "")}

    def report_args(self) -> dict:
        """The report a figure's tickets came from: its period and filters, without the figure."""
        keep = ("period", "from", "to", "channel", "team", "department", "topic", "priority", "assignee")
        return {k: v for k, v in self.filters().items() if k in keep}

    def link(self, **changes) -> dict:
        """Query-string values for a link to this page with some parameters changed."""
        order = {} if self.ranked else {"sort": self.sort, "dir": self.dir}
        values = {**self.filters(), **order, "page": self.page, **changes}
        if values.get("page") == 1:
            values.pop("page")
        return values

    def sort_link(self, key: str) -> dict:
        """A column header's link: the other direction if already sorted by it, else its default."""
        if key == self.sort and not self.ranked:
            direction = "asc" if self.dir == "desc" else "desc"
        else:
            direction = SORTS[key][1]
        return self.link(sort=key, dir=direction, page=1)


def _search(params: Params) -> search.Match | None:
    """The search of these parameters (tickets.search), made once: the page's count, rows and
    order must use the same one."""
    if params.text and params._match is None:
        params._match = search.match(params.text)
    return params._match if params.text else None


def filter_conditions(params, t) -> list:
    """The filter bar's conditions, on the columns of t (the ticket table or the tally). `params`
    is anything with the bar's `department`, `topic`, `priority` (a key) and `assignee` ("unassigned"
    or an agent's id): a queue's Params, or a report's filters."""
    conditions = []
    if params.department:
        conditions.append(t.department_id == params.department)
    if params.topic:
        conditions.append(t.topic_id == params.topic)
    if params.priority:
        conditions.append(t.priority_id.in_(select(Priority.id).where(Priority.key == params.priority)))
    if params.assignee == "unassigned":
        conditions.append(t.assignee_id.is_(None))
    elif params.assignee:
        conditions.append(t.assignee_id == int(params.assignee))
    return conditions


def _conditions(agent: Agent, queue: str, params: Params, now: datetime) -> list:
    conditions = _visible(agent, _in_queue(queue, agent, now), *filter_conditions(params, Ticket),
                          *map(search.tagged, params.tag_keys), *params.extra)
    found = _search(params)
    if found is not None:
        conditions.append(found.condition)
    return conditions


def _order(params: Params) -> list:
    """Tie-breakers run in the same direction as the sort, so an index serves the whole order."""
    found = _search(params)
    if found is not None and params.ranked:
        # Best match first; equal ones as the queue's default order has them.
        return [found.rank, Ticket.urgency.desc(), Ticket.updated_at.desc(), Ticket.id.desc()]
    column, _ = SORTS[params.sort]
    way = (lambda c: c.desc()) if params.dir == "desc" else (lambda c: c.asc())
    if params.sort == "due":
        # No due time goes last either way.
        return [way(Ticket.due_at).nulls_last(), way(Ticket.id)]
    if params.sort == "priority":
        return [way(Ticket.urgency), way(Ticket.updated_at), way(Ticket.id)]
    return [way(column), way(Ticket.id)]


def listing(agent: Agent, queue: str, params: Params, now: datetime, *columns):
    """SELECT these columns for every ticket of the queue with these parameters, in the page's
    order and without paging (what an export writes)."""
    return select(*columns).where(*_conditions(agent, queue, params, now)).order_by(*_order(params))


@dataclass
class Page:
    tickets: list[rows.Row]
    total: int
    page: int
    size: int = PAGE_SIZE
    capped: bool = False  # a search that holds only the newest of its matches (search.WINDOW)
    window: int = 0  # ... and how many it reads at most

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def first(self) -> int:
        return 0 if not self.total else (self.page - 1) * self.size + 1

    @property
    def last(self) -> int:
        return min(self.total, self.page * self.size)


def page_size(agent: Agent) -> int:
    """Tickets per page for this agent: their choice (the account page, the queue's switch) if it
    is one of PAGE_SIZES."""
    return agent.page_size if agent.page_size in PAGE_SIZES else PAGE_SIZE


def page(agent: Agent, queue: str, params: Params, now: datetime | None = None,
         known: dict[str, int] | None = None) -> Page:
    """One page of a queue: counted, only the shown rows loaded, with what each row shows.

    `known` are the queue counts of the navigation (see counts()), if the request has them: a
    queue without filters or search holds exactly that many tickets, so it is not counted again.
    Not for a queue that moves with the clock: its count was taken at another second. Filtered
    queues are counted from the tally too; a search counts the ids it found in the queue
    (_search_page)."""
    now = now or clock.utcnow()
    found = search.find(params.text) if params.text else None
    if found is not None:
        return _search_page(agent, queue, params, now, found)
    if known is not None and queue in known and not params.filters() and not QUEUES[queue].timed:
        total = known[queue]
    elif params.tag_keys or params.extra:  # the tally counts neither by tag nor by figure: the tickets
        total = db.session.scalar(select(func.count()).select_from(Ticket)
                                  .where(*_conditions(agent, queue, params, now)))
    else:
        total = _count(agent, now, (queue,), lambda t: filter_conditions(params, t))[queue]
    size = page_size(agent)
    number = min(params.page, max(1, -(-total // size)))
    shown = rows.read(
        select(*rows.COLUMNS)
        .where(*_conditions(agent, queue, params, now))
        .order_by(*_order(params))
        .limit(size)
        .offset((number - 1) * size)
    )
    return Page(tickets=shown, total=total, page=number, size=size)


def _search_page(agent: Agent, queue: str, params: Params, now: datetime, found: search.Found) -> Page:
    """A page of a search: the index was read once (search.find: a few thousand ids at most);
    those of them in the queue are listed in order, counted, and the page's rows read."""
    where = [*_visible(agent, _in_queue(queue, agent, now), *filter_conditions(params, Ticket),
                       *map(search.tagged, params.tag_keys), *params.extra), Ticket.id.in_(found.ranks)]
    if params.ranked:  # best match first; equal ones as the queue's default order has them
        listed = db.session.execute(select(Ticket.id, Ticket.urgency, Ticket.updated_at).where(*where)).all()
        listed.sort(key=lambda row: (row.urgency, row.updated_at, row.id), reverse=True)
        listed.sort(key=lambda row: found.ranks[row.id])
        ids = [row.id for row in listed]
    else:
        ids = db.session.scalars(select(Ticket.id).where(*where).order_by(*_order(params))).all()
    size = page_size(agent)
    number = min(params.page, max(1, -(-len(ids) // size)))
    shown = ids[(number - 1) * size:number * size]
    by_id = {row.id: row for row in rows.read(select(*rows.COLUMNS).where(Ticket.id.in_(shown)))}
    return Page(tickets=[by_id[i] for i in shown], total=len(ids), page=number, size=size,
                capped=found.capped, window=search.WINDOW)
