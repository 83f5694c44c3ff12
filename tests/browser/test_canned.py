"""Canned responses in a real browser: an agent writes one, then on a ticket opens the picker with
its shortcut, finds it by part of its title, inserts it after what they had typed, keeps it through
a live refresh, and sends it; the customer's mail has the filled-in text."""
import pytest
from playwright.sync_api import expect

from helpdesk import tickets
from support.rows import fresh
from support.signin import sign_in

pytestmark = pytest.mark.browser

LIVE = 5_000  # ms: changes made elsewhere show within this


def agent_page(browser, base, desk, who, width=1440, height=900):
    context = browser.new_context(viewport={"width": width, "height": height})
    return sign_in(context.new_page(), base, desk, who)


def test_an_agent_inserts_a_canned_response_and_the_customer_gets_it_filled_in(
        browser, live_server, desk, ticket, inbox, shots):
    tech = agent_page(browser, live_server, desk, desk.tech)
    tech.get_by_role("link", name="Canned responses").click()
    tech.get_by_label("Title").fill("Password reset done")
    tech.get_by_label("Text").fill("Hello {customer_name},\n\nthe password for #{ticket_number} is reset.\n\n{agent_name}")
    tech.get_by_role("button", name="Save").click()
    expect(tech.locator("#flash")).to_contain_text("“Password reset done” was saved")
    shots(tech, "canned-responses-page-1440")

    tech.goto(f"{live_server}/agent/tickets/{ticket.number}")
    reply = tech.get_by_label("Your reply")
    reply.fill("Thanks for waiting.")
    tech.locator("#ticket-title").click()  # out of the field: shortcuts work
    tech.keyboard.press("c")
    search = tech.get_by_label("Search by title or text")
    expect(search).to_be_focused()
    search.press_sequentially("pass")
    expect(tech.locator("#canned-results a", has_text="Password reset done")).to_be_visible()
    search.press_sequentially("word reset")  # a newer search than the list shown
    pick = tech.locator("#canned-results a", has_text="Password reset done")
    expect(pick).to_be_visible()
    expect(tech.locator("#canned-results")).to_contain_text("Personal")
    shots(tech, "canned-picker-1440")
    pick.click()
    filled = (f"Thanks for waiting.\n\nHello Ken,\n\nthe password for #{ticket.number} is reset.\n\n"
              "Tom Technician")
    expect(reply).to_have_value(filled)
    expect(reply).to_be_focused()

    # Someone else changes the ticket: the live refresh brings the new composer, the text stays.
    tickets.set_priority(desk.manager, fresh(ticket), desk.priorities["low"])
    expect(tech.locator("#ticket-head")).to_contain_text("Low", timeout=LIVE)
    expect(reply).to_have_value(filled)

    tech.get_by_role("button", name="Send reply").click()
    expect(tech.locator("#flash")).to_contain_text("Your reply was sent to the customer.")
    inbox.deliver()
    mail = inbox.to("ken@example.net")[-1]
    assert f"the password for #{ticket.number} is reset." in inbox.text(mail)
    assert "Hello Ken," in inbox.text(mail) and "{customer_name}" not in inbox.text(mail)


def test_the_picker_on_a_phone(browser, live_server, desk, ticket, shots):
    phone = agent_page(browser, live_server, desk, desk.manager, width=390, height=844)
    phone.goto(f"{live_server}/agent/canned-responses")
    phone.get_by_label("Title").fill("Outage acknowledged: we are working on it")
    phone.get_by_label("Text").fill("Dear {customer_name}, we know {subject} is down and are on it.")
    phone.get_by_label("Who may use it").select_option(label="Agents of Support")
    phone.get_by_role("button", name="Save").click()
    expect(phone.locator("#flash")).to_contain_text("was saved")
    shots(phone, "canned-responses-page-390")
    phone.goto(f"{live_server}/agent/tickets/{ticket.number}")
    phone.locator("#canned_form summary").click()
    phone.get_by_label("Search by title or text").press_sequentially("outage")
    expect(phone.locator("#canned-results a", has_text="Outage acknowledged")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shots(phone, "canned-picker-390")
    phone.locator("#canned-results a", has_text="Outage acknowledged").click()
    expect(phone.get_by_label("Your reply")).to_have_value("Dear Ken, we know Mobile banking down is down and are on it.")


def test_without_javascript_the_picker_fills_the_reply_box(browser, live_server, desk, ticket, shots):
    from helpdesk.extensions import db
    from helpdesk.models import CannedResponse
    db.session.add(CannedResponse(title="Desk greeting", body="Hello {customer_name}!"))
    db.session.commit()
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1440, "height": 900})
    page = sign_in(context.new_page(), live_server, desk, desk.tech)
    page.goto(f"{live_server}/agent/tickets/{ticket.number}")
    page.locator("#canned_form summary").click()
    page.get_by_label("Search by title or text").fill("greet")
    page.get_by_role("button", name="Search").click()
    page.locator("#canned-results a", has_text="Desk greeting").click()
    expect(page.get_by_label("Your reply")).to_have_value("Hello Ken!")
    shots(page, "canned-no-js-filled-1440")
    context.close()


def test_a_responses_files_go_with_the_reply_it_is_inserted_into(browser, live_server, desk, ticket, inbox, shots):
    tech = agent_page(browser, live_server, desk, desk.tech)
    tech.goto(f"{live_server}/agent/canned-responses")
    tech.get_by_label("Title").fill("Manual and log")
    tech.get_by_label("Text").fill("Hello {customer_name}, the manual is attached.")
    tech.get_by_label("Files (optional)").set_input_files([
        {"name": "manual.txt", "mimeType": "text/plain", "buffer": b"How to restart the app.\n"},
        {"name": "steps.txt", "mimeType": "text/plain", "buffer": b"Step one.\n"}])
    tech.get_by_role("button", name="Save").click()
    expect(tech.locator("#flash")).to_contain_text("“Manual and log” was saved")
    expect(tech.locator(".canned-manage")).to_contain_text("manual.txt")

    tech.goto(f"{live_server}/agent/tickets/{ticket.number}")
    tech.locator("#canned_form summary").click()
    tech.get_by_label("Search by title or text").press_sequentially("manual")
    pick = tech.locator("#canned-results a", has_text="Manual and log")
    expect(pick).to_contain_text("With manual.txt, steps.txt")
    pick.click()
    reply_form = tech.locator("#reply_form")
    expect(tech.get_by_label("Your reply")).to_have_value("Hello Ken, the manual is attached.")
    expect(reply_form.locator("[data-canned-file]")).to_have_count(2)
    expect(reply_form).to_contain_text("Attached from the canned response: manual.txt")
    shots(tech, "canned-files-inserted-1440")
    tech.get_by_role("button", name="Do not send steps.txt").click()
    expect(reply_form.locator("[data-canned-file]")).to_have_count(1)

    # A live refresh keeps the form being written in, its files too.
    tickets.set_priority(desk.manager, fresh(ticket), desk.priorities["low"])
    expect(tech.locator("#ticket-head")).to_contain_text("Low", timeout=LIVE)
    expect(reply_form.locator("[data-canned-file]")).to_have_count(1)

    tech.get_by_role("button", name="Send reply").click()
    expect(tech.locator("#flash")).to_contain_text("Your reply was sent to the customer.")
    expect(tech.locator("#thread .entry").last).to_contain_text("manual.txt")
    assert [a.filename for a in fresh(ticket).entries[-1].attachments] == ["manual.txt"]
    inbox.deliver()
    assert "manual.txt" in inbox.text(inbox.to("ken@example.net")[-1])
