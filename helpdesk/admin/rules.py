"""Automation rules (/admin/rules): the list in running order, the editor with its preview, and
switching, reordering and deleting. Admins write every rule; managers their departments' (see
automations.editing). The editor is one form the server draws again as it is edited (a field
chosen, a condition or an action added or removed): with htmx only the form is swapped; without
JavaScript the same buttons post the whole page. Nothing is saved until "Save rule"."""
from __future__ import annotations

import re

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user

from .. import automations
from ..automations import editing, preview
from ..automations.conditions import LISTS, NO_VALUE, RuleError
from ..extensions import db
from ..htmx import render
from ..models import MATCH, RULE_KINDS, SOURCE_LABELS, TRIGGERS, WAITS, Rule
from .blueprint import bp, managers_may_change

_ROW = re.compile(r"^([ca])-(\d+)-")


def _rule(rule_id: int) -> Rule:
    rule = db.session.get(Rule, rule_id)
    if rule is None:
        abort(404, "There is no such rule.")
    return rule


def _rows(prefix: str) -> list[int]:
    return sorted({int(m.group(2)) for key in request.form if (m := _ROW.match(key)) and m.group(1) == prefix})


def _condition_value(i: int, field_key: str, op: str):
    field = automations.FIELDS.get(field_key)
    values = [v for v in request.form.getlist(f"c-{i}-value") if v.strip()]
    if field is not None and field.kind != "text" and op in LISTS:
        return values
    return values[0] if values else ""


def _draft() -> editing.Draft:
    form = request.form
    conditions = []
    for i in _rows("c"):
        field, op = form.get(f"c-{i}-field", ""), form.get(f"c-{i}-op", "")
        spec = automations.FIELDS.get(field)
        if spec is not None and op not in spec.operators:
            op = next(iter(spec.operators))  # the field changed: its first operator
        conditions.append({"field": field, "op": op, "value": _condition_value(i, field, op)})
    actions = [{"type": form.get(f"a-{i}-type", ""), "value": form.get(f"a-{i}-value", ""),
                "to": form.get(f"a-{i}-to", ""), "subject": form.get(f"a-{i}-subject", "")} for i in _rows("a")]
    return editing.Draft(
        name=form.get("name", ""), description=form.get("description", ""),
        kind=form.get("kind", "event"), active=form.get("active") == "on",
        triggers=form.getlist("triggers"), channels=form.getlist("channels"),
        wait=form.get("wait", ""), wait_amount=form.get("wait_amount", ""), wait_unit=form.get("wait_unit", ""),
        business_hours=form.get("business_hours") == "on", match=form.get("match", "all"),
        scope=form.get("scope", ""), conditions=conditions, actions=actions)


def _edited(draft: editing.Draft, edit: str) -> None:
    """Apply an editing button: add or remove a condition or an action."""
    if edit == "add-condition":
        draft.conditions.append({"field": "subject", "op": "contains", "value": ""})
    elif edit == "add-action":
        draft.actions.append({"type": "set_priority", "value": ""})
    elif edit.startswith("remove-condition-") and edit[17:].isdigit() and int(edit[17:]) < len(draft.conditions):
        draft.conditions.pop(int(edit[17:]))
    elif edit.startswith("remove-action-") and edit[14:].isdigit() and int(edit[14:]) < len(draft.actions):
        draft.actions.pop(int(edit[14:]))


def _page(draft: editing.Draft, rule: Rule | None, *, status=200, problem=None, seen=None, size=50):
    writable = editing.may_write(current_user, rule)
    return render("admin/rule.html", "rule_form", status=status, draft=draft, rule=rule, problem=problem,
                  seen=seen, size=size, sizes=preview.SIZES, writable=writable,
                  scopes=editing.scopes(current_user), fields=automations.FIELDS, actions=automations.ACTIONS,
                  triggers=TRIGGERS, waits=WAITS, units=list(editing.UNITS), match_names=MATCH, kinds=RULE_KINDS,
                  sources=SOURCE_LABELS, no_value=NO_VALUE, lists=LISTS)


def _list(status=200, problem=None):
    return render("admin/rules.html", status=status, problem=problem, rules=editing.visible(current_user),
                  kinds=RULE_KINDS, triggers=TRIGGERS, waits=WAITS, sources=SOURCE_LABELS,
                  may_write=lambda r: editing.may_write(current_user, r),
                  may_create=editing.may_write(current_user))


@bp.route("/rules")
def rules_list():
    """Every rule in the order it runs, with how often it matched."""
    return _list()


def _work(rule: Rule | None, draft: editing.Draft):
    """One press of the editor's buttons: redraw, preview, or save."""
    edit = request.form.get("edit", "save")
    size = request.form.get("size", "50")
    size = int(size) if size.isdigit() and int(size) in preview.SIZES else 50
    if edit not in ("save", "preview"):
        _edited(draft, edit)
        return _page(draft, rule, size=size)
    if not editing.may_write(current_user, rule):
        abort(403, "You may not change this rule.")
    if edit == "preview":
        try:
            values = editing.check(current_user, draft, rule)
        except RuleError as exc:
            return _page(draft, rule, status=400, problem=str(exc), size=size)
        return _page(draft, rule, seen=preview.run(editing.unsaved(values), size), size=size)
    try:
        saved, changes = editing.save(current_user, rule, draft)
    except RuleError as exc:
        db.session.rollback()
        return _page(draft, rule, status=400, problem=str(exc), size=size)
    db.session.commit()
    flash(f"The rule “{saved.name}” was saved." if changes else "Nothing was changed.",
          "success" if changes else "info")
    return redirect(url_for("admin.rule_edit", rule_id=saved.id))


@bp.route("/rules/new", methods=["GET", "POST"])
@managers_may_change
def rule_new():
    """The editor for a new rule (?kind=time for a time rule)."""
    if request.method == "GET":
        kind = request.args.get("kind", "event")
        draft = editing.Draft(kind=kind if kind in RULE_KINDS else "event",
                              scope=(editing.scopes(current_user) or [("desk",)])[0][0],
                              conditions=[{"field": "subject", "op": "contains", "value": ""}],
                              actions=[{"type": "set_priority", "value": ""}])
        if draft.kind == "time":
            draft.triggers = []
        return _page(draft, None)
    return _work(None, _draft())


@bp.route("/rules/<int:rule_id>", methods=["GET", "POST"])
@managers_may_change
def rule_edit(rule_id):
    """A rule's editor (read only for a rule the agent may not write)."""
    rule = _rule(rule_id)
    if request.method == "GET":
        return _page(editing.Draft.of(rule), rule)
    return _work(rule, _draft())


def _change(rule_id: int, what):
    rule = _rule(rule_id)
    if not editing.may_write(current_user, rule):
        abort(403, "You may not change this rule.")
    try:
        message = what(rule)
    except RuleError as exc:
        db.session.rollback()
        return _list(409, str(exc))
    db.session.commit()
    if message:
        flash(message, "success")
    return redirect(url_for("admin.rules_list"))


@bp.post("/rules/<int:rule_id>/switch")
@managers_may_change
def rule_switch(rule_id):
    """Switch a rule on or off."""
    on = request.form.get("active") == "1"
    return _change(rule_id, lambda r: editing.switch(current_user, r, on)
                   or f"The rule “{r.name}” is {'on' if on else 'off'}.")


@bp.post("/rules/<int:rule_id>/move")
@managers_may_change
def rule_move(rule_id):
    """Move a rule one place earlier (up) or later (down) in the running order."""
    direction = -1 if request.form.get("direction") == "up" else 1
    return _change(rule_id, lambda r: editing.move(current_user, r, direction) and None)


@bp.post("/rules/<int:rule_id>/delete")
@managers_may_change
def rule_delete(rule_id):
    """Delete a rule; the history it wrote keeps its name."""
    def delete(rule):
        name = rule.name
        editing.delete(current_user, rule)
        return f"The rule “{name}” was deleted."
    return _change(rule_id, delete)
