"""Tags in a real browser: an agent types part of a tag's name on a ticket, picks it from the
suggestions and sees the chip; another agent's open page shows it by itself; the queue row shows
it and its chip filters the queue; the chip's button takes it off again. On a phone the chips wrap."""
import pytest
from playwright.sync_api import expect

from browser.test_live import run_axe
from helpdesk import tickets
from support.rows import fresh
from support.signin import sign_in

pytestmark = pytest.mark.browser

LIVE = 5_000  # ms: changes made elsewhere show within this


def agent_page(browser, base, desk, who, width=1440, height=900):
    context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True)  # for axe-core
    return sign_in(context.new_page(), base, desk, who)


def test_an_agent_picks_a_tag_from_the_suggestions_and_the_queue_shows_it(
        browser, live_server, desk, ticket, make_ticket, shots):
    tickets.add_tags(desk.admin, make_ticket(), ["Billing dispute", "Mobile app"])
    make_ticket()  # untagged
    tech = agent_page(browser, live_server, desk, desk.tech)
    manager = agent_page(browser, live_server, desk, desk.manager)
    manager.goto(f"{live_server}/agent/tickets/{ticket.number}")

    tech.goto(f"{live_server}/agent/tickets/{ticket.number}")
    field = tech.get_by_label("Add tags")
    field.press_sequentially("mob")
    pick = tech.get_by_role("button", name="Add the tag Mobile app")
    expect(pick).to_be_visible()
    expect(tech.get_by_role("button", name="Add the tag Billing dispute")).to_have_count(0)
    shots(tech, "tags-suggestions-1440")
    pick.click()
    expect(tech.locator("#flash")).to_contain_text("Tagged “Mobile app”.")
    chips = tech.get_by_role("list", name="Tags of this ticket")
    expect(chips.get_by_role("link", name="Mobile app")).to_be_visible()
    expect(tech.locator("#history")).to_contain_text("added a tag: Mobile app")
    expect(tech.get_by_label("Add tags")).to_have_value("")

    # A new one, typed whole, with the keyboard.
    tech.get_by_label("Add tags").fill("Outage")
    tech.get_by_label("Add tags").press("Enter")
    expect(chips.get_by_role("link", name="Outage")).to_be_visible()

    # The other agent's open page follows.
    other_chips = manager.get_by_role("list", name="Tags of this ticket")
    expect(other_chips.get_by_role("link", name="Mobile app")).to_be_visible(timeout=LIVE)
    expect(other_chips.get_by_role("link", name="Outage")).to_be_visible(timeout=LIVE)
    assert run_axe(tech, "#ticket-actions") == []

    # The queue row shows the tags; a chip filters the queue by its tag.
    tech.goto(f"{live_server}/agent/")
    row = tech.locator(f"#row-{ticket.number}")
    expect(row.get_by_role("link", name="Mobile app")).to_be_visible()
    shots(tech, "tags-queue-1440")
    row.get_by_role("link", name="Mobile app").click()
    expect(tech.get_by_label("Tag", exact=True)).to_have_value("Mobile app")
    expect(tech.locator("#results tbody tr")).to_have_count(2)  # this one and the other "Mobile app"

    # Taken off again with the chip's button.
    tech.goto(f"{live_server}/agent/tickets/{ticket.number}")
    tech.get_by_role("button", name="Remove the tag Outage").click()
    expect(tech.locator("#flash")).to_contain_text("The tag “Outage” was removed.")
    expect(chips.get_by_role("link", name="Outage")).to_have_count(0)
    assert [t.name for t in fresh(ticket).tags] == ["Mobile app"]


def test_tag_chips_wrap_on_a_phone(browser, live_server, desk, ticket, shots):
    names = [f"Reconciliation-Mismatch-Number-{i:02}" for i in range(10)]
    tickets.add_tags(desk.tech, ticket, names)
    phone = agent_page(browser, live_server, desk, desk.tech, width=390, height=844)
    for path in (f"/agent/tickets/{ticket.number}", "/agent/"):
        phone.goto(live_server + path)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390, path
    phone.goto(f"{live_server}/agent/tickets/{ticket.number}")
    phone.get_by_label("Add tags").press_sequentially("recon")
    expect(phone.locator("#tag-suggestions")).to_contain_text("No tag of the desk matches")  # it has them all
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shots(phone, "tags-ticket-390")
