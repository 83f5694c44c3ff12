"""The queue pages: a queue with its filters, search, sort and pagination; the navigation's
counts; a queue as a CSV or XLSX file; the switch for its rows and tickets per page (kept for the
agent); and bulk actions on a queue (managers; macros: every agent).

A bulk action (assign, set the priority or close several tickets at once) puts each ticket
through the lifecycle on its own (its own transaction, history and mail, and the version its row
showed); what is refused for some is reported ticket by ticket."""
from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import abort, flash, redirect, request, stream_with_context, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from .. import clock, live, reports, settings, tickets
from ..auth import preferences
from ..extensions import db
from ..htmx import is_partial, render, replace_url
from ..models import TAG_MAX, Agent, Priority, Team
from ..security import safe_next
from ..text import is_number
from ..tickets import export, macros, queues, workbook
from ..tickets import tags as tag_rules
from .blueprint import bp
from .responses import describe, download, find_ticket

BULK_MAX = 100
_PICK = re.compile(r"^([0-9A-Z]{1,12})@([0-9]{1,9})$")


@bp.get("/", defaults={"name": queues.DEFAULT_QUEUE})
@bp.get("/queue/<name>")
def queue(name):
    """A queue: filter bar and search, one sorted page of tickets, pagination."""
    if name not in queues.QUEUES:
        abort(404, "There is no such queue.")
    tag = live.etag("results", live.request_key(), results_version())
    not_modified = live.unchanged(tag)
    if not_modified:
        return not_modified
    response = queue_page(name, request.args, "results")
    return live.tagged(response, tag) if is_partial() else response


def queue_page(name: str, args, *blocks: str, **extra):
    """A queue page (or some of its blocks) for these query-string arguments."""
    options = queues.Options.load()
    params = parse_params(args, options)
    if params.extra is reports.REFUSED:
        extra.setdefault("status", 400)
    # The whole page shows the navigation's counts anyway, and they hold the queue's total;
    # a block alone uses them only if this worker already has them.
    whole = not (blocks and is_partial())
    known = queues.counts(current_user) if whole else queues.cached_counts(current_user)
    page = queues.page(current_user, name, params, known=known)
    return render("agent/queue.html", *blocks, queue=name, current_queue=name, params=params,
                  page=page, options=options, bulk=bulk_choices(options) or None,
                  results_version=results_version(), DENSITIES=preferences.DENSITIES,
                  PAGE_SIZES=queues.PAGE_SIZES, **extra)


def parse_params(args, options: queues.Options) -> queues.Params:
    """The queue page's parameters; a report figure's drill-down narrows them to its tickets."""
    params = queues.Params.parse(args, options)
    if args.get("drill") is not None:
        reports.drill_into(params, args, current_user, settings.zone(), clock.utcnow())
    return params


def results_version() -> str:
    """What the results show as a version: the desk as the agent sees it, in the agent's rows
    and page size (a change of either, say in another tab, renders them afresh)."""
    return f"{live.viewer_version(current_user)}.{current_user.density}.{queues.page_size(current_user)}"


@bp.post("/queue/<name>/display")
def display(name):
    """Switch the queue's rows (comfortable or compact) or tickets per page, kept for the agent;
    back to the same list with its filters and order (a new page size starts at its first page)."""
    if name not in queues.QUEUES:
        abort(404, "There is no such queue.")
    back = safe_next(request.form.get("next"), url_for("agent.queue", name=name))
    values, problems = preferences.chosen(request.form, required=())
    if not values and not problems:
        problems = {"density": preferences.REFUSED["density"]}
    if problems:
        for problem in problems.values():
            flash(problem, "error")
        return queue_page(name, _query(back), "results", "flash", status=400, flash_oob=True)
    preferences.save(current_user._get_current_object(), values)
    if "page_size" in values:
        parts = urlsplit(back)
        back = urlunsplit(parts._replace(query=urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "page"])))
    if not is_partial():
        return redirect(back)
    return replace_url(queue_page(name, _query(back), "results"), back)


def _query(url: str) -> MultiDict:
    return MultiDict(parse_qsl(urlsplit(url).query))


def _export_params(name: str) -> queues.Params:
    """An export's queue parameters, as the queue page reads them; a figure's tickets that cannot
    be listed are refused (400), not exported as none."""
    if name not in queues.QUEUES:
        abort(404, "There is no such queue.")
    params = parse_params(request.args, queues.Options.load())
    if params.extra is reports.REFUSED:
        abort(400, params.problems[-1])
    return params


@bp.get("/queue/<name>/export.csv")
def export_queue(name):
    """The queue as a CSV file: every ticket of it the agent sees, with the page's filters,
    search and order (all pages), streamed as it is read."""
    params = _export_params(name)
    agent = current_user._get_current_object()
    return download(stream_with_context(export.rows(agent, name, params)), "text/csv", export.filename(name))


@bp.get("/queue/<name>/export.xlsx")
def export_queue_xlsx(name):
    """The queue as an XLSX spreadsheet: the tickets and columns of its CSV file, times as dates
    in the desk's time zone; refused (400) past workbook.MAX_ROWS tickets."""
    params = _export_params(name)
    try:
        sheet = workbook.queue(current_user._get_current_object(), name, params)
    except export.TooMany as exc:
        abort(400, f"This list has more than {exc.most:,} tickets, more than a spreadsheet export holds. "
                   "Narrow it with the filters or a search, or export it as CSV.")
    return download(sheet, workbook.MIMETYPE, export.filename(name, ext="xlsx"))


@bp.get("/counts")
def counts():
    """The queue navigation with fresh counts; the sidebar polls it. It also carries the
    agent's browser notifications since event `after` (see notices.py)."""
    current = request.args.get("current")
    current = current if current in queues.QUEUES else None
    if not is_partial():
        return redirect(url_for("agent.queue", name=current or queues.DEFAULT_QUEUE))
    after = request.args.get("after")
    if after is not None and not (is_number(after) and len(after) <= 15):
        abort(400, "This page is out of date; reload it.")
    tag = live.etag("counts", live.request_key(), live.viewer_version(current_user))
    return live.unchanged(tag) or live.tagged(render(
        "agent/layout.html", "queue_counts", current_queue=current,
        notice_after=int(after) if after is not None else None), tag)


# --- bulk actions (managers; macros: every agent) -----------------------------------------------------------------


def bulk_choices(options: queues.Options) -> list[tuple[str, list[tuple[str, str]]]]:
    """What the bulk bar offers, grouped: [(group label, [(value, label), ...]), ...], from the
    queue's options (the active agents and teams, the priorities; managers) and the macros the
    agent may apply (everyone)."""
    found = []
    if current_user.is_manager:
        found += [
            ("Assign to an agent", [(f"agent:{a.id}", a.name) for a in options.agents]),
            ("Assign to a team", [(f"team:{t.id}", t.name) for t in options.teams]),
            ("Set the priority", [(f"priority:{p.id}", p.name) for p in options.priorities]),
            ("Status", [("close", "Close")]),
            ("Tags (name it beside)", [("tag_add", "Add tag"), ("tag_remove", "Remove tag")]),
        ]
    usable = macros.usable_anywhere(current_user)
    if usable:
        found.append(("Apply a macro", [(f"macro:{m.id}", f"Apply macro: {m.name}") for m in usable]))
    return found


def _macro_action(ident: str):
    """A macro the agent may apply, as a bulk action: each ticket its own apply_macro (a step
    refused on one is reported for it, with what was done before it)."""
    macro = macros.find_usable(current_user, int(ident)) if is_number(ident) and len(ident) <= 9 else None
    if macro is None:
        return None

    def call(ticket, version):
        outcome = macros.apply_macro(current_user, ticket, macro, expected_version=version)
        if not outcome.complete:
            raise tickets.LifecycleError(outcome.message)

    return f"The macro “{macro.name}” was applied to", call


def _bulk_action(value: str, tag: str = ""):
    """(what it did, call(ticket, version)) for an offered choice, else None. The tag actions
    take the tag's name (`tag`); a bad one is refused for every ticket alike."""
    kind, _, ident = value.partition(":")
    if kind == "macro":
        return _macro_action(ident)
    if not current_user.is_manager:
        return None
    if kind == "close" and not ident:
        return "Closed", lambda t, v: tickets.close(current_user, t, "", expected_version=v)
    if kind == "tag_add" and not ident:
        return f"Tagged “{tag.strip()}”", lambda t, v: tickets.add_tags(current_user, t, [tag], expected_version=v)
    if kind == "tag_remove" and not ident:
        return f"Tag “{tag.strip()}” removed", lambda t, v: tickets.remove_tag(
            current_user, t, tag, expected_version=v)
    if not is_number(ident) or kind not in ("agent", "team", "priority"):
        return None
    model = {"agent": Agent, "team": Team, "priority": Priority}[kind]
    record = db.session.get(model, int(ident))
    if record is None or (kind != "priority" and not record.active):
        return None
    if kind == "agent":
        return f"Assigned to {record.name}", lambda t, v: tickets.assign(
            current_user, t, agent=record, expected_version=v)
    if kind == "team":
        return f"Assigned to the team {record.name}", lambda t, v: tickets.assign(
            current_user, t, team=record, expected_version=v)
    return f"Priority set to {record.name}", lambda t, v: tickets.set_priority(
        current_user, t, record, expected_version=v)


def _apply_bulk(did: str, call, picks: list[str]) -> None:
    done, refused = [], []
    for value in dict.fromkeys(p.strip().upper() for p in picks):
        match = _PICK.match(value)
        ticket = find_ticket(match.group(1)) if match else None
        if ticket is None:
            refused.append(f"#{value.partition('@')[0][:12]}: there is no such ticket, or it is not one of yours to see.")
            continue
        try:
            call(ticket, int(match.group(2)))
        except tickets.Conflict as exc:
            db.session.rollback()
            what = "; ".join(f"{e.actor_name} {describe(e)}" for e in exc.changes) or "another change"
            refused.append(f"#{ticket.number}: changed since the queue showed it ({what}); left as it is.")
        except tickets.LifecycleError as exc:
            db.session.rollback()
            refused.append(f"#{ticket.number}: {exc.message}")
        else:
            done.append(f"#{ticket.number}")
    if done:
        flash(f"{did}: {', '.join(done)}.", "success")
    for line in refused:
        flash(line, "error")


def _tag_problem(name: str, adding: bool) -> str | None:
    """What is wrong with the bulk bar's tag, said once rather than for every ticket."""
    if not name.strip():
        return "Name the tag to add or remove."
    try:
        tag_rules.clean_name(name)
        if adding and not tag_rules.may_create(current_user):
            tag_rules.find_or_create_tags([name], may_create=False)
    except tickets.InvalidInput as exc:
        return exc.message
    return None


@bp.post("/queue/<name>/bulk")
def bulk(name):
    """Apply one action to the selected tickets of a queue, ticket by ticket (a macro: any agent;
    the other actions: managers)."""
    if name not in queues.QUEUES:
        abort(404, "There is no such queue.")
    do = request.form.get("do", "")
    if not current_user.is_manager and do and not do.startswith("macro:"):
        abort(403, "Only a manager or above may change several tickets at once (other than by a macro).")
    back = safe_next(request.form.get("next"), url_for("agent.queue", name=name))
    picks = request.form.getlist("ticket")
    tag = request.form.get("tag", "")[:TAG_MAX + 10]
    action = _bulk_action(do, tag)
    status = 200
    if action is None:
        flash("Choose what to do with the selected tickets.", "error")
        status = 400
    elif request.form.get("do", "").startswith("tag_") and (problem := _tag_problem(tag, request.form["do"] == "tag_add")):
        flash(problem, "error")
        status = 400
    elif not picks:
        flash("Select one or more tickets first.", "error")
        status = 400
    elif len(picks) > BULK_MAX:
        flash(f"Select at most {BULK_MAX} tickets at once.", "error")
        status = 400
    else:
        _apply_bulk(*action, picks)
    if status == 200 and not is_partial():
        return redirect(back)
    return queue_page(name, _query(back), "results", "flash", status=status, flash_oob=True,
                      trigger="ticket-updated" if status == 200 else None)
