"""The queues: what each holds for whom, counts, sorting, filters, search, pagination, and a
bounded number of SQL statements per page whatever the number of tickets."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import event, select, update

from helpdesk import tickets
from helpdesk.auth import routes as auth_routes
from helpdesk.clock import utcnow
from helpdesk.extensions import db
from helpdesk.models import Department, SLAPlan, Ticket
from helpdesk.tickets import queues

HTMX = {"HX-Request": "true"}


def numbers(html: str) -> list[str]:
    """Ticket numbers of the queue table's rows, in order."""
    return re.findall(r'<td class="number"><a href="/agent/tickets/([A-Z0-9]+)"', html)


def set_due(ticket, due_at, overdue_flag=False):
    """Move a ticket's due time (time passing), as the overdue checker would see it."""
    db.session.execute(update(Ticket).where(Ticket.id == ticket.id).values(due_at=due_at, is_overdue=overdue_flag))
    db.session.commit()


@pytest.fixture
def spread(desk, make_ticket):
    """One ticket in every situation the queues tell apart."""
    m = desk.manager
    t = {
        "new": make_ticket(subject="Printer jam"),
        "mine": make_ticket(subject="VPN drops"),
        "pending": make_ticket(subject="Need a screenshot"),
        "escalated": make_ticket(subject="Database slow"),
        "closed": make_ticket(subject="Old question"),
        "resolved": make_ticket(subject="Fixed thing"),
        "it": make_ticket(topic="Password reset", subject="Locked out"),
        "late": make_ticket(subject="Late one"),
        "flag_only": make_ticket(subject="Flagged, then given more time"),
    }
    tickets.assign(m, t["mine"], agent=desk.tech)
    tickets.request_info(desk.tech, t["pending"], "Please send a screenshot.")
    tickets.escalate(desk.tech, t["escalated"], desk.teams["SysAdmins/Developers"], "Looks like the DB.")
    tickets.close(m, t["closed"])
    tickets.resolve(desk.tech, t["resolved"], "Done.")
    set_due(t["late"], utcnow() - timedelta(hours=3))
    # Flagged by the overdue check, then given a plan that moves its due time out: the lifecycle
    # takes the flag off at once, so it is not overdue any more.
    set_due(t["flag_only"], utcnow() - timedelta(hours=5))
    assert [f.number for f in tickets.check_overdue(utcnow() - timedelta(hours=4))] == [t["flag_only"].number]
    roomy = SLAPlan(name="Roomy", grace_hours=1000)
    db.session.add(roomy)
    db.session.commit()
    tickets.set_sla(m, db.session.get(Ticket, t["flag_only"].id), roomy)
    return t


def test_counts_per_queue_for_a_manager(desk, spread):
    # The escalated ticket went to a team, not a person, so it is also unassigned.
    assert queues.counts(desk.manager) == {
        "open": 6,  # new, mine, escalated, it, late, flag_only (pending is not "open")
        "mine": 0,
        "unassigned": 5,  # new, escalated, it, late, flag_only
        "overdue": 1,  # late (not yet flagged); not flag_only, whose due time moved out
        "pending": 1,
        "escalated": 1,
        "closed": 2,  # closed and resolved
    }


def test_counts_per_role(desk, spread):
    tech = queues.counts(desk.tech)  # Support + Senior Support: everything but the IT ticket
    assert tech == {"open": 5, "mine": 2, "unassigned": 4, "overdue": 1, "pending": 1,
                    "escalated": 1, "closed": 2}
    sysadmin = queues.counts(desk.sysadmin)  # IT Operations + SysAdmins: the IT ticket and the escalated one
    assert sysadmin == {"open": 2, "mine": 0, "unassigned": 2, "overdue": 0, "pending": 0,
                        "escalated": 1, "closed": 0}
    assert queues.counts(desk.admin) == queues.counts(desk.manager)


def test_counts_are_one_query(app, desk, spread):
    assert desk.manager.is_manager  # loaded before counting
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        first = queues.counts(desk.manager)
        counted = list(statements)
        again = queues.counts(desk.manager)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    # One counting query, besides the desk's change counter that every agent page reads anyway;
    # while nothing changes, the counts come again without counting.
    assert len([s for s in counted if "desk_state" not in s]) == 1
    assert again == first and len([s for s in statements[len(counted):] if "desk_state" not in s]) == 0


@pytest.mark.parametrize("queue, expected", [
    ("open", {"new", "mine", "escalated", "it", "late", "flag_only"}),
    ("mine", {"mine", "pending"}),
    ("unassigned", {"new", "escalated", "it", "late", "flag_only"}),
    ("overdue", {"late"}),
    ("pending", {"pending"}),
    ("escalated", {"escalated"}),
    ("closed", {"closed", "resolved"}),
])
def test_queue_pages_list_their_tickets(client, login, desk, spread, queue, expected):
    login(desk.tech if queue == "mine" else desk.manager)
    response = client.get(f"/agent/queue/{queue}" if queue != "open" else "/agent/")
    assert response.status_code == 200
    wanted = {spread[k].number for k in expected}
    assert set(numbers(response.get_data(as_text=True))) == wanted


def test_the_closed_queue_is_named_for_what_it_holds(client, login, desk, spread):
    """It lists resolved tickets too (badged "Resolved"): its name says so; its address stays."""
    login(desk.manager)
    html = client.get("/agent/queue/closed").get_data(as_text=True)
    assert "<h1>Resolved &amp; closed</h1>" in html
    assert re.search(r'href="/agent/queue/closed" aria-current="page">\s*<span>Resolved &amp; closed</span>', html)
    assert ">Resolved</span>" in html and ">Closed</span>" in html  # the badges of the two kinds it holds


def test_unknown_queue_is_404(client, login, desk):
    login(desk.manager)
    assert client.get("/agent/queue/everything").status_code == 404


def test_sidebar_counts_and_current_queue(client, login, desk, spread):
    login(desk.manager)
    html = client.get("/agent/queue/overdue").get_data(as_text=True)
    assert re.search(r'href="/agent/queue/overdue" aria-current="page">\s*<span>Overdue</span>\s*'
                     r'<span class="count alert">.*?1<', html, re.S)
    assert 'hx-trigger="ticket-updated from:body, every 3s"' in html
    partial = client.get("/agent/counts?current=pending", headers=HTMX)
    body = partial.get_data(as_text=True)
    assert partial.status_code == 200 and "<html" not in body and body.lstrip().startswith('<nav id="queue_counts"')
    assert re.search(r'href="/agent/queue/pending" aria-current="page"', body)
    assert client.get("/agent/counts?current=<script>", headers=HTMX).status_code == 200
    assert client.get("/agent/counts").status_code == 302  # without htmx: to the queue


# --- sorting ---------------------------------------------------------------------------------


@pytest.fixture
def four(desk, make_ticket):
    """Four Support tickets with distinct priorities, due times and update times."""
    low = make_ticket(topic="Billing question", subject="aaa low")  # Low, due in 48 h
    normal = make_ticket(subject="bbb normal")  # Normal, 48 h
    high = make_ticket(topic="Business Critical Outage", subject="ccc high")  # High, 2 h
    emergency = make_ticket(subject="ddd emergency", priority=desk.priorities["emergency"])
    set_due(normal, None)
    set_due(emergency, utcnow() + timedelta(hours=30))
    tickets.add_note(desk.manager, low, "touched last")  # most recently updated
    return {"low": low, "normal": normal, "high": high, "emergency": emergency}


@pytest.mark.parametrize("query, order", [
    ("", ["emergency", "high", "normal", "low"]),  # default: priority desc, then last update
    ("?sort=priority&dir=asc", ["low", "normal", "high", "emergency"]),
    ("?sort=due", ["high", "emergency", "low", "normal"]),  # no due time: last
    ("?sort=due&dir=desc", ["low", "emergency", "high", "normal"]),  # still last
    ("?sort=updated", ["low", "emergency", "high", "normal"]),
    ("?sort=created&dir=asc", ["low", "normal", "high", "emergency"]),
])
def test_sorting(client, login, desk, four, query, order):
    login(desk.manager)
    html = client.get("/agent/" + query).get_data(as_text=True)
    assert numbers(html) == [four[k].number for k in order]


def test_sort_by_number(client, login, desk, four):
    login(desk.manager)
    html = client.get("/agent/?sort=number&dir=asc").get_data(as_text=True)
    assert numbers(html) == sorted(t.number for t in four.values())


@pytest.mark.parametrize("query", [
    "?sort=subject;drop table ticket", "?sort=__class__", "?dir=sideways", "?sort=priority&dir=1",
    "?page=-3", "?page=abc", "?page=99999999999999999999", "?department=x", "?department=999",
    "?topic=1.5", "?priority=urgent", "?assignee=nobody", "?assignee=99999", "?q=" + "x" * 500,
])
def test_bad_parameters_never_fail(client, login, desk, four, query):
    login(desk.manager)
    response = client.get("/agent/" + query)
    assert response.status_code == 200
    assert len(numbers(response.get_data(as_text=True))) in (0, 4)


def test_bad_sort_falls_back_with_a_message(client, login, desk, four):
    login(desk.manager)
    html = client.get("/agent/?sort=subject").get_data(as_text=True)
    assert "That sort order is not available" in html
    assert numbers(html)[0] == four["emergency"].number


def test_sort_links_keep_filters_and_toggle(client, login, desk, four):
    login(desk.manager)
    dept = desk.departments["Support"].id
    html = client.get(f"/agent/?sort=due&dir=asc&department={dept}&q=a").get_data(as_text=True)
    due_link = re.search(r'<th scope="col" aria-sort="ascending">\s*<a href="([^"]+)"', html).group(1)
    assert "sort=due" in due_link and "dir=desc" in due_link
    assert f"department={dept}" in due_link and "q=a" in due_link


# --- filters and search ----------------------------------------------------------------------


def test_filters(client, login, desk, make_ticket, four):
    it = make_ticket(topic="Password reset", subject="eee it")
    tickets.assign(desk.manager, four["normal"], agent=desk.tech)
    login(desk.manager)

    def listed(query):
        return set(numbers(client.get("/agent/" + query).get_data(as_text=True)))

    assert listed(f"?department={desk.departments['IT Operations'].id}") == {it.number}
    assert listed(f"?topic={desk.topics['Billing question'].id}") == {four["low"].number}
    assert listed("?priority=emergency") == {four["emergency"].number}
    assert listed(f"?assignee={desk.tech.id}") == {four["normal"].number}
    assert listed("?assignee=unassigned") == {t.number for k, t in four.items() if k != "normal"} | {it.number}
    assert listed(f"?priority=high&department={desk.departments['Support'].id}") == {four["high"].number}


def test_unknown_filter_is_ignored_with_a_message(client, login, desk, four):
    login(desk.manager)
    html = client.get("/agent/?department=999&priority=urgent").get_data(as_text=True)
    assert "Unknown department filter ignored." in html and "Unknown priority filter ignored." in html
    assert len(numbers(html)) == 4


def search_desk(make_ticket) -> list[tuple[str, set]]:
    """Three tickets, and (query, the ticket numbers it must find) for a manager, who sees all."""
    a = make_ticket(subject="Invoice 100% wrong", name="Zoë O'Brien", email="zoe@brien.example")
    b = make_ticket(subject="My_account locked")
    c = make_ticket(subject="Invoice 1000 question", name="Plain Person", email="plain@example.org")
    return [
        ("invoice", {a.number, c.number}),  # case-insensitive
        ("100%", {a.number}),  # % is a character, not a wildcard
        ("%", {a.number}),
        ("_", {b.number}),  # _ likewise
        ("y_a", {b.number}),
        ("O'Brien", {a.number}),  # quotes are data
        ('"; drop table ticket; --', set()),
        ("' OR 1=1 --", set()),  # SQL in the search box is only text to look for
        ("%' OR '%'='", set()),
        ("') OR ('1'='1", set()),
        ("plain@example", {c.number}),  # customer email
        ("plain person", {c.number}),  # customer name
        (b.number, {b.number}),
        ("#" + b.number.lower(), {b.number}),
    ]


def search_problems(client, cases) -> list[str]:
    """Every query whose page fails or lists other tickets than it must."""
    problems = []
    for q, expected in cases:
        try:
            response = client.get("/agent/", query_string={"q": q})
        except Exception as exc:  # noqa: BLE001 - a query that breaks the SQL is a finding, not a crash
            db.session.rollback()
            problems.append(f"{q!r}: {type(exc).__name__}")
            continue
        if response.status_code != 200:
            problems.append(f"{q!r}: {response.status_code}")
        elif set(numbers(response.get_data(as_text=True))) != expected:
            problems.append(f"{q!r}: found {sorted(numbers(response.get_data(as_text=True)))}, not {sorted(expected)}")
    return problems


def test_search(client, login, desk, make_ticket):
    cases = search_desk(make_ticket)
    login(desk.manager)
    assert search_problems(client, cases) == []
    assert "1 ticket" in client.get("/agent/?q=_").get_data(as_text=True)


def test_search_is_limited_to_what_the_agent_sees(client, login, desk, make_ticket):
    support = make_ticket(subject="Shared word")
    it = make_ticket(topic="Password reset", subject="Shared word")
    login(desk.sysadmin)
    assert set(numbers(client.get("/agent/?q=shared").get_data(as_text=True))) == {it.number}
    assert numbers(client.get("/agent/?q=" + support.number).get_data(as_text=True)) == []


def test_active_search_returns_the_results_block_only(client, login, desk, four):
    login(desk.manager)
    response = client.get("/agent/?q=ccc", headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="results"') and "<html" not in body
    assert numbers(body) == [four["high"].number]
    assert 'hx-trigger="every 3s, ticket-updated from:body"' in body
    assert "q=ccc" in re.search(r'<section id="results"[^>]*hx-get="([^"]+)"', body).group(1)
    full = client.get("/agent/?q=ccc").get_data(as_text=True)
    assert 'hx-trigger="input delay:300ms, submit"' in full and 'hx-push-url="true"' in full
    assert 'value="ccc"' in full  # the search box keeps the query without JavaScript


# --- pagination and speed --------------------------------------------------------------------


def _bulk(make_ticket, n):
    return [make_ticket(subject=f"Bulk {i:03d}") for i in range(n)]


def test_pagination(client, login, desk, make_ticket):
    made = _bulk(make_ticket, 30)
    login(desk.manager)
    first = client.get("/agent/?sort=created&dir=asc").get_data(as_text=True)
    second = client.get("/agent/?sort=created&dir=asc&page=2").get_data(as_text=True)
    assert numbers(first) == [t.number for t in made[:25]]
    assert numbers(second) == [t.number for t in made[25:]]
    assert "1–25 of 30 tickets" in first and "Page 1 of 2" in first and "26–30 of 30" in second
    next_link = re.search(r'<a class="button small" rel="next" href="([^"]+)"', first).group(1)
    assert "page=2" in next_link and "sort=created" in next_link and "dir=asc" in next_link
    beyond = client.get("/agent/?sort=created&dir=asc&page=7").get_data(as_text=True)
    assert numbers(beyond) == numbers(second)  # past the end: the last page


def test_page_loads_only_its_rows(app, desk, make_ticket):
    _bulk(make_ticket, 30)
    params = queues.Params()
    page = queues.page(desk.manager, "open", params)
    assert page.total == 30 and len(page.tickets) == 25 and page.pages == 2


def _statements_for_queue_page(client, path="/agent/", headers=None, new_worker=False):
    db.session.expire_all()  # measure from a cold session every time
    if new_worker:  # ... and a worker that has read and counted nothing yet
        queues._COUNTS_CACHE.clear()
        for key in [key for key in client.application.extensions if key.startswith("helpdesk.setup.")]:
            del client.application.extensions[key]
    statements = []
    listener = lambda conn, cursor, sql, *rest: statements.append(sql)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        response = client.get(path, headers=headers or {})
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert response.status_code == 200
    return statements


def test_queue_page_issues_the_same_statements_for_5_or_40_tickets(client, login, desk, make_ticket, monkeypatch):
    # A session's "last seen" stamp, written once a minute of real time, would add its own
    # statements to whichever page came a minute after sign-in (a slow machine gets there).
    monkeypatch.setattr(auth_routes, "SEEN_EVERY", 3600)
    made = _bulk(make_ticket, 5)
    for t in made[:3]:
        tickets.assign(desk.manager, t, agent=desk.tech, team=desk.teams["Senior Support"])
    login(desk.manager)
    few = _statements_for_queue_page(client, new_worker=True)
    few_search = _statements_for_queue_page(client, "/agent/?q=bulk&sort=due", new_worker=True)
    more = _bulk(make_ticket, 35)
    for t in more[:20]:
        tickets.assign(desk.manager, t, agent=desk.vendor, team=desk.teams["Vendor Support"])
    many = _statements_for_queue_page(client, new_worker=True)
    many_search = _statements_for_queue_page(client, "/agent/?q=bulk&sort=due", new_worker=True)
    assert len(few) == len(many) and len(few_search) == len(many_search)
    # A new worker reads the setup's names and filter options once (eleven small reads); then a
    # page is the session, the counters, its rows, their tags, the macros the agent may apply to
    # a selection, and the settings (its counts are kept too).
    assert len(many) <= 18
    assert len(_statements_for_queue_page(client)) <= 6


# --- the total: the navigation's count where it is the same number ----------------------------


def _counting(statements):
    """(the statements counting one queue, the statements counting every queue: the navigation)."""
    navigation = [s for s in statements if s.lower().count("sum(case") == len(queues.LISTED)]
    counted = [s for s in statements if s not in navigation and ("count(" in s.lower() or "sum(case" in s.lower())]
    return counted, navigation


def _total(html: str) -> int:
    found = re.search(r"\d+–\d+ of (\d+) tickets?", html)
    return int(found.group(1)) if found else 0


@pytest.mark.parametrize("who", ["manager", "tech", "sysadmin", "admin"])
def test_every_queue_total_is_the_number_of_its_tickets(client, login, desk, spread, who):
    login(getattr(desk, who))
    for name in queues.LISTED:
        path = "/agent/" if name == "open" else f"/agent/queue/{name}"
        html = client.get(path).get_data(as_text=True)
        sidebar = re.search(rf'href="{path}"[^>]*>\s*<span>[^<]+</span>\s*<span class="count[^"]*">'
                            r'<span class="visually-hidden">: </span>(\d+)<', html).group(1)
        assert _total(html) == len(numbers(html)) == int(sidebar), (who, name)


def test_an_unfiltered_queue_is_counted_once_per_page(client, login, desk, make_ticket):
    _bulk(make_ticket, 30)
    login(desk.manager)
    statements = _statements_for_queue_page(client, "/agent/queue/unassigned")
    counted, navigation = _counting(statements)
    assert counted == [] and len(navigation) <= 1  # the navigation's counts hold the total
    assert "1–25 of 30 tickets" in client.get("/agent/queue/unassigned").get_data(as_text=True)
    # Filtered or moving with the clock: counted for itself, and right; searched: the tickets
    # found are listed once, and their number is the total.
    for path, total, counts in (("/agent/queue/unassigned?q=bulk+00", 10, 0), ("/agent/?priority=normal", 30, 1),
                                ("/agent/queue/overdue", 0, 1)):
        counted, _ = _counting(_statements_for_queue_page(client, path))
        assert len(counted) == counts, path
        assert _total(client.get(path).get_data(as_text=True)) == total, path


def test_the_results_block_counts_only_its_queue_or_reuses_the_navigation(client, login, desk, make_ticket):
    _bulk(make_ticket, 3)
    login(desk.manager)
    queues._COUNTS_CACHE.clear()
    path = "/agent/queue/unassigned?page=1"
    counted, navigation = _counting(_statements_for_queue_page(client, path, HTMX))
    assert len(counted) == 1 and navigation == []  # cold: not every queue for one total
    client.get("/agent/queue/unassigned")  # the whole page: the navigation is counted
    assert _counting(_statements_for_queue_page(client, path, HTMX)) == ([], [])
    block = client.get(path, headers=HTMX).get_data(as_text=True)
    assert "<html" not in block and "1–3 of 3 tickets" in block


def test_page_uses_known_counts_only_where_they_are_the_total(app, desk, spread):
    made_up = {name: 999 for name in queues.LISTED}
    assert queues.page(desk.manager, "open", queues.Params(), known=made_up).total == 999
    assert queues.page(desk.manager, "open", queues.Params(q="printer"), known=made_up).total == 1
    assert queues.page(desk.manager, "open", queues.Params(priority="normal"), known=made_up).total == 6
    assert queues.page(desk.manager, "overdue", queues.Params(), known=made_up).total == 1


@pytest.mark.parametrize("side", ["agent", "team"])
def test_a_change_of_access_shows_in_the_total_at_once(client, login, desk, spread, side):
    login(desk.tech)
    before = client.get("/agent/").get_data(as_text=True)
    assert _total(before) == 5
    if side == "agent":
        desk.tech.departments = []  # keeps Senior Support and the tickets assigned to them
    else:
        team = desk.teams["SysAdmins/Developers"]
        team.members = [*team.members, desk.tech]
    db.session.commit()
    after = client.get("/agent/").get_data(as_text=True)
    expected = {spread["mine"].number} if side == "agent" else {spread[k].number for k in
                                                               ("new", "mine", "escalated", "late", "flag_only")}
    assert set(numbers(after)) == expected and _total(after) == len(expected)


# --- the filter and bulk bars offer the setup as it is -----------------------------------------


def _offered(html: str, select_id: str) -> list[str]:
    block = re.search(rf'<select id="{select_id}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.findall(r"<option[^>]*>([^<]*)</option>", block)


def test_the_bars_offer_the_setup_right_after_an_admin_changes_it(admin, desk, make_ticket):
    """A worker keeps the filter options and the names rows show between requests; any change an
    admin makes shows in the very next page, and a filter by the new value works."""
    it = make_ticket(subject="Paper tray stuck")
    tickets.set_priority(desk.manager, it, desk.priorities["low"])
    tickets.assign(desk.manager, it, team=desk.teams["Vendor Support"])
    html = admin.get("/agent/").get_data(as_text=True)
    assert "Billing" not in _offered(html, "f-department")
    row = re.search(rf'<tr id="row-{it.number}".*?</tr>', html, re.S).group(0)
    assert ">Low</span>" in row and "Vendor Support" in row

    data = {"name": "Billing", "email": "billing@example.com", "manager": "0", "sla": "0", "active": "y"}
    assert admin.post("/admin/departments/new", data=data).status_code == 302
    low = desk.priorities["low"]
    assert admin.post(f"/admin/priorities/{low.id}", data={"name": "Minor", "colour": "#10b981"}).status_code == 302
    vendors = desk.teams["Vendor Support"]
    assert admin.post(f"/admin/teams/{vendors.id}/deactivate").status_code == 302

    html = admin.get("/agent/").get_data(as_text=True)
    assert "Billing" in _offered(html, "f-department")
    assert "Minor" in _offered(html, "f-priority") and "Low" not in _offered(html, "f-priority")
    assert "Minor" in _offered(html, "bulk-do") and "Vendor Support" not in _offered(html, "bulk-do")
    row = re.search(rf'<tr id="row-{it.number}".*?</tr>', html, re.S).group(0)
    assert ">Minor</span>" in row and "Vendor Support" in row  # an inactive team keeps its name
    billing = db.session.scalar(select(Department).where(Department.name == "Billing"))
    html = admin.get(f"/agent/?department={billing.id}").get_data(as_text=True)
    assert "Unknown department filter ignored." not in html and "No tickets match these filters." in html
