"""The ticket page: the page itself, downloads of its attachments, and one POST route per ticket
action. Each action parses its form and calls one lifecycle function; responses.ticket_action does
the rest (404 if unseen, 400/403/409, htmx or redirect)."""
from flask import abort, request
from flask_login import current_user
from flask_wtf import FlaskForm

from .. import mailin, tickets
from ..attachments import download, path_for
from ..extensions import db
from ..models import Attachment, Collaborator, HeldMail, Ticket, tag_key
from ..tickets import tags as tag_rules
from . import forms as f
from .blueprint import bp
from .canned import canned_uploads, prefilled_form
from .responses import done, load_ticket, render_ticket, ticket_action


@bp.get("/tickets/<number>")
def ticket(number):
    """The ticket page: header, thread, history and the actions this agent may take; with
    `canned` (and `into`), that canned response's text filled into the form (no JavaScript)."""
    ticket = load_ticket(number, full=True)
    response_id = request.args.get("canned", type=int)
    if response_id is None:
        return render_ticket(ticket, "ticket")
    return render_ticket(ticket, "ticket", form=prefilled_form(ticket, response_id, request.args.get("into", "")))


@bp.get("/files/<int:attachment_id>")
def attachment(attachment_id):
    """Download an attachment of a ticket the agent may see; never shown inline."""
    item = db.session.get(Attachment, attachment_id)
    ticket = db.session.get(Ticket, item.ticket_id) if item else None
    if ticket is None or not tickets.can_see(current_user, ticket) or not path_for(item.storage_key).is_file():
        abort(404, "There is no such file, or it is not one of yours to see.")
    return download(item)


# --- the actions ------------------------------------------------------------------------------


@bp.post("/tickets/<number>/reply")
@ticket_action(f.ReplyForm, "Your reply was sent to the customer.")
def reply(ticket, form):
    """Answer the customer; the reply is mailed to them."""
    tickets.reply(current_user, ticket, form.body.data, uploads=canned_uploads(ticket, form), expected_version=form.version.data,
                  seen_version=form.seen.data)


@bp.post("/tickets/<number>/note")
@ticket_action(f.NoteForm, "Your internal note was added.")
def note(ticket, form):
    """Add an internal note: agents only, never shown or mailed to the customer."""
    tickets.add_note(current_user, ticket, form.body.data, uploads=form.uploads(), expected_version=form.version.data)


@bp.post("/tickets/<number>/claim")
@ticket_action(f.ClaimForm, "The ticket is yours now.")
def claim(ticket, form):
    """Take the ticket as your own."""
    tickets.claim(current_user, ticket, expected_version=form.version.data)


@bp.post("/tickets/<number>/assign")
@ticket_action(f.AssignForm, "The assignment was changed.")
def assign(ticket, form):
    """Assign the ticket to an agent and/or a team (managers)."""
    tickets.assign(current_user, ticket, agent=form.agent.record, team=form.team.record,
                   expected_version=form.version.data)


@bp.post("/tickets/<number>/priority")
@ticket_action(f.PriorityForm, "The priority was changed.")
def priority(ticket, form):
    """Change the priority (managers)."""
    tickets.set_priority(current_user, ticket, form.priority.record,
                         expected_version=form.version.data)


@bp.post("/tickets/<number>/sla")
@ticket_action(f.SLAForm, "The SLA plan was applied and the due time recomputed.")
def sla(ticket, form):
    """Apply an SLA plan (managers); the due time follows it."""
    tickets.set_sla(current_user, ticket, form.sla.record,
                    expected_version=form.version.data)


@bp.post("/tickets/<number>/transfer")
@ticket_action(f.TransferForm, "The ticket was transferred.")
def transfer(ticket, form):
    """Move the ticket to another department (managers)."""
    tickets.transfer(current_user, ticket, form.department.record,
                     expected_version=form.version.data)


@bp.post("/tickets/<number>/request-info")
@ticket_action(f.RequestInfoForm, "Your question was sent; the ticket now awaits the customer.")
def request_info(ticket, form):
    """Ask the customer for more information (-> awaiting customer)."""
    tickets.request_info(current_user, ticket, form.body.data, uploads=canned_uploads(ticket, form),
                         expected_version=form.version.data,
                         seen_version=form.seen.data)


@bp.post("/tickets/<number>/escalate")
@ticket_action(f.EscalateForm, "The ticket was escalated.")
def escalate(ticket, form):
    """Hand the ticket to a team with a note saying why (-> escalated)."""
    tickets.escalate(current_user, ticket, form.team.record, form.note.data,
                     expected_version=form.version.data)


@bp.post("/tickets/<number>/resume")
@ticket_action(f.ResumeForm, "The ticket is open again.")
def resume(ticket, form):
    """Take an awaiting ticket back to open, or hand an escalated one back with what was found."""
    tickets.resume(current_user, ticket, form.note.data or "", expected_version=form.version.data)


@bp.post("/tickets/<number>/resolve")
@ticket_action(f.ResolveForm, "The resolution was sent to the customer.")
def resolve(ticket, form):
    """Post the resolution to the customer (-> resolved)."""
    tickets.resolve(current_user, ticket, form.resolution.data, uploads=canned_uploads(ticket, form),
                    expected_version=form.version.data, seen_version=form.seen.data)


@bp.post("/tickets/<number>/close")
@ticket_action(f.CloseForm, "The ticket was closed.")
def close(ticket, form):
    """Close the ticket, with an optional internal note."""
    tickets.close(current_user, ticket, form.note.data or "", expected_version=form.version.data)


@bp.post("/tickets/<number>/reopen")
@ticket_action(f.ReopenForm, "The ticket was reopened.")
def reopen(ticket, form):
    """Reopen a resolved or closed ticket; its SLA clock starts again."""
    tickets.reopen(current_user, ticket, form.note.data or "", expected_version=form.version.data)


@bp.post("/tickets/<number>/access-link")
@ticket_action(f.AccessLinkForm, "A new access link was mailed to the customer; older links no longer work.")
def access_link(ticket, form):
    """Revoke the customer's access links and mail a new one."""
    tickets.new_access_link(current_user, ticket, expected_version=form.version.data)


@bp.post("/tickets/<number>/collaborators")
@ticket_action(f.CollaboratorForm, "They are on copy now and will get the public replies.")
def add_collaborator(ticket, form):
    """Put someone on copy (CC): they get the public replies and their own link, never notes."""
    tickets.add_collaborator(current_user, ticket, form.email.data, form.name.data or "",
                             expected_version=form.version.data)


@bp.post("/tickets/<number>/collaborators/<int:collaborator_id>/remove")
def remove_collaborator(number, collaborator_id):
    """Take someone off copy: their mail stops and their link no longer opens the ticket."""
    ticket, collab = _ticket_and_its(number, Collaborator, collaborator_id,
                                     "That person is not on copy of this ticket.")
    tickets.remove_collaborator(current_user, ticket, collab)
    return done(number, f"{collab.email} is no longer on copy; their link stopped working.")


def _ticket_and_its(number: str, model, row_id: int, missing: str):
    """The ticket (404 if unseen) and one of its rows of `model` (404 with `missing` if none or
    another ticket's), after the CSRF check."""
    ticket = load_ticket(number)
    if not FlaskForm().validate_on_submit():
        abort(400, "Your session expired. Reload the page and try again.")
    row = db.session.get(model, row_id)
    if row is None or row.ticket_id != ticket.id:
        abort(404, missing)
    return ticket, row


def _held_mail(number: str, held_id: int):
    """The ticket and its held mail, as _ticket_and_its finds them."""
    return _ticket_and_its(number, HeldMail, held_id, "There is no such mail on this ticket.")


@bp.post("/tickets/<number>/held-mail/<int:held_id>/confirm")
def confirm_held_mail(number, held_id):
    """The agent a held mail claims to be from confirms they sent it: it becomes their note."""
    _, held = _held_mail(number, held_id)
    mailin.confirm_held(current_user, held)
    return done(number, "The mail is your internal note now.")


@bp.post("/tickets/<number>/held-mail/<int:held_id>/discard")
def discard_held_mail(number, held_id):
    """The agent a held mail claims to be from did not send it (or does not want it): dropped."""
    _, held = _held_mail(number, held_id)
    tickets.discard_held_mail(current_user, held)
    return done(number, "The mail was discarded.")


# --- tags -------------------------------------------------------------------------------------


@bp.post("/tickets/<number>/tags")
@ticket_action(f.TagForm, "The ticket is tagged.")
def add_tags(ticket, form):
    """Put tags on the ticket: the names typed (comma-separated) or the one picked."""
    added = tickets.add_tags(current_user, ticket, form.chosen(), expected_version=form.version.data)
    return f"Tagged {', '.join(f'“{t.name}”' for t in added)}."


@bp.post("/tickets/<number>/tags/remove")
@ticket_action(f.TagForm, "The tag was removed.")
def remove_tag(ticket, form):
    """Take a tag off the ticket."""
    tag = tickets.remove_tag(current_user, ticket, form.remove.data or "", expected_version=form.version.data)
    return f"The tag “{tag.name}” was removed."


@bp.get("/tickets/<number>/tags/suggestions")
def tag_suggestions(number):
    """The desk's tags matching what is being typed (the last of the comma-separated names),
    less those the ticket has: the type-ahead's list of buttons that add one (the whole ticket
    page with it, without JavaScript)."""
    ticket = load_ticket(number, full=True)
    typed = request.args.get("names", "")[:tag_rules.NAMES_MAX]
    last = (tag_rules.split_names(typed) or [""])[-1]
    have = {t.key for t in ticket.tags}
    found = [name for name in tag_rules.suggestions(last, tag_rules.SUGGESTIONS + len(have))
             if tag_key(name) not in have][:tag_rules.SUGGESTIONS]
    return render_ticket(ticket, "tag_suggestions", tag_typed=typed, tag_found=found)
