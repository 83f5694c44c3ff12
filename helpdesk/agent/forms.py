"""One form per ticket action. Select choices come from the database, so a tampered id fails
validation (400 with a message) before the lifecycle is called."""
from __future__ import annotations

from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import EmailField, IntegerField, MultipleFileField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import HiddenInput

from .. import attachments
from ..extensions import db
from ..models import Agent, Department, Priority, SLAPlan, Team
from ..tickets import BODY_MAX
from ..web.fields import IdSelect

NOTE_MAX = 500
STALE = "This form is out of date. Reload the ticket and try again."
VERSION_MAX = 2**31 - 1  # the column is a 32-bit integer on every database


def _chosen(message):
    def check(form, field):
        if not field.data:
            raise ValidationError(message)
    return check


class ActionForm(FlaskForm):
    """Every action form carries the ticket version the person saw (optimistic locking)."""

    action = ""  # the lifecycle's name for it (tickets.TRANSITIONS), also the form's block name
    version = IntegerField(widget=HiddenInput(), validators=[InputRequired(STALE), NumberRange(min=1, max=VERSION_MAX, message=STALE)])

    def setup(self, ticket, blank: bool = False) -> "ActionForm":
        """Load choices for this ticket; a blank form starts from the ticket's current values."""
        for f in self:  # ids unique on the page, which shows every action's form at once
            f.id = f"{self.action}-{f.name}"
        if blank:
            self.version.data = ticket.version
        return self

    def uploads(self) -> list:
        files = getattr(self, "attachments", None)
        return attachments.check_files(files.data or []) if files is not None else []

    def keep_typed_text(self, ticket) -> None:
        """After a conflict: keep what was typed, take the current version so a resubmit posts."""
        self.version.data = ticket.version
        self.version.raw_data = [str(ticket.version)]


def _body(label, what):
    return TextAreaField(label, validators=[
        DataRequired(f"Write the {what} first."), Length(max=BODY_MAX, message=f"The {what} is too long.")])


def _optional_note(label="Note (optional)"):
    return TextAreaField(label, validators=[Optional(), Length(max=NOTE_MAX)])


class ReplyForm(ActionForm):
    action = "reply"
    body = _body("Your reply", "reply")
    attachments = MultipleFileField("Attachments")


class NoteForm(ActionForm):
    action = "note"
    body = _body("Note", "note")
    attachments = MultipleFileField("Attachments")


class ClaimForm(ActionForm):
    action = "claim"


class AssignForm(ActionForm):
    action = "assign"
    agent = IdSelect("Agent", model=Agent)
    team = IdSelect("Team", model=Team)

    def setup(self, ticket, blank=False):
        self.agent.choices = [(0, "— no change —")] + [
            (a.id, a.name) for a in ticket.department.agents if a.active]
        self.team.choices = [(0, "— no change —")] + [
            (t.id, t.name) for t in db.session.scalars(select(Team).where(Team.active.is_(True)).order_by(Team.name))]
        return super().setup(ticket, blank)

    def validate(self, extra_validators=None):
        if not super().validate(extra_validators):
            return False
        if not self.agent.data and not self.team.data:
            self.agent.errors.append("Choose an agent or a team.")
            return False
        return True


class PriorityForm(ActionForm):
    action = "set_priority"
    priority = IdSelect("Priority", model=Priority, validators=[_chosen("Choose a priority.")])

    def setup(self, ticket, blank=False):
        self.priority.choices = [(0, "Choose…")] + [
            (p.id, p.name) for p in db.session.scalars(select(Priority).order_by(Priority.urgency.desc()))]
        if blank:
            self.priority.data = ticket.priority_id
        return super().setup(ticket, blank)


class SLAForm(ActionForm):
    action = "set_sla"
    sla = IdSelect("SLA plan", model=SLAPlan, validators=[_chosen("Choose an SLA plan.")])

    def setup(self, ticket, blank=False):
        plans = db.session.scalars(select(SLAPlan).where(SLAPlan.active.is_(True)).order_by(SLAPlan.grace_hours))
        self.sla.choices = [(0, "Choose…")] + [(s.id, str(s)) for s in plans]
        if blank:
            self.sla.data = ticket.sla_id or 0
        return super().setup(ticket, blank)


class TransferForm(ActionForm):
    action = "transfer"
    department = IdSelect("Department", model=Department, validators=[_chosen("Choose a department.")])

    def setup(self, ticket, blank=False):
        depts = db.session.scalars(
            select(Department).where(Department.active.is_(True), Department.id != ticket.department_id)
            .order_by(Department.name))
        self.department.choices = [(0, "Choose…")] + [(d.id, d.name) for d in depts]
        return super().setup(ticket, blank)


class RequestInfoForm(ActionForm):
    action = "request_info"
    body = _body("Your question to the customer", "question")


class EscalateForm(ActionForm):
    action = "escalate"
    team = IdSelect("Team", model=Team, validators=[_chosen("Choose the team to escalate to.")])
    note = TextAreaField("Why? (internal note for the team)", validators=[
        DataRequired("Say why you escalate, for the team."), Length(max=BODY_MAX)])

    def setup(self, ticket, blank=False):
        self.team.choices = [(0, "Choose a team…")] + [
            (t.id, t.name) for t in db.session.scalars(select(Team).where(Team.active.is_(True)).order_by(Team.name))]
        return super().setup(ticket, blank)


class ResumeForm(ActionForm):
    action = "resume"


class ResolveForm(ActionForm):
    action = "resolve"
    resolution = _body("Resolution (mailed to the customer)", "resolution")
    attachments = MultipleFileField("Attachments")


class CloseForm(ActionForm):
    action = "close"
    note = _optional_note("Internal note (optional)")


class ReopenForm(ActionForm):
    action = "reopen"
    note = _optional_note("Why reopen? (internal, optional)")


class AccessLinkForm(ActionForm):
    action = "access_link"


class CollaboratorForm(ActionForm):
    action = "collaborators"
    email = EmailField("Email address", validators=[
        DataRequired("Enter the address to put on copy."), Length(max=254)])
    name = StringField("Name (optional)", validators=[Optional(), Length(max=120)])


FORMS = [ReplyForm, NoteForm, ClaimForm, AssignForm, PriorityForm, SLAForm, TransferForm,
         RequestInfoForm, EscalateForm, ResumeForm, ResolveForm, CloseForm, ReopenForm, AccessLinkForm,
         CollaboratorForm]


def blank_forms(ticket) -> dict:
    """A fresh form for every action, keyed by action name."""
    return {cls.action: cls(formdata=None).setup(ticket, blank=True) for cls in FORMS}
