"""IMAP mailboxes (/admin/mailboxes) fetched by `flask mail fetch`: the list, and (admins) adding
and changing one. The mailbox form and its views.

Managers may look; only admins create or change, and every change is audited (a password only as
"set" or "changed"). A mailbox's stored password goes only where the admin who typed it meant:
changing the server, port, security or user name asks for it again, and "no TLS" to a server that
is not this machine needs an explicit, audited choice."""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from .. import audit
from ..extensions import db
from ..htmx import render
from ..models import Department, HelpTopic, Mailbox, loopback_host
from ..text import is_number
from .blueprint import admin_only, bp


def _choice_id(value):
    """A submitted department or topic id; anything but a short number is -1, no choice at all
    (kept apart from web.fields.row_id: a tampered value here reads "Not a valid choice.")."""
    if value in (None, ""):
        return 0
    return int(value) if is_number(str(value)) and len(str(value)) < 10 else -1


class MailboxForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Name the mailbox."), Length(max=120)])
    department = SelectField("Department", coerce=_choice_id)
    topic = SelectField("Help topic for new tickets", coerce=_choice_id)
    host = StringField("IMAP server", validators=[DataRequired("Enter the IMAP server's host name."), Length(max=255)])
    port = IntegerField("Port", default=993, validators=[NumberRange(1, 65535, "A port is 1 to 65535.")])
    security = SelectField("Security")
    username = StringField("User name", validators=[DataRequired("Enter the user name."), Length(max=255)])
    password = PasswordField("Password", validators=[Optional(), Length(max=255)])
    folder = StringField("Folder", default="INBOX", validators=[DataRequired(), Length(max=255)])
    action = SelectField("After fetching a mail")
    move_to = StringField("Folder to move to", validators=[Optional(), Length(max=255)])
    active = BooleanField("Fetch from this mailbox", default=True)
    allow_plaintext = BooleanField("Send the password unencrypted to this server")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.security.choices = [("ssl", "TLS (port 993)"), ("starttls", "STARTTLS (port 143)"),
                                 ("none", "None (trusted network only)")]
        self.action.choices = [("seen", "Mark it as read"), ("move", "Move it to a folder"), ("delete", "Delete it")]
        depts = db.session.scalars(select(Department).where(Department.active.is_(True)).order_by(Department.name))
        self.department.choices = [(d.id, d.name) for d in depts]
        topics = db.session.scalars(select(HelpTopic).where(HelpTopic.active.is_(True), HelpTopic.public.is_(True))
                                   .order_by(HelpTopic.name))
        self.topic.choices = [(0, "None (the department's defaults)")] + [(t.id, t.name) for t in topics]

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if self.action.data == "move" and not (self.move_to.data or "").strip():
            self.move_to.errors = [*self.move_to.errors, "Name the folder to move fetched mail to."]
            return False
        return ok


def _mailboxes_page(form, editing=None, status=200):
    boxes = db.session.scalars(select(Mailbox).order_by(Mailbox.name))
    return render("admin/mailboxes.html", form=form, mailboxes=list(boxes), editing=editing, status=status)


@bp.route("/mailboxes", methods=["GET", "POST"])
def mailboxes():
    """IMAP mailboxes fetched by `flask mail fetch`: the list, and (admins) a form to add one."""
    if request.method == "GET":
        return _mailboxes_page(MailboxForm(formdata=None))
    admin_only()
    return _save_mailbox(Mailbox(), MailboxForm())


@bp.route("/mailboxes/<int:mailbox_id>", methods=["GET", "POST"])
def edit_mailbox(mailbox_id):
    """Change a mailbox; a blank password keeps the stored one (it is never shown)."""
    box = db.session.get(Mailbox, mailbox_id)
    if box is None:
        abort(404, "There is no such mailbox.")
    if request.method == "GET":
        form = MailboxForm(formdata=None, obj=box)
        form.department.data, form.topic.data, form.password.data = box.department_id, box.topic_id or 0, ""
        return _mailboxes_page(form, editing=box)
    admin_only()
    return _save_mailbox(box, MailboxForm(), editing=box)


def _save_mailbox(box: Mailbox, form: MailboxForm, editing=None):
    if not form.validate():
        return _mailboxes_page(form, editing=editing, status=400)
    if form.department.data not in {d for d, _ in form.department.choices}:
        form.department.errors = ["Choose a department."]
        return _mailboxes_page(form, editing=editing, status=400)
    if form.topic.data not in {t for t, _ in form.topic.choices}:
        form.topic.errors = ["Choose a help topic."]
        return _mailboxes_page(form, editing=editing, status=400)
    name = " ".join(form.name.data.split())
    clash = db.session.scalar(select(Mailbox).where(func.lower(Mailbox.name) == name.lower(),
                                                    Mailbox.id != (box.id or 0)))
    if clash is not None:
        form.name.errors = ["Another mailbox has this name."]
        return _mailboxes_page(form, editing=editing, status=400)
    created = box.id is None
    host, username, security = form.host.data.strip(), form.username.data.strip(), form.security.data
    if created and not form.password.data:
        form.password.errors = ["Enter the mailbox's password."]
        return _mailboxes_page(form, editing=editing, status=400)
    # The stored password was typed for one server and account: it is never sent to another.
    if not created and not form.password.data and (host, form.port.data, security, username) != (
            box.host, box.port, box.security, box.username):
        form.password.errors = ["Enter the password again: the server or account changed."]
        return _mailboxes_page(form, editing=editing, status=400)
    plaintext = security == "none" and not loopback_host(host)
    if plaintext and not form.allow_plaintext.data:
        form.security.errors = [f"Without TLS the password would go to {host} unencrypted. Choose TLS or "
                                "STARTTLS, or tick “Send the password unencrypted to this server”."]
        return _mailboxes_page(form, editing=editing, status=400)
    values = {
        "name": name, "department": db.session.get(Department, form.department.data),
        "topic": db.session.get(HelpTopic, form.topic.data) if form.topic.data else None,
        "host": host, "port": form.port.data, "security": security, "username": username,
        "folder": form.folder.data.strip(), "action": form.action.data,
        "move_to": (form.move_to.data or "").strip(), "active": form.active.data,
        "allow_plaintext": plaintext,  # only kept where it means something
    }
    if created:
        db.session.add(box)
    changes = audit.apply(box, values)
    if form.password.data:
        box.password = form.password.data
        changes.append(("password", "", "set" if created else "changed"))  # never the password itself
    if created:
        changes.insert(0, ("created", "", box.name))
    audit.record("mailbox", box, changes)
    db.session.commit()
    if changes:
        flash(f"The mailbox “{box.name}” was saved.", "success")
    else:
        flash("Nothing was changed.", "info")
    return redirect(url_for("admin.mailboxes"))
