"""The ticket page as people work it: the escalated team's own buttons, questions and resolutions
marked in the conversation, the customer's other tickets, one order for thread and history, and
every message to the customer written in the wide composer."""
import re

from helpdesk import tickets
from helpdesk.security import access_token
from support.rows import fresh


def page_of(client, ticket):
    response = client.get(f"/agent/tickets/{ticket.number}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def section(body, element_id):
    match = re.search(rf'<(section|aside) id="{element_id}".*?</\1>', body, re.S)
    assert match, element_id
    return match.group(0)


def test_the_escalated_teams_member_takes_over_and_hands_back_with_findings(client, login, desk, make_ticket, inbox):
    t = make_ticket(status="escalated", team="SysAdmins/Developers")  # Tom's, escalated to Sam's team
    assert t.assignee == desk.tech
    inbox.deliver().clear()
    login(desk.sysadmin)
    body = page_of(client, t)
    actions = section(body, "ticket-actions")
    assert "Take over from Tom Technician" in actions
    assert "Your team has this ticket: it becomes yours while it stays escalated." in actions
    assert "Hand back to Tom Technician" in actions and "Resume work" not in actions
    assert "Ends the escalation to SysAdmins/Developers: the ticket is open again for Tom Technician" in actions

    response = client.post(f"/agent/tickets/{t.number}/resume",
                           data={"version": fresh(t).version, "note": "The DNS record was stale; fixed it."})
    assert response.status_code == 302
    t = fresh(t)
    assert t.status == "open" and t.assignee == desk.tech
    assert t.entries[-1].kind == "note" and "The DNS record was stale" in t.entries[-1].body
    mail = inbox.deliver().to(desk.tech.email)[-1]
    assert "Handed back by SysAdmins/Developers" in str(mail["Subject"])
    assert "The DNS record was stale; fixed it." in inbox.text(mail)


def test_the_assignee_may_end_the_escalation_themselves(client, login, desk, make_ticket):
    t = make_ticket(status="escalated", team="SysAdmins/Developers")
    login(desk.tech)
    actions = section(page_of(client, t), "ticket-actions")
    assert "End the escalation" in actions and "Hand back" not in actions
    assert "Takes the ticket back from SysAdmins/Developers before they hand it back" in actions


def test_a_team_member_may_take_over_only_while_escalated_to_their_team(client, login, desk, make_ticket):
    t = make_ticket(status="escalated", team="SysAdmins/Developers")
    login(desk.sysadmin)
    response = client.post(f"/agent/tickets/{t.number}/claim", data={"version": fresh(t).version})
    assert response.status_code == 302 and fresh(t).assignee == desk.sysadmin and fresh(t).status == "escalated"
    other = make_ticket(status="open", topic="Password reset")  # IT Operations, Sam's department, claimed
    tickets.assign(desk.manager, other, agent=desk.admin)
    response = client.post(f"/agent/tickets/{other.number}/claim", data={"version": fresh(other).version})
    assert response.status_code == 403 and fresh(other).assignee == desk.admin


def test_awaiting_customer_offers_stop_waiting_with_what_it_does(client, login, desk, make_ticket):
    t = make_ticket(status="pending")
    login(desk.tech)
    actions = section(page_of(client, t), "ticket-actions")
    assert "Stop waiting for the customer" in actions and "the SLA clock runs again" in actions


def test_every_message_to_the_customer_is_written_in_the_wide_composer(client, login, desk, make_ticket):
    t = make_ticket(status="open")
    login(desk.tech)
    body = page_of(client, t)
    composer, actions = section(body, "composer"), section(body, "ticket-actions")
    for form in ("reply_form", "request_info_form", "resolve_form", "note_form", "escalate_form"):
        assert f'id="{form}"' in composer and f'id="{form}"' not in actions, form


def test_questions_and_resolutions_are_marked_in_the_thread(client, login, desk, make_ticket):
    t = make_ticket(status="open")
    tickets.request_info(desk.tech, t, "Which version do you run?")
    tickets.customer_reply(t, "4.2")
    tickets.resolve(desk.tech, t, "Update to 4.3, it is fixed there.")
    login(desk.tech)
    thread = section(page_of(client, t), "thread")
    assert re.search(r'entry-reply entry-question".*?Question to the customer.*?Which version do you run\?', thread, re.S)
    assert re.search(r'entry-reply entry-resolution".*?Resolution.*?Update to 4.3', thread, re.S)
    client.post("/logout")
    portal = client.get(f"/t/{access_token(t)}").get_data(as_text=True)
    assert re.search(r'Question for you.*?Which version do you run\?', portal, re.S)


def test_the_customers_other_tickets_are_on_the_page_and_their_own_page(client, login, desk, make_ticket):
    first = make_ticket(email="ken@example.net", subject="Printer jams")
    latest = make_ticket(email="ken@example.net", subject="Scanner too")
    hidden = make_ticket(email="ken@example.net", subject="VPN password", topic="Password reset")  # IT Operations
    t = make_ticket(email="ken@example.net", subject="And the fax")
    login(desk.tech)  # Support only: sees 2 of Ken's 3 other tickets
    head = section(page_of(client, t), "ticket-head")
    assert "mailto:" not in head
    assert f'href="/agent/customers/{t.customer_id}">2 other tickets</a>' in head
    assert f"latest <a href=\"/agent/tickets/{latest.number}\"" in head
    page = client.get(f"/agent/customers/{t.customer_id}").get_data(as_text=True)
    assert "3 tickets" in page and "Printer jams" in page and "And the fax" in page and "VPN password" not in page
    assert page.index("And the fax") < page.index("Printer jams")  # newest first
    assert first.number in page and hidden.number not in page
    assert client.get("/agent/customers/999999").status_code == 404


def test_history_reads_oldest_first_like_the_conversation(client, login, desk, make_ticket):
    t = make_ticket()
    tickets.claim(desk.tech, t)
    tickets.set_priority(desk.manager, t, desk.priorities["emergency"])
    login(desk.tech)
    history = section(page_of(client, t), "history")
    assert history.index("opened the ticket") < history.index("took the ticket") < history.index("changed the priority")
