"""The ticket page's live parts: header, thread, history and the actions offered, refreshed when
the ticket changes (the page keeps any form the agent is writing in), and who else has it open."""
from flask import abort, make_response, redirect, request, url_for
from flask_login import current_user

from .. import live, tickets
from ..htmx import is_partial, render
from ..text import is_number
from . import timeline
from .blueprint import bp
from .responses import actions_context, find_ticket, load_ticket

# htmx stops polling on this status.
STOP_POLLING = 286


@bp.get("/tickets/<number>/live")
def ticket_live(number):
    """304 while the ticket (and the setup it shows: names of its topic, agents...) is as shown;
    else its header, thread and history, out of band, and a notice of what changed since the
    page was loaded (`since`, the version its forms carry)."""
    if not is_partial():  # the poller is the page's script; a person opening the URL gets the page
        return redirect(url_for("agent.ticket", number=load_ticket(number).number))
    since = request.args.get("since", "")
    if not is_number(since) or len(number) > 12:
        abort(400, "This page is out of date; reload it.")
    # Visibility first, in the same statement: an unseen ticket gets no 304, whatever tag is sent.
    state = live.ticket_state_by_number(number, tickets.visibility_clause(current_user))
    if state is None:
        return _gone(number)
    tag = live.etag("ticket", live.request_key(), state)
    not_modified = live.unchanged(tag)
    if not_modified:
        return not_modified
    ticket = find_ticket(number, full=True)
    if ticket is None:  # moved out of this agent's sight meanwhile
        return _gone(number)
    since = int(since)
    events = timeline.history(ticket)
    changes = [e for e in events if e.version > since]
    blocks = ["live_poller", "ticket_head", "thread", "history", "changed_notice", "composer", "ticket_actions"]
    if request.args.get("shown") != str(ticket.version):  # not just the clock: say so to screen readers
        blocks.append("live_announce")
    response = render("agent/ticket.html", *blocks, ticket=ticket, since=since, changes=changes, oob=True,
                      entries=timeline.thread(ticket), events=events, **actions_context(ticket, events))
    return live.tagged(response, tag)


def _gone(number: str):
    """Not (or no longer) the agent's to see: the same answer whether it exists or not."""
    return render("agent/ticket.html", "gone_notice", status=STOP_POLLING, number=number.upper())


@bp.post("/tickets/<number>/presence")
def presence(number):
    """Heartbeat of an open ticket page: renew this agent's presence, answer with the others
    (204 when the page already shows them). `leave` removes it at once."""
    ticket = load_ticket(number)
    if request.form.get("leave"):  # sent by the page as it closes (navigator.sendBeacon)
        live.leave(ticket, current_user)
        return make_response("", 204)
    if not is_partial():  # the heartbeat is the page's script; without it there is nothing to show
        return redirect(url_for("agent.ticket", number=ticket.number))
    people = live.heartbeat(ticket, current_user, request.form.get("state", "viewing"))
    digest = live.presence_hash(people)
    if request.form.get("shown") == digest:
        return make_response("", 204)
    return render("agent/ticket.html", "presence_list", ticket=ticket, people=people, presence_digest=digest)
