"""The lifecycle module directly: every transition's states, roles, history and mail."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from helpdesk import attachments, tickets
from helpdesk.attachments import Upload
from helpdesk.clock import utcnow
from helpdesk.extensions import db
from helpdesk.models import Attachment, Customer, OutboxMail, ThreadEntry, Ticket
from support.rows import events

KEN = "ken@example.net"


# --- intake -----------------------------------------------------------------------------------


def test_open_ticket_applies_the_topic_defaults_and_mails(desk, make_ticket, inbox):
    before = utcnow()
    t = make_ticket(topic="Business Critical Outage", email="Ken@Example.NET", subject="Mobile banking down")
    assert len(t.number) == 6 and t.number.isalnum() and t.number.isupper()
    assert t.status == "new" and t.source == "web"
    assert t.department.name == "Support"
    assert t.priority.key == "high" and t.urgency == desk.priorities["high"].urgency
    assert t.sla.name == "Emergency"
    assert timedelta(hours=2) - timedelta(seconds=5) <= t.due_at - before <= timedelta(hours=2, seconds=5)
    assert t.customer.email == KEN
    assert [e.kind for e in t.entries] == ["message"]
    assert [e.action for e in events(t)] == ["created"]

    inbox.deliver()
    (ack,) = inbox.to(KEN)
    assert str(ack["Subject"]) == f"[#{t.number}] We received your request: Mobile banking down"
    assert "http://desk.test/t/" in inbox.text(ack)
    assert ack["Auto-Submitted"] == "auto-generated"
    # The department's agents are alerted; the agent outside Support is not.
    for agent in (desk.manager, desk.tech, desk.vendor):
        assert any("New ticket" in s for s in inbox.subjects(agent.email))
    assert inbox.to(desk.sysadmin.email) == []


def test_ticket_numbers_are_unique_and_not_sequential(make_ticket):
    numbers = [make_ticket().number for _ in range(30)]
    assert len(set(numbers)) == 30
    assert numbers != sorted(numbers)


def test_customer_priority_only_where_the_topic_allows(desk, make_ticket):
    emergency = desk.priorities["emergency"]
    assert make_ticket(topic="Billing question", priority=emergency).priority.key == "low"
    assert make_ticket(topic="General inquiry", priority=emergency).priority.key == "emergency"


def test_auto_assignment_to_an_agent_opens_the_ticket(desk, make_ticket, inbox):
    topic = desk.topics["Password reset"]
    topic.assign_agent = desk.sysadmin
    db.session.commit()
    t = make_ticket(topic="Password reset", email=KEN)
    assert t.status == "open" and t.assignee == desk.sysadmin
    assert [e.action for e in events(t)] == ["created", "assigned", "status"]
    inbox.deliver()
    assert any("Assigned to you" in s for s in inbox.subjects(desk.sysadmin.email))
    assert len(inbox.to(KEN)) == 1  # only the acknowledgement


def test_auto_assignment_to_a_team_keeps_it_new(desk, make_ticket, inbox):
    desk.topics["Password reset"].assign_team = desk.teams["SysAdmins/Developers"]
    db.session.commit()
    t = make_ticket(topic="Password reset")
    assert t.status == "new" and t.team.name == "SysAdmins/Developers" and t.assignee is None
    inbox.deliver()
    assert any("Assigned to SysAdmins/Developers" in s for s in inbox.subjects(desk.sysadmin.email))


def test_no_acknowledgement_when_the_topic_says_so(desk, make_ticket, inbox):
    desk.topics["Billing question"].auto_acknowledge = False
    db.session.commit()
    make_ticket(topic="Billing question", email=KEN)
    inbox.deliver()
    assert inbox.to(KEN) == []


def test_private_and_inactive_topics(desk, make_ticket):
    topic = desk.topics["Billing question"]
    topic.public = False
    db.session.commit()
    with pytest.raises(tickets.InvalidInput):
        make_ticket(topic=topic)
    assert make_ticket(topic=topic, agent=desk.tech, source="phone").source == "phone"
    topic.active = False
    db.session.commit()
    with pytest.raises(tickets.InvalidInput):
        make_ticket(topic=topic, agent=desk.tech)


@pytest.mark.parametrize("field,value,message", [
    ("subject", "   ", "subject cannot be empty"),
    ("subject", "x" * 201, "longer than 200"),
    ("body", "", "description cannot be empty"),
    ("body", "x" * 20001, "longer than 20000"),
])
def test_open_ticket_refuses_bad_input_and_saves_nothing(desk, make_ticket, field, value, message):
    with pytest.raises(tickets.InvalidInput, match=message):
        make_ticket(**{field: value})
    assert db.session.scalar(select(func.count(Ticket.id))) == 0


def test_subject_line_breaks_are_collapsed(make_ticket):
    t = make_ticket(subject="Help\r\nBcc: evil@example.org")
    assert t.subject == "Help Bcc: evil@example.org"


def test_idempotency_key_opens_one_ticket(make_ticket):
    a = make_ticket(idempotency_key="abc123", email=KEN)
    b = make_ticket(idempotency_key="abc123", email=KEN)
    assert a.id == b.id
    assert db.session.scalar(select(func.count(Ticket.id))) == 1


def test_same_customer_is_reused(make_ticket):
    a = make_ticket(email=KEN, name="Ken")
    b = make_ticket(email=KEN.upper(), name="Kenneth")
    assert a.customer_id == b.customer_id
    assert db.session.scalar(select(func.count(Customer.id))) == 1


def test_description_is_sanitised(make_ticket):
    t = make_ticket(body='Hi <img src=x onerror=alert(1)> [x](javascript:alert(1)) <svg onload=alert(1)>')
    html = t.entries[0].body_html
    assert "<img" not in html and "<svg" not in html and "href=\"javascript" not in html
    assert "&lt;img" in html  # shown as text


def test_a_disk_that_refuses_the_attachment_leaves_no_half_ticket(make_ticket, monkeypatch):
    def broken(upload):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(attachments, "store", broken)
    upload = Upload("log.txt", "text/plain", b"hello")
    with pytest.raises(tickets.LifecycleError, match="could not be saved"):
        make_ticket(uploads=[upload])
    assert db.session.scalar(select(func.count(Ticket.id))) == 0
    assert db.session.scalar(select(func.count(OutboxMail.id))) == 0


def test_attachments_are_stored_under_random_names(app, make_ticket):
    t = make_ticket(uploads=[Upload("../../etc/passwd.txt", "text/plain", b"hello")])
    att = db.session.scalar(select(Attachment).where(Attachment.ticket_id == t.id))
    path = attachments.path_for(att.storage_key)
    assert path.read_bytes() == b"hello"
    assert "passwd" not in str(path) and str(path).startswith(app.config["HELPDESK_UPLOAD_DIR"])


# --- the transition table ---------------------------------------------------------------------

STATES = ["new", "open", "pending", "escalated", "resolved", "closed"]


def run_action(action, desk, t):
    """Take `action` as the manager (who may take every action) with valid arguments."""
    m = desk.manager
    calls = {
        "reply": lambda: tickets.reply(m, t, "An answer"),
        "note": lambda: tickets.add_note(m, t, "A note"),
        "claim": lambda: tickets.claim(m, t),
        "assign": lambda: tickets.assign(m, t, agent=desk.vendor),
        "set_priority": lambda: tickets.set_priority(m, t, desk.priorities["low"]),
        "set_sla": lambda: tickets.set_sla(m, t, desk.slas["Standard"]),
        "transfer": lambda: tickets.transfer(m, t, desk.departments["IT Operations"]),
        "request_info": lambda: tickets.request_info(m, t, "More please"),
        "escalate": lambda: tickets.escalate(m, t, desk.teams["Vendor Support"], "Vendor bug"),
        "resume": lambda: tickets.resume(m, t),
        "resolve": lambda: tickets.resolve(m, t, "Done"),
        "close": lambda: tickets.close(m, t),
        "reopen": lambda: tickets.reopen(m, t),
        "tag": lambda: tickets.add_tags(m, t, ["Checked"]),
    }
    return calls[action]()


@pytest.mark.parametrize("status", STATES)
@pytest.mark.parametrize("action", list(tickets.TRANSITIONS))
def test_each_action_only_from_its_states(desk, make_ticket, action, status):
    t = make_ticket("Business Critical Outage", email=KEN, status=status)
    transition = tickets.TRANSITIONS[action]
    before = len(events(t))
    if status in transition.sources:
        run_action(action, desk, t)
        db.session.refresh(t)
        if transition.target:
            assert t.status == transition.target
        assert len(events(t)) > before
    else:
        with pytest.raises(tickets.InvalidTransition):
            run_action(action, desk, t)
        db.session.refresh(t)
        assert t.status == status and len(events(t)) == before


@pytest.mark.parametrize("action", ["assign", "set_priority", "set_sla", "transfer"])
def test_manager_only_actions_are_refused_to_agents(desk, make_ticket, action):
    t = make_ticket("Business Critical Outage", email=KEN, status="open")
    agent_calls = {
        "assign": lambda: tickets.assign(desk.tech, t, agent=desk.vendor),
        "set_priority": lambda: tickets.set_priority(desk.tech, t, desk.priorities["low"]),
        "set_sla": lambda: tickets.set_sla(desk.tech, t, desk.slas["Standard"]),
        "transfer": lambda: tickets.transfer(desk.tech, t, desk.departments["IT Operations"]),
    }
    before = (t.version, t.assignee_id, t.priority_id, t.sla_id, t.department_id)
    with pytest.raises(tickets.NotAllowed):
        agent_calls[action]()
    db.session.refresh(t)
    assert (t.version, t.assignee_id, t.priority_id, t.sla_id, t.department_id) == before
    assert action not in tickets.available_actions(desk.tech, t)
    assert action in tickets.available_actions(desk.manager, t)
    assert action in tickets.available_actions(desk.admin, t)


def test_agents_outside_the_department_cannot_act_until_escalated_to_their_team(desk, make_ticket):
    t = make_ticket("Business Critical Outage", email=KEN, status="open")
    assert not tickets.can_see(desk.sysadmin, t)
    with pytest.raises(tickets.NotAllowed):
        tickets.add_note(desk.sysadmin, t, "peek")
    tickets.escalate(desk.tech, t, desk.teams["SysAdmins/Developers"], "DNS")
    assert tickets.can_see(desk.sysadmin, t)
    tickets.add_note(desk.sysadmin, t, "Found it: the DNS record expired")
    tickets.resume(desk.sysadmin, t, "Fixed the record")
    assert t.status == "open"


def test_an_agent_cannot_claim_someone_elses_ticket_but_a_manager_can(desk, make_ticket):
    t = make_ticket("Business Critical Outage", email=KEN, status="open")  # the technician's
    assert "claim" not in tickets.available_actions(desk.vendor, t)
    with pytest.raises(tickets.NotAllowed):
        tickets.claim(desk.vendor, t)
    tickets.claim(desk.manager, t)
    assert t.assignee == desk.manager


def test_inactive_agents_can_do_nothing(desk, make_ticket):
    t = make_ticket("Business Critical Outage", email=KEN, status="open")
    desk.tech.active = False
    db.session.commit()
    assert tickets.available_actions(desk.tech, t) == []
    with pytest.raises(tickets.NotAllowed):
        tickets.reply(desk.tech, t, "hello")
    with pytest.raises(tickets.InvalidInput):
        tickets.assign(desk.manager, t, agent=desk.tech)


# --- each transition's history and mail -------------------------------------------------------


def test_claim_assign_and_reassign(desk, make_ticket, inbox):
    t = make_ticket(topic="Business Critical Outage", email=KEN)
    inbox.deliver().clear()
    tickets.claim(desk.tech, t)
    assert (t.status, t.assignee) == ("open", desk.tech)
    claimed = events(t, "claimed")[-1]
    assert (claimed.agent, claimed.new) == (desk.tech, desk.tech.name)
    assert events(t, "status")[-1].new == "Open"
    inbox.deliver()
    assert inbox.subjects(KEN) == [f"[#{t.number}] Tom Technician is handling your request"]
    inbox.clear()

    tickets.assign(desk.manager, t, agent=desk.vendor, team=desk.teams["Vendor Support"])
    assigned = events(t, "assigned")[-1]
    assert (assigned.agent, assigned.old, assigned.new) == (desk.manager, "Tom Technician", desk.vendor.name)
    assert events(t, "team")[-1].new == "Vendor Support"
    inbox.deliver()
    assert any("Assigned to you" in s for s in inbox.subjects(desk.vendor.email))
    assert inbox.to(desk.manager.email) == []  # never mailed about your own action
    with pytest.raises(tickets.InvalidInput, match="already assigned"):
        tickets.assign(desk.manager, t, agent=desk.vendor)


def test_priority_and_sla_changes_recompute_the_due_time(desk, make_ticket):
    t = make_ticket(topic="Billing question")
    assert t.sla.name == "Standard"
    tickets.set_priority(desk.manager, t, desk.priorities["emergency"])
    assert t.urgency == desk.priorities["emergency"].urgency
    e = events(t, "priority")[-1]
    assert (e.old, e.new, e.agent) == ("Low", "Emergency", desk.manager)
    tickets.set_sla(desk.manager, t, desk.slas["Emergency"])
    assert t.due_at == t.created_at + timedelta(hours=2)
    assert (events(t, "sla")[-1].old, events(t, "sla")[-1].new) == ("Standard", "Emergency")
    with pytest.raises(tickets.InvalidInput):
        tickets.set_sla(desk.manager, t, desk.slas["Emergency"])


def test_transfer_alerts_the_new_department(desk, make_ticket, inbox):
    t = make_ticket()
    inbox.deliver().clear()
    desk.departments["IT Operations"].manager = desk.sysadmin
    db.session.commit()
    tickets.transfer(desk.manager, t, desk.departments["IT Operations"])
    assert t.department.name == "IT Operations"
    assert events(t, "transferred")[-1].new == "IT Operations"
    inbox.deliver()
    assert any("Transferred to IT Operations" in s for s in inbox.subjects(desk.sysadmin.email))


def test_reply_mails_the_customer_and_marks_answered(desk, make_ticket, inbox):
    t = make_ticket(email=KEN)
    inbox.deliver().clear()
    tickets.reply(desk.tech, t, "Try **restarting** the app.")
    assert t.is_answered and t.status == "open" and t.assignee == desk.tech  # claimed on reply
    inbox.deliver()
    (mail,) = inbox.to(KEN)
    assert str(mail["Subject"]).startswith(f"[#{t.number}] Re: ")
    assert "Try **restarting** the app." in inbox.text(mail)
    assert "<strong>restarting</strong>" in inbox.html(mail)


def test_internal_notes_never_reach_the_customer(desk, make_ticket, inbox):
    t = make_ticket(email=KEN)
    inbox.deliver().clear()
    tickets.add_note(desk.tech, t, "SECRET-NOTE the customer must not see")
    tickets.reply(desk.tech, t, "Public answer")
    tickets.escalate(desk.tech, t, desk.teams["SysAdmins/Developers"], "SECRET-ESCALATION reason")
    tickets.resume(desk.sysadmin, t, "SECRET-RESUME note")
    tickets.resolve(desk.tech, t, "Resolved publicly")
    tickets.close(desk.tech, t, "SECRET-CLOSE note")
    inbox.deliver()
    customer_mail = inbox.to(KEN)
    assert len(customer_mail) == 4  # reply, escalated, resolved, closed
    for msg in customer_mail:
        assert "SECRET" not in inbox.text(msg) and "SECRET" not in inbox.html(msg)
    # The team being escalated to does get the reason.
    (alert,) = [m for m in inbox.to(desk.sysadmin.email) if "Escalated" in str(m["Subject"])]
    assert "SECRET-ESCALATION reason" in inbox.text(alert)


def test_request_info_then_the_customer_answers(desk, make_ticket, inbox):
    t = make_ticket("Business Critical Outage", email=KEN, status="open")
    inbox.deliver().clear()
    tickets.request_info(desk.tech, t, "Which phone do you use?")
    assert t.status == "pending"
    inbox.deliver()
    (ask,) = inbox.to(KEN)
    assert "We need more information" in str(ask["Subject"]) and "Which phone" in inbox.text(ask)
    inbox.clear()
    tickets.customer_reply(t, "An iPhone 15")
    assert t.status == "open" and not t.is_answered
    e = events(t, "status")[-1]
    assert (e.old, e.new, e.customer.email) == ("Awaiting customer", "Open", KEN)
    inbox.deliver()
    (alert,) = inbox.to(desk.tech.email)
    assert "Customer replied" in str(alert["Subject"]) and "An iPhone 15" in inbox.text(alert)


def test_escalate_needs_a_team_and_a_note(desk, make_ticket):
    t = make_ticket("Business Critical Outage", email=KEN, status="open")
    with pytest.raises(tickets.InvalidInput):
        tickets.escalate(desk.tech, t, None, "why")
    with pytest.raises(tickets.InvalidInput):
        tickets.escalate(desk.tech, t, desk.teams["Vendor Support"], "   ")
    assert t.status == "open"
    tickets.escalate(desk.tech, t, desk.teams["Vendor Support"], "Their API is down")
    e = events(t, "escalated")[-1]
    assert (e.new, e.note, t.team.name, t.status) == ("Vendor Support", "Their API is down", "Vendor Support", "escalated")
    assert t.entries[-1].kind == "note" and "Their API is down" in t.entries[-1].body


def test_resolve_close_reopen(desk, make_ticket, inbox):
    t = make_ticket("Business Critical Outage", email=KEN, status="open")
    inbox.deliver().clear()
    tickets.resolve(desk.tech, t, "Restarted the gateway")
    assert t.status == "resolved" and t.resolved_at is not None
    tickets.close(desk.tech, t, "Final note for the record")
    assert t.status == "closed" and t.closed_at is not None
    assert t.entries[-1].kind == "note"
    tickets.reopen(desk.manager, t, "Came back")
    assert t.status == "open" and t.closed_at is None and t.reopened_at is not None
    assert t.due_at == t.reopened_at + timedelta(hours=2)  # the SLA clock starts again
    inbox.deliver()
    subjects = inbox.subjects(KEN)
    assert [s.split("] ")[1].split(":")[0] for s in subjects] == ["Resolved", "Closed", "Reopened"]
    assert [e.new for e in events(t, "status")][-3:] == ["Resolved", "Closed", "Open"]


@pytest.mark.parametrize("action", ["reply", "request_info", "resolve"])
def test_answering_an_unassigned_ticket_takes_it_and_says_so_in_the_history(desk, make_ticket, action):
    t = make_ticket(email=KEN)
    assert t.assignee is None
    getattr(tickets, action)(desk.tech, t, "Answered at once")
    assert t.assignee_id == desk.tech.id and t.is_answered
    [claimed] = events(t, "claimed")
    assert claimed.agent_id == desk.tech.id and claimed.new == desk.tech.name


def test_customer_reply_reopens_resolved_and_recently_closed_tickets(app, desk, make_ticket, inbox):
    t = make_ticket("Business Critical Outage", email=KEN, status="resolved")
    tickets.customer_reply(t, "Still broken")
    assert t.status == "open"
    assert events(t, "status")[-1].note == "Reopened by the customer's reply"
    inbox.deliver()
    assert any("Reopened by the customer" in s for s in inbox.subjects(desk.tech.email))

    tickets.close(desk.tech, t)
    t.closed_at = utcnow() - timedelta(days=app.config["HELPDESK_REOPEN_DAYS"] + 1)
    db.session.commit()
    entries = len(t.entries)
    with pytest.raises(tickets.InvalidTransition, match="closed too long ago"):
        tickets.customer_reply(t, "Again?")
    db.session.refresh(t)
    assert t.status == "closed" and len(t.entries) == entries


def test_customer_confirms_the_resolution(desk, make_ticket, inbox):
    t = make_ticket("Business Critical Outage", email=KEN, status="resolved")
    inbox.deliver().clear()
    tickets.customer_confirm(t)
    assert t.status == "closed"
    assert events(t, "status")[-1].customer.email == KEN
    inbox.deliver()
    assert any("Closed" in s for s in inbox.subjects(KEN))
    assert any("Closed by the customer" in s for s in inbox.subjects(desk.tech.email))
    with pytest.raises(tickets.InvalidTransition):
        tickets.customer_confirm(t)


def test_new_access_link_revokes_the_old_one(app, desk, make_ticket, inbox):
    from helpdesk.security import access_token, ticket_for_token

    t = make_ticket(email=KEN)
    old = access_token(t)
    assert ticket_for_token(old).id == t.id
    inbox.deliver().clear()
    tickets.new_access_link(desk.tech, t)
    assert ticket_for_token(old) is None
    assert ticket_for_token(access_token(t)).id == t.id
    inbox.deliver()
    assert len(inbox.to(KEN)) == 1


def test_send_status_link_needs_the_right_email(make_ticket, inbox):
    t = make_ticket(email=KEN)
    inbox.deliver().clear()
    assert tickets.send_status_link(t.number, "someone@else.org") is False
    assert tickets.send_status_link("ZZZZZZ", KEN) is False
    assert tickets.send_status_link(f"#{t.number.lower()}", KEN.upper()) is True
    inbox.deliver()
    assert len(inbox.to(KEN)) == 1 and inbox.to("someone@else.org") == []


# --- concurrency ------------------------------------------------------------------------------


def test_a_stale_form_gets_a_conflict_listing_what_changed(desk, make_ticket):
    t = make_ticket()
    seen = t.version
    tickets.reply(desk.tech, t, "Their reply")  # someone else answered meanwhile
    entries, count = len(t.entries), len(events(t))
    with pytest.raises(tickets.Conflict) as err:
        tickets.reply(desk.vendor, t, "My reply", expected_version=seen)
    assert err.value.status == 409
    assert {e.action for e in err.value.changes} >= {"replied"}
    db.session.refresh(t)
    assert len(t.entries) == entries and len(events(t)) == count
    tickets.reply(desk.manager, t, "Posting anyway", expected_version=t.version)


def test_a_concurrent_write_between_read_and_commit_is_caught(desk, make_ticket):
    t = make_ticket()
    # Another worker commits a change after this session read the ticket.
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE ticket SET version = version + 1 WHERE id = :id"), {"id": t.id})
    with pytest.raises(tickets.Conflict):
        tickets.add_note(desk.tech, t, "lost?")
    assert db.session.scalar(select(func.count(ThreadEntry.id)).where(ThreadEntry.kind == "note")) == 0
