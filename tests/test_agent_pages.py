"""The agent panel's pages: sign-in required everywhere, the ticket page, downloads, escaping."""

import pytest
from sqlalchemy import select

from helpdesk import tickets
from helpdesk.attachments import Upload
from helpdesk.extensions import db
from helpdesk.models import Attachment

ACTIONS = ["reply", "note", "claim", "assign", "priority", "sla", "transfer", "request-info", "escalate",
           "resume", "resolve", "close", "reopen", "access-link"]


@pytest.mark.parametrize("method, path", [
    ("get", "/agent/"),
    ("get", "/agent/queue/mine"),
    ("get", "/agent/queue/closed?sort=due"),
    ("get", "/agent/queue/open/export.csv"),
    ("get", "/agent/counts"),
    ("get", "/agent/tickets/ABC234"),
    ("get", "/agent/files/1"),
] + [("post", f"/agent/tickets/ABC234/{a}") for a in ACTIONS])
def test_every_agent_route_needs_a_login(client, desk, method, path):
    response = getattr(client, method)(path, data={"body": "x", "version": 1} if method == "post" else None)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/login?next=")
    assert "%2Fagent%2F" in location


def test_login_returns_to_the_page_asked_for(client, desk):
    response = client.get("/agent/queue/pending")
    response = client.post(response.headers["Location"],
                           data={"email": desk.manager.email, "password": desk.passwords[desk.manager.email]})
    assert response.status_code == 302 and response.headers["Location"] == "/agent/queue/pending"


@pytest.fixture
def worked(desk, make_ticket):
    """A ticket with a conversation, an internal note with an attachment, and some history."""
    t = make_ticket(topic="Business Critical Outage", name="Ken", email="ken@example.net",
                    subject="Mobile banking down", body="Nobody can log in.")
    tickets.set_priority(desk.manager, t, desk.priorities["emergency"])
    tickets.assign(desk.manager, t, agent=desk.tech)
    tickets.request_info(desk.tech, t, "Which version?")
    tickets.customer_reply(t, "Version 5.2.1")
    tickets.add_note(desk.tech, t, "Gateway logs attached.",
                     uploads=[Upload("gateway.log", "text/plain", b"503 503 503\n")])
    return t


def test_ticket_page(client, login, desk, worked):
    login(desk.manager)
    html = client.get(f"/agent/tickets/{worked.number}").get_data(as_text=True)
    for text in ("Mobile banking down", f"#{worked.number}", '<span class="badge status-open">Open</span>',
                 '<span class="prio prio-emergency">Emergency</span>', "Business Critical Outage", "Support",
                 "Tom Technician", "Emergency (2 h)", "Due in 1 h", "ken@example.net", "<dd>Web form</dd>",
                 "Nobody can log in.", "Which version?", "Version 5.2.1", "Gateway logs attached."):
        assert text in html, text
    assert '<li class="entry entry-note"' in html
    att = db.session.scalar(select(Attachment))
    assert f'href="/agent/files/{att.id}"' in html and "gateway.log" in html
    # History, in words, oldest first (as the conversation).
    assert "Maya Manager</strong> changed the priority:" in html
    assert '<span class="from">High</span> → <span class="to">Emergency</span>' in html
    assert "Ken</strong> wrote a message" in html
    assert html.index("opened the ticket") < html.index("added an internal note")
    # The actions a manager may take now, and no others.
    for block in ("reply_form", "note_form", "claim_form", "assign_form", "set_priority_form", "set_sla_form",
                  "transfer_form", "request_info_form", "escalate_form", "resolve_form", "close_form",
                  "access_link_form"):
        assert f'id="{block}"' in html, block
    assert 'id="reopen_form"' not in html and 'id="resume_form"' not in html
    assert "Take over from Tom Technician" in html


def test_ticket_page_as_htmx_is_the_ticket_block(client, login, desk, worked):
    login(desk.tech)
    response = client.get(f"/agent/tickets/{worked.number}", headers={"HX-Request": "true"})
    assert response.get_data(as_text=True).lstrip().startswith('<div id="ticket"')
    assert "HX-Request" in response.headers["Vary"]


def test_assign_offers_the_departments_active_agents(client, login, desk, worked):
    desk.vendor.active = False
    db.session.commit()
    login(desk.manager)
    html = client.get(f"/agent/tickets/{worked.number}").get_data(as_text=True)
    form = html[html.index('id="assign_form"'):html.index('id="set_priority_form"')]
    assert "Tom Technician" in form and "Maya Manager" in form
    assert "Vic Vendor-Liaison" not in form and "Sam Sysadmin" not in form  # inactive / other department
    assert "SysAdmins/Developers" in form  # any active team


def test_resolved_ticket_offers_reopen_and_close(client, login, desk, worked):
    tickets.resolve(desk.tech, worked, "Fixed.")
    login(desk.tech)
    html = client.get(f"/agent/tickets/{worked.number}").get_data(as_text=True)
    assert 'id="reopen_form"' in html and 'id="close_form"' in html and 'id="note_form"' in html
    assert 'id="reply_form"' not in html and 'id="escalate_form"' not in html


def test_attachment_download(client, login, desk, worked):
    att = db.session.scalar(select(Attachment))
    login(desk.vendor)  # Support department: may see it
    response = client.get(f"/agent/files/{att.id}")
    assert response.status_code == 200 and response.data == b"503 503 503\n"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "gateway.log" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_attachment_of_an_invisible_ticket_is_404(client, login, desk, worked):
    att = db.session.scalar(select(Attachment))
    login(desk.sysadmin)
    assert client.get(f"/agent/files/{att.id}").status_code == 404
    assert client.get("/agent/files/999999").status_code == 404
    tickets.escalate(desk.tech, worked, desk.teams["SysAdmins/Developers"], "Over to you.")
    assert client.get(f"/agent/files/{att.id}").status_code == 200  # now his team's


def test_user_input_is_escaped_everywhere(client, login, desk, make_ticket):
    evil = '<img src=x onerror=alert(1)><svg onload=alert(2)>'
    t = make_ticket(subject=f"Help {evil}", name=f"Eve {evil}", body=f"[click](javascript:alert(3)) {evil}")
    tickets.add_note(desk.manager, t, f"note {evil}")
    login(desk.manager)
    for path in ("/agent/", "/agent/?q=Help", f"/agent/tickets/{t.number}"):
        html = client.get(path).get_data(as_text=True)
        assert "<img src=x" not in html and "<svg onload" not in html and 'href="javascript' not in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html
    html = client.get("/agent/", query_string={"q": evil}).get_data(as_text=True)
    assert "<img src=x" not in html


def test_a_ticket_page_has_no_inline_styles_or_scripts(client, login, desk, worked):
    login(desk.manager)
    html = client.get(f"/agent/tickets/{worked.number}").get_data(as_text=True)
    assert "style=" not in html and "onclick" not in html and "<script>" not in html
    assert "hx-on" not in html


@pytest.mark.parametrize("source, label", [("api", "API"), ("email", "Email"), ("phone", "Phone"),
                                           ("agent", "In person or other")])
def test_the_ticket_page_names_where_the_ticket_came_from(client, login, desk, make_ticket, source, label):
    t = make_ticket()
    t.source = source
    db.session.commit()
    login(desk.manager)
    assert f"<dt>Source</dt><dd>{label}</dd>" in client.get(f"/agent/tickets/{t.number}").get_data(as_text=True)
