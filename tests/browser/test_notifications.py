"""Browser notifications in a real browser: the agent chooses them on the account page and allows
them in the browser; an assignment and a customer's reply made elsewhere then show as
notifications within seconds, a click opens the ticket, a reload replays nothing, and two tabs of
the same agent show each event once."""
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from helpdesk import tickets
from helpdesk.extensions import db
from helpdesk.models import Agent
from support.rows import fresh
from support.signin import sign_in

pytestmark = pytest.mark.browser

LIVE = 5_000  # ms: the promise for changes made elsewhere

# The real Notification API stays; each notification constructed is also recorded in
# window.__shown (title, body, tag) and kept in window.__notices (to click it).
RECORD_NOTIFICATIONS = """
(() => {
  const Real = window.Notification;
  if (!Real) { return; }
  window.__shown = [];
  window.__notices = [];
  class Recorded extends Real {
    constructor(title, options) {
      super(title, options);
      window.__shown.push({ title: title, body: (options || {}).body, tag: (options || {}).tag });
      window.__notices.push(this);
    }
  }
  Object.defineProperty(Recorded, "permission", { get: () => Real.permission });
  Recorded.requestPermission = (...args) => Real.requestPermission(...args);
  window.Notification = Recorded;
})();
"""


def signed_in_context(browser, base, desk, who, *, allow=True):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    if allow:
        context.grant_permissions(["notifications"], origin=base)
    context.add_init_script(RECORD_NOTIFICATIONS)
    return context, sign_in(context.new_page(), base, desk, who)


def section_shot(output_path, page, name):
    """A screenshot of the account page's notifications section alone, to look at."""
    folder = Path(output_path)
    folder.mkdir(parents=True, exist_ok=True)
    section = page.locator("section#notifications")
    section.scroll_into_view_if_needed()
    section.screenshot(path=str(folder / f"{name}.png"))


def shown(page):
    return page.evaluate("window.__shown")


def wait_for_shown(page, count):
    page.wait_for_function("(count) => window.__shown && window.__shown.length >= count", arg=count, timeout=LIVE)
    return shown(page)


def test_assignment_and_reply_notify_the_agent_and_a_click_opens_the_ticket(browser, live_server, desk,
                                                                             make_ticket, shots, output_path):
    t = make_ticket(name="Ana Pérez", subject="Invoice charged twice")
    context, tech = signed_in_context(browser, live_server, desk, desk.tech)

    tech.goto(f"{live_server}/account")
    section = tech.locator("section#notifications")
    expect(section.get_by_role("heading", name="Browser notifications")).to_be_visible()
    expect(section.locator("#notify-permission .badge")).to_have_text("Allowed")
    expect(section.locator("#notify-permission")).to_contain_text("while a page of the agent panel is open")
    expect(section.get_by_role("button", name="Allow notifications in this browser")).to_be_hidden()
    section.get_by_role("button", name="Show a test notification").click()
    assert wait_for_shown(tech, 1)[0]["title"] == "Notifications work"
    section.get_by_label("A ticket is assigned to me").check()
    section.get_by_label("A customer replies on one of my tickets").check()
    section.get_by_role("button", name="Save notification choices").click()
    expect(tech.locator("#flash")).to_contain_text("Your notification choices were saved.")
    expect(section.get_by_label("A ticket is assigned to me")).to_be_checked()
    expect(section.get_by_label("A new ticket arrives in my queues")).not_to_be_checked()
    section_shot(output_path, tech, "account-notifications-granted")
    shots(tech, "account-page-1440")

    tech.goto(f"{live_server}/agent/")
    expect(tech.locator("#queue_counts")).to_have_attribute("data-notices", "[]")  # no flood on load

    tickets.assign(desk.manager, fresh(t), agent=desk.tech)
    [assigned] = wait_for_shown(tech, 1)
    assert assigned["title"] == f"#{t.number} Invoice charged twice"
    assert assigned["body"] == "Assigned to you by Maya Manager"
    assert re.fullmatch(r"helpdesk-event-\d+", assigned["tag"])

    tickets.customer_reply(fresh(t), "Still charged twice, see attached statement")
    replied = wait_for_shown(tech, 2)[1]
    assert replied == {"title": f"#{t.number} Invoice charged twice", "body": "Ana Pérez replied",
                       "tag": replied["tag"]} and replied["tag"] != assigned["tag"]

    tech.evaluate("window.__notices[1].dispatchEvent(new Event('click'))")
    expect(tech).to_have_url(f"{live_server}/agent/tickets/{t.number}")
    expect(tech.locator("#thread")).to_contain_text("Still charged twice")

    # The ticket page (a fresh load) replays nothing: the next notification is the next event's.
    other = make_ticket(subject="VPN drops hourly")
    tickets.assign(desk.manager, fresh(other), agent=desk.tech)
    assert wait_for_shown(tech, 1) == [{"title": f"#{other.number} VPN drops hourly",
                                         "body": "Assigned to you by Maya Manager", "tag": shown(tech)[0]["tag"]}]
    context.close()


def test_two_tabs_of_one_agent_show_each_event_once(browser, live_server, desk, make_ticket):
    t = make_ticket(subject="Printer offline")
    db.session.get(Agent, desk.tech.id).notify_assigned = True
    db.session.commit()
    context, first = signed_in_context(browser, live_server, desk, desk.tech)
    first.goto(f"{live_server}/agent/")
    second = context.new_page()
    second.goto(f"{live_server}/agent/queue/mine")
    for page in (first, second):
        expect(page.locator("#queue_counts")).to_have_attribute("data-notices", "[]")
    # The second tab's copy of the shown list lags (as another renderer's copy of localStorage
    # may): only the claim each tab makes on the event keeps it from showing the event again.
    second.evaluate("() => { Storage.prototype.getItem = () => null; }")

    tickets.assign(desk.manager, fresh(t), agent=desk.tech)
    # Both tabs' counts poll brings the event (each tab's count of "My tickets" moves to 1)...
    for page in (first, second):
        page.wait_for_function(
            "() => { const nav = document.getElementById('queue_counts');"
            " return nav.noticesRead && nav.getAttribute('data-notices').includes('Printer offline'); }",
            timeout=LIVE)
    # ... and only one of them showed it.
    both = shown(first) + shown(second)
    assert [n["title"] for n in both] == [f"#{t.number} Printer offline"]
    context.close()


def test_the_account_page_says_what_this_browser_allows(browser, live_server, desk, shots, output_path):
    context, tech = signed_in_context(browser, live_server, desk, desk.tech, allow=False)
    tech.goto(f"{live_server}/account")
    state = tech.evaluate("Notification.permission")
    status = tech.locator("#notify-permission")
    button = tech.get_by_role("button", name="Allow notifications in this browser")
    if state == "default":
        expect(status.locator(".badge")).to_have_text("Not allowed yet")
        expect(status).to_contain_text("Allow when the browser asks")
        expect(button).to_be_visible()
        expect(button).to_be_enabled()
    else:
        expect(status.locator(".badge")).to_have_text("Blocked")
        expect(status).to_contain_text("set Notifications to Allow, and reload this page")
        expect(button).to_be_hidden()
    expect(tech.get_by_role("button", name="Show a test notification")).to_be_hidden()
    section_shot(output_path, tech, f"account-notifications-{state}")
    shots(tech, f"account-page-{state}-1440")
    context.close()


def test_a_blocked_browser_is_told_how_to_allow_them(browser, live_server, desk, shots, output_path):
    context, tech = signed_in_context(browser, live_server, desk, desk.tech, allow=False)
    cdp = context.new_cdp_session(tech)
    browser_context = cdp.send("Target.getTargetInfo")["targetInfo"]["browserContextId"]
    cdp.send("Browser.setPermission", {"permission": {"name": "notifications"}, "setting": "denied",
                                       "origin": live_server, "browserContextId": browser_context})
    tech.goto(f"{live_server}/account")
    assert tech.evaluate("Notification.permission") == "denied"
    status = tech.locator("#notify-permission")
    expect(status.locator(".badge")).to_have_text("Blocked")
    expect(status).to_contain_text("open the site settings")
    expect(status).to_contain_text("set Notifications to Allow, and reload this page")
    expect(tech.get_by_role("button", name="Allow notifications in this browser")).to_be_hidden()
    section_shot(output_path, tech, "account-notifications-denied")
    context.close()
