"""Canned responses: who manages which, bad input, who may insert which on a ticket, and the text
filled in for the ticket and the agent."""
import pytest
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import AuditEntry, CannedResponse


def _new(client, title="Password reset", body="Hello {customer_name}, about #{ticket_number}: done. {agent_name}",
         owner="me"):
    return client.post("/agent/canned-responses", data={"title": title, "body": body, "owner": owner})


def _response(title) -> CannedResponse:
    db.session.expire_all()
    return db.session.scalar(select(CannedResponse).where(CannedResponse.title == title))


def _audited(title):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.object_type == "canned_response",
                                                       AuditEntry.object_name == title)).all()


def test_an_agent_writes_a_personal_response_and_inserts_it_filled_in(login, desk, ticket):
    client = login(desk.tech)
    assert _new(client).status_code == 302
    page = client.get("/agent/canned-responses").get_data(as_text=True)
    assert "Password reset" in page and "Personal" in page
    r = _response("Password reset")
    assert r.agent_id == desk.tech.id and _audited("Password reset") == []  # personal: not the desk's setup

    text = client.get(f"/agent/tickets/{ticket.number}/canned-responses/{r.id}")
    assert text.status_code == 200 and text.mimetype == "text/plain"
    assert text.get_data(as_text=True) == f"Hello Ken, about #{ticket.number}: done. Tom Technician"


def test_the_picker_lists_matches_as_a_page_or_as_its_part(login, desk, ticket):
    client = login(desk.tech)
    _new(client)
    _new(client, title="Outage acknowledged", body="We are on it.")
    client.get("/agent/canned-responses")  # shows the flash
    url = f"/agent/tickets/{ticket.number}/canned-responses?q=pass&into=reply"
    page = client.get(url).get_data(as_text=True)
    assert "<html" in page and "Password reset" in page and "Outage acknowledged" not in page
    part = client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in part and 'id="canned-results"' in part and "Password reset" in part
    assert "No canned response you may use here matches" in client.get(
        f"/agent/tickets/{ticket.number}/canned-responses?q=zebra", headers={"HX-Request": "true"}).get_data(as_text=True)


def test_without_javascript_the_link_fills_the_reply_box(login, desk, ticket, inbox):
    client = login(desk.tech)
    _new(client)
    r = _response("Password reset")
    page = client.get(f"/agent/tickets/{ticket.number}?canned={r.id}&into=reply").get_data(as_text=True)
    assert f"Hello Ken, about #{ticket.number}: done. Tom Technician</textarea>" in page
    assert client.get(f"/agent/tickets/{ticket.number}?canned={r.id}&into=escalate").status_code == 400
    assert client.get(f"/agent/tickets/{ticket.number}?canned={10**30}&into=reply").status_code == 404


def test_nobody_inserts_another_agents_personal_response(login, desk, ticket):
    _new(login(desk.tech))
    r = _response("Password reset")
    client = login(desk.vendor)  # sees the ticket, in the same department
    assert client.get(f"/agent/tickets/{ticket.number}/canned-responses/{r.id}").status_code == 404
    assert client.get(f"/agent/tickets/{ticket.number}?canned={r.id}&into=reply").status_code == 404
    assert "Password reset" not in client.get(f"/agent/tickets/{ticket.number}/canned-responses?q=").get_data(as_text=True)
    assert client.get(f"/agent/canned-responses/{r.id}").status_code == 404
    assert client.post(f"/agent/canned-responses/{r.id}/delete").status_code == 404
    assert _response("Password reset") is not None


def test_department_responses_are_for_that_departments_agents(login, desk, ticket):
    client = login(desk.manager)  # Support and IT Operations
    support, it = desk.departments["Support"], desk.departments["IT Operations"]
    assert _new(client, "Support hello", "Hi {customer_name}", f"department-{support.id}").status_code == 302
    assert _new(client, "IT hello", "Hi from IT", f"department-{it.id}").status_code == 302
    tech = login(desk.tech)  # Support only
    picker = tech.get(f"/agent/tickets/{ticket.number}/canned-responses?q=hello").get_data(as_text=True)
    assert "Support hello" in picker and "IT hello" not in picker
    assert tech.get(f"/agent/tickets/{ticket.number}/canned-responses/{_response('Support hello').id}").status_code == 200
    assert tech.get(f"/agent/tickets/{ticket.number}/canned-responses/{_response('IT hello').id}").status_code == 404
    # An agent cannot write for a department, nor change one.
    assert "Choose who may use the response" in _new(tech, "Mine", "x", f"department-{support.id}").get_data(as_text=True)
    assert tech.post(f"/agent/canned-responses/{_response('Support hello').id}",
                     data={"title": "Changed", "body": "x", "owner": "me"}).status_code == 404


def test_managers_and_admins_changes_are_audited(login, desk):
    manager = login(desk.manager)
    support = desk.departments["Support"]
    assert _new(manager, "Desk hello", "x", "desk").status_code == 400  # desk-wide is for admins
    _new(manager, "Support hello", "Hi", f"department-{support.id}")
    r = _response("Support hello")
    assert r.department_id == support.id
    assert manager.post(f"/agent/canned-responses/{r.id}", data={"title": "Support hi", "body": "Hi",
                                                            "owner": f"department-{support.id}"}).status_code == 302
    assert [(e.field, e.old, e.new) for e in _audited("Support hi")] == [("title", "Support hello", "Support hi")]

    admin = login(desk.admin)
    assert _new(admin, "Desk hello", "Hello from {desk_name}", "desk").status_code == 302
    assert [(e.field, e.new, e.agent_name) for e in _audited("Desk hello")] == [("created", "Desk-wide", "Ada Admin")]
    assert admin.post(f"/agent/canned-responses/{r.id}/delete").status_code == 302  # any department's
    assert _response("Support hi") is None
    assert ("deleted", "Support") in [(e.field, e.old) for e in _audited("Support hi")]
    # A manager does not manage what is desk-wide.
    assert login(desk.manager).get(f"/agent/canned-responses/{_response('Desk hello').id}").status_code == 404


@pytest.mark.parametrize("title, body, message", [
    ("", "text", "Give the response a title."),
    ("Title", "  \n ", "Write the response&#39;s text."),
    ("x" * 121, "text", "The title is too long"),
    ("Title", "Dear {foo}, see {ticket_number}", "Unknown placeholder: {foo}."),
    ("Title", "{customer.__class__}", "Unknown placeholder: {customer.__class__}"),
])
def test_bad_input_is_refused_with_a_message(login, desk, title, body, message):
    client = login(desk.tech)
    response = _new(client, title, body)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page and 'role="alert"' in page
    assert db.session.scalar(select(CannedResponse)) is None
    # An edit with bad input keeps the saved text.
    _new(client, "Good", "Fine")
    r = _response("Good")
    assert client.post(f"/agent/canned-responses/{r.id}", data={"title": title, "body": body, "owner": "me"}).status_code == 400
    assert _response("Good").body == "Fine"
