"""auto-close becomes the time rule "Close resolved tickets" (Rule.system = "auto_close")

Its days are the admin's auto-close setting, else HELPDESK_AUTO_CLOSE_DAYS; when neither says a
number above 0 (auto-close was off), the rule is written switched off, with 7 days. The old
setting row is left alone (nothing reads it any more).

Revision ID: 20261216_auto_close_rule
Revises: 20261213_automations
Create Date: 2026-12-16 09:00:00
"""
from datetime import datetime, timezone
import json
import os

from alembic import op
import sqlalchemy as sa

revision = "20261216_auto_close_rule"
down_revision = "20261213_automations"
branch_labels = None
depends_on = None

DEFAULT_DAYS = 7

setting = sa.table("setting", sa.column("key", sa.String), sa.column("value", sa.Text))
rule = sa.table(
    "rule",
    *(sa.column(name, sa.String) for name in ("name", "description", "kind", "triggers", "channels", "wait",
                                              "match", "conditions", "actions", "system")),
    *(sa.column(name, sa.Integer) for name in ("position", "wait_minutes", "matched_count")),
    *(sa.column(name, sa.Boolean) for name in ("active", "business_hours")),
    *(sa.column(name, sa.DateTime) for name in ("created_at", "updated_at")),
)


def _configured_days():
    try:
        from flask import current_app

        return current_app.config.get("HELPDESK_AUTO_CLOSE_DAYS")
    except RuntimeError:  # run outside the app: the environment only
        return os.environ.get("HELPDESK_AUTO_CLOSE_DAYS")


def _days(conn) -> int:
    raw = conn.execute(sa.select(setting.c.value).where(setting.c.key == "auto_close_days")).scalar()
    if raw is None:
        raw = _configured_days()
    try:
        return int(raw or 0)
    except (TypeError, ValueError):
        return 0


def upgrade():
    conn = op.get_bind()
    if conn.execute(sa.select(rule.c.name).where(rule.c.system == "auto_close")).first() is not None:
        return
    days = _days(conn)
    name = "Close resolved tickets"
    if conn.execute(sa.select(rule.c.name).where(rule.c.name == name)).first() is not None:
        name += " (desk)"
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    conn.execute(rule.insert().values(
        name=name, system="auto_close", kind="time", active=days > 0, position=1000,
        description="Closes a ticket some days after it was resolved, mailing the customer. "
                    "Switch it off to keep resolved tickets open for replies.",
        triggers="", channels="", wait="resolved", wait_minutes=(days if days > 0 else DEFAULT_DAYS) * 1440,
        business_hours=False, match="all",
        conditions=json.dumps([{"field": "status", "op": "is", "value": "resolved"}]),
        actions=json.dumps([{"type": "close"}]), matched_count=0, created_at=now, updated_at=now,
    ))


def downgrade():
    op.get_bind().execute(rule.delete().where(rule.c.system == "auto_close"))
