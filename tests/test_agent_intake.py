"""Tickets an agent opens for a customer (phone and the like), and people on copy (collaborators):
their mail, their own links, their replies, and what happens when they are taken off copy."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from helpdesk import tickets
from helpdesk.extensions import db
from helpdesk.models import Collaborator, Event, ThreadEntry, Ticket

HTMX = {"HX-Request": "true"}


def form(desk, **overrides):
    data = {"source": "phone", "topic": desk.topics["Password reset"].id, "priority": 0,
            "subject": "Locked out of the VPN", "description": "Called at 9:10, account locked after a holiday.",
            "notify_customer": "y"}
    data.update(overrides)
    return data


# --- phone tickets ---------------------------------------------------------------------------------


def test_new_ticket_link_and_page(client, login, desk):
    login(desk.tech)
    page = client.get("/agent/").get_data(as_text=True)
    assert 'href="/agent/new"' in page
    page = client.get("/agent/new").get_data(as_text=True)
    assert "New ticket" in page and "Phone call" in page and 'hx-get="/agent/customers"' in page


def test_phone_ticket_for_a_new_customer_with_mail(client, login, desk, inbox):
    login(desk.manager)
    response = client.post("/agent/new", data=form(desk, new_name="Nora New", new_email="nora@example.net"))
    assert response.status_code == 302
    t = db.session.scalar(select(Ticket))
    assert response.headers["Location"].endswith(f"/agent/tickets/{t.number}")
    assert t.source == "phone" and t.topic.name == "Password reset" and t.department.name == "IT Operations"
    assert t.customer.name == "Nora New" and t.customer.email == "nora@example.net"
    [created] = db.session.scalars(select(Event).where(Event.ticket_id == t.id, Event.action == "created")).all()
    assert created.agent_id == desk.manager.id and created.new == "Password reset via phone"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Ticket #{t.number} was opened. The customer was mailed their link." in page
    assert "Maya Manager</strong> opened the ticket" in page
    inbox.deliver()
    [ack] = inbox.to("nora@example.net")
    assert "We received your request" in str(ack["Subject"]) and "http://desk.test/t/" in inbox.text(ack)


def test_phone_ticket_for_an_existing_customer_without_mail(client, login, desk, inbox, make_ticket):
    old = make_ticket(email="ken@example.net", name="Ken Known")
    inbox.deliver()
    inbox.clear()
    login(desk.tech)
    data = form(desk, customer_id=old.customer_id, topic=desk.topics["Business Critical Outage"].id,
                priority=desk.priorities["emergency"].id, source="agent")
    data.pop("notify_customer")
    data["attachments"] = (io.BytesIO(b"call notes\n"), "notes.txt")
    response = client.post("/agent/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    t = db.session.scalar(select(Ticket).where(Ticket.id != old.id))
    assert t.customer_id == old.customer_id and t.priority.key == "emergency" and t.source == "agent"
    assert [a.filename for a in t.entries[0].attachments] == ["notes.txt"]
    inbox.deliver()
    assert inbox.to("ken@example.net") == []  # not mailed, as chosen
    assert inbox.to(desk.tech.email)  # the department still hears of it


def test_internal_topics_are_offered_to_agents(client, login, desk):
    topic = desk.topics["Billing question"]
    topic.public = False
    db.session.commit()
    login(desk.tech)
    assert "Billing question (internal)" in client.get("/agent/new").get_data(as_text=True)
    response = client.post("/agent/new", data=form(desk, topic=topic.id, new_name="I", new_email="i@example.net"))
    assert response.status_code == 302 and db.session.scalar(select(Ticket)).topic_id == topic.id


def test_opening_in_a_department_the_agent_does_not_see(client, login, desk):
    login(desk.tech)  # Support only; password resets go to IT Operations
    response = client.post("/agent/new", data=form(desk, new_name="Nora", new_email="nora@example.net"))
    assert response.headers["Location"].endswith("/agent/")
    page = client.get("/agent/").get_data(as_text=True)
    assert "was opened in IT Operations, which you do not see" in page


@pytest.mark.parametrize("data, error", [
    ({}, "Choose a customer from the search, or enter a new customer"),
    ({"new_email": "nora@example.net"}, "Enter the new customer&#39;s name."),
    ({"new_name": "N", "new_email": "not-an-address"}, "That is not a valid email address"),
    ({"customer_id": "999999"}, "That customer no longer exists"),
    ({"new_name": "N", "new_email": "n@example.net", "topic": 0}, "Choose a help topic."),
    ({"new_name": "N", "new_email": "n@example.net", "topic": "x"}, "That choice is not available"),
    ({"new_name": "N", "new_email": "n@example.net", "subject": ""}, "Give the request a short subject."),
])
def test_new_ticket_form_errors(client, login, desk, data, error):
    login(desk.tech)
    response = client.post("/agent/new", data=form(desk, **data))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert error in page and "No ticket was opened yet." in page
    assert db.session.scalar(select(func.count(Ticket.id))) == 0


def test_customer_search_as_you_type(client, login, desk, make_ticket):
    make_ticket(email="ken@example.net", name="Ken Known")
    make_ticket(email="kendra@example.org", name="Kendra")
    make_ticket(email="zoe@example.net", name="Zoë 100%")
    login(desk.tech)
    fragment = client.get("/agent/customers?customer_q=KEN", headers=HTMX).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="customer_results"')
    assert "ken@example.net" in fragment and "kendra@example.org" in fragment and "zoe@" not in fragment
    assert "<html" not in fragment
    assert "zoe@example.net" in client.get("/agent/customers?customer_q=100%25", headers=HTMX).get_data(as_text=True)
    assert "ken@" not in client.get("/agent/customers?customer_q=%25", headers=HTMX).get_data(as_text=True)
    assert "No customer matches" in client.get("/agent/customers?customer_q=nobody", headers=HTMX).get_data(as_text=True)
    # without JavaScript, the Find button reloads the whole form with the results
    page = client.get("/agent/new?customer_q=kendra&subject=Kept").get_data(as_text=True)
    assert "kendra@example.org" in page and 'value="Kept"' in page
    assert client.get("/agent/customers?customer_q=ken").status_code == 302


def test_customer_directory_holds_the_customers_of_tickets_the_agent_may_see(client, login, desk, make_ticket):
    """An agent finds only customers with a ticket the agent may see; managers and admins all."""
    make_ticket(email="ken@example.net", name="Ken Support")  # General inquiry: Support
    vpn = make_ticket(topic="Password reset", email="kenny@example.org", name="Kenny Operations")  # IT Operations
    login(desk.tech)  # Support

    def found(q, **extra):
        params = {"customer_q": q, **extra}
        return client.get("/agent/customers", query_string=params, headers=HTMX).get_data(as_text=True)

    assert "ken@example.net" in found("ken") and "kenny@example.org" not in found("ken")
    assert "Kenny Operations" not in found("operations") and "No customer matches" in found("operations")
    assert "kenny@" not in found("xx", customer_id=vpn.customer_id)  # nor by its id
    assert "kenny@" not in client.get("/agent/new?customer_q=kenny").get_data(as_text=True)
    response = client.post("/agent/new", data=form(desk, customer_id=vpn.customer_id))
    assert response.status_code == 400 and "That customer no longer exists" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Ticket.id))) == 2
    # Once a ticket of theirs is the technician's to see (by team), the customer is found too.
    tickets.assign(desk.manager, vpn, team=desk.teams["Senior Support"])
    assert "kenny@example.org" in found("ken")
    for agent in (desk.manager, desk.admin):
        login(agent)
        assert "kenny@example.org" in found("ken") and "ken@example.net" in found("ken")


def test_new_ticket_needs_a_signed_in_agent(client, desk):
    assert client.get("/agent/new").status_code == 302
    assert client.post("/agent/new", data=form(desk)).status_code == 302
    assert db.session.scalar(select(func.count(Ticket.id))) == 0


# --- collaborators --------------------------------------------------------------------------------------


@pytest.fixture
def ticket(make_ticket, inbox):
    t = make_ticket(topic="Business Critical Outage", email="ken@example.net", name="Ken", subject="Printer down")
    inbox.deliver()
    inbox.clear()
    return t


def link_in(mail, inbox) -> str:
    return re.search(r"http://desk\.test(/t/\S+)", inbox.text(mail)).group(1)


def add(client, ticket, **data):
    db.session.expire_all()
    data.setdefault("version", db.session.get(Ticket, ticket.id).version)
    return client.post(f"/agent/tickets/{ticket.number}/collaborators", data=data)


def test_collaborators_get_public_replies_with_their_own_link_never_notes(client, login, desk, ticket, inbox):
    login(desk.tech)
    response = add(client, ticket, email="Support@Vendor.example", name="Vendor Support")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "They are on copy now" in page and "support@vendor.example" in page and "Vendor Support" in page
    t = db.session.get(Ticket, ticket.id)
    tickets.add_note(desk.tech, t, "Internal: vendor contract expires soon.")
    tickets.reply(desk.tech, t, "We asked the vendor to send a technician.")
    tickets.resolve(desk.tech, t, "The technician replaced the fuser.")
    inbox.deliver()
    vendor_mail = inbox.to("support@vendor.example")
    assert [str(m["Subject"]).strip() for m in vendor_mail] == [
        f"[#{t.number}] Re: Printer down", f"[#{t.number}] Resolved: Printer down"]
    assert all("Internal" not in inbox.text(m) and "contract" not in inbox.html(m) for m in vendor_mail)
    assert "You are on copy of this request from Ken" in inbox.text(vendor_mail[0])
    vendor_link = link_in(vendor_mail[0], inbox)
    customer_link = link_in(inbox.to("ken@example.net")[0], inbox)
    assert vendor_link != customer_link
    # the vendor's own link: the public thread, no notes, no confirm button; a reply lands as theirs
    page = client.get(vendor_link).get_data(as_text=True)
    assert "We asked the vendor" in page and "vendor contract" not in page
    assert "You are on copy of this request from Ken" in page and "close it</button>" not in page
    assert client.post(vendor_link + "/confirm").status_code == 403
    response = client.post(vendor_link + "/reply", data={"body": "Technician visit done, part replaced."})
    assert response.status_code == 302
    entry = db.session.scalars(select(ThreadEntry).where(ThreadEntry.ticket_id == t.id)
                               .order_by(ThreadEntry.id.desc())).first()
    collab = db.session.scalar(select(Collaborator))
    assert entry.kind == "message" and entry.collaborator_id == collab.id and entry.customer_id is None
    db.session.expire_all()
    assert db.session.get(Ticket, t.id).status == "open"  # reopened, by the portal's rules
    assert "Vendor Support</strong> <span class=\"kind\">on copy</span>" in client.get(vendor_link).get_data(as_text=True)
    inbox.deliver()
    assert any("Vendor Support (on copy) replied" in inbox.text(m) for m in inbox.to(desk.tech.email))


def test_removed_collaborators_get_no_more_mail_and_their_link_stops(client, login, desk, ticket, inbox):
    login(desk.tech)
    add(client, ticket, email="vendor@example.org")
    t = db.session.get(Ticket, ticket.id)
    tickets.reply(desk.tech, t, "First answer.")
    inbox.deliver()
    link = link_in(inbox.to("vendor@example.org")[0], inbox)
    assert client.get(link).status_code == 200
    collab = db.session.scalar(select(Collaborator))
    response = client.post(f"/agent/tickets/{t.number}/collaborators/{collab.id}/remove", headers=HTMX)
    assert response.status_code == 200 and "is no longer on copy" in response.get_data(as_text=True)
    assert client.get(link).status_code == 404
    assert client.post(link + "/reply", data={"body": "Still here?"}).status_code == 404
    inbox.clear()
    tickets.reply(desk.tech, db.session.get(Ticket, t.id), "Second answer.")
    tickets.close(desk.tech, db.session.get(Ticket, t.id))
    inbox.deliver()
    assert inbox.to("vendor@example.org") == [] and len(inbox.to("ken@example.net")) == 2
    history = [e.action for e in db.session.scalars(select(Event).where(Event.ticket_id == t.id))]
    assert "collaborator_added" in history and "collaborator_removed" in history
    # added again: a new link works, the old one stays dead
    add(client, ticket, email="vendor@example.org")
    assert client.get(link).status_code == 404


@pytest.mark.parametrize("email, error", [
    ("", "Enter the address to put on copy."),
    ("not an address", "Enter one email address"),
    ("ken@example.net", "the customer&#39;s own address"),
])
def test_collaborator_errors(client, login, desk, ticket, email, error):
    login(desk.tech)
    response = add(client, ticket, email=email)
    assert response.status_code == 400 and error in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Collaborator.id))) == 0


def test_collaborators_need_access_to_the_ticket(client, login, desk, ticket):
    login(desk.sysadmin)  # IT Operations: does not see Support tickets
    assert add(client, ticket, email="x@example.org").status_code == 404
    login(desk.tech)
    add(client, ticket, email="x@example.org")
    collab = db.session.scalar(select(Collaborator))
    login(desk.sysadmin)
    assert client.post(f"/agent/tickets/{ticket.number}/collaborators/{collab.id}/remove").status_code == 404
    assert db.session.get(Collaborator, collab.id).active
