"""Dark mode and the queue's display settings in a real browser: the theme follows the browser or
the agent's choice, the queue's switch works with htmx, and axe-core finds no serious or critical
problem (contrast included) on the main pages in either theme, on a wide screen and a phone."""
import re

import pytest
from playwright.sync_api import expect

from helpdesk import tickets
from helpdesk.attachments import Upload
from helpdesk.extensions import db
from helpdesk.models import Agent
from helpdesk.security import access_token
from support.rows import fresh
from support.signin import sign_in

from .test_live import run_axe

pytestmark = pytest.mark.browser

WIDTHS = {1440: 900, 390: 844}


def background(page, selector="body") -> str:
    return page.eval_on_selector(selector, "e => getComputedStyle(e).backgroundColor")


def dark(colour: str) -> bool:
    r, g, b = (int(n) for n in re.findall(r"\d+", colour)[:3])
    return r + g + b < 3 * 60


@pytest.fixture
def busy_desk(desk, make_ticket):
    """A ticket with a customer message, a reply, an internal note and an attachment; more tickets
    in several states, so the queue shows every badge."""
    t = make_ticket("Business Critical Outage", name="Ken", email="ken@example.net",
                    subject="Mobile banking is down", uploads=[Upload("gateway.log", "text/plain", b"503 503\n")])
    tickets.assign(desk.manager, t, agent=desk.tech)
    tickets.reply(desk.tech, fresh(t), "We are on it: which app version do you use?")
    tickets.add_note(desk.tech, fresh(t), "Gateway logs show 503s since 09:10.")
    for n, status in enumerate(("pending", "resolved", "closed", "escalated", None, None)):
        make_ticket(subject=f"Printer on floor {n} is offline", status=status)
    return fresh(t)


def test_dark_mode_follows_the_browser_and_the_agents_choice(browser, live_server, desk, busy_desk, shots):
    t = busy_desk
    for width, height in WIDTHS.items():
        context = browser.new_context(viewport={"width": width, "height": height}, color_scheme="dark")
        page = context.new_page()
        page.goto(f"{live_server}/new")  # the portal follows the browser
        assert dark(background(page))
        sign_in(page, live_server, desk, desk.tech)
        assert page.locator("html").get_attribute("data-theme") is None and dark(background(page))
        page.goto(f"{live_server}/agent/")
        shots(page, f"dark-queue-{width}")
        page.goto(f"{live_server}/agent/tickets/{t.number}")
        note = page.locator(".entry-note")
        expect(note).to_contain_text("Internal note")
        assert dark(background(page, ".entry-note")) and background(page, ".entry-note") != background(page, ".entry-reply")
        shots(page, f"dark-ticket-{width}")
        context.close()

    # An agent who chose light keeps it in a dark browser; the customer pages still follow the browser.
    context = browser.new_context(viewport={"width": 1440, "height": 900}, color_scheme="dark")
    page = context.new_page()
    sign_in(page, live_server, desk, desk.tech)
    page.goto(f"{live_server}/account")
    page.get_by_role("radio", name="Light").check()
    page.get_by_role("button", name="Save display settings").click()
    expect(page.locator(".flash-success")).to_contain_text("Your display settings were saved.")
    assert page.locator("html").get_attribute("data-theme") == "light" and not dark(background(page))
    page.goto(f"{live_server}/new")
    assert dark(background(page))
    context.close()

    # ... and one who chose dark has it in a light browser.
    context = browser.new_context(viewport={"width": 1440, "height": 900}, color_scheme="light")
    page = context.new_page()
    sign_in(page, live_server, desk, desk.tech)
    assert not dark(background(page)) or page.locator("html").get_attribute("data-theme") == "light"
    page.goto(f"{live_server}/account")
    page.get_by_role("radio", name="Dark").check()
    page.get_by_role("button", name="Save display settings").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    assert dark(background(page))
    page.goto(f"{live_server}/new")
    assert not dark(background(page))
    context.close()


def test_the_queue_switch_with_htmx(browser, live_server, desk, make_ticket, shots):
    for n in range(60):
        make_ticket(subject=f"Router {n:02d} reboots at night, every night, since the firmware update of last week")
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    sign_in(page, live_server, desk, desk.tech)
    page.goto(f"{live_server}/agent/queue/unassigned?sort=updated&dir=asc&page=2")
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(25)
    row_height = rows.first.bounding_box()["height"]

    page.get_by_role("button", name="Compact").click()
    expect(page.locator(".queue-table.compact")).to_be_visible()
    expect(page.get_by_role("button", name="Compact")).to_have_attribute("aria-pressed", "true")
    assert rows.first.bounding_box()["height"] < row_height
    expect(page.locator(".result-count")).to_contain_text("26–50 of 60 tickets")

    page.get_by_role("button", name="50", exact=True).click()
    expect(rows).to_have_count(50)
    expect(page.locator(".result-count")).to_contain_text("1–50 of 60 tickets")
    expect(page.locator(".pagination")).to_contain_text("Page 1 of 2")
    assert page.url.endswith("/agent/queue/unassigned?sort=updated&dir=asc")  # the first page of the same list
    shots(page, "compact-queue-50-1440")
    page.reload()  # kept for the agent
    expect(rows).to_have_count(50)
    expect(page.locator(".queue-table.compact")).to_be_visible()
    db.session.expire_all()
    agent = db.session.get(Agent, desk.tech.id)
    assert (agent.density, agent.page_size) == ("compact", 50)
    context.close()


# Each context: (name, the browser's colour scheme, the agent's theme); every one at both widths.
THEMES = [("light", "light", "auto"), ("dark", "dark", "auto"), ("chosen-dark", "light", "dark")]


@pytest.mark.parametrize("name, scheme, theme", THEMES, ids=[t[0] for t in THEMES])
@pytest.mark.parametrize("width", list(WIDTHS))
def test_main_pages_pass_axe_in_both_themes(browser, live_server, desk, busy_desk, name, scheme, theme, width,
                                            shots):
    t = busy_desk
    db.session.get(Agent, desk.admin.id).theme = theme
    db.session.commit()
    topic = desk.topics["Business Critical Outage"]
    context = browser.new_context(bypass_csp=True, viewport={"width": width, "height": WIDTHS[width]},
                                  color_scheme=scheme)
    page = context.new_page()
    problems = {}
    for label, path in (("sign-in", "/login"), ("portal form", "/new"), ("portal ticket", f"/t/{access_token(t)}")):
        page.goto(live_server + path)
        problems[label] = run_axe(page)
        if name == "dark":
            shots(page, f"dark-{label.replace(' ', '-')}-{width}")
    sign_in(page, live_server, desk, desk.admin)
    for label, path in (("queue", "/agent/"), ("ticket", f"/agent/tickets/{t.number}"),
                        ("search", "/agent/?q=printer"), ("admin overview", "/admin/"),
                        ("admin list", "/admin/topics"), ("admin edit", f"/admin/topics/{topic.id}"),
                        ("account", "/account"), ("customer", f"/agent/customers/{t.customer_id}"),
                        ("not found", "/agent/tickets/NOSUCH")):
        page.goto(live_server + path)
        expected = theme if theme != "auto" else None
        assert page.locator("html").get_attribute("data-theme") == expected, label
        problems[label] = run_axe(page)
        if name == "dark":
            shots(page, f"dark-{label.replace(' ', '-')}-{width}")
    context.close()
    assert {k: v for k, v in problems.items() if v} == {}
