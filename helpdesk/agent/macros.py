"""Macros: the page where an agent manages the ones they may (their own; managers their
departments'; admins every shared one) with its step editor, and applying one from the ticket
page. Who may do what, and applying, are helpdesk/tickets/macros.py; bulk use is in queue.py.

The step editor is one form: its rows are step-<n>-do/-text/-canned/-target. Its buttons to add,
remove and move a step post the form with `edit` (add, remove-<n>, up-<n>, down-<n>): the editor
comes back with the change and nothing is saved (with htmx only the editor is redrawn)."""
from __future__ import annotations

import re

from flask import abort, flash, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, or_, select

from .. import tickets
from ..extensions import db
from ..htmx import go, render
from ..models import Agent, CannedResponse, Priority, SLAPlan, Tag, Team
from ..text import is_number
from ..tickets import canned, macro_steps, macros
from .blueprint import bp
from .responses import describe, done, find_ticket, load_ticket, render_ticket

_ROW_FIELD = re.compile(r"^step-([0-9]{1,3})-(do|text|canned|target)$")
_EDIT = re.compile(r"^(add|remove|up|down)(?:-([0-9]{1,3}))?$")
BLANK_ROW = {"do": "", "text": "", "canned": "", "target": ""}


def _agent():
    return current_user._get_current_object()


def _canned_choices(agent):
    """The canned responses a step may take: those the agent may use somewhere."""
    where = [CannedResponse.agent_id == agent.id,
             (CannedResponse.agent_id.is_(None)) & (CannedResponse.department_id.is_(None))]
    if agent.is_admin:
        where.append(CannedResponse.department_id.is_not(None))
    else:
        where.append(CannedResponse.department_id.in_([d.id for d in agent.departments]))
    rows = db.session.scalars(select(CannedResponse).where(or_(*where))
                              .order_by(func.lower(CannedResponse.title), CannedResponse.id)).all()
    return [(str(r.id), f"{r.title} ({r.scope_label})") for r in rows]


def _target_choices():
    """The targets a step may name, grouped as the select shows them."""
    def rows(model, order, active=True):
        query = select(model).order_by(order)
        if active:
            query = query.where(model.active.is_(True))
        return db.session.scalars(query).all()

    return [
        ("Priority", [(f"priority:{p.id}", p.name) for p in rows(Priority, Priority.urgency, active=False)]),
        ("Agent", [(f"agent:{a.id}", a.name) for a in rows(Agent, func.lower(Agent.name))]),
        ("Team", [(f"team:{t.id}", t.name) for t in rows(Team, func.lower(Team.name))]),
        ("SLA plan", [(f"sla:{s.id}", s.name) for s in rows(SLAPlan, func.lower(SLAPlan.name))]),
        ("Tag", [(f"tag:{t.id}", t.name) for t in rows(Tag, Tag.key, active=False)]),
    ]


def _page(status=200, editing=None, values=None, error=None, *blocks, edited=False):
    agent = _agent()
    values = values or {"name": "", "description": "", "owner": "me", "active": True, "rows": [dict(BLANK_ROW)]}
    return render("agent/macros.html", *blocks, status=status, macros=macros.managed(agent),
                  owners=macros.owners(agent), editing=editing, error=error, values=values,
                  kinds=macro_steps.KINDS, canned_choices=_canned_choices(agent), target_choices=_target_choices(),
                  steps_max=macro_steps.STEPS_MAX, summary=macro_steps.summary, placeholders=canned.PLACEHOLDERS,
                  edited=edited)


def _posted_rows() -> list[dict]:
    rows: dict[int, dict] = {}
    for key, value in request.form.items(multi=True):
        match = _ROW_FIELD.match(key)
        if match:
            rows.setdefault(int(match.group(1)), dict(BLANK_ROW))[match.group(2)] = value
    return [rows[n] for n in sorted(rows)]


def _posted() -> dict:
    return {"name": request.form.get("name", ""), "description": request.form.get("description", ""),
            "owner": request.form.get("owner", "me"), "active": bool(request.form.get("active")),
            "rows": _posted_rows()}


def _edited(values: dict, edit: str):
    """The editor's rows after an add/remove/move button, or None for an unknown one."""
    match = _EDIT.match(edit)
    if match is None:
        return None
    rows, what = values["rows"], match.group(1)
    n = int(match.group(2)) if match.group(2) else None
    if what == "add":
        if len(rows) >= macro_steps.STEPS_MAX:
            return f"A macro has at most {macro_steps.STEPS_MAX} steps."
        rows.append(dict(BLANK_ROW))
    elif n is None or not 0 <= n < len(rows):
        return None
    elif what == "remove":
        rows.pop(n)
    elif what == "up" and n > 0:
        rows[n - 1], rows[n] = rows[n], rows[n - 1]
    elif what == "down" and n < len(rows) - 1:
        rows[n + 1], rows[n] = rows[n], rows[n + 1]
    return ""


def _save(macro):
    values = _posted()
    edit = request.form.get("edit", "")
    if edit:
        problem = _edited(values, edit)
        if problem is None:
            abort(400, "That button is not part of this editor; reload the page.")
        if not values["rows"]:
            values["rows"].append(dict(BLANK_ROW))
        return _page(400 if problem else 200, macro, values, problem or None, "editor", edited=edit == "add")
    try:
        saved = macros.save(_agent(), macro, **values)
    except tickets.InvalidInput as exc:
        db.session.rollback()
        return _page(400, macro, values, exc.message, "editor")
    db.session.commit()
    flash(f"The macro “{saved.name}” was saved.", "success")
    return go(url_for("agent.macros_page"))


def _managed_or_404(macro_id):
    macro = macros.find_managed(_agent(), macro_id)
    if macro is None:
        abort(404, "There is no such macro, or it is not one of yours to change.")
    return macro


@bp.get("/macros")
def macros_page():
    """The macros this agent manages, and the editor for a new one."""
    return _page()


@bp.post("/macros")
def new_macro():
    """Save a new macro (or, with `edit`, add, remove or move a step of the editor)."""
    return _save(None)


@bp.route("/macros/<int:macro_id>", methods=["GET", "POST"])
def edit_macro(macro_id):
    """A macro in the editor; posted, its changes saved."""
    macro = _managed_or_404(macro_id)
    if request.method == "POST":
        return _save(macro)
    rows = [macro_steps.as_row(s) for s in macro.steps] or [dict(BLANK_ROW)]
    return _page(editing=macro, values={"name": macro.name, "description": macro.description,
                                        "owner": macros.owner_key(macro), "active": macro.active, "rows": rows})


@bp.post("/macros/<int:macro_id>/delete")
def delete_macro(macro_id):
    """Delete a macro."""
    macro = _managed_or_404(macro_id)
    name = macro.name
    macros.delete(_agent(), macro)
    db.session.commit()
    flash(f"The macro “{name}” was deleted.", "success")
    return go(url_for("agent.macros_page"))


# --- on the ticket page -----------------------------------------------------------------------


@bp.post("/tickets/<number>/macros/<int:macro_id>")
def apply_macro(number, macro_id):
    """Apply a macro to the ticket: its steps in order, each through the lifecycle; the outcome
    (what was done, what was refused and why) in the page's message."""
    ticket = load_ticket(number)
    if not FlaskForm().validate_on_submit():
        abort(400, "Your session expired. Reload the page and try again.")
    macro = macros.find_usable(_agent(), macro_id, ticket)
    if macro is None:
        abort(404, "There is no such macro, or it is not one you may use on this ticket.")
    version = request.form.get("version", "")
    if not is_number(version) or len(version) > 9:
        abort(400, "This page is out of date; reload it.")
    try:
        outcome = macros.apply_macro(_agent(), ticket, macro, expected_version=int(version))
    except tickets.Conflict as exc:
        db.session.rollback()
        what = "; ".join(f"{e.actor_name} {describe(e)}" for e in exc.changes) or "another change"
        return _refused(number, f"The macro “{macro.name}” was not applied: the ticket changed since you opened it "
                                f"({what}). Look at it again, then apply the macro.", 409)
    except tickets.LifecycleError as exc:
        db.session.rollback()
        return _refused(number, exc.message, exc.status)
    return done(number, outcome.message, "success" if outcome.complete else "warning")


def _refused(number: str, message: str, status: int):
    """Nothing was done: the ticket as it is, with the reason, and the refusal's status."""
    flash(message, "error")
    ticket = find_ticket(number, full=True)
    if ticket is None:
        abort(404, "There is no such ticket, or it is not one of yours to see.")
    return render_ticket(ticket, "ticket", "flash", status=status, flash_oob=True)
