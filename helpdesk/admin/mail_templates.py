"""Mail templates (/admin/mail-templates): the wording (subject and opening message) of each kind
of mail the desk sends. Managers may look; only admins change, preview drafts or restore the
built-in wording. The template form and its views."""
from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField, TextAreaField
from wtforms.validators import Length, ValidationError

from .. import audit, settings
from ..extensions import db
from ..htmx import render
from ..mail import wording
from ..mail.wording import KINDS, MESSAGE_MAX, SUBJECT_MAX, Kind
from ..models import MailTemplate
from ..text import one_line
from .blueprint import bp

PLACEHOLDER_HELP = {**wording.COMMON, **wording.EXTRA}


def _one_line(value):
    return one_line(value) if isinstance(value, str) else value


def _placeholders_only(form, field):
    unknown = wording.unknown_placeholders(form.kind, field.data or "")
    if unknown:
        raise ValidationError(
            f"Unknown placeholder{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}. "
            f"This mail can use: {wording.allowed_text(form.kind)}.")


class MailTemplateForm(FlaskForm):
    subject = StringField("Subject", filters=[_one_line], validators=[
        Length(max=SUBJECT_MAX, message="At most %(max)d characters."), _placeholders_only])
    message = TextAreaField("Message", validators=[
        Length(max=MESSAGE_MAX, message="At most %(max)d characters."), _placeholders_only])

    def __init__(self, kind: Kind, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind


def _kind(key: str) -> Kind:
    kind = KINDS.get(key)
    if kind is None:
        abort(404, "There is no such kind of mail.")
    return kind


def _page(kind: Kind, form: MailTemplateForm, *blocks, status: int = 200):
    row = db.session.get(MailTemplate, kind.key)
    shown = wording.preview(kind, form.subject.data or "", form.message.data or "", settings.get("desk_name"))
    return render("admin/mail_template_edit.html", *blocks, kind=kind, form=form, row=row, preview=shown,
                  can_edit=current_user.is_admin, placeholder_help=PLACEHOLDER_HELP, status=status)


@bp.route("/mail-templates")
def mail_template_list():
    """Every kind of mail: who gets it, when, and whether its wording is the desk's own."""
    custom = {row.key: row for row in db.session.scalars(select(MailTemplate))}
    return render("admin/mail_templates.html", kinds=list(KINDS.values()), custom=custom)


@bp.route("/mail-templates/<key>")
def mail_template_edit(key):
    """One kind of mail's wording, its placeholders and a preview with a sample ticket."""
    kind = _kind(key)
    row = db.session.get(MailTemplate, kind.key)
    form = MailTemplateForm(kind, formdata=None, data={"subject": row.subject if row else "",
                                                       "message": row.message if row else ""})
    return _page(kind, form)


@bp.route("/mail-templates/<key>", methods=["POST"])
def mail_template_save(key):
    """Save the wording (empty fields: the built-in wording)."""
    kind = _kind(key)
    form = MailTemplateForm(kind)
    if not form.validate():
        return _page(kind, form, status=400)
    row, changes = wording.save(kind.key, form.subject.data or "", form.message.data or "")
    audit.record("mail_template", None, changes, name=kind.title)
    db.session.commit()
    if not changes:
        flash("Nothing was changed.", "info")
    else:
        flash(f"The wording of “{kind.title}” is saved." if row else
              f"“{kind.title}” uses the built-in wording.", "success")
    return redirect(url_for("admin.mail_template_edit", key=kind.key))


@bp.route("/mail-templates/<key>/preview", methods=["POST"])
def mail_template_preview(key):
    """The mail with the draft wording (htmx: only the preview block). Nothing is saved."""
    kind = _kind(key)
    form = MailTemplateForm(kind)
    ok = form.validate()
    return _page(kind, form, "preview", status=200 if ok else 400)


@bp.route("/mail-templates/<key>/restore", methods=["POST"])
def mail_template_restore(key):
    """Back to the built-in subject and message."""
    kind = _kind(key)
    row, changes = wording.save(kind.key, "", "")
    audit.record("mail_template", None, changes, name=kind.title)
    db.session.commit()
    flash(f"“{kind.title}” uses the built-in wording again." if changes else
          f"“{kind.title}” already used the built-in wording.", "success" if changes else "info")
    return redirect(url_for("admin.mail_template_edit", key=kind.key))
