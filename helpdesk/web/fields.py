"""Form fields every audience's forms share: a select of database rows by id, one email address."""
from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email
from wtforms import SelectField
from wtforms.validators import ValidationError

from ..extensions import db
from ..text import is_number


def row_id(value):
    """Coerce a submitted id; anything but digits fails as an unavailable choice."""
    if value in (None, ""):
        return 0
    if isinstance(value, int):
        return value
    if not is_number(str(value)):
        raise ValueError("not an id")
    return int(value)


class IdSelect(SelectField):
    """A select of database ids of one model; 0 is the "nothing chosen" option."""

    def __init__(self, label=None, validators=None, *, model=None, **kwargs):
        super().__init__(label, validators, coerce=row_id, validate_choice=True, **kwargs)
        self.model = model

    @property
    def record(self):
        """The chosen row (None for "nothing chosen")."""
        return db.session.get(self.model, self.data) if self.data else None

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("That choice is not available. Reload the page and try again.")

    def pre_validate(self, form):
        if self.data is None:  # not sent at all: the same as "nothing chosen"
            self.data = 0
        if self.data not in {value for value, _ in self.choices}:
            raise ValidationError("That choice is not available. Reload the page and try again.")


def one_email_address(form, field):
    """One plain address: no display name, no list, no line breaks (they could inject headers)."""
    value = field.data or ""
    if re.search(r"[\s,;<>]", value):
        raise ValidationError("Enter one email address only, with no spaces, commas or line breaks.")
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationError(f"That is not a valid email address. {exc}") from None
