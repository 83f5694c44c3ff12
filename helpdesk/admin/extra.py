"""The admin pages that are not plain lists of rows: an SLA plan's holidays, agents' passwords,
priorities (edited inline in their table), the desk's settings and the audit log."""
from __future__ import annotations

import re

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from .. import audit, settings, tickets
from ..demo import DEFAULT_PRIORITIES
from ..extensions import db
from ..htmx import is_partial, refresh, render
from ..models import Agent, AuditEntry, HelpTopic, Priority, SLAHoliday, SLAPlan, Ticket
from . import bp
from .config import new_password, password_page
from .crud import RESOURCES, _page
from .forms import HolidayForm, PasswordForm, PriorityForm, SettingsForm

AUDIT_PER_PAGE = 50
AUDIT_TYPES = {"topic": "Help topics", "sla": "SLA plans", "department": "Departments", "team": "Teams",
               "agent": "Agents", "priority": "Priorities", "setting": "Settings",
               "mail_template": "Mail templates", "api_key": "API keys", "mailbox": "Mailboxes",
               "outbox": "Outbox"}
AUDIT_KINDS = {"topic": "help topic", "sla": "SLA plan", "department": "department", "team": "team",
               "agent": "agent", "priority": "priority", "setting": "setting",
               "mail_template": "mail template", "api_key": "API key", "mailbox": "mailbox",
               "outbox": "outbox"}
DEFAULT_KEYS = {key for key, *_ in DEFAULT_PRIORITIES}


def _sla(plan_id: int) -> SLAPlan:
    plan = db.session.get(SLAPlan, plan_id)
    if plan is None:
        abort(404, "There is no such SLA plan.")
    return plan


# --- SLA plan holidays ------------------------------------------------------------------------


def _holidays(plan: SLAPlan, holiday_form=None, status=200):
    """The plan's edit page, or (htmx) only its holiday list."""
    res = RESOURCES["sla"]
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


# --- agents' passwords ------------------------------------------------------------------------


def agent_or_404(row_id: int) -> Agent:
    agent = db.session.get(Agent, row_id)
    if agent is None:
        abort(404, "There is no such agent.")
    return agent


def agent_page_refusing(agent: Agent, **forms):
    """The agent's edit page again (400) with a refused form, showing its messages."""
    res = RESOURCES["agent"]
    edit_form = res.form().setup(agent)
    edit_form.load(agent)
    return _page(res, edit_form, agent, status=400, **forms)


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


# --- priorities -------------------------------------------------------------------------------


def _priorities():
    return list(db.session.scalars(select(Priority).order_by(Priority.urgency.desc())))


def _priority(priority_id: int) -> Priority:
    priority = db.session.get(Priority, priority_id)
    if priority is None:
        abort(404, "There is no such priority.")
    return priority


def _priority_usage(priority: Priority) -> list[str]:
    tickets_n = db.session.scalar(select(func.count(Ticket.id)).where(Ticket.priority_id == priority.id))
    topics_n = db.session.scalar(select(func.count(HelpTopic.id)).where(HelpTopic.priority_id == priority.id))
    return [f"{n} {what}{'' if n == 1 else 's'}" for n, what in ((tickets_n, "ticket"), (topics_n, "help topic")) if n]


def _priority_page(status=200, editing=None, form=None, new_form=None, block=None):
    blocks = (block,) if block else ()
    return render("admin/priorities.html", *blocks, priorities=_priorities(), editing=editing,
                  form=form, new_form=new_form or PriorityForm(formdata=None, prefix="new"),
                  defaults=DEFAULT_KEYS, can_edit=current_user.is_admin, status=status, row=editing)


def _bump_theme():
    settings.save({"theme_version": settings.get("theme_version") + 1})


@bp.route("/priorities")
def priority_list():
    """The priorities, most urgent first: names, colours, order."""
    return _priority_page()


@bp.route("/priorities/<int:priority_id>/edit")
def priority_edit(priority_id):
    """A priority's row as a form (htmx swaps it into the table; without JS, the whole page)."""
    priority = _priority(priority_id)
    form = PriorityForm(formdata=None, obj=priority)
    return _priority_page(editing=priority, form=form, block="priority_row")


@bp.route("/priorities/<int:priority_id>/row")
def priority_row(priority_id):
    """A priority's row as shown (cancelling an inline edit)."""
    return _priority_page(editing=_priority(priority_id), block="priority_row_view")


@bp.route("/priorities/<int:priority_id>", methods=["POST"])
def priority_save(priority_id):
    """Save a priority's name and colour."""
    priority = _priority(priority_id)
    form = PriorityForm()
    form.obj = priority
    if not form.validate():
        return _priority_page(400, editing=priority, form=form, block="priority_row")
    changes = audit.apply(priority, {"name": form.name.data, "colour": form.colour.data})
    if any(field == "colour" for field, _, _ in changes):
        _bump_theme()
    audit.record("priority", priority, changes)
    db.session.commit()
    if is_partial():
        response = _priority_page(editing=priority, block="priority_row_view")
        if any(field == "colour" for field, _, _ in changes):
            refresh(response)  # the new colour comes with the new stylesheet
        return response
    flash(f"Priority “{priority.name}” saved." if changes else "Nothing was changed.",
          "success" if changes else "info")
    return redirect(url_for("admin.priority_list"))


@bp.route("/priorities/new", methods=["POST"])
def priority_new():
    """Add a priority (as the most urgent; move it down with the arrows)."""
    form = PriorityForm(prefix="new")
    if not form.validate():
        return _priority_page(400, new_form=form)
    key = re.sub(r"[^a-z0-9]+", "-", form.name.data.lower()).strip("-")[:24] or "priority"
    base, n = key, 2
    while db.session.scalar(select(Priority.id).where(Priority.key == key)):
        key, n = f"{base}-{n}", n + 1
    top = db.session.scalar(select(func.max(Priority.urgency))) or 0
    priority = Priority(key=key, name=form.name.data, colour=form.colour.data, urgency=top + 1)
    db.session.add(priority)
    _bump_theme()
    audit.record("priority", priority, [("created", "", priority.name), ("colour", "", priority.colour)])
    db.session.commit()
    flash(f"Priority “{priority.name}” added as the most urgent; move it down with the arrows.", "success")
    return redirect(url_for("admin.priority_list"))


@bp.route("/priorities/<int:priority_id>/move", methods=["POST"])
def priority_move(priority_id):
    """Swap a priority with its neighbour: more urgent (up) or less urgent (down)."""
    priority = _priority(priority_id)
    direction = request.form.get("direction")
    if direction not in ("up", "down"):
        abort(400, "Move a priority up or down.")
    ordered = _priorities()  # most urgent first
    index = ordered.index(priority)
    other_index = index - 1 if direction == "up" else index + 1
    if not 0 <= other_index < len(ordered):
        abort(409, f"“{priority.name}” is already the {'most' if direction == 'up' else 'least'} urgent.")
    other = ordered[other_index]
    mine, theirs = priority.urgency, other.urgency
    priority.urgency = -1 - max(abs(mine), abs(theirs))  # out of the way of the unique constraint
    db.session.flush()
    other.urgency = mine
    db.session.flush()
    priority.urgency = theirs
    db.session.flush()
    tickets.priority_order_changed([priority, other])
    audit.record("priority", priority, [("order", f"urgency {mine}", f"urgency {theirs}")])
    audit.record("priority", other, [("order", f"urgency {theirs}", f"urgency {mine}")])
    db.session.commit()
    if is_partial():
        return _priority_page(block="priority_table")
    return redirect(url_for("admin.priority_list"))


@bp.route("/priorities/<int:priority_id>/delete", methods=["POST"])
def priority_delete(priority_id):
    """Delete an added priority that nothing uses (the four defaults stay)."""
    priority = _priority(priority_id)
    if priority.key in DEFAULT_KEYS:
        abort(409, f"“{priority.name}” is one of the four default priorities, which every desk keeps. "
                   "Rename it or change its colour instead.")
    used = _priority_usage(priority)
    if used:
        abort(409, f"“{priority.name}” cannot be deleted: it is in use ({'; '.join(used)}).")
    name = priority.name
    audit.record("priority", priority, [("deleted", name, "")], name=name)
    db.session.delete(priority)
    _bump_theme()
    db.session.commit()
    flash(f"Priority “{name}” deleted.", "success")
    return redirect(url_for("admin.priority_list"))


# --- settings ---------------------------------------------------------------------------------


@bp.route("/settings", methods=["GET", "POST"])
def settings_page():
    """The desk's settings (the environment's values are the defaults)."""
    form = SettingsForm(data=None if request.method == "POST" else settings.values())
    if request.method == "GET":
        return render("admin/settings.html", form=form, can_edit=current_user.is_admin, helps=_defaults(),
                      enrolment=_enrolment())
    if not form.validate():
        return render("admin/settings.html", form=form, can_edit=True, helps=_defaults(), enrolment=_enrolment(),
                      status=400)
    wanted = {name: form[name].data for name in settings.DEFINITIONS if name in form}
    wanted["allowed_types"] = sorted(wanted["allowed_types"])
    changes = settings.save(wanted)
    for key, old, new in changes:
        audit.record("setting", None, [(key, audit.display(old), audit.display(new))],
                     name=settings.DEFINITIONS[key].label)
    db.session.commit()
    flash("Settings saved." if changes else "Nothing was changed.", "success" if changes else "info")
    return redirect(url_for("admin.settings_page"))


def _defaults() -> dict:
    """Each field's help, ending with the configured default it replaces."""
    helps = {}
    for key in SettingsForm.help.keys() | {f for _, names in SettingsForm.sections for f in names}:
        default = settings.default(key)
        if key == "allowed_types":
            default = "all of them"
        elif isinstance(default, bool):
            default = "on" if default else "off"
        helps[key] = f"{SettingsForm.help.get(key, '')} Default: {default}.".strip()
    return helps


def _enrolment() -> dict:
    """How many active agents have two-factor sign-in on (the settings page shows it)."""
    active = db.session.scalar(select(func.count(Agent.id)).where(Agent.active.is_(True))) or 0
    enrolled = db.session.scalar(select(func.count(Agent.id)).where(
        Agent.active.is_(True), Agent.totp_secret.is_not(None))) or 0
    return {"active": active, "enrolled": enrolled, "required": settings.get("require_totp")}


# --- the audit log ----------------------------------------------------------------------------


@bp.route("/audit")
def audit_log():
    """Every admin change, newest first; filterable by kind of object."""
    shown = request.args.get("type", "")
    if shown not in AUDIT_TYPES:
        shown = ""
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 100_000)  # beyond: an empty page, not an SQL error
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    if shown:
        query = query.where(AuditEntry.object_type == shown)
    entries = db.paginate(query, page=page, per_page=AUDIT_PER_PAGE, error_out=False)
    return render("admin/audit.html", "audit_list", entries=entries, shown=shown, types=AUDIT_TYPES,
                  kinds=AUDIT_KINDS)
