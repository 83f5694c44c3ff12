"""Agent panel pages: the queues, their counts and CSV exports, the ticket page and attachment
downloads."""
from flask import Response, abort, redirect, request, stream_with_context, url_for
from flask_login import current_user

from .. import export, live, queues, tickets
from ..attachments import DOWNLOAD_CSP, download, path_for
from ..extensions import db
from ..htmx import is_partial, render
from ..models import Attachment, Ticket
from . import bp
from .responses import load_ticket, panel_context, render_ticket


# Every agent page needs a fully signed-in agent: the app-wide rule in helpdesk/auth.py
# (staff_session_rules) sees to it for every endpoint of this blueprint.
bp.context_processor(panel_context)


@bp.get("/", defaults={"name": queues.DEFAULT_QUEUE})
@bp.get("/queue/<name>")
def queue(name):
    """A queue: filter bar and search, one sorted page of tickets, pagination."""
    if name not in queues.QUEUES:
        abort(404, "There is no such queue.")
    tag = live.etag("results", live.request_key(), live.viewer_version(current_user))
    not_modified = live.unchanged(tag)
    if not_modified:
        return not_modified
    response = queue_page(name, request.args, "results")
    return live.tagged(response, tag) if is_partial() else response


def queue_page(name: str, args, *blocks: str, **extra):
    """A queue page (or some of its blocks) for these query-string arguments."""
    options = queues.Options.load()
    params = queues.Params.parse(args, options)
    # The whole page shows the navigation's counts anyway, and they hold the queue's total;
    # a block alone uses them only if this worker already has them.
    whole = not (blocks and is_partial())
    known = queues.counts(current_user) if whole else queues.cached_counts(current_user)
    page = queues.page(current_user, name, params, known=known)
    return render("agent/queue.html", *blocks, queue=name, current_queue=name, params=params,
                  page=page, options=options, bulk=bulk.choices(options) if current_user.is_manager else None,
                  **extra)


@bp.get("/queue/<name>/export.csv")
def export_queue(name):
    """The queue as a CSV file: every ticket of it the agent sees, with the page's filters,
    search and order (all pages), streamed as it is read."""
    if name not in queues.QUEUES:
        abort(404, "There is no such queue.")
    params = queues.Params.parse(request.args, queues.Options.load())
    agent = current_user._get_current_object()
    response = Response(stream_with_context(export.rows(agent, name, params)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f"attachment; filename={export.filename(name)}"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    return response


@bp.get("/counts")
def counts():
    """The queue navigation with fresh counts; the sidebar polls it."""
    current = request.args.get("current")
    current = current if current in queues.QUEUES else None
    if not is_partial():
        return redirect(url_for("agent.queue", name=current or queues.DEFAULT_QUEUE))
    tag = live.etag("counts", live.request_key(), live.viewer_version(current_user))
    return live.unchanged(tag) or live.tagged(render("agent/layout.html", "queue_counts", current_queue=current), tag)


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
    return download(item)


from . import actions  # noqa: E402,F401  (the POST routes of the ticket actions)
from . import bulk, live_views  # noqa: E402,F401  (bulk actions on a queue; live updates and presence)
from . import intake  # noqa: E402,F401  (tickets opened by an agent for a customer)
