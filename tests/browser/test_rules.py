"""The issue's scenario, in a real browser: a manager writes "mail from *@bank.example with
'outage' in the subject goes to IT Operations as Emergency, assigned to SysAdmins, and the customer
gets the outage canned reply", previews it on past tickets, saves it, and sees the next matching
mail handled so, the history saying which rule did it. Screenshots at 1440 and 390 px wide are
saved in the test's output folder."""
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from helpdesk import mailin
from helpdesk.extensions import db
from helpdesk.models import CannedResponse, Rule, Ticket
from support.signin import sign_in

pytestmark = pytest.mark.browser

OUTAGE = b"""From: Ops Desk <ops@bank.example>
To: help@desk.test
Subject: Outage: card payments fail
Message-ID: <outage-2@bank.example>

Since 10:02 no card payment goes through.
"""


def redrawn(page, act):
    """Do `act`, which makes the editor draw its form again, and wait until the new form is in place
    (htmx's afterSettle of the editor's own request, not of the page's live counts): a field filled
    before that would be replaced."""
    page.evaluate("""() => {
        window.settled = false;
        const done = (event) => {
            if ((event.detail.xhr && event.detail.xhr.responseURL || "").includes("/admin/rules")) {
                window.settled = true;
                document.body.removeEventListener("htmx:afterSettle", done);
            }
        };
        document.body.addEventListener("htmx:afterSettle", done);
    }""")
    act()
    page.wait_for_function("() => window.settled")


def choose(page, label, option):
    """Pick an option of a select the editor redraws when it changes."""
    redrawn(page, lambda: page.get_by_label(label, exact=True).select_option(label=option))


def click_and_redraw(page, name):
    redrawn(page, lambda: page.get_by_role("button", name=name, exact=True).click())


def test_a_manager_writes_previews_and_saves_the_bank_outage_rule(browser, live_server, desk, make_ticket, inbox,
                                                                    shots):
    db.session.add(CannedResponse(title="Outage", body="Hello {customer_name}, we know about the outage and are on it "
                                                       "(ticket {ticket_number})."))
    db.session.commit()
    earlier = make_ticket(email="it@bank.example", subject="Outage of the mobile app")
    make_ticket(email="it@bank.example", subject="A question about fees")
    inbox.deliver()
    inbox.clear()

    page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
    sign_in(page, live_server, desk, desk.manager)
    page.goto(f"{live_server}/admin/")
    page.get_by_role("link", name="Automation rules").click()
    page.get_by_role("link", name="New rule").click()
    page.get_by_label("Name").fill("Bank outages")
    page.get_by_label("Acts on").select_option(label="Only the tickets of Support")
    choose(page, "Condition 1: field", "Sender's domain")
    choose(page, "Condition 1: test", "is")
    page.get_by_label("Condition 1: value").fill("bank.example")
    click_and_redraw(page, "Add a condition")
    page.get_by_label("Condition 2: value").fill("outage")  # Subject contains, the new row's default
    choose(page, "Action 1", "Move to department")
    page.get_by_label("Action 1: which").select_option(label="IT Operations")
    for n, (kind, value) in enumerate((("Set the priority", "Emergency"), ("Assign to the team", "SysAdmins/Developers"),
                                       ("Send a canned reply to the customer", "Outage")), start=2):
        click_and_redraw(page, "Add an action")
        choose(page, f"Action {n}", kind)
        page.get_by_label(f"Action {n}: which").select_option(label=value)
    click_and_redraw(page, "Preview")
    preview = page.locator("#rule-preview")
    expect(preview).to_contain_text("1 of the last 2 tickets match")
    expect(preview).to_contain_text(f"#{earlier.number}")
    expect(preview).to_contain_text("Set the priority: Emergency")
    expect(preview).to_contain_text("Send a canned reply to the customer: Outage")
    shots(page, "01-preview")
    assert db.session.scalar(select(Rule.id)) is None  # nothing saved by the preview
    assert db.session.get(Ticket, earlier.id).priority.key != "emergency"

    page.get_by_role("button", name="Save rule", exact=True).last.click()
    expect(page.get_by_text("The rule “Bank outages” was saved.")).to_be_visible()
    shots(page, "02-saved")

    ticket = db.session.get(Ticket, mailin.take_in(OUTAGE).ticket.id)
    assert ticket.department.name == "IT Operations" and ticket.priority.key == "emergency"
    assert ticket.team.name == "SysAdmins/Developers"
    inbox.deliver()
    assert any("we know about the outage" in inbox.text(m) for m in inbox.to("ops@bank.example"))
    page.goto(f"{live_server}/agent/tickets/{ticket.number}")
    history = page.locator("#history")
    expect(history).to_contain_text("Rule “Bank outages” transferred it to another department")
    expect(history).to_contain_text("Rule “Bank outages” changed the priority")
    expect(page.locator("#thread")).to_contain_text("we know about the outage")
    shots(page, "03-ticket-history")

    page.goto(f"{live_server}/admin/rules")
    expect(page.get_by_role("table", name="When something happens: the rules in the order they run")).to_contain_text("1")
    page.set_viewport_size({"width": 390, "height": 844})
    shots(page, "04-list-phone")
    page.get_by_role("link", name="Bank outages").click()
    shots(page, "05-editor-phone")
