"""The admin blueprint and the rules every admin view shares.

Managers and admins may look; only admins may change anything (`admin_only` for the views that
check it themselves), except where a view lets managers change their departments' part
(`managers_may_change`). Every state-changing request must commit its audit entry. The dev mailbox
is for admins only: it holds every mail the desk sent, admins' password-reset links included.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, request
from flask_login import current_user

from .. import audit
from ..extensions import login_manager

bp = Blueprint("admin", __name__)


@bp.before_request
def changes_are_audited():
    """Every state-changing request of the admin area: its commits must carry an audit entry
    (audit.require), so no view can save a change and forget to log it."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        audit.require()


@bp.before_request
def staff_only():
    """Managers and admins only; anyone else is sent to sign in or refused."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.is_manager:
        abort(403, "The admin area is for managers and administrators.")
    view = current_app.view_functions.get(request.endpoint)
    if request.method not in ("GET", "HEAD") and not getattr(view, "managers_may_change", False):
        admin_only()


def admin_only():
    if not current_user.is_admin:
        abort(403, "Only administrators may do that.")


def managers_may_change(view):
    """Managers may send changes to this view too: it checks itself what each one may change
    (their departments' automation rules). Put it under @bp.route."""
    view.managers_may_change = True
    return view


@bp.context_processor
def admin_nav():
    """The dev mailbox's link is shown to those who may open it: admins, when it is on."""
    return {"dev_mailbox_on": bool(current_app.config.get("HELPDESK_DEV_MAILBOX"))
            and getattr(current_user, "is_admin", False)}
