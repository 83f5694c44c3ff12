"""Spreadsheets (XLSX) of what the desk also hands out as CSV: a queue's tickets (the same tickets
and columns as its CSV file) and a report's table.

A sheet is written row after row in XlsxWriter's constant-memory mode (each row leaves memory as
the next begins, strings are written in the row, not in a shared table) into a temporary file, so
a queue of any size the file may hold costs a flat amount of memory; a queue of more than
MAX_ROWS tickets is refused before its rows are read. Unlike the CSV file, a spreadsheet is handed
out only once it is whole (its parts are zipped at the end): an error while writing it is an
error page, never a part of the queue that looks like all of it.

Cells by kind: counts are numbers; percentages (0 to 100) numbers shown with a % format; durations
(seconds) numbers of hours with one decimal, the header saying so; times the desk's wall time as
dates; text through export.neutralise (a leading quote before a formula's first sign, as in the
CSV file) and written with write_string, so no cell is ever a formula, whatever it holds.
"""
from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Iterable, Sequence
from zoneinfo import ZoneInfo

import xlsxwriter

from .. import clock, settings
from ..models import Agent
from . import queues
from .export import HEADER, local_time, neutralise, records, ticket_ids

MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_ROWS = 1_000_000  # a sheet holds 1,048,576 rows; past a million a queue is no spreadsheet's work
KINDS = ("text", "count", "percent", "duration", "datetime")
WIDTH_MIN, WIDTH_MAX = 8, 60  # characters, for columns sized to what they hold
_SHEET_NAME = re.compile(r"[\[\]:*?/\\']")

# The queue's columns (export.HEADER) and their widths, in characters.
QUEUE_WIDTHS = (10, 48, 12, 10, 28, 18, 18, 18, 22, 30, 8, 17, 17, 17, 8, 17, 17, 24)
QUEUE_TIMES = frozenset(("Created", "Last update", "Due", "Resolved", "Closed"))


@dataclass(frozen=True)
class Column:
    label: str
    kind: str = "text"  # one of KINDS
    width: float | None = None  # characters; None: sized to the label and the values


def header(column: Column) -> str:
    """A column's header: a duration's says it is counted in hours."""
    if column.kind == "duration" and "hours" not in column.label.lower():
        return f"{column.label} (hours)"
    return column.label


def sheet_name(title: str) -> str:
    """A title as a sheet's name: at most 31 characters, none of the ones a name may not hold."""
    return " ".join(_SHEET_NAME.sub(" ", title).split())[:31].strip() or "Sheet1"


class Sheet:
    """One sheet in a new workbook: a bold, frozen header row, then `row()` after row in order;
    `close()` gives the finished file, at its start, to be read and closed by the caller."""

    def __init__(self, title: str, columns: Sequence[Column], zone: ZoneInfo | None = None):
        self.columns = tuple(columns)
        self.local = local_time(zone or ZoneInfo("UTC"))
        self.file: IO[bytes] = tempfile.TemporaryFile()
        # XlsxWriter's own temporary files (the rows, until the sheet is zipped) go in a folder
        # of this sheet's, removed when it is done with, also when writing it failed.
        self.folder = tempfile.TemporaryDirectory(prefix="helpdesk-xlsx-")
        self.book = xlsxwriter.Workbook(self.file, {
            "constant_memory": True, "tmpdir": self.folder.name,
            "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
        })
        self.formats = {
            "header": self.book.add_format({"bold": True, "text_wrap": True, "valign": "top"}),
            "percent": self.book.add_format({"num_format": "0.0%"}),
            "duration": self.book.add_format({"num_format": "0.0"}),
            "datetime": self.book.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
        }
        self.sheet = self.book.add_worksheet(sheet_name(title))
        for i, column in enumerate(self.columns):
            self.sheet.set_column(i, i, column.width or WIDTH_MIN)
            self.sheet.write_string(0, i, neutralise(header(column)), self.formats["header"])
        self.sheet.freeze_panes(1, 0)
        self.next_row = 1

    def row(self, values: Iterable) -> None:
        r = self.next_row
        for i, (column, value) in enumerate(zip(self.columns, values, strict=True)):
            if value is None or value == "":
                continue
            if column.kind == "count":
                self.sheet.write_number(r, i, value)
            elif column.kind == "percent":
                self.sheet.write_number(r, i, value / 100, self.formats["percent"])
            elif column.kind == "duration":
                self.sheet.write_number(r, i, round(value / 3600, 1), self.formats["duration"])
            elif column.kind == "datetime":
                self.sheet.write_datetime(r, i, self.local(value).replace(tzinfo=None), self.formats["datetime"])
            else:
                self.sheet.write_string(r, i, neutralise(value))
        self.next_row += 1

    def close(self) -> IO[bytes]:
        try:
            self.book.close()
        finally:
            self.folder.cleanup()
        self.file.seek(0)
        return self.file

    def discard(self) -> None:
        """Give up on the sheet: its files are removed."""
        self.folder.cleanup()
        self.file.close()


def _width(column: Column, values: Iterable) -> float:
    longest = max((len(str(v)) for v in values if v is not None), default=0)
    if column.kind in ("percent", "duration"):
        longest = min(longest, 8)
    return min(max(len(header(column)) * 0.8, longest + 2, WIDTH_MIN), WIDTH_MAX)


def table(title: str, columns: Sequence[Column], rows: Sequence[Sequence]) -> IO[bytes]:
    """A small table (a report's) as a spreadsheet, each column as wide as what it holds."""
    sized = [c if c.width else Column(c.label, c.kind, _width(c, [r[i] for r in rows]))
             for i, c in enumerate(columns)]
    sheet = Sheet(title, sized)
    try:
        for row in rows:
            sheet.row(row)
    except BaseException:
        sheet.discard()
        raise
    return sheet.close()


def queue(agent: Agent, name: str, params: queues.Params, now: datetime | None = None) -> IO[bytes]:
    """The queue as a spreadsheet: every ticket of it the agent sees, in its order, the columns of
    its CSV file; export.TooMany past MAX_ROWS tickets (before any is read)."""
    now = now or clock.utcnow()
    ids = ticket_ids(agent, name, params, now, most=MAX_ROWS)
    columns = [Column(label, "datetime" if label in QUEUE_TIMES else "text", width)
               for label, width in zip(HEADER, QUEUE_WIDTHS, strict=True)]
    sheet = Sheet(f"Tickets {name}", columns, ZoneInfo(settings.get("timezone") or "UTC"))
    try:
        for chunk in records(ids, now):
            for record in chunk:
                sheet.row((*record[:14], "yes" if record.overdue else "no", *record[15:]))
    except BaseException:
        sheet.discard()
        raise
    return sheet.close()
