"""An admin adds a webhook in a real browser, copies its secret, and sees a ticket's event in its
delivery log, delivered to a receiver on 127.0.0.1 and signed with that secret; a wrong URL is
refused on the form. Screenshots at 1440 and 390 px wide are saved in the test's output folder."""
import hashlib
import hmac

import pytest
from playwright.sync_api import expect

from helpdesk import webhooks
from support.signin import sign_in

pytestmark = pytest.mark.browser


def test_admin_adds_a_webhook_and_sees_its_delivery(browser, live_server, desk, make_ticket, receiver, shots):
    page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
    sign_in(page, live_server, desk, desk.admin)
    page.goto(f"{live_server}/admin/")
    page.get_by_role("link", name="Webhooks").click()
    shots(page, "01-no-webhooks")
    page.get_by_role("link", name="New webhook").click()
    page.get_by_label("Name").fill("Team chat")
    page.get_by_label("URL").fill("http://10.0.0.7/hooks")
    page.get_by_label("Ticket created").check()
    page.get_by_role("button", name="Save webhook").click()
    expect(page.get_by_text("10.0.0.7 is a private address")).to_be_visible()
    shots(page, "02-refused-url")

    page.get_by_label("URL").fill(receiver.url)
    page.get_by_label("Ticket replied").check()
    page.get_by_role("button", name="Save webhook").click()
    secret_box = page.get_by_label("The webhook's secret")
    expect(secret_box).to_be_visible()
    secret = secret_box.input_value()
    shots(page, "03-secret-shown-once")

    ticket = make_ticket(subject="Printer on fire")
    assert webhooks.deliver_due() == (1, 0)
    page.get_by_role("link", name="Webhooks", exact=True).first.click()  # not a reload: that would post again
    expect(page.get_by_role("link", name="Team chat")).to_be_visible()
    shots(page, "04-list")
    page.get_by_role("link", name="Team chat").click()
    log = page.get_by_role("table", name="The latest deliveries of Team chat, newest first")
    expect(log).to_contain_text("ticket.created")
    expect(log).to_contain_text("Delivered")
    expect(page.get_by_label("The webhook's secret")).to_have_count(0)  # shown only once
    shots(page, "05-delivery-log")
    [request] = receiver.requests
    assert ticket.number.encode() in request.body
    assert request.headers["X-Helpdesk-Signature"] == "sha256=" + hmac.new(
        secret.encode(), request.body, hashlib.sha256).hexdigest()

    page.get_by_role("link", name="Webhooks", exact=True).first.click()
    page.set_viewport_size({"width": 390, "height": 844})
    shots(page, "06-list-phone")
    page.get_by_role("link", name="Team chat").click()
    shots(page, "07-webhook-phone")
