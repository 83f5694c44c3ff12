"""Macros in a real browser: an agent applies the demo desk's "Password reset done" on a ticket page
and sees its reply in the thread and the ticket resolved (the customer mailed); an agent builds a
macro in the step editor (adding a step with htmx, moving it up) and saves it; the editor and the
ticket's macros on a phone, and without JavaScript."""
import pytest
from playwright.sync_api import expect

from helpdesk import demo
from support.rows import fresh
from support.signin import sign_in

from .test_live import run_axe

pytestmark = pytest.mark.browser


def agent_page(browser, base, desk, who, width=1440, height=900, **options):
    context = browser.new_context(viewport={"width": width, "height": height}, **options)
    return sign_in(context.new_page(), base, desk, who)


def test_an_agent_applies_password_reset_done_on_a_ticket(browser, live_server, desk, ticket, inbox, shots):
    demo.seed_macros()
    tech = agent_page(browser, live_server, desk, desk.tech, bypass_csp=True)
    tech.goto(f"{live_server}/agent/tickets/{ticket.number}")
    macros = tech.locator("#macros_form")
    macros.locator("summary").click()
    expect(macros).to_contain_text("Reply to the customer: “Password reset”")
    assert run_axe(tech, "#ticket-actions") == []
    shots(tech, "macros-on-ticket-1440")
    macros.get_by_role("button", name="Password reset done").click()
    expect(tech.locator("#flash")).to_contain_text("The macro “Password reset done” was applied")
    expect(tech.locator("#thread")).to_contain_text("the password of your account is reset")
    expect(tech.locator("#thread")).to_contain_text("Hello Ken,")
    expect(tech.locator("#ticket-head")).to_contain_text("Resolved")
    expect(tech.locator("#history")).to_contain_text("Tom Technician replied to the customer")
    shots(tech, "macros-applied-1440")
    assert fresh(ticket).status == "resolved"
    inbox.deliver()
    assert any("the password of your account is reset" in inbox.text(m) for m in inbox.to("ken@example.net"))


def test_an_agent_builds_a_macro_in_the_step_editor(browser, live_server, desk, ticket, shots):
    tech = agent_page(browser, live_server, desk, desk.tech)
    tech.get_by_role("link", name="Macros").click()
    tech.get_by_label("Name").fill("Take and ask")
    tech.get_by_label("Step 1", exact=True).select_option(label="Ask the customer")
    tech.locator("#step-0-text").fill("Which account, {customer_name}?")
    expect(tech.locator("#step-0 .step-target")).to_be_hidden()  # not a field this kind takes
    tech.get_by_role("button", name="Add a step").click()
    step2 = tech.get_by_label("Step 2", exact=True)
    expect(step2).to_be_focused()
    step2.select_option(label="Assign to me")
    expect(tech.locator("#step-1 .step-text")).to_be_hidden()
    tech.get_by_role("button", name="Move step 2 up").click()
    expect(tech.get_by_label("Step 1", exact=True)).to_have_value("claim")
    expect(tech.locator("#step-1-text")).to_have_value("Which account, {customer_name}?")
    shots(tech, "macro-editor-1440")
    tech.get_by_role("button", name="Save", exact=True).click()
    expect(tech.locator("#flash")).to_contain_text("The macro “Take and ask” was saved.")
    expect(tech.locator(".macro-manage")).to_contain_text("Assign to me; Ask the customer")

    tech.goto(f"{live_server}/agent/tickets/{ticket.number}")
    tech.locator("#macros_form summary").click()
    tech.locator("#macros_form").get_by_role("button", name="Take and ask").click()
    expect(tech.locator("#ticket-head")).to_contain_text("Awaiting customer")
    expect(tech.locator("#thread")).to_contain_text("Which account, Ken?")


def test_macros_on_a_phone_and_without_javascript(browser, live_server, desk, ticket, shots):
    demo.seed_macros()
    phone = agent_page(browser, live_server, desk, desk.tech, width=390, height=844)
    phone.goto(f"{live_server}/agent/macros")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shots(phone, "macros-page-390")
    phone.goto(f"{live_server}/agent/tickets/{ticket.number}")
    phone.locator("#macros_form summary").click()
    expect(phone.locator("#macros_form")).to_contain_text("Ask for the account name")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shots(phone, "macros-on-ticket-390")

    page = agent_page(browser, live_server, desk, desk.tech, java_script_enabled=False)
    page.goto(f"{live_server}/agent/macros")
    page.get_by_label("Name").fill("No script")
    page.get_by_label("Step 1", exact=True).select_option(label="Add an internal note")
    page.locator("#step-0-text").fill("Looked at it.")
    page.get_by_role("button", name="Add a step").click()
    page.get_by_label("Step 2", exact=True).select_option(label="Assign to me")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#flash")).to_contain_text("“No script” was saved")
    page.goto(f"{live_server}/agent/tickets/{ticket.number}")
    page.locator("#macros_form summary").click()
    page.locator("#macros_form").get_by_role("button", name="No script").click()
    expect(page.locator("#flash")).to_contain_text("The macro “No script” was applied")
    expect(page.locator("#thread")).to_contain_text("Looked at it.")
    assert fresh(ticket).assignee_id == desk.tech.id
