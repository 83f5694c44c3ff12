"""Tags (/admin/tags): the desk's tags with how many tickets carry each, and (admins) creating,
renaming and deleting one. Agents create tags too, on a ticket, unless the setting "Only admins
create new tags" is on (/admin/settings).

A tag keeps one name whatever its case: renaming may change its case or its words, but not to
another tag's name. Deleting a tag that tickets carry takes it off them: the page says how many
and asks to confirm; the audit log keeps the count (the tickets' histories do not: nobody
changed them)."""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from sqlalchemy import delete, func, select

from .. import audit
from ..extensions import db
from ..htmx import render
from ..models import Tag, tag_key, ticket_tag
from ..tickets import InvalidInput
from ..tickets.tags import clean_name
from .blueprint import bp


def _counts() -> dict[int, int]:
    return dict(db.session.execute(select(ticket_tag.c.tag_id, func.count()).group_by(ticket_tag.c.tag_id)).all())


def _carried(tag: Tag) -> int:
    return db.session.scalar(select(func.count()).select_from(ticket_tag).where(ticket_tag.c.tag_id == tag.id)) or 0


def _tag(tag_id: int) -> Tag:
    tag = db.session.get(Tag, tag_id)
    if tag is None:
        abort(404, "There is no such tag.")
    return tag


def _list(status=200, error=None, typed=""):
    tags = db.session.scalars(select(Tag).order_by(Tag.key)).all()
    return render("admin/tags.html", tags=tags, counts=_counts(), status=status, error=error, typed=typed)


def _page(tag: Tag, status=200, error=None, typed=None):
    return render("admin/tag.html", tag=tag, carried=_carried(tag), status=status, error=error,
                  typed=tag.name if typed is None else typed)


def _checked(name: str, tag: Tag | None = None) -> str:
    """The cleaned name, or InvalidInput: a bad name, or another tag's."""
    name = clean_name(name)
    clash = db.session.scalar(select(Tag.id).where(Tag.key == tag_key(name), Tag.id != (tag.id if tag else 0)))
    if clash is not None:
        raise InvalidInput(f"There is a tag “{name}” already (tags are the same whatever their case).")
    return name


@bp.get("/tags")
def tags_list():
    """Every tag of the desk, with how many tickets carry it."""
    return _list()


@bp.post("/tags")
def tag_new():
    """Create a tag (admins)."""
    typed = request.form.get("name", "")[:200]
    try:
        name = _checked(typed)
    except InvalidInput as exc:
        return _list(400, exc.message, typed)
    tag = Tag(key=tag_key(name), name=name)
    db.session.add(tag)
    audit.record("tag", tag, [("created", "", name)])
    db.session.commit()
    flash(f"The tag “{name}” was created.", "success")
    return redirect(url_for("admin.tags_list"))


@bp.route("/tags/<int:tag_id>", methods=["GET", "POST"])
def tag_edit(tag_id):
    """A tag: rename it, or delete it (admins)."""
    tag = _tag(tag_id)
    if request.method == "GET":
        return _page(tag)
    typed = request.form.get("name", "")[:200]
    try:
        name = _checked(typed, tag)
    except InvalidInput as exc:
        return _page(tag, 400, exc.message, typed)
    changes = audit.apply(tag, {"name": name, "key": tag_key(name)})
    changes = [c for c in changes if c[0] == "name"]
    if not changes:
        flash("Nothing was changed.", "info")
        return redirect(url_for("admin.tags_list"))
    audit.record("tag", tag, changes)
    db.session.commit()
    flash(f"The tag is “{name}” now, on every ticket that carries it.", "success")
    return redirect(url_for("admin.tags_list"))


@bp.post("/tags/<int:tag_id>/delete")
def tag_delete(tag_id):
    """Delete a tag; one that tickets carry only with `confirm`, and it is taken off them."""
    tag = _tag(tag_id)
    carried = _carried(tag)
    if carried and request.form.get("confirm") != str(carried):
        return _page(tag, 409, f"{carried} ticket{'s carry' if carried != 1 else ' carries'} the tag “{tag.name}”. "
                               "Tick the box to confirm that it is taken off them, then delete it.")
    name = tag.name
    audit.record("tag", tag, [("deleted", name, "")] + ([("tickets", str(carried), "0")] if carried else []),
                 name=name)
    db.session.execute(delete(ticket_tag).where(ticket_tag.c.tag_id == tag.id))
    db.session.delete(tag)
    db.session.commit()
    flash(f"The tag “{name}” was deleted" + (f" and taken off {carried} ticket{'s' if carried != 1 else ''}."
                                             if carried else "."), "success")
    return redirect(url_for("admin.tags_list"))
