"""Help topics, SLA plans, departments, teams and agents: what each shows, what uses it, and the
rules beyond plain validation (the last active admin stays an active admin; agents with history
are deactivated, never deleted)."""
from __future__ import annotations

import secrets

from flask import make_response, render_template, url_for
from flask_login import current_user
from sqlalchemy import func, select

from ..security import totp
from ..extensions import db
from ..models import (
    Agent,
    Department,
    Event,
    HelpTopic,
    SLAPlan,
    Team,
    ThreadEntry,
    Ticket,
    agent_departments,
)
from .crud import Resource, count_phrase, register
from .forms import (
    WEEKDAYS,
    AgentForm,
    DepartmentForm,
    HolidayForm,
    NewAgentForm,
    PasswordForm,
    SLAPlanForm,
    TeamForm,
    TopicForm,
)


def _count(query) -> int:
    return db.session.scalar(select(func.count()).select_from(query.subquery())) or 0


def _uses(*pairs) -> list[str]:
    """[(count, "ticket"), ...] -> ["3 tickets", ...] for the non-zero ones."""
    return [count_phrase(n, what) for n, what in pairs if n]


def _yes(value) -> str:
    return "yes" if value else "no"


# --- help topics ------------------------------------------------------------------------------

ASSIGN_TEXT = {"agent": "agent {agent}", "team": "team {team}", "round_robin": "round-robin in {team}"}


def _assignment(topic: HelpTopic) -> str:
    mode, agent, team, owner = topic.effective_assignment()
    if not mode:
        return "—"
    text = ASSIGN_TEXT[mode].format(agent=agent.name if agent else "?", team=team.name if team else "?")
    return text if owner is topic else f"{text} (from {owner.name})"


def _topic_usage(topic: HelpTopic) -> list[str]:
    return _uses(
        (_count(select(Ticket.id).where(Ticket.topic_id == topic.id)), "ticket"),
        (_count(select(HelpTopic.id).where(HelpTopic.parent_id == topic.id)), "child topic"),
    )


register(Resource(
    key="topic", path="topics", label="help topic", plural="help topics", model=HelpTopic, form=TopicForm,
    intro="What customers choose on the form. A topic sets a new ticket's department, priority, SLA plan "
          "and assignment.",
    rows=lambda: sorted(db.session.scalars(select(HelpTopic)),
                        key=lambda t: ([(p.sort, p.name) for p in reversed(list(t.lineage()))])),
    columns=[
        ("Visible to", lambda t: "customers" if t.public else "agents only"),
        ("Department", lambda t: (t.effective_department or "first department").__str__()),
        ("Priority", lambda t: str(t.effective_priority or "Normal")),
        ("SLA plan", lambda t: t.effective_sla.name if t.effective_sla else "department's"),
        ("Assignment", _assignment),
    ],
    usage=_topic_usage,
))


# --- SLA plans --------------------------------------------------------------------------------


def _schedule(plan: SLAPlan) -> str:
    if plan.schedule != "business":
        return "24x7"
    days = [name[:3] for value, name in WEEKDAYS if str(value) in plan.business_days.split(",")]
    zone = f" {plan.timezone}" if plan.timezone else ""
    return f"{', '.join(days)} {plan.opens_at}–{plan.closes_at}{zone}"


def _sla_usage(plan: SLAPlan) -> list[str]:
    return _uses(
        (_count(select(Ticket.id).where(Ticket.sla_id == plan.id)), "ticket"),
        (_count(select(HelpTopic.id).where(HelpTopic.sla_id == plan.id)), "help topic"),
        (_count(select(Department.id).where(Department.sla_id == plan.id)), "department"),
    )


register(Resource(
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


# --- departments and teams --------------------------------------------------------------------


def _department_usage(dept: Department) -> list[str]:
    return _uses(
        (_count(select(Ticket.id).where(Ticket.department_id == dept.id)), "ticket"),
        (_count(select(HelpTopic.id).where(HelpTopic.department_id == dept.id)), "help topic"),
        (_count(select(agent_departments.c.agent_id).where(agent_departments.c.department_id == dept.id)), "agent"),
    )


register(Resource(
    key="department", path="departments", label="department", plural="departments", model=Department,
    form=DepartmentForm,
    intro="Tickets belong to a department; its agents see them and its manager is alerted.",
    rows=lambda: list(db.session.scalars(select(Department).order_by(Department.name))),
    columns=[
        ("Manager", lambda d: d.manager.name if d.manager else "—"),
        ("Default SLA", lambda d: d.sla.name if d.sla else "—"),
        ("Mail from", lambda d: d.email or "—"),
        ("Agents", lambda d: str(len(d.agents))),
    ],
    usage=_department_usage,
))


def _team_usage(team: Team) -> list[str]:
    return _uses(
        (_count(select(Ticket.id).where(Ticket.team_id == team.id)), "ticket"),
        (_count(select(HelpTopic.id).where(HelpTopic.assign_team_id == team.id)), "help topic"),
        (_count(select(SLAPlan.id).where(SLAPlan.escalate_team_id == team.id)), "SLA plan"),
        (len(team.members), "member"),
    )


register(Resource(
    key="team", path="teams", label="team", plural="teams", model=Team, form=TeamForm,
    intro="Groups of agents that tickets can be assigned or escalated to.",
    rows=lambda: list(db.session.scalars(select(Team).order_by(Team.name))),
    columns=[
        ("Lead", lambda t: t.lead.name if t.lead else "—"),
        ("Members", lambda t: ", ".join(a.name for a in t.members) or "—"),
    ],
    usage=_team_usage,
))


# --- agents -----------------------------------------------------------------------------------


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
    return _uses(
        (_count(select(Event.id).where(Event.agent_id == agent.id)), "history event"),
        (_count(select(ThreadEntry.id).where(ThreadEntry.agent_id == agent.id)), "thread entry"),
        (_count(select(Ticket.id).where(Ticket.assignee_id == agent.id)), "assigned ticket"),
        (_count(select(Event.id).where(Event.action == "assigned", Event.new == agent.name)), "assignment"),
        (_count(select(Department.id).where(Department.manager_id == agent.id)), "department managed"),
        (_count(select(Team.id).where(Team.lead_id == agent.id)), "team led"),
        (_count(select(HelpTopic.id).where(HelpTopic.assign_agent_id == agent.id)), "help topic"),
    )


def _reset_form():
    from .twofactor import TwoFactorResetForm

    return TwoFactorResetForm(formdata=None)


register(Resource(
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
    extra={"password_form": lambda: PasswordForm(formdata=None), "reset_form": _reset_form,
           "twofactor_required": lambda: totp.required()},
))
