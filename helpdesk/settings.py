"""The desk's settings: what an admin set in the admin area, else the configuration's value.

    from helpdesk import settings
    settings.get("reopen_days")

Rows are read once per request (one query for all of them) and kept on flask.g. A row whose key is
no setting any more (auto_close_days: auto-close is the time rule "Close resolved tickets" now) is
never read.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable
from zoneinfo import ZoneInfo

from flask import current_app, g
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from .config import ALLOWED_TYPES
from .extensions import db
from .models import Setting, report_cell


@dataclass(frozen=True)
class Definition:
    label: str
    kind: type  # str, int, bool ("1" or "0") or list (a comma-separated list of strings)
    config_key: str | None = None  # the default comes from app.config[config_key]...
    default: Callable[[], object] | None = None  # ...or from this


def _all_types():
    return sorted(ALLOWED_TYPES)


DEFINITIONS: dict[str, Definition] = {
    "desk_name": Definition("Desk name", str, "HELPDESK_NAME"),
    "timezone": Definition("Time zone", str, "HELPDESK_TIMEZONE"),
    "max_attachment_mb": Definition("Largest attachment (MB)", int, "HELPDESK_MAX_ATTACHMENT_MB"),
    "max_attachments": Definition("Attachments per message", int, "HELPDESK_MAX_ATTACHMENTS"),
    "allowed_types": Definition("Allowed attachment types", list, default=_all_types),
    "reopen_days": Definition("Days a closed ticket can be reopened", int, "HELPDESK_REOPEN_DAYS"),
    "access_link_days": Definition("Access links valid for (days)", int, "HELPDESK_ACCESS_LINK_DAYS"),
    "require_totp": Definition("Require two-factor sign-in for all agents", bool, "HELPDESK_REQUIRE_TOTP"),
    "tags_admin_only": Definition("Only admins create new tags", bool, default=lambda: False),
    # Bumped when priority colours change: the theme stylesheet's URL carries it.
    "theme_version": Definition("Theme version", int, default=lambda: 0),
}

_CACHE = "_helpdesk_settings"


def _rows() -> dict[str, str]:
    rows = g.get(_CACHE)
    if rows is None:
        try:
            rows = dict(db.session.execute(select(Setting.key, Setting.value)).all())
        except SQLAlchemyError:  # an error page must still render when the database is down
            db.session.rollback()
            return {}
        setattr(g, _CACHE, rows)
    return rows


def clear_cache() -> None:
    g.pop(_CACHE, None)
    g.pop(_ZONE, None)


def _parse(definition: Definition, raw: str):
    if definition.kind is int:
        return int(raw)
    if definition.kind is bool:
        if raw not in ("1", "0"):
            raise ValueError(raw)
        return raw == "1"
    if definition.kind is list:
        return [part for part in raw.split(",") if part]
    return raw


def default(key: str):
    definition = DEFINITIONS[key]
    if definition.config_key:
        value = current_app.config.get(definition.config_key)
        if value is not None:
            return value
    if definition.default:
        return definition.default()
    return {int: 0, bool: False}.get(definition.kind, "")


def get(key: str):
    """The setting's value: the admin's, else the configuration's default."""
    definition = DEFINITIONS[key]
    raw = _rows().get(key)
    if raw is not None:
        try:
            return _parse(definition, raw)
        except ValueError:
            current_app.logger.warning("setting %s has an unreadable value %r; using the default", key, raw)
    return default(key)


_ZONE = "_helpdesk_zone"


def zone() -> ZoneInfo:
    """The desk's time zone (the "timezone" setting), looked up once per request: a ticket page
    shows a time for every entry of its thread and every line of its history."""
    found = g.get(_ZONE)
    if found is None:
        found = ZoneInfo(get("timezone"))
        setattr(g, _ZONE, found)
    return found


def values() -> dict:
    return {key: get(key) for key in DEFINITIONS}


def _store(definition: Definition, value) -> str:
    if definition.kind is list:
        return ",".join(value)
    if definition.kind is bool:
        return "1" if value else "0"
    return str(value)


def save(changes: dict) -> list[tuple[str, object, object]]:
    """Write the settings that differ from their current value; return (key, old, new) for each.
    The caller commits (with its audit entries, in the same transaction)."""
    done = []
    for key, new in changes.items():
        definition = DEFINITIONS[key]
        old = get(key)
        if old == new:
            continue
        row = db.session.get(Setting, key)
        if row is None:
            row = Setting(key=key)
            db.session.add(row)
        row.value = _store(definition, new)
        done.append((key, old, new))
    clear_cache()
    if any(key == "timezone" for key, *_ in done):  # the reports count days in it
        report_cell.zone_changed(ZoneInfo(get("timezone")))
    return done
