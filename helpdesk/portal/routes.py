"""The customer portal: open a ticket, check its status, follow and answer it through a signed link.

After a ticket is opened the browser is sent (Post/Redirect/Get) to /submitted, which shows the
ticket whose id this browser's session holds, and nothing else: the confirmation URL carries no
number and no token, so a shared, logged or bookmarked URL never opens anyone's ticket. The
ticket itself is reached through its signed access link (/t/<token>), mailed to the customer and
offered as a button on the confirmation page.
"""
from __future__ import annotations

import secrets
from email.utils import parseaddr

from flask import abort, current_app, flash, g, jsonify, redirect, request, session, url_for
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from .. import settings, tickets
from ..attachments import download, from_field, public_attachment
from ..extensions import db
from ..htmx import go, is_partial, render
from ..models import Customer, IdempotencyKey, ThreadEntry, Ticket
from ..security import access_for_token, access_token, captcha
from ..text import format_datetime, is_number
from .blueprint import bp
from .forms import ConfirmForm, NewTicketForm, ReplyForm, StatusForm, public_topic

SUBMITTED_KEY = "portal_submitted_ticket"
# The ticket's access nonce when it was opened: the confirmation offers its link only while the
# ticket still has it (an agent's "send a new link" revokes the links given out before).
SUBMITTED_NONCE_KEY = "portal_submitted_nonce"
STATUS_SENT = "If a ticket with that number belongs to that address, we've mailed a link to it."
SPAM_MESSAGE = "We could not accept this form. Please check it and send it again."

# What each status means to the person who asked for help.
CUSTOMER_STATUS = {
    "new": ("Received", "We have your request and will pick it up soon."),
    "open": ("In progress", "We are working on your request."),
    "pending": ("Waiting for your reply", "We asked you something: please answer below."),
    "escalated": ("With our specialists", "Our specialists are looking into it."),
    "resolved": ("Resolved", "We think this is solved. Please confirm, or reply if it is not."),
    "closed": ("Closed", "This request is closed."),
}


def _limits() -> dict:
    return {"max_mb": settings.get("max_attachment_mb"), "max_files": settings.get("max_attachments")}


def _private(response):
    """Pages opened by a secret link: kept out of shared caches and search engines."""
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.route("/")
def index():
    """The start page: open a new ticket or check an existing one."""
    return render("portal/index.html")


# --- opening a ticket -----------------------------------------------------------------------


def _new_ticket_page(form: NewTicketForm, status: int = 200, problem: str | None = None, shown_topic: bool = False):
    topic = public_topic(form.topic.data)
    if topic is not None and topic.customer_sets_priority and form.priority.data is None:
        form.priority.data = topic.effective_priority.id if topic.effective_priority else None
    files_dropped = (status >= 400 or shown_topic) and any(f.filename for f in request.files.getlist("attachments"))
    form.altcha.data = ""  # a solution is used up when sent: the widget solves a fresh challenge
    return render("portal/new_ticket.html", form=form, topic=topic, problem=problem, captcha=captcha.enabled(),
                  mail_address=_desk_address(), files_dropped=files_dropped, status=status,
                  shown_topic=shown_topic, **_limits())


def _desk_address() -> str:
    """The desk's own address (MAIL_DEFAULT_SENDER), offered to visitors who cannot use the form."""
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    return parseaddr(sender if isinstance(sender, str) else sender[1])[1]


def _already_sent(key: str | None) -> bool:
    return bool(key) and db.session.scalar(select(IdempotencyKey.id).where(IdempotencyKey.key == key)) is not None


@bp.route("/new", methods=["GET", "POST"])
def new_ticket():
    """The open-a-ticket form; a valid submission opens exactly one ticket per form."""
    form = NewTicketForm()
    if request.method == "GET":
        topic = public_topic(request.args.get("topic"))
        form.topic.data = topic.id if topic else None
        form.idempotency_key.data = secrets.token_urlsafe(24)
        return _new_ticket_page(form)

    if form.website.data:
        form.website.data = ""
        return _new_ticket_page(form, 400, SPAM_MESSAGE)
    valid = form.validate()
    if valid and captcha.enabled() and not _already_sent(form.idempotency_key.data):
        if not form.altcha.data:
            form.altcha.errors = [*form.altcha.errors, captcha.MISSING]
            valid = False
        elif not captcha.solved(form.altcha.data):
            form.altcha.errors = [*form.altcha.errors, captcha.WRONG]
            valid = False
    uploads = from_field(form.attachments)
    valid = valid and uploads is not None
    if not valid:
        if form.idempotency_key.errors:
            form.idempotency_key.data = secrets.token_urlsafe(24)
        return _new_ticket_page(form, 400)

    key = form.idempotency_key.data
    try:
        ticket = tickets.open_ticket(
            name=form.name.data, email=form.email.data, subject=form.subject.data,
            body=form.description.data, topic=form.chosen_topic, priority=form.chosen_priority,
            uploads=uploads, idempotency_key=key,
        )
    except IntegrityError:
        # The same form sent twice at the same moment: the other request opened the ticket.
        db.session.rollback()
        ticket_id = db.session.scalar(select(IdempotencyKey.ticket_id).where(IdempotencyKey.key == key))
        if ticket_id is None:
            raise
        ticket = db.session.get(Ticket, ticket_id)
    except tickets.LifecycleError as exc:
        return _new_ticket_page(form, exc.status, exc.message)
    # The commit expired the ticket: read back the two values needed, in one statement.
    ticket_id = inspect(ticket).identity[0]
    nonce, email = db.session.execute(
        select(Ticket.access_nonce, Customer.email).join(Ticket.customer).where(Ticket.id == ticket_id)
    ).one()
    if email != form.email.data.strip().lower():
        # A reused key from someone else's form: never hand out that ticket.
        form.idempotency_key.data = secrets.token_urlsafe(24)
        return _new_ticket_page(form, 400, "This form was already sent. Check it and send it again.")
    session[SUBMITTED_KEY] = ticket_id
    session[SUBMITTED_NONCE_KEY] = nonce
    return redirect(url_for("portal.submitted"))


@bp.route("/new/show-topic", methods=["POST"])
def new_ticket_topic():
    """Without JavaScript: the form again, with the chosen topic's instructions (and its priority
    choice) and everything typed so far; nothing is sent. With JavaScript they appear on their own."""
    form = NewTicketForm()
    if not form.idempotency_key.data:
        form.idempotency_key.data = secrets.token_urlsafe(24)
    return _new_ticket_page(form, shown_topic=True)


@bp.route("/captcha/challenge")
def captcha_challenge():
    """A new proof-of-work challenge for the form's ALTCHA widget (JSON); 404 when the check is off."""
    if not captcha.enabled():
        abort(404)
    response = jsonify(captcha.challenge())
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/new/topic-fields")
def topic_fields():
    """The chosen topic's instructions and, where the topic allows it, the priority choice."""
    form = NewTicketForm(formdata=None)
    topic = public_topic(request.args.get("topic"))
    form.topic.data = topic.id if topic else None
    if topic is not None and topic.customer_sets_priority:
        chosen = request.args.get("priority")
        form.priority.data = topic.effective_priority.id if topic.effective_priority else None
        if chosen and is_number(chosen) and int(chosen) in {pid for pid, _ in form.priority.choices}:
            form.priority.data = int(chosen)
    return render("portal/new_ticket.html", "topic_fields", form=form, topic=topic, **_limits())


@bp.route("/submitted")
def submitted():
    """Confirmation of the ticket this browser just opened (its id lives in the session only).
    The button to the ticket is shown while the links issued with it still work: once they were
    revoked, this browser (perhaps a shared one) gets no fresh link, only the number."""
    ticket_id = session.get(SUBMITTED_KEY)
    ticket = db.session.get(Ticket, ticket_id) if isinstance(ticket_id, int) else None
    if ticket is None:
        return redirect(url_for("portal.index"))
    issued = session.get(SUBMITTED_NONCE_KEY)
    current = isinstance(issued, str) and secrets.compare_digest(issued, ticket.access_nonce or "")
    link = url_for("portal.ticket", token=access_token(ticket)) if current else None
    return _private(render("portal/submitted.html", ticket=ticket, link=link))


# --- checking a ticket's status -------------------------------------------------------------


@bp.route("/status", methods=["GET", "POST"])
def check_status():
    """Number + email: the access link is mailed if they match; the answer is the same either way."""
    form = StatusForm()
    if request.method == "GET":
        return render("portal/status.html", "status_form", form=form)
    if not form.validate():
        return render("portal/status.html", "status_form", form=form, status=400)
    if not current_app.config["HELPDESK_STATUS_REQUIRES_MAIL"]:
        # Verification by mail is off (an admin's choice): number and email open the ticket.
        found = tickets.ticket_for_status(form.number.data, form.email.data)
        if found is None:
            form.number.errors.append("There is no ticket with that number for that address.")
            return render("portal/status.html", "status_form", form=form, status=404)
        target = url_for("portal.ticket", token=access_token(found))
        return go(target, reload=True)
    tickets.send_status_link(form.number.data, form.email.data)
    if is_partial():
        return render("portal/status.html", "status_form", form=StatusForm(formdata=None), sent=STATUS_SENT)
    flash(STATUS_SENT, "info")
    return redirect(url_for("portal.check_status"))


# --- the ticket, through its signed link ----------------------------------------------------


def _ticket_or_404(token: str) -> Ticket:
    """The ticket a customer's or collaborator's link opens (the collaborator goes in g)."""
    ticket, g.collaborator = access_for_token(token)
    if ticket is None:
        abort(_private(render("portal/link_invalid.html", status=404)))
    return ticket


def _ticket_page(ticket: Ticket, token: str, *, form=None, status=200, notice=None, problem=None):
    entries = db.session.scalars(
        select(ThreadEntry)
        .where(ThreadEntry.ticket_id == ticket.id, ThreadEntry.public())
        .options(joinedload(ThreadEntry.agent), joinedload(ThreadEntry.customer),
                 selectinload(ThreadEntry.attachments))
        .order_by(ThreadEntry.id)
    ).all()
    label, explanation = CUSTOMER_STATUS[ticket.status]
    trigger = "ticket-updated" if status < 400 and (notice or problem) else None
    response = render(
        "portal/ticket.html", "conversation",
        ticket=ticket, token=token, entries=entries, status_label=label, status_text=explanation,
        may_reply=tickets.customer_may_reopen(ticket), form=form or ReplyForm(formdata=None),
        confirm_form=ConfirmForm(formdata=None), notice=notice, problem=problem, status=status,
        trigger=trigger, collaborator=g.get("collaborator"), **_limits(),
    )
    return _private(response)


def _closed_notice(ticket: Ticket) -> str:
    return (f"This ticket was closed on {format_datetime(ticket.closed_at, '%d %b %Y')} and can no longer "
            "be reopened. Please open a new ticket.")


@bp.route("/t/<token>")
def ticket(token):
    """The customer's view of one ticket: status, the public thread, reply and confirm."""
    return _ticket_page(_ticket_or_404(token), token)


@bp.route("/t/<token>/reply", methods=["POST"])
def reply(token):
    """The customer answers; a resolved ticket, or a recently closed one, reopens."""
    ticket = _ticket_or_404(token)
    form = ReplyForm()
    if not tickets.customer_may_reopen(ticket):
        return _ticket_page(ticket, token, form=form, status=409,
                            problem="Your message was not sent. " + _closed_notice(ticket))
    valid = form.validate()
    uploads = from_field(form.attachments)
    valid = valid and uploads is not None
    if not valid:
        return _ticket_page(ticket, token, form=form, status=400)
    try:
        try:
            tickets.customer_reply(ticket, form.body.data, uploads=uploads, collaborator=g.collaborator)
        except tickets.Conflict:
            # An agent changed the ticket at the same moment; the reply still belongs on it.
            tickets.customer_reply(ticket, form.body.data, uploads=uploads, collaborator=g.collaborator)
    except tickets.LifecycleError as exc:
        return _ticket_page(ticket, token, form=form, status=exc.status, problem=exc.message)
    message = "Your message was sent. We will get back to you."
    if is_partial():
        return _ticket_page(ticket, token, notice=message)
    flash(message, "success")
    return redirect(url_for("portal.ticket", token=token))


@bp.route("/t/<token>/confirm", methods=["POST"])
def confirm(token):
    """The customer confirms that the resolution solved the problem: the ticket closes."""
    ticket = _ticket_or_404(token)
    form = ConfirmForm()
    if not form.validate():
        abort(400)
    if g.collaborator is not None:
        abort(403, "Only the person who opened the ticket can confirm it.")
    try:
        tickets.customer_confirm(ticket)
    except tickets.LifecycleError as exc:
        return _ticket_page(ticket, token, status=exc.status, problem=exc.message)
    message = "Thank you! The ticket is closed. Reply here if the problem comes back."
    if is_partial():
        return _ticket_page(ticket, token, notice=message)
    flash(message, "success")
    return redirect(url_for("portal.ticket", token=token))


@bp.route("/t/<token>/files/<int:attachment_id>")
def attachment(token, attachment_id):
    """Download a file of this ticket's public thread; never shown inline."""
    ticket = _ticket_or_404(token)
    attachment = public_attachment(ticket.id, attachment_id)
    if attachment is None:
        abort(404)
    return _private(download(attachment))
