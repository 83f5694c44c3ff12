"""The dashboard as its page shows it: built once per viewer, period, filters and state of the desk
(a worker keeps the newest few), with a chart drawn beside each table that has one.

The key holds the viewer's version of the desk (helpdesk.live.viewer_version: it moves in the
same transaction as any change of a ticket the viewer sees, or of the desk's setup) and the
minute (figures about "now" move with the clock): a page asked for again, or a table exported
from it, is not counted again while nothing it counts has changed, and never shows figures more
than a minute older than the desk.
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from ..live import viewer_key
from ..models import Agent
from . import charts as draw
from .figures import WEEKDAYS, Dashboard, build
from .period import Period
from .population import Drill
from .scope import Filters

_BOARDS: dict[tuple, Dashboard] = {}
_BOARDS_SIZE = 64


def dashboard(viewer: Agent, period: Period, filters: Filters, now: datetime,
              link: Callable[[Drill], str], ticket_link: Callable[[str], str]) -> Dashboard:
    key = (viewer_key(viewer, now), tuple(sorted(period.args().items())), tuple(sorted(filters.args().items())))
    found = _BOARDS.get(key)
    if found is None:
        found = build(viewer, period, filters, now, link, ticket_link)
        if len(_BOARDS) >= _BOARDS_SIZE:
            _BOARDS.clear()
        _BOARDS[key] = found
    return found


def forget() -> None:
    """Drop every kept dashboard (the database was emptied, or a benchmark wants them counted)."""
    _BOARDS.clear()


def charts(board: Dashboard) -> dict[str, object]:
    """The chart drawn beside each table that has one, by table key."""
    found = {}
    volume = board.tables["volume"]
    labels = [r[0] for r in volume.rows]
    found["volume"] = draw.columns(
        labels, [draw.Series("Created", [r[1] for r in volume.rows], "created"),
                 draw.Series("Resolved", [r[2] for r in volume.rows], "resolved")],
        title=volume.title, links=[[volume.link(i, 1) for i in range(len(labels))],
                                   [volume.link(i, 2) for i in range(len(labels))]])
    found["backlog"] = draw.line(labels, [draw.Series("Open at the end", [r[3] for r in volume.rows], "backlog")],
                                 title="Open backlog")
    for table in (board.tables["ages"], *board.open_by, board.tables["channels"]):
        found[table.key] = draw.bars([(r[0], r[1], table.link(i, 1)) for i, r in enumerate(table.rows)],
                                     title=table.title)
    plans = board.sla_by[0]
    found[plans.key] = draw.bars([(r[0], r[6], None) for r in plans.rows], title="Resolved within target, by SLA plan",
                                 kind="percent", tone="met")
    heat = board.tables["heatmap"]
    found["heatmap"] = draw.heatmap(heat.extra["matrix"], title=heat.title, day_names=list(WEEKDAYS),
                                    links=heat.extra["links"])
    return found
