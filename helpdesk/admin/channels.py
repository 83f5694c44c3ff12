"""Admin pages of the intake channels: API keys, IMAP mailboxes, and mail that could not be read.

Managers may look; only admins create, change or revoke, and every change is audited (never a
secret: a key is logged by name, scopes and ranges, a password as "set" or "changed"). A key's
secret is shown once, in the answer to the form that created it, and never stored (only its hash).

A mailbox's stored password goes only where the admin who typed it meant: changing the server,
port, security or user name asks for it again, and "no TLS" to a server that is not this
machine needs an explicit, audited choice."""
from __future__ import annotations

import ipaddress

from flask import abort, flash, make_response, redirect, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from .. import audit
from ..models import API_SCOPES, hash_api_key, loopback_host
from ..extensions import db
from ..htmx import render
from ..models import ApiKey, Department, FailedMail, HelpTopic, Mailbox
from .. import clock
from ..text import is_number
from . import bp
from .routes import admin_only


# --- API keys ------------------------------------------------------------------------------------


def _networks(form, field):
    for line in (field.data or "").splitlines():
        if line.strip():
            try:
                ipaddress.ip_network(line.strip(), strict=False)
            except ValueError:
                raise ValidationError(f"{line.strip()[:60]} is not an IP address or network (e.g. 10.0.0.0/8).")


class ApiKeyForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Name the key after the tool that uses it."),
                                           Length(max=120)])
    scope_create = BooleanField("create: open tickets and add customer messages", default=True)
    scope_read = BooleanField("read: read tickets and list a customer's tickets", default=True)
    ip_ranges = TextAreaField("Allowed IP ranges (optional)", validators=[Optional(), Length(max=2000), _networks])

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if not (self.scope_create.data or self.scope_read.data):
            self.scope_create.errors = [*self.scope_create.errors, "Give the key at least one scope."]
            return False
        return ok


def _keys_page(form, status=200, secret=None, created=None):
    keys = db.session.scalars(select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc()))
    response = make_response(render("admin/api_keys.html", form=form, keys=list(keys), secret=secret,
                                    created=created, status=status))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/api-keys", methods=["GET", "POST"])
def api_keys():
    """API keys: the list, and (admins) a form to create one; its secret is shown once."""
    form = ApiKeyForm(formdata=None) if request.method == "GET" else ApiKeyForm()
    if request.method == "GET":
        return _keys_page(form)
    admin_only()
    if not form.validate():
        return _keys_page(form, 400)
    secret = ApiKey.generate()
    scopes = [s for s in API_SCOPES if getattr(form, f"scope_{s}").data]
    ranges = "\n".join(str(ipaddress.ip_network(line.strip(), strict=False))
                       for line in (form.ip_ranges.data or "").splitlines() if line.strip())
    key = ApiKey(name=" ".join(form.name.data.split()), key_hash=hash_api_key(secret), prefix=secret[:10],
                 scopes=",".join(scopes), ip_ranges=ranges, created_by=current_user._get_current_object())
    db.session.add(key)
    audit.record("api_key", key, [("created", "", key.name), ("scopes", "", ", ".join(scopes)),
                                  ("ip_ranges", "", ranges.replace("\n", ", ") or "any"),
                                  ("key", "", f"issued ({key.prefix}…)")])
    db.session.commit()
    return _keys_page(ApiKeyForm(formdata=None), 201, secret=secret, created=key)


@bp.post("/api-keys/<int:key_id>/revoke")
def revoke_api_key(key_id):
    """Revoke a key: every request with it is refused (401) from now on."""
    admin_only()
    if not FlaskForm().validate_on_submit():
        abort(400, "Your session expired. Reload the page and try again.")
    key = db.session.get(ApiKey, key_id)
    if key is None:
        abort(404, "There is no such API key.")
    if key.revoked_at is None:
        key.revoked_at = clock.utcnow()
        audit.record("api_key", key, [("state", "active", "revoked")])
        db.session.commit()
        flash(f"The key “{key.name}” is revoked; tools using it are refused from now on.", "success")
    return redirect(url_for("admin.api_keys"))


# --- mailboxes ---------------------------------------------------------------------------------------


def _id(value):
    if value in (None, ""):
        return 0
    return int(value) if is_number(str(value)) and len(str(value)) < 10 else -1


class MailboxForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Name the mailbox."), Length(max=120)])
    department = SelectField("Department", coerce=_id)
    topic = SelectField("Help topic for new tickets", coerce=_id)
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


# --- mail that could not be read -------------------------------------------------------------------


@bp.get("/failed-mail")
def failed_mail():
    """Mails the desk could not read, kept raw: what went wrong, and the raw message."""
    mails = db.session.scalars(select(FailedMail).order_by(FailedMail.created_at.desc()).limit(200))
    return render("admin/failed_mail.html", mails=list(mails))


@bp.get("/failed-mail/<int:mail_id>.eml")
def failed_mail_raw(mail_id):
    """The raw message, as a download (never shown inline)."""
    mail = db.session.get(FailedMail, mail_id)
    if mail is None:
        abort(404, "There is no such mail.")
    response = make_response(mail.raw)
    response.headers["Content-Type"] = "application/octet-stream"
    response.headers["Content-Disposition"] = f'attachment; filename="failed-mail-{mail.id}.eml"'
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response

