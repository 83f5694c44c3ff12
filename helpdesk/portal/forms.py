"""The customer portal's forms. Choices come from the database; every submitted id is checked here."""
from __future__ import annotations

from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import aliased, joinedload
from wtforms import EmailField, HiddenField, MultipleFileField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Regexp, ValidationError

from ..extensions import db
from ..live import kept_with_setup
from ..models import HelpTopic, Priority
from ..text import is_number
from ..tickets import BODY_MAX, NAME_MAX, SUBJECT_MAX
from ..web.fields import one_email_address

EMAIL_MAX = 254
FORM_INCOMPLETE = "This form was incomplete. Please check it and send it again."


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _to_id(value):
    """Coerce a submitted id; anything that is not a plain positive integer becomes None."""
    if isinstance(value, int):
        return value
    if isinstance(value, str) and is_number(value.strip()) and len(value.strip()) < 10:
        return int(value.strip())
    return None


def _ticket_number(value):
    if not isinstance(value, str):
        return value
    return value.strip().lstrip("#").strip().upper()


def topic_choices() -> list[tuple[int, str]]:
    """(id, full name) of the topics a customer may choose, in the admin's order (the form's
    list; read only when the form is shown, and kept per worker until the setup changes)."""
    return kept_with_setup("portal.topics", _read_topic_choices)


def _read_topic_choices() -> list[tuple[int, str]]:
    parent = aliased(HelpTopic)
    rows = db.session.execute(
        select(HelpTopic.id, HelpTopic.name, parent.name).outerjoin(parent, HelpTopic.parent_id == parent.id)
        .where(HelpTopic.public.is_(True), HelpTopic.active.is_(True))
        .order_by(HelpTopic.sort, HelpTopic.name)
    ).all()
    return [(topic_id, f"{parent_name} › {name}" if parent_name else name) for topic_id, name, parent_name in rows]


def priority_choices() -> list[tuple[int, str]]:
    return kept_with_setup("portal.priorities", lambda: [
        tuple(row) for row in db.session.execute(select(Priority.id, Priority.name).order_by(Priority.urgency))])


def public_topic(topic_id) -> HelpTopic | None:
    """A topic the portal may use, by id; None for unknown, private or inactive ones. Its
    department, priority, SLA plan and parent come in the same query (a ticket opened with it
    reads them)."""
    topic_id = _to_id(topic_id)
    if topic_id is None:
        return None
    topic = db.session.get(HelpTopic, topic_id, options=[
        joinedload(HelpTopic.department), joinedload(HelpTopic.priority), joinedload(HelpTopic.sla),
        joinedload(HelpTopic.parent),
    ])
    if topic is None or not topic.public or not topic.active:
        return None
    return topic


class NewTicketForm(FlaskForm):
    name = StringField("Your name", filters=[_strip], validators=[
        DataRequired("Tell us your name."),
        Length(max=NAME_MAX, message="The name can be at most %(max)d characters long."),
    ])
    email = EmailField("Email address", filters=[_strip], validators=[
        DataRequired("Enter your email address: we send the ticket's link there."),
        Length(max=EMAIL_MAX, message="The email address can be at most %(max)d characters long."),
        one_email_address,
    ])
    topic = SelectField("Help topic", coerce=_to_id, validate_choice=False, validators=[
        InputRequired("Choose the help topic that fits your request best."),
    ])
    priority = SelectField("Priority", coerce=_to_id, validate_choice=False)
    subject = StringField("Subject", filters=[_strip], validators=[
        DataRequired("Give your request a short subject."),
        Length(max=SUBJECT_MAX, message="The subject can be at most %(max)d characters long "
                                        "(yours has %(length)d)."),
    ])
    description = TextAreaField("Description", validators=[
        DataRequired("Describe what happened and what you need."),
        Length(max=BODY_MAX, message="The description can be at most %(max)d characters long "
                                     "(yours has %(length)d)."),
    ])
    attachments = MultipleFileField("Attachments")
    # A field people never see (CSS class "honeypot"); form-filling bots fill it in.
    website = StringField("Leave this field empty")
    # The ALTCHA widget's solution (HELPDESK_CAPTCHA=1): the widget writes its own hidden input
    # of this name, so the field is never rendered; checked by the view, ignored otherwise.
    altcha = StringField("Spam check")
    idempotency_key = HiddenField(validators=[
        DataRequired(FORM_INCOMPLETE),
        Regexp(r"^[A-Za-z0-9_-]{16,64}$", message=FORM_INCOMPLETE),
    ])

    chosen_topic: HelpTopic | None = None
    chosen_priority: Priority | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Read when the form is shown (validation does not use them: every id is checked below).
        self.topic.choices = lambda: [("", "Choose a topic…")] + topic_choices()
        self.priority.choices = priority_choices

    def validate_topic(self, field):
        self.chosen_topic = public_topic(field.data)
        if self.chosen_topic is None:
            raise ValidationError("Choose one of the help topics in the list.")

    def validate_priority(self, field):
        topic = self.chosen_topic
        if topic is None or not topic.customer_sets_priority:
            return  # not offered for this topic: whatever was sent is ignored
        if not field.raw_data or field.raw_data[0] in ("", None):
            return  # the topic's default applies
        priority = db.session.get(Priority, field.data) if field.data is not None else None
        if priority is None:
            raise ValidationError("Choose one of the priorities in the list.")
        self.chosen_priority = priority


class StatusForm(FlaskForm):
    number = StringField("Ticket number", filters=[_ticket_number], validators=[
        DataRequired("Enter the ticket number from your acknowledgement mail."),
        Regexp(r"^[A-Z0-9-]{4,12}$", message="A ticket number has 4 to 12 letters and digits, like K7Q2M9."),
    ])
    email = EmailField("Email address", filters=[_strip], validators=[
        DataRequired("Enter the email address you opened the ticket with."),
        Length(max=EMAIL_MAX, message="The email address can be at most %(max)d characters long."),
        one_email_address,
    ])


class ReplyForm(FlaskForm):
    body = TextAreaField("Your message", validators=[
        DataRequired("Write a message before sending."),
        Length(max=BODY_MAX, message="A message can be at most %(max)d characters long (yours has %(length)d)."),
    ])
    attachments = MultipleFileField("Attachments")


class ConfirmForm(FlaskForm):
    """Button only: carries the CSRF token."""
