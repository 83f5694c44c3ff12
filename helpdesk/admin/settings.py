"""The desk's settings (/admin/settings): desk name, time zone, attachments, ticket timings and
staff two-factor sign-in (the environment's values are the defaults). The settings form and its
view."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import BooleanField, IntegerField, StringField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    ValidationError,
)

from .. import audit, settings
from ..config import ALLOWED_TYPES
from ..extensions import db
from ..htmx import render
from ..models import Agent, report_cell
from .blueprint import bp
from .forms import NAME_MAX, MultiCheckbox, collapse_spaces, valid_timezone

TYPE_HINTS = {  # the file names people know these types by
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
    "application/vnd.oasis.opendocument.text": ".odt",
    "application/vnd.oasis.opendocument.spreadsheet": ".ods",
    "application/msword": ".doc",
    "application/vnd.ms-excel": ".xls",
    "message/rfc822": ".eml",
}


class SettingsForm(FlaskForm):
    sections = [
        ("Desk", ["desk_name", "timezone"]),
        ("Attachments", ["max_attachment_mb", "max_attachments", "allowed_types"]),
        ("Tickets", ["reopen_days", "access_link_days"]),
        ("Staff sign-in", ["require_totp"]),
        ("Tags", ["tags_admin_only"]),
    ]
    help = {
        "require_totp": "Every agent must enter a code from an authenticator app after the password. "
                        "Agents who have not set it up are sent to do so before anything else, and nobody "
                        "can turn it off.",
        "timezone": "Times on every page are shown in it; SLA plans without a time zone count in it.",
        "reopen_days": "A customer's reply reopens a closed ticket within this many days of closing (0: never).",
        "access_link_days": "How long a mailed access link opens its ticket.",
        "tags_admin_only": "Agents then only pick the desk's existing tags for tickets; admins still create new "
                           "ones, on a ticket or under Tags.",
    }

    desk_name = StringField("Desk name", filters=[collapse_spaces], validators=[
        DataRequired("Give the desk a name."), Length(max=NAME_MAX, message="At most %(max)d characters.")])
    timezone = StringField("Time zone", filters=[collapse_spaces], validators=[DataRequired("Give a time zone.")])
    max_attachment_mb = IntegerField("Largest attachment (MB)", validators=[
        InputRequired("Give a size in MB."), NumberRange(min=1, max=100, message="From 1 to 100 MB.")])
    max_attachments = IntegerField("Attachments per message", validators=[
        InputRequired("Give a number."), NumberRange(min=1, max=20, message="From 1 to 20.")])
    allowed_types = MultiCheckbox("Allowed attachment types", choices=lambda: [
        (mime, f"{label} ({TYPE_HINTS.get(mime, mime)})")
        for mime, label in sorted(ALLOWED_TYPES.items(), key=lambda i: (i[1].lower(), i[0]))])
    reopen_days = IntegerField("Days a closed ticket can be reopened", validators=[
        InputRequired("Give a number of days."), NumberRange(min=0, max=3650, message="From 0 to 3650 days.")])
    access_link_days = IntegerField("Access links valid for (days)", validators=[
        InputRequired("Give a number of days."), NumberRange(min=1, max=3650, message="From 1 to 3650 days.")])
    require_totp = BooleanField("Require two-factor sign-in for all agents")
    tags_admin_only = BooleanField("Only admins create new tags")

    def validate_timezone(self, field):
        if not valid_timezone(field.data):
            raise ValidationError("That is not a known time zone. Use a name like Europe/Berlin or UTC.")

    def validate_allowed_types(self, field):
        if not field.data:
            raise ValidationError("Allow at least one type of file.")


@bp.route("/settings", methods=["GET", "POST"])
def settings_page():
    """The desk's settings (the environment's values are the defaults)."""
    form = SettingsForm(data=None if request.method == "POST" else settings.values())
    if request.method == "GET":
        return render("admin/settings.html", form=form, can_edit=current_user.is_admin, helps=_defaults(),
                      enrolment=_enrolment())
    if not form.validate():
        return render("admin/settings.html", form=form, can_edit=True, helps=_defaults(), enrolment=_enrolment(),
                      status=400)
    wanted = {name: form[name].data for name in settings.DEFINITIONS if name in form}
    wanted["allowed_types"] = sorted(wanted["allowed_types"])
    changes = settings.save(wanted)
    for key, old, new in changes:
        audit.record("setting", None, [(key, audit.display(old), audit.display(new))],
                     name=settings.DEFINITIONS[key].label)
    db.session.commit()
    flash("Settings saved." if changes else "Nothing was changed.", "success" if changes else "info")
    if any(key == "timezone" for key, *_ in changes) and report_cell.stored_zone() is None:
        flash("The reports count days in the new time zone by reading the tickets, which is slower on a desk "
              "this size, until their summaries are counted afresh: run “flask --app app reports rebuild” at a "
              "quiet moment (ticket changes wait while it runs, about two minutes for a million tickets).", "info")
    return redirect(url_for("admin.settings_page"))


def _defaults() -> dict:
    """Each field's help, ending with the configured default it replaces."""
    helps = {}
    for key in SettingsForm.help.keys() | {f for _, names in SettingsForm.sections for f in names}:
        default = settings.default(key)
        if key == "allowed_types":
            default = "all of them"
        elif isinstance(default, bool):
            default = "on" if default else "off"
        helps[key] = f"{SettingsForm.help.get(key, '')} Default: {default}.".strip()
    return helps


def _enrolment() -> dict:
    """How many active agents have two-factor sign-in on (the settings page shows it)."""
    active = db.session.scalar(select(func.count(Agent.id)).where(Agent.active.is_(True))) or 0
    enrolled = db.session.scalar(select(func.count(Agent.id)).where(
        Agent.active.is_(True), Agent.totp_secret.is_not(None))) or 0
    return {"active": active, "enrolled": enrolled, "required": settings.get("require_totp")}
