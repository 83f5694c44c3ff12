"""The ticket page's cost does not grow with its thread, its forms offer the setup as it is right
after an admin changes it, and the forms it draws without WTForms look as WTForms draws them."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import event, select

from helpdesk import tickets
from helpdesk.agent import forms
from helpdesk.attachments import Upload
from helpdesk.extensions import db
from helpdesk.models import Team, Ticket
from support.pages import text_of


def statements_for(call) -> list[str]:
    seen = []
    listener = lambda conn, cursor, sql, *rest: seen.append(sql)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        assert call().status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    return seen


def with_thread(make_ticket, desk, entries: int):
    """A ticket whose thread has `entries` entries: the customer's, replies, notes (every third
    with an attachment) and a message from someone on copy, each by its own author."""
    t = make_ticket(topic="Business Critical Outage", subject=f"{entries} entries")
    tickets.assign(desk.manager, t, agent=desk.tech)
    copy = tickets.add_collaborator(desk.tech, t, "cleo@example.net", "Cleo Copy")
    while len(t.entries) < entries:
        n = len(t.entries)
        if n % 3 == 0:
            tickets.add_note(desk.manager if n % 2 else desk.tech, t, f"Note {n}",
                             uploads=[Upload(f"log-{n}.txt", "text/plain", b"503\n")])
        elif n % 3 == 1:
            tickets.reply(desk.tech, t, f"Reply {n}")
        else:
            tickets.customer_reply(t, f"Message {n}", collaborator=copy if n % 4 == 0 else None)
    return t


@pytest.mark.parametrize("who", ["admin", "tech"])
def test_statements_per_ticket_page_do_not_grow_with_the_thread(client, login, desk, make_ticket, who):
    short, long = with_thread(make_ticket, desk, 3).number, with_thread(make_ticket, desk, 50).number
    login(getattr(desk, who))
    pages = {}
    for number in (short, long):
        client.get(f"/agent/tickets/{number}")  # once, so per-worker caches are as in steady use
        db.session.expunge_all()  # nothing the test loaded spares the page a statement
        pages[number] = statements_for(lambda: client.get(f"/agent/tickets/{number}"))
    assert len(pages[short]) == len(pages[long]), pages
    html = text_of(client.get(f"/agent/tickets/{long}"))
    assert html.count('class="entry entry-') == 50 and html.count('<svg class="icon icon-paperclip"') == 16
    for name in ("Tom Technician", "Maya Manager", "Ken Customer", "Cleo Copy", "On copy"):
        assert f"{name}</" in html, name


def options(html: str, select_id: str) -> list[str]:
    block = re.search(rf'<select id="{select_id}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.findall(r"<option[^>]*>([^<]*)</option>", block)


def test_forms_offer_the_setup_as_it_is_right_after_an_admin_changes_it(admin, desk, make_ticket):
    t = make_ticket(topic="Business Critical Outage")
    page = lambda: text_of(admin.get(f"/agent/tickets/{t.number}"))  # noqa: E731
    html = page()
    assert "Night shift" not in options(html, "escalate-team")
    assert "Nora New" not in options(html, "assign-agent")

    response = admin.post("/admin/teams/new", data={"name": "Night shift", "lead": "0", "members": [], "active": "y"})
    assert response.status_code == 302
    html = page()
    assert "Night shift" in options(html, "escalate-team") and "Night shift" in options(html, "assign-team")

    support = desk.departments["Support"]
    response = admin.post("/admin/agents/new", data={
        "name": "Nora New", "email": "nora@example.com", "role": "agent", "active": "y",
        "departments": [str(support.id)], "teams": [], "password": "a-good-password"})
    assert response.status_code == 302
    assert "Nora New" in options(page(), "assign-agent")

    low = desk.priorities["low"]
    assert admin.post(f"/admin/priorities/{low.id}", data={"name": "Minor", "colour": "#10b981"}).status_code == 302
    assert "Minor" in options(page(), "set_priority-priority") and "Low" not in options(page(), "set_priority-priority")

    vendors = desk.teams["Vendor Support"]
    assert admin.post(f"/admin/teams/{vendors.id}/deactivate").status_code == 302
    assert "Vendor Support" not in options(page(), "escalate-team")
    # and what the form validates against is as current as what it shows
    response = admin.post(f"/agent/tickets/{t.number}/escalate",
                          data={"version": t.version, "team": str(vendors.id), "note": "Please look"})
    assert response.status_code == 400 and "That choice is not available" in text_of(response)
    night = db.session.scalar(select(Team).where(Team.name == "Night shift"))
    response = admin.post(f"/agent/tickets/{t.number}/escalate",
                          data={"version": t.version, "team": str(night.id), "note": "Please look"})
    assert response.status_code == 302
    db.session.expire_all()
    assert t.status == "escalated" and t.team_id == night.id


class Markup(HTMLParser):
    """Tags with their attributes (in any order) and the text between them, spaces collapsed."""

    def __init__(self, html: str):
        super().__init__()
        self.parts: list = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.parts.append((tag, sorted(attrs)))

    def handle_endtag(self, tag):
        self.parts.append(("/" + tag,))

    def handle_data(self, data):
        if data.split():
            self.parts.append(" ".join(data.split()))


@pytest.mark.parametrize("form_class", forms.FORMS, ids=lambda c: c.action)
def test_blank_forms_are_drawn_as_wtforms_draws_them(csrf_app, desk, make_ticket, form_class):
    number = make_ticket(topic="Business Critical Outage").number
    draw = csrf_app.jinja_env.from_string(
        '{% from "agent/_macros.html" import action_form %}{{ action_form(form.action, form, "/x", "T", "B") }}')
    with csrf_app.test_request_context():
        t = db.session.scalar(select(Ticket).where(Ticket.number == number))
        blank = draw.render(form=forms.blank_form(form_class, t))
        wtforms = draw.render(form=form_class(formdata=None).setup(t, blank=True))
    assert 'name="csrf_token"' in blank and 'name="version"' in blank
    assert Markup(blank).parts == Markup(wtforms).parts
