"""The admin area's forms. Every select's choices come from the database, so a tampered id fails
validation (400 with a message) before anything is saved."""
from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from email_validator import EmailNotValidError, validate_email
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..web.fields import IdSelect, _id
from ..config import ALLOWED_TYPES
from ..extensions import db
from ..models import (
    PASSWORD_MAX,
    PASSWORD_MIN,
    ROLES,
    Agent,
    Department,
    HelpTopic,
    Priority,
    SLAPlan,
    Team,
)
from ..text import is_number

NAME_MAX = 120
HOURS = NumberRange(min=1, max=8760, message="Give a number of hours from 1 to 8760 (a year).")
WEEKDAYS = [(0, "Monday"), (1, "Tuesday"), (2, "Wednesday"), (3, "Thursday"), (4, "Friday"),
            (5, "Saturday"), (6, "Sunday")]
ASSIGN_MODES = [
    ("", "None (a child topic uses its parent's)"),
    ("agent", "An agent"),
    ("team", "A team"),
    ("round_robin", "Round-robin among a team's active agents"),
]
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
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _strip(value):
    return " ".join(value.split()) if isinstance(value, str) else value


def _name_field(label="Name"):
    return StringField(label, filters=[_strip], validators=[
        DataRequired("Give it a name."), Length(max=NAME_MAX, message="At most %(max)d characters.")])


class MultiCheckbox(SelectMultipleField):
    """Checkboxes for a multiple choice; unknown values fail validation."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form):
        allowed = {value for value, _ in self.choices}
        if any(value not in allowed for value in (self.data or [])):
            raise ValidationError("That choice is not available. Reload the page and try again.")


class IdMultiSelect(SelectMultipleField):
    """A multiple choice of database ids of one model, as checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, label=None, validators=None, *, model=None, **kwargs):
        super().__init__(label, validators, coerce=_id, **kwargs)
        self.model = model

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("That choice is not available. Reload the page and try again.")

    def pre_validate(self, form):
        allowed = {value for value, _ in self.choices}
        if any(value not in allowed for value in (self.data or [])):
            raise ValidationError("That choice is not available. Reload the page and try again.")

    @property
    def records(self):
        return [db.session.get(self.model, i) for i in sorted(set(self.data or []))]


class AdminForm(FlaskForm):
    """An admin form; `sections` groups its fields on the page: (heading, [field names])."""

    sections: list = []
    model = None
    obj = None  # the row being edited (None when creating)

    def _unique(self, column, value, message):
        query = select(self.model.id).where(func.lower(column) == value.lower())
        if self.obj is not None and self.obj.id is not None:
            query = query.where(self.model.id != self.obj.id)
        if db.session.scalar(query) is not None:
            raise ValidationError(message)


def _active(model, current=None, order=None):
    """Choices of a model's active rows, plus the current one even if it was deactivated."""
    rows = list(db.session.scalars(select(model).where(model.active.is_(True)).order_by(order or model.name)))
    if current is not None and current not in rows:
        rows.append(current)
    return [(r.id, f"{r}{'' if r.active else ' (inactive)'}") for r in rows]


def _none(label="— none —"):
    return [(0, label)]


# --- help topics ------------------------------------------------------------------------------


class TopicForm(AdminForm):
    model = HelpTopic
    sections = [
        ("Topic", ["name", "parent", "public", "active", "sort", "instructions"]),
        ("Defaults for new tickets", ["department", "priority", "sla", "customer_sets_priority",
                                      "auto_acknowledge"]),
        ("Auto-assignment", ["assign_mode", "assign_agent", "assign_team"]),
    ]
    help = {
        "parent": "A child topic uses its parent's department, priority, SLA plan, instructions and "
                  "assignment wherever its own are not set.",
        "instructions": "Shown to customers on the form when they choose this topic.",
        "sort": "Topics are listed in this order on the customer form (then by name).",
        "assign_team": "For a team, or round-robin among its active members.",
    }

    name = _name_field()
    parent = IdSelect("Parent topic", model=HelpTopic)
    public = BooleanField("Public: customers can choose it", default=True)
    active = BooleanField("Active", default=True)
    sort = IntegerField("Sort order", default=0, validators=[
        InputRequired("Give a sort order (0 comes first)."),
        NumberRange(min=0, max=9999, message="A number from 0 to 9999.")])
    instructions = TextAreaField("Instructions for customers", filters=[lambda v: v.strip() if v else v],
                                 validators=[Length(max=2000, message="At most %(max)d characters.")])
    department = IdSelect("Department", model=Department)
    priority = IdSelect("Priority", model=Priority)
    sla = IdSelect("SLA plan", model=SLAPlan)
    customer_sets_priority = BooleanField("Customers may choose the priority")
    auto_acknowledge = BooleanField("Acknowledge new tickets by mail", default=True)
    assign_mode = SelectField("Assign new tickets to", choices=lambda: ASSIGN_MODES)
    assign_agent = IdSelect("Agent", model=Agent)
    assign_team = IdSelect("Team", model=Team)

    def setup(self, obj=None):
        self.obj = obj
        others = db.session.scalars(select(HelpTopic).order_by(HelpTopic.sort, HelpTopic.name))
        self.parent.choices = _none("— none: a top-level topic —") + [
            (t.id, t.full_name) for t in others if obj is None or t.id != obj.id]
        self.department.choices = _none("— the parent's, or the first department —") + _active(
            Department, obj and obj.department)
        self.priority.choices = _none("— the parent's, or Normal —") + [
            (p.id, p.name) for p in db.session.scalars(select(Priority).order_by(Priority.urgency))]
        self.sla.choices = _none("— the parent's, or the department's —") + _active(
            SLAPlan, obj and obj.sla, SLAPlan.grace_hours)
        self.assign_agent.choices = _none() + _active(Agent, obj and obj.assign_agent)
        self.assign_team.choices = _none() + _active(Team, obj and obj.assign_team)
        return self

    def validate_name(self, field):
        self._unique(HelpTopic.name, field.data, "Another help topic has this name.")

    def validate_parent(self, field):
        parent = field.record
        if parent is None or self.obj is None:
            return
        if any(t.id == self.obj.id for t in parent.lineage()):
            raise ValidationError("A topic cannot be its own parent, nor a parent of one of its parents.")

    def validate_assign_agent(self, field):
        if self.assign_mode.data == "agent" and not field.data:
            raise ValidationError("Choose the agent who gets this topic's tickets.")

    def validate_assign_team(self, field):
        if self.assign_mode.data in ("team", "round_robin") and not field.data:
            raise ValidationError("Choose the team.")

    def values(self) -> dict:
        mode = self.assign_mode.data
        return {
            "name": self.name.data, "parent": self.parent.record, "public": self.public.data,
            "active": self.active.data, "sort": self.sort.data, "instructions": self.instructions.data or "",
            "department": self.department.record, "priority": self.priority.record, "sla": self.sla.record,
            "customer_sets_priority": self.customer_sets_priority.data,
            "auto_acknowledge": self.auto_acknowledge.data, "assign_mode": mode,
            "assign_agent": self.assign_agent.record if mode == "agent" else None,
            "assign_team": self.assign_team.record if mode in ("team", "round_robin") else None,
        }

    def load(self, obj):
        for name in ("name", "public", "active", "sort", "instructions", "customer_sets_priority",
                     "auto_acknowledge"):
            getattr(self, name).data = getattr(obj, name)
        self.parent.data = obj.parent_id or 0
        self.department.data = obj.department_id or 0
        self.priority.data = obj.priority_id or 0
        self.sla.data = obj.sla_id or 0
        self.assign_mode.data = obj.assign_mode or (
            "agent" if obj.assign_agent_id else "team" if obj.assign_team_id else "")
        self.assign_agent.data = obj.assign_agent_id or 0
        self.assign_team.data = obj.assign_team_id or 0


# --- SLA plans --------------------------------------------------------------------------------


def _time(form, field):
    if not _TIME.match(field.data or ""):
        raise ValidationError("Give a time as HH:MM, from 00:00 to 23:59.")


def valid_timezone(name: str) -> bool:
    if not name or name not in _zone_names():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


_ZONES: set[str] = set()


def _zone_names() -> set[str]:
    if not _ZONES:
        _ZONES.update(available_timezones())
    return _ZONES


class SLAPlanForm(AdminForm):
    model = SLAPlan
    sections = [
        ("Plan", ["name", "grace_hours", "first_response_hours", "active"]),
        ("Schedule", ["schedule", "business_days", "opens_at", "closes_at", "timezone"]),
        ("When a ticket goes overdue", ["overdue_alerts", "escalate_raise_priority", "escalate_team"]),
    ]
    help = {
        "grace_hours": "Hours of the schedule below within which a ticket must be resolved.",
        "first_response_hours": "Optional: hours within which the first reply is due.",
        "timezone": "An IANA time zone such as Europe/Berlin; empty: the desk's time zone.",
    }

    name = _name_field()
    grace_hours = IntegerField("Resolve within (hours)", validators=[
        InputRequired("Give the resolution target in hours."), HOURS])
    first_response_hours = IntegerField("First response within (hours)", validators=[Optional(), HOURS])
    active = BooleanField("Active", default=True)
    schedule = RadioField("Clock runs", default="24x7", choices=lambda: [
        ("24x7", "Around the clock (24x7)"), ("business", "Business hours only")])
    business_days = MultiCheckbox("Business days", coerce=int, choices=lambda: WEEKDAYS, default=[0, 1, 2, 3, 4])
    opens_at = StringField("Opens at", default="09:00", filters=[_strip], validators=[_time])
    closes_at = StringField("Closes at", default="17:00", filters=[_strip], validators=[_time])
    timezone = StringField("Time zone", filters=[_strip], validators=[Length(max=64)])
    overdue_alerts = BooleanField("Alert the assignee and the department manager", default=True)
    escalate_raise_priority = BooleanField("Raise the priority one step")
    escalate_team = IdSelect("Hand the ticket to a team", model=Team)

    def setup(self, obj=None):
        self.obj = obj
        self.escalate_team.choices = _none("— no team —") + _active(Team, obj and obj.escalate_team)
        return self

    def validate_name(self, field):
        self._unique(SLAPlan.name, field.data, "Another SLA plan has this name.")

    def validate_business_days(self, field):
        if self.schedule.data == "business" and not field.data:
            raise ValidationError("Choose at least one business day.")

    def validate_closes_at(self, field):
        if _TIME.match(self.opens_at.data or "") and _TIME.match(field.data or "") \
                and field.data <= self.opens_at.data:
            raise ValidationError("The closing time must be after the opening time.")

    def validate_timezone(self, field):
        if field.data and not valid_timezone(field.data):
            raise ValidationError("That is not a known time zone. Use a name like Europe/Berlin or America/New_York.")

    def values(self) -> dict:
        return {
            "name": self.name.data, "grace_hours": self.grace_hours.data,
            "first_response_hours": self.first_response_hours.data, "active": self.active.data,
            "schedule": self.schedule.data,
            "business_days": ",".join(str(d) for d in sorted(set(self.business_days.data or []))),
            "opens_at": self.opens_at.data, "closes_at": self.closes_at.data, "timezone": self.timezone.data or "",
            "overdue_alerts": self.overdue_alerts.data,
            "escalate_raise_priority": self.escalate_raise_priority.data,
            "escalate_team": self.escalate_team.record,
        }

    def load(self, obj):
        for name in ("name", "grace_hours", "first_response_hours", "active", "schedule", "opens_at",
                     "closes_at", "timezone", "overdue_alerts", "escalate_raise_priority"):
            getattr(self, name).data = getattr(obj, name)
        self.business_days.data = [int(d) for d in (obj.business_days or "").split(",") if is_number(d)]
        self.escalate_team.data = obj.escalate_team_id or 0


class HolidayForm(FlaskForm):
    day = DateField("Date", validators=[InputRequired("Give the date (YYYY-MM-DD).")])
    name = StringField("Name (optional)", filters=[_strip], validators=[
        Length(max=NAME_MAX, message="At most %(max)d characters.")])

    def validate_day(self, field):
        if field.data is None:
            raise ValidationError("Give the date as YYYY-MM-DD.")


# --- departments, teams, agents, priorities ---------------------------------------------------


def _email(form, field):
    if not field.data:
        return
    if re.search(r"[\s,;<>]", field.data):
        raise ValidationError("Enter one email address, with no spaces, commas or line breaks.")
    try:
        field.data = validate_email(field.data, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValidationError(f"That is not a valid email address. {exc}") from None


class DepartmentForm(AdminForm):
    model = Department
    sections = [("Department", ["name", "email", "manager", "sla", "active"])]
    help = {"email": "Mail about this department's tickets is sent from this address.",
            "sla": "Used for tickets whose help topic sets no SLA plan."}

    name = _name_field()
    email = EmailField("Outgoing mail address", filters=[lambda v: v.strip() if v else v],
                       validators=[Length(max=254), _email])
    manager = IdSelect("Manager", model=Agent)
    sla = IdSelect("Default SLA plan", model=SLAPlan)
    active = BooleanField("Active", default=True)

    def setup(self, obj=None):
        self.obj = obj
        self.manager.choices = _none("— no manager —") + _active(Agent, obj and obj.manager)
        self.sla.choices = _none("— no SLA plan —") + _active(SLAPlan, obj and obj.sla, SLAPlan.grace_hours)
        return self

    def validate_name(self, field):
        self._unique(Department.name, field.data, "Another department has this name.")

    def values(self):
        return {"name": self.name.data, "email": self.email.data or None, "manager": self.manager.record,
                "sla": self.sla.record, "active": self.active.data}

    def load(self, obj):
        self.name.data, self.email.data, self.active.data = obj.name, obj.email, obj.active
        self.manager.data, self.sla.data = obj.manager_id or 0, obj.sla_id or 0


class TeamForm(AdminForm):
    model = Team
    sections = [("Team", ["name", "lead", "members", "active"])]
    help = {"members": "Only active agents are listed."}

    name = _name_field()
    lead = IdSelect("Team lead", model=Agent)
    members = IdMultiSelect("Members", model=Agent)
    active = BooleanField("Active", default=True)

    def setup(self, obj=None):
        self.obj = obj
        self.lead.choices = _none("— no lead —") + _active(Agent, obj and obj.lead)
        self.members.choices = _active(Agent)
        if obj is not None:
            shown = {value for value, _ in self.members.choices}
            self.members.choices += [(a.id, f"{a.name} (inactive)") for a in obj.members if a.id not in shown]
        return self

    def validate_name(self, field):
        self._unique(Team.name, field.data, "Another team has this name.")

    def values(self):
        return {"name": self.name.data, "lead": self.lead.record, "members": self.members.records,
                "active": self.active.data}

    def load(self, obj):
        self.name.data, self.active.data = obj.name, obj.active
        self.lead.data = obj.lead_id or 0
        self.members.data = [a.id for a in obj.members]


def _password(form, field):
    if field.data and not PASSWORD_MIN <= len(field.data) <= PASSWORD_MAX:
        raise ValidationError(f"A password has {PASSWORD_MIN} to {PASSWORD_MAX} characters.")


class AgentForm(AdminForm):
    model = Agent
    sections = [("Agent", ["name", "email", "role", "active"]), ("Access", ["departments", "teams"])]
    help = {"role": "Managers also assign, set priority and SLA, and read the admin area; admins change it.",
            "departments": "They see and work their departments' tickets."}

    name = _name_field()
    email = EmailField("Email (to sign in)", filters=[lambda v: v.strip().lower() if v else v],
                       validators=[DataRequired("Give the agent's email address."), Length(max=254), _email])
    role = SelectField("Role", choices=lambda: [(r, r.capitalize()) for r in ROLES], default="agent")
    active = BooleanField("Active: may sign in", default=True)
    departments = IdMultiSelect("Departments", model=Department)
    teams = IdMultiSelect("Teams", model=Team)

    def setup(self, obj=None):
        self.obj = obj
        self.departments.choices = _active(Department)
        self.teams.choices = _active(Team)
        if obj is not None:
            for field, current in ((self.departments, obj.departments), (self.teams, obj.teams)):
                shown = {value for value, _ in field.choices}
                field.choices += [(r.id, f"{r.name} (inactive)") for r in current if r.id not in shown]
        return self

    def validate_email(self, field):
        self._unique(Agent.email, field.data or "", "Another agent signs in with this email address.")

    def values(self):
        return {"name": self.name.data, "email": self.email.data.lower(), "role": self.role.data,
                "active": self.active.data, "departments": self.departments.records, "teams": self.teams.records}

    def load(self, obj):
        self.name.data, self.email.data, self.role.data, self.active.data = obj.name, obj.email, obj.role, obj.active
        self.departments.data = [d.id for d in obj.departments]
        self.teams.data = [t.id for t in obj.teams]


class NewAgentForm(AgentForm):
    sections = AgentForm.sections + [("First password", ["password"])]
    help = {**AgentForm.help, "password": f"{PASSWORD_MIN} to {PASSWORD_MAX} characters. "
                                          "Leave empty to generate one, shown once after saving."}
    password = PasswordField("Password", validators=[_password])


class PasswordForm(FlaskForm):
    mode = RadioField("New password", default="generate", choices=lambda: [
        ("generate", "Generate one (shown once)"), ("set", "Set this one:")])
    password = PasswordField("Password", validators=[_password])

    def validate_password(self, field):
        if self.mode.data == "set" and not field.data:
            raise ValidationError(f"Type the new password ({PASSWORD_MIN} to {PASSWORD_MAX} characters).")


def _colour(form, field):
    if not _COLOUR.match(field.data or ""):
        raise ValidationError("Give a colour as #rrggbb, for example #d97706.")


class PriorityForm(FlaskForm):
    name = StringField("Name", filters=[_strip], validators=[
        DataRequired("Give it a name."), Length(max=60, message="At most %(max)d characters.")])
    colour = StringField("Colour", default="#6b7280", filters=[lambda v: v.strip().lower() if v else v],
                         validators=[_colour])

    obj = None

    def validate_name(self, field):
        query = select(Priority.id).where(func.lower(Priority.name) == field.data.lower())
        if self.obj is not None:
            query = query.where(Priority.id != self.obj.id)
        if db.session.scalar(query) is not None:
            raise ValidationError("Another priority has this name.")


# --- settings ---------------------------------------------------------------------------------


class SettingsForm(FlaskForm):
    sections = [
        ("Desk", ["desk_name", "timezone"]),
        ("Attachments", ["max_attachment_mb", "max_attachments", "allowed_types"]),
        ("Tickets", ["reopen_days", "auto_close_days", "access_link_days"]),
        ("Staff sign-in", ["require_totp"]),
    ]
    help = {
        "require_totp": "Every agent must enter a code from an authenticator app after the password. "
                        "Agents who have not set it up are sent to do so before anything else, and nobody "
                        "can turn it off.",
        "timezone": "Times on every page are shown in it; SLA plans without a time zone count in it.",
        "reopen_days": "A customer's reply reopens a closed ticket within this many days of closing (0: never).",
        "auto_close_days": "Resolved tickets close by themselves after this many days (0: never); "
                           "run `flask --app app tickets auto-close` daily.",
        "access_link_days": "How long a mailed access link opens its ticket.",
    }

    desk_name = StringField("Desk name", filters=[_strip], validators=[
        DataRequired("Give the desk a name."), Length(max=NAME_MAX, message="At most %(max)d characters.")])
    timezone = StringField("Time zone", filters=[_strip], validators=[DataRequired("Give a time zone.")])
    max_attachment_mb = IntegerField("Largest attachment (MB)", validators=[
        InputRequired("Give a size in MB."), NumberRange(min=1, max=100, message="From 1 to 100 MB.")])
    max_attachments = IntegerField("Attachments per message", validators=[
        InputRequired("Give a number."), NumberRange(min=1, max=20, message="From 1 to 20.")])
    allowed_types = MultiCheckbox("Allowed attachment types", choices=lambda: [
        (mime, f"{label} ({TYPE_HINTS.get(mime, mime)})")
        for mime, label in sorted(ALLOWED_TYPES.items(), key=lambda i: (i[1].lower(), i[0]))])
    reopen_days = IntegerField("Days a closed ticket can be reopened", validators=[
        InputRequired("Give a number of days."), NumberRange(min=0, max=3650, message="From 0 to 3650 days.")])
    auto_close_days = IntegerField("Close resolved tickets after (days)", validators=[
        InputRequired("Give a number of days."), NumberRange(min=0, max=3650, message="From 0 to 3650 days.")])
    access_link_days = IntegerField("Access links valid for (days)", validators=[
        InputRequired("Give a number of days."), NumberRange(min=1, max=3650, message="From 1 to 3650 days.")])
    require_totp = BooleanField("Require two-factor sign-in for all agents")

    def validate_timezone(self, field):
        if not valid_timezone(field.data):
            raise ValidationError("That is not a known time zone. Use a name like Europe/Berlin or UTC.")

    def validate_allowed_types(self, field):
        if not field.data:
            raise ValidationError("Allow at least one type of file.")
