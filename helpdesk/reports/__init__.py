"""Reports: how the desk is doing over a period, counted in the database, in the viewer's scope.

- period.py: the period (presets and custom ranges, in the desk's time zone) and reading stored
  UTC times as local days and hours in SQL;
- scope.py: whose tickets a viewer's reports count, and the filters they may set;
- population.py: the tickets behind each kind of figure, one condition used for counting and for
  the drill-down to the queue;
- figures.py: the dashboard's figures and tables; table.py: a table's shape; board.py: the
  dashboard as its page shows it (kept while nothing it counts changes), with its charts;
- charts.py: the charts, as SVG and HTML drawn on the server.

The agent panel shows them (helpdesk/agent/reports.py).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import false

from ..models import Agent
from .period import PeriodError
from .population import Drill
from .scope import FilterError, choices, clause

# The queue filter bar reads these itself; a drill-down's links carry the rest.
QUEUE_FILTERS = ("department", "topic", "priority", "assignee")
# A queue page's conditions when a figure's tickets cannot be listed: none of them.
REFUSED = (false(),)


def drill_into(params, args, viewer: Agent, zone, now: datetime) -> bool:
    """Narrow a queue page's parameters to a report figure's tickets (the query string's `drill`
    and what goes with it). False, with the reason among the page's problems and no tickets
    shown, if the figure cannot be read."""
    try:
        drill = Drill.parse(args, zone, now, choices(viewer))
    except (PeriodError, FilterError) as exc:
        params.problems.append(f"{exc} The report's tickets cannot be listed.")
        params.extra = REFUSED
        return False
    params.extra = tuple(c for c in (clause(viewer), *drill.conditions(now)) if c is not None)
    params.extra_args = {k: v for k, v in drill.args().items() if k not in QUEUE_FILTERS}
    params.banner = drill.label
    return True
