"""Tags on a ticket: adding and removing them (any agent who sees the ticket, from any status),
finding the desk's tags by name and creating new ones (admins only, when the desk's setting
"Only admins create new tags" is on).

The public functions check, change and commit (one transaction, a version, a history event per
tag: "tagged" with the tag's name as `new`, "untagged" with it as `old`). The inner ones,
_add_tags and _remove_tags, change a ticket's tags inside a transaction the caller holds (an
automation's, say) and commit nothing; the caller bumps the version first (rules._bump), as
every change does, and commits."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import clock, settings
from ..extensions import db
from ..models import TAG_MAX, TAG_PATTERN, TAGS_PER_TICKET, Agent, Tag, Ticket, tag_key
from .rules import InvalidInput, NoChange, _bump, _event, _Unit, check

SUGGESTIONS = 10  # tags the type-ahead offers at most
NAMES_MAX = TAGS_PER_TICKET * (TAG_MAX + 2)  # what an "add tags" field may hold (names and commas)


def split_names(text: str) -> list[str]:
    """The names in what a person typed: separated by commas, blanks dropped."""
    return [part for part in (text or "").split(",") if part.strip()]


def clean_name(name: str) -> str:
    """The name as stored (trimmed, inner white space one space), or InvalidInput saying why not."""
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput("A tag needs a name.")
    if len(name) > TAG_MAX:
        raise InvalidInput(f"The tag “{name[:TAG_MAX]}…” is too long: at most {TAG_MAX} characters.")
    if not TAG_PATTERN.match(name):
        raise InvalidInput(f"The tag “{name}” has characters a tag cannot have: use letters, digits, "
                           "spaces, hyphens (-), underscores (_) and dots (.) only.")
    if not any(ch.isalnum() for ch in name):
        raise InvalidInput(f"The tag “{name}” needs at least one letter or digit.")
    return name


def may_create(agent: Agent | None) -> bool:
    """May this agent (None: the system) create a tag the desk does not have yet?"""
    return agent is None or agent.is_admin or not settings.get("tags_admin_only")


def find_or_create_tags(names, *, may_create: bool) -> list[Tag]:
    """The desk's tags with these names (any case), in the order given, each once; those it does
    not have are created if `may_create`, else InvalidInput names them. A bad name: InvalidInput.
    Part of the caller's transaction (a new tag is flushed, not committed)."""
    wanted: dict[str, str] = {}
    for name in names:
        name = clean_name(name)
        wanted.setdefault(tag_key(name), name)
    if not wanted:
        raise InvalidInput("Give the name of a tag.")
    found = {t.key: t for t in db.session.scalars(select(Tag).where(Tag.key.in_(list(wanted))))}
    missing = [name for key, name in wanted.items() if key not in found]
    if missing and not may_create:
        listed = ", ".join(f"“{n}”" for n in missing)
        raise InvalidInput(f"{'These are not tags' if len(missing) > 1 else 'This is not a tag'} of the desk yet: "
                           f"{listed}. Only admins may create new tags; pick an existing one.")
    for name in missing:
        found[tag_key(name)] = _create(name)
    return [found[key] for key in wanted]


def _create(name: str) -> Tag:
    """A new tag, flushed: IntegrityError if another transaction created it meanwhile (add_tags
    tries again then, and finds theirs)."""
    tag = Tag(key=tag_key(name), name=name, created_at=clock.utcnow())
    db.session.add(tag)
    db.session.flush()
    return tag


def suggestions(q: str, limit: int = SUGGESTIONS) -> list[str]:
    """The names of the desk's tags that start with q (any case), then those holding it: for the
    type-ahead. Every tag's name (up to `limit`) when q is empty."""
    key = tag_key(q)[:TAG_MAX]
    if not key:
        return list(db.session.scalars(select(Tag.name).order_by(Tag.key).limit(limit)))
    pattern = key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    starts = list(db.session.scalars(select(Tag.name).where(Tag.key.like(f"{pattern}%", escape="\\"))
                                     .order_by(Tag.key).limit(limit)))
    if len(starts) < limit:
        starts += db.session.scalars(select(Tag.name).where(Tag.key.like(f"%{pattern}%", escape="\\"),
                                                            Tag.key.notlike(f"{pattern}%", escape="\\"))
                                     .order_by(Tag.key).limit(limit - len(starts)))
    return starts


# --- the inner changes (no check, no commit) -----------------------------------------------------


def _add_tags(ticket: Ticket, tags: list[Tag], *, agent: Agent | None = None, now: datetime) -> list[Tag]:
    """Put these tags on the ticket (those it has already are skipped), each with its "tagged"
    event (agent None: the system). Returns the tags added. InvalidInput, before changing
    anything, if the ticket would carry more than TAGS_PER_TICKET."""
    have = {t.key for t in ticket.tags}
    added = [t for t in dict.fromkeys(tags) if t.key not in have]
    if len(have) + len(added) > TAGS_PER_TICKET:
        raise InvalidInput(f"A ticket carries at most {TAGS_PER_TICKET} tags; #{ticket.number} has "
                           f"{len(have)}. Remove one first.")
    for tag in added:
        ticket.tags.append(tag)
        _event(ticket, "tagged", agent=agent, new=tag.name, now=now)
    return added


def _remove_tags(ticket: Ticket, tags: list[Tag], *, agent: Agent | None = None, now: datetime) -> list[Tag]:
    """Take these tags off the ticket (those it does not have are skipped), each with its
    "untagged" event (agent None: the system). Returns the tags removed."""
    keys = {t.key for t in tags}
    removed = [t for t in ticket.tags if t.key in keys]
    for tag in removed:
        ticket.tags.remove(tag)
        _event(ticket, "untagged", agent=agent, old=tag.name, now=now)
    return removed


# --- what agents do ------------------------------------------------------------------------------


def add_tags(agent: Agent, ticket: Ticket, names, *, expected_version: int | None = None) -> list[Tag]:
    """Put tags on the ticket by name (created if the desk has none of that name and the agent
    may create tags). Returns the tags added; NoChange if it had them all."""
    check(agent, ticket, "tag", expected_version)
    names = list(names)
    try:
        return _add_by_name(agent, ticket, names, expected_version)
    except IntegrityError:  # a new tag another agent created at the same moment: use theirs
        db.session.refresh(ticket)
        check(agent, ticket, "tag", expected_version)
        return _add_by_name(agent, ticket, names, expected_version)


def _add_by_name(agent: Agent, ticket: Ticket, names: list, expected_version: int | None) -> list[Tag]:
    now = clock.utcnow()
    with _Unit(ticket, expected_version):
        tags = find_or_create_tags(names, may_create=may_create(agent))
        have = {t.key for t in ticket.tags}
        if all(t.key in have for t in tags):
            raise NoChange(f"The ticket has {'that tag' if len(tags) == 1 else 'those tags'} already.")
        _bump(ticket, now)
        added = _add_tags(ticket, tags, agent=agent, now=now)
    return added


def remove_tag(agent: Agent, ticket: Ticket, name: str, *, expected_version: int | None = None) -> Tag:
    """Take a tag off the ticket, by name (any case). NoChange if it does not carry it."""
    check(agent, ticket, "tag", expected_version)
    key = tag_key(name)
    if not key:
        raise InvalidInput("Choose the tag to remove.")
    tag = next((t for t in ticket.tags if t.key == key), None)
    if tag is None:
        raise NoChange(f"The ticket has no tag “{' '.join((name or '').split())[:TAG_MAX]}”.")
    now = clock.utcnow()
    with _Unit(ticket, expected_version):
        _bump(ticket, now)
        _remove_tags(ticket, [tag], agent=agent, now=now)
    return tag
