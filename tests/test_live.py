"""The live agent panel: the desk's change counter, 304 for regions that have not changed, the
ticket page's live parts, admin changes reaching open pages, presence, stale forms on every
action, and bulk actions."""
from __future__ import annotations

import hashlib
import json
import re
import time
from datetime import timedelta
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
from sqlalchemy import event, func, insert, select, update

from helpdesk import clock, live, tickets
from helpdesk.clock import utcnow
from helpdesk.extensions import db
from helpdesk.mail import outbox
from helpdesk.models import Agent, DeskState, Event, HelpTopic, OutboxMail, Presence, Ticket, team_members
from support.rows import fresh

HTMX = {"HX-Request": "true"}


def desk_version() -> int:
    db.session.expire_all()
    return db.session.scalar(select(DeskState.version).where(DeskState.id == 1)) or 0


def region_headers(html: str, element_id: str) -> tuple[str, dict]:
    """The poll URL and the headers htmx sends with it: the region's hx-headers, and HX-Trigger,
    the id of the element whose trigger fired (the region itself, for its poll)."""
    tag = re.search(rf'<[a-z]+ id="{element_id}"[^>]*>', html, re.S).group(0)
    url = re.search(r'hx-(?:get|post)="([^"]+)"', tag).group(1).replace("&amp;", "&")
    headers = json.loads(re.search(r"hx-headers='([^']+)'", tag).group(1).replace("&#34;", '"'))
    return url, {**headers, "HX-Trigger": element_id}


def statements_during(call):
    seen = []
    listener = lambda conn, cursor, sql, *rest: seen.append(sql)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        result = call()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    return result, seen


# --- the change counter -----------------------------------------------------------------------


def test_every_lifecycle_change_bumps_the_desk_version_and_nothing_else_does(desk, make_ticket, inbox):
    start = desk_version()
    t = make_ticket()
    steps = [
        lambda: tickets.claim(desk.tech, t),
        lambda: tickets.add_note(desk.tech, t, "looking"),
        lambda: tickets.set_priority(desk.manager, t, desk.priorities["high"]),
        lambda: tickets.request_info(desk.tech, t, "Which app version?"),
        lambda: tickets.customer_reply(t, "Version 4.2"),
        lambda: tickets.resolve(desk.tech, t, "Update to 4.3"),
        lambda: tickets.customer_confirm(t),
    ]
    seen = [desk_version()]
    assert seen[0] == start + 1  # the opening itself
    for step in steps:
        step()
        seen.append(desk_version())
    assert seen == list(range(start + 1, start + 2 + len(steps)))
    # Mail sending, presence and refused changes leave it alone.
    inbox.deliver()
    live.heartbeat(t, desk.tech, "viewing")
    with pytest.raises(tickets.InvalidTransition):
        tickets.resolve(desk.tech, fresh(t), "again")
    assert desk_version() == seen[-1]


def setup_version() -> int:
    db.session.expire_all()
    return db.session.scalar(select(DeskState.version).where(DeskState.id == live.SETUP)) or 0


def test_setup_changes_by_statement_bump_both_counters_unless_no_page_shows_them(desk):
    topic = desk.topics["General inquiry"]
    desk_before, setup_before = desk_version(), setup_version()
    db.session.execute(update(HelpTopic).where(HelpTopic.id == topic.id).values(rr_last_agent_id=desk.tech.id))
    db.session.execute(update(Agent).where(Agent.id == desk.tech.id).values(totp_last_step=1))
    db.session.commit()
    assert (desk_version(), setup_version()) == (desk_before, setup_before)  # nothing shown changed
    db.session.execute(insert(team_members).values(team_id=desk.teams["Vendor Support"].id, agent_id=desk.tech.id))
    db.session.commit()
    assert (desk_version(), setup_version()) == (desk_before + 1, setup_before + 1)
    db.session.execute(update(HelpTopic).where(HelpTopic.id == topic.id).values(name="General questions"))
    db.session.commit()
    assert (desk_version(), setup_version()) == (desk_before + 2, setup_before + 2)
    db.session.execute(update(Ticket).values(subject=Ticket.subject))  # a ticket change: the desk's only
    db.session.commit()
    assert (desk_version(), setup_version()) == (desk_before + 3, setup_before + 2)


# --- queue results and counts: 304 while nothing changed ------------------------------------


def test_queue_results_answer_304_until_a_customer_replies(client, login, desk, ticket):
    login(desk.manager)
    page = client.get("/agent/").get_data(as_text=True)
    url, headers = region_headers(page, "results")
    assert 'hx-trigger="every 3s, ticket-updated from:body"' in page

    def poll():
        return client.get(url, headers={**HTMX, **headers})

    response, statements = statements_during(poll)
    assert response.status_code == 304 and response.get_data() == b""
    assert response.headers["ETag"] == headers["If-None-Match"]
    assert "no-cache" in response.headers["Cache-Control"]
    # The signed-in agent (by primary key) and the counter: nothing rendered, no ticket read.
    others = [s for s in statements if not s.startswith("SELECT agent.id")]
    assert len(others) == 1 and "FROM desk_state" in others[0]

    tickets.customer_reply(fresh(ticket), "Still down, now the web too")
    changed = poll()
    assert changed.status_code == 200
    body = changed.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="results"') and "Mobile banking down" in body
    new_url, new_headers = region_headers(body, "results")
    assert new_headers != headers and changed.headers["ETag"] == new_headers["If-None-Match"]
    assert client.get(new_url, headers={**HTMX, **new_headers}).status_code == 304


def test_a_new_ticket_shows_in_the_polled_queue_and_the_counts(client, login, desk, ticket, make_ticket):
    login(desk.manager)
    page = client.get("/agent/").get_data(as_text=True)
    results_url, results_headers = region_headers(page, "results")
    counts_url, counts_headers = region_headers(page, "queue_counts")
    assert client.get(counts_url, headers={**HTMX, **counts_headers}).status_code == 304
    make_ticket(subject="Printer on fire")
    counts = client.get(counts_url, headers={**HTMX, **counts_headers})
    results = client.get(results_url, headers={**HTMX, **results_headers})
    assert counts.status_code == results.status_code == 200
    assert re.search(r"<span>Open</span>\s*<span class=\"count\">.*?2<", counts.get_data(as_text=True), re.S)
    assert "Printer on fire" in results.get_data(as_text=True)


def test_etag_depends_on_the_agent_and_the_query(client, login, desk, ticket):
    login(desk.manager)
    page = client.get("/agent/?sort=due").get_data(as_text=True)
    url, headers = region_headers(page, "results")
    assert "sort=due" in url
    assert client.get(url, headers={**HTMX, **headers}).status_code == 304
    other = client.get("/agent/?sort=number", headers={**HTMX, **headers})
    assert other.status_code == 200  # another query string: another ETag
    login(desk.tech)
    assert client.get(url, headers={**HTMX, **headers}).status_code == 200  # another agent


def test_full_pages_are_never_answered_304(client, login, desk, ticket):
    login(desk.manager)
    page = client.get("/agent/").get_data(as_text=True)
    _, headers = region_headers(page, "results")
    full = client.get("/agent/", headers=headers)  # no HX-Request: the whole page, with its flash
    assert full.status_code == 200 and "<html" in full.get_data(as_text=True)


def test_a_signed_out_poll_sends_the_page_to_sign_in(client, desk):
    response = client.get("/agent/counts", headers=HTMX)
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/login"
    assert client.get("/agent/").status_code == 302


# --- the ticket page ----------------------------------------------------------------------


def test_ticket_page_polls_304_then_gets_header_thread_history_and_a_notice(client, login, desk, ticket):
    login(desk.manager)
    page = client.get(f"/agent/tickets/{ticket.number}").get_data(as_text=True)
    loaded = fresh(ticket).version
    url, headers = region_headers(page, "live-poller")
    assert f"since={loaded}" in url
    response, statements = statements_during(lambda: client.get(url, headers={**HTMX, **headers}))
    others = [s for s in statements if not s.startswith("SELECT agent.id")]
    assert response.status_code == 304 and len(others) == 1 and "SELECT ticket.version" in others[0]

    tickets.claim(desk.tech, fresh(ticket))
    tickets.add_note(desk.tech, fresh(ticket), "Checking the load balancer")
    response = client.get(url, headers={**HTMX, **headers})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    for region in ("live-poller", "ticket-head", "thread", "history", "changed-notice", "composer", "ticket-actions"):
        assert re.search(rf'id="{region}"[^>]*hx-swap-oob="true"', body), region
    assert "Checking the load balancer" in body and "Tom Technician" in body
    assert "This ticket changed since you opened it" in body and "took the ticket" in body
    assert 'id="live-status" hx-swap-oob="innerHTML">Ticket #' in body and "added an internal note" in body
    # The actions offered now, with fresh forms at the current version (the page keeps any form the
    # agent is writing in: static/app.js); a manager may still take it over from Tom.
    assert f'name="version" type="hidden" value="{fresh(ticket).version}"' in body
    assert f'name="version" type="hidden" value="{loaded}"' not in body
    assert "Take over from Tom Technician" in body
    next_url, next_headers = region_headers(body, "live-poller")
    assert f"since={loaded}" in next_url and f"shown={fresh(ticket).version}" in next_url
    assert client.get(next_url, headers={**HTMX, **next_headers}).status_code == 304


def test_ticket_moved_out_of_sight_stops_the_polling(client, login, desk, ticket):
    login(desk.tech)
    page = client.get(f"/agent/tickets/{ticket.number}").get_data(as_text=True)
    url, headers = region_headers(page, "live-poller")
    tickets.transfer(desk.manager, fresh(ticket), desk.departments["IT Operations"])
    response = client.get(url, headers={**HTMX, **headers})
    assert response.status_code == 286 and "You can no longer see" in response.get_data(as_text=True)


def test_live_ticket_answers_alike_for_unseen_and_missing_tickets(client, login, desk, ticket):
    login(desk.sysadmin)
    unseen = client.get(f"/agent/tickets/{ticket.number}/live?since=1", headers=HTMX)
    missing = client.get("/agent/tickets/ZZZZZZ/live?since=1", headers=HTMX)
    assert unseen.status_code == missing.status_code == 286
    assert unseen.get_data(as_text=True).replace(ticket.number, "ZZZZZZ") == missing.get_data(as_text=True)
    assert "Mobile banking" not in unseen.get_data(as_text=True)
    login(desk.tech)
    assert client.get(f"/agent/tickets/{ticket.number}/live?since=x", headers=HTMX).status_code == 400


def old_style_etag(identity: str, region: str, key: str, version: str) -> str:
    """An ETag as the desk made them before they were keyed: a plain hash of what anyone signed
    in can know (their own session cookie's identity, the URL, a guessable version)."""
    offset = int(hashlib.sha256(identity.encode()).hexdigest()[:8], 16) % 60
    minute = int((live.time.time() + offset) // 60)
    return region[0] + hashlib.sha256(f"{region}|{key}|{identity}|{version}|{minute}".encode()).hexdigest()[:20]


def identity_of(client) -> str:
    with client.session_transaction() as session:
        return session["_user_id"]


def test_an_unseen_ticket_gets_the_missing_tickets_answer_whatever_tag_is_sent(app, desk, ticket, one_minute):
    tech = signed_in(app, desk, desk.tech)  # Support: sees the outage ticket
    page = tech.get(f"/agent/tickets/{ticket.number}").get_data(as_text=True)
    url, headers = region_headers(page, "live-poller")
    assert tech.get(url, headers={**HTMX, **headers}).status_code == 304
    state = f"{fresh(ticket).version}.{setup_version()}"
    # The tag cannot be computed from the cookie and the ticket's version.
    assert headers["If-None-Match"] != f'"{old_style_etag(identity_of(tech), "ticket", live.url_key(url), state)}"'

    assert unseen_ticket_poll_problems(app, desk, ticket, url, headers["If-None-Match"], state) == []


def unseen_ticket_poll_problems(app, desk, ticket, url: str, seen_tag: str, state: str) -> list[str]:
    """An agent of another department polls a ticket's live region with every tag they could
    send (the one a visible agent got, one made from their own cookie, made-up ones, "*",
    none): each time the answer of a ticket that does not exist."""
    sysadmin = signed_in(app, desk, desk.sysadmin)  # IT Operations: does not see the ticket
    forged = old_style_etag(identity_of(sysadmin), "ticket", live.url_key(url), state)
    missing = sysadmin.get(url.replace(ticket.number, "ZZZZZZ"), headers=HTMX)
    expected = missing.get_data(as_text=True)
    problems = [] if missing.status_code == 286 else [f"a missing ticket answered {missing.status_code}"]
    for tag in (seen_tag, f'"{forged}"', '"t0000"', "*", None):
        unseen = sysadmin.get(url, headers={**HTMX, "If-None-Match": tag} if tag else HTMX)
        body = unseen.get_data(as_text=True)
        if (unseen.status_code != 286 or body.replace(ticket.number, "ZZZZZZ") != expected
                or "ETag" in unseen.headers or "Mobile banking" in body):
            problems.append(f"with If-None-Match {tag}: {unseen.status_code}, not as for a missing ticket")
    return problems


def page_versions(html: str) -> dict:
    """The data-version of the queue page's live regions (the list and the navigation's counts)."""
    return dict(re.findall(r'<[a-z]+ id="(results|queue_counts)"[^>]*?data-version="([^"]*)"', html, re.S))


def test_activity_in_unseen_departments_leaves_an_agents_queue_page_as_it_was(app, desk, make_ticket, one_minute):
    tech = signed_in(app, desk, desk.tech)  # Support, and the Senior Support team
    watcher = Watcher(tech)
    before = page_versions(tech.get("/agent/").get_data(as_text=True))
    assert set(before) == {"results", "queue_counts"}
    # IT Operations is busy: tickets opened, assigned, worked, flagged overdue, closed.
    it = make_ticket(topic="Password reset", subject="VPN locked")
    late = make_ticket(topic="Password reset", subject="Mailbox full")
    tickets.assign(desk.manager, fresh(it), agent=desk.sysadmin, team=desk.teams["SysAdmins/Developers"])
    tickets.add_note(desk.sysadmin, fresh(it), "Looking")
    tickets.close(desk.sysadmin, fresh(it))
    assert [f.number for f in tickets.check_overdue(utcnow() + timedelta(days=30))] == [late.number]
    assert page_versions(tech.get("/agent/").get_data(as_text=True)) == before
    assert {r: watcher.poll(r).status_code for r in watcher.regions} == dict.fromkeys(watcher.regions, 304)
    # A change in the technician's own department moves both.
    printer = make_ticket(subject="Printer on fire")  # General inquiry: Support
    moved = page_versions(tech.get("/agent/").get_data(as_text=True))
    assert moved["results"] != before["results"] and moved["queue_counts"] != before["queue_counts"]
    polls = {r: watcher.poll(r) for r in watcher.regions}
    assert {r: p.status_code for r, p in polls.items()} == dict.fromkeys(watcher.regions, 200)
    assert "Printer on fire" in polls["results"].get_data(as_text=True)
    # So does a ticket of another department handed to the technician's team, and its leaving.
    tickets.assign(desk.manager, fresh(late), team=desk.teams["Senior Support"])
    assert "Mailbox full" in watcher.poll("results").get_data(as_text=True)
    tickets.transfer(desk.manager, fresh(printer), desk.departments["IT Operations"])
    assert "Printer on fire" not in watcher.poll("results").get_data(as_text=True)


# Each action, and a change by someone else that touches what it is about (tickets.rules.AFFECTS).
STALE = {
    "reply": ({"body": "typed"}, lambda d, t: tickets.reply(d.tech, t, "Meanwhile"), "replied to the customer"),
    "claim": ({}, lambda d, t: tickets.claim(d.tech, t), "took the ticket"),
    "request-info": ({"body": "typed"}, lambda d, t: tickets.reply(d.tech, t, "Meanwhile"),
                     "replied to the customer"),
    "escalate": ({"note": "typed"}, lambda d, t: tickets.assign(d.admin, t, team=d.teams["Senior Support"]),
                 "assigned it to a team"),
    "resolve": ({"resolution": "typed"}, lambda d, t: tickets.reply(d.tech, t, "Meanwhile"),
                "replied to the customer"),
    "close": ({"note": "typed"}, lambda d, t: tickets.resolve(d.tech, t, "Meanwhile"), "changed the status"),
    "access-link": ({}, lambda d, t: tickets.new_access_link(d.tech, t), "sent the customer a new access link"),
    "assign": ({}, lambda d, t: tickets.claim(d.tech, t), "took the ticket"),
    "priority": ({}, lambda d, t: tickets.set_priority(d.admin, t, d.priorities["emergency"]), "changed the priority"),
    "sla": ({}, lambda d, t: tickets.set_sla(d.admin, t, d.slas["Priority"]), "changed the SLA plan"),
    "transfer": ({}, lambda d, t: tickets.transfer(d.admin, t, d.departments["IT Operations"]),
                 "transferred it to another department"),
}


def _stale_post(client, desk, ticket, action, data, version):
    if "escalate" == action:
        data = {**data, "team": desk.teams["SysAdmins/Developers"].id}
    extra = {"assign": {"agent": desk.tech.id}, "priority": {"priority": desk.priorities["low"].id},
             "sla": {"sla": desk.slas["Standard"].id}, "transfer": {"department": desk.departments["IT Operations"].id}}
    return client.post(f"/agent/tickets/{ticket.number}/{action}",
                       data={"version": version, **extra.get(action, {}), **data})


@pytest.mark.parametrize("action", STALE)
def test_every_action_from_a_stale_page_is_a_conflict_listing_the_change(client, login, desk, ticket, action):
    data, change, phrase = STALE[action]
    if action == "transfer":  # moved meanwhile: the agent sends it back where it was
        data = {"department": desk.departments["Support"].id}
    seen = fresh(ticket).version
    change(desk, fresh(ticket))
    changed = fresh(ticket).version
    login(desk.manager)
    response = _stale_post(client, desk, ticket, action, data, seen)
    body = response.get_data(as_text=True)
    assert response.status_code == 409, body[:500]
    assert f"</strong> {phrase}" in body
    assert fresh(ticket).version == changed  # nothing was done


@pytest.mark.parametrize("action", [*STALE, "note"])
def test_a_note_and_a_customer_message_meanwhile_refuse_no_action_but_an_answer(client, login, desk, ticket, action):
    data = STALE[action][0] if action in STALE else {"body": "typed"}
    seen = fresh(ticket).version
    tickets.add_note(desk.tech, fresh(ticket), "Meanwhile")
    tickets.customer_reply(fresh(ticket), "Any news?")
    login(desk.manager)
    response = _stale_post(client, desk, ticket, action, data, seen)
    if action in ("reply", "request-info", "resolve"):  # the page had not shown the message
        assert response.status_code == 409 and "</strong> wrote a message" in response.get_data(as_text=True)
        shown = fresh(ticket).version
        response = _stale_post(client, desk, ticket, action, {**data, "seen": shown}, seen)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert fresh(ticket).version > seen + 2


# --- the setup the pages show: an admin's change reaches open pages at the next poll ---------


@pytest.fixture
def one_minute(monkeypatch):
    """The clock stays in one minute: ETags and cached counts change only with the data."""
    now, stamp = utcnow(), time.time()
    monkeypatch.setattr(live, "time", SimpleNamespace(time=lambda: stamp))
    monkeypatch.setattr(clock, "utcnow", lambda: now)


class FormFields(HTMLParser):
    """The fields of a page's POST form to `action`, with the values the page put in them (what a
    browser sends when the admin changes nothing)."""

    def __init__(self, action: str):
        super().__init__()
        self.action, self.fields, self.inside = action, {}, False
        self.select = self.textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("action") == self.action and (a.get("method") or "").lower() == "post"
        elif not self.inside:
            return
        elif tag == "select":
            self.select = (a["name"], "multiple" in a, [])
        elif tag == "option" and self.select:
            name, multiple, options = self.select
            options.append(a.get("value", ""))
            if "selected" in a:
                self.fields.setdefault(name, []).append(a.get("value", ""))
        elif tag == "textarea":
            self.textarea = a["name"]
            self.fields[a["name"]] = [""]
        elif tag == "input" and "name" in a and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") not in ("checkbox", "radio") or "checked" in a:
                self.fields.setdefault(a["name"], []).append(a.get("value") or "")

    def handle_data(self, data):
        if self.inside and self.textarea:
            self.fields[self.textarea][0] += data

    def handle_endtag(self, tag):
        if tag == "select" and self.select:
            name, multiple, options = self.select
            if not multiple and name not in self.fields and options:
                self.fields[name] = options[:1]
            self.select = None
        elif tag == "textarea":
            self.textarea = None
        elif tag == "form":
            self.inside = False


def admin_saves(admin, page: str, action: str, **changes):
    """The admin opens the page, changes these fields of its form and saves it."""
    form = FormFields(action)
    form.feed(admin.get(page).get_data(as_text=True))
    assert form.fields, f"no form to {action} on {page}"
    response = admin.post(action, data={**form.fields, **changes})
    assert response.status_code in (200, 302), response.get_data(as_text=True)[:500]
    return response


def signed_in(app, desk, agent):
    client = app.test_client()
    response = client.post("/login", data={"email": agent.email, "password": desk.passwords[agent.email]})
    assert response.status_code == 302
    return client


class Watcher:
    """An agent with the queue (and a ticket's page) open, polling their live regions as htmx does."""

    def __init__(self, client, ticket=None):
        self.client = client
        queue = client.get("/agent/").get_data(as_text=True)
        self.regions = {region: region_headers(queue, region) for region in ("results", "queue_counts")}
        if ticket is not None:
            page = client.get(f"/agent/tickets/{ticket.number}").get_data(as_text=True)
            self.regions["live-poller"] = region_headers(page, "live-poller")

    def poll(self, region):
        url, headers = self.regions[region]
        response = self.client.get(url, headers={**HTMX, **headers})
        if response.status_code == 200:  # the region as now shown, polling with its new ETag
            body = response.get_data(as_text=True)
            self.regions[region] = region_headers(body, region)
            assert response.headers["ETag"] == self.regions[region][1]["If-None-Match"]
        return response

    def polls(self) -> dict:
        return {region: self.poll(region) for region in self.regions}


@pytest.fixture
def worked(desk, ticket):
    """The outage ticket assigned to the technician and the Senior Support team."""
    return tickets.assign(desk.manager, fresh(ticket), agent=desk.tech, team=desk.teams["Senior Support"])


RENAMES = {  # what the admin renames: (its edit page, the form's action, the new name's field)
    "help topic": ("/admin/topics/{topic}", None, "name"),
    "department": ("/admin/departments/{department}", None, "name"),
    "team": ("/admin/teams/{team}", None, "name"),
    "priority": ("/admin/priorities/{priority}/edit", "/admin/priorities/{priority}", "name"),
    "SLA plan": ("/admin/sla-plans/{sla}", None, "name"),
    "agent": ("/admin/agents/{agent}", None, "name"),
}


def rename_urls(what, t):
    ids = {"topic": t.topic_id, "department": t.department_id, "team": t.team_id, "priority": t.priority_id,
           "sla": t.sla_id, "agent": t.assignee_id}
    page, action, field = RENAMES[what]
    return page.format(**ids), (action or page).format(**ids), field


@pytest.mark.parametrize("what", list(RENAMES))
def test_an_admin_rename_reaches_open_queue_and_ticket_pages_at_the_next_poll(app, desk, worked, one_minute, what):
    watcher = Watcher(signed_in(app, desk, desk.manager), worked)
    assert {r: p.status_code for r, p in watcher.polls().items()} == dict.fromkeys(watcher.regions, 304)
    admin = signed_in(app, desk, desk.admin)
    page, action, field = rename_urls(what, fresh(worked))
    before = desk_version()
    admin_saves(admin, page, action, **{field: "Renamed Zebra"})
    assert desk_version() == before + 1  # one transaction, one step
    polls = watcher.polls()
    assert {r: p.status_code for r, p in polls.items()} == dict.fromkeys(watcher.regions, 200)
    assert "Renamed Zebra" in polls["live-poller"].get_data(as_text=True)
    if what != "SLA plan":  # the queue does not show the plan
        assert "Renamed Zebra" in polls["results"].get_data(as_text=True)
    assert {r: p.status_code for r, p in watcher.polls().items()} == dict.fromkeys(watcher.regions, 304)


def test_saving_unchanged_or_what_no_page_shows_leaves_open_pages_alone(app, desk, worked, one_minute):
    watcher = Watcher(signed_in(app, desk, desk.manager), worked)
    admin = signed_in(app, desk, desk.admin)
    before = desk_version()
    for what in RENAMES:
        page, action, _ = rename_urls(what, fresh(worked))
        admin_saves(admin, page, action)  # saved as shown: "Nothing was changed."
    # The technician's password (a new session token too) and a fresh sign-in change no page.
    admin.post(f"/admin/agents/{desk.tech.id}/password", data={"mode": "set", "password": "another-good-one"})
    db.session.expire_all()
    assert db.session.get(Agent, desk.tech.id).check_password("another-good-one")
    signed_in(app, desk, desk.sysadmin)
    assert desk_version() == before
    assert {r: p.status_code for r, p in watcher.polls().items()} == dict.fromkeys(watcher.regions, 304)


def test_a_ticket_change_elsewhere_leaves_other_ticket_pages_at_304(app, desk, worked, make_ticket, one_minute):
    watcher = Watcher(signed_in(app, desk, desk.manager), worked)
    make_ticket(subject="Another problem")
    polls = watcher.polls()
    assert polls["results"].status_code == polls["queue_counts"].status_code == 200
    assert polls["live-poller"].status_code == 304  # only the setup and its own ticket move it


def open_count(html: str) -> int:
    return int(re.search(r'<span>Open</span>\s*<span class="count[^"]*">.*?</span>(\d+)<', html, re.S).group(1))


def test_membership_changes_reach_the_agents_counts_and_queue_at_the_next_poll(app, desk, make_ticket, one_minute):
    it = make_ticket(topic="Password reset", subject="Locked out of the VPN")  # IT Operations: not the technician's
    tech = signed_in(app, desk, desk.tech)
    page = tech.get("/agent/").get_data(as_text=True)
    assert "Locked out of the VPN" not in page
    shown = open_count(page)
    watcher = Watcher(tech)
    assert watcher.poll("queue_counts").status_code == 304
    admin = signed_in(app, desk, desk.admin)

    def departments(*names):
        return [str(desk.departments[n].id) for n in names]

    agent_page = f"/admin/agents/{desk.tech.id}"
    held = FormFields(agent_page)
    held.feed(admin.get(agent_page).get_data(as_text=True))
    admin_saves(admin, agent_page, agent_page, departments=held.fields["departments"] + departments("IT Operations"))
    counts, results = watcher.poll("queue_counts"), watcher.poll("results")
    assert counts.status_code == results.status_code == 200
    assert open_count(counts.get_data(as_text=True)) == shown + 1
    assert "Locked out of the VPN" in results.get_data(as_text=True)

    admin_saves(admin, agent_page, agent_page, departments=held.fields["departments"])  # and out again
    counts = watcher.poll("queue_counts")
    assert counts.status_code == 200 and open_count(counts.get_data(as_text=True)) == shown

    # A team's members: the ticket passed to the SysAdmins team, then the technician made a member.
    tickets.assign(desk.admin, fresh(it), team=desk.teams["SysAdmins/Developers"])
    assert watcher.poll("queue_counts").status_code == 304  # nothing the technician sees changed
    team_page = f"/admin/teams/{desk.teams['SysAdmins/Developers'].id}"
    members = FormFields(team_page)
    members.feed(admin.get(team_page).get_data(as_text=True))
    admin_saves(admin, team_page, team_page, members=members.fields["members"] + [str(desk.tech.id)])
    counts = watcher.poll("queue_counts")
    assert counts.status_code == 200 and open_count(counts.get_data(as_text=True)) == shown + 1


def test_a_role_change_counts_anew_at_the_next_sign_in(app, desk, make_ticket, one_minute):
    make_ticket(topic="Password reset", subject="Locked out of the VPN")
    tech = signed_in(app, desk, desk.tech)
    shown = open_count(tech.get("/agent/").get_data(as_text=True))
    admin = signed_in(app, desk, desk.admin)
    page = f"/admin/agents/{desk.tech.id}"
    admin_saves(admin, page, page, role="admin")  # sees every ticket now
    assert tech.get("/agent/counts", headers=HTMX).headers["HX-Redirect"] == "/login"  # signed out by it
    tech = signed_in(app, desk, desk.tech)
    assert open_count(tech.get("/agent/").get_data(as_text=True)) == shown + 1


# --- presence -----------------------------------------------------------------------------


def two_clients(app, desk):
    """The technician and the manager, each signed in on a client of their own."""
    clients = []
    for agent in (desk.tech, desk.manager):
        client = app.test_client()
        response = client.post("/login", data={"email": agent.email, "password": desk.passwords[agent.email]})
        assert response.status_code == 302
        clients.append(client)
    return clients


def beat(client, ticket, state="viewing", shown=""):
    return client.post(f"/agent/tickets/{ticket.number}/presence", data={"state": state, "shown": shown},
                       headers=HTMX)


def test_presence_shows_who_else_is_here_and_who_is_typing(app, desk, ticket):
    tech, manager = two_clients(app, desk)
    first = beat(tech, ticket)
    assert first.status_code == 200 and "<li" not in first.get_data(as_text=True)  # alone
    seen = beat(manager, ticket).get_data(as_text=True)
    assert "Tom Technician</strong> is viewing this ticket" in seen
    shown = re.search(r'id="presence-shown" name="shown" value="([0-9a-f]+)"', seen).group(1)
    assert beat(manager, ticket, shown=shown).status_code == 204  # nothing new: no swap
    beat(tech, ticket, state="typing")
    typing = beat(manager, ticket, shown=shown)
    assert typing.status_code == 200 and "Tom Technician</strong> is writing" in typing.get_data(as_text=True)
    assert "Maya Manager</strong> is viewing" in beat(tech, ticket, state="typing").get_data(as_text=True)
    assert beat(tech, ticket, state="<script>").status_code == 200  # unknown states count as viewing


@pytest.mark.parametrize("seconds, ttl", [(None, 12), (2, 6)])
def test_presence_beats_as_configured_and_lasts_three_beats(app, desk, ticket, monkeypatch, seconds, ttl):
    if seconds is not None:
        app.config["HELPDESK_PRESENCE_SECONDS"] = seconds
    tech, manager = two_clients(app, desk)
    page = manager.get(f"/agent/tickets/{ticket.number}").get_data(as_text=True)
    assert f'hx-trigger="load, every {seconds or 4}s, presence-changed from:body"' in page
    start = utcnow()
    beat(tech, ticket)
    for after, shown in ((ttl - 1, True), (ttl + 1, False)):
        monkeypatch.setattr(clock, "utcnow", lambda: start + timedelta(seconds=after))
        assert ("Tom Technician" in beat(manager, ticket).get_data(as_text=True)) is shown, after


def test_presence_expires_within_seconds_and_leaving_removes_it(app, desk, ticket, monkeypatch):
    tech, manager = two_clients(app, desk)
    beat(tech, ticket)
    assert "Tom Technician" in beat(manager, ticket).get_data(as_text=True)
    later = utcnow() + timedelta(seconds=13)  # the default's 12 s and a second
    monkeypatch.setattr(clock, "utcnow", lambda: later)
    gone = beat(manager, ticket).get_data(as_text=True)
    assert "Tom Technician" not in gone
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Presence).where(Presence.agent_id == desk.tech.id)) == 0
    monkeypatch.undo()
    beat(tech, ticket)
    assert tech.post(f"/agent/tickets/{ticket.number}/presence", data={"leave": "1"}).status_code == 204
    assert "Tom Technician" not in beat(manager, ticket).get_data(as_text=True)


def test_presence_needs_a_visible_ticket(client, login, desk, ticket):
    login(desk.sysadmin)
    assert beat(client, ticket).status_code == 404
    login(desk.tech)
    assert client.post(f"/agent/tickets/{ticket.number}/presence").status_code == 302  # no htmx: the page


# --- bulk actions -------------------------------------------------------------------------


def picks(*ts):
    return [f"{fresh(t).number}@{fresh(t).version}" for t in ts]


def test_bulk_assign_goes_through_the_lifecycle_and_reports_refusals(client, login, desk, make_ticket, inbox):
    a, b, closed = make_ticket(subject="Bulk A"), make_ticket(subject="Bulk B"), make_ticket(subject="Bulk C")
    tickets.close(desk.manager, closed)
    inbox.deliver()
    inbox.clear()
    login(desk.manager)
    response = client.post("/agent/queue/open/bulk", headers=HTMX, data={
        "do": f"agent:{desk.tech.id}", "ticket": picks(a, b, closed) + ["ZZZZZZ@1"], "next": "/agent/?sort=number"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "ticket-updated"
    assert body.lstrip().startswith('<section id="results"') and 'id="flash"' in body
    assert f"Assigned to Tom Technician: #{a.number}, #{b.number}." in body
    assert f"#{closed.number}: A ticket that is closed cannot take this action: assign." in body
    assert "#ZZZZZZ: there is no such ticket" in body
    assert fresh(a).assignee_id == fresh(b).assignee_id == desk.tech.id and fresh(closed).assignee_id is None
    for t in (a, b):
        assert db.session.scalar(select(func.count()).select_from(Event).where(
            Event.ticket_id == t.id, Event.action == "assigned")) == 1
    inbox.deliver()
    assert sum("Assigned to you" in s for s in inbox.subjects(desk.tech.email)) == 2


def test_bulk_assign_keeps_to_the_tickets_department_as_the_form_does(client, login, desk, make_ticket, inbox):
    support = make_ticket(subject="Support printer")  # General inquiry: Support
    it = make_ticket(topic="Password reset", subject="VPN locked")  # IT Operations
    inbox.deliver()
    inbox.clear()
    login(desk.manager)
    page = client.get(f"/agent/tickets/{support.number}").get_data(as_text=True)
    form = re.search(r'<select[^>]*id="assign-agent".*?</select>', page, re.S).group(0)
    assert "Tom Technician" in form and "Sam Sysadmin" not in form  # the single form's rule
    response = client.post("/agent/queue/open/bulk", headers=HTMX, data={
        "do": f"agent:{desk.sysadmin.id}", "ticket": picks(support, it)})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"Assigned to Sam Sysadmin: #{it.number}." in body
    assert (f"#{support.number}: Sam Sysadmin is not an agent of Support and cannot be assigned its tickets."
            in body)
    assert fresh(support).assignee_id is None and fresh(it).assignee_id == desk.sysadmin.id
    assert db.session.scalar(select(func.count()).select_from(Event).where(
        Event.ticket_id == support.id, Event.action == "assigned")) == 0
    inbox.deliver()
    assert [s for s in inbox.subjects(desk.sysadmin.email) if "Assigned to you" in s and support.number in s] == []
    # The lifecycle step itself refuses it, for every caller.
    with pytest.raises(tickets.InvalidInput, match="not an agent of Support"):
        tickets.assign(desk.admin, fresh(support), agent=desk.sysadmin)
    with pytest.raises(tickets.InvalidInput, match="not an agent of Support"):
        tickets.assign(desk.manager, fresh(support), agent=desk.sysadmin, team=desk.teams["SysAdmins/Developers"])
    assert fresh(support).team_id is None


def test_bulk_refuses_tickets_changed_since_the_queue_showed_them(client, login, desk, make_ticket, inbox):
    a, b, c = make_ticket(), make_ticket(), make_ticket()
    stale = picks(a, c)
    tickets.set_priority(desk.admin, a, desk.priorities["emergency"])
    tickets.add_note(desk.tech, c, "meanwhile")  # touches no priority: c is changed all the same
    login(desk.manager)
    response = client.post("/agent/queue/open/bulk", data={
        "do": f"priority:{desk.priorities['high'].id}", "ticket": stale + picks(b)})
    assert response.status_code == 302 and response.headers["Location"] == "/agent/"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Priority set to High: #{c.number}, #{b.number}." in page or \
        f"Priority set to High: #{b.number}, #{c.number}." in page
    assert f"#{a.number}: changed since the queue showed it (Ada Admin changed the priority)" in page
    assert fresh(a).priority.key == "emergency" and fresh(b).priority.key == fresh(c).priority.key == "high"


def test_bulk_close_mails_each_customer(client, login, desk, make_ticket, inbox):
    a, b = make_ticket(email="one@example.net"), make_ticket(email="two@example.net")
    inbox.deliver()
    inbox.clear()
    login(desk.manager)
    client.post("/agent/queue/open/bulk", data={"do": "close", "ticket": picks(a, b)})
    assert fresh(a).status == fresh(b).status == "closed"
    inbox.deliver()
    assert len(inbox.to("one@example.net")) == len(inbox.to("two@example.net")) == 1


def test_bulk_is_for_managers_only(client, login, desk, make_ticket):
    a = make_ticket()
    login(desk.tech)
    page = client.get("/agent/").get_data(as_text=True)
    assert 'id="bulk"' not in page and 'name="ticket"' not in page
    before = fresh(a).version
    response = client.post("/agent/queue/open/bulk", data={"do": "close", "ticket": picks(a)})
    assert response.status_code == 403 and fresh(a).version == before
    login(desk.manager)
    page = client.get("/agent/").get_data(as_text=True)
    assert 'id="bulk"' in page and f'value="{a.number}@{before}" form="bulk"' in page


@pytest.mark.parametrize("data, message", [
    ({"do": "", "ticket": ["X@1"]}, "Choose what to do"),
    ({"do": "agent:99999", "ticket": ["X@1"]}, "Choose what to do"),
    ({"do": "drop table", "ticket": ["X@1"]}, "Choose what to do"),
    ({"do": "close"}, "Select one or more tickets"),
    ({"do": "close", "ticket": [f"A{i}@1" for i in range(101)]}, "at most 100"),
])
def test_bulk_bad_input_is_400_with_a_message(client, login, desk, make_ticket, data, message):
    make_ticket()
    login(desk.manager)
    count = db.session.scalar(select(func.count()).select_from(OutboxMail))
    response = client.post("/agent/queue/open/bulk", data=data)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(OutboxMail)) == count
    assert client.post("/agent/queue/nowhere/bulk", data=data).status_code == 404


def test_bulk_next_is_a_local_path_only(client, login, desk, make_ticket):
    a = make_ticket()
    login(desk.manager)
    response = client.post("/agent/queue/open/bulk", data={"do": "close", "ticket": picks(a),
                                                           "next": "https://evil.example/"})
    assert response.headers["Location"] == "/agent/"


def test_outbox_sender_does_not_touch_the_counter(desk, make_ticket):
    make_ticket()
    before = desk_version()
    outbox.send_pending()
    assert desk_version() == before
