"""The dashboard's charts as a reader sees them: bars as tall as their values, axes that stay
readable from one category to 120, links only where the report gives one, hostile labels shown
as text, and the report table's formatting."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from flask import render_template_string

from helpdesk.reports.charts import CHAR, TONES, Series, bars, columns, format_value, heatmap, line
from helpdesk.reports.table import Column, Table
from hostile import XSS_PAYLOADS, assert_no_live_markup

DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def near(value: float):
    """Coordinates are written to two decimals."""
    return pytest.approx(value, abs=0.02)


def parse(markup) -> ET.Element:
    """The chart as an element tree: it is well-formed markup throughout."""
    return ET.fromstring(str(markup))


def rects(figure: ET.Element, cls: str = "chart-bar") -> list[dict]:
    return [{k: float(v) if k in ("x", "y", "width", "height") else v for k, v in r.attrib.items()}
            for r in figure.iter("rect") if cls in r.get("class", "").split()]


def texts(figure: ET.Element, cls: str) -> list[ET.Element]:
    return [t for t in figure.iter("text") if t.get("class") == cls]


def test_a_bar_is_as_tall_as_its_value():
    figure = parse(columns(["1 May", "2 May"], [Series("Created", [100, 50], "created")], title="Created"))
    full, half = rects(figure)
    assert half["height"] == near(full["height"] / 2)
    assert half["y"] + half["height"] == near(full["y"] + full["height"])  # one baseline
    assert full["class"] == "chart-bar chart-tone-created"
    assert [t.text for t in texts(figure, "chart-xlabel")] == ["1 May", "2 May"]


def test_two_series_stand_side_by_side_or_stacked():
    series = [Series("Created", [30], "created"), Series("Resolved", [10], "resolved")]
    created, resolved = rects(parse(columns(["1 May"], series, title="Volume")))
    assert resolved["x"] >= created["x"] + created["width"]
    assert resolved["height"] == near(created["height"] / 3)
    low, high = rects(parse(columns(["1 May"], series, title="Volume", stacked=True)))
    assert high["y"] + high["height"] == near(low["y"]) and high["x"] == low["x"]
    assert high["height"] == near(low["height"] / 3)


def test_zero_and_unknown_values_draw_no_bar_but_keep_their_place():
    figure = parse(columns(["a", "b", "c"], [Series("Created", [0, None, 3], "created")], title="Created"))
    assert len(rects(figure)) == 1
    assert [t.text for t in texts(figure, "chart-xlabel")] == ["a", "b", "c"]
    assert "total 3" in figure.find(".//desc").text


@pytest.mark.parametrize("chart", [columns, line])
def test_an_all_zero_or_empty_chart_still_has_its_axes(chart):
    for labels, values in ((["a", "b", "c"], [0, 0, 0]), (["a"], [None]), ([], [])):
        markup = str(chart(labels, [Series("Open", values, "backlog")], title="Open"))
        figure = parse(markup)
        assert not rects(figure) and not re.search(r"nan|inf", markup)
        assert [t.text for t in texts(figure, "chart-ylabel")] == ["0", "1", "2"]


def test_one_category_is_a_bar_not_a_slab():
    figure = parse(columns(["Today"], [Series("Created", [4], "created")], title="Created"))
    (bar,) = rects(figure)
    assert bar["width"] <= 40
    width = float(figure.find(".//svg").get("viewBox").split()[2])
    assert 0.3 * width < bar["x"] < 0.7 * width
    assert [t.text for t in texts(figure, "chart-xlabel")] == ["Today"]


def test_120_days_thin_their_labels_so_none_touch():
    labels = [f"{d % 30 + 1} {['Mar', 'Apr', 'May', 'Jun'][d // 30]}" for d in range(120)]
    figure = parse(columns(labels, [Series("Created", list(range(120)), "created"),
                                    Series("Resolved", [5] * 120, "resolved")], title="Volume"))
    assert len(rects(figure)) == 239  # the first day created none
    shown = texts(figure, "chart-xlabel")
    assert 4 <= len(shown) <= 15
    xs = [float(t.get("x")) for t in shown]
    widest = max(len(t.text) for t in shown) * CHAR
    assert all(b - a >= widest for a, b in zip(xs, xs[1:]))
    assert shown[0].text == "1 Mar"
    days = [labels.index(t.text) for t in shown]
    assert len({b - a for a, b in zip(days, days[1:])}) == 1  # evenly: every nth day


@pytest.mark.parametrize("high", [1, 3, 7, 10, 99, 100, 101, 1234, 40_000, 1_000_000])
def test_the_value_axis_has_three_to_five_round_ticks_above_the_highest_bar(high):
    figure = parse(columns(["a", "b"], [Series("Created", [high, high // 2], "created")], title="Created"))
    ticks = [t.text for t in texts(figure, "chart-ylabel")]
    assert 3 <= len(ticks) <= 5 and ticks[0] == "0"
    assert all(re.fullmatch(r"(\d|[1-9]\d*(,\d{3})*|\d+(\.\d)?[kM])", t) for t in ticks), ticks
    top = min(float(g.get("y1")) for g in figure.iter("line"))
    assert rects(figure)[0]["y"] >= top - 0.01


def test_a_million_reads_as_one_m_on_the_axis_and_in_full_in_the_tooltip():
    figure = parse(columns(["a"], [Series("Created", [1_000_000], "created")], title="Created"))
    assert texts(figure, "chart-ylabel")[-1].text == "1M"
    assert figure.find(".//rect/title").text == "a, Created: 1,000,000"


def test_a_bar_links_to_its_tickets_only_where_a_link_is_given():
    markup = columns(["a", "b", "c"], [Series("Created", [3, 4, 5], "created"), Series("Resolved", [1, 2, 3], "resolved")],
                     title="Volume", links=[["/agent/queue?day=a&state=new", None, "javascript:alert(1)"], [None] * 3])
    anchors = list(parse(markup).iter("a"))
    assert len(anchors) == 1 and anchors[0].get("href") == "/agent/queue?day=a&state=new"
    assert 'href="/agent/queue?day=a&amp;state=new"' in markup and "javascript" not in markup
    assert [r.get("class") for r in anchors[0].iter("rect")] == ["chart-hit", "chart-bar chart-tone-created"]


def test_a_line_follows_its_values_and_breaks_where_one_is_unknown():
    figure = parse(line(["1", "2", "3", "4", "5"], [Series("Open", [100, 50, None, 20, 10], "backlog")],
                        title="Backlog"))
    path = figure.find(".//path")
    assert path.get("class") == "chart-path chart-tone-backlog"
    moves = re.findall(r"([ML])([\d.]+) ([\d.]+)", path.get("d"))
    assert [m[0] for m in moves] == ["M", "L", "M", "L"]
    base = float(texts(figure, "chart-ylabel")[0].get("y")) - 0.35 * 11
    first, second = (base - float(m[2]) for m in moves[:2])
    assert second == near(first / 2)
    assert "last 10" in figure.find(".//desc").text and "total" not in figure.find(".//desc").text


def test_a_lone_point_among_many_still_shows():
    values = [None] * 60
    values[30] = 7
    figure = parse(line([str(i) for i in range(60)], [Series("Open", values, "backlog")], title="Backlog"))
    (dot,) = figure.iter("circle")
    assert dot.find("title").text == "30, Open: 7"


def test_horizontal_bars_are_as_long_as_their_share_and_print_their_value():
    figure = parse(bars([("Billing", 100, "/agent/queue?topic=1"), ("Other", 50, None), ("None yet", None, None)],
                        title="By topic"))
    widths = [float(r.get("width")) for r in figure.iter("rect")]
    assert widths == [100, 50, 0]
    assert [v.text for v in figure.iter("span") if v.get("class") == "chart-hbar-value"] == ["100", "50", "—"]
    assert [(a.text, a.get("href")) for a in figure.iter("a")] == [("Billing", "/agent/queue?topic=1")]


def test_percent_bars_use_the_whole_hundred_and_durations_read_as_time():
    figure = parse(bars([("Gold", 40.0, None), ("Silver", 87.46, None)], title="Met", kind="percent", tone="met"))
    assert [float(r.get("width")) for r in figure.iter("rect")] == [40, 87.46]
    assert "87.5%" in ET.tostring(figure, encoding="unicode")
    figure = parse(bars([("First answer", 12_000, None)], title="Times", kind="duration"))
    assert "3 h 20 min" in ET.tostring(figure, encoding="unicode")


def test_the_heatmap_shades_each_hour_by_its_share_of_the_busiest():
    matrix = [[0] * 24 for _ in range(7)]
    matrix[0][9], matrix[0][10], matrix[4][16] = 100, 1, 55
    links = [[f"/agent/queue?d={d}&h={h}" for h in range(24)] for d in range(7)]
    figure = parse(heatmap(matrix, title="When tickets arrive", day_names=DAYS, links=links))
    cells = rects(figure, "chart-cell")
    assert len(cells) == 7 * 24
    shade = {c["class"].split()[1] for c in cells if c["x"] == cells[9]["x"] and c["y"] == cells[0]["y"]}
    assert shade == {"chart-heat-5"}
    assert cells[10]["class"] == "chart-cell chart-heat-1" and cells[4 * 24 + 16]["class"] == "chart-cell chart-heat-3"
    assert sum(c["class"] == "chart-cell chart-heat-0" for c in cells) == 7 * 24 - 3
    assert sorted(a.get("href") for a in figure.iter("a")) == ["/agent/queue?d=0&h=10", "/agent/queue?d=0&h=9",
                                                                "/agent/queue?d=4&h=16"]
    assert [t.text for t in texts(figure, "chart-ylabel")] == DAYS
    assert "Mon 09:00" in figure.find(".//desc").text
    assert figure.find("div").get("class") == "chart-scroll"


def test_every_chart_names_itself_with_ids_of_its_own_and_carries_no_style():
    charts = [columns(["a"], [Series("Created", [1], "created")], title="One"),
              columns(["a"], [Series("Created", [2], "created")], title="One"),
              line(["a"], [Series("Open", [1], "backlog")], title="One"),
              heatmap([[1] * 24] * 7, title="One", day_names=DAYS)]
    ids = []
    for markup in charts:
        figure = parse(markup)
        assert figure.tag == "figure" and figure.get("class").startswith("chart ")
        assert figure.find("figcaption").text == "One"
        svg = figure.find(".//svg")
        assert svg.get("role") == "img"
        assert figure.find(f".//title[@id='{svg.get('aria-labelledby')}']").text == "One"
        assert figure.find(f".//desc[@id='{svg.get('aria-describedby')}']") is not None
        ids += [e.get("id") for e in figure.iter() if e.get("id")]
        assert "style=" not in str(markup)
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("payload", XSS_PAYLOADS + ['"quoted" & \'single\''])
def test_a_hostile_label_is_shown_as_text(payload):
    text = payload.format(tag=1)
    charts = [columns([text], [Series(text, [1], "created")], title=text, links=[[text]]),
              line([text, "b"], [Series(text, [1, 2], "backlog")], title=text),
              bars([(text, 3, text)], title=text),
              heatmap([[1] * 24] * 7, title=text, day_names=[text] * 7, links=[[text] * 24] * 7)]
    for markup in charts:
        assert_no_live_markup(str(markup), "chart")
        figure = parse(markup)
        assert figure.find("figcaption").text == text
        assert any(text in (e.text or "") for e in figure.iter() if e.tag in ("title", "a", "span", "text"))


def test_the_stylesheet_colours_every_tone_and_shade():
    css = (Path(__file__).parent.parent / "static" / "app.css").read_text()
    for name in [f"chart-tone-{t}" for t in TONES] + [f"chart-heat-{i}" for i in range(6)]:
        assert f".{name} {{" in css
    for name in [f"--chart-{t}" for t in TONES] + [f"--chart-heat-{i}" for i in range(6)]:
        assert css.count(f"{name}: #") == 2 and css.count(f"{name}: var(") == 2  # two dark, light, print


@pytest.mark.parametrize("value, kind, shown", [
    (1204, "count", "1,204"), (0, "count", "0"), (2.5, "count", "2.5"), (3.0, "count", "3"),
    (87.46, "percent", "87.5%"), (100, "percent", "100.0%"), (0.0, "percent", "0.0%"),
    (12_000, "duration", "3 h 20 min"), (90_000, "duration", "1 d 1 h"), (30, "duration", "under a minute"),
    ("Billing <b>", "text", "Billing <b>"), (None, "count", "—"), (None, "percent", "—"), (None, "duration", "—"),
])
def test_format_value(value, kind, shown):
    assert format_value(value, kind) == shown


def test_the_report_table_heads_rows_formats_values_and_links_counts(app):
    table = Table(key="by_topic", title="By topic", note="Tickets created in May",
                  columns=(Column("topic", "Topic", "text"), Column("count", "Tickets"),
                           Column("met", "SLA met", "percent"), Column("first", "First answer", "duration")),
                  rows=(("<b>Billing</b>", 1204, 87.46, 12_000), ("Other", 0, None, None)),
                  links=(("/agent/queue?topic=1", "/agent/queue?topic=1&all=1", None, None), (None, None, None, None)))
    html = render_template_string('{% from "agent/reports/_charts.html" import report_table %}{{ report_table(t) }}',
                                  t=table)
    figure = parse(html)
    assert figure.find(".//caption").text == "By topic"
    assert [th.get("scope") for th in figure.iter("th")] == ["col"] * 4 + ["row"] * 2
    first, second = figure.findall(".//tbody/tr")
    assert [(c.tag, c.get("class"), "".join(c.itertext())) for c in first] == [
        ("th", None, "<b>Billing</b>"), ("td", "num", "1,204"), ("td", "num", "87.5%"), ("td", "num", "3 h 20 min")]
    assert ["".join(c.itertext()) for c in second] == ["Other", "0", "—", "—"]
    assert [a.get("href") for a in figure.iter("a")] == ["/agent/queue?topic=1", "/agent/queue?topic=1&all=1"]
    assert "&amp;all=1" in html and "<b>Billing" not in html
    empty = render_template_string('{% from "agent/reports/_charts.html" import report_table %}{{ report_table(t) }}',
                                   t=Table(key="none", title="None", columns=table.columns, rows=()))
    assert "Nothing to show." in empty
