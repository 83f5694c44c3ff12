"""Agent panel pages: the queues, their counts, the ticket page and attachment downloads."""
from flask import abort, redirect, request, send_file, url_for
from flask_login import current_user, login_required

from .. import queues, tickets
from ..attachments import path_for
from ..extensions import db
from ..htmx import is_partial, render
from ..models import Attachment, Ticket
from . import bp
from .helpers import load_ticket, panel_context, render_ticket

DOWNLOAD_CSP = "default-src 'none'; sandbox"


@bp.before_request
@login_required
def require_login():
    """Every agent page needs a signed-in agent; others go to the sign-in page."""


bp.context_processor(panel_context)


@bp.get("/", defaults={"name": queues.DEFAULT_QUEUE})
@bp.get("/queue/<name>")
def queue(name):
    """A queue: filter bar and search, one sorted page of tickets, pagination."""
    if name not in queues.QUEUES:
        abort(404, "There is no such queue.")
    options = queues.Options.load()
    params = queues.Params.parse(request.args, options)
    page = queues.page(current_user, name, params)
    return render("agent/queue.html", "results", queue=name, current_queue=name, params=params,
                  page=page, options=options)


@bp.get("/counts")
def counts():
    """The queue navigation with fresh counts; the sidebar polls it."""
    current = request.args.get("current")
    current = current if current in queues.QUEUES else None
    if not is_partial():
        return redirect(url_for("agent.queue", name=current or queues.DEFAULT_QUEUE))
    return render("agent/layout.html", "queue_counts", current_queue=current)


@bp.get("/tickets/<number>")
def ticket(number):
    """The ticket page: header, thread, history and the actions this agent may take."""
    return render_ticket(load_ticket(number, full=True), "ticket")


@bp.get("/files/<int:attachment_id>")
def attachment(attachment_id):
    """Download an attachment of a ticket the agent may see; never shown inline."""
    item = db.session.get(Attachment, attachment_id)
    ticket = db.session.get(Ticket, item.ticket_id) if item else None
    if ticket is None or not tickets.can_see(current_user, ticket) or not path_for(item.storage_key).is_file():
        abort(404, "There is no such file, or it is not one of yours to see.")
    response = send_file(path_for(item.storage_key), mimetype=item.content_type, as_attachment=True,
                         download_name=item.filename, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    response.headers["Cache-Control"] = "private, no-store"
    return response


from . import actions  # noqa: E402,F401  (the POST routes of the ticket actions)
from . import intake  # noqa: E402,F401  (tickets opened by an agent for a customer)
