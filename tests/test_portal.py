"""The customer portal's start page, open-a-ticket form and check-status form, through the client."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from helpdesk import tickets
from helpdesk.attachments import path_for
from helpdesk.extensions import db
from helpdesk.models import Attachment, Customer, HelpTopic, IdempotencyKey, OutboxMail, Ticket
from support.files import png_bytes
from support.rows import count
from test_admin_forms import topic_data

STATUS_SENT = "If a ticket with that number belongs to that address, we&#39;ve mailed a link to it."


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
HTML = b"<!DOCTYPE html><html><head><title>x</title></head><body><script>alert(1)</script></body></html>\n"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>\n'
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


def form_key(client, url="/new") -> str:
    page = client.get(url).get_data(as_text=True)
    return re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', page).group(1)


def ticket_form(desk, client, **overrides) -> dict:
    data = {
        "name": "Ken Customer",
        "email": "ken@example.net",
        "topic": str(desk.topics["Business Critical Outage"].id),
        "subject": "Mobile banking is down",
        "description": "No customer can reach mobile banking since 09:10.",
        "idempotency_key": form_key(client),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def only_ticket() -> Ticket:
    db.session.expire_all()
    return db.session.scalars(select(Ticket)).one()


# --- start page ------------------------------------------------------------------------------


def test_start_page_offers_both_choices_and_agent_sign_in(client, desk, app):
    page = client.get("/").get_data(as_text=True)
    assert app.config["HELPDESK_NAME"] in page
    assert 'href="/new"' in page and "Open a new ticket" in page
    assert 'href="/status"' in page and "Check a ticket" in page
    assert 'href="/login"' in page
    assert 'class="portal"' in page


# --- the form ----------------------------------------------------------------------------------


def test_form_lists_public_active_topics_in_order(client, desk):
    db.session.add_all([
        HelpTopic(name="Internal escalation", public=False, sort=0),
        HelpTopic(name="Retired topic", active=False, sort=0),
    ])
    db.session.commit()
    page = client.get("/new").get_data(as_text=True)
    options = re.findall(r'<option[^>]*value="(\d+)"[^>]*>([^<]+)</option>', page.split('name="topic"')[1].split("</select>")[0])
    assert [name for _, name in options] == [
        "Business Critical Outage", "Password reset", "Billing question", "General inquiry"]
    assert "Internal escalation" not in page and "Retired topic" not in page
    assert 'name="website"' in page and 'class="honeypot"' in page
    assert "Up to 5 files, at most 10 MB each" in page
    assert 'hx-get="/new/topic-fields"' in page


def _topics_offered(page: str) -> list[str]:
    return re.findall(r'<option[^>]*value="\d+"[^>]*>([^<]+)</option>', page.split('name="topic"')[1].split("</select>")[0])


def test_the_form_lists_the_topics_as_an_admin_just_left_them(admin, desk):
    """A worker keeps the form's lists between requests, never past a change to the setup."""
    assert "VPN access" not in _topics_offered(admin.get("/new").get_data(as_text=True))
    assert admin.post("/admin/topics/new", data=topic_data(desk)).status_code == 302
    billing = desk.topics["Billing question"]
    assert admin.post(f"/admin/topics/{billing.id}/deactivate").status_code == 302
    offered = _topics_offered(admin.get("/new").get_data(as_text=True))
    assert "VPN access" in offered and "Billing question" not in offered


@pytest.mark.parametrize("value", ["¹", "0¹", "٣", "99999999999999999999", "x"])
def test_the_form_with_an_odd_topic_in_its_link_is_the_plain_form(client, desk, value):
    """/new?topic=... preselects a public topic; anything else, even what str.isdigit() takes, is ignored."""
    for url in ("/new", "/new/topic-fields"):
        response = client.get(url, query_string={"topic": value, "priority": value})
        assert response.status_code == 200, (url, response.status_code)


@pytest.mark.parametrize("which", ["private", "inactive", "unknown", "garbage", "superscript"])
def test_unusable_topic_is_refused(client, desk, which):
    topics = {
        "private": HelpTopic(name="Internal escalation", public=False),
        "inactive": HelpTopic(name="Retired topic", active=False),
    }
    if which in topics:
        db.session.add(topics[which])
        db.session.commit()
        topic_id = str(topics[which].id)
    else:
        topic_id = {"unknown": "99999", "garbage": "1 OR 1=1", "superscript": "1¹"}[which]
    response = client.post("/new", data=ticket_form(desk, client, topic=topic_id))
    assert response.status_code == 400
    assert "Choose one of the help topics in the list." in response.get_data(as_text=True)
    assert count(Ticket) == 0 and count(Customer) == 0


BAD_INPUT = [
    ("name", "", "Tell us your name."),
    ("email", "", "Enter your email address"),
    ("email", "not-an-address", "That is not a valid email address."),
    ("email", "ken@example.net, eve@example.net", "Enter one email address only"),
    ("email", "ken@example.net\r\nBcc: eve@example.net", "Enter one email address only"),
    ("email", "Ken <ken@example.net>", "Enter one email address only"),
    ("topic", "", "Choose the help topic that fits your request best."),
    ("subject", "", "Give your request a short subject."),
    ("subject", "x" * 201, "The subject can be at most 200 characters long (yours has 201)."),
    ("description", "   ", "Describe what happened and what you need."),
    ("description", "y" * 20001, "The description can be at most 20000 characters long (yours has 20001)."),
    ("idempotency_key", "", "This form was incomplete. Please check it and send it again."),
    ("idempotency_key", "short", "This form was incomplete. Please check it and send it again."),
]


@pytest.mark.parametrize("field,value,message", BAD_INPUT)
def test_bad_input_rerenders_with_message_and_saves_nothing(client, desk, field, value, message):
    data = ticket_form(desk, client, **{field: value})
    response = client.post("/new", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in page.replace("&#39;", "'")
    if field != "idempotency_key":
        assert 'aria-invalid="true"' in page
    else:  # a fresh key, so sending again works
        assert re.search(r'name="idempotency_key" type="hidden" value="[A-Za-z0-9_-]{32}"', page)
    assert count(Ticket) == 0 and count(Customer) == 0 and count(OutboxMail) == 0
    if field != "subject":
        assert 'value="Mobile banking is down"' in page  # what was typed is kept
    if field != "description":
        assert "No customer can reach mobile banking since 09:10." in page


def test_honeypot_filled_is_refused(client, desk):
    check_honeypot(client, desk)


def check_honeypot(client, desk):
    """A form with the hidden field filled in (a bot's) opens nothing and stores no one."""
    response = client.post("/new", data=ticket_form(desk, client, website="http://spam.example"))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "We could not accept this form." in page
    assert "http://spam.example" not in page
    assert count(Ticket) == 0 and count(Customer) == 0


def test_valid_form_opens_ticket_and_confirms_through_session_only(client, desk, app):
    response = client.post("/new", data=ticket_form(desk, client))
    assert response.status_code == 302 and response.headers["Location"] == "/submitted"
    ticket = only_ticket()
    page = client.get("/submitted").get_data(as_text=True)
    assert f"#{ticket.number}" in page
    assert "We sent an acknowledgement to" in page and "ken@example.net" in page
    link = re.search(r'href="(/t/[^"]+)"[^>]*>Open the ticket now', page).group(1)
    assert "Mobile banking is down" in client.get(link).get_data(as_text=True)
    # Another browser cannot read the confirmation.
    other = app.test_client()
    response = other.get("/submitted")
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_confirmation_offers_no_link_once_the_links_were_renewed(client, desk, app, inbox):
    """A shared browser's confirmation page must not hand out a working link after an agent
    revoked the links ("send a new link"): it shows the number and says a link was mailed."""
    client.post("/new", data=ticket_form(desk, client))
    ticket = only_ticket()
    old_link = re.search(r'href="(/t/[^"]+)"[^>]*>Open the ticket now', client.get("/submitted").get_data(as_text=True)).group(1)
    inbox.deliver()
    inbox.clear()
    agent = app.test_client()
    agent.post("/login", data={"email": desk.tech.email, "password": desk.passwords[desk.tech.email]})
    response = agent.post(f"/agent/tickets/{ticket.number}/access-link", data={"version": ticket.version})
    assert response.status_code == 302
    page = client.get("/submitted")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and f"#{ticket.number}" in body
    assert "Open the ticket now" not in body and "/t/" not in body
    assert "we mailed a new one to <strong>ken@example.net</strong>" in body
    assert client.get(old_link).status_code == 404
    inbox.deliver()
    mailed = re.search(r"http://desk\.test(/t/[^\s\"<>]+)", inbox.text(inbox.to("ken@example.net")[-1])).group(1)
    assert "Mobile banking is down" in client.get(mailed).get_data(as_text=True)


def test_topic_defaults_are_applied(client, desk):
    client.post("/new", data=ticket_form(desk, client))
    ticket = only_ticket()
    assert ticket.status == "new" and ticket.source == "web"
    assert ticket.priority.key == "high"
    assert ticket.sla.name == "Emergency"
    assert ticket.department.name == "Support"
    assert ticket.topic.name == "Business Critical Outage"
    assert abs(ticket.due_at - (ticket.created_at + timedelta(hours=2))) < timedelta(seconds=5)
    assert ticket.customer.email == "ken@example.net" and ticket.customer.name == "Ken Customer"
    assert [e.kind for e in ticket.entries] == ["message"]


def test_customer_priority_only_where_the_topic_allows(client, desk):
    emergency = str(desk.priorities["emergency"].id)
    general = str(desk.topics["General inquiry"].id)
    client.post("/new", data=ticket_form(desk, client, priority=emergency))
    client.post("/new", data=ticket_form(desk, client, topic=general, priority=emergency, email="amy@example.net"))
    db.session.expire_all()
    by_topic = {t.topic.name: t.priority.key for t in db.session.scalars(select(Ticket))}
    # Business Critical Outage keeps its own priority; General inquiry lets the customer choose.
    assert by_topic == {"Business Critical Outage": "high", "General inquiry": "emergency"}


def test_no_priority_chosen_takes_the_topic_default(client, desk):
    client.post("/new", data=ticket_form(desk, client, topic=str(desk.topics["General inquiry"].id)))
    assert only_ticket().priority.key == "normal"


@pytest.mark.parametrize("value", ["99999", "high", "-1"])
def test_tampered_priority_is_refused(client, desk, value):
    general = str(desk.topics["General inquiry"].id)
    response = client.post("/new", data=ticket_form(desk, client, topic=general, priority=value))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Choose one of the priorities in the list." in page
    assert 'name="priority"' in page  # the field is shown for this topic
    assert count(Ticket) == 0


def double_submit_problems(client, desk, app) -> list[str]:
    """One form sent twice from this browser (a double click, a refresh) and once more from
    another (a resent request): one ticket, and each answer leads to it."""
    data = ticket_form(desk, client)
    problems = []
    codes = [client.post("/new", data=dict(data)).status_code for _ in range(2)]
    codes.append(app.test_client().post("/new", data=dict(data)).status_code)
    if codes != [302, 302, 302]:
        problems.append(f"the same form answered {codes}")
    if count(Ticket) != 1 or count(IdempotencyKey) != 1:
        problems.append(f"the same form opened {count(Ticket)} tickets")
    elif f"#{only_ticket().number}" not in client.get("/submitted").get_data(as_text=True):
        problems.append("the confirmation does not show the ticket")
    return problems


def test_same_form_sent_twice_opens_one_ticket(client, desk, app):
    assert double_submit_problems(client, desk, app) == []


def test_reused_key_with_another_address_never_reveals_the_ticket(client, desk, app):
    data = ticket_form(desk, client)
    client.post("/new", data=dict(data))
    other = app.test_client()
    response = other.post("/new", data={**data, "email": "eve@example.net"})
    assert response.status_code == 400
    assert "This form was already sent." in response.get_data(as_text=True)
    assert other.get("/submitted").status_code == 302
    assert count(Ticket) == 1


def test_acknowledgement_mail_has_number_and_working_link(client, desk, inbox, app):
    client.post("/new", data=ticket_form(desk, client))
    ticket = only_ticket()
    inbox.deliver()
    mails = inbox.to("ken@example.net")
    assert len(mails) == 1
    assert f"[#{ticket.number}]" in str(mails[0]["Subject"])
    text = inbox.text(mails[0])
    path = re.search(r"http://desk\.test(/t/[A-Za-z0-9._-]+)", text).group(1)
    page = app.test_client().get(path)
    assert page.status_code == 200
    assert "Mobile banking is down" in page.get_data(as_text=True)
    # The department heard of it too.
    assert any(f"[#{ticket.number}]" in s for s in inbox.subjects("manager@example.com"))


def test_no_acknowledgement_when_the_topic_says_so(client, desk, inbox):
    topic = desk.topics["Billing question"]
    topic.auto_acknowledge = False
    db.session.commit()
    client.post("/new", data=ticket_form(desk, client, topic=str(topic.id)))
    page = client.get("/submitted").get_data(as_text=True)
    assert "We sent an acknowledgement" not in page
    assert "Keep the number" in page
    inbox.deliver()
    assert inbox.to("ken@example.net") == []


# --- the topic's instructions (htmx) ---------------------------------------------------------


def test_topic_fields_partial_shows_instructions_and_priority_only_where_allowed(client, desk):
    hx = {"HX-Request": "true"}
    outage = client.get(f"/new/topic-fields?topic={desk.topics['Business Critical Outage'].id}", headers=hx)
    body = outage.get_data(as_text=True)
    assert outage.status_code == 200
    assert 'id="topic_fields"' in body and "<html" not in body
    assert "We answer outages around the clock." in body
    assert 'name="priority"' not in body

    general = client.get(f"/new/topic-fields?topic={desk.topics['General inquiry'].id}"
                         f"&priority={desk.priorities['high'].id}", headers=hx)
    body = general.get_data(as_text=True)
    assert "Ask us anything." in body and 'name="priority"' in body
    assert re.search(rf'<option selected value="{desk.priorities["high"].id}">High', body)


def test_without_javascript_a_round_trip_shows_the_topics_instructions(client, desk, inbox):
    """The form's no-JS button (in <noscript>) posts it to /new/show-topic: the same form again with
    the chosen topic's instructions and priority choice, what was typed kept, nothing sent."""
    page = client.get("/new").get_data(as_text=True)
    noscript = re.findall(r"<noscript>(.*?)</noscript>", page, re.S)
    assert any('formaction="/new/show-topic#topic_fields"' in n and "Show the instructions" in n for n in noscript)
    # Enter in a field sends the ticket: the first submit button of the form (without JS) is that one.
    assert page.index(">Open the ticket</button>") < page.index("Show the instructions")
    general = desk.topics["General inquiry"]
    data = ticket_form(desk, client, topic=str(general.id), subject="Invoice <b>twice</b>",
                       description="We were billed twice.\nSecond line.")
    response = client.post("/new/show-topic", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Ask us anything." in page and 'name="priority"' in page  # this topic lets customers choose
    assert re.search(rf'<option selected value="{general.id}">', page)
    assert 'value="Invoice &lt;b&gt;twice&lt;/b&gt;"' in page and "We were billed twice.\nSecond line.</textarea>" in page
    assert 'value="ken@example.net"' in page and f'value="{data["idempotency_key"]}"' in page
    assert 'action="/new"' in page
    assert count(Ticket) == 0 and count(Customer) == 0 and count(OutboxMail) == 0
    # Then the form, sent as it is, opens the ticket once.
    assert client.post("/new", data=data).status_code == 302 and count(Ticket) == 1
    page = client.post("/new/show-topic", data={**data, "topic": ""}).get_data(as_text=True)
    assert "Choose a help topic first" in page
    page = client.post("/new/show-topic", data={**data, "attachments": [(io.BytesIO(png_bytes()), "screen.png")]},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "Ask us anything." in page and "files are not kept between pages: please choose them again" in page


def test_topic_fields_ignores_private_topics(client, desk):
    private = HelpTopic(name="Internal escalation", public=False, instructions="Internal only text")
    db.session.add(private)
    db.session.commit()
    body = client.get(f"/new/topic-fields?topic={private.id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'id="topic_fields"' in body and "Internal only text" not in body


def test_full_page_shows_the_selected_topics_instructions(client, desk):
    page = client.get(f"/new?topic={desk.topics['Password reset'].id}").get_data(as_text=True)
    assert "Never send us your password." in page
    # After an error the chosen topic's instructions and priority stay on the page.
    general = str(desk.topics["General inquiry"].id)
    page = client.post("/new", data=ticket_form(desk, client, topic=general, subject="")).get_data(as_text=True)
    assert "Ask us anything." in page and 'name="priority"' in page
    # Without htmx the endpoint answers a whole page.
    assert "<html" in client.get(f"/new/topic-fields?topic={general}").get_data(as_text=True)


# --- attachments -------------------------------------------------------------------------------


def test_allowed_files_are_stored(client, desk):
    files = [(io.BytesIO(png_bytes()), "screen.png"), (io.BytesIO(PDF), "invoice.pdf"),
             (io.BytesIO(b"log line 1\nlog line 2\n"), "app.log.txt")]
    response = client.post("/new", data={**ticket_form(desk, client), "attachments": files},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    ticket = only_ticket()
    atts = db.session.scalars(select(Attachment).where(Attachment.ticket_id == ticket.id).order_by(Attachment.id)).all()
    assert [(a.filename, a.content_type) for a in atts] == [
        ("screen.png", "image/png"), ("invoice.pdf", "application/pdf"), ("app.log.txt", "text/plain")]
    assert path_for(atts[0].storage_key).read_bytes() == png_bytes()
    assert "static" not in str(path_for(atts[0].storage_key))


@pytest.mark.parametrize("data,name,message", [
    (HTML, "page.html", "page.html: files of this type cannot be attached."),
    (SVG, "logo.svg", "logo.svg: files of this type cannot be attached."),
    (EXE, "setup.exe", "setup.exe: files of this type cannot be attached."),
    (HTML, "report.pdf.html", "report.pdf.html: files of this type cannot be attached."),
    (HTML, "photo.png", "photo.png looks like text/html, which cannot be attached."),
    (b"", "empty.txt", "empty.txt is empty."),
])
def test_forbidden_files_are_refused(client, desk, data, name, message):
    files = [(io.BytesIO(png_bytes()), "ok.png"), (io.BytesIO(data), name)]
    response = client.post("/new", data={**ticket_form(desk, client), "attachments": files},
                           content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in page
    assert 'id="attachments-errors"' in page
    assert "please choose them again" in page
    assert count(Ticket) == 0 and count(Attachment) == 0 and count(Customer) == 0


def test_oversize_and_too_many_files_are_refused(client, desk, app):
    app.config["HELPDESK_MAX_ATTACHMENT_MB"] = 1
    app.config["HELPDESK_MAX_ATTACHMENTS"] = 2
    assert "Up to 2 files, at most 1 MB each" in client.get("/new").get_data(as_text=True)
    big = [(io.BytesIO(b"a" * (1024 * 1024 + 1)), "big.txt")]
    response = client.post("/new", data={**ticket_form(desk, client), "attachments": big},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert "big.txt is larger than 1 MB, the limit for one file." in response.get_data(as_text=True)
    three = [(io.BytesIO(b"note"), f"n{i}.txt") for i in range(3)]
    response = client.post("/new", data={**ticket_form(desk, client), "attachments": three},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert "At most 2 files can be attached at once." in response.get_data(as_text=True)
    assert count(Ticket) == 0 and count(Attachment) == 0


# --- check status ------------------------------------------------------------------------------


def test_check_status_answers_the_same_and_mails_only_the_right_pair(client, desk, make_ticket, inbox):
    ticket = make_ticket(email="ken@example.net", body="Secret description of the outage")
    inbox.deliver()
    inbox.clear()

    def ask(number, email):
        response = client.post("/status", data={"number": number, "email": email}, follow_redirects=True)
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert STATUS_SENT in page
        assert "Secret description" not in page and ticket.subject not in page
        return re.sub(r'hx-headers=\'[^\']*\'', "", page)

    right = ask(ticket.number, "ken@example.net")
    wrong_mail = ask(ticket.number, "eve@example.net")
    wrong_number = ask("ZZZZZZ", "ken@example.net")
    assert right == wrong_mail == wrong_number
    inbox.deliver()
    assert len(inbox.to("ken@example.net")) == 1
    assert inbox.to("eve@example.net") == []
    assert f"[#{ticket.number}]" in inbox.subjects("ken@example.net")[0]
    # Lenient about case and a leading '#'.
    ask(f"#{ticket.number.lower()}", "KEN@example.net")
    inbox.deliver()
    assert len(inbox.to("ken@example.net")) == 2


@pytest.mark.parametrize("number,email,message", [
    ("", "ken@example.net", "Enter the ticket number"),
    ("AB", "ken@example.net", "A ticket number has 4 to 12 letters and digits"),
    ("ABC' OR 1=1", "ken@example.net", "A ticket number has 4 to 12 letters and digits"),
    ("K7Q2M9", "", "Enter the email address you opened the ticket with."),
    ("K7Q2M9", "ken@", "That is not a valid email address."),
])
def test_check_status_bad_input(client, desk, number, email, message):
    response = client.post("/status", data={"number": number, "email": email})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert STATUS_SENT not in response.get_data(as_text=True)
    assert count(OutboxMail) == 0


def test_check_status_htmx_swaps_only_the_form(client, desk, make_ticket):
    ticket = make_ticket(email="ken@example.net")
    hx = {"HX-Request": "true"}
    response = client.post("/status", data={"number": ticket.number, "email": "ken@example.net"}, headers=hx)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="status_form"' in body and "<html" not in body and STATUS_SENT in body
    response = client.post("/status", data={"number": "", "email": "x"}, headers=hx)
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and 'id="status_form"' in body and "<html" not in body


def test_status_answer_does_not_depend_on_mail_settings(client, desk, make_ticket):
    """The lifecycle's answer (found or not) never reaches the page."""
    ticket = make_ticket(email="ken@example.net")
    assert tickets.send_status_link(ticket.number, "ken@example.net") is True
    a = client.post("/status", data={"number": ticket.number, "email": "ken@example.net"})
    b = client.post("/status", data={"number": ticket.number, "email": "nobody@example.net"})
    assert a.status_code == b.status_code == 302
    assert a.headers["Location"] == b.headers["Location"] == "/status"
