"""Mail about a ticket is queued unrendered (its kind and what it shows, frozen at the event) and
rendered by the sender: the content is what the customer should see, as it was at the event;
a mail whose ticket is gone is kept and reported; each submission queues each mail once."""
from __future__ import annotations

import json
from collections import Counter

from sqlalchemy import select, update

from helpdesk import tickets
from helpdesk.extensions import db
from helpdesk.mail import outbox
from helpdesk.models import HelpTopic, OutboxMail, ThreadEntry, Ticket
from test_portal import ticket_form


def rows(**where) -> list[OutboxMail]:
    db.session.expire_all()
    query = select(OutboxMail).order_by(OutboxMail.id)
    for name, value in where.items():
        query = query.where(getattr(OutboxMail, name) == value)
    return list(db.session.scalars(query))


def test_a_submission_queues_each_mail_once_unrendered_and_the_sender_renders_it(client, desk, inbox):
    response = client.post("/new", data=ticket_form(desk, client, subject="Card payments fail",
                                                    description="Every card payment fails since 08:00."))
    assert response.status_code == 302
    ticket = db.session.scalar(select(Ticket))
    queued = rows(ticket_id=ticket.id)
    # The acknowledgement and one alert per agent of the department (and its manager), once each.
    recipients = Counter(r.recipient for r in queued)
    assert recipients["ken@example.net"] == 1 and set(recipients.values()) == {1}
    assert {desk.manager.email, desk.tech.email} <= set(recipients)
    # Queued with the subject, not rendered yet: the sender does that.
    for row in queued:
        assert row.subject.startswith(f"[#{ticket.number}] ") and row.kind and row.context
        assert row.body_text is None and row.body_html is None

    box = inbox.deliver()
    assert sorted(r for m in box.messages for r in m.envelope_to) == sorted(recipients.elements())
    [ack] = box.to("ken@example.net")
    assert str(ack["Subject"]) == f"[#{ticket.number}] We received your request: Card payments fail"
    text, html = inbox.text(ack), inbox.html(ack)
    assert "Hello Ken Customer," in text and f"#{ticket.number}" in text and "Card payments fail" in text
    assert "http://desk.test/t/" in text and "http://desk.test/t/" in html
    [alert] = box.to(desk.tech.email)
    assert "Every card payment fails since 08:00." in inbox.text(alert)
    assert "Every card payment fails since 08:00." in inbox.html(alert)
    # What was sent is kept on the row; the Message-ID is the one queued in the request.
    sent = rows(ticket_id=ticket.id)
    assert all(r.status == "sent" and r.body_text and r.body_html for r in sent)
    assert {str(m["Message-ID"]) for m in box.messages} == {r.message_id for r in sent}


def test_what_a_mail_shows_is_frozen_at_the_event(ticket, desk, inbox):
    """The reply text and the ticket's status and subject as they were when the agent replied,
    though the reply is edited and the ticket moves on before the mail is sent."""
    tickets.request_info(desk.tech, ticket, "Which app version do you use?")
    link = json.loads(rows(event="info_requested")[0].context)["link"]
    db.session.execute(update(ThreadEntry).where(ThreadEntry.body == "Which app version do you use?")
                       .values(body="EDITED LATER", body_html="<p>EDITED LATER</p>"))
    db.session.execute(update(Ticket).where(Ticket.id == ticket.id)
                       .values(status="resolved", subject="Renamed later"))
    db.session.commit()

    [mail] = inbox.deliver().to("ken@example.net")
    text, html = inbox.text(mail), inbox.html(mail)
    assert "Which app version do you use?" in text and "Which app version do you use?" in html
    assert "EDITED LATER" not in text + html and "Renamed later" not in text + html + str(mail["Subject"])
    assert "Please answer on the ticket page:" in text  # the ticket was waiting on the customer then
    assert "Mobile banking down" in str(mail["Subject"]) and "Mobile banking down" in html
    assert link in text  # the access link made at the event


def test_a_mail_whose_ticket_is_gone_is_kept_and_reported_and_the_others_go_out(make_ticket, desk, inbox):
    gone = make_ticket("Business Critical Outage", email="gone@example.net", subject="Spam to delete")
    kept = make_ticket("Business Critical Outage", email="kept@example.net", subject="A real problem")
    doomed = {r.id for r in rows(ticket_id=gone.id)}
    assert doomed
    db.session.delete(db.session.get(Ticket, gone.id))
    db.session.commit()

    sent, failed = outbox.send_pending()
    assert failed == len(doomed) and sent == len(rows(ticket_id=kept.id))
    for row in rows():
        if row.id in doomed:
            assert row.status == "failed" and "its ticket is gone" in row.last_error
            assert row.body_text is None  # kept as queued
        else:
            assert row.status == "sent"
    assert inbox.to("gone@example.net") == [] and len(inbox.to("kept@example.net")) == 1
    # The sender's loop is not stuck on them: nothing is due any more.
    assert outbox.send_due() == (0, 0)


def test_render_waiting_renders_in_place_without_sending(make_ticket, inbox):
    t = make_ticket("Business Critical Outage", email="ken@example.net", subject="Printer on fire")
    done, broken = outbox.render_waiting()
    assert (done, broken) == (len(rows(ticket_id=t.id)), 0)
    assert all(r.body_text and r.status == "pending" for r in rows())
    assert "Printer on fire" in rows(recipient="ken@example.net")[0].body_text
    box = inbox.deliver()
    assert "Printer on fire" in inbox.text(box.to("ken@example.net")[0])


def test_the_form_shows_an_admins_topic_edit_at_once(client, desk):
    topic = desk.topics["Billing question"]
    assert "Billing question" in client.get("/new").get_data(as_text=True)
    db.session.execute(update(HelpTopic).where(HelpTopic.id == topic.id).values(name="Invoices and billing"))
    db.session.commit()
    page = client.get("/new").get_data(as_text=True)
    assert "Invoices and billing" in page and "Billing question" not in page
    db.session.execute(update(HelpTopic).where(HelpTopic.id == topic.id).values(public=False))
    db.session.commit()
    assert "Invoices and billing" not in client.get("/new").get_data(as_text=True)
