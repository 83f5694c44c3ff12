"""The sign-in and account forms: sign in, the code step, password change and reset, two-factor
enrolment and its recovery codes, browser notifications and the weekly summary mail."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from ..models import PASSWORD_MAX, PASSWORD_MIN


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=PASSWORD_MAX)])
    remember = BooleanField("Keep me signed in on this device")


class CodeForm(FlaskForm):
    code = StringField("Code from your authenticator app", validators=[
        DataRequired("Enter the 6-digit code, or one of your recovery codes."), Length(max=32)])


_LENGTH = Length(min=PASSWORD_MIN, max=PASSWORD_MAX,
                 message=f"A password has {PASSWORD_MIN} to {PASSWORD_MAX} characters.")


class PasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired("Enter your current password."),
                                                            Length(max=PASSWORD_MAX)])
    new = PasswordField("New password", validators=[DataRequired("Choose a new password."), _LENGTH])
    confirm = PasswordField("New password again", validators=[
        DataRequired("Type the new password again."), EqualTo("new", "The two new passwords differ.")])


class EnrolForm(FlaskForm):
    code = StringField("Code from your authenticator app", validators=[
        DataRequired("Enter the 6-digit code the app shows."), Length(max=16)])


class DisableForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired("Enter your current password."),
                                                            Length(max=PASSWORD_MAX)])


class RecoveryForm(DisableForm):
    """A new set of recovery codes: the current password again."""


class ForgotForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email address."), Length(max=254)])


class ResetForm(FlaskForm):
    new = PasswordField("New password", validators=[DataRequired("Choose a new password."), _LENGTH])
    confirm = PasswordField("New password again", validators=[
        DataRequired("Type the new password again."), EqualTo("new", "The two new passwords differ.")])


class NotificationsForm(FlaskForm):
    """The agent's browser notifications: which events they want to hear of."""

    assigned = BooleanField("A ticket is assigned to me")
    replies = BooleanField("A customer replies on one of my tickets")
    new = BooleanField("A new ticket arrives in my queues")


class WeeklyReportForm(FlaskForm):
    """A manager's or admin's weekly summary mail of their reports: on or off."""

    weekly = BooleanField("Mail me a weekly summary of my departments' reports")
