"""Data no layout may break: a subject that is one URL or one very long word, a customer name
without a space, a long email. The queue table never grows past its container (Due and Updated
stay in view) and no page scrolls sideways on a phone."""
import pytest
from playwright.sync_api import expect

from browser.test_live import agent_page

pytestmark = pytest.mark.browser

URL_SUBJECT = ("Error 500 on https://shop.example.com/checkout/payment/confirm?session="
               "8f14e45fceea167a5a36dedd4bea2543a9c2f1e0b7d6c5a4f3e2d1c0b9a8f7e6&retry=true&lang=en-GB")
LONG_WORD = "Supercalifragilisticexpialidocious" * 4
LONG_NAME = "Maximilianus-Bartholomaeus-Wolfeschlegelsteinhausenbergerdorff"
LONG_EMAIL = "maximilianus.bartholomaeus.wolfeschlegelsteinhausenbergerdorff@very-long-subdomain.example.com"


# The innermost elements that reach past the screen's right edge (what a failure names).
WIDER_THAN_THE_SCREEN = """[...document.querySelectorAll('body *')].filter(el => {
  const r = el.getBoundingClientRect();
  return r.right > window.innerWidth + 1 && r.width > 0 && getComputedStyle(el).position !== 'fixed'
    && ![...el.children].some(c => c.getBoundingClientRect().right > window.innerWidth + 1);
}).slice(0, 5).map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '')
  + ' ' + Math.round(el.getBoundingClientRect().right))"""


@pytest.fixture
def hostile(make_ticket):
    return [
        make_ticket(subject=URL_SUBJECT),
        make_ticket(subject=LONG_WORD, name=LONG_NAME, email=LONG_EMAIL),
        make_ticket(subject="An ordinary subject"),
    ]


@pytest.mark.parametrize("width", [1280, 1440, 1920])
def test_no_cell_widens_the_queue_table(browser, live_server, desk, hostile, shots, width):
    page = agent_page(browser, live_server, desk, desk.manager, width=width)
    page.goto(f"{live_server}/agent/")
    expect(page.locator(f"#row-{hostile[0].number}")).to_be_visible()
    shots(page, f"long-data-queue-{width}")
    wrap = page.locator(".table-wrap")
    sizes = wrap.evaluate("el => [el.scrollWidth, el.clientWidth, [...el.querySelectorAll('thead th')].map(th => Math.round(th.getBoundingClientRect().width))]")
    assert sizes[0] <= sizes[1] + 1, f"the table is wider than its container: {sizes}"
    for header in ("Due", "Updated"):
        box = page.get_by_role("columnheader", name=header).bounding_box()
        assert box["x"] + box["width"] <= width, f"{header} is out of view"
    # The whole subject is there to read: on the row and on hover.
    link = page.locator(f"#open-{hostile[0].number}")
    assert link.get_attribute("title") == URL_SUBJECT
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_no_page_scrolls_sideways_on_a_phone(browser, live_server, desk, hostile, shots):
    page = agent_page(browser, live_server, desk, desk.manager, width=390, height=844)
    long = hostile[1]
    for name, path in (("queue", "/agent/"), ("search", f"/agent/?q={long.number}"),
                       ("ticket", f"/agent/tickets/{long.number}"), ("url ticket", f"/agent/tickets/{hostile[0].number}")):
        page.goto(f"{live_server}{path}")
        width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        shots(page, f"long-data-{name.replace(' ', '-')}-390")
        wide = page.evaluate(WIDER_THAN_THE_SCREEN)
        assert width[0] <= width[1] + 1, f"{name}: {width[0]} px wide at {width[1]}: {wide}"
