"""Reports: the dashboard's figures equal hand-computed ones on a fixed desk (SLA met and breached,
time paused while awaiting the customer, a reopened ticket, business-hour and day boundaries in
the desk's time zone, a holiday, the night the clocks change), each figure's drill-down lists
exactly its tickets, every viewer sees only their scope, and bad input is a clear 4xx.

The desk runs on Berlin time; the "Office" plan counts Mon-Fri 09:00-17:00, 2 hours to the first
response and 8 to resolution, with Thursday 2 April 2026 off. The report covers Monday 23 March to
Sunday 5 April 2026; the clocks go forward on Sunday 29 March. Times below are Berlin wall times.
"""
from __future__ import annotations

import re
from datetime import date
from html import unescape

import pytest

from helpdesk import settings, tickets
from helpdesk.extensions import db
from helpdesk.models import Department, SLAHoliday, SLAPlan
from support.clock import berlin

PERIOD = "period=custom&from=2026-03-23&to=2026-04-05"
HOUR = 3600


@pytest.fixture
def scenario(desk, clock, make_ticket):
    """The fixed desk: tickets A to K (their subjects), worked by Tom Technician."""
    settings.save({"timezone": "Europe/Berlin"})
    plan = SLAPlan(name="Office", grace_hours=8, first_response_hours=2, schedule="business",
                   timezone="", business_days="0,1,2,3,4", opens_at="09:00", closes_at="17:00")
    db.session.add(plan)
    db.session.add(SLAHoliday(sla=plan, day=date(2026, 4, 2), name="Day off"))
    desk.topics["General inquiry"].sla = plan
    db.session.commit()
    tom = desk.tech
    made = {}

    def at(*when):
        clock.set(berlin(*when))

    def ticket(name, *when, **kw):
        at(*when)
        made[name] = make_ticket(subject=name, **kw)
        return made[name]

    # F: opened the Friday before, resolved on Monday 10:00, exactly at its target (met); its
    # first answer is the resolution, 8 business hours in (breached).
    ticket("F", 2026, 3, 20, 10, 0)
    # J: opened late Sunday the day before the period; K: half an hour into its first day. Both unanswered.
    ticket("J", 2026, 3, 22, 23, 30)
    ticket("K", 2026, 3, 23, 0, 30, source="email")
    at(2026, 3, 23, 10, 0)
    tickets.resolve(tom, made["F"], "Done.")
    # A: answered in 1 h, resolved in 5 h, the same Monday.
    ticket("A", 2026, 3, 23, 10, 0)
    at(2026, 3, 23, 11, 0)
    tickets.reply(tom, made["A"], "Looking.")
    at(2026, 3, 23, 15, 0)
    tickets.resolve(tom, made["A"], "Done.")
    # C: never answered: past both targets on its first day.
    ticket("C", 2026, 3, 25, 9, 0, source="phone", agent=tom)
    # D: answered in 30 min, resolved in 1 h, reopened by the customer next morning, resolved in 1 h again.
    ticket("D", 2026, 3, 26, 14, 0)
    at(2026, 3, 26, 14, 30)
    tickets.reply(tom, made["D"], "Looking.")
    at(2026, 3, 26, 15, 0)
    tickets.resolve(tom, made["D"], "Done.")
    at(2026, 3, 27, 10, 0)
    tickets.customer_reply(made["D"], "Broken again.")
    at(2026, 3, 27, 11, 0)
    tickets.resolve(tom, made["D"], "Done again.")
    # B: Friday 16:00; first answer Monday 10:30 (2.5 business hours: breached), across the change
    # of the clocks; a question at 11:00 waits for the customer until Tuesday 10:00 (7 business
    # hours paused); resolved Tuesday 12:00, 5 business hours of work, before its 15:00 target.
    ticket("B", 2026, 3, 27, 16, 0)
    ticket("G", 2026, 3, 29, 1, 30, source="email")  # the last half hour before the clocks go forward
    ticket("H", 2026, 3, 29, 3, 30)  # the first after
    at(2026, 3, 30, 10, 30)
    tickets.reply(tom, made["B"], "Looking.")
    at(2026, 3, 30, 11, 0)
    tickets.request_info(tom, made["B"], "Which version?")
    at(2026, 3, 31, 10, 0)
    tickets.customer_reply(made["B"], "4.2")
    at(2026, 3, 31, 12, 0)
    tickets.resolve(tom, made["B"], "Done.")
    # E: Wednesday 16:00 before the day off; answered Friday 09:30 (1.5 business hours), resolved 10:00.
    ticket("E", 2026, 4, 1, 16, 0)
    at(2026, 4, 3, 9, 30)
    tickets.reply(tom, made["E"], "Looking.")
    at(2026, 4, 3, 10, 0)
    tickets.resolve(tom, made["E"], "Done.")
    # I: the last half hour of the period.
    ticket("I", 2026, 4, 5, 23, 30)
    at(2026, 4, 6, 12, 0)  # the report is read on the Monday after
    return made


def cards(html: str) -> dict[str, str]:
    found = re.findall(r'data-card="(\w+)">\s*<span class="muted">[^<]+</span>\s*<strong>(?:<a href="[^"]*">)?([^<]*)<', html)
    return {key: unescape(value).strip() for key, value in found}


def table(html: str, key: str) -> list[list[str]]:
    """A report table's body rows as the texts of their cells."""
    part = html.split(f'id="figure-{key}"', 1)[1]
    body = part.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        rows.append([unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells])
    return rows


def link_of(html: str, card: str) -> str:
    return unescape(re.search(rf'data-card="{card}">.*?<a href="([^"]+)"', html, re.S).group(1))


def test_the_lifecycle_records_what_reports_measure(scenario):
    b, d, f = scenario["B"], scenario["D"], scenario["F"]
    assert (b.first_response_work_secs, b.first_response_secs) == (2.5 * HOUR, 65.5 * HOUR)
    assert (b.resolution_work_secs, b.resolution_secs) == (5 * HOUR, 91 * HOUR)
    assert b.first_response_breached is True and b.resolution_breached is False
    assert (d.resolution_work_secs, d.resolution_secs, d.reopen_count) == (2 * HOUR, 21 * HOUR, 1)
    assert d.finished_at == berlin(2026, 3, 27, 11, 0)
    assert (f.first_response_work_secs, f.resolution_work_secs) == (8 * HOUR, 8 * HOUR)
    assert f.first_response_breached is True and f.resolution_breached is False
    e = scenario["E"]
    assert (e.first_response_work_secs, e.resolution_work_secs) == (1.5 * HOUR, 2 * HOUR)
    c = scenario["C"]
    assert c.finished_at is None and c.first_response_secs is None


def test_the_figures_equal_the_hand_computed_ones(scenario, admin):
    page = admin.get(f"/agent/reports?{PERIOD}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "23 Mar 2026 – 5 Apr 2026" in html
    assert cards(html) == {
        "created": "9",  # A C D B G H E I K (F and J before the period)
        "resolved": "5",  # F A D B E
        "open": "6",  # C G H I J K
        "overdue": "6",  # C G H J K, and I since its first-response target at 11:00 today
        "unassigned": "6",
        "fr_rate": "30.0%",  # met A D E; breached B F late, C G H J K unanswered (I falls due after)
        "res_rate": "50.0%",  # met F A D B E; breached C G H J K, open past their target
        "first_response": "1 h 30 min",  # of 0.5, 1, 1.5, 2.5, 8 business hours
        "resolution": "5 h",  # of 2, 2, 5, 5, 8
        "reopen_rate": "20.0%",  # D of five
    }
    volume = {row[0]: row[1:] for row in table(html, "volume")}
    assert len(volume) == 14
    assert volume["23 Mar"] == ["2", "2", "2"]  # A K created; F A resolved; J K open at midnight
    assert volume["24 Mar"] == ["0", "0", "2"]
    assert volume["26 Mar"] == ["1", "0", "4"]
    assert volume["27 Mar"] == ["1", "1", "4"]  # B created, D resolved again
    assert volume["29 Mar"] == ["2", "0", "6"]  # G and H on the day the clocks change
    assert volume["31 Mar"] == ["0", "1", "5"]
    assert volume["03 Apr"] == ["0", "1", "5"]
    assert volume["05 Apr"] == ["1", "0", "6"]
    times = {row[0]: row[1:] for row in table(html, "times")}
    assert times["First response"] == ["5", "1 h 30 min", "8 h", "1 d 17 h", "3 d"]
    assert times["Resolution"] == ["5", "5 h", "8 h", "1 d 18 h", "3 d 19 h"]
    plans = {row[0]: row[1:] for row in table(html, "sla_by_plan")}
    assert plans["Office"] == ["3", "7", "30.0%", "5", "5", "50.0%"]
    heat = {row[0]: row[1:] for row in table(html, "heatmap")}
    assert heat["Sun"][1] == "1" and heat["Sun"][2] == "0" and heat["Sun"][3] == "1"  # G 01:30, none at 02, H 03:30
    assert heat["Sun"][23] == "1" and heat["Mon"][0] == "1"  # I late Sunday, K just after midnight
    assert heat["Mon"][10] == "1" and heat["Fri"][16] == "1"  # A, B
    channels = {row[0]: row[1:] for row in table(html, "channels")}
    assert channels["Email"] == ["2", "22.2%"] and channels["Phone"] == ["1", "11.1%"]
    agents = {row[0]: row[1:] for row in table(html, "agents")}
    assert agents["Tom Technician"][3:5] == ["5", "1"]  # resolved, reopened


def test_each_figure_lists_exactly_its_tickets(scenario, admin):
    html = admin.get(f"/agent/reports?{PERIOD}").get_data(as_text=True)
    expected = {
        "created": set("ACDBGHEIK"),
        "resolved": set("FADBE"),
        "open": set("CGHIJK"),
        "fr_rate": set("BFCGHJK"),  # the breaches behind the rate
        "res_rate": set("CGHJK"),
        "reopen_rate": {"D"},
    }
    for card, subjects in expected.items():
        url = link_of(html, card)
        assert url.startswith("/agent/queue/all?")
        page = admin.get(url)
        assert page.status_code == 200
        shown = set(re.findall(r">([A-K])</a>", page.get_data(as_text=True)))
        assert shown == subjects, card
        assert "Back to the report" in page.get_data(as_text=True)


def test_the_csv_of_a_figures_tickets_is_those_tickets(scenario, admin):
    html = admin.get(f"/agent/reports?{PERIOD}").get_data(as_text=True)
    url = link_of(html, "res_rate").replace("/agent/queue/all?", "/agent/queue/all/export.csv?")
    export = admin.get(url)
    assert export.status_code == 200
    lines = export.get_data(as_text=True).splitlines()[1:]
    assert sorted(line.split(",")[1] for line in lines) == sorted("CGHJK")


def test_a_table_downloads_as_csv_with_inert_cells(scenario, admin):
    scenario["C"].subject = "=HYPERLINK(\"http://evil.example\")"
    db.session.commit()
    export = admin.get(f"/agent/reports/breaches.csv?{PERIOD}")
    assert export.status_code == 200
    assert export.headers["Content-Disposition"].startswith("attachment; filename=report-breaches-2026-03-23")
    text = export.get_data(as_text=True)
    assert text.startswith("\ufeffTicket,Subject,Target missed,Assignee")
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text
    assert admin.get(f"/agent/reports/nothing.csv?{PERIOD}").status_code == 404


@pytest.mark.parametrize("query, message", [
    ("period=custom&from=1926-01-01&to=2026-01-01", "Reports cover 2000 to next year"),
    ("period=custom&from=2020-01-01&to=2026-01-01", "at most three years"),
    ("period=custom&from=2026-04-05&to=2026-03-23", "ends before it starts"),
    ("period=custom&from=2026-02-30&to=2026-03-23", "not a date"),
    ("period=custom&to=2026-03-23", "needs a start date"),
    ("period=forever", "not one the reports offer"),
    ("department=999999", "no such department"),
    ("priority=urgent-ish", "no such priority"),
    ("channel=pigeon", "no such channel"),
    ("assignee=abc", "no such agent"),
])
def test_a_report_that_cannot_be_made_says_why(desk, admin, query, message):
    page = admin.get(f"/agent/reports?{query}")
    assert page.status_code == 400
    assert message in unescape(page.get_data(as_text=True))
    assert admin.get(f"/agent/reports/volume.csv?{query}").status_code == 400


@pytest.mark.parametrize("query", ["drill=everything", "drill=created&period=never", "drill=aged&age=100",
                                   "drill=created&day=2000-01-01", "drill=created&hour=725", "drill=open&status=gone"])
def test_a_drill_down_that_cannot_be_read_lists_nothing(scenario, admin, query):
    page = admin.get(f"/agent/queue/all?{query}")
    assert page.status_code == 400
    assert "cannot be listed" in page.get_data(as_text=True)
    assert not re.findall(r">([A-K])</a>", page.get_data(as_text=True))
    assert admin.get(f"/agent/queue/all/export.csv?{query}").status_code == 400


def test_an_agent_sees_only_their_own_and_their_teams_figures(scenario, desk, login, make_ticket, clock):
    clock.set(berlin(2026, 3, 24, 9, 0))
    make_ticket("General inquiry", subject="L")  # Support, nobody's yet
    clock.set(berlin(2026, 4, 6, 12, 0))
    vic = login(desk.vendor)  # Support, Vendor Support team: nothing of his in the scenario
    html = vic.get(f"/agent/reports?{PERIOD}").get_data(as_text=True)
    assert "your tickets and your teams" in html
    assert cards(html)["created"] == "0" and cards(html)["open"] == "0"
    # A link made for someone else's figures lists none of theirs either.
    page = vic.get(f"/agent/queue/all?drill=created&{PERIOD}")
    assert page.status_code == 200 and not re.findall(r">([A-L])</a>", page.get_data(as_text=True))
    # His filter choices are his own: another agent is no filter for him.
    assert vic.get(f"/agent/reports?{PERIOD}&assignee={desk.tech.id}").status_code == 400
    tom = login(desk.tech)
    html = tom.get(f"/agent/reports?{PERIOD}").get_data(as_text=True)
    assert cards(html)["created"] == "4"  # A B D E: he answered them, so they became his


def test_a_manager_sees_only_their_departments(scenario, desk, login, make_ticket, clock):
    sales = Department(name="Sales", email="sales@example.com")
    db.session.add(sales)
    db.session.commit()
    clock.set(berlin(2026, 3, 24, 9, 0))
    other = make_ticket("General inquiry", subject="M")
    other.department_id = sales.id
    db.session.commit()
    clock.set(berlin(2026, 4, 6, 12, 0))
    admin_html = login(desk.admin).get(f"/agent/reports?{PERIOD}").get_data(as_text=True)
    assert cards(admin_html)["created"] == "10"
    maya = login(desk.manager)
    html = maya.get(f"/agent/reports?{PERIOD}").get_data(as_text=True)
    assert cards(html)["created"] == "9"
    departments = html.split('id="r-department"', 1)[1].split("</select>", 1)[0]
    assert ">Support<" in departments and ">Sales<" not in departments
    assert maya.get(f"/agent/reports?{PERIOD}&department={sales.id}").status_code == 400
    page = maya.get(f"/agent/queue/all?drill=created&{PERIOD}")
    assert ">M</a>" not in page.get_data(as_text=True)


def test_filters_narrow_every_figure(scenario, desk, admin):
    html = admin.get(f"/agent/reports?{PERIOD}&channel=email").get_data(as_text=True)
    assert cards(html)["created"] == "2"  # G K
    assert cards(html)["open"] == "2"  # G K
    url = link_of(html, "created")
    assert "channel=email" in url
    assert set(re.findall(r">([A-K])</a>", admin.get(url).get_data(as_text=True))) == {"G", "K"}


def test_reports_are_reached_from_the_panel(desk, login):
    client = login(desk.tech)
    assert 'href="/agent/reports"' in client.get("/agent/").get_data(as_text=True)
    html = client.get("/agent/reports").get_data(as_text=True)
    assert "Last 30 days" in html and "<h1>Reports</h1>" in html


def test_a_change_shows_at_once_though_the_page_was_kept(scenario, admin, make_ticket, desk):
    first = admin.get(f"/agent/reports?{PERIOD}").get_data(as_text=True)
    assert cards(first)["created"] == "9"
    again = admin.get(f"/agent/reports?{PERIOD}").get_data(as_text=True)
    assert cards(again) == cards(first)  # kept: the same minute, nothing changed
    make_ticket(subject="N", source="email")  # now, on the Monday after: not in the period
    make_ticket(subject="O")
    tickets.resolve(desk.tech, scenario["C"], "Done.")  # C resolved now
    after = admin.get(f"/agent/reports?{PERIOD}").get_data(as_text=True)
    assert cards(after)["created"] == "9"
    assert cards(after)["open"] == "7"  # C went, N and O came
    assert cards(after)["unassigned"] == "7"
    csv = admin.get(f"/agent/reports/breaches.csv?{PERIOD}").get_data(as_text=True)
    subjects = [line.split(",")[1] for line in csv.splitlines()[1:]]
    assert "G" in subjects and "C" not in subjects  # C was a breach; resolved after the period it is none


def test_percentiles_are_the_nearest_rank_on_both_databases(desk, make_ticket, clock):
    """70 first responses of 1..70 minutes: the median is the 35th, the 90th percentile the 63rd,
    whichever way the database ranks them."""
    from helpdesk.models import Ticket
    from helpdesk.reports import figures
    from helpdesk.reports import period as periods
    from helpdesk.reports.scope import Filters

    clock.set(berlin(2026, 3, 23, 9, 0))
    made = [make_ticket(subject=f"P{i}") for i in range(70)]
    for minutes, ticket in enumerate(made, start=1):
        ticket.first_responded_at = berlin(2026, 3, 23, 10, 0)
        ticket.first_response_secs = ticket.first_response_work_secs = minutes * 60
    db.session.commit()
    period = periods.Period("custom", date(2026, 3, 23), date(2026, 3, 23), settings.zone())
    report = figures.Report(desk.admin, period, Filters(), berlin(2026, 3, 24, 9, 0), str, str)
    assert report.percentiles(Ticket.first_response_secs, "answered") == {0: [35 * 60, 63 * 60]}
    by_agent = report.percentiles(Ticket.first_response_secs, "answered", group=Ticket.assignee_id, ps=((1, 2),))
    assert by_agent == {None: [35 * 60]}
