"""The open-a-ticket form with HELPDESK_CAPTCHA=1 in a real browser: the vendored ALTCHA widget
fetches the desk's challenge, solves it in a Web Worker under the desk's CSP, and the ticket is
opened. Screenshots at 1440 and 390 px wide are saved in the test's output folder."""
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import Ticket

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1440, 390])
def test_the_widget_solves_the_challenge_and_the_ticket_is_opened(browser, live_server, app, desk, output_path, width):
    app.config["HELPDESK_CAPTCHA"] = True
    shots = Path(output_path)
    shots.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": 1000})
    page = context.new_page()
    problems = []  # what the browser refused or failed on: CSP violations, script errors, failed loads
    page.on("console", lambda m: problems.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    page.goto(f"{live_server}/new")
    subject = f"Printer on fire ({width} px)"
    page.get_by_label("Your name").fill("Ken Kunde")  # focusing the form starts the widget's work
    page.get_by_label("Email address").fill(f"ken{width}@example.net")
    page.get_by_label("Help topic").select_option(label="General inquiry")
    page.get_by_label("Subject").fill(subject)
    page.get_by_label("Description").fill("It is on fire again.")
    widget = page.locator("altcha-widget")
    expect(widget.locator('input[type="hidden"][name="altcha"]')).not_to_have_value("", timeout=60_000)
    expect(widget).to_contain_text("Verified")
    page.screenshot(path=str(shots / f"captcha-solved-{width}.png"), full_page=True)
    page.get_by_role("button", name="Open the ticket").click()
    expect(page.locator("h1")).to_contain_text("we have your request")
    page.screenshot(path=str(shots / f"captcha-submitted-{width}.png"), full_page=True)
    assert problems == []
    db.session.expire_all()
    assert len(db.session.scalars(select(Ticket).where(Ticket.subject == subject)).all()) == 1
    context.close()
