"""Live updates without process state, so any worker on any host answers alike.

Change detection: every transaction that changes a ticket, or the setup the pages show (names
of topics, departments, teams, priorities, SLA plans and agents, memberships, settings), also
bumps the desk_state counter (a session hook on the model classes, so no code path can forget
it); setup changes bump a second counter too. A ticket change also bumps one counter per scope
of what agents see that the ticket was or is in: its department, its team and its assignee,
before and after the change.

An agent's queue pages show the desk as the agent's version (viewer_version): the setup counter
and the sum of the counters of the agent's departments, teams and own assignments (an admin's:
the desk counter). Activity in departments and teams the agent does not see moves neither, so
the pages' data-version and ETags tell an agent nothing of it. Reading it is one statement over
a few rows of desk_state.

A live region of an agent page polls with If-None-Match set to the ETag it was rendered with;
the ETag is an HMAC (keyed with the app's secret, so nobody can compute one from their own
cookie) of the region, its URL, the agent's identity, the agent's version (or, on a ticket page,
the ticket's version and the setup counter) and the current minute (due times and "5 min ago"
age with the clock). When it still matches, the answer is 304 with no body: one read of the
counters, no rendering. A ticket's region is answered only after its ticket proved visible to
the agent (in the same statement), so a 304 never tells that a ticket exists.

Presence: the ticket page posts a heartbeat every few seconds (viewing or typing); rows expire
on their own and are removed when read after expiry.
"""
from __future__ import annotations

import hashlib
import hmac
import time
from datetime import timedelta
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from flask import current_app, has_request_context, make_response, request
from flask_login import current_user
from sqlalchemy import bindparam, delete, inspect, or_, select, text, update

from . import clock
from .extensions import db, listen_to_sessions
from .htmx import is_partial
from .models import (
    PRESENCE_STATES,
    Agent,
    Department,
    DeskState,
    HelpTopic,
    Presence,
    Priority,
    Setting,
    SLAPlan,
    Tag,
    Team,
    Ticket,
    agent_departments,
    team_members,
)

CACHE_CONTROL = "private, no-cache"

# The rows of desk_state: DESK goes up with every change a queue shows (tickets and the setup),
# SETUP only with changes to the setup (what a ticket page shows besides the ticket itself), ANY
# with ticket changes made by a statement that does not say which tickets (every agent's version
# holds it).
DESK, SETUP, ANY = 1, 2, 3
# The scopes of what agents see (tickets.visibility_clause): a department, a team, an assignee.
# Each has its row, id 4 * the scope's id + its kind, bumped by every change of a ticket that was
# or is in it.
DEPARTMENT, TEAM, ASSIGNEE = 0, 1, 2
_SCOPE_COLUMNS = (("department_id", DEPARTMENT), ("team_id", TEAM), ("assignee_id", ASSIGNEE))


def scope_row(kind: int, ident: int) -> int:
    """The desk_state row of one scope: scope_row(DEPARTMENT, 3)."""
    return 4 * int(ident) + kind

# The setup as queue and ticket pages show it: names of topics, departments, teams, priorities,
# SLA plans and agents, who belongs where (which decides who sees what), and the settings (the
# desk's time zone). A change to any of these, by any code path, bumps both counters; per class,
# the attributes that no page shows and that change without an admin (sign-in secrets, the
# round-robin pointer) are left out.
SETUP_MODELS: dict[type, frozenset[str]] = {
    HelpTopic: frozenset({"rr_last_agent_id"}),
    Department: frozenset(),
    Team: frozenset(),
    Priority: frozenset(),
    SLAPlan: frozenset(),
    # An agent's own display settings show on no one else's page (their own pages reload or follow
    # them: the queue's key holds them). Their notification choices do count: open pages must
    # start or stop asking for events at their next poll, and a choice is seldom changed.
    Agent: frozenset({"password_hash", "session_token", "totp_secret", "totp_last_step", "theme", "density",
                      "page_size"}),
    Setting: frozenset(),
    Tag: frozenset(),  # the names ticket pages and queue rows show (and the filter offers)
}
# Memberships written as plain rows (through the ORM they show as Agent.departments, Team.members...).
SETUP_TABLES = frozenset({agent_departments.name, team_members.name})
_SETUP_BY_TABLE = {model.__table__.name: model for model in SETUP_MODELS}


def _bump(rows) -> object:
    """One statement for the rows in id order (every transaction locks them in the same order)."""
    values = ", ".join(f"({int(row)}, 1)" for row in sorted(rows))
    return text(
        f"INSERT INTO desk_state (id, version) VALUES {values} "
        "ON CONFLICT (id) DO UPDATE SET version = desk_state.version + 1"
    )


# --- the desk-wide change counters ---------------------------------------------------------


def _ticket_rows(ticket: Ticket) -> frozenset[int]:
    """DESK and the scope rows of the department, team and assignee the ticket had before this
    flush and has after it (the attributes' history holds both)."""
    state = inspect(ticket)
    rows = {DESK}
    for key, kind in _SCOPE_COLUMNS:
        history = state.attrs[key].history
        rows.update(scope_row(kind, v) for v in (*history.added, *history.unchanged, *history.deleted)
                    if v is not None)
    return frozenset(rows)


def ticket_changed(ticket: Ticket) -> None:
    """For a change made to a known ticket by a statement run with execution option
    `desk_scoped=True`: bump the counters of the ticket's scopes as a flush would."""
    _note(db.session, _ticket_rows(ticket))


def _rows_changed_by(session, obj) -> frozenset[int]:
    if isinstance(obj, Ticket):
        changed = obj in session.new or obj in session.deleted or session.is_modified(obj)
        return _ticket_rows(obj) if changed else frozenset()
    hidden = SETUP_MODELS.get(type(obj))
    if hidden is None:
        return frozenset()
    if obj in session.new or obj in session.deleted:
        return frozenset({DESK, SETUP})
    state = inspect(obj)
    if any(state.attrs[key].history.has_changes() for key in state.mapper.attrs.keys() if key not in hidden):
        return frozenset({DESK, SETUP})
    return frozenset()


def _note(session, rows) -> None:
    if rows:
        session.info["desk_changed"] = session.info.get("desk_changed", frozenset()) | rows


def _note_flushed_changes(session, flush_context):
    for obj in (*session.new, *session.dirty, *session.deleted):
        _note(session, _rows_changed_by(session, obj))


def _note_statement_changes(execute_state):
    """UPDATE, INSERT and DELETE statements run past the flush: judged by their table. Which
    tickets a statement changed is not known here: ANY, unless the statement says its caller
    notes them (`desk_scoped`, see ticket_changed)."""
    if not (execute_state.is_update or execute_state.is_insert or execute_state.is_delete):
        return
    table = getattr(getattr(execute_state.statement, "table", None), "name", None)
    if table == Ticket.__table__.name:
        scoped = execute_state.execution_options.get("desk_scoped")
        _note(execute_state.session, frozenset({DESK} if scoped else {DESK, ANY}))
    elif table in SETUP_TABLES:
        _note(execute_state.session, frozenset({DESK, SETUP}))
    elif table in _SETUP_BY_TABLE:
        hidden = SETUP_MODELS[_SETUP_BY_TABLE[table]]
        values = getattr(execute_state.statement, "_values", None) if execute_state.is_update else None
        columns = {getattr(key, "key", key) for key in values} if values else None
        if columns is None or not columns <= hidden:  # what it sets is unknown, or shown
            _note(execute_state.session, frozenset({DESK, SETUP}))


def _bump_desk_state(session):
    session.flush()
    rows = session.info.pop("desk_changed", None)
    if rows:
        # Last statement before COMMIT: the counter rows are locked only for the commit itself,
        # and their values order the changes as they became visible.
        session.execute(_bump(rows))


def _forget_changes(session):
    session.info.pop("desk_changed", None)


# Every session's changes bump the counters of what they touched, in the same transaction.
_LISTENERS = (
    ("after_flush", _note_flushed_changes),
    ("do_orm_execute", _note_statement_changes),
    ("before_commit", _bump_desk_state),
    ("after_rollback", _forget_changes),
)


def init_app(app) -> None:
    """Listen to every database session (see extensions.listen_to_sessions)."""
    listen_to_sessions(_LISTENERS)


def _cache_key(row: int) -> str:
    return f"helpdesk.desk_state.{row}"  # in the request's environ: each counter read once per request


_COUNTER = select(DeskState.version).where(DeskState.id == bindparam("row"))


def _counter(row: int) -> int:
    """A counter of desk_state (one primary-key read, once per request)."""
    cache = request.environ if has_request_context() else {}
    key = _cache_key(row)
    if key not in cache:
        cache[key] = db.session.scalar(_COUNTER, {"row": row}) or 0
    return cache[key]


def setup_version() -> int:
    """The setup counter: moves with every change of what the pages' choice lists and names show."""
    return _counter(SETUP)


def kept_with_setup(name: str, read):
    """What read() returns, kept by this worker with the setup counter it was read at: read again
    only when the setup changed since (any change of what SETUP_MODELS and SETUP_TABLES hold moves
    the counter in the same transaction, so the next request sees it). The counter is read
    first, so what is read after it is at least as new. read() must return plain values, never
    ORM objects (they belong to one request's session)."""
    version = setup_version()
    key = f"helpdesk.setup.{name}"
    held = current_app.extensions.get(key)
    if held is None or held[0] != version:
        held = (version, read())
        current_app.extensions[key] = held
    return held[1]


def desk_version() -> int:
    """The desk's change counter: tickets and setup."""
    return _counter(DESK)


# The counters of viewer_version, built once (an agent page's live regions read them on every poll).
_ADMIN_VERSIONS = select(DeskState.id, DeskState.version).where(DeskState.id.in_((SETUP, DESK)))
_AGENT_VERSIONS = select(DeskState.id, DeskState.version).where(or_(
    DeskState.id.in_((SETUP, ANY, bindparam("assignee_row"))),
    DeskState.id.in_(select(agent_departments.c.department_id * 4 + DEPARTMENT)
                     .where(agent_departments.c.agent_id == bindparam("agent"))),
    DeskState.id.in_(select(team_members.c.team_id * 4 + TEAM).where(team_members.c.agent_id == bindparam("agent"))),
))


def viewer_version(agent) -> str:
    """The desk as this agent's queue pages show it, "S.N": S the setup counter, N the sum of the
    counters of ANY and of the agent's departments, teams and assignments (an admin's: the desk
    counter). Neither moves with tickets the agent does not see. Both only go up while the agent's
    scopes stay as they are, and a change of them (a membership) moves S: the pair, compared
    part by part, orders what pages showed. One statement, once per request."""
    cache = request.environ if has_request_context() else {}
    key = f"helpdesk.viewer_version.{agent.id}"
    if key not in cache:
        if agent.is_admin:
            query, values = _ADMIN_VERSIONS, {}
        else:
            query, values = _AGENT_VERSIONS, {"agent": agent.id, "assignee_row": scope_row(ASSIGNEE, agent.id)}
        versions = dict(db.session.execute(query, values).all())
        setup = versions.pop(SETUP, 0) or 0
        if has_request_context():  # read in the same statement: setup_version() needs no other
            cache.setdefault(_cache_key(SETUP), setup)
        cache[key] = f"{setup}.{sum(v or 0 for v in versions.values())}"
    return cache[key]


def viewer_key(agent, now) -> tuple:
    """What a worker keeps for an agent (the queue counts, a report) holds while this does: the
    database, the agent and their role, their version of the desk (viewer_version) and the minute
    (due times move with the clock)."""
    return (db.engine.url.render_as_string(), agent.id, agent.role, viewer_version(agent),
            now.replace(second=0, microsecond=0))


def ticket_state(version: int) -> str:
    """What a ticket page's live parts show, as a version: the ticket's and the setup's."""
    return f"{version}.{_counter(SETUP)}"


def ticket_state_by_number(number: str, visible=None) -> str | None:
    """A ticket's ticket_state by number, in one statement (its row via the unique index and the
    setup counter's); None if there is no such ticket, or none that meets `visible` (the agent's
    tickets.visibility_clause: an unseen ticket is answered as a missing one)."""
    setup = select(DeskState.version).where(DeskState.id == SETUP).scalar_subquery()
    conditions = [Ticket.number == number.upper()] + ([visible] if visible is not None else [])
    row = db.session.execute(select(Ticket.version, setup).where(*conditions)).first()
    if row is None:
        return None
    if has_request_context():
        request.environ[_cache_key(SETUP)] = row[1] or 0
    return f"{row[0]}.{row[1] or 0}"


# --- ETags -------------------------------------------------------------------------------


def url_key(url: str) -> str:
    """A URL as path plus sorted query, so the rendered poll URL and the request agree."""
    parts = urlsplit(url)
    return unquote(parts.path) + "?" + urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))


def request_key() -> str:
    return request.path + "?" + urlencode(sorted(request.args.items(multi=True)))


def _etag_key() -> bytes:
    """The ETags' HMAC key, derived from the app's secret (only for this use)."""
    secret = current_app.secret_key
    secret = secret.encode() if isinstance(secret, str) else bytes(secret)
    return hashlib.sha256(b"helpdesk.live.etag|" + secret).digest()


def etag(region: str, key: str, version: int | str) -> str:
    """The region's ETag for this agent: changes with the data, the minute and the sign-in.
    Each agent's minute starts at another second, so the clock's re-renders are spread out.
    An HMAC keyed with the app's secret: it cannot be computed from outside (to learn whether
    a version is current), and it shows no counter."""
    identity = current_user.get_id()
    secret = _etag_key()
    offset = int.from_bytes(hmac.digest(secret, f"offset|{identity}".encode(), "sha256")[:4], "big") % 60
    minute = int((time.time() + offset) // 60)
    raw = f"{region}|{key}|{identity}|{version}|{minute}"
    return region[0] + hmac.new(secret, raw.encode(), hashlib.sha256).hexdigest()[:32]


def if_none_match(tag: str) -> dict:
    """The hx-headers value a region polls with."""
    return {"If-None-Match": f'"{tag}"'}


def unchanged(tag: str):
    """For an htmx poll whose If-None-Match still matches: the 304 to return, else None."""
    if is_partial() and request.if_none_match.contains(tag):
        response = make_response("", 304)
        return tagged(response, tag)
    return None


def tagged(response, tag: str):
    response.set_etag(tag)
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.vary.add("Cookie")
    return response


def poll_seconds() -> int:
    return current_app.config["HELPDESK_LIVE_SECONDS"]


def presence_seconds() -> int:
    """How often an open ticket page reports itself (HELPDESK_PRESENCE_SECONDS)."""
    return current_app.config["HELPDESK_PRESENCE_SECONDS"]


def presence_ttl() -> int:
    """Seconds a heartbeat keeps an agent shown on a ticket: three beats, so one or two late or
    lost ones do not make them flicker away."""
    return 3 * presence_seconds()


# --- presence ------------------------------------------------------------------------------


def heartbeat(ticket: Ticket, agent: Agent, state: str) -> list[Presence]:
    """Renew this agent's presence on the ticket; return the others there now."""
    state = state if state in PRESENCE_STATES else "viewing"
    now = clock.utcnow()
    expires = now + timedelta(seconds=presence_ttl())
    db.session.execute(delete(Presence).where(Presence.ticket_id == ticket.id, Presence.expires_at < now))
    updated = db.session.execute(
        update(Presence).where(Presence.ticket_id == ticket.id, Presence.agent_id == agent.id)
        .values(state=state, expires_at=expires)
    ).rowcount
    if not updated:
        db.session.add(Presence(ticket_id=ticket.id, agent_id=agent.id, state=state, expires_at=expires))
    db.session.commit()
    return others(ticket, agent, now)


def others(ticket: Ticket, agent: Agent, now=None) -> list[Presence]:
    """Who else has the ticket open, writers first."""
    rows = db.session.execute(
        select(Presence, Agent.name).join(Agent, Agent.id == Presence.agent_id)
        .where(Presence.ticket_id == ticket.id, Presence.agent_id != agent.id,
               Presence.expires_at >= (now or clock.utcnow()))
        .order_by(Presence.state.desc(), Agent.name)
    ).all()
    return [_named(p, name) for p, name in rows]


def _named(presence: Presence, name: str) -> Presence:
    presence.agent_name = name
    return presence


def leave(ticket: Ticket, agent: Agent) -> None:
    """The agent left the page: forget them at once rather than at expiry."""
    db.session.execute(delete(Presence).where(Presence.ticket_id == ticket.id, Presence.agent_id == agent.id))
    db.session.commit()


def presence_hash(people: list[Presence]) -> str:
    raw = "|".join(f"{p.agent_id}:{p.state}" for p in people)
    return hashlib.sha256(raw.encode()).hexdigest()[:12]
