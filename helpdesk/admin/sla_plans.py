"""SLA plans (/admin/sla-plans): resolution and first-response targets, counted around the clock or
in business hours, and each plan's holidays (/admin/sla-plans/<id>/holidays). The plan and holiday
forms, the plan Resource and the holiday views."""
from __future__ import annotations

import re

from flask import abort, flash, redirect, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, DateField, IntegerField, RadioField, StringField
from wtforms.validators import (
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from .. import audit
from ..extensions import db
from ..htmx import is_partial, render
from ..models import Department, HelpTopic, SLAHoliday, SLAPlan, Team, Ticket
from ..text import is_number
from ..web.fields import IdSelect
from .blueprint import bp
from .crud import Resource, register, row_count, uses
from .forms import (
    NAME_MAX,
    AdminForm,
    MultiCheckbox,
    active_choices,
    collapse_spaces,
    name_field,
    none_choice,
    valid_timezone,
)

HOURS = NumberRange(min=1, max=8760, message="Give a number of hours from 1 to 8760 (a year).")
WEEKDAYS = [(0, "Monday"), (1, "Tuesday"), (2, "Wednesday"), (3, "Thursday"), (4, "Friday"),
            (5, "Saturday"), (6, "Sunday")]
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


# --- forms ------------------------------------------------------------------------------------


def _time(form, field):
    if not _TIME.match(field.data or ""):
        raise ValidationError("Give a time as HH:MM, from 00:00 to 23:59.")


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

    name = name_field()
    grace_hours = IntegerField("Resolve within (hours)", validators=[
        InputRequired("Give the resolution target in hours."), HOURS])
    first_response_hours = IntegerField("First response within (hours)", validators=[Optional(), HOURS])
    active = BooleanField("Active", default=True)
    schedule = RadioField("Clock runs", default="24x7", choices=lambda: [
        ("24x7", "Around the clock (24x7)"), ("business", "Business hours only")])
    business_days = MultiCheckbox("Business days", coerce=int, choices=lambda: WEEKDAYS, default=[0, 1, 2, 3, 4])
    opens_at = StringField("Opens at", default="09:00", filters=[collapse_spaces], validators=[_time])
    closes_at = StringField("Closes at", default="17:00", filters=[collapse_spaces], validators=[_time])
    timezone = StringField("Time zone", filters=[collapse_spaces], validators=[Length(max=64)])
    overdue_alerts = BooleanField("Alert the assignee and the department manager", default=True)
    escalate_raise_priority = BooleanField("Raise the priority one step")
    escalate_team = IdSelect("Hand the ticket to a team", model=Team)

    def setup(self, obj=None):
        self.obj = obj
        self.escalate_team.choices = none_choice("— no team —") + active_choices(Team, obj and obj.escalate_team)
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
    name = StringField("Name (optional)", filters=[collapse_spaces], validators=[
        Length(max=NAME_MAX, message="At most %(max)d characters.")])

    def validate_day(self, field):
        if field.data is None:
            raise ValidationError("Give the date as YYYY-MM-DD.")


# --- the plans --------------------------------------------------------------------------------


def _schedule(plan: SLAPlan) -> str:
    if plan.schedule != "business":
        return "24x7"
    days = [name[:3] for value, name in WEEKDAYS if str(value) in plan.business_days.split(",")]
    zone = f" {plan.timezone}" if plan.timezone else ""
    return f"{', '.join(days)} {plan.opens_at}–{plan.closes_at}{zone}"


def _sla_usage(plan: SLAPlan) -> list[str]:
    return uses(
        (row_count(select(Ticket.id).where(Ticket.sla_id == plan.id)), "ticket"),
        (row_count(select(HelpTopic.id).where(HelpTopic.sla_id == plan.id)), "help topic"),
        (row_count(select(Department.id).where(Department.sla_id == plan.id)), "department"),
    )


SLA_PLANS = register(Resource(
    key="sla", path="sla-plans", label="SLA plan", plural="SLA plans", model=SLAPlan, form=SLAPlanForm,
    intro="How long a ticket may take: resolution and first-response targets, counted around the clock "
          "or in business hours.",
    rows=lambda: list(db.session.scalars(select(SLAPlan).order_by(SLAPlan.grace_hours, SLAPlan.name))),
    columns=[
        ("Resolve in", lambda p: f"{p.grace_hours} h"),
        ("First response", lambda p: f"{p.first_response_hours} h" if p.first_response_hours else "—"),
        ("Schedule", _schedule),
        ("Holidays", lambda p: str(len(p.holidays))),
    ],
    usage=_sla_usage,
    edit_template="admin/sla_edit.html",
    extra={"holiday_form": lambda: HolidayForm(formdata=None, prefix="holiday")},
))


# --- a plan's holidays ------------------------------------------------------------------------


def _sla(plan_id: int) -> SLAPlan:
    plan = db.session.get(SLAPlan, plan_id)
    if plan is None:
        abort(404, "There is no such SLA plan.")
    return plan


def _holidays(plan: SLAPlan, holiday_form=None, status=200):
    """The plan's edit page, or (htmx) only its holiday list."""
    res = SLA_PLANS
    form = res.form().setup(plan)
    form.load(plan)
    return render(res.edit_template, "holidays", res=res, form=form, row=plan, can_edit=current_user.is_admin,
                  usage=res.usage(plan), holiday_form=holiday_form or HolidayForm(formdata=None, prefix="holiday"), status=status)


@bp.route("/sla-plans/<int:plan_id>/holidays", methods=["POST"])
def holiday_add(plan_id):
    """Add a holiday (a day the plan's business-hours clock does not run)."""
    plan = _sla(plan_id)
    form = HolidayForm(prefix="holiday")
    if not form.validate():
        return _holidays(plan, form, 400)
    if any(h.day == form.day.data for h in plan.holidays):
        form.day.errors.append("That date is a holiday of this plan already.")
        return _holidays(plan, form, 400)
    holiday = SLAHoliday(sla=plan, day=form.day.data, name=form.name.data or "")
    db.session.add(holiday)
    audit.record("sla", plan, [("holiday", "", _holiday_text(holiday))])
    db.session.commit()
    if is_partial():
        return _holidays(plan)
    flash(f"Holiday {_holiday_text(holiday)} added.", "success")
    return redirect(url_for("admin.sla_edit", row_id=plan.id) + "#holidays")


@bp.route("/sla-plans/<int:plan_id>/holidays/<int:holiday_id>/delete", methods=["POST"])
def holiday_remove(plan_id, holiday_id):
    """Remove one of the plan's holidays."""
    plan = _sla(plan_id)
    holiday = db.session.get(SLAHoliday, holiday_id)
    if holiday is None or holiday.sla_id != plan.id:
        abort(404, "There is no such holiday on this plan.")
    text = _holiday_text(holiday)
    plan.holidays.remove(holiday)
    audit.record("sla", plan, [("holiday", text, "")])
    db.session.commit()
    if is_partial():
        return _holidays(plan)
    flash(f"Holiday {text} removed.", "success")
    return redirect(url_for("admin.sla_edit", row_id=plan.id) + "#holidays")


def _holiday_text(holiday: SLAHoliday) -> str:
    return f"{holiday.day.isoformat()} {holiday.name}".strip()
