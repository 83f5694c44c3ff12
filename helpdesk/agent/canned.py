"""Canned responses: the page where an agent manages the ones they may (their own; managers their
departments'; admins every shared one), and the ticket page's picker that finds and inserts them.
What each may see and do is helpdesk/tickets/canned.py."""
from flask import abort, flash, request, url_for
from flask_login import current_user

from .. import attachments, settings, tickets
from ..extensions import db
from ..htmx import go, render
from ..tickets import canned
from .blueprint import bp
from .forms import VERSION_MAX, ReplyForm, RequestInfoForm, ResolveForm
from .responses import load_ticket, render_ticket

# The composer's forms a response can go into: their form class and the field it fills.
TARGETS = {"reply": (ReplyForm, "body"), "request_info": (RequestInfoForm, "body"),
           "resolve": (ResolveForm, "resolution")}


def _manager():
    return current_user._get_current_object()


def _page(status=200, editing=None, values=None, error=None):
    agent = _manager()
    return render("agent/canned_responses.html", status=status, responses=canned.managed(agent),
                  owners=canned.owners(agent), editing=editing, error=error,
                  values=values or {"title": "", "body": "", "owner": "me"}, placeholders=canned.PLACEHOLDERS)


def _posted():
    return {"title": request.form.get("title", ""), "body": request.form.get("body", ""),
            "owner": request.form.get("owner", "me")}


def _save(response):
    values = _posted()
    stored, removed = [], []
    try:
        uploads = attachments.check_files(request.files.getlist("files"))
        saved = canned.save(_manager(), response, **values, uploads=uploads, remove=request.form.getlist("remove_file"),
                            stored=stored, removed=removed)
        db.session.commit()
    except (tickets.InvalidInput, attachments.UploadError) as exc:
        db.session.rollback()
        attachments.discard(stored)
        return _page(400, editing=response, values=values, error=getattr(exc, "message", None) or str(exc))
    except BaseException:
        db.session.rollback()
        attachments.discard(stored)
        raise
    attachments.discard(removed)
    flash(f"The canned response “{saved.title}” was saved.", "success")
    return go(url_for("agent.canned_responses"))


def _managed_or_404(response_id):
    response = canned.find_managed(_manager(), response_id)
    if response is None:
        abort(404, "There is no such canned response, or it is not one of yours to change.")
    return response


@bp.get("/canned-responses")
def canned_responses():
    """The canned responses this agent manages, and a form for a new one."""
    return _page()


@bp.post("/canned-responses")
def new_canned_response():
    """Save a new canned response."""
    return _save(None)


@bp.route("/canned-responses/<int:response_id>", methods=["GET", "POST"])
def edit_canned_response(response_id):
    """A canned response in the editor; posted, its changes saved."""
    response = _managed_or_404(response_id)
    if request.method == "POST":
        return _save(response)
    return _page(editing=response, values={"title": response.title, "body": response.body,
                                           "owner": canned.owner_key(response)})


@bp.post("/canned-responses/<int:response_id>/delete")
def delete_canned_response(response_id):
    """Delete a canned response."""
    response = _managed_or_404(response_id)
    title, keys = response.title, canned.file_keys(response)
    try:
        canned.delete(_manager(), response)
    except tickets.InvalidInput as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _page(409)
    db.session.commit()
    attachments.discard(keys)
    flash(f"The canned response “{title}” was deleted.", "success")
    return go(url_for("agent.canned_responses"))


@bp.get("/canned-responses/<int:response_id>/files/<int:file_id>")
def canned_file(response_id, file_id):
    """Download a file of a canned response this agent manages or may use; never shown inline."""
    item = canned.find_file(_manager(), response_id, file_id)
    if item is None:
        abort(404, "There is no such file, or it is not one of yours to see.")
    return attachments.download(item)


# --- on the ticket page ---------------------------------------------------------------------


def _target(ticket, into: str) -> str:
    """The composer's form to fill: the one asked for, if the ticket offers it (none asked: the
    first it offers)."""
    offered = [key for key in TARGETS if key in tickets.available_actions(current_user, ticket)]
    if not into and offered:
        return offered[0]
    if into not in offered:
        abort(400, "That form is not offered on this ticket now: choose another to insert the response into.")
    return into


@bp.get("/tickets/<number>/canned-responses")
def canned_picker(number):
    """The canned responses this agent may use on the ticket matching q: the picker's list
    (the whole ticket page with it open, without JavaScript)."""
    ticket = load_ticket(number, full=True)
    into = _target(ticket, request.args.get("into", ""))
    q = request.args.get("q", "")[:canned.SEARCH_MAX]
    return render_ticket(ticket, "canned_results", canned_q=q, canned_into=into,
                         canned_results=canned.usable(_manager(), ticket, q))


@bp.get("/tickets/<number>/canned-responses/<int:response_id>")
def canned_text(number, response_id):
    """The response's text filled in for this ticket and agent, as plain text (what the picker inserts)."""
    ticket = load_ticket(number)
    response = canned.find_usable(_manager(), ticket, response_id)
    if response is None:
        abort(404, "There is no such canned response, or it is not one you may use on this ticket.")
    return canned.filled(response, ticket, _manager()), 200, {"Content-Type": "text/plain; charset=utf-8",
                                                               "Cache-Control": "no-store"}


def prefilled_form(ticket, response_id: int, into: str):
    """The composer's form `into` with the response's filled text in it (the picker without JavaScript)."""
    into = _target(ticket, into)
    response = canned.find_usable(_manager(), ticket, response_id) if 0 < response_id <= VERSION_MAX else None
    if response is None:
        abort(404, "There is no such canned response, or it is not one you may use on this ticket.")
    form_class, field = TARGETS[into]
    form = form_class(formdata=None, data={field: canned.filled(response, ticket, _manager())}).setup(ticket, blank=True)
    form.canned_files = list(response.files)  # listed in the form, sent with it (canned_file ids)
    return form


def canned_uploads(ticket, form) -> list:
    """The files of canned responses inserted into the form (posted canned_file ids) as uploads,
    with the agent's own: together within the per-message count (InvalidInput or UploadError)."""
    files = canned.usable_files(_manager(), ticket, request.form.getlist("canned_file"))
    own = form.uploads()
    limit = settings.get("max_attachments")
    if len(own) + len(files) > limit:
        raise attachments.UploadError(f"At most {limit} files can be attached at once "
                                      "(counting those from the canned response).")
    return own + canned.copies(files)
