"""The reports dashboard (/agent/reports): how the desk is doing over a period, for every agent in
their own scope (helpdesk.reports.scope), each figure a link to its tickets on the queue page;
a printable view; each table as a CSV or XLSX file."""
from __future__ import annotations

from flask import abort, request, url_for
from flask_login import current_user

from .. import clock, settings
from ..htmx import render
from ..reports import board, scope
from ..reports import period as periods
from ..reports.population import Drill
from ..tickets import workbook
from ..tickets.export import BOM, SafeWriter
from .blueprint import bp
from .responses import download


def _drill_link(drill: Drill) -> str:
    return url_for("agent.queue", name="all", **drill.args())


def _ticket_link(number: str) -> str:
    return url_for("agent.ticket", number=number)


def _read(args):
    """(period, filters, choices, problem): the problem is what a person is told when the query
    string asks for a report the desk cannot make."""
    viewer = current_user._get_current_object()
    offered = scope.choices(viewer)
    try:
        period = periods.parse(args, settings.zone(), clock.utcnow())
        filters = scope.Filters.parse(args, offered)
    except (periods.PeriodError, scope.FilterError) as exc:
        return None, None, offered, str(exc)
    return period, filters, offered, None


def _board(period, filters):
    return board.dashboard(current_user._get_current_object(), period, filters, clock.utcnow(),
                           _drill_link, _ticket_link)


@bp.get("/reports")
def reports():
    """The dashboard for the period and filters of the query string."""
    period, filters, offered, problem = _read(request.args)
    printable = request.args.get("print") == "1"
    context = dict(offered=offered, presets=periods.PRESETS, args=request.args, scope_label=scope.label(current_user),
                   printable=printable, today=periods.local_today(settings.zone(), clock.utcnow()))
    if problem:
        return render("agent/reports.html", "report", board=None, problem=problem, status=400, **context)
    shown = _board(period, filters)
    return render("agent/reports.html", "report", board=shown, charts=board.charts(shown), problem=None,
                  query={**period.args(), **filters.args()}, **context)


def _table(key):
    """(period, table) of an export: 400 for a report the desk cannot make, 404 for no such table."""
    period, filters, _, problem = _read(request.args)
    if problem:
        abort(400, problem)
    table = _board(period, filters).table(key)
    if table is None:
        abort(404, "There is no such report table.")
    return period, table


def _filename(key: str, period, ext: str) -> str:
    return f"report-{key}-{period.first.isoformat()}-{period.last.isoformat()}.{ext}"


@bp.get("/reports/<key>.csv")
def report_csv(key):
    """One table of the dashboard as a CSV file (cells made inert for spreadsheets)."""
    period, table = _table(key)
    out = SafeWriter()
    out.row([c.label for c in table.columns])
    for row in table.rows:
        out.row("" if v is None else v for v in row)
    return download(BOM + out.take(), "text/csv", _filename(key, period, "csv"))


@bp.get("/reports/<key>.xlsx")
def report_xlsx(key):
    """One table of the dashboard as an XLSX spreadsheet: numbers as numbers, times in hours."""
    period, table = _table(key)
    sheet = workbook.table(table.title, [workbook.Column(c.label, c.kind) for c in table.columns], table.rows)
    return download(sheet, workbook.MIMETYPE, _filename(key, period, "xlsx"))
