"""Reading an XLSX file the desk made as a spreadsheet program would, with the standard library
only (zipfile and ElementTree): each cell's value and type (a string, a number or a formula), its
number format and whether it is bold; the frozen rows and the column widths."""
from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field

NS = {"x": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
BUILTIN_FORMATS = {0: "General", 9: "0%", 10: "0.00%", 14: "mm-dd-yy", 22: "m/d/yy h:mm"}


@dataclass
class Cell:
    value: object  # str for strings and formulas, float for numbers
    type: str  # "string", "number" or "formula"
    format: str = "General"
    bold: bool = False


@dataclass
class Sheet:
    name: str
    rows: list[list[Cell | None]]
    frozen_rows: int = 0
    widths: dict[int, float] = field(default_factory=dict)  # column index (0 based) -> characters

    def values(self) -> list[list]:
        return [[c.value if c is not None else None for c in row] for row in self.rows]

    def column(self, label: str) -> list[Cell | None]:
        """The cells under a header, row 2 onwards."""
        i = [c.value for c in self.rows[0]].index(label)
        return [row[i] if i < len(row) else None for row in self.rows[1:]]


def _column_index(ref: str) -> int:
    letters = re.match(r"[A-Z]+", ref).group(0)
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def _styles(book: zipfile.ZipFile) -> list[tuple[str, bool]]:
    """(number format, bold) of each cell style, by index."""
    root = ET.fromstring(book.read("xl/styles.xml"))
    formats = dict(BUILTIN_FORMATS)
    for f in root.findall("x:numFmts/x:numFmt", NS):
        formats[int(f.get("numFmtId"))] = f.get("formatCode")
    fonts = [f.find("x:b", NS) is not None for f in root.findall("x:fonts/x:font", NS)]
    return [(formats.get(int(xf.get("numFmtId", 0)), "?"), fonts[int(xf.get("fontId", 0))])
            for xf in root.findall("x:cellXfs/x:xf", NS)]


def read(data: bytes) -> Sheet:
    """The workbook's first sheet."""
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        styles = _styles(book)
        names = book.namelist()
        shared = []
        if "xl/sharedStrings.xml" in names:
            shared = ["".join(t.text or "" for t in si.iter(f"{{{NS['x']}}}t"))
                      for si in ET.fromstring(book.read("xl/sharedStrings.xml")).findall("x:si", NS)]
        workbook = ET.fromstring(book.read("xl/workbook.xml"))
        name = workbook.find("x:sheets/x:sheet", NS).get("name")
        root = ET.fromstring(book.read("xl/worksheets/sheet1.xml"))
    rows = []
    for row in root.findall("x:sheetData/x:row", NS):
        cells: list[Cell | None] = []
        for c in row.findall("x:c", NS):
            i = _column_index(c.get("r"))
            cells.extend([None] * (i + 1 - len(cells)))
            number_format, bold = styles[int(c.get("s", 0))]
            kind = c.get("t", "n")
            if c.find("x:f", NS) is not None:
                cell = Cell(c.find("x:f", NS).text, "formula", number_format, bold)
            elif kind == "inlineStr":
                cell = Cell("".join(t.text or "" for t in c.iter(f"{{{NS['x']}}}t")), "string", number_format, bold)
            elif kind == "s":
                cell = Cell(shared[int(c.find("x:v", NS).text)], "string", number_format, bold)
            elif kind == "str":  # a formula's cached string result
                cell = Cell(c.find("x:v", NS).text, "formula", number_format, bold)
            else:
                v = c.find("x:v", NS)
                cell = Cell(float(v.text), "number", number_format, bold) if v is not None else None
            cells[i] = cell
        rows.append(cells)
    pane = root.find("x:sheetViews/x:sheetView/x:pane", NS)
    frozen = int(float(pane.get("ySplit", 0))) if pane is not None and pane.get("state") == "frozen" else 0
    widths = {}
    for col in root.findall("x:cols/x:col", NS):
        for i in range(int(col.get("min")) - 1, int(col.get("max"))):
            widths[i] = float(col.get("width"))
    return Sheet(name, rows, frozen, widths)
