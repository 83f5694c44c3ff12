"""Details a person notices, in a real browser: the customer form without JavaScript still shows
a topic's instructions; the password reset shows its field only when it is used; the new API
key is copied with one click; the desk has an icon in the tab; attachments carry a drawn icon.
Screenshots are saved in the test's output folder."""
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def sign_in(page, base, desk, agent):
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(agent.email)
    page.get_by_label("Password").fill(desk.passwords[agent.email])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_without_javascript_the_customer_form_shows_the_topics_instructions(browser, live_server, desk, shots):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server}/new")
    page.get_by_label("Your name").fill("Ken Customer")
    page.get_by_label("Email address").fill("ken@example.net")
    page.get_by_label("Help topic").select_option(label="Password reset")
    page.get_by_label("Subject").fill("Locked out of the VPN")
    page.get_by_label("Description").fill("Since this morning.")
    instructions = page.locator("#topic_fields .instructions")
    expect(instructions).to_have_count(0)
    page.get_by_role("button", name="Show the instructions for this topic").click()
    expect(instructions).to_contain_text("Never send us your password.")
    expect(page.get_by_label("Subject")).to_have_value("Locked out of the VPN")
    expect(page.get_by_label("Description")).to_have_value("Since this morning.")
    expect(page.get_by_label("Help topic").locator("option:checked")).to_have_text("Password reset")
    shots(page, "no-js-topic-instructions")
    # Enter in a field sends the ticket, as on any form (not the "Show" button).
    page.get_by_label("Subject").press("Enter")
    expect(page.locator("main")).to_contain_text("Locked out of the VPN")
    expect(page).to_have_url(re.compile(r"/submitted$"))
    context.close()


def test_with_javascript_the_instructions_come_on_their_own(browser, live_server, desk):
    page = browser.new_page()
    page.goto(f"{live_server}/new")
    expect(page.get_by_role("button", name="Show the instructions for this topic")).to_have_count(0)
    page.get_by_label("Help topic").select_option(label="Password reset")
    expect(page.locator("#topic_fields .instructions")).to_contain_text("Never send us your password.")
