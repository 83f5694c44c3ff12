"""The phone (390x844) as a first-class layout: no page of any role scrolls sideways whatever the
data, the queue switcher and the admin menu show where you are and reach every page, filters wait
behind a toggle that counts the active ones, the bulk bar shows once a ticket is picked, and the
queue's cards and the admin tables label their fields."""
import json
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

import factories
from browser import test_live
from browser.test_long_data import LONG_EMAIL, LONG_NAME, URL_SUBJECT, WIDER_THAN_THE_SCREEN
from helpdesk import clock, tickets
from helpdesk.extensions import db
from helpdesk.mail.wording import KINDS
from helpdesk.models import AuditEntry, FailedMail, Rule, Tag
from helpdesk.models.automation import NAME_MAX
from helpdesk.security import access_token
from helpdesk.tickets.queues import LISTED, QUEUES
from support.rows import fresh
from support.signin import sign_in

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
LONG_DEPARTMENT = "Customer-Support-and-Operations-for-the-Northern-European-Region-Tier-Two"
LONG_TEAM = "Infrastructure-Reliability-Engineering-and-Database-Administration-Team"
LONG_TOPIC = "Business-Critical-Outage-of-Payment-Processing-and-Mobile-Banking-Services"
LONG_AGENT = "Tomasz-Wojciechowski-Brzeczyszczykiewicz-Technician-Level-Three"
LONG_SLA = "Emergency-Twenty-Four-by-Seven-Resolution-Within-Two-Hours-Including-Holidays"
LONG_PRIORITY = "Emergency-Immediate-Response-Required"
LONG_TAG = "Payment-Provider-Reconciliation-Mismatch"  # 40 characters, a tag's most
LONG_HOST = "imap.mail-cluster-eu-north-primary.very-long-subdomain.example.com"
LONG_ERROR = ("SMTPRecipientsRefused: {'" + LONG_EMAIL + "': (550, b'5.1.1 The email account that you tried to "
              "reach does not exist.https://support.example.com/mail/?p=NoSuchUser-a1b2c3d4e5f6g7h8')}")


@pytest.fixture
def long_desk(desk, make_ticket):
    """The demo desk with names no layout expects, and a ticket in every queue."""
    desk.departments["Support"].name = LONG_DEPARTMENT
    desk.teams["SysAdmins/Developers"].name = LONG_TEAM
    desk.topics["General inquiry"].name = LONG_TOPIC
    desk.tech.name = LONG_AGENT
    plan = next(iter(desk.slas.values()))
    plan.name = LONG_SLA
    desk.priorities["emergency"].name = LONG_PRIORITY
    db.session.commit()
    topic = desk.topics["General inquiry"]
    long = make_ticket(topic, subject=URL_SUBJECT, name=LONG_NAME, email=LONG_EMAIL,
                       priority=desk.priorities["emergency"])
    make_ticket(topic, status="open", subject=URL_SUBJECT, name=LONG_NAME, email=LONG_EMAIL, by=desk.tech)
    make_ticket(topic, status="pending", subject=URL_SUBJECT, name=LONG_NAME, email=LONG_EMAIL, by=desk.tech)
    make_ticket(topic, status="escalated", subject=URL_SUBJECT, name=LONG_NAME, email=LONG_EMAIL, by=desk.tech,
                team=desk.teams["SysAdmins/Developers"])
    make_ticket(topic, status="resolved", subject=URL_SUBJECT, name=LONG_NAME, email=LONG_EMAIL, by=desk.tech)
    make_ticket(topic, subject=URL_SUBJECT, name=LONG_NAME, email=LONG_EMAIL,
                at=clock.utcnow() - timedelta(days=10))  # overdue
    mailbox = factories.make_mailbox(LONG_DEPARTMENT, department=desk.departments["Support"], host=LONG_HOST,
                                     username=LONG_EMAIL, topic=topic, last_error=LONG_ERROR)
    factories.make_api_key(name=LONG_TEAM + "-integration-key")
    mail = factories.queue_mails(1, "failed", last_error=LONG_ERROR)[0]
    mail.recipient, mail.subject = LONG_EMAIL, URL_SUBJECT
    db.session.add(FailedMail(source=LONG_HOST, error=LONG_ERROR, raw=b"x", size=1, sender=LONG_EMAIL,
                              subject=URL_SUBJECT))
    db.session.add(AuditEntry(agent_id=desk.admin.id, agent_name=LONG_AGENT, object_type="department",
                              object_id=desk.departments["Support"].id, object_name=LONG_DEPARTMENT,
                              field="email", old=LONG_EMAIL, new=URL_SUBJECT))
    # A name as long as a rule name may be.
    rule = Rule(name=(LONG_TEAM + " escalations for " + LONG_DEPARTMENT)[:NAME_MAX], description=URL_SUBJECT,
                triggers="opened,customer_replied,status_changed", channels="email,web",
                conditions=json.dumps([{"field": "sender", "op": "equals", "value": LONG_EMAIL},
                                       {"field": "subject", "op": "matches", "value": URL_SUBJECT}]),
                actions=json.dumps([{"type": "set_team", "value": desk.teams["SysAdmins/Developers"].id},
                                    {"type": "mail", "to": [LONG_EMAIL], "subject": URL_SUBJECT, "value": LONG_ERROR},
                                    {"type": "stop"}]))
    db.session.add(rule)
    db.session.commit()
    # Tags as long as a tag may be, many of them on one ticket: the chips wrap.
    long_tags = [LONG_TAG[:-2] + f"{i:02}" for i in range(12)]
    tickets.add_tags(desk.admin, long, long_tags)
    tickets.add_tags(desk.admin, fresh(long), ["vip", "billing"])
    tag = db.session.scalar(select(Tag).where(Tag.key == long_tags[0].lower()))
    return {"long": long, "mailbox": mailbox, "sla": plan, "tag": tag, "rule": rule}


def sign_out(page, base):
    page.goto(f"{base}/account")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Email")).to_be_visible()


# Boxes that hide part of what they hold sideways (a table or a menu scrolled inside its frame):
# on a phone nothing is cut off, it wraps or stacks. Form controls scroll their own text.
CUT_OFF = """[...document.querySelectorAll('body *')].filter(el => {
  const style = getComputedStyle(el);
  return !['visible', 'clip'].includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1
    && !el.matches('input, select, textarea, .visually-hidden, .honeypot') && el.getClientRects().length;
}).slice(0, 5).map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className ? '.' + el.className : '')
  + ' ' + el.scrollWidth + '>' + el.clientWidth)"""


def too_wide(page, base, paths):
    """The pages (by name) that scroll sideways or cut a text off, with the elements that do."""
    found = {}
    for name, path in paths:
        response = page.goto(base + path)
        assert response.status < 400, f"{name} ({path}): {response.status}"
        width, screen = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if width > screen:
            found[name] = f"{path}: {width} px wide at {screen}: {page.evaluate(WIDER_THAN_THE_SCREEN)}"
        elif cut := page.evaluate(CUT_OFF):
            found[name] = f"{path}: cuts off {cut}"
    return found


def test_no_page_of_any_role_scrolls_sideways_on_a_phone(browser, live_server, app, desk, long_desk):
    app.config["HELPDESK_DEV_MAILBOX"] = str(app.instance_path)
    long = long_desk["long"]
    agent_pages = [(f"queue {name}", f"/agent/queue/{name}") for name in QUEUES] + [
        ("search", f"/agent/?q={LONG_NAME[:12]}"),
        ("filtered", f"/agent/?department={desk.departments['Support'].id}&assignee=unassigned"),
        ("tagged", f"/agent/?tag={long_desk['tag'].name}"),
        ("reports", "/agent/reports"),
        ("a report figure's tickets", "/agent/queue/all?drill=created&period=30d"),
        ("ticket", f"/agent/tickets/{long.number}"),
        ("customer", f"/agent/customers/{long.customer_id}"),
        ("new ticket", "/agent/new"),
        ("account", "/account"),
        ("macros", "/agent/macros"),
    ]
    admin_pages = [
        ("overview", "/admin/"),
        ("agents", "/admin/agents"), ("agent", f"/admin/agents/{desk.tech.id}"), ("new agent", "/admin/agents/new"),
        ("departments", "/admin/departments"), ("department", f"/admin/departments/{desk.departments['Support'].id}"),
        ("teams", "/admin/teams"), ("team", f"/admin/teams/{desk.teams['SysAdmins/Developers'].id}"),
        ("topics", "/admin/topics"), ("topic", f"/admin/topics/{desk.topics['General inquiry'].id}"),
        ("priorities", "/admin/priorities"),
        ("priority", f"/admin/priorities/{desk.priorities['emergency'].id}/edit"),
        ("SLA plans", "/admin/sla-plans"), ("SLA plan", f"/admin/sla-plans/{long_desk['sla'].id}"),
        ("mailboxes", "/admin/mailboxes"), ("mailbox", f"/admin/mailboxes/{long_desk['mailbox'].id}"),
        ("mail templates", "/admin/mail-templates"), ("mail template", f"/admin/mail-templates/{next(iter(KINDS))}"),
        ("settings", "/admin/settings"), ("audit", "/admin/audit"), ("outbox", "/admin/outbox"),
        ("kept mail", "/admin/failed-mail"), ("API keys", "/admin/api-keys"),
        ("rules", "/admin/rules"), ("rule", f"/admin/rules/{long_desk['rule'].id}"),
        ("new rule", "/admin/rules/new"), ("new time rule", "/admin/rules/new?kind=time"),
        ("tags", "/admin/tags"), ("tag", f"/admin/tags/{long_desk['tag'].id}"),
    ]
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    found = too_wide(page, live_server, [
        ("sign-in", "/login"), ("forgotten password", "/login/forgot"), ("portal", "/"),
        ("portal form", "/new"), ("portal status", "/status"),
        ("portal ticket", f"/t/{access_token(fresh(long))}"),
    ])
    for who, paths in ((desk.tech, agent_pages), (desk.manager, agent_pages + admin_pages),
                       (desk.admin, admin_pages + [("dev mailbox", "/admin/dev-mailbox")])):
        sign_in(page, live_server, desk, who)
        found.update({f"{who.role} {name}": problem for name, problem in too_wide(page, live_server, paths).items()})
        sign_out(page, live_server)
    context.close()
    assert not found, "\n".join(f"{name}: {problem}" for name, problem in sorted(found.items()))


def run_axe(page, scope="document") -> list:
    """axe-core's serious and critical violations in the page, or in the part `scope` selects."""
    return test_live.run_axe(page, None if scope == "document" else scope)


def phone_page(browser, base, desk, who):
    page = browser.new_context(viewport=PHONE, bypass_csp=True).new_page()  # axe is added to the page
    sign_in(page, base, desk, who)
    return page


def on_screen(page, locator):
    box = locator.bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"]


def labels_shown(cells):
    """What each visible cell's label reads, as the screen shows it before the value."""
    return cells.evaluate_all("""cells => cells.filter(c => c.getClientRects().length)
      .map(c => [c.dataset.label, getComputedStyle(c, '::before').content])""")


def test_the_queue_switcher_shows_where_you_are_and_reaches_every_queue(browser, live_server, desk, long_desk,
                                                                         make_ticket, shots):
    page = phone_page(browser, live_server, desk, desk.manager)
    page.goto(f"{live_server}/agent/")
    switcher = page.locator("#queue-switch > summary")
    expect(switcher).to_contain_text("Queue Open 4")
    expect(switcher).to_contain_text("1 overdue")
    expect(page.locator(".nav-queues")).to_be_hidden()
    shots(page, "phone-queue")
    switcher.click()
    for q in (QUEUES[name] for name in LISTED):
        link = page.locator(".nav-queues a", has_text=q.label)
        expect(link).to_be_visible()
        assert on_screen(page, link), q.label
    shots(page, "phone-queue-switcher-open")
    problems = run_axe(page)
    assert not problems, problems
    # A live refresh of the counts keeps the open menu open.
    make_ticket(long_desk["long"].topic, subject="Arrives while the menu is open")
    expect(switcher).to_contain_text("Queue Open 5")
    expect(page.locator(".nav-queues")).to_be_visible()
    page.locator(".nav-queues a", has_text="Escalated").click()
    expect(page).to_have_url(f"{live_server}/agent/queue/escalated")
    expect(page.locator("#queue-switch > summary")).to_contain_text("Queue Escalated 1")


def test_phone_filters_wait_behind_a_toggle_and_the_bulk_bar_for_a_ticket(browser, live_server, desk, long_desk,
                                                                           shots):
    page = phone_page(browser, live_server, desk, desk.manager)
    page.goto(f"{live_server}/agent/")
    toggle = page.locator("#filter-toggle > summary")
    expect(page.get_by_label("Search")).to_be_visible()
    expect(toggle).to_have_text("Filters")
    expect(page.get_by_label("Department")).to_be_hidden()
    expect(page.locator("#bulk")).to_be_hidden()
    # The first screen shows tickets, not forms.
    first = page.locator("#results tbody tr").first
    assert first.bounding_box()["y"] < 500
    toggle.click()
    page.get_by_label("Department").select_option(label=LONG_DEPARTMENT)
    expect(toggle).to_have_text("Filters (1 active)")
    page.get_by_label("Assignee").select_option("unassigned")
    expect(toggle).to_have_text("Filters (2 active)")
    expect(page).to_have_url(re.compile(r"assignee=unassigned"))
    shots(page, "phone-queue-filters-open")
    problems = run_axe(page)
    assert not problems, problems
    page.reload()
    expect(toggle).to_have_text("Filters (2 active)")
    expect(page.get_by_label("Department")).to_be_hidden()

    # Cards: every fact is named on the card; no header row stands apart from them.
    for header in ("Subject", "Customer", "Assignee", "Status"):
        expect(page.get_by_role("columnheader", name=header)).to_be_hidden()
    shown = labels_shown(page.locator("#results tbody td[data-label]"))
    assert shown and all(content == f'"{label}"' for label, content in shown), shown
    assert {label for label, _ in shown} == {"Customer", "Assignee", "Updated"}

    page.locator("#results tbody td.pick input").first.check()
    bar = page.locator("#bulk")
    expect(bar).to_be_visible()
    expect(page.locator("#bulk-selected")).to_have_text("1 ticket selected.")
    box = bar.bounding_box()
    assert box["y"] + box["height"] <= 844 + 1 and box["width"] <= 390
    shots(page, "phone-queue-bulk-bar")
    page.locator("#results tbody td.pick input").first.uncheck()
    expect(bar).to_be_hidden()


def test_the_admin_menu_folds_and_admin_tables_become_labelled_cards(browser, live_server, desk, long_desk, shots):
    page = phone_page(browser, live_server, desk, desk.admin)
    page.goto(f"{live_server}/admin/agents")
    menu = page.locator("#admin-switch > summary")
    expect(menu).to_have_text("Admin Agents")
    links = page.locator(".nav-queues a")
    expect(links.first).to_be_hidden()
    menu.click()
    names = [links.nth(i).inner_text() for i in range(links.count())]
    assert {"Overview", "Agents", "SLA plans", "Audit log", "Webhooks"} <= {n.strip() for n in names}, names
    for i in range(links.count()):
        expect(links.nth(i)).to_be_visible()
        assert on_screen(page, links.nth(i)), links.nth(i).inner_text()
    shots(page, "phone-admin-menu")
    problems = run_axe(page, ".sidebar")
    assert not problems, problems
    for path, labels in (("/admin/agents", {"Email", "Role", "Departments", "Teams", "Two-factor", "Status"}),
                         ("/admin/outbox", {"Status", "Recipient", "Subject", "Failed tries", "Last error",
                                            "Created", "Sent / next try"}),
                         ("/admin/mailboxes", {"Department and topic", "Server", "After fetching", "Last fetch"})):
        page.goto(live_server + path)
        expect(page.locator(".stack-table thead")).to_be_hidden()
        shown = labels_shown(page.locator(".stack-table tbody td[data-label]"))
        assert {label for label, _ in shown} == labels, path
        assert all(content == f'"{label}"' for label, content in shown), shown
        shots(page, f"phone-admin-table-{path.rsplit('/', 1)[1]}")


@pytest.mark.parametrize("width", [1920, 2560])
def test_wide_screens_give_the_queue_the_width_and_the_thread_a_readable_measure(browser, live_server, desk,
                                                                                  long_desk, shots, width):
    page = browser.new_context(viewport={"width": width, "height": 1200}).new_page()
    sign_in(page, live_server, desk, desk.manager)
    page.goto(f"{live_server}/agent/")
    sidebar = page.locator(".sidebar").bounding_box()["width"]
    table = page.locator(".table-wrap").bounding_box()
    assert table["x"] + table["width"] >= width - 30 and table["width"] >= width - sidebar - 60, table
    expect(page.locator("#queue-switch")).to_be_hidden()
    expect(page.locator("#filter-toggle")).to_be_hidden()
    expect(page.get_by_label("Department")).to_be_visible()
    expect(page.locator("#bulk")).to_be_visible()
    expect(page.locator(".nav-queues a", has_text="Closed")).to_be_visible()
    shots(page, f"wide-queue-{width}")
    page.goto(f"{live_server}/agent/tickets/{long_desk['long'].number}")
    thread = page.locator(".ticket-main").bounding_box()
    actions = page.locator(".ticket-actions").bounding_box()
    assert thread["width"] <= 56 * 15 + 1 and actions["x"] < thread["x"] + thread["width"] + 40
    shots(page, f"wide-ticket-{width}")


def test_the_phone_layout_works_without_javascript(browser, live_server, desk, long_desk):
    page = browser.new_context(viewport=PHONE, java_script_enabled=False).new_page()
    sign_in(page, live_server, desk, desk.manager)
    page.goto(f"{live_server}/agent/?assignee=unassigned")
    expect(page.locator("#filter-toggle > summary")).to_have_text("Filters (1 active)")
    page.locator("#queue-switch > summary").click()
    page.locator(".nav-queues a", has_text="Awaiting customer").click()
    expect(page).to_have_url(f"{live_server}/agent/queue/pending")
    expect(page.locator("#queue-switch > summary")).to_contain_text("Queue Awaiting customer 1")
    page.locator("#filter-toggle > summary").click()
    page.get_by_label("Priority").select_option("normal")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"priority=normal"))
    expect(page.locator("#filter-toggle > summary")).to_have_text("Filters (1 active)")
    expect(page.locator("#bulk")).to_be_hidden()
    page.locator("#results tbody td.pick input").first.check()
    expect(page.locator("#bulk")).to_be_visible()
    page.goto(f"{live_server}/admin/teams")
    page.locator("#admin-switch > summary").click()
    page.locator(".nav-queues a", has_text="SLA plans").click()
    expect(page.locator("#admin-switch > summary")).to_have_text("Admin SLA plans")


def test_on_a_phone_the_tickets_actions_are_reachable_from_the_top(browser, live_server, desk, long_desk, shots):
    page = phone_page(browser, live_server, desk, desk.manager)
    page.goto(f"{live_server}/agent/tickets/{long_desk['long'].number}")
    jump = page.get_by_role("navigation", name="On this ticket")
    expect(jump).to_be_visible()
    assert on_screen(page, jump.get_by_role("link", name="Actions"))
    shots(page, "phone-ticket-top")
    jump.get_by_role("link", name="Actions").click()
    expect(page.locator("#actions-heading")).to_be_in_viewport()
    jump_back = page.get_by_role("link", name="Write")
    page.evaluate("window.scrollTo(0, 0)")
    jump_back.click()
    expect(page.locator("#reply_form summary")).to_be_in_viewport()
    shots(page, "phone-ticket-composer")
