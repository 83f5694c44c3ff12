"""What several admin resources' forms share: the form base with its unique-name check, choices of
active rows, the name field, checkbox multiple choices, time zones and an email address field's
validator. Each resource's own form lives beside its views (topics.py, sla_plans.py, ...).

Every select's choices come from the database, so a tampered id fails validation (400 with a
message) before anything is saved."""
from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from email_validator import EmailNotValidError, validate_email
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..extensions import db
from ..web.fields import row_id

NAME_MAX = 120


def collapse_spaces(value):
    """A filter: runs of whitespace become one space, none at the ends."""
    return " ".join(value.split()) if isinstance(value, str) else value


def name_field(label="Name"):
    return StringField(label, filters=[collapse_spaces], validators=[
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
        super().__init__(label, validators, coerce=row_id, **kwargs)
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


def active_choices(model, current=None, order=None):
    """Choices of a model's active rows, plus the current one even if it was deactivated."""
    rows = list(db.session.scalars(select(model).where(model.active.is_(True)).order_by(order or model.name)))
    if current is not None and current not in rows:
        rows.append(current)
    return [(r.id, f"{r}{'' if r.active else ' (inactive)'}") for r in rows]


def none_choice(label="— none —"):
    return [(0, label)]


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


def email_address(form, field):
    """An optional single address, normalised (a department's sender, an agent's sign-in)."""
    if not field.data:
        return
    if re.search(r"[\s,;<>]", field.data):
        raise ValidationError("Enter one email address, with no spaces, commas or line breaks.")
    try:
        field.data = validate_email(field.data, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValidationError(f"That is not a valid email address. {exc}") from None
