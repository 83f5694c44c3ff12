"""One form per ticket action. Select choices come from the database, so a tampered id fails
validation (400 with a message) before the lifecycle is called.

The ticket page shows every action's form at once. It draws them from BlankForm (what a form
nobody filled in shows), without building WTForms forms, and their choice lists come from
choices(), kept per worker until an admin changes the setup; a posted form (with its errors or
typed text) is the real WTForms form."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import EmailField, IntegerField, MultipleFileField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import HiddenInput

from .. import attachments, live
from ..extensions import db
from ..models import TAG_MAX, Agent, Department, Priority, SLAPlan, Team, agent_departments
from ..tickets import BODY_MAX, InvalidInput, canned
from ..tickets.tags import NAMES_MAX, split_names
from ..web.fields import IdSelect

NOTE_MAX = 500
STALE = "This form is out of date. Reload the ticket and try again."
VERSION_MAX = 2**31 - 1  # the column is a 32-bit integer on every database


def _chosen(message):
    def check(form, field):
        if not field.data:
            raise ValidationError(message)
    return check


# --- the choice lists ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Choices:
    """What the action forms' selects offer, as (id, label) pairs in the order shown."""

    teams: tuple            # active teams, by name
    priorities: tuple       # every priority, most urgent first
    slas: tuple             # active SLA plans, shortest grace first
    departments: tuple      # active departments, by name
    agents: dict            # department id -> its active agents, by name

    def agents_of(self, department_id: int) -> tuple:
        return self.agents.get(department_id, ())


def choices() -> Choices:
    """The choice lists as the setup is now, read once per worker and setup change
    (helpdesk.live.kept_with_setup), so a change shows in the very next form."""
    return live.kept_with_setup("agent.choices", _read_choices)


def _read_choices() -> Choices:
    def pairs(query):
        return tuple((row[0], row[1]) for row in db.session.execute(query))

    agents: dict[int, list] = {}
    for department_id, agent_id, name in db.session.execute(
            select(agent_departments.c.department_id, Agent.id, Agent.name)
            .join(Agent, Agent.id == agent_departments.c.agent_id)
            .where(Agent.active.is_(True)).order_by(Agent.name, Agent.id)):
        agents.setdefault(department_id, []).append((agent_id, name))
    plans = db.session.scalars(select(SLAPlan).where(SLAPlan.active.is_(True)).order_by(SLAPlan.grace_hours))
    return Choices(
        teams=pairs(select(Team.id, Team.name).where(Team.active.is_(True)).order_by(Team.name)),
        priorities=pairs(select(Priority.id, Priority.name).order_by(Priority.urgency.desc())),
        slas=tuple((s.id, str(s)) for s in plans),
        departments=pairs(select(Department.id, Department.name).where(Department.active.is_(True))
                          .order_by(Department.name)),
        agents={key: tuple(value) for key, value in agents.items()},
    )


# --- the forms ---------------------------------------------------------------------------------


class ActionForm(FlaskForm):
    """Every action form carries the ticket version the person saw (optimistic locking)."""

    action = ""  # the lifecycle's name for it (tickets.TRANSITIONS), also the form's block name
    version = IntegerField(widget=HiddenInput(), validators=[InputRequired(STALE), NumberRange(min=1, max=VERSION_MAX, message=STALE)])
    # The newest version the page has shown since (its live updates, added by the page's script):
    # a customer's message it showed does not refuse an answer (tickets.check).
    seen = IntegerField(widget=HiddenInput(), validators=[Optional(), NumberRange(min=1, max=VERSION_MAX, message=STALE)])

    @staticmethod
    def choice_lists(ticket, lists: Choices) -> dict:
        """Each select's choices on this ticket, by field name (none here; the forms with selects
        say theirs)."""
        return {}

    @staticmethod
    def blank_values(ticket) -> dict:
        """What a select shows before anyone chose, by field name (else "nothing chosen")."""
        return {}

    def set_choices(self, ticket) -> None:
        for name, pairs in self.choice_lists(ticket, choices()).items():
            self[name].choices = pairs

    canned_files = None  # canned responses' files inserted into it (agent/canned.py), listed in it

    def setup(self, ticket, blank: bool = False) -> "ActionForm":
        """Load choices for this ticket; a blank form starts from the ticket's current values."""
        if not blank and "canned_file" in request.form:  # shown again (refused, conflict): still listed
            try:
                self.canned_files = canned.usable_files(current_user, ticket, request.form.getlist("canned_file"))
            except InvalidInput:
                self.canned_files = None
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

    @staticmethod
    def choice_lists(ticket, lists: Choices) -> dict:
        return {"agent": [(0, "— no change —"), *lists.agents_of(ticket.department_id)],
                "team": [(0, "— no change —"), *lists.teams]}

    def setup(self, ticket, blank=False):
        self.set_choices(ticket)
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

    @staticmethod
    def choice_lists(ticket, lists: Choices) -> dict:
        return {"priority": [(0, "Choose…"), *lists.priorities]}

    @staticmethod
    def blank_values(ticket) -> dict:
        return {"priority": ticket.priority_id}

    def setup(self, ticket, blank=False):
        self.set_choices(ticket)
        if blank:
            self.priority.data = ticket.priority_id
        return super().setup(ticket, blank)


class SLAForm(ActionForm):
    action = "set_sla"
    sla = IdSelect("SLA plan", model=SLAPlan, validators=[_chosen("Choose an SLA plan.")])

    @staticmethod
    def choice_lists(ticket, lists: Choices) -> dict:
        return {"sla": [(0, "Choose…"), *lists.slas]}

    @staticmethod
    def blank_values(ticket) -> dict:
        return {"sla": ticket.sla_id or 0}

    def setup(self, ticket, blank=False):
        self.set_choices(ticket)
        if blank:
            self.sla.data = ticket.sla_id or 0
        return super().setup(ticket, blank)


class TransferForm(ActionForm):
    action = "transfer"
    department = IdSelect("Department", model=Department, validators=[_chosen("Choose a department.")])

    @staticmethod
    def choice_lists(ticket, lists: Choices) -> dict:
        return {"department": [(0, "Choose…"), *(d for d in lists.departments if d[0] != ticket.department_id)]}

    def setup(self, ticket, blank=False):
        self.set_choices(ticket)
        return super().setup(ticket, blank)


class RequestInfoForm(ActionForm):
    action = "request_info"
    body = _body("Your question to the customer", "question")


class EscalateForm(ActionForm):
    action = "escalate"
    team = IdSelect("Team", model=Team, validators=[_chosen("Choose the team to escalate to.")])
    note = TextAreaField("Why? (internal note for the team)", validators=[
        DataRequired("Say why you escalate, for the team."), Length(max=BODY_MAX)])

    @staticmethod
    def choice_lists(ticket, lists: Choices) -> dict:
        return {"team": [(0, "Choose a team…"), *lists.teams]}

    def setup(self, ticket, blank=False):
        self.set_choices(ticket)
        return super().setup(ticket, blank)


class ResumeForm(ActionForm):
    action = "resume"
    note = TextAreaField("What you found or did (internal note, optional)", validators=[
        Optional(), Length(max=BODY_MAX, message="The note is too long.")])


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


class TagForm(ActionForm):
    """Adding tags (names typed, comma-separated, or one picked from the suggestions) and removing
    one: the lifecycle judges the names (helpdesk/tickets/tags.py)."""

    action = "tag"
    names = StringField("Add tags", validators=[Optional(), Length(max=NAMES_MAX, message="That is too long for tags.")])
    pick = StringField(validators=[Optional(), Length(max=TAG_MAX, message="That is not a tag.")])
    remove = StringField(validators=[Optional(), Length(max=TAG_MAX, message="That is not a tag.")])

    def chosen(self) -> list[str]:
        """The names to add: those typed, the last (still being typed) replaced by the one picked."""
        typed = split_names(self.names.data or "")
        return typed[:-1] + [self.pick.data] if self.pick.data else typed


FORMS = [ReplyForm, NoteForm, ClaimForm, AssignForm, PriorityForm, SLAForm, TransferForm,
         RequestInfoForm, EscalateForm, ResumeForm, ResolveForm, CloseForm, ReopenForm, AccessLinkForm,
         CollaboratorForm, TagForm]


class BlankField:
    """One field of a form nobody has filled in, as agent/_macros.html draws it."""

    __slots__ = ("id", "name", "type", "label", "input_type", "required", "maxlength", "choices", "data")
    errors = ()

    def __init__(self, **values):
        for key in self.__slots__:
            setattr(self, key, values.get(key))

    def with_choices(self, pairs, data) -> "BlankField":
        return BlankField(**{**{key: getattr(self, key) for key in self.__slots__}, "choices": pairs, "data": data})


class BlankForm:
    """An action's form as nobody has filled it in: the ticket's version, the fields with their
    choices, and whether it carries a CSRF token. The page draws a dozen of these."""

    blank = True

    def __init__(self, action: str, version: int, fields: list, multipart: bool, csrf: bool):
        self.action, self.version, self.fields, self.multipart, self.csrf = action, version, fields, multipart, csrf


_FIELDS: dict[type, list[BlankField]] = {}


def _blank_fields(cls) -> list[BlankField]:
    """The fields of a form class as drawn blank, read once from a form built without CSRF:
    label, type and the validators' required and maxlength (what WTForms' widgets show)."""
    fields = _FIELDS.get(cls)
    if fields is None:
        form = cls(formdata=None, meta={"csrf": False})
        fields = _FIELDS[cls] = [
            BlankField(id=f"{cls.action}-{f.name}", name=f.name, type=f.type, label=f.label.text,
                       input_type=getattr(f.widget, "input_type", None), required=bool(f.flags.required),
                       maxlength=getattr(f.flags, "maxlength", None))
            for f in form if f.name not in ("version", "seen", "csrf_token")]
    return fields


def blank_form(cls, ticket, lists: Choices | None = None) -> BlankForm:
    """The action's form as nobody has filled it in, on this ticket."""
    pairs = cls.choice_lists(ticket, lists or choices())
    values = cls.blank_values(ticket)
    fields = [f.with_choices(pairs[f.name], values.get(f.name)) if f.name in pairs else f
              for f in _blank_fields(cls)]
    return BlankForm(cls.action, ticket.version, fields, any(f.type == "MultipleFileField" for f in fields),
                     current_app.config.get("WTF_CSRF_ENABLED", True))


def blank_forms(ticket) -> dict:
    """A fresh form for every action, keyed by action name."""
    lists = choices()
    return {cls.action: blank_form(cls, ticket, lists) for cls in FORMS}
