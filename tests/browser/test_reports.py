"""Reports in a real browser: a queue manager picks a period, reads the dashboard at a glance,
drills into the resolution breaches and lands on exactly those tickets, with their export one click
away; on a phone nothing is wider than the screen. Screenshots at 1440 and 390 px."""
import pytest
from playwright.sync_api import expect

from browser.test_live import run_axe
from support.signin import sign_in
from test_reports import scenario  # noqa: F401  (the fixed desk the figures are checked on)

pytestmark = pytest.mark.browser


def manager_page(browser, base, desk, width):
    context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)  # for axe-core
    return sign_in(context.new_page(), base, desk, desk.manager)


def test_a_manager_reads_the_dashboard_and_drills_into_the_breaches(browser, live_server, desk, scenario, shots):  # noqa: F811
    page = manager_page(browser, live_server, desk, 1440)
    page.goto(f"{live_server}/agent/")
    page.get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", name="Reports", level=1)).to_be_visible()

    # A custom range: picking its dates picks "Custom range", and the figures redraw in place.
    page.get_by_label("From", exact=True).fill("2026-03-23")
    expect(page.get_by_label("Period")).to_have_value("custom")
    expect(page.locator("#report")).to_contain_text("A custom range needs an end date.")  # the 400 says why
    with page.expect_response(lambda r: "/agent/reports?" in r.url and "to=2026-04-05" in r.url):
        page.get_by_label("To", exact=True).fill("2026-04-05")
    expect(page.locator(".report-period")).to_have_text("23 Mar 2026 – 5 Apr 2026")
    assert "period=custom" in page.url
    card = page.locator('[data-card="res_rate"]')
    expect(card).to_contain_text("50.0%")
    expect(card).to_contain_text("5 breached")
    expect(page.locator('[data-card="created"]')).to_contain_text("9")
    expect(page.locator("figure.chart").first).to_be_visible()
    shots(page, "reports-1440")
    assert run_axe(page, "#report") == []

    # The numbers behind a chart open under it.
    volume = page.locator("#figure-volume")
    volume.get_by_text("The numbers").click()
    expect(volume.get_by_role("table")).to_contain_text("29 Mar")

    card.get_by_role("link").click()
    expect(page.locator(".drill-banner")).to_contain_text("past the resolution target")
    rows = page.locator("tbody[data-live-list] tr")
    expect(rows).to_have_count(5)
    assert sorted(rows.locator("td.subject a").all_inner_texts()) == list("CGHJK")
    export = page.locator("#export-csv")
    assert "drill=res_breached" in export.get_attribute("href")
    shots(page, "reports-drilldown-1440")
    page.get_by_role("link", name="Back to the report").click()
    expect(page.locator(".report-period")).to_have_text("23 Mar 2026 – 5 Apr 2026")


def test_the_dashboard_fits_a_phone(browser, live_server, desk, scenario, shots):  # noqa: F811
    page = manager_page(browser, live_server, desk, 390)
    page.goto(f"{live_server}/agent/reports?period=custom&from=2026-03-23&to=2026-04-05")
    expect(page.locator('[data-card="resolved"]')).to_contain_text("5")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shots(page, "reports-390")
    page.goto(f"{live_server}/agent/reports?period=custom&from=2026-03-23&to=2026-04-05&print=1")
    expect(page.locator(".report-numbers").first).to_have_attribute("open", "")
    expect(page.locator("#report-filters")).to_have_count(0)
