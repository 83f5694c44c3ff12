"""The admin audit log: every change to the desk's configuration, field by field.

Entries are added to the session of the change itself, so they commit (or roll back) with it.
"""
from __future__ import annotations

from flask_login import current_user

from .extensions import db
from .models import AuditEntry, utcnow

MAX = 500


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
    now = utcnow()
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
