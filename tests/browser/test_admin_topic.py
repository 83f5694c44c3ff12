"""The admin configures the desk in a real browser: a new SLA plan (with a holiday added inline),
a help topic that uses it (IT Operations, High, round-robin in a team); a customer opens a ticket
under it in another browser, and the agent's ticket page shows what the topic set.
Screenshots at 1440 and 390 px wide are saved in the test's output folder."""
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SUBJECT = "The office network is down"


def test_admin_creates_a_plan_and_a_topic_that_a_ticket_then_follows(browser, live_server, desk, output_path):
    shots = Path(output_path)
    shots.mkdir(parents=True, exist_ok=True)
    base = live_server
    admin_ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
    admin = admin_ctx.new_page()
    admin.goto(f"{base}/login")
    admin.get_by_label("Email").fill("admin@example.com")
    admin.get_by_label("Password").fill(desk.passwords["admin@example.com"])
    admin.get_by_role("button", name="Sign in").click()

    # 1. A new SLA plan, business hours, with a holiday added in place.
    admin.goto(f"{base}/admin/")
    admin.get_by_role("link", name="SLA plans").click()
    admin.get_by_role("link", name="New SLA plan").click()
    admin.get_by_label("Name").fill("Network Gold")
    admin.get_by_label("Resolve within (hours)").fill("6")
    admin.get_by_label("First response within (hours)").fill("1")
    expect(admin.get_by_label("Opens at")).to_be_hidden()  # only for business hours
    admin.get_by_label("Business hours only").check()
    expect(admin.get_by_label("Opens at")).to_be_visible()
    admin.get_by_label("Saturday").check()
    admin.get_by_label("Time zone").fill("Europe/Berlin")
    admin.screenshot(path=str(shots / "01-new-sla-plan.png"), full_page=True)
    admin.get_by_role("button", name="Create SLA plan").click()
    expect(admin.locator(".flash-success")).to_contain_text("SLA plan “Network Gold” created.")
    row = admin.locator("tr", has_text="Network Gold")
    expect(row).to_contain_text("Mon, Tue, Wed, Thu, Fri, Sat 09:00–17:00 Europe/Berlin")
    row.get_by_role("link", name="Network Gold").click()
    admin.get_by_label("Date").fill("2026-12-24")
    admin.locator("#holidays").get_by_label("Name (optional)").fill("Christmas Eve")
    admin.get_by_role("button", name="Add holiday").click()
    expect(admin.locator("#holidays li")).to_contain_text("Thu 24 Dec 2026 · Christmas Eve")  # swapped in by htmx
    expect(admin.get_by_label("Date")).to_have_value("")
    admin.screenshot(path=str(shots / "02-sla-plan-holidays.png"), full_page=True)
    # It is a business-hours plan for that test only; the ticket below needs a 24x7 due time.
    admin.get_by_label("Around the clock (24x7)").check()
    admin.get_by_role("button", name="Save changes").click()
    expect(admin.locator(".flash-success")).to_contain_text("SLA plan “Network Gold” saved.")

    # 2. A help topic using it: IT Operations, High, round-robin among the SysAdmins.
    admin.get_by_role("link", name="Help topics").click()
    admin.get_by_role("link", name="New help topic").click()
    admin.get_by_label("Name").fill("Network outage")
    admin.get_by_label("Instructions for customers").fill("Tell us which office and since when.")
    admin.get_by_label("Department", exact=True).select_option(label="IT Operations")
    admin.get_by_label("Priority", exact=True).select_option(label="High")
    admin.get_by_label("SLA plan", exact=True).select_option(label="Network Gold (6 h)")
    expect(admin.get_by_label("Team", exact=True)).to_be_hidden()
    admin.get_by_label("Assign new tickets to").select_option(label="Round-robin among a team's active agents")
    admin.get_by_label("Team", exact=True).select_option(label="SysAdmins/Developers")
    admin.screenshot(path=str(shots / "03-new-topic.png"), full_page=True)
    admin.get_by_role("button", name="Create help topic").click()
    row = admin.locator("tr", has_text="Network outage")
    expect(row).to_contain_text("IT Operations")
    expect(row).to_contain_text("round-robin in SysAdmins/Developers")
    admin.screenshot(path=str(shots / "04-topics.png"), full_page=True)

    # 3. A customer opens a ticket under it, in another browser.
    ken = browser.new_context(viewport={"width": 390, "height": 900}).new_page()
    ken.goto(f"{base}/new")
    ken.get_by_label("Your name").fill("Ken Kunde")
    ken.get_by_label("Email address").fill("ken@example.net")
    ken.get_by_label("Help topic").select_option(label="Network outage")
    expect(ken.locator("#topic_fields")).to_contain_text("Tell us which office and since when.")
    ken.get_by_label("Subject").fill(SUBJECT)
    ken.get_by_label("Description").fill("Nobody on the second floor has network since 08:30.")
    ken.get_by_role("button", name="Open the ticket").click()
    expect(ken.get_by_role("heading", name=re.compile("we have your request"))).to_be_visible()
    number = re.search(r"#?([2-9A-Z]{6})\b", ken.locator("main .number").first.inner_text()).group(1)

    # 4. The agent's ticket page shows what the topic set.
    admin.goto(f"{base}/agent/tickets/{number}")
    head = admin.locator(".ticket-head")
    expect(head.locator("dt:has-text('Department') + dd")).to_have_text("IT Operations")
    expect(head.locator("dt:has-text('SLA plan') + dd")).to_have_text("Network Gold (6 h)")
    expect(head.locator("dt:has-text('Assignee') + dd")).to_have_text("Sam Sysadmin")
    expect(head.locator("dt:has-text('Team') + dd")).to_have_text("SysAdmins/Developers")
    expect(head).to_contain_text("High")
    expect(head.locator("dt:has-text('Due') + dd time")).to_be_visible()
    admin.screenshot(path=str(shots / "05-agent-ticket.png"), full_page=True)

    # 5. The same pages on a phone.
    phone = browser.new_context(viewport={"width": 390, "height": 900}, storage_state=admin_ctx.storage_state()).new_page()
    for name, path in (("06-topics-390", "/admin/topics"), ("07-sla-390", "/admin/sla-plans"),
                       ("08-priorities-390", "/admin/priorities"), ("09-audit-390", "/admin/audit")):
        phone.goto(f"{base}{path}")
        phone.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    expect(phone.locator("main")).to_contain_text("Network outage")  # the audit log has the new topic
