"""Queue exports (CSV): the tickets the agent sees in the queue with its filters, search and order,
all pages of it; nobody else gets one; and no cell a spreadsheet would run as a formula."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, update

from helpdesk import tickets
from helpdesk.clock import utcnow
from helpdesk.extensions import db
from helpdesk.models import Setting, Ticket
from helpdesk.security import access_token
from helpdesk.tickets import export
from hostile import FORMULA_PAYLOADS

HEADER = ["Number", "Subject", "Status", "Priority", "Help topic", "Department", "Assignee", "Team",
          "Customer name", "Customer email", "Source", "Created", "Last update", "Due", "Overdue",
          "Resolved", "Closed", "Tags"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def read_export(response) -> list[dict]:
    """The export's rows as dicts, after checking it is a UTF-8 CSV download with our header."""
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(r"attachment; filename=tickets-[a-z]+-\d{4}-\d{2}-\d{2}\.csv",
                        response.headers["Content-Disposition"])
    text = response.get_data().decode("utf-8")
    assert text.startswith("\ufeff"), "the file starts with a byte order mark (for Excel)"
    table = list(csv.reader(io.StringIO(text[1:], newline="")))
    assert table[0] == HEADER
    return [dict(zip(HEADER, row, strict=True)) for row in table[1:]]


def assert_inert(text: str, stored: list[str]) -> None:
    """The check for formula injection: parse the CSV back; no cell may start with a sign a
    spreadsheet reads as a formula, and each stored value in `stored` must be there, made inert
    with a leading quote (so the check cannot pass by losing the payload)."""
    cells = [cell for row in csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")) for cell in row]
    live = [cell for cell in cells if cell.startswith(FORMULA_STARTS)]
    assert not live, f"cells a spreadsheet would run: {live}"
    missing = [value for value in stored if "'" + value not in cells]
    assert not missing, f"values missing or not neutralised: {missing}"


def queue_numbers(client, name: str, query: str = "") -> list[str]:
    """Every ticket number the queue's pages show for this query string, page after page."""
    found, page = [], 1
    while True:
        html = client.get(f"/agent/queue/{name}?{query}&page={page}", follow_redirects=True).get_data(as_text=True)
        found += re.findall(r'<td class="number"><a href="/agent/tickets/([A-Z0-9]+)"', html)
        if 'rel="next"' not in html:
            return found
        page += 1


def export_numbers(client, name: str, query: str = "") -> list[str]:
    return [row["Number"] for row in read_export(client.get(f"/agent/queue/{name}/export.csv?{query}"))]


@pytest.fixture
def mix(desk, make_ticket):
    """Support tickets in several situations, one in IT Operations, one overdue."""
    t = {
        "printer": make_ticket(subject="Printer jam", name="Paula Printer", email="paula@example.net"),
        "vpn": make_ticket(subject="VPN drops", name="Victor Vpn"),
        "it": make_ticket(topic="Password reset", subject="Locked out"),
        "late": make_ticket(subject="Late one"),
        "pending": make_ticket(subject="Need a screenshot"),
    }
    tickets.assign(desk.manager, t["vpn"], agent=desk.tech)
    tickets.set_priority(desk.manager, t["vpn"], desk.priorities["high"])
    tickets.request_info(desk.tech, t["pending"], "Please send a screenshot.")
    db.session.execute(update(Ticket).where(Ticket.id == t["late"].id).values(due_at=utcnow() - timedelta(hours=3)))
    db.session.commit()
    return t


# --- content ------------------------------------------------------------------------------------


def test_export_columns_and_content_in_the_desk_time_zone(client, desk, mix, login):
    db.session.add(Setting(key="timezone", value="Europe/Berlin"))
    db.session.commit()
    login(desk.manager)
    response = client.get("/agent/queue/open/export.csv?sort=number&dir=asc")
    assert response.is_streamed
    assert response.headers["Cache-Control"] == "private, no-store"
    rows = {row["Number"]: row for row in read_export(response)}
    vpn, late = mix["vpn"], mix["late"]
    db.session.refresh(vpn)
    berlin = ZoneInfo("Europe/Berlin")

    def local(value):
        return value.replace(tzinfo=timezone.utc).astimezone(berlin).isoformat(timespec="seconds")

    assert sorted(rows) == sorted(t.number for k, t in mix.items() if k != "pending")
    assert list(rows) == sorted(rows)  # the order asked for
    assert rows[vpn.number] == {
        "Number": vpn.number, "Subject": "VPN drops", "Status": "Open", "Priority": "High",
        "Help topic": "General inquiry", "Department": "Support", "Assignee": desk.tech.name, "Team": "",
        "Customer name": "Victor Vpn", "Customer email": vpn.customer.email, "Source": "web",
        "Created": local(vpn.created_at), "Last update": local(vpn.updated_at),
        "Due": local(vpn.due_at) if vpn.due_at else "", "Overdue": "no", "Resolved": "", "Closed": "", "Tags": "",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[12]:00", rows[vpn.number]["Created"])
    assert rows[late.number]["Overdue"] == "yes"
    assert rows[mix["it"].number]["Department"] == "IT Operations"
    assert rows[mix["printer"].number]["Assignee"] == ""


def test_closed_queue_has_resolution_and_closing_times(client, desk, mix, login):
    tickets.resolve(desk.tech, mix["printer"], "Cleared the jam.")
    tickets.close(desk.manager, mix["vpn"])
    login(desk.manager)
    rows = {row["Number"]: row for row in read_export(client.get("/agent/queue/closed/export.csv"))}
    assert set(rows) == {mix["printer"].number, mix["vpn"].number}
    assert rows[mix["printer"].number]["Status"] == "Resolved" and rows[mix["printer"].number]["Resolved"]
    assert rows[mix["printer"].number]["Closed"] == ""
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", rows[mix["vpn"].number]["Closed"])


def test_export_holds_every_page_in_the_queue_order(client, desk, make_ticket, login):
    for n in range(32):  # more than a page (25)
        make_ticket(subject=f"Bulk {n:02d}")
    login(desk.manager)
    for query in ("", "sort=number&dir=asc", "sort=created&dir=desc", "sort=due", "sort=updated&dir=asc"):
        shown = queue_numbers(client, "open", query)
        assert len(shown) == 32
        assert export_numbers(client, "open", query) == shown, query


def test_export_streams_in_chunks(client, desk, make_ticket, login, monkeypatch):
    for n in range(5):
        make_ticket(subject=f"Chunked {n}")
    monkeypatch.setattr(export, "CHUNK", 2)
    login(desk.manager)
    response = client.get("/agent/queue/open/export.csv", buffered=False)
    pieces = list(response.response)
    response.close()
    assert len(pieces) == 1 + 3  # header, then 2 + 2 + 1 rows
    assert b"".join(pieces).decode("utf-8").count("Chunked") == 5


def test_a_slow_download_keeps_no_writer_waiting(app, client, desk, make_ticket, login, monkeypatch):
    """The desk goes on while an agent downloads a big queue: no lock is held between chunks."""
    made = [make_ticket(subject=f"Slow reader {n}") for n in range(6)]
    monkeypatch.setattr(export, "CHUNK", 2)
    login(desk.manager)
    response = client.get("/agent/queue/open/export.csv?sort=number&dir=asc", buffered=False)
    pieces = iter(response.response)
    received = [next(pieces), next(pieces)]  # the header and the first chunk; the rest still to come
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    other = create_engine(url, connect_args={"timeout": 1} if url.startswith("sqlite") else {})
    try:
        with other.begin() as conn:  # another worker saving a change meanwhile
            last = max(made, key=lambda t: t.number)  # in the last chunk, not read yet
            conn.execute(update(Ticket).where(Ticket.id == last.id).values(subject="Slow reader, renamed"))
    finally:
        other.dispose()
    received += list(pieces)
    response.close()
    text = b"".join(received).decode("utf-8")
    assert text.count("Slow reader") == 6 and "Slow reader, renamed" in text


def test_an_export_cut_off_by_an_error_says_so_on_its_last_line(client, desk, make_ticket, login, monkeypatch,
                                                                 caplog):
    """A database error while reading a later chunk: the rows so far, then a last line saying the
    file is incomplete (never a file that just stops and looks whole); the error is logged."""
    from sqlalchemy import text

    made = sorted(make_ticket(subject=f"Chunked {n}").number for n in range(5))
    monkeypatch.setattr(export, "CHUNK", 2)
    real_columns, reads = export._columns, []

    def failing_second_chunk(now):
        columns = real_columns(now)

        class Statement:
            def where(self, *criteria):
                reads.append(1)  # the second chunk's read meets a database error
                return columns.where(*criteria) if len(reads) != 2 else text("SELECT no_such_column FROM ticket")

        return Statement()

    monkeypatch.setattr(export, "_columns", failing_second_chunk)
    login(desk.manager)
    response = client.get("/agent/queue/open/export.csv?sort=number&dir=asc")
    assert response.status_code == 200
    table = list(csv.reader(io.StringIO(response.get_data().decode("utf-8")[1:], newline="")))
    assert table[0] == HEADER
    assert [row[0] for row in table[1:3]] == made[:2]  # the first chunk came through
    assert table[3:] == [["EXPORT INCOMPLETE: an error cut this export off after 2 tickets. "
                          "This file is not the whole queue: export it again."]]
    errors = [r for r in caplog.records if r.name == "helpdesk.tickets.export" and r.levelname == "ERROR"]
    assert len(errors) == 1 and "cut off after 2 tickets" in errors[0].getMessage()
    assert errors[0].exc_info and "no_such_column" in str(errors[0].exc_info[1])
    # The desk goes on: the next export (no fault now) is whole and has no such line.
    monkeypatch.setattr(export, "_columns", real_columns)
    whole = client.get("/agent/queue/open/export.csv?sort=number&dir=asc")
    assert export_numbers(client, "open", "sort=number&dir=asc") == made
    assert "EXPORT INCOMPLETE" not in whole.get_data(as_text=True)


# --- who gets what ------------------------------------------------------------------------------


def test_an_agent_exports_only_tickets_of_their_departments_teams_and_assignments(client, desk, mix, login):
    login(desk.tech)  # Support and Senior Support
    tech = export_numbers(client, "open")
    assert mix["it"].number not in tech and mix["printer"].number in tech
    assert tech == queue_numbers(client, "open")
    login(desk.sysadmin)  # IT Operations and SysAdmins
    assert export_numbers(client, "open") == [mix["it"].number]
    # Escalated to the sysadmins' team: now theirs to see (and to export) too.
    tickets.escalate(desk.tech, mix["vpn"], desk.teams["SysAdmins/Developers"], "Looks like the firewall.")
    assert sorted(export_numbers(client, "open")) == sorted([mix["it"].number, mix["vpn"].number])
    # Assigned to them, then moved to a department not theirs: theirs through the assignment.
    tickets.transfer(desk.manager, mix["printer"], desk.departments["IT Operations"])
    tickets.assign(desk.manager, mix["printer"], agent=desk.sysadmin)
    tickets.transfer(desk.manager, mix["printer"], desk.departments["Support"])
    assert mix["printer"].number in export_numbers(client, "open")
    # Managers and admins: what their queue shows.
    for agent in (desk.manager, desk.admin):
        login(agent)
        assert sorted(export_numbers(client, "open")) == sorted(queue_numbers(client, "open"))
        assert mix["it"].number in export_numbers(client, "open")


def test_my_tickets_export_is_the_agents_own(client, desk, mix, login):
    login(desk.tech)  # assigned the VPN ticket; took the pending one by asking its customer
    assert sorted(export_numbers(client, "mine")) == sorted([mix["vpn"].number, mix["pending"].number])
    login(desk.sysadmin)
    assert export_numbers(client, "mine") == []


@pytest.mark.parametrize("who", ["anonymous", "customer"])
def test_customers_and_visitors_are_sent_to_sign_in(client, desk, mix, who):
    if who == "customer":
        assert client.get(f"/t/{access_token(mix['printer'])}").status_code == 200
    response = client.get("/agent/queue/open/export.csv?q=Printer")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
    assert "Printer jam" not in response.get_data(as_text=True)


def test_unknown_queue_is_a_404(client, desk, login):
    login(desk.tech)
    response = client.get("/agent/queue/everything/export.csv")
    assert response.status_code == 404
    assert "There is no such queue." in response.get_data(as_text=True)


# --- filters, search and sort -------------------------------------------------------------------


def test_filters_and_search_are_honoured(client, desk, mix, login):
    login(desk.manager)
    cases = {
        "q=printer": [mix["printer"].number],
        "q=paula%40example": [mix["printer"].number],
        f"q=%23{mix['vpn'].number}": [mix["vpn"].number],
        "priority=high": [mix["vpn"].number],
        f"assignee={desk.tech.id}": [mix["vpn"].number],
        f"department={desk.departments['IT Operations'].id}": [mix["it"].number],
        f"topic={desk.topics['Password reset'].id}": [mix["it"].number],
        "q=nothing-like-this": [],
    }
    for query, expected in cases.items():
        assert export_numbers(client, "open", query) == expected, query
        assert queue_numbers(client, "open", query) == expected, query
    unassigned = export_numbers(client, "open", "assignee=unassigned&sort=number&dir=asc")
    assert unassigned == sorted(t.number for k, t in mix.items() if k not in ("vpn", "pending"))
    # A search on another queue: the queue's own condition still applies.
    assert export_numbers(client, "pending", "q=screenshot") == [mix["pending"].number]
    assert export_numbers(client, "pending", "q=printer") == []


def test_bad_parameters_are_ignored_as_on_the_page(client, desk, mix, login):
    login(desk.manager)
    query = "sort=subject;drop table ticket&dir=sideways&priority=urgent&department=abc&assignee=0"
    assert sorted(export_numbers(client, "open", query)) == sorted(queue_numbers(client, "open", query))
    assert len(export_numbers(client, "open", query)) == 4


def test_queue_page_links_to_the_export_with_its_filters(client, desk, mix, login):
    login(desk.manager)
    page = client.get("/agent/queue/closed?q=printer&sort=number&dir=asc&page=1").get_data(as_text=True)
    assert "export-csv" not in page  # nothing to export: no link
    tickets.resolve(desk.tech, mix["printer"], "Done.")
    page = client.get("/agent/queue/closed?q=printer&sort=number&dir=asc&page=1").get_data(as_text=True)
    link = re.search(r'<a class="button small" id="export-csv" href="([^"]+)" download', page)
    assert link
    assert link.group(1).replace("&amp;", "&") == "/agent/queue/closed/export.csv?q=printer&sort=number&dir=asc"
    # The results block (what htmx swaps on every filter change) carries it too.
    partial = client.get("/agent/queue/pending?q=screenshot", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert partial.lstrip().startswith('<section id="results"')
    # A search nobody sorted lists the best matches first, and so does its export: no sort in the link.
    assert 'href="/agent/queue/pending/export.csv?q=screenshot"' in partial


# --- formula injection --------------------------------------------------------------------------


@pytest.fixture
def hostile_export(client, desk, make_ticket, login):
    """Formula payloads in every text an export writes; returns (CSV text, the values as stored)."""
    payloads = iter(FORMULA_PAYLOADS * 3)
    topic = desk.topics["Billing question"]
    ticket = make_ticket(topic=topic, subject=next(payloads), name=next(payloads), email="=1+2@example.net")
    tickets.assign(desk.manager, ticket, agent=desk.vendor)
    tickets.escalate(desk.vendor, ticket, desk.teams["Senior Support"], "Escalated.")
    for obj in (topic, ticket.department, ticket.assignee, ticket.team, ticket.priority):
        obj.name = next(payloads)
    db.session.commit()
    db.session.refresh(ticket)
    stored = [ticket.subject, ticket.customer.name, ticket.customer.email, topic.name, ticket.department.name,
              ticket.assignee.name, ticket.team.name, ticket.priority.name]
    assert all(value.startswith(FORMULA_STARTS) for value in stored)
    login(desk.admin)
    response = client.get("/agent/queue/open/export.csv")
    assert response.status_code == 200
    return response.get_data().decode("utf-8"), stored


def test_formula_payloads_come_out_neutralised(hostile_export):
    text, stored = hostile_export
    assert_inert(text, stored)
    # The quote is all that changed: the payload text itself is kept as typed.
    row = list(csv.reader(io.StringIO(text[1:], newline="")))[1]
    assert row[1] == "'" + stored[0]


def test_the_check_catches_an_export_that_does_not_neutralise(client, desk, make_ticket, login, monkeypatch):
    """The deliberately vulnerable variant: with the neutraliser turned off, the same check fails."""
    monkeypatch.setattr(export, "neutralise", lambda value: "" if value is None else str(value))
    make_ticket(subject="=HYPERLINK(\"http://evil.example/\",\"Click\")")
    login(desk.manager)
    text = client.get("/agent/queue/open/export.csv").get_data().decode("utf-8")
    assert list(csv.reader(io.StringIO(text[1:], newline="")))[1][1] == '=HYPERLINK("http://evil.example/","Click")'
    with pytest.raises(AssertionError, match="cells a spreadsheet would run"):
        assert_inert(text, ['=HYPERLINK("http://evil.example/","Click")'])


@pytest.mark.parametrize("value, cell", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"), ("plain", "plain"), ("a=b", "a=b"), ("", ""), (None, ""), ("'quoted", "'quoted"),
    (" =1", " =1"), (42, "42"),
])
def test_neutralise(value, cell):
    assert export.neutralise(value) == cell


def test_every_cell_goes_through_the_neutraliser(app):
    writer = export.SafeWriter()
    writer.row(["=a", "b", "\t", None])
    writer.row(["x,y", 'say "hi"', "-"])
    assert writer.take() == "'=a,b,'\t,\r\n\"x,y\",\"say \"\"hi\"\"\",'-\r\n"
    assert writer.take() == ""


def test_exports_are_rate_limited_per_agent(app_config, app, desk, make_ticket):
    """Each export reads a whole queue: an agent gets 10 a minute; another agent is not held up."""
    import secrets

    from helpdesk import create_app

    make_ticket()
    limited = create_app({**app_config, "RATELIMIT_ENABLED": True,
                          "RATELIMIT_KEY_PREFIX": f"test-{secrets.token_hex(4)}"})
    with limited.app_context():
        tech, manager = limited.test_client(), limited.test_client()
        for client, agent in ((tech, desk.tech), (manager, desk.manager)):
            response = client.post("/login", data={"email": agent.email, "password": desk.passwords[agent.email]})
            assert response.status_code == 302
        for _ in range(10):
            assert tech.get("/agent/queue/open/export.csv").status_code == 200
        refused = tech.get("/agent/queue/open/export.csv")
        assert refused.status_code == 429
        assert "Too many exports in a short time" in refused.get_data(as_text=True)
        assert manager.get("/agent/queue/open/export.csv").status_code == 200
        db.session.remove()
        db.engine.dispose()
