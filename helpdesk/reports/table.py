"""A report's table: what the dashboard shows as a chart, as an accessible table beside it, and
exports as CSV or XLSX. Every figure may link to the queue of exactly the tickets behind it."""
from __future__ import annotations

from dataclasses import dataclass, field

# How a column's values read: "text" (str), "count" (int), "percent" (float 0..100, None: no
# tickets to compare), "duration" (seconds as int or float, None: nothing measured).
KINDS = ("text", "count", "percent", "duration")


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "count"


@dataclass(frozen=True)
class Table:
    """`rows` hold one value per column; `links` (same shape, or empty) the drill-down URL of a
    value (None: no link, e.g. a label or a percentage)."""

    key: str  # stable, used in URLs and file names: "volume", "backlog_age", "sla_by_plan", ...
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple, ...]
    links: tuple[tuple, ...] = ()
    note: str = ""  # one line said under the title, e.g. what the times count
    extra: dict = field(default_factory=dict, compare=False)

    def link(self, row: int, col: int) -> str | None:
        if not self.links:
            return None
        return self.links[row][col]

    @property
    def empty(self) -> bool:
        return not self.rows
