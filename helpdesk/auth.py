"""Agent sign-in and sign-out."""
from flask import Blueprint, flash, redirect, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, Email, Length

from .extensions import db
from .htmx import render
from .models import PASSWORD_MAX, Agent
from .security import safe_next

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=PASSWORD_MAX)])
    remember = BooleanField("Keep me signed in on this device")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign an agent in; the session is renewed so an earlier session id is worthless."""
    target = safe_next(request.args.get("next"), url_for("agent.queue"))
    if current_user.is_authenticated:
        return redirect(target)
    form = LoginForm()
    if form.validate_on_submit():
        agent = db.session.scalar(select(Agent).where(func.lower(Agent.email) == form.email.data.strip().lower()))
        if agent and agent.active and agent.check_password(form.password.data):
            session.clear()
            login_user(agent, remember=form.remember.data)
            session.permanent = True
            return redirect(target)
        form.password.errors.append("Wrong email or password, or the account is disabled.")
        return render("auth/login.html", form=form, status=401)
    return render("auth/login.html", form=form, status=400 if form.errors else 200)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign out and forget the session."""
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))
