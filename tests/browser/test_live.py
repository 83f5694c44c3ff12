"""The live agent panel in real browsers, several at once: a customer's new ticket reaching a
manager's queue, presence and typing, a caught conflict posted anyway, bulk assignment, the
keyboard, phone and wide layouts, and an accessibility check with axe-core."""
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from helpdesk import tickets
from helpdesk.security import access_token
from support.rows import fresh
from support.signin import sign_in

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
LIVE = 5_000  # ms: the promise for changes made elsewhere


def agent_page(browser, base, desk, who, width=1440, height=900):
    context = browser.new_context(viewport={"width": width, "height": height})
    return sign_in(context.new_page(), base, desk, who)


def count_of(page, label):
    return page.locator(".nav-queues a", has_text=label).locator(".count")


def test_customer_ticket_reaches_the_managers_queue_live(browser, live_server, desk, make_ticket, shots):
    first = make_ticket(subject="Printer offline")
    manager = agent_page(browser, live_server, desk, desk.manager)
    manager.goto(f"{live_server}/agent/")
    expect(count_of(manager, "Open")).to_contain_text("1")
    # Idle: the regions poll with If-None-Match, Chromium hands htmx the 304, nothing is swapped.
    # Once a minute a region renders afresh for its clock (a 200 that replaces the region), so a
    # round that saw one is tried again; two rounds of a few seconds cannot both meet the minute.
    for _ in range(2):
        manager.evaluate("document.getElementById('results').unchanged = true")
        with manager.expect_response(lambda r: re.search(r"/agent/(\?|$)", r.url) and r.status == 304
                                     and r.request.headers.get("hx-request") == "true", timeout=2 * LIVE) as idle:
            pass
        assert idle.value.request.headers["if-none-match"].startswith('"r')
        with manager.expect_response(lambda r: "/agent/counts" in r.url and r.status == 304, timeout=2 * LIVE):
            pass
        if manager.evaluate("document.getElementById('results').unchanged === true"):
            break
    assert manager.evaluate("document.getElementById('results').unchanged === true")

    customer = browser.new_context().new_page()
    customer.goto(f"{live_server}/new")
    customer.get_by_label("Your name").fill("Ken Kunde")
    customer.get_by_label("Email address").fill("ken@example.net")
    customer.get_by_label("Help topic").select_option(label="Business Critical Outage")
    customer.get_by_label("Subject").fill("Mobile banking is down")
    customer.get_by_label("Description").fill("Nobody can log in since 09:10.")
    customer.get_by_role("button", name="Open the ticket").click()
    expect(customer.get_by_role("heading", name=re.compile("we have your request"))).to_be_visible()

    row = manager.locator("#results tbody tr", has_text="Mobile banking is down")
    expect(row).to_be_visible(timeout=LIVE)
    expect(row).to_have_class(re.compile(r"\bis-new\b"))
    expect(count_of(manager, "Open")).to_contain_text("2", timeout=LIVE)
    expect(manager.locator("#live-status")).to_contain_text("New in this queue")
    shots(manager, "queue-new-ticket-1440")

    tickets.close(desk.manager, fresh(first))  # someone else closes one: it leaves the Open queue
    expect(manager.locator("#results tbody tr", has_text="Printer offline")).to_have_count(0, timeout=LIVE)
    expect(count_of(manager, "Open")).to_contain_text("1", timeout=LIVE)
    expect(manager.locator("#live-status")).to_contain_text("left this queue")


def test_presence_typing_and_a_conflict_posted_anyway(browser, live_server, desk, make_ticket, shots):
    t = make_ticket(subject="VPN drops every hour")
    tech = agent_page(browser, live_server, desk, desk.tech)
    manager = agent_page(browser, live_server, desk, desk.manager)
    for page in (tech, manager):
        page.goto(f"{live_server}/agent/tickets/{t.number}")
    expect(tech.locator("#presence")).to_contain_text("Maya Manager is viewing this ticket", timeout=LIVE)
    expect(manager.locator("#presence")).to_contain_text("Tom Technician is viewing this ticket", timeout=LIVE)

    tech.get_by_label("Your reply").fill("Please try the new VPN profile")
    expect(manager.locator("#presence")).to_contain_text("Tom Technician is writing", timeout=LIVE)

    # Meanwhile the manager adds a note: the technician's page shows it and keeps the typed text;
    # a note concerns no reply, so the reply goes out at once.
    manager.locator("#note_form summary").click()
    manager.get_by_label("Note", exact=True).fill("Customer is on the old firewall")
    manager.get_by_role("button", name="Add note").click()
    expect(manager.locator("#flash")).to_contain_text("internal note was added")
    expect(tech.locator("#thread")).to_contain_text("Customer is on the old firewall", timeout=LIVE)
    expect(tech.locator("#changed-notice")).to_contain_text("This ticket changed since you opened it")
    expect(tech.locator("#changed-notice")).to_contain_text("Maya Manager added an internal note")
    expect(tech.get_by_label("Your reply")).to_have_value("Please try the new VPN profile")
    shots(tech, "ticket-changed-notice-1440")
    # Both answering: the manager starts a reply before the technician's goes out (typed in, the
    # form stays as it was loaded through the live update that shows the technician's reply)...
    manager.get_by_label("Your reply").fill("We are restarting the VPN gateway")
    expect(tech.locator("#presence")).to_contain_text("Maya Manager is writing", timeout=LIVE)
    tech.get_by_role("button", name="Send reply").click()
    expect(tech.locator("#flash")).to_contain_text("Your reply was sent")
    expect(tech.locator("#thread")).to_contain_text("Please try the new VPN profile")

    # ... so the manager's reply, written from the page before the technician's, collides.
    expect(manager.locator("#thread")).to_contain_text("Please try the new VPN profile", timeout=LIVE)
    expect(manager.get_by_label("Your reply")).to_have_value("We are restarting the VPN gateway")
    manager.get_by_role("button", name="Send reply").click()
    conflict = manager.locator("#reply_form .conflict")
    expect(conflict).to_contain_text("changed by someone else")
    expect(conflict).to_contain_text("Tom Technician replied to the customer")
    expect(manager.get_by_label("Your reply")).to_have_value("We are restarting the VPN gateway")
    expect(manager.locator("#flash .flash")).to_have_count(0)  # one message area: the conflict
    shots(manager, "ticket-conflict-1440")
    manager.get_by_role("button", name="Send reply").click()  # post anyway
    expect(manager.locator("#flash")).to_contain_text("Your reply was sent")
    expect(tech.locator("#thread")).to_contain_text("We are restarting the VPN gateway", timeout=LIVE)
    expect(manager.locator("#presence")).to_contain_text("Tom Technician is viewing", timeout=LIVE)
    tech.close()
    expect(manager.locator("#presence")).not_to_contain_text("Tom Technician", timeout=LIVE)


def test_a_customer_reply_refreshes_the_actions_and_the_next_action_goes_through(
        browser, live_server, desk, make_ticket, shots):
    # The review's case: the ticket awaits the customer, the agent has it open and starts a note;
    # the customer answers; the page offers what the ticket takes now, and escalating works.
    t = make_ticket(status="pending", subject="Invoices missing")
    tech = agent_page(browser, live_server, desk, desk.tech)
    tech.goto(f"{live_server}/agent/tickets/{t.number}")
    actions = tech.locator("#ticket-actions")
    expect(actions).to_contain_text("Stop waiting for the customer")
    expect(tech.locator("#request_info_form")).to_have_count(0)
    tech.locator("#note_form summary").click()
    tech.get_by_label("Note", exact=True).fill("Checking the billing export")

    tickets.customer_reply(fresh(t), "They are still missing since March.")
    expect(tech.locator("#thread")).to_contain_text("still missing since March", timeout=LIVE)
    expect(actions).not_to_contain_text("Stop waiting for the customer", timeout=LIVE)
    expect(tech.locator("#request_info_form")).to_have_count(1)
    expect(tech.get_by_label("Note", exact=True)).to_have_value("Checking the billing export")  # kept as typed
    shots(tech, "ticket-after-customer-reply-1440")

    tech.locator("#escalate_form summary").click()
    tech.locator("#escalate-team").select_option(label="Vendor Support")
    tech.locator("#escalate-note").fill("Billing export bug, vendor side")
    tech.get_by_role("button", name="Escalate").click()
    expect(tech.locator("#flash")).to_contain_text("The ticket was escalated.")
    expect(tech.locator(".conflict")).to_have_count(0)
    assert fresh(t).status == "escalated"
    # The note being written survived the agent's own action too.
    expect(tech.get_by_label("Note", exact=True)).to_have_value("Checking the billing export")


def test_bulk_assign_with_a_refusal_per_ticket(browser, live_server, desk, make_ticket, shots):
    a = make_ticket(subject="Bulk one")
    b = make_ticket(subject="Bulk two")
    tickets.assign(desk.manager, b, agent=desk.tech)
    tech = agent_page(browser, live_server, desk, desk.tech)
    tech.goto(f"{live_server}/agent/")
    expect(tech.locator("#results tbody tr")).to_have_count(2)
    expect(tech.locator("#bulk")).to_have_count(0)
    expect(tech.locator("input[name=ticket]")).to_have_count(0)

    manager = agent_page(browser, live_server, desk, desk.manager)
    manager.goto(f"{live_server}/agent/")
    manager.get_by_label("Select every ticket on this page").check()
    expect(manager.locator("#bulk-selected")).to_have_text("2 tickets selected.")
    manager.get_by_label("With the selected").select_option(label="Tom Technician")
    shots(manager, "bulk-bar-1440")
    manager.get_by_role("button", name="Apply").click()
    flash = manager.locator("#flash")
    expect(flash).to_contain_text(f"Assigned to Tom Technician: #{a.number}.")
    expect(flash).to_contain_text(f"#{b.number}: The ticket is already assigned that way.")
    expect(manager.locator(f"#row-{a.number}")).to_contain_text("Tom Technician")
    assert fresh(a).assignee_id == desk.tech.id
    expect(manager.locator("#flash .flash").first).to_be_focused()
    expect(manager.locator("#results input[name=ticket]:checked")).to_have_count(0)
    shots(manager, "bulk-result-1440")


def test_keyboard_navigation_and_help(browser, live_server, desk, make_ticket):
    made = [make_ticket(subject=f"Keyboard {n}") for n in range(3)]
    page = agent_page(browser, live_server, desk, desk.manager)
    page.goto(f"{live_server}/agent/?sort=number&dir=asc")
    numbers = sorted(t.number for t in made)
    page.keyboard.press("j")
    expect(page.locator(f"#row-{numbers[0]}")).to_have_class(re.compile("kb-current"))
    expect(page.locator(f"#open-{numbers[0]}")).to_be_focused()
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    expect(page.locator(f"#row-{numbers[1]}")).to_have_class(re.compile("kb-current"))
    page.keyboard.press("x")
    expect(page.locator(f"#pick-{numbers[1]}")).to_be_checked()
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.keyboard.press("/")
    expect(page.locator("#q")).to_be_focused()
    page.keyboard.type("jk")  # typing in a field is typing, not shortcuts
    expect(page.locator("#q")).to_have_value("jk")
    page.goto(f"{live_server}/agent/?sort=number&dir=asc")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(f"/agent/tickets/{numbers[0]}$"))
    page.wait_for_load_state()
    page.keyboard.press("r")
    reply = page.get_by_label("Your reply")
    expect(reply).to_be_focused()
    page.keyboard.type("r?j")
    expect(reply).to_have_value("r?j")
    expect(page.get_by_role("dialog")).to_be_hidden()


@pytest.mark.parametrize("width", [390, 1440])
def test_layouts_from_phone_to_wide(browser, live_server, desk, make_ticket, shots, width):
    t = make_ticket(subject="A rather long subject line about the mobile banking login failing for everyone")
    make_ticket(subject="Second ticket")
    tech = agent_page(browser, live_server, desk, desk.tech, width=width)
    page = agent_page(browser, live_server, desk, desk.manager, width=width)
    page.goto(f"{live_server}/agent/")
    page.locator(f"#pick-{t.number}").check()

    def fits():
        return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    assert fits()
    shots(page, f"queue-{width}")
    tech.goto(f"{live_server}/agent/tickets/{t.number}")
    page.goto(f"{live_server}/agent/tickets/{t.number}")
    expect(page.locator("#presence")).to_contain_text("Tom Technician", timeout=LIVE)
    assert page.evaluate("document.activeElement === document.body")  # a refresh never takes the focus
    assert fits()
    shots(page, f"ticket-{width}")
    page.keyboard.press("?")
    expect(page.get_by_role("dialog")).to_be_visible()
    shots(page, f"shortcuts-{width}")


def run_axe(page, include: str | None = None) -> list:
    """Serious and critical axe-core violations on the page (or within the parts the selector
    `include` names) as it rests: animations still running (a new row's highlight fading, a ring
    around a new entry) are finished first, and a live region's poll under way is waited for,
    since axe reads the colours of the moment and a half-faded background is neither theme's."""
    page.add_script_tag(path=str(AXE))
    # A live region's poll under way fades its buttons (.htmx-request): read the page between polls.
    page.wait_for_function("() => !document.querySelector('.htmx-request')")
    page.evaluate("() => document.getAnimations().forEach(a => a.finish())")
    result = page.evaluate("async (sel) => (await axe.run(sel ? {include: [[sel]]} : document, "
                           "{resultTypes: ['violations']})).violations", include)
    return [f"{v['id']} ({v['impact']}): {v['help']} -> {[(n['target'], n['any'][0]['message'] if n['any'] else '') for n in v['nodes']][:3]}"
            for v in result if v["impact"] in ("serious", "critical")]


def test_main_pages_have_no_serious_accessibility_violations(browser, live_server, desk, make_ticket):
    t = make_ticket(subject="Accessible ticket")
    tickets.add_note(desk.tech, t, "A note for agents")
    tickets.reply(desk.tech, fresh(t), "A reply for the customer")
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems = {}
    for name, path in (("login", "/login"), ("portal form", "/new"),
                       ("portal ticket", f"/t/{access_token(fresh(t))}")):
        page.goto(live_server + path)
        problems[name] = run_axe(page)
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(desk.manager.email)
    page.get_by_label("Password").fill(desk.passwords[desk.manager.email])
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/agent/"))  # signed in before the next page is asked for
    for name, path in (("queue", "/agent/"), ("ticket", f"/agent/tickets/{t.number}")):
        page.goto(live_server + path)
        problems[name] = run_axe(page)
    assert {k: v for k, v in problems.items() if v} == {}
