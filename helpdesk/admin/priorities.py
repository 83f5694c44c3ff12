"""Priorities (/admin/priorities): names, colours and order, edited inline in their table. The
four default priorities stay; an added one that nothing uses can be deleted. The priority form
and its views."""
from __future__ import annotations

import re

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import StringField
from wtforms.validators import DataRequired, Length, ValidationError

from .. import audit, settings, tickets
from ..demo import DEFAULT_PRIORITIES
from ..extensions import db
from ..htmx import is_partial, refresh, render
from ..models import HelpTopic, Priority, Ticket
from .blueprint import bp
from .forms import collapse_spaces

DEFAULT_KEYS = {key for key, *_ in DEFAULT_PRIORITIES}
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _colour(form, field):
    if not _COLOUR.match(field.data or ""):
        raise ValidationError("Give a colour as #rrggbb, for example #d97706.")


class PriorityForm(FlaskForm):
    name = StringField("Name", filters=[collapse_spaces], validators=[
        DataRequired("Give it a name."), Length(max=60, message="At most %(max)d characters.")])
    colour = StringField("Colour", default="#6b7280", filters=[lambda v: v.strip().lower() if v else v],
                         validators=[_colour])

    obj = None

    def validate_name(self, field):
        query = select(Priority.id).where(func.lower(Priority.name) == field.data.lower())
        if self.obj is not None:
            query = query.where(Priority.id != self.obj.id)
        if db.session.scalar(query) is not None:
            raise ValidationError("Another priority has this name.")


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
