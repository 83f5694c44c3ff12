"""List, create, edit, deactivate and delete the desk's configuration: one set of views, one
Resource per kind of object (help topics, SLA plans, departments, teams, agents), each defined
and registered in its own module (topics.py, sla_plans.py, ...).

Every change is written to the audit log in the same transaction. Something in use is never
deleted: the delete button answers 409 and says what uses it; deactivate it instead.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..extensions import db
from ..htmx import render
from .blueprint import bp


@dataclass
class Resource:
    key: str  # endpoint prefix and the audit log's object type
    path: str  # URL segment
    label: str  # singular, lower case
    plural: str
    model: type
    form: type
    rows: Callable[[], list]
    columns: list  # (header, function(row) -> text)
    usage: Callable[[object], list[str]]  # what uses a row (it cannot be deleted then)
    new_form: type | None = None
    intro: str = ""
    check: Callable | None = None  # (row, values) -> error message or None, before saving
    after: Callable | None = None  # (row, form, changes, created) -> extra changes, after applying
    on_active: Callable | None = None  # (row, active) -> error message or None
    edit_template: str = "admin/edit.html"
    extra: dict = field(default_factory=dict)

    @property
    def title(self) -> str:
        """The label with a capital first letter ("SLA plan" stays as it is)."""
        return self.label[:1].upper() + self.label[1:]

    def name_of(self, row) -> str:
        return getattr(row, "name", str(row))


RESOURCES: dict[str, Resource] = {}


def _get(res: Resource, row_id: int):
    row = db.session.get(res.model, row_id)
    if row is None:
        abort(404, f"There is no such {res.label}.")
    return row


def _page(res: Resource, form, row, status=200, **extra):
    context = {name: make() for name, make in res.extra.items()}  # e.g. blank side forms
    context.update(extra)
    return render(res.edit_template, res=res, form=form, row=row, can_edit=current_user.is_admin,
                  usage=res.usage(row) if row is not None and row.id else [], status=status, **context)


def list_view(res: Resource):
    rows = res.rows()
    return render("admin/list.html", res=res, rows=rows, can_edit=current_user.is_admin)


def edit_view(res: Resource, row_id: int | None = None):
    row = _get(res, row_id) if row_id is not None else None
    form_class = res.new_form if row is None and res.new_form else res.form
    form = form_class().setup(row)
    if request.method == "GET":
        if row is not None:
            form.load(row)
        return _page(res, form, row)
    if not form.validate():
        return _page(res, form, row, status=400)
    values = form.values()
    problem = res.check(row, values) if res.check else None
    if problem:
        return _page(res, form, row, status=400, problem=problem)
    created = row is None
    if created:
        row = res.model()
        db.session.add(row)
    changes = audit.apply(row, values)
    extra = {}
    if res.after:
        more, extra = res.after(row, form, changes, created)
        changes += more
    if created:
        changes.insert(0, ("created", "", res.name_of(row)))
    try:
        audit.record(res.key, row, changes)
        db.session.commit()
    except IntegrityError:  # a concurrent save took the name first
        db.session.rollback()
        return _page(res, form, None if created else row, status=400,
                     problem=f"Another {res.label} has this name or email already. Nothing was saved.")
    if extra.get("page"):  # e.g. a generated password, shown once (never in a redirect or flash)
        return extra["page"]()
    if created:
        flash(f"{res.title} “{res.name_of(row)}” created.", "success")
    elif changes:
        flash(f"{res.title} “{res.name_of(row)}” saved.", "success")
    else:
        flash("Nothing was changed.", "info")
    return redirect(url_for(f"admin.{res.key}_list"))


def active_view(res: Resource, row_id: int, active: bool):
    row = _get(res, row_id)
    if row.active == active:
        flash(f"{res.title} “{res.name_of(row)}” is {'active' if active else 'inactive'} already.", "info")
        return redirect(url_for(f"admin.{res.key}_list"))
    problem = res.on_active(row, active) if res.on_active else None
    if problem:
        abort(409, problem)
    changes = audit.apply(row, {"active": active})
    if hasattr(row, "session_token") and not active:
        from secrets import token_hex

        row.session_token = token_hex(16)  # signed-in sessions end now
    audit.record(res.key, row, changes)
    db.session.commit()
    if active:
        flash(f"{res.title} “{res.name_of(row)}” is active again.", "success")
    else:
        flash(f"{res.title} “{res.name_of(row)}” is deactivated: it stays on the tickets that "
              "have it, but is no longer offered for new ones.", "success")
    return redirect(url_for(f"admin.{res.key}_list"))


def delete_view(res: Resource, row_id: int):
    row = _get(res, row_id)
    used = res.usage(row)
    if used:
        abort(409, f"{res.title} “{res.name_of(row)}” cannot be deleted: it is in use "
                   f"({'; '.join(used)}). Deactivate it instead: it then stays where it is used "
                   "but is no longer offered.")
    name = res.name_of(row)
    audit.record(res.key, row, [("deleted", name, "")], name=name)
    db.session.delete(row)
    db.session.commit()
    flash(f"{res.title} “{name}” deleted.", "success")
    return redirect(url_for(f"admin.{res.key}_list"))


def register(res: Resource) -> Resource:
    """Add the resource's five routes to the admin blueprint."""
    RESOURCES[res.key] = res
    base = f"/{res.path}"

    def listing():
        return list_view(res)

    def create():
        return edit_view(res)

    def edit(row_id):
        return edit_view(res, row_id)

    def deactivate(row_id):
        return active_view(res, row_id, False)

    def activate(row_id):
        return active_view(res, row_id, True)

    def delete(row_id):
        return delete_view(res, row_id)

    listing.__doc__ = f"The {res.plural}."
    create.__doc__ = f"Create a {res.label}."
    edit.__doc__ = f"A {res.label}: see it, or change it (admins)."
    bp.add_url_rule(base, f"{res.key}_list", listing)
    bp.add_url_rule(f"{base}/new", f"{res.key}_new", create, methods=["GET", "POST"])
    bp.add_url_rule(f"{base}/<int:row_id>", f"{res.key}_edit", edit, methods=["GET", "POST"])
    bp.add_url_rule(f"{base}/<int:row_id>/deactivate", f"{res.key}_deactivate", deactivate, methods=["POST"])
    bp.add_url_rule(f"{base}/<int:row_id>/activate", f"{res.key}_activate", activate, methods=["POST"])
    bp.add_url_rule(f"{base}/<int:row_id>/delete", f"{res.key}_delete", delete, methods=["POST"])
    return res


def count_phrase(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def row_count(query) -> int:
    """How many rows a select returns."""
    return db.session.scalar(select(func.count()).select_from(query.subquery())) or 0


def uses(*pairs) -> list[str]:
    """[(count, "ticket"), ...] -> ["3 tickets", ...] for the non-zero ones."""
    return [count_phrase(n, what) for n, what in pairs if n]
