"""Agents (/admin/agents): the people who work the desk, their password
(/admin/agents/<id>/password) and resetting their two-factor sign-in
(/admin/agents/<id>/two-factor/reset). The agent forms, the agent Resource and those two views.

The last active admin stays an active admin; an agent with history is deactivated, never deleted.
A generated password is shown once, never stored in a flash message or a cache."""
from __future__ import annotations

import secrets

from flask import abort, flash, make_response, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import BooleanField, EmailField, PasswordField, RadioField, SelectField
from wtforms.validators import DataRequired, Length, ValidationError

from .. import audit
from ..auth.routes import end_session
from ..extensions import db
from ..mail import notify
from ..models import (
    PASSWORD_MAX,
    PASSWORD_MIN,
    ROLES,
    Agent,
    Department,
    Event,
    HelpTopic,
    Team,
    ThreadEntry,
    Ticket,
)
from ..security import totp
from .blueprint import bp
from .crud import Resource, _page, register, row_count, uses
from .forms import AdminForm, IdMultiSelect, active_choices, email_address, name_field

# --- forms ------------------------------------------------------------------------------------


def _password(form, field):
    if field.data and not PASSWORD_MIN <= len(field.data) <= PASSWORD_MAX:
        raise ValidationError(f"A password has {PASSWORD_MIN} to {PASSWORD_MAX} characters.")


class AgentForm(AdminForm):
    model = Agent
    sections = [("Agent", ["name", "email", "role", "active"]), ("Access", ["departments", "teams"])]
    help = {"role": "Managers also assign, set priority and SLA, and read the admin area; admins change it.",
            "departments": "They see and work their departments' tickets."}

    name = name_field()
    email = EmailField("Email (to sign in)", filters=[lambda v: v.strip().lower() if v else v],
                       validators=[DataRequired("Give the agent's email address."), Length(max=254), email_address])
    role = SelectField("Role", choices=lambda: [(r, r.capitalize()) for r in ROLES], default="agent")
    active = BooleanField("Active: may sign in", default=True)
    departments = IdMultiSelect("Departments", model=Department)
    teams = IdMultiSelect("Teams", model=Team)

    def setup(self, obj=None):
        self.obj = obj
        self.departments.choices = active_choices(Department)
        self.teams.choices = active_choices(Team)
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
    password = PasswordField("Password")

    def validate_password(self, field):
        """Read only with "Set this one": with "Generate one" whatever the field holds is ignored
        (without JavaScript, or in a browser without CSS :has(), the field stays visible)."""
        if self.mode.data != "set":
            return
        if not field.data:
            raise ValidationError(f"Type the new password ({PASSWORD_MIN} to {PASSWORD_MAX} characters).")
        _password(self, field)


class TwoFactorResetForm(FlaskForm):
    confirm = BooleanField("Yes, reset it: I have made sure the request really comes from this agent",
                           validators=[DataRequired("Tick the box to confirm the reset.")])


# --- the agents -------------------------------------------------------------------------------


def other_active_admins(agent: Agent | None) -> int:
    query = select(func.count(Agent.id)).where(Agent.role == "admin", Agent.active.is_(True))
    if agent is not None and agent.id is not None:
        query = query.where(Agent.id != agent.id)
    return db.session.scalar(query) or 0


LAST_ADMIN = ("{name} the last active administrator: make another agent an active admin first, "
              "or nobody could run the desk.")


def _agent_check(agent: Agent | None, values: dict) -> str | None:
    if agent is None or agent.role != "admin" or not agent.active:
        return None
    if (values["role"] != "admin" or not values["active"]) and other_active_admins(agent) == 0:
        return LAST_ADMIN.format(name="You are" if agent.id == current_user.id else f"{agent.name} is")
    return None


def _agent_active(agent: Agent, active: bool) -> str | None:
    if not active and agent.role == "admin" and other_active_admins(agent) == 0:
        return LAST_ADMIN.format(name="You are" if agent.id == current_user.id else f"{agent.name} is")
    return None


def new_password() -> str:
    return secrets.token_urlsafe(12)


def password_page(agent: Agent, password: str, created: bool):
    """The generated password, shown this once; never stored in a flash message or a cache."""
    response = make_response(render_template("admin/password_shown.html", agent=agent, password=password,
                                              created=created, next_url=url_for("admin.agent_list")))
    response.headers["Cache-Control"] = "no-store"
    return response


def _agent_after(agent: Agent, form, changes, created):
    extra = {}
    if created:
        password = form.password.data or new_password()
        agent.set_password(password)
        if not form.password.data:
            extra["page"] = lambda: password_page(agent, password, True)
        return [("password", "", "set")], extra
    if any(field in ("role", "active", "email") for field, _, _ in changes):
        agent.session_token = secrets.token_hex(16)  # signed-in sessions end: they sign in again
    return [], extra


def _agent_usage(agent: Agent) -> list[str]:
    return uses(
        (row_count(select(Event.id).where(Event.agent_id == agent.id)), "history event"),
        (row_count(select(ThreadEntry.id).where(ThreadEntry.agent_id == agent.id)), "thread entry"),
        (row_count(select(Ticket.id).where(Ticket.assignee_id == agent.id)), "assigned ticket"),
        (row_count(select(Event.id).where(Event.action == "assigned", Event.new == agent.name)), "assignment"),
        (row_count(select(Department.id).where(Department.manager_id == agent.id)), "department managed"),
        (row_count(select(Team.id).where(Team.lead_id == agent.id)), "team led"),
        (row_count(select(HelpTopic.id).where(HelpTopic.assign_agent_id == agent.id)), "help topic"),
    )


AGENTS = register(Resource(
    key="agent", path="agents", label="agent", plural="agents", model=Agent, form=AgentForm,
    new_form=NewAgentForm,
    intro="The people who work the desk. An agent who has worked tickets is deactivated, never deleted.",
    rows=lambda: list(db.session.scalars(select(Agent).order_by(Agent.active.desc(), Agent.name))),
    columns=[
        ("Email", lambda a: a.email),
        ("Role", lambda a: a.role.capitalize()),
        ("Departments", lambda a: ", ".join(d.name for d in a.departments) or "—"),
        ("Teams", lambda a: ", ".join(t.name for t in a.teams) or "—"),
        ("Two-factor", lambda a: "on" if a.totp_secret else "off"),
    ],
    usage=_agent_usage,
    check=_agent_check,
    after=_agent_after,
    on_active=_agent_active,
    edit_template="admin/agent_edit.html",
    extra={"password_form": lambda: PasswordForm(formdata=None),
           "reset_form": lambda: TwoFactorResetForm(formdata=None),
           "twofactor_required": lambda: totp.required()},
))


def agent_or_404(row_id: int) -> Agent:
    agent = db.session.get(Agent, row_id)
    if agent is None:
        abort(404, "There is no such agent.")
    return agent


def agent_page_refusing(agent: Agent, **forms):
    """The agent's edit page again (400) with a refused form, showing its messages."""
    res = AGENTS
    edit_form = res.form().setup(agent)
    edit_form.load(agent)
    return _page(res, edit_form, agent, status=400, **forms)


# --- an agent's password ----------------------------------------------------------------------


@bp.route("/agents/<int:row_id>/password", methods=["POST"])
def agent_password(row_id):
    """Reset an agent's password: one the admin types, or one generated and shown once."""
    agent = agent_or_404(row_id)
    form = PasswordForm()
    if not form.validate():
        return agent_page_refusing(agent, password_form=form)
    password = form.password.data if form.mode.data == "set" else new_password()
    agent.set_password(password)  # also ends every session the agent has
    audit.record("agent", agent, [("password", "", "reset")])
    db.session.commit()
    if form.mode.data == "generate":
        return password_page(agent, password, False)
    flash(f"{agent.name}'s password is changed; they were signed out everywhere.", "success")
    return redirect(url_for("admin.agent_edit", row_id=agent.id))


# --- an agent's two-factor sign-in: reset it when the phone and the recovery codes are lost ---


@bp.route("/agents/<int:row_id>/two-factor/reset", methods=["POST"])
def agent_two_factor_reset(row_id):
    """Reset an agent's two-factor sign-in: app secret and recovery codes cleared, every session
    of the agent ended, the agent mailed."""
    agent = agent_or_404(row_id)
    form = TwoFactorResetForm()
    if not form.validate():
        return agent_page_refusing(agent, reset_form=form)
    if not agent.totp_secret:
        abort(409, f"{agent.name} has no two-factor sign-in to reset.")
    agent.totp_secret = None
    agent.totp_last_step = None
    totp.clear_recovery_codes(agent)
    agent.session_token = secrets.token_hex(16)  # signed-in sessions end now
    audit.record("agent", agent, [("two_factor", "on", "reset")])
    required = totp.required()
    notify.two_factor_reset(agent, current_user, required)
    db.session.commit()
    if agent.id == current_user.id:
        end_session()
        flash("Your two-factor sign-in was reset and you were signed out. Sign in again.", "info")
        return redirect(url_for("auth.login"))
    then = ("They will set it up again at their next sign-in." if required
            else "They now sign in with their password alone.")
    flash(f"{agent.name}'s two-factor sign-in was reset: they were signed out everywhere and mailed. {then}",
          "success")
    return redirect(url_for("admin.agent_edit", row_id=agent.id))
