"""The dashboard's charts, drawn on the server: columns per day, a line over time (SVG), bars for
a breakdown (HTML, so long labels wrap) and a weekday-by-hour heatmap. Pure functions of the
figures they are given. Colours are CSS classes whose variables follow the theme, and nothing
carries a style attribute: the desk's CSP refuses them, so sizes are SVG geometry.

Links inside an SVG chart are for the pointer only (tabindex -1, and a role="img" hides them
from screen readers): the report's table beside the chart holds the same links for everyone."""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from itertools import count
from urllib.parse import urlsplit

from markupsafe import Markup, escape

from ..text import duration

TONES = ("created", "resolved", "backlog", "met", "breached", "neutral")
HEAT_STEPS = 5  # shades 1..5 for counts above zero; shade 0 is an empty hour

# The SVG's own units: the drawing scales to its box, and its text with it.
WIDTH, HEIGHT = 420, 220
FONT = 11  # a phone's stylesheet draws it at 14, which is what spacing reckons with
CHAR = 0.62 * 14  # the width of an average glyph
TOP, BOTTOM, RIGHT = 10, 22, 8
MAX_BAR = 36  # one category among few does not become a slab
LABEL_CHARS = 12  # longer axis labels are cut, the bar's tooltip says them in full
CELL, GAP = 16, 2  # the heatmap's squares


@dataclass(frozen=True)
class Series:
    """One named row of values (None: nothing known) drawn in one tone."""

    name: str
    values: list[int | float | None]
    tone: str = "neutral"

    def __post_init__(self):
        if self.tone not in TONES:
            raise ValueError(f"unknown tone {self.tone!r}")


def format_value(value, kind: str = "count") -> str:
    """A report's value as the dashboard shows it: 1,204 / 87.5% / 3 h 20 min / — for None."""
    if value is None:
        return "—"
    if kind == "percent":
        return f"{value:.1f}%"
    if kind == "duration":
        return duration(value)
    if kind == "count" and isinstance(value, (int, float)):
        return f"{value:,.1f}" if isinstance(value, float) and not value.is_integer() else f"{int(value):,}"
    return str(value)


# --- pieces every chart shares -----------------------------------------------------------------


def _n(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _uid(kind: str, title: str, data) -> str:
    """The same chart gets the same ids on every render; two different charts never share them."""
    return f"chart-{kind}-" + hashlib.sha1(repr((title, data)).encode()).hexdigest()[:10]


def _href(url: str | None) -> str | None:
    """A link's address, escaped; anything but a web address or a path (javascript:…) is no link."""
    if not url or urlsplit(url).scheme not in ("", "http", "https"):
        return None
    return escape(url)


def _at(grid, row: int, col: int):
    try:
        return grid[row][col] if grid else None
    except IndexError:
        return None


def _link(href: str | None, inner: str) -> str:
    return f'<a href="{href}" tabindex="-1">{inner}</a>' if href else inner


def _cut(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[:LABEL_CHARS - 1] + "…"


def _text(x: float, y: float, label: str, cls: str, anchor: str = "middle") -> str:
    return f'<text class="{cls}" x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}">{escape(label)}</text>'


def _svg(uid: str, title: str, desc: str, width: float, height: float, body: str) -> str:
    # An image may hold no links (assistive technology reads it as one thing): a chart whose bars
    # or cells link to their tickets is a group instead, its title and summary still its name.
    role = "group" if "<a " in body else "img"
    return (f'<svg class="chart-svg" viewBox="0 0 {_n(width)} {_n(height)}" role="{role}" focusable="false" '
            f'aria-labelledby="{uid}-title" aria-describedby="{uid}-desc">'
            f'<title id="{uid}-title">{escape(title)}</title><desc id="{uid}-desc">{escape(desc)}</desc>'
            f'{body}</svg>')


def _figure(kind: str, uid: str, title: str, body: str) -> Markup:
    return Markup(f'<figure class="chart chart-{kind}" id="{uid}">'
                  f'<figcaption id="{uid}-caption">{escape(title)}</figcaption>{body}</figure>')


def _legend(series: list[Series]) -> str:
    items = "".join(f'<li><span class="chart-key chart-tone-{s.tone}"></span>{escape(s.name)}</li>' for s in series)
    return f'<ul class="chart-legend" aria-hidden="true">{items}</ul>'


# --- axes --------------------------------------------------------------------------------------

_DURATION_STEPS = (60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800)


def _steps(kind: str):
    """Round steps, smallest first: 1 2 5 10 20 25 50 …, or for durations minutes, hours, days."""
    if kind == "duration":
        yield from _DURATION_STEPS
        yield from (86400 * m * 10 ** e for e in count(1) for m in (1, 2, 5))
    for e in count():
        yield from (int(m * 10 ** e) for m in (1, 2, 2.5, 5) if (m * 10 ** e) % 1 == 0)


def _ticks(top: float, kind: str) -> list[float]:
    """0 and two to four round steps up to at least the highest value (percentages: 0 to 100)."""
    if kind == "percent":
        return [0, 25, 50, 75, 100]
    top = max(top, 1)
    step = next(s for s in _steps(kind) if top / s <= 4)
    return [i * step for i in range(max(2, math.ceil(top / step)) + 1)]


def _tick_label(value: float, kind: str) -> str:
    if value == 0:
        return "0"
    if kind != "count":
        return format_value(value, kind).replace(".0%", "%")
    for size, div, unit in ((1_000_000, 1_000_000, "M"), (10_000, 1000, "k")):
        if value >= size:
            return f"{value / div:g}{unit}"
    return f"{value:,g}"


@dataclass
class _Plot:
    """Where things go: categories left to right, values bottom to top."""

    labels: list[str]
    kind: str
    top: float

    def __post_init__(self):
        self.ticks = _ticks(self.top, self.kind)
        self.left = max(len(_tick_label(t, self.kind)) for t in self.ticks) * CHAR + 8
        self.width = WIDTH - self.left - RIGHT
        self.slot = self.width / max(len(self.labels), 1)

    def x(self, i: int) -> float:
        """The middle of category i."""
        return self.left + (i + 0.5) * self.slot

    def y(self, value: float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - value / self.ticks[-1])

    def axes(self) -> str:
        parts = []
        for t in self.ticks:
            y = self.y(t)
            cls = "chart-axis" if t == 0 else "chart-grid"
            parts.append(f'<line class="{cls}" x1="{_n(self.left)}" x2="{_n(WIDTH - RIGHT)}" y1="{_n(y)}" y2="{_n(y)}"/>')
            parts.append(_text(self.left - 4, y + FONT * 0.35, _tick_label(t, self.kind), "chart-ylabel", "end"))
        return "".join(parts) + self.x_labels()

    def x_labels(self) -> str:
        """As many category labels as fit without touching, evenly spaced (every day, every 2nd, …)."""
        if not self.labels:
            return ""
        widest = max(len(_cut(label)) for label in self.labels) * CHAR + 6
        every = max(1, math.ceil(widest / self.slot))
        parts, right = [], -math.inf
        for i in range(0, len(self.labels), every):
            label = _cut(self.labels[i])
            half = len(label) * CHAR / 2
            x = min(max(self.x(i), half), WIDTH - half)
            if x - half < right + 4:
                continue
            right = x + half
            parts.append(_text(x, HEIGHT - BOTTOM + FONT + 5, label, "chart-xlabel"))
        return "".join(parts)


def _describe(labels: list[str], series: list[Series], kind: str, totals: bool) -> str:
    """What the chart shows, in words, for whoever cannot see it (totals: of what adds up, e.g.
    tickets created per day, not the backlog of each day)."""
    if not labels:
        return "Nothing to show."
    words = [f"{labels[0]} to {labels[-1]}, {len(labels)} values each." if len(labels) > 1 else f"{labels[0]}."]
    for s in series:
        known = [(v, label) for v, label in zip(s.values, labels) if v is not None]
        if not known:
            words.append(f"{s.name}: none.")
            continue
        high, at = max(known, key=lambda pair: pair[0])
        total = f" total {format_value(sum(v for v, _ in known), kind)}," if totals and kind == "count" else ""
        words.append(f"{s.name}:{total} highest {format_value(high, kind)} ({at}), last {format_value(known[-1][0], kind)}.")
    return " ".join(words)


def _value(s: Series, i: int):
    return s.values[i] if i < len(s.values) else None


# --- the charts --------------------------------------------------------------------------------


def columns(labels: list[str], series: list[Series], *, title: str, links: list[list[str | None]] | None = None,
            stacked: bool = False, kind: str = "count") -> Markup:
    """Vertical bars per category, the series side by side (or stacked); links[s][i] makes the bar
    of series s in category i a link to the tickets behind it."""
    if stacked:
        top = max((sum(_value(s, i) or 0 for s in series) for i in range(len(labels))), default=0)
    else:
        top = max((v for s in series for v in s.values if v is not None), default=0)
    plot = _Plot(list(labels), kind, top)
    group = min(plot.slot * (0.8 if plot.slot > 4 else 0.9), MAX_BAR * (1 if stacked else max(len(series), 1)))
    bar = group if stacked else group / max(len(series), 1)
    parts = [plot.axes()]
    for i, label in enumerate(labels):
        base = plot.y(0)
        for k, s in enumerate(series):
            value = _value(s, i)
            if not value or value < 0:
                continue
            x = plot.x(i) - group / 2 + (0 if stacked else k * bar)
            y = plot.y(value) - (plot.y(0) - base)
            tip = f"<title>{escape(label)}, {escape(s.name)}: {escape(format_value(value, kind))}</title>"
            rect = (f'<rect class="chart-bar chart-tone-{s.tone}" x="{_n(x)}" y="{_n(y)}" width="{_n(bar)}" '
                    f'height="{_n(base - y)}">{tip}</rect>')
            href = _href(_at(links, k, i))
            if href and not stacked:  # a short bar is hard to hit: the whole column above it is the link
                rect = f'<rect class="chart-hit" x="{_n(x)}" y="{TOP}" width="{_n(bar)}" height="{_n(y - TOP)}"/>' + rect
            parts.append(_link(href, rect))
            if stacked:
                base = y
    svg = _svg(uid := _uid("columns", title, (labels, series, links, stacked)), title,
               _describe(labels, series, kind, True), WIDTH, HEIGHT, "".join(parts))
    return _figure("columns", uid, title, svg + _legend(series))


def line(labels: list[str], series: list[Series], *, title: str, kind: str = "count") -> Markup:
    """One line per series over the categories (e.g. the open backlog per day); None leaves a gap."""
    top = max((v for s in series for v in s.values if v is not None), default=0)
    plot = _Plot(list(labels), kind, top)
    parts = [plot.axes()]
    for s in series:
        points = [(i, _value(s, i)) for i in range(len(labels))]
        path, pen_up = [], True
        for i, value in points:
            if value is None:
                pen_up = True
                continue
            path.append(f"{'M' if pen_up else 'L'}{_n(plot.x(i))} {_n(plot.y(value))}")
            pen_up = False
        if path:
            parts.append(f'<path class="chart-path chart-tone-{s.tone}" d="{" ".join(path)}"/>')
        for i, value in points:
            alone = all(_value(s, j) is None for j in (i - 1, i + 1) if 0 <= j < len(labels))
            if value is not None and (len(labels) <= 40 or alone):
                tip = f"<title>{escape(labels[i])}, {escape(s.name)}: {escape(format_value(value, kind))}</title>"
                parts.append(f'<circle class="chart-dot chart-tone-{s.tone}" cx="{_n(plot.x(i))}" '
                             f'cy="{_n(plot.y(value))}" r="2.5">{tip}</circle>')
    uid = _uid("line", title, (labels, series))
    svg = _svg(uid, title, _describe(labels, series, kind, False), WIDTH, HEIGHT, "".join(parts))
    return _figure("line", uid, title, svg + _legend(series))


def bars(rows: list[tuple[str, int | float | None, str | None]], *, title: str, kind: str = "count",
         tone: str = "neutral") -> Markup:
    """Horizontal bars for a breakdown, each (label, value, href); the value is written beside its
    bar. HTML, so a long label wraps on a phone; each bar is an SVG as wide as its share."""
    if tone not in TONES:
        raise ValueError(f"unknown tone {tone!r}")
    scale = 100 if kind == "percent" else max((v for _, v, _ in rows if v is not None), default=0) or 1
    items = []
    for label, value, href in rows:
        share = 0 if value is None else max(0.0, min(value / scale, 1.0)) * 100
        href = _href(href)
        name = f'<a href="{href}">{escape(label)}</a>' if href else escape(label)
        items.append(f'<li><span class="chart-hbar-label">{name}</span>'
                     f'<svg class="chart-hbar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true" '
                     f'focusable="false"><rect class="chart-bar chart-tone-{tone}" width="{_n(share)}" height="10"/>'
                     f'</svg><span class="chart-hbar-value">{escape(format_value(value, kind))}</span></li>')
    body = f'<ul class="chart-hbars">{"".join(items)}</ul>' if items else '<p class="chart-empty">Nothing to show.</p>'
    return _figure("bars", _uid("bars", title, (rows, kind)), title, body)


def _shade(value: int, top: int) -> int:
    """0 for an empty hour, else 1..HEAT_STEPS in proportion to the busiest hour."""
    return 0 if not value or top <= 0 else max(1, min(HEAT_STEPS, math.ceil(value / top * HEAT_STEPS)))


def heatmap(matrix: list[list[int]], *, title: str, day_names: list[str],
            links: list[list[str | None]] | None = None) -> Markup:
    """Weekdays down, hours across, each square as dark as its count; a square with tickets links
    to them when links (same shape) are given. It fits the width it is given: on a phone the squares
    shrink (its box scrolls sideways only when a reader zooms the text)."""
    top = max((v or 0 for row in matrix for v in row), default=0)
    left, head, step = max((len(d) for d in day_names), default=0) * CHAR + 12, FONT + 6, CELL + GAP
    width, height = left + 24 * step, head + len(matrix) * step
    parts = [_text(left + h * step + CELL / 2, FONT, f"{h:02d}", "chart-xlabel") for h in range(0, 24, 3)]
    busiest = (0, "", 0)
    for r, row in enumerate(matrix):
        day = day_names[r] if r < len(day_names) else ""
        y = head + r * step
        parts.append(_text(left - 6, y + CELL / 2 + FONT * 0.35, day, "chart-ylabel", "end"))
        for h, value in enumerate(row[:24]):
            value = value or 0
            busiest = max(busiest, (value, day, h), key=lambda b: b[0])
            tip = f"<title>{escape(day)} {h:02d}:00–{(h + 1) % 24:02d}:00: {format_value(value)}</title>"
            cell = (f'<rect class="chart-cell chart-heat-{_shade(value, top)}" x="{_n(left + h * step)}" y="{_n(y)}" '
                    f'width="{CELL}" height="{CELL}" rx="2">{tip}</rect>')
            parts.append(_link(_href(_at(links, r, h)) if value else None, cell))
    total = sum(v or 0 for row in matrix for v in row)
    desc = (f"{format_value(total)} in all; the busiest hour: {busiest[1]} {busiest[2]:02d}:00 "
            f"with {format_value(busiest[0])}." if total else "None in any hour.")
    uid = _uid("heatmap", title, (matrix, day_names, links))
    keys = "".join(f'<li><span class="chart-key chart-heat-{i}"></span></li>' for i in range(HEAT_STEPS + 1))
    legend = f'<ul class="chart-legend chart-scale" aria-hidden="true"><li>Fewer</li>{keys}<li>More</li></ul>'
    svg = _svg(uid, title, desc, width, height, "".join(parts))
    scroll = f'<div class="chart-scroll" tabindex="0" role="group" aria-labelledby="{uid}-caption">{svg}</div>'
    return _figure("heatmap", uid, title, scroll + legend)
