"""Browser notifications: the agent's choices on the account page, and the notices the queue
navigation's counts poll carries (a ticket assigned to them, a customer's reply on their ticket,
a new ticket they see): each only when chosen, never the agent's own doing, never a ticket they
cannot see, and a 304 that reads no event while nothing changed."""
from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import event, select

from helpdesk import live, tickets
from helpdesk.clock import utcnow
from helpdesk.extensions import db
from helpdesk.models import Agent, Event, Ticket
from support.rows import events, fresh

HTMX = {"HX-Request": "true"}


@pytest.fixture
def one_minute(monkeypatch):
    """The ETags' clock stays in one minute: the counts' ETag changes only with the data."""
    stamp = time.time()
    monkeypatch.setattr(live, "time", SimpleNamespace(time=lambda: stamp))


def choose(agent: Agent, **choices) -> None:
    """Set the agent's notification choices (assigned, replies, new) as the account page does."""
    row = db.session.get(Agent, agent.id)
    for name in ("assigned", "replies", "new"):
        setattr(row, f"notify_{name}", choices.get(name, False))
    db.session.commit()


def counts_nav(html: str) -> str:
    return re.search(r'<nav id="queue_counts"[^>]*>', html, re.S).group(0)


def notices_of(html: str) -> list[dict] | None:
    """The notices a render of the counts region carries (None: the agent chose none)."""
    found = re.search(r"data-notices='([^']*)'", counts_nav(html))
    return json.loads(found.group(1)) if found else None


class Tab:
    """An agent panel page open in a browser tab: it polls the counts as htmx does, and shows what
    static/notify.js shows: notices of events after the page's first render, each once."""

    def __init__(self, app, desk, agent, page="/agent/"):
        self.client = app.test_client()
        response = self.client.post("/login", data={"email": agent.email, "password": desk.passwords[agent.email]})
        assert response.status_code == 302
        html = self.client.get(page).get_data(as_text=True)
        self.first = notices_of(html)
        found = re.search(r'data-notices-since="(\d+)"', counts_nav(html))
        self.since = int(found.group(1)) if found else None
        self.shown = set()
        self._follow(html)

    def _follow(self, html: str) -> None:
        nav = counts_nav(html)
        self.url = re.search(r'hx-get="([^"]+)"', nav).group(1).replace("&amp;", "&")
        self.headers = json.loads(re.search(r"hx-headers='([^']+)'", nav).group(1).replace("&#34;", '"'))

    def poll(self):
        response = self.client.get(self.url, headers={**HTMX, **self.headers, "HX-Trigger": "queue_counts"})
        if response.status_code == 200:
            self._follow(response.get_data(as_text=True))
        return response

    def notices(self) -> list[dict]:
        """What the next poll brings to show; nothing if it was a 304."""
        response = self.poll()
        if response.status_code == 304:
            return []
        assert response.status_code == 200, response.status_code
        html = response.get_data(as_text=True)
        if self.since is None:
            self.since = int(re.search(r'data-notices-since="(\d+)"', counts_nav(html)).group(1))
        fresh = [n for n in notices_of(html) if n["id"] > self.since and n["id"] not in self.shown]
        self.shown.update(n["id"] for n in fresh)
        return fresh


def said(notices) -> list[tuple[str, str]]:
    return [(n["title"], n["body"]) for n in notices]


# --- what each choice brings --------------------------------------------------------------------


def test_an_assignment_by_a_manager_notifies_the_agent_who_chose_it(app, desk, make_ticket, one_minute):
    choose(desk.tech, assigned=True)
    t = make_ticket(subject="Printer offline")
    tab = Tab(app, desk, desk.tech)
    assert tab.first == []  # what happened before the page was loaded is not news
    assert "after=" in tab.url
    tickets.assign(desk.manager, fresh(t), agent=desk.tech)
    notices = tab.notices()
    assert said(notices) == [(f"#{t.number} Printer offline", "Assigned to you by Maya Manager")]
    assert notices[0]["url"] == f"/agent/tickets/{t.number}"
    assert notices[0]["id"] == db.session.scalar(select(Event.id).where(Event.action == "assigned"))
    assert tab.poll().status_code == 304
    tickets.add_note(desk.manager, fresh(t), "FYI: the printer is on floor 2")  # not news to this tab
    assert tab.notices() == []


def test_a_customer_reply_on_my_ticket_notifies_me_but_not_on_someone_elses(app, desk, make_ticket, one_minute):
    mine = make_ticket(status="open", name="Ana Pérez", subject="Invoice twice", by=desk.tech)
    theirs = make_ticket(status="open", subject="Refund", by=desk.vendor)
    choose(desk.tech, replies=True)
    tab = Tab(app, desk, desk.tech)
    tickets.customer_reply(fresh(mine), "Still charged twice")
    tickets.customer_reply(fresh(theirs), "Any news?")  # Vic's ticket, in Tom's department: not his
    assert said(tab.notices()) == [(f"#{mine.number} Invoice twice", "Ana Pérez replied")]


def test_a_reply_from_someone_on_copy_names_them(app, desk, make_ticket, one_minute):
    t = make_ticket(status="open", subject="Server room too warm", by=desk.tech)
    copied = tickets.add_collaborator(desk.tech, fresh(t), "lena@example.net", "Lena Berg")
    choose(desk.tech, replies=True)
    tab = Tab(app, desk, desk.tech)
    tickets.customer_reply(fresh(t), "It is 31 degrees now", collaborator=copied)
    assert said(tab.notices()) == [(f"#{t.number} Server room too warm", "Lena Berg replied")]


def test_a_new_ticket_in_my_department_notifies_me_whatever_its_subject_holds(app, desk, make_ticket, one_minute):
    choose(desk.tech, new=True)
    tab = Tab(app, desk, desk.tech)
    t = make_ticket("Billing question", subject="Wrong VAT rate")
    assert said(tab.notices()) == [(f"#{t.number} Wrong VAT rate", "New ticket in Support")]
    hostile = "Won't pay' onmouseover='x' <script>alert(1)</script> & \"quoted\""
    t = make_ticket("Billing question", subject=hostile)
    response = tab.poll()
    assert "<script>" not in counts_nav(response.get_data(as_text=True))
    assert [n["title"] for n in notices_of(response.get_data(as_text=True))][-1] == f"#{t.number} {hostile}"


def test_a_choice_left_off_brings_nothing_of_its_kind(app, desk, make_ticket, one_minute):
    mine = make_ticket(status="open", by=desk.tech)
    choose(desk.tech, new=True)  # only new tickets
    tab = Tab(app, desk, desk.tech)
    tickets.customer_reply(fresh(mine), "Hello?")
    other = make_ticket()
    tickets.assign(desk.manager, fresh(other), agent=desk.tech)
    assert said(tab.notices()) == [(f"#{other.number} {other.subject}", "New ticket in Support")]


def test_no_choice_no_notices_and_no_cursor(app, desk, make_ticket, one_minute):
    tab = Tab(app, desk, desk.tech)
    assert tab.first is None and "after=" not in tab.url
    tickets.assign(desk.manager, make_ticket(), agent=desk.tech)
    response = tab.poll()
    assert response.status_code == 200 and "data-notices" not in response.get_data(as_text=True)


def test_choosing_reaches_open_pages_at_their_next_poll(app, desk, make_ticket, one_minute):
    tab = Tab(app, desk, desk.tech)
    assert tab.poll().status_code == 304
    choose(desk.tech, assigned=True)  # e.g. on the account page, in another tab
    assert tab.notices() == [] and "after=" in tab.url
    t = make_ticket()
    tickets.assign(desk.manager, fresh(t), agent=desk.tech)
    assert said(tab.notices()) == [(f"#{t.number} {t.subject}", "Assigned to you by Maya Manager")]


# --- never the agent's own doing, never what they cannot see -------------------------------------


def test_the_agents_own_actions_never_notify_them(app, desk, make_ticket, one_minute):
    choose(desk.manager, assigned=True, replies=True, new=True)
    tab = Tab(app, desk, desk.manager)
    t = make_ticket()
    tickets.claim(desk.manager, fresh(t))  # their own claim
    tickets.assign(desk.manager, fresh(t), agent=desk.tech)
    tickets.assign(desk.manager, fresh(t), agent=desk.manager)  # assigned to themselves
    tickets.open_ticket(name="Ken", email="ken@example.net", subject="By phone", body="Called in",
                        topic=desk.topics["General inquiry"], source="phone", agent=desk.manager)
    assert said(tab.notices()) == [(f"#{t.number} {t.subject}", "New ticket in Support")]


def test_tickets_the_agent_cannot_see_never_reach_them_whatever_the_cursor(app, desk, make_ticket, one_minute):
    choose(desk.tech, assigned=True, replies=True, new=True)
    tab = Tab(app, desk, desk.tech)
    hidden = make_ticket("Password reset", subject="Reset for the CFO")  # IT Operations: not Tom's
    tickets.claim(desk.sysadmin, fresh(hidden))
    tickets.customer_reply(fresh(hidden), "Urgent please")
    assert tab.poll().status_code == 304  # not even that something changed
    seen = make_ticket(subject="Seen")
    # Asked from the very first event: only what the agent sees.
    response = tab.client.get("/agent/counts?after=0", headers=HTMX)
    assert said(notices_of(response.get_data(as_text=True))) == [(f"#{seen.number} Seen", "New ticket in Support")]
    assert "Reset for the CFO" not in response.get_data(as_text=True)


def test_a_ticket_moved_out_of_sight_is_not_announced(app, desk, make_ticket, one_minute):
    choose(desk.tech, new=True)
    tab = Tab(app, desk, desk.tech)
    t = make_ticket(subject="Wrong desk")
    tickets.transfer(desk.manager, fresh(t), desk.departments["IT Operations"])
    assert tab.notices() == []


# --- what it costs ------------------------------------------------------------------------------


def test_the_poll_answers_304_without_reading_events_while_nothing_changed(app, desk, make_ticket, one_minute):
    choose(desk.tech, assigned=True, replies=True, new=True)
    make_ticket()
    tab = Tab(app, desk, desk.tech)
    seen = []
    listener = lambda conn, cursor, sql, *rest: seen.append(sql)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        response = tab.poll()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert response.status_code == 304 and response.get_data() == b""
    assert not [s for s in seen if "FROM event" in s]
    others = [s for s in seen if not s.startswith("SELECT agent.id")]
    assert len(others) == 1 and "FROM desk_state" in others[0]


def test_the_cursor_trails_the_newest_event_so_a_late_commit_is_still_listed(app, desk, make_ticket, one_minute):
    choose(desk.tech, new=True)
    old = make_ticket(at=utcnow() - timedelta(minutes=5))
    recent = make_ticket()
    tab = Tab(app, desk, desk.tech)
    ids = lambda t: [e.id for e in events(t)]  # noqa: E731
    assert f"after={max(ids(old))}" in tab.url and tab.since == max(ids(recent))
    # The page's polls ask again for the last seconds' events; it shows none it showed or that
    # happened before it was loaded.
    response = tab.poll()
    assert response.status_code == 304
    tab.headers = {}
    again = notices_of(tab.poll().get_data(as_text=True))
    assert [n["id"] for n in again] == [min(ids(recent))]


def test_a_cursor_that_is_no_number_is_refused(app, desk, login):
    choose(desk.tech, assigned=True)
    client = login(desk.tech)
    response = client.get("/agent/counts?after=1e9", headers=HTMX)
    assert response.status_code == 400 and "reload" in response.get_data(as_text=True)
    assert client.get("/agent/counts?after=" + "9" * 40, headers=HTMX).status_code == 400


def test_a_new_ticket_assigned_at_once_is_one_notice(app, desk, make_ticket, one_minute):
    topic = desk.topics["Billing question"]
    topic.assign_mode, topic.assign_agent = "agent", db.session.get(Agent, desk.tech.id)
    db.session.commit()
    choose(desk.tech, assigned=True, new=True)
    tab = Tab(app, desk, desk.tech)
    t = make_ticket("Billing question", subject="Refund")
    assert fresh(t).assignee_id == desk.tech.id
    assert said(tab.notices()) == [(f"#{t.number} Refund", "New ticket in Support, assigned to you")]


# --- the account page ---------------------------------------------------------------------------


def test_the_account_page_saves_the_choices(app, desk, login):
    client = login(desk.tech)
    page = client.get("/account").get_data(as_text=True)
    section = re.search(r'<section class="card" id="notifications".*?</section>', page, re.S).group(0)
    assert "Browser notifications" in section and "Allow notifications in this browser" in section
    assert section.count('type="checkbox"') == 3 and "checked" not in section
    response = client.post("/account/notifications", data={"notify-assigned": "y", "notify-new": "y"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/account#notifications")
    agent = db.session.get(Agent, desk.tech.id)
    db.session.refresh(agent)
    assert (agent.notify_assigned, agent.notify_replies, agent.notify_new) == (True, False, True)
    page = client.get("/account").get_data(as_text=True)
    assert "Your notification choices were saved." in page
    boxes = {box.group(2): "checked" in box.group(1) for box in re.finditer(r'<input([^>]*) id="notify-(\w+)"', page)}
    assert boxes == {"assigned": True, "replies": False, "new": True}
    client.post("/account/notifications", data={})
    db.session.refresh(agent)
    assert (agent.notify_assigned, agent.notify_replies, agent.notify_new) == (False, False, False)
    assert "Browser notifications are off." in client.get("/account").get_data(as_text=True)


def test_the_choices_need_the_forms_csrf_token(csrf_app, desk):
    client = csrf_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/login", data={"email": desk.tech.email, "password": desk.passwords[desk.tech.email],
                                "csrf_token": token})
    response = client.post("/account/notifications", data={"notify-assigned": "y"})
    assert response.status_code == 400
    assert db.session.scalar(select(Agent.notify_assigned).where(Agent.id == desk.tech.id)) is False
    page = client.get("/account").get_data(as_text=True)
    token = re.search(r'id="notify-csrf_token" name="notify-csrf_token" type="hidden" value="([^"]+)"',
                      page).group(1)
    response = client.post("/account/notifications", data={"notify-assigned": "y", "notify-csrf_token": token})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(Agent.notify_assigned).where(Agent.id == desk.tech.id)) is True


def test_the_choices_page_needs_a_sign_in(client, desk):
    response = client.post("/account/notifications", data={"notify-assigned": "y"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert db.session.scalar(select(Agent.notify_assigned).where(Agent.id == desk.tech.id)) is False


def test_the_ticket_page_carries_notices_too(app, desk, make_ticket, one_minute):
    t = make_ticket(subject="Seen from a ticket page")
    choose(desk.tech, new=True)
    tab = Tab(app, desk, desk.tech, page=f"/agent/tickets/{t.number}")
    assert tab.first == []
    other = make_ticket(subject="Another one")
    assert said(tab.notices()) == [(f"#{other.number} Another one", "New ticket in Support")]
    assert db.session.get(Ticket, other.id) is not None
