"""The audit log (/admin/audit): every admin change, newest first, filterable by kind of object."""
from __future__ import annotations

from flask import request
from sqlalchemy import select

from ..extensions import db
from ..htmx import render
from ..models import AuditEntry
from .blueprint import bp

AUDIT_PER_PAGE = 50
AUDIT_TYPES = {"topic": "Help topics", "sla": "SLA plans", "department": "Departments", "team": "Teams",
               "agent": "Agents", "priority": "Priorities", "setting": "Settings",
               "mail_template": "Mail templates", "api_key": "API keys", "mailbox": "Mailboxes",
               "outbox": "Outbox", "canned_response": "Canned responses", "macro": "Macros", "tag": "Tags",
               "rule": "Automation rules", "webhook": "Webhooks"}
AUDIT_KINDS = {"topic": "help topic", "sla": "SLA plan", "department": "department", "team": "team",
               "agent": "agent", "priority": "priority", "setting": "setting",
               "mail_template": "mail template", "api_key": "API key", "mailbox": "mailbox",
               "outbox": "outbox", "canned_response": "canned response", "macro": "macro", "tag": "tag",
               "rule": "automation rule", "webhook": "webhook"}


@bp.route("/audit")
def audit_log():
    """Every admin change, newest first; filterable by kind of object."""
    shown = request.args.get("type", "")
    if shown not in AUDIT_TYPES:
        shown = ""
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 100_000)  # beyond: an empty page, not an SQL error
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    if shown:
        query = query.where(AuditEntry.object_type == shown)
    entries = db.paginate(query, page=page, per_page=AUDIT_PER_PAGE, error_out=False)
    return render("admin/audit.html", "audit_list", entries=entries, shown=shown, types=AUDIT_TYPES,
                  kinds=AUDIT_KINDS)
