"""The admin audit log: every change to the desk's configuration, field by field.

Entries are added to the session of the change itself, so they commit (or roll back) with it.

Nothing an admin changes can go unlogged: a request that called require() (every state-changing
request of the admin area does, in its blueprint) may commit a change to the database only
together with at least one audit entry. A commit without one is refused (Unaudited), so the
change is rolled back and the request fails loudly instead of saving it silently. Secrets are
never logged: a password or key is recorded as "set", "changed" or "reset", never its value.
"""
from __future__ import annotations

from flask import g, has_request_context
from flask_login import current_user

from . import clock
from .extensions import db, listen_to_sessions
from .models import AuditEntry

MAX = 500
# Tables written as a side effect of any change, never as a change of their own: the live
# panel's change counters and agents' presence on tickets.
SIDE_EFFECT_TABLES = frozenset({"desk_state", "presence"})


class Unaudited(RuntimeError):
    """A request that must audit its changes tried to commit one without an audit entry."""


def require() -> None:
    """Until the end of this request, every commit that changes something needs an audit entry."""
    g.audit_required = True


def _required() -> bool:
    return has_request_context() and bool(g.get("audit_required"))


def _changed(session, table: str) -> None:
    if table not in SIDE_EFFECT_TABLES:
        session.info.setdefault("audit_unlogged", set()).add(table)


def _note_flushed_changes(session, flush_context):
    """What the flush wrote: audit entries, and rows of any other table."""
    if not _required():
        return
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, AuditEntry):
            session.info["audit_logged"] = True
        elif obj in session.new or obj in session.deleted or session.is_modified(obj):
            _changed(session, getattr(obj, "__tablename__", type(obj).__name__))


def _note_statement_changes(execute_state):
    """UPDATE, INSERT and DELETE statements run past the flush (e.g. retrying failed mail)."""
    if _required() and (execute_state.is_update or execute_state.is_insert or execute_state.is_delete):
        table = getattr(getattr(execute_state.statement, "table", None), "name", None)
        _changed(execute_state.session, table or "?")


def _refuse_unaudited_changes(session):
    if not _required():
        return
    session.flush()
    unlogged = session.info.get("audit_unlogged")
    if unlogged and not session.info.get("audit_logged"):
        raise Unaudited(f"A change to {', '.join(sorted(unlogged))} was about to be saved without an audit "
                        "entry: it was refused. Record it with audit.record() in the same transaction.")


def _forget_changes(session):
    session.info.pop("audit_unlogged", None)
    session.info.pop("audit_logged", None)


# The rule above, on every database session: registered by create_app() (once per process).
_LISTENERS = (
    ("after_flush", _note_flushed_changes),
    ("do_orm_execute", _note_statement_changes),
    ("before_commit", _refuse_unaudited_changes),
    ("after_commit", _forget_changes),
    ("after_rollback", _forget_changes),
)


def init_app(app) -> None:
    """Listen to every database session (see extensions.listen_to_sessions)."""
    listen_to_sessions(_LISTENERS)


def display(value) -> str:
    """A value as the log shows it."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple, set)):
        return ", ".join(sorted(display(v) for v in value))
    return str(getattr(value, "name", value))


def apply(obj, values: dict) -> list[tuple[str, str, str]]:
    """Set the attributes that differ; return (field, from, to) for each changed one."""
    changes = []
    for attr, new in values.items():
        old = getattr(obj, attr)
        if isinstance(old, list) or isinstance(new, list):
            same = {id(o) for o in (old or [])} == {id(n) for n in (new or [])}
        else:
            same = old == new or (old in (None, "") and new in (None, ""))
        if same:
            continue
        before = display(old)
        setattr(obj, attr, list(new) if isinstance(new, list) else new)
        after = display(new)
        if before != after:
            changes.append((attr, before, after))
    return changes


def record(object_type: str, obj, changes, *, name: str | None = None, actor=None) -> None:
    """Add one AuditEntry per (field, from, to) to the current session."""
    actor = actor if actor is not None else current_user
    if obj is not None and getattr(obj, "id", None) is None:
        db.session.flush()
    now = clock.utcnow()
    for field, old, new in changes:
        db.session.add(AuditEntry(
            created_at=now,
            agent_id=getattr(actor, "id", None),
            agent_name=getattr(actor, "name", "") or "",
            object_type=object_type,
            object_id=getattr(obj, "id", None),
            object_name=(name if name is not None else display(obj))[:200],
            field=field[:64],
            old=None if old in (None, "") else str(old)[:MAX],
            new=None if new in (None, "") else str(new)[:MAX],
        ))
