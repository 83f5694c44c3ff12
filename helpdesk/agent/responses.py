"""How the agent views answer: loading a ticket the agent may see, the names every agent page's
templates use, rendering the ticket page or some of its blocks, the one way every ticket
action answers (success, bad input, conflict) through the `ticket_action` decorator, and a file
to download (an export)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps

from flask import Response, abort, flash, send_file, url_for
from flask_login import current_user
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import joinedload

from .. import clock, live, tickets
from ..attachments import DOWNLOAD_CSP, UploadError
from ..extensions import db
from ..htmx import go, is_partial, render, retarget
from ..mail.notify import active_collaborators
from ..models import Event, HeldMail, Ticket
from ..tickets import macro_steps, macros, queues
from ..tickets.tags import may_create as may_create_tags
from . import notices, timeline
from .forms import blank_forms

NUMBER_MAX = 12

# The ticket by number; for its page also what the page shows of it, in the same statement (its
# thread and history are read as rows, see timeline.py). Built once: building the page's
# statement cost more than running it.
_BY_NUMBER = select(Ticket).where(Ticket.number == bindparam("number"))
_FOR_PAGE = _BY_NUMBER.options(
    joinedload(Ticket.customer), joinedload(Ticket.assignee), joinedload(Ticket.team),
    joinedload(Ticket.department), joinedload(Ticket.topic), joinedload(Ticket.sla),
).execution_options(populate_existing=True)
_HELD_MAILS = (select(HeldMail).where(HeldMail.ticket_id == bindparam("ticket_id"), HeldMail.state == "waiting")
               .order_by(HeldMail.id))


def find_ticket(number: str, *, full: bool = False) -> Ticket | None:
    """The ticket with this number if the signed-in agent may see it, else None."""
    if not number or len(number) > NUMBER_MAX:
        return None
    ticket = db.session.scalar(_FOR_PAGE if full else _BY_NUMBER, {"number": number.upper()})
    if ticket is None or not tickets.can_see(current_user, ticket):
        return None
    return ticket


def load_ticket(number: str, *, full: bool = False) -> Ticket:
    """Like find_ticket, but 404 whether it does not exist or is not the agent's to see."""
    ticket = find_ticket(number, full=full)
    if ticket is None:
        abort(404, "There is no such ticket, or it is not one of yours to see.")
    return ticket


# --- how things read on the page ------------------------------------------------------------

_PHRASES = {
    "created": "opened the ticket",
    "assigned": "assigned it to an agent",
    "team": "assigned it to a team",
    "claimed": "took the ticket",
    "priority": "changed the priority",
    "sla": "changed the SLA plan",
    "transferred": "transferred it to another department",
    "replied": "replied to the customer",
    "note": "added an internal note",
    "customer_replied": "wrote a message",
    "escalated": "escalated it to a team",
    "status": "changed the status",
    "access_link": "sent the customer a new access link",
    "overdue": "marked it overdue",
    "collaborator_added": "put someone on copy",
    "collaborator_removed": "took someone off copy",
    "collaborator_replied": "recorded a message from someone on copy",
    "cc_held": "did not put someone on copy of a mail",
    "mail_held": "held a mail in an agent's name",
    "mail_confirmed": "confirmed a mail sent in their name",
    "mail_discarded": "discarded a mail sent in their name",
    "topic": "changed the help topic",
    "noted": "added an internal note",
    "acknowledgement_held": "held back the acknowledgement to the customer",
    "rule_mailed": "mailed",
    "rule_webhook": "called a webhook",
    "rule_refused": "could not apply an action",
    "tagged": "added a tag",
    "untagged": "removed a tag",
}


def describe(event: Event) -> str:
    """What an event did, in words: 'changed the priority'."""
    return _PHRASES.get(event.action, event.action.replace("_", " "))


def due_class(ticket: Ticket, now: datetime | None = None) -> str:
    """due-overdue past the due time, due-soon within the hour, else nothing."""
    if ticket.due_at is None or not ticket.is_active:
        return ""
    now = now or clock.utcnow()
    if ticket.due_at < now:
        return "due-overdue"
    return "due-soon" if ticket.due_at - now < timedelta(hours=1) else ""


@dataclass(frozen=True)
class CustomerTickets:
    """The customer's other tickets the agent may see: how many, and the latest of them."""

    count: int
    latest: Ticket | None


def customer_tickets(ticket: Ticket) -> CustomerTickets:
    """The ticket customer's other tickets the signed-in agent may see."""
    where = [Ticket.customer_id == ticket.customer_id, Ticket.id != ticket.id]
    clause = tickets.visibility_clause(current_user)
    if clause is not None:
        where.append(clause)
    count = db.session.scalar(select(func.count()).select_from(Ticket).where(*where))
    latest = db.session.scalar(select(Ticket).where(*where).order_by(Ticket.created_at.desc(), Ticket.id.desc())
                               .limit(1)) if count else None
    return CustomerTickets(count, latest)


def panel_context() -> dict:
    """Template names every agent page may use; the counts only run if the sidebar renders."""
    return {
        "QUEUES": queues.QUEUES,
        "queue_counts": lambda: queues.counts(current_user),
        "current_queue": None,
        "describe": describe,
        "due_class": due_class,
        "live_headers": live_headers,
        "live_seconds": live.poll_seconds(),
        "presence_seconds": live.presence_seconds(),
        "viewer_version": lambda: live.viewer_version(current_user),
        "ticket_state": live.ticket_state,
        "customer_tickets": customer_tickets,
        "browser_notices": lambda after=None: notices.poll(current_user, after),
    }


def live_headers(region: str, url: str, version: int | str | None = None) -> str:
    """hx-headers for a live region polling `url`: If-None-Match with the ETag of what it shows."""
    version = live.viewer_version(current_user) if version is None else version
    return json.dumps(live.if_none_match(live.etag(region, live.url_key(url), version)))


# --- the ticket page and the answers of its actions ------------------------------------------


def render_ticket(ticket: Ticket, *blocks: str, status: int = 200, form=None, conflict=None, **extra):
    """The ticket page (or some of its blocks), with a fresh form for every action but `form`."""
    if not (blocks and is_partial()):
        # The whole page: its sidebar reads the agent's version anyway, and that statement also
        # brings the setup counter the forms' choice lists are kept by (one read, not two).
        live.viewer_version(current_user)
    events = timeline.history(ticket)
    context = actions_context(ticket, events)
    if form is not None:
        context["forms"][form.action] = form
    return render(
        "agent/ticket.html", *blocks, status=status, ticket=ticket, **context,
        entries=timeline.thread(ticket), events=events, conflict=conflict,
        held_mails=db.session.scalars(_HELD_MAILS, {"ticket_id": ticket.id}).all(),
        open_form=form.action if form is not None else None, **extra,
    )


def actions_context(ticket: Ticket, events) -> dict:
    """What the composer and the actions beside it draw: the actions the agent may take now, a
    fresh form for each, and the people on copy (the page, and its live update)."""
    return {"forms": blank_forms(ticket), "actions": tickets.available_actions(current_user, ticket),
            "collaborators": active_collaborators(ticket), "held_copies": tickets.held_copies(ticket, events),
            "macros": macros.usable(current_user, ticket), "macro_summary": macro_steps.summary,
            "may_create_tags": may_create_tags(current_user)}


def _refuse(ticket: Ticket, action: str) -> None:
    """An invalid form for an action the agent may not take now: answer 403/409 as the lifecycle
    would, rather than 400 for a form that is not even offered."""
    if action in tickets.TRANSITIONS and not tickets.allowed(current_user, ticket, action):
        tickets.check(current_user, ticket, action)


def _invalid(ticket: Ticket, form):
    """400 with the form's own block re-rendered, errors shown and the typed text kept."""
    block = f"{form.action}_form"
    # The page's message area shows the latest outcome only: an earlier success goes.
    response = render_ticket(load_ticket(ticket.number, full=True), block, "flash", status=400, form=form,
                             flash_oob=True)
    return retarget(response, f"#{block}")


def _conflict(ticket: Ticket, form, exc: tickets.Conflict):
    """409: what changed meanwhile, and the form again with the typed text and the current version."""
    db.session.rollback()
    ticket = load_ticket(ticket.number, full=True)
    form.keep_typed_text(ticket)
    return render_ticket(ticket, "ticket", "flash", status=409, form=form, conflict=exc, flash_oob=True)


def done(number: str, message: str, category: str = "success"):
    """PRG without JavaScript; with htmx, the changed ticket and the flash, and a ticket-updated event."""
    flash(message, category)
    ticket = find_ticket(number, full=True)
    if ticket is None:  # the action took it out of this agent's sight (e.g. a transfer)
        return go(url_for("agent.queue"))
    if not is_partial():
        return go(url_for("agent.ticket", number=ticket.number))
    return render_ticket(ticket, "ticket", "flash", trigger="ticket-updated", flash_oob=True)


def ticket_action(form_class, message: str):
    """Turn `view(ticket, form)`, which calls one lifecycle function, into a POST view that loads
    the ticket (404 if unseen), validates the form and answers success, 400, 403, 409 alike.
    A view that returns text says that instead of `message`."""

    def decorate(call):
        @wraps(call)
        def view(number):
            ticket = load_ticket(number)
            form = form_class().setup(ticket)
            if not form.validate_on_submit():
                _refuse(ticket, form.action)
                return _invalid(ticket, form)
            try:
                said = call(ticket, form)
            except tickets.Conflict as exc:
                return _conflict(ticket, form, exc)
            except tickets.NoChange as exc:  # already so: say it, as information
                db.session.rollback()
                return done(number, f"{exc.message} Nothing changed.", "info")
            except (tickets.InvalidInput, UploadError) as exc:
                db.session.rollback()
                form.form_errors.append(getattr(exc, "message", None) or str(exc))
                return _invalid(ticket, form)
            return done(number, said if isinstance(said, str) else message)

        return view

    return decorate


def download(body, mimetype: str, name: str) -> Response:
    """An export as a file to save (text, pieces of it, or an open file read to its end and
    closed): never kept by a cache, never rendered by the browser."""
    if hasattr(body, "read"):
        response = send_file(body, mimetype=mimetype, etag=False, conditional=False)
    else:
        response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename={name}"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    return response
