"""Mail templates: an admin's subject and opening message reach the mail the customer receives,
placeholders come from a fixed list (anything else is refused), nothing an admin types runs in a
mail or a page, a subject cannot add a header, and the built-in wording can be restored."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from helpdesk import tickets
from helpdesk.clock import utcnow
from helpdesk.extensions import db
from helpdesk.mail import wording as mail_templates
from helpdesk.models import AuditEntry, MailTemplate, OutboxMail, Ticket
from helpdesk.tickets import intake
from hostile import XSS_PAYLOADS, assert_no_live_markup
from support.pages import text_of
from support.rows import count

URL = "/admin/mail-templates/reply_customer"


def _rows() -> int:
    return count(MailTemplate)


def _reply_mail(inbox, make_ticket, desk, body="Try turning it off and on."):
    inbox.clear()
    ticket = make_ticket(email="ken@example.net", name="Ken Customer", subject="Printer jams")
    tickets.reply(desk.tech, ticket, body)
    inbox.deliver()
    mails = [m for m in inbox.to("ken@example.net") if "Printer jams" in str(m["Subject"]) or "#" in str(m["Subject"])]
    return ticket, mails[-1]


def test_the_admins_wording_is_in_the_mail_the_customer_receives(admin, desk, make_ticket, inbox):
    response = admin.post(URL, data={
        "subject": "Ticket {ticket_number}: {agent_name} answered {customer_name}",
        "message": "Dear {customer_name},\n\n{agent_name} looked at \"{subject}\" <b>now</b>.\nIt is {status}.",
    })
    assert response.status_code == 302
    ticket, mail = _reply_mail(inbox, make_ticket, desk)
    n = ticket.number
    assert str(mail["Subject"]) == f"[#{n}] Ticket {n}: {desk.tech.name} answered Ken Customer"
    text, html = inbox.text(mail).replace("\r\n", "\n"), inbox.html(mail).replace("\r\n", "\n")
    assert f'Dear Ken Customer,\n\n{desk.tech.name} looked at "Printer jams" <b>now</b>.\nIt is' in text
    # The fixed parts stay: the quoted reply and the customer's own link.
    assert "Try turning it off and on." in text
    link = re.search(r"https?://\S+(/t/[\w.-]+)", text).group(1)
    assert "Printer jams" in text_of(admin.get(link))  # the customer's link still opens the ticket
    assert "replied to your request" not in text  # the built-in opening is replaced
    assert (f"<p>Dear Ken Customer,</p>\n<p>{desk.tech.name} looked at &#34;Printer jams&#34; "
            "&lt;b&gt;now&lt;/b&gt;.<br>") in html
    assert "<b>now</b>" not in html
    assert link in html and "Try turning it off and on." in html
    # Another kind of mail keeps its built-in wording.
    assert any("We received your request" in inbox.text(m) for m in inbox.to("ken@example.net"))
    entries = {e.field: e.new for e in db.session.scalars(select(AuditEntry).where(AuditEntry.object_type == "mail_template"))}
    assert entries["subject"].startswith("Ticket {ticket_number}") and entries["message"].startswith("Dear")


@pytest.mark.parametrize("bad", ["{ticket.__class__}", "{ticket_number.__class__.__mro__}", "{0}",
                                 "{{7*7}}", "{subject!r}", "{due:%Y}", "{password}", "{ticket}",
                                 "{team_name}"])  # another kind's placeholder
def test_an_unknown_placeholder_is_refused_and_nothing_is_saved(admin, bad):
    for field in ("subject", "message"):
        response = admin.post(URL, data={"subject": "Hello", "message": "Hello", field: f"About {bad} here"})
        assert response.status_code == 400
        page = text_of(response)
        assert "Unknown placeholder" in page and "This mail can use: {ticket_number}, {subject}" in page
        assert _rows() == 0
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_the_preview_fills_a_sample_ticket_and_refuses_unknown_placeholders(admin):
    response = admin.post(URL + "/preview", data={"subject": "About {subject}", "message": "Hi {customer_name}"},
                          headers={"HX-Request": "true"})
    assert response.status_code == 200
    page = text_of(response)
    assert page.lstrip().startswith('<section class="card mail-preview" id="preview"')  # the block only
    assert "About The printer on floor 2 jams" in page and "<p>Hi Kim Customer</p>" in page
    assert "https://" in page or "http://" in page  # the link is still in the mail
    response = admin.post(URL + "/preview", data={"subject": "Re: [#{ticket_number}] {subject}", "message": ""},
                          headers={"HX-Request": "true"})
    number = re.search(r"Re: \[#(\w+)\] The printer", text_of(response)).group(1)
    assert len(number) == 6 and set(number) <= set(intake._NUMBER_ALPHABET)  # as real numbers look
    response = admin.post(URL + "/preview", data={"subject": "{ticket.__class__}"}, headers={"HX-Request": "true"})
    assert response.status_code == 400 and "Unknown placeholder {ticket.__class__}" in text_of(response)
    assert _rows() == 0


def test_a_line_break_in_the_subject_adds_no_header(admin, desk, make_ticket, inbox):
    response = admin.post(URL, data={
        "subject": "Hello {subject}\r\nBcc: evil@example.org\r\nX-Injected: yes\nContent-Type: text/html",
        "message": ""})
    assert response.status_code == 302
    assert "\n" not in db.session.get(MailTemplate, "reply_customer").subject
    ticket, mail = _reply_mail(inbox, make_ticket, desk)
    assert mail["Bcc"] is None and mail["X-Injected"] is None
    assert str(mail["Subject"]).startswith(f"[#{ticket.number}] Hello Printer jams Bcc: evil@example.org")
    assert not inbox.to("evil@example.org")
    assert mail.is_multipart() and inbox.html(mail)  # still the desk's own structure


def test_the_restore_button_brings_back_the_built_in_wording(admin, desk, make_ticket, inbox):
    admin.post(URL, data={"subject": "Custom {subject}", "message": "Custom words"})
    assert _rows() == 1
    assert "Restore the built-in wording" in text_of(admin.get(URL))
    response = admin.post(URL + "/restore")
    assert response.status_code == 302 and _rows() == 0
    assert "Restore the built-in wording</button>" not in text_of(admin.get(URL))
    _, mail = _reply_mail(inbox, make_ticket, desk)
    assert str(mail["Subject"]).endswith("Re: Printer jams")
    assert "replied to your request" in inbox.text(mail) and "Custom words" not in inbox.text(mail)
    restored = {e.field: (e.old, e.new) for e in db.session.scalars(
        select(AuditEntry).where(AuditEntry.object_type == "mail_template").order_by(AuditEntry.id.desc()).limit(2))}
    assert restored == {"subject": ("Custom {subject}", None), "message": ("Custom words", None)}


def test_the_list_shows_every_kind_and_which_are_customised(admin):
    admin.post("/admin/mail-templates/overdue_agent", data={"subject": "Late: {subject} ({target})", "message": ""})
    page = text_of(admin.get("/admin/mail-templates"))
    assert page.count("Customised") == 1 and page.count("Built-in") >= 15
    assert "Overdue" in page and "Agent replied" in page and "Mail templates" in page


def test_managers_look_but_do_not_change(login, desk):
    client = login(desk.manager)
    page = text_of(client.get(URL))
    assert "<strong>Read only.</strong> Only administrators can change the desk&#39;s mails." in page
    assert "Save wording" not in page
    assert client.post(URL, data={"subject": "Mine", "message": ""}).status_code == 403
    assert client.post(URL + "/preview", data={"subject": "Mine"}).status_code == 403
    assert _rows() == 0
    assert login(desk.tech).get(URL).status_code == 403
    assert client.get("/admin/mail-templates/no_such_mail").status_code in (403, 404)


@pytest.mark.parametrize("payload", XSS_PAYLOADS, ids=range(len(XSS_PAYLOADS)))
def test_hostile_wording_never_runs_in_mails_or_pages(admin, desk, make_ticket, inbox, payload):
    value = payload.format(tag="XSSmailtpl")
    response = admin.post(URL, data={"subject": "S " + value, "message": "M " + value})
    assert response.status_code in (302, 400)
    assert_no_live_markup(text_of(response), "save answer")
    for url, headers in ((URL, {}), ("/admin/mail-templates", {}), ("/admin/audit", {})):
        assert_no_live_markup(text_of(admin.get(url, headers=headers)), url)
    preview = admin.post(URL + "/preview", data={"subject": "S " + value, "message": "M " + value},
                         headers={"HX-Request": "true"})
    assert (preview.status_code == 400) == (response.status_code == 400)
    assert "XSSmailtpl" in text_of(preview) or preview.status_code == 400
    assert_no_live_markup(text_of(preview), "preview")
    if response.status_code == 400:  # template syntax: refused as an unknown placeholder
        assert "{" in value and _rows() == 0
        return
    assert "XSSmailtpl" in text_of(admin.get(URL))
    _, mail = _reply_mail(inbox, make_ticket, desk)
    html = inbox.html(mail)
    assert "XSSmailtpl" in html and "replied to your request" not in html
    assert_no_live_markup(html, "mail", allow_own_assets=False)
    assert "XSSmailtpl" in str(mail["Subject"]) and "\n" not in str(mail["Subject"])


def test_the_copy_of_a_collaborators_message_has_its_own_wording(admin, desk, make_ticket, inbox):
    url = "/admin/mail-templates/collaborator_message_customer"
    page = text_of(admin.get(url))
    assert "Message from someone on copy" in page and "{collaborator_name}" in page and "To the customer" in page
    preview = admin.post(url + "/preview", data={"subject": "", "message": ""}, headers={"HX-Request": "true"})
    assert preview.status_code == 200 and "Pat Partner" in text_of(preview) and "error E-42" in text_of(preview)
    response = admin.post(url, data={"subject": "{collaborator_name} on #{ticket_number}",
                                     "message": "{collaborator_name} added a note for you, {customer_name}."})
    assert response.status_code == 302
    ticket = make_ticket(email="ken@example.net", name="Ken Customer", subject="Printer jams")
    collab = tickets.add_collaborator(desk.tech, ticket, "pat@example.org", "Pat Partner")
    inbox.deliver()
    inbox.clear()
    tickets.customer_reply(ticket, "Error E-42 on the display.", collaborator=collab)
    inbox.deliver()
    [mail] = inbox.to("ken@example.net")
    assert str(mail["Subject"]) == f"[#{ticket.number}] Pat Partner on #{ticket.number}"
    text = inbox.text(mail)
    assert "Pat Partner added a note for you, Ken Customer." in text and "Error E-42 on the display." in text


def test_the_reopen_mail_keeps_its_own_wording_when_customer_replied_is_customised(admin, desk, make_ticket, inbox):
    """"Customer replied" and "Reopened by the customer" are two kinds of mail: the admin's
    wording for one never shows in the other."""
    assert admin.post("/admin/mail-templates/customer_replied_agent", data={
        "subject": "Answer from {customer_name} on {ticket_number}", "message": "A reply came in."}).status_code == 302
    ticket = make_ticket(name="Ken Customer", subject="Printer jams")
    tickets.assign(desk.manager, ticket, agent=desk.tech)
    tickets.customer_reply(ticket, "Any news?")
    tickets.resolve(desk.tech, ticket, "Cleared the jam.")
    inbox.deliver()
    inbox.clear()
    tickets.customer_reply(ticket, "It jams again.")
    mail = inbox.deliver().to(desk.tech.email)[-1]
    assert str(mail["Subject"]) == f"[#{ticket.number}] Reopened by the customer: Printer jams"
    assert "replied to a finished ticket, which reopened it." in inbox.text(mail)
    assert "A reply came in." not in inbox.text(mail) and "It jams again." in inbox.text(mail)
    # Its own entry in the list, with its own wording to change.
    page = text_of(admin.get("/admin/mail-templates"))
    assert "Reopened by the customer" in page and "/admin/mail-templates/customer_reopened_agent" in page
    assert "replied to a finished ticket, which reopened it." in text_of(
        admin.get("/admin/mail-templates/customer_reopened_agent"))  # the preview
    assert admin.post("/admin/mail-templates/customer_reopened_agent", data={
        "subject": "Back again: {subject}", "message": "{customer_name} is not done yet."}).status_code == 302
    tickets.resolve(desk.tech, ticket, "Replaced the roller.")
    inbox.deliver()
    inbox.clear()
    tickets.customer_reply(ticket, "Still jams.")
    mail = inbox.deliver().to(desk.tech.email)[-1]
    assert str(mail["Subject"]) == f"[#{ticket.number}] Back again: Printer jams"
    assert "Ken Customer is not done yet." in inbox.text(mail) and "Still jams." in inbox.text(mail)
    # A reply to an unfinished ticket still gets the "Customer replied" wording.
    inbox.clear()
    tickets.customer_reply(ticket, "Sorry, one more thing.")
    mail = inbox.deliver().to(desk.tech.email)[-1]
    assert str(mail["Subject"]) == f"[#{ticket.number}] Answer from Ken Customer on {ticket.number}"
    assert "A reply came in." in inbox.text(mail)


def _every_kind_of_mail(desk, make_ticket) -> tuple[Ticket, list[OutboxMail]]:
    """One ticket's life that causes a mail of every kind; returns the ticket and its mails, in order."""
    from datetime import timedelta

    from sqlalchemy import update

    t = make_ticket(name="Ken Customer", email="ken@example.net", subject="Printer jams")  # received; new ticket
    tickets.assign(desk.manager, t, agent=desk.tech)  # assigned (to the agent and the customer)
    tickets.assign(desk.manager, t, team=desk.teams["Senior Support"])  # assigned to the team
    tickets.reply(desk.tech, t, "Have you tried the other tray?")
    tickets.request_info(desk.tech, t, "Which model is it?")
    tickets.customer_reply(t, "The big one.")  # customer replied
    pat = tickets.add_collaborator(desk.tech, t, "pat@example.org", "Pat Partner")
    tickets.customer_reply(t, "Same here.", collaborator=pat)  # a copy to the customer
    tickets.escalate(desk.tech, t, desk.teams["SysAdmins/Developers"], "Needs a technician.")
    tickets.resume(desk.sysadmin, t, "The roller is worn out.")  # handed back to the assignee
    tickets.resolve(desk.tech, t, "Replaced the roller.")
    tickets.customer_reply(t, "It jams again.")  # reopened by the customer
    tickets.resolve(desk.tech, t, "Replaced the tray.")
    tickets.customer_confirm(t)  # closed (to the customer, and to the agent)
    tickets.reopen(desk.manager, t, "Came back by phone.")
    tickets.new_access_link(desk.tech, t)
    tickets.transfer(desk.admin, t, desk.departments["IT Operations"])
    db.session.execute(update(Ticket).where(Ticket.id == t.id).values(due_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    assert tickets.check_overdue()
    db.session.expire_all()
    mails = db.session.scalars(select(OutboxMail).where(OutboxMail.ticket_id == t.id).order_by(OutboxMail.id)).all()
    return db.session.get(Ticket, t.id), mails


def test_every_kind_of_mail_is_sent_with_its_built_in_subject_and_the_admins(admin, desk, make_ticket):
    """The subject the admin's page shows as built-in is the one each mail is sent with; and each
    kind in the admin's list is the wording of real mails (an admin's subject for it changes them)."""
    ticket, builtin = _every_kind_of_mail(desk, make_ticket)
    for key in mail_templates.KINDS:
        assert admin.post(f"/admin/mail-templates/{key}", data={
            "subject": f"Kind {key} {{ticket_number}}", "message": ""}).status_code == 302
    other, custom = _every_kind_of_mail(desk, make_ticket)
    assert [(m.event, m.recipient) for m in custom] == [(m.event, m.recipient) for m in builtin]
    known = {  # the placeholders' values for this ticket, as the test knows them
        "subject": "Printer jams", "agent_name": desk.tech.name, "department": "IT Operations",
        "team_name": "SysAdmins/Developers", "target": "resolution", "collaborator_name": "Pat Partner",
    }
    sent = {}
    for plain, customised in zip(builtin, custom):
        key = customised.subject.removeprefix(f"[#{other.number}] Kind ").removesuffix(f" {other.number}")
        assert key in mail_templates.KINDS, customised.subject
        sent.setdefault(key, set()).add(plain.subject)
    assert sorted(sent) == sorted(mail_templates.KINDS)  # every kind, and only kinds, was sent
    team_at = {"team_agent": "Senior Support"}
    for key, subjects in sent.items():
        expected = mail_templates.KINDS[key].builtin_subject.format(
            **{**known, "team_name": team_at.get(key, known["team_name"])})
        assert subjects == {f"[#{ticket.number}] {expected}"}, key
    assert "{" not in "".join(m.subject for m in builtin)


def _overdue_mail(desk, make_ticket, inbox):
    from datetime import timedelta

    from sqlalchemy import update

    inbox.clear()
    ticket = make_ticket(subject="Printer jams")
    tickets.assign(desk.manager, ticket, agent=desk.tech)
    db.session.execute(update(Ticket).where(Ticket.id == ticket.id).values(due_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    assert tickets.check_overdue()
    return [m for m in inbox.deliver().to(desk.tech.email) if "Overdue" in str(m["Subject"])][-1]


RED_BOX = re.compile(r'<(p|div) style="border-left:4px solid #dc2626;'
                     r'padding:8px 14px;background:#fef2f2">(.*?)</\1>', re.S)


@pytest.mark.parametrize("payload", [XSS_PAYLOADS[0], XSS_PAYLOADS[3], XSS_PAYLOADS[9]])
def test_an_admins_overdue_message_keeps_the_red_box_and_is_escaped(admin, desk, make_ticket, inbox, payload):
    built_in = RED_BOX.search(inbox.html(_overdue_mail(desk, make_ticket, inbox)))
    assert built_in and "This ticket is overdue" in built_in.group(2)
    value = payload.format(tag="XSSoverdue")
    assert admin.post("/admin/mail-templates/overdue_agent", data={
        "subject": "", "message": f"Late on {{target}}!\n\nAct now: {value}"}).status_code == 302
    html = inbox.html(_overdue_mail(desk, make_ticket, inbox))
    box = RED_BOX.search(html)
    assert box, "the admin's message is not in the red box"
    assert "<p>Late on resolution!</p>" in box.group(2) and "XSSoverdue" in box.group(2)
    assert "This ticket is overdue" not in html
    assert_no_live_markup(html, "overdue mail", allow_own_assets=False)
