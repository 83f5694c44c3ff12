"""Live updates without process state, so any worker on any host answers alike.

Change detection: every transaction that changes a ticket, or an agent's departments or teams,
also bumps the one-row desk_state counter (a session hook, so no code path can forget it). A live region of an agent page polls
with If-None-Match set to the ETag it was rendered with; the ETag is a hash of the region, its
URL, the agent's identity, the counter (or, on a ticket page, the ticket's version) and the
current minute (due times and "5 min ago" age with the clock). When it still matches, the
answer is 304 with no body: one primary-key read, no rendering.

Presence: the ticket page posts a heartbeat every few seconds (viewing or typing); rows expire
on their own and are removed when read after expiry.
"""
from __future__ import annotations

import hashlib
import time
from datetime import timedelta
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from flask import current_app, has_request_context, make_response, request
from flask_login import current_user
from sqlalchemy import delete, event, inspect, select, text, update
from sqlalchemy.orm import Session

from .extensions import db
from .htmx import is_partial
from .live_models import PRESENCE_STATES, DeskState, Presence
from .models import Agent, Department, Team, Ticket, utcnow

PRESENCE_TTL = 12  # seconds a heartbeat keeps an agent shown on a ticket
CACHE_CONTROL = "private, no-cache"

_BUMP = text(
    "INSERT INTO desk_state (id, version) VALUES (1, 1) "
    "ON CONFLICT (id) DO UPDATE SET version = desk_state.version + 1"
)


# --- the desk-wide change counter ----------------------------------------------------------


# Who sees which tickets: an agent's departments and teams, from either side.
_ACCESS = {Agent: ("departments", "teams"), Department: ("agents",), Team: ("members",)}


def _changes_the_desk(session, obj) -> bool:
    """A ticket changed, or who sees which tickets (the queues' counts are kept per counter)."""
    if isinstance(obj, Ticket):
        return obj in session.new or obj in session.deleted or session.is_modified(obj)
    names = _ACCESS.get(type(obj), ())
    return bool(names) and any(inspect(obj).attrs[name].history.has_changes() for name in names)


@event.listens_for(Session, "after_flush")
def _note_ticket_changes(session, flush_context):
    if session.info.get("desk_changed"):
        return
    for obj in (*session.new, *session.dirty, *session.deleted):
        if _changes_the_desk(session, obj):
            session.info["desk_changed"] = True
            return


@event.listens_for(Session, "before_commit")
def _bump_desk_state(session):
    session.flush()
    if session.info.pop("desk_changed", False):
        # Last statement before COMMIT: the counter row is locked only for the commit itself,
        # and its value orders the changes as they became visible.
        session.execute(_BUMP)


@event.listens_for(Session, "after_rollback")
def _forget_changes(session):
    session.info.pop("desk_changed", None)


def desk_version() -> int:
    """The desk's change counter (one primary-key read, once per request)."""
    cache = request.environ if has_request_context() else {}
    if "helpdesk.desk_version" not in cache:
        cache["helpdesk.desk_version"] = db.session.scalar(select(DeskState.version).where(DeskState.id == 1)) or 0
    return cache["helpdesk.desk_version"]


def ticket_version(number: str) -> int | None:
    """A ticket's version by number (one row via the unique index), None if there is none."""
    return db.session.scalar(select(Ticket.version).where(Ticket.number == number.upper()))


# --- ETags -------------------------------------------------------------------------------


def url_key(url: str) -> str:
    """A URL as path plus sorted query, so the rendered poll URL and the request agree."""
    parts = urlsplit(url)
    return unquote(parts.path) + "?" + urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))


def request_key() -> str:
    return request.path + "?" + urlencode(sorted(request.args.items(multi=True)))


def etag(region: str, key: str, version: int) -> str:
    """The region's ETag for this agent: changes with the data, the minute and the sign-in.
    Each agent's minute starts at another second, so the clock's re-renders are spread out."""
    identity = current_user.get_id()
    offset = int(hashlib.sha256(identity.encode()).hexdigest()[:8], 16) % 60
    minute = int((time.time() + offset) // 60)
    raw = f"{region}|{key}|{identity}|{version}|{minute}"
    return region[0] + hashlib.sha256(raw.encode()).hexdigest()[:20]


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


# --- presence ------------------------------------------------------------------------------


def heartbeat(ticket: Ticket, agent: Agent, state: str) -> list[Presence]:
    """Renew this agent's presence on the ticket; return the others there now."""
    state = state if state in PRESENCE_STATES else "viewing"
    now = utcnow()
    expires = now + timedelta(seconds=PRESENCE_TTL)
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
               Presence.expires_at >= (now or utcnow()))
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
