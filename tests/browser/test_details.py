"""Details a person notices, in a real browser: the customer form without JavaScript still shows
a topic's instructions; the password reset shows its field only when it is used; the new API
key is copied with one click; the desk has an icon in the tab; attachments carry a drawn icon.
Screenshots are saved in the test's output folder."""
import re

import pytest
from playwright.sync_api import expect

from support.signin import sign_in

pytestmark = pytest.mark.browser


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


def test_the_new_api_key_is_copied_with_one_click(browser, live_server, desk, shots):
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    sign_in(page, live_server, desk, desk.admin)
    page.goto(f"{live_server}/admin/api-keys")
    page.get_by_label("Name").fill("Website chat")
    page.get_by_role("button", name="Create key").click()
    key = page.get_by_label("The new API key").input_value()
    assert len(key) > 20
    button = page.get_by_role("button", name="Copy")
    expect(button).to_be_visible()
    button.click()
    expect(page.locator(".copy-row")).to_contain_text("Copied")
    expect(page.get_by_role("status").locator(".copy-status")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == key
    shots(page, "api-key-copied")
    context.close()


def test_without_javascript_the_key_is_there_to_select_and_no_dead_button(browser, live_server, desk):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, live_server, desk, desk.admin)
    page.goto(f"{live_server}/admin/api-keys")
    page.get_by_label("Name").fill("Website chat")
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_label("The new API key")).to_be_visible()
    expect(page.get_by_role("button", name="Copy")).to_be_hidden()
    context.close()


def test_the_password_field_shows_only_when_a_password_is_set_by_hand(browser, live_server, desk, shots):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    sign_in(page, live_server, desk, desk.admin)
    page.goto(f"{live_server}/admin/agents/{desk.tech.id}")
    reset = page.locator("#password-reset")
    expect(reset.get_by_label("Generate one (shown once)")).to_be_checked()
    expect(reset.get_by_label("Password", exact=True)).to_be_hidden()
    reset.get_by_label("Set this one:").check()
    expect(reset.get_by_label("Password", exact=True)).to_be_visible()
    shots(page, "password-reset-set-by-hand")
    reset.get_by_label("Generate one (shown once)").check()
    expect(reset.get_by_label("Password", exact=True)).to_be_hidden()


def test_the_desk_shows_its_icon_and_attachments_a_drawn_paperclip(browser, live_server, desk, ticket, shots):
    from helpdesk import tickets
    from helpdesk.attachments import Upload

    tickets.reply(desk.tech, ticket, "Here is the log.", uploads=[Upload("fix.txt", "text/plain", b"restart\n")])
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, live_server, desk, desk.tech)
    page.goto(f"{live_server}/agent/tickets/{ticket.number}")
    clip = page.locator(".attachments a", has_text="fix.txt").locator("svg.icon-paperclip")
    expect(clip).to_be_visible()
    box = clip.bounding_box()
    assert 10 <= box["width"] <= 24 and 10 <= box["height"] <= 24  # text-sized, not the SVG's default 300x150
    assert page.evaluate("""fetch('/favicon.ico').then(r => r.status)""") == 200
    icon = page.locator('link[rel="icon"][type="image/svg+xml"]').get_attribute("href")
    assert page.evaluate(f"fetch('{icon}').then(r => r.status)") == 200
    shots(page, "attachment-paperclip")


def test_the_dev_mailbox_shows_a_mail_as_text_or_as_html(browser, live_server, desk, make_ticket, mail_catcher, shots):
    from helpdesk.mail import outbox

    ticket = make_ticket(email="ken@example.net", subject="Printer on fire")
    outbox.send_pending()
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    sign_in(page, live_server, desk, desk.admin)
    page.goto(f"{live_server}/admin/dev-mailbox")
    first = page.locator(".dev-mail").first
    expect(first.locator(".dev-mail-text")).to_be_visible()
    expect(first.locator("iframe")).to_be_hidden()
    first.get_by_text("HTML", exact=True).click()
    expect(first.locator(".dev-mail-text")).to_be_hidden()
    frame = first.frame_locator("iframe")
    expect(frame.locator("body")).to_contain_text(f"#{ticket.number}")
    shots(page, "dev-mailbox-html")
    first.get_by_text("Text", exact=True).click()
    expect(first.locator(".dev-mail-text")).to_contain_text(f"#{ticket.number}")
    expect(first.locator("iframe")).to_be_hidden()


def axe_problems(page, selector):
    """axe-core's serious and critical findings within the parts of the page `selector` names."""
    from browser.test_live import run_axe

    return run_axe(page, selector)


def test_the_parts_changed_here_have_no_serious_accessibility_violations(browser, live_server, desk):
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems = {}
    page.goto(f"{live_server}/no/such/page")
    problems["visitor's 404"] = axe_problems(page, "body")
    sign_in(page, live_server, desk, desk.manager)
    for name, path, part in (("agent's 404", "/agent/tickets/NOSUCH", "body"), ("account", "/account", "body"),
                             ("read-only topic", f"/admin/topics/{desk.topics['Password reset'].id}", "main form"),
                             ("read-only settings", "/admin/settings", "main")):
        page.goto(live_server + path)
        problems[name] = axe_problems(page, part)
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, live_server, desk, desk.admin)
    page.goto(f"{live_server}/admin/api-keys")
    page.get_by_label("Name").fill("Website chat")
    page.get_by_role("button", name="Create key").click()
    expect(page.locator(".secret-box")).to_be_visible()  # axe runs on the new page, not mid-load
    problems["new API key"] = axe_problems(page, ".secret-box")
    page.goto(f"{live_server}/admin/agents/{desk.tech.id}")
    problems["password reset"] = axe_problems(page, "#password-reset")
    found = {k: v for k, v in problems.items() if v}
    assert found == {}, "\n".join(f"{k}: {p}" for k, v in found.items() for p in v)
    context.close()
