"""The seed scenario of the product brief, in a real browser, from the customer's form to Closed.

Ken opens a ticket under "Business Critical Outage"; the queue manager sees it appear without
reloading, sets the priority to Emergency on the Emergency SLA and assigns it to the technician;
the technician asks Ken for details, Ken answers through his mailed link; the technician
escalates to the SysAdmins, who find the fault; the technician posts the resolution, Ken
confirms it and the ticket shows under Closed with its whole history. Ken gets a mail at each
step. A screenshot of every stage is saved in the test's output folder.
"""
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

KEN = "ken@example.net"
SUBJECT = "Customers cannot reach mobile banking"


def sign_in(browser, base, email, password):
    page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".topnav .who")).to_contain_text(email and "")
    return page


def open_action(page, title):
    """Open an action's <details> panel by its summary text."""
    details = page.locator("details", has=page.locator("summary", has_text=title))
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    return details


def link_in(inbox, message):
    return re.search(r"https?://\S+/t/\S+", inbox.text(message)).group(0)


def test_seed_scenario_from_form_to_closed(browser, live_server, desk, inbox, output_path):
    shots = Path(output_path)
    shots.mkdir(parents=True, exist_ok=True)
    stage = iter(range(1, 100))

    def shot(page, name):
        page.screenshot(path=str(shots / f"{next(stage):02d}-{name}.png"), full_page=True)

    base = live_server
    manager = sign_in(browser, base, "manager@example.com", desk.passwords["manager@example.com"])
    manager.goto(f"{base}/agent/")
    expect(manager.get_by_role("heading", name="Open")).to_be_visible()

    # 1. Ken opens the ticket on the web form.
    ken = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    ken.goto(f"{base}/")
    ken.get_by_role("link", name=re.compile("Open a new ticket")).first.click()
    ken.wait_for_load_state()
    ken.get_by_label("Your name").fill("Ken Kunde")
    ken.get_by_label("Email address").fill(KEN)
    ken.get_by_label("Help topic").select_option(label="Business Critical Outage")
    expect(ken.locator("#topic_fields")).to_contain_text("which service is down")  # htmx swapped it in
    ken.get_by_label("Subject").fill(SUBJECT)
    ken.get_by_label("Description").fill("Since 09:10 no customer can log in to the mobile banking app.")
    shot(ken, "customer-form")
    ken.get_by_role("button", name="Open the ticket").click()
    expect(ken.get_by_role("heading", name=re.compile("we have your request"))).to_be_visible()
    number = re.search(r"#?([2-9A-Z]{6})\b", ken.locator("main .number").first.inner_text()).group(1)
    shot(ken, "customer-confirmation")

    # 2. The manager's open queue shows it without a reload.
    row = manager.locator("tr", has_text=SUBJECT)
    expect(row).to_be_visible(timeout=15_000)
    expect(row).to_contain_text("High")
    shot(manager, "manager-queue-live")

    # 3. Priority Emergency, the Emergency SLA (the topic's), assigned to the technician.
    row.get_by_role("link", name=SUBJECT).click()
    expect(manager.locator("#ticket-title")).to_have_text(SUBJECT)
    open_action(manager, "Priority").get_by_label("Priority").select_option(label="Emergency")
    manager.get_by_role("button", name="Set priority").click()
    # The SLA plan is called Emergency too: wait for the answer and the priority badge themselves.
    expect(manager.locator("#flash")).to_contain_text("The priority was changed.")
    expect(manager.locator(".ticket-head .prio")).to_have_text("Emergency")
    sla = open_action(manager, "SLA plan").get_by_label("SLA plan")
    expect(sla.locator("option:checked")).to_contain_text("Emergency")
    expect(manager.locator(".ticket-head")).to_contain_text(re.compile("due in 1 h", re.I))
    open_action(manager, "Assign").get_by_label("Agent").select_option(label="Tom Technician")
    manager.get_by_role("button", name="Assign", exact=True).click()
    expect(manager.locator(".ticket-head")).to_contain_text("Tom Technician")
    shot(manager, "manager-assigned")

    # 4. The technician asks Ken for details.
    tech = sign_in(browser, base, "tech@example.com", desk.passwords["tech@example.com"])
    tech.goto(f"{base}/agent/queue/mine")
    tech.get_by_role("link", name=SUBJECT).click()
    open_action(tech, "Ask the customer").get_by_label("Your question to the customer").fill(
        "Which app version do you see this on, and what does the error say?")
    tech.get_by_role("button", name="Send question").click()
    expect(tech.locator(".ticket-head")).to_contain_text("Awaiting customer")
    shot(tech, "tech-asked-customer")

    # 5. Ken answers through the link in his mail.
    inbox.deliver()
    question = [m for m in inbox.to(KEN) if "more information" in str(m["Subject"])][-1]
    ken.goto(link_in(inbox, question))
    expect(ken.get_by_text("Which app version")).to_be_visible()
    ken.get_by_label("Your message").fill("Version 4.2 on Android, the error says 'Service unavailable'.")
    ken.get_by_role("button", name="Send message").click()
    expect(ken.locator("#conversation")).to_contain_text("Service unavailable")
    shot(ken, "customer-answered")

    # 6. The technician escalates to the SysAdmins.
    tech.reload()
    expect(tech.locator("#conversation, #ticket")).to_contain_text("Service unavailable")
    esc = open_action(tech, "Escalate to a team")
    esc.get_by_label("Team", exact=True).select_option(label="SysAdmins/Developers")
    esc.get_by_label(re.compile("Why")).fill("Login API answers 503; please check the gateway.")
    tech.get_by_role("button", name="Escalate", exact=True).click()
    expect(tech.locator(".ticket-head")).to_contain_text("Escalated")
    shot(tech, "tech-escalated")

    # 7. The SysAdmins find the fault and hand it back.
    sysadmin = sign_in(browser, base, "sysadmin@example.com", desk.passwords["sysadmin@example.com"])
    sysadmin.goto(f"{base}/agent/queue/escalated")
    sysadmin.get_by_role("link", name=SUBJECT).click()
    open_action(sysadmin, "Hand back").get_by_label(re.compile("What you found")).fill(
        "Found it: the gateway's TLS certificate expired. Renewed.")
    sysadmin.get_by_role("button", name="Hand back to Tom Technician").click()
    expect(sysadmin.locator(".ticket-head")).to_contain_text("Open")
    expect(sysadmin.locator(".entry-note").last).to_contain_text("certificate expired")
    shot(sysadmin, "sysadmins-found-fault")

    # 8. The technician posts the resolution; Ken confirms it.
    tech.reload()
    open_action(tech, "Resolve").get_by_label(re.compile("Resolution")).fill(
        "The gateway certificate had expired; it is renewed and mobile banking works again.")
    tech.get_by_role("button", name="Post resolution").click()
    expect(tech.locator(".ticket-head")).to_contain_text("Resolved")
    shot(tech, "tech-resolved")
    inbox.deliver()
    resolved = [m for m in inbox.to(KEN) if "Resolved" in str(m["Subject"])][-1]
    ken.goto(link_in(inbox, resolved))
    ken.get_by_role("button", name=re.compile("this solved my problem")).click()
    expect(ken.locator("main")).to_contain_text("Closed")
    shot(ken, "customer-confirmed")

    # 9. It shows under Closed, with its whole history.
    manager.goto(f"{base}/agent/queue/closed")
    expect(manager.locator("tr", has_text=SUBJECT)).to_be_visible()
    shot(manager, "closed-queue")
    manager.get_by_role("link", name=SUBJECT).click()
    history = manager.locator(".ticket-history")
    for text in ("Emergency", "Tom Technician", "Awaiting customer", "SysAdmins/Developers", "Resolved", "Closed"):
        expect(history).to_contain_text(text)
    shot(manager, "closed-ticket-history")

    # Ken got a mail at each step, each with the number in the subject.
    inbox.deliver()
    subjects = inbox.subjects(KEN)
    assert all(f"[#{number}]" in s for s in subjects)
    steps = ["We received your request", "Tom Technician is handling", "We need more information",
             "passed to our specialists", "Resolved", "Closed"]
    assert [next((i for i, s in enumerate(subjects) if step in s), None) for step in steps] == sorted(
        next(i for i, s in enumerate(subjects) if step in s) for step in steps)
    # The SysAdmins' note never reached Ken.
    assert not any("certificate expired. Renewed" in inbox.text(m) for m in inbox.to(KEN))
