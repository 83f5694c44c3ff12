"""Canned responses: who manages which, bad input, who may insert which on a ticket, and the text
filled in for the ticket and the agent."""
import io

import pytest
from sqlalchemy import select

from helpdesk import attachments
from helpdesk.extensions import db
from helpdesk.models import AuditEntry, CannedAttachment, CannedResponse
from support.forms import settings_data
from support.rows import entries, fresh


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


# --- files that go with a response ------------------------------------------------------------

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _with_files(client, *files, title="Invoice copy", body="Your invoice, {customer_name}.", owner="me", url=None):
    data = {"title": title, "body": body, "owner": owner,
            "files": [(io.BytesIO(content), name) for name, content in files]}
    return client.post(url or "/agent/canned-responses", data=data, content_type="multipart/form-data")


def _stored(item) -> bool:
    return attachments.path_for(item.storage_key).is_file()


def test_files_are_added_downloaded_and_removed_in_the_editor(login, desk):
    client = login(desk.tech)
    assert _with_files(client, ("invoice.pdf", PDF), ("notes.txt", b"step one\n")).status_code == 302
    r = _response("Invoice copy")
    assert [(f.filename, f.content_type) for f in r.files] == [("invoice.pdf", "application/pdf"),
                                                               ("notes.txt", "text/plain")]
    pdf, txt = r.files
    page = client.get(f"/agent/canned-responses/{r.id}").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'name="remove_file"' in page and "invoice.pdf" in page
    download = client.get(f"/agent/canned-responses/{r.id}/files/{pdf.id}")
    assert download.status_code == 200 and download.data == PDF
    assert "attachment" in download.headers["Content-Disposition"] and download.headers["X-Content-Type-Options"] == "nosniff"
    # Another agent may not use it, nor download it; a file id under another response is 404 too.
    assert client.get(f"/agent/canned-responses/{r.id + 1}/files/{pdf.id}").status_code == 404
    assert login(desk.vendor).get(f"/agent/canned-responses/{r.id}/files/{pdf.id}").status_code == 404
    client = login(desk.tech)
    # Edit: one removed, one added; the removed file's bytes go after the commit.
    response = client.post(f"/agent/canned-responses/{r.id}", content_type="multipart/form-data", data={
        "title": "Invoice copy", "body": "Your invoice.", "owner": "me", "remove_file": str(txt.id),
        "files": [(io.BytesIO(b"more\n"), "more.txt")]})
    assert response.status_code == 302
    r = _response("Invoice copy")
    assert sorted(f.filename for f in r.files) == ["invoice.pdf", "more.txt"]
    assert "notes.txt" not in [f.filename for f in r.files] and not _stored(txt)


@pytest.mark.parametrize("name, content, message", [
    ("page.html", b"<html><script>alert(1)</script></html>", "page.html: files of this type cannot be attached."),
    ("tool.bin", b"\x7fELF\x02\x01\x01" + b"\x00" * 64, "tool.bin looks like"),
    ("big.txt", b"a" * (1024 * 1024 + 1), "big.txt is larger than 1 MB, the limit for one file."),
])
def test_bad_files_are_refused_with_the_uploads_message(login, desk, admin, name, content, message):
    admin.post("/admin/settings", data=settings_data(max_attachment_mb="1"))
    client = login(desk.tech)
    response = _with_files(client, (name, content))
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert db.session.scalar(select(CannedResponse)) is None and db.session.scalar(select(CannedAttachment)) is None
    assert not any(p.is_file() for p in attachments.upload_dir().rglob("*"))


def test_a_response_holds_no_more_files_than_a_message(login, desk, admin):
    admin.post("/admin/settings", data=settings_data(max_attachments="2"))
    client = login(desk.tech)
    _with_files(client, ("a.txt", b"a\n"), ("b.txt", b"b\n"))
    r = _response("Invoice copy")
    response = _with_files(client, ("c.txt", b"c\n"), url=f"/agent/canned-responses/{r.id}")
    assert response.status_code == 400 and "at most 2 files" in response.get_data(as_text=True)
    assert len(_response("Invoice copy").files) == 2


def test_inserted_files_go_with_the_reply_as_its_own_copies(client, login, desk, ticket, inbox):
    login(desk.tech)
    _with_files(client, ("invoice.pdf", PDF))
    r = _response("Invoice copy")
    [pdf] = r.files
    # The picker offers the files with the response; without JavaScript the form lists them.
    picker = client.get(f"/agent/tickets/{ticket.number}/canned-responses?q=invoice").get_data(as_text=True)
    assert "With invoice.pdf" in picker and f'name="canned_file" value="{pdf.id}"' in picker
    page = client.get(f"/agent/tickets/{ticket.number}?canned={r.id}&into=reply").get_data(as_text=True)
    form = page[page.index('id="reply_form"'):]
    form = form[:form.index("</form>")]
    assert "Attached from the canned response:" in form and f'name="canned_file" value="{pdf.id}"' in form

    response = client.post(f"/agent/tickets/{ticket.number}/reply", content_type="multipart/form-data", data={
        "version": fresh(ticket).version, "body": "Your invoice.", "canned_file": str(pdf.id),
        "attachments": [(io.BytesIO(b"log\n"), "own.txt")]})
    assert response.status_code == 302
    entry = entries(ticket)[-1]
    assert entry.kind == "reply" and sorted(a.filename for a in entry.attachments) == ["invoice.pdf", "own.txt"]
    copy = next(a for a in entry.attachments if a.filename == "invoice.pdf")
    assert copy.storage_key != pdf.storage_key and attachments.path_for(copy.storage_key).read_bytes() == PDF
    inbox.deliver()
    [mail] = inbox.to("ken@example.net")
    assert "invoice.pdf" in inbox.text(mail)

    # Deleting the response removes its files, never the ticket's copy.
    assert client.post(f"/agent/canned-responses/{r.id}/delete").status_code == 302
    assert not _stored(pdf) and db.session.scalar(select(CannedAttachment)) is None
    assert client.get(f"/agent/files/{copy.id}").data == PDF


def test_the_question_form_takes_them_too_and_the_count_limit_holds(client, login, desk, admin, ticket):
    admin.post("/admin/settings", data=settings_data(max_attachments="1"))
    login(desk.tech)
    _with_files(client, ("invoice.pdf", PDF))
    [pdf] = _response("Invoice copy").files
    response = client.post(f"/agent/tickets/{ticket.number}/reply", content_type="multipart/form-data", data={
        "version": fresh(ticket).version, "body": "Two files.", "canned_file": str(pdf.id),
        "attachments": [(io.BytesIO(b"log\n"), "own.txt")]})
    assert response.status_code == 400 and "At most 1 files can be attached at once" in response.get_data(as_text=True)
    assert entries(ticket)[-1].kind != "reply"
    # A form refused for its text shows the inserted file again, still to be sent with it.
    response = client.post(f"/agent/tickets/{ticket.number}/reply", content_type="multipart/form-data", data={
        "version": fresh(ticket).version, "body": "", "canned_file": str(pdf.id)})
    assert response.status_code == 400 and f'name="canned_file" value="{pdf.id}"' in response.get_data(as_text=True)
    response = client.post(f"/agent/tickets/{ticket.number}/request-info", data={
        "version": fresh(ticket).version, "body": "Is this your invoice?", "canned_file": str(pdf.id)})
    assert response.status_code == 302
    assert [a.filename for a in entries(ticket)[-1].attachments] == ["invoice.pdf"]


def test_files_of_a_response_the_agent_may_not_use_are_refused(client, login, desk, ticket):
    other = login(desk.vendor)
    _with_files(other, ("invoice.pdf", PDF), title="Vendor's own")
    [pdf] = _response("Vendor's own").files
    login(desk.tech)
    for value in (str(pdf.id), "x", str(10**30)):
        response = client.post(f"/agent/tickets/{ticket.number}/reply", content_type="multipart/form-data", data={
            "version": fresh(ticket).version, "body": "Here.", "canned_file": value})
        assert response.status_code == 400
        assert "not one you may send on this ticket" in response.get_data(as_text=True)
    assert entries(ticket)[-1].kind != "reply"
