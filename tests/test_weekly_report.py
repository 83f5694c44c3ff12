"""The weekly summary mail, as the managers who asked for it receive it (a real SMTP server): once a
week from Monday 07:00 in the desk's time zone, however often the job runs, never to whoever did not
ask or is no manager; the dashboard's own figures of that week, links that work from a mail; and the
account page's checkbox that asks for it."""
from __future__ import annotations

import html
import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import create_engine, update

from helpdesk import jobs, tickets
from helpdesk.extensions import db
from helpdesk.models import Agent, AuditEntry, Setting
from helpdesk.reports import weekly
from support.rows import count

WEEK = "period=custom&from=2026-03-16&to=2026-03-22"
SUBJECT = "Helpdesk weekly summary: 16 Mar 2026 – 22 Mar 2026"
HOSTILE = '<b>Down</b> =HYPERLINK("http://evil.example/","x")'
CARD_LABELS = {"created": "Created", "resolved": "Resolved", "open": "Open now", "overdue": "Overdue now",
               "fr_rate": "First response in time", "res_rate": "Resolved in time",
               "first_response": "Median first response", "resolution": "Median resolution"}


def berlin_desk() -> None:
    db.session.add(Setting(key="timezone", value="Europe/Berlin"))
    db.session.commit()


def ask(client, wanted: bool = True):
    return client.post("/account/weekly-report", data={"weekly-weekly": "y"} if wanted else {})


def stored(agent) -> Agent:
    db.session.expire_all()
    return db.session.get(Agent, agent.id)


@pytest.fixture
def week_of_work(desk, make_ticket, clock, inbox):
    """Support's week of 16-22 March (Berlin): on Thursday, 11 outages left open past their 2-hour
    target (one with a hostile subject) and one answered and resolved in 90 minutes; on the Monday
    before, a ticket of the week before; their own mails delivered and cleared. The clock then stands
    on Wednesday, 18 March."""
    berlin_desk()
    clock.set(datetime(2026, 3, 9, 10, 0))
    make_ticket(subject="The week before")
    clock.set(datetime(2026, 3, 19, 10, 0))
    late = [make_ticket("Business Critical Outage", subject=HOSTILE if n == 0 else f"Outage {n}") for n in range(11)]
    fixed = make_ticket("Business Critical Outage", subject="Fixed fast")
    clock.set(datetime(2026, 3, 19, 11, 30))
    tickets.claim(desk.tech, fixed)
    tickets.resolve(desk.tech, fixed, "Restarted it.")
    inbox.deliver()  # the tickets' own mails
    inbox.clear()
    clock.set(datetime(2026, 3, 18, 9, 0))
    return {"late": late, "fixed": fixed}


@pytest.fixture
def subscribed(login, desk, week_of_work, clock):
    """The manager asked for the summary on Wednesday 18 March (the week before's was due then)."""
    response = ask(login(desk.manager))
    assert response.status_code == 302
    assert stored(desk.manager).weekly_report_sent_for == date(2026, 3, 9)
    return desk.manager


def cards_of_dashboard(client) -> dict[str, str]:
    page = client.get(f"/agent/reports?{WEEK}").get_data(as_text=True)
    return {key: html.unescape(value.strip()) for key, value in
            re.findall(r'data-card="(\w+)">.*?<strong>(?:<a [^>]*>)?([^<]*)', page, re.S)}


def cards_of_mail(body: str) -> dict[str, tuple[str, str | None]]:
    """The HTML part's cards: key -> (value, link)."""
    return {key: (html.unescape(value.strip()), link and html.unescape(link)) for key, link, value in
            re.findall(r'<tr data-card="(\w+)">.*?font-weight:bold">(?:<a href="([^"]+)"[^>]*>)?([^<]*)', body, re.S)}


# --- when, and to whom --------------------------------------------------------------------------


def test_one_mail_a_week_from_monday_seven_however_often_the_job_runs(subscribed, inbox, clock):
    clock.set(datetime(2026, 3, 23, 5, 50))  # Monday, 06:50 in Berlin: not yet
    assert weekly.send_due() == []
    clock.set(datetime(2026, 3, 23, 6, 5))  # 07:05
    assert weekly.send_due() == ["manager@example.com"]
    for hours in (0, 1, 30, 100):  # the job runs again and again during the week
        clock.set(datetime(2026, 3, 23, 6, 5) + timedelta(hours=hours))
        assert weekly.send_due() == []
    inbox.deliver()
    assert inbox.subjects("manager@example.com") == [SUBJECT]
    assert stored(subscribed).weekly_report_sent_for == date(2026, 3, 16)
    # The next Monday (summer time now: 07:00 in Berlin is 05:00 UTC), the next week.
    clock.set(datetime(2026, 3, 30, 4, 55))
    assert weekly.send_due() == []
    clock.set(datetime(2026, 3, 30, 5, 1))
    assert weekly.send_due() == ["manager@example.com"]
    assert weekly.send_due() == []
    inbox.deliver()
    assert inbox.subjects("manager@example.com") == [SUBJECT, "Helpdesk weekly summary: 23 Mar 2026 – 29 Mar 2026"]


def test_a_week_the_job_missed_is_sent_when_it_runs_again(subscribed, inbox, clock):
    clock.set(datetime(2026, 3, 26, 12, 0))  # Thursday: the desk was down on Monday
    assert weekly.send_due() == ["manager@example.com"]
    assert weekly.send_due() == []
    assert inbox.deliver().subjects("manager@example.com") == [SUBJECT]


def test_nobody_else_is_mailed(app, subscribed, desk, inbox, clock):
    """The admin did not ask; the technician is no manager (even with the column set by hand);
    a deactivated manager who asked gets none either."""
    db.session.execute(update(Agent).where(Agent.id == desk.tech.id).values(weekly_report=True))
    db.session.commit()
    clock.set(datetime(2026, 3, 23, 9, 0))
    assert weekly.send_due() == ["manager@example.com"]
    inbox.deliver()
    assert {a for m in inbox.messages for a in m.envelope_to} == {"manager@example.com"}
    assert stored(desk.tech).weekly_report_sent_for is None

    clock.set(datetime(2026, 3, 30, 9, 0))
    db.session.execute(update(Agent).where(Agent.id == desk.manager.id).values(active=False))
    db.session.commit()
    assert weekly.send_due() == []


def test_a_round_that_finds_the_week_taken_queues_nothing(app, subscribed, desk, inbox, clock, monkeypatch):
    """Two rounds at once: the other one takes the week between this one's reading the figures and
    its claim; this one's conditional update changes no row, and no second mail is queued."""
    clock.set(datetime(2026, 3, 23, 9, 0))
    real_summary = weekly.summary

    def summary_then_the_other_round_claims(agent, period, now):
        context = real_summary(agent, period, now)
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        other = create_engine(url, connect_args={"timeout": 5} if url.startswith("sqlite") else {})
        try:
            with other.begin() as conn:
                conn.execute(update(Agent).where(Agent.id == agent.id).values(weekly_report_sent_for=period.first))
        finally:
            other.dispose()
        return context

    monkeypatch.setattr(weekly, "summary", summary_then_the_other_round_claims)
    assert weekly.send_due() == []
    inbox.deliver()
    assert inbox.to("manager@example.com") == []


def test_the_job_and_the_command_send_it(app, subscribed, inbox, clock):
    clock.set(datetime(2026, 3, 23, 9, 0))
    said = []
    jobs.JOBS["weekly"].round(said.append)
    assert said == ["weekly summary queued for manager@example.com"]
    runner = app.test_cli_runner()
    result = runner.invoke(args=["reports", "weekly"])
    assert result.exit_code == 0 and result.output == "0 weekly summaries queued.\n"
    assert inbox.deliver().subjects("manager@example.com") == [SUBJECT]


# --- what it says -------------------------------------------------------------------------------


def test_the_mail_shows_the_dashboards_figures_of_the_week(client, login, subscribed, desk, week_of_work, inbox, clock):
    clock.set(datetime(2026, 3, 23, 9, 0))
    weekly.send_due()
    (mail,) = inbox.deliver().to("manager@example.com")
    body, text = inbox.html(mail), inbox.text(mail)
    mailed = cards_of_mail(body)
    assert list(mailed) == list(CARD_LABELS)
    dashboard = cards_of_dashboard(login(desk.manager))
    assert {key: value for key, (value, _) in mailed.items()} == {key: dashboard[key] for key in CARD_LABELS}
    assert mailed["created"][0] == "12" and mailed["resolved"][0] == "1" and mailed["open"][0] == "12"
    # 1 resolved in time; 11 outages and the week before's ticket past a target that fell due in the week
    assert mailed["res_rate"][0] == "7.7%"
    for key, label in CARD_LABELS.items():
        assert f"- {label}: {mailed[key][0]}" in text
    # Links that work from a mail: absolute, to the week's dashboard and each figure's tickets.
    assert f'href="http://desk.test/agent/reports?{WEEK.replace("&", "&amp;")}"' in body
    assert f"The full report: http://desk.test/agent/reports?{WEEK}" in text
    created_link = mailed["created"][1]
    assert created_link.startswith("http://desk.test/agent/queue/all?") and "drill=created" in created_link
    assert created_link in text
    listed = client.get(created_link.removeprefix("http://desk.test")).get_data(as_text=True)
    assert "1–12 of 12 tickets" in listed
    assert "counting the tickets of your departments (IT Operations, Support)." in text


def test_the_newest_ten_breaches_with_their_links(subscribed, desk, week_of_work, inbox, clock):
    clock.set(datetime(2026, 3, 23, 9, 0))
    weekly.send_due()
    (mail,) = inbox.deliver().to("manager@example.com")
    body, text = inbox.html(mail), inbox.text(mail)
    listed = re.findall(r'<a href="http://desk.test/agent/tickets/(\w+)"[^>]*>#\1</a>', body)
    late = [t.number for t in week_of_work["late"]]
    assert len(listed) == 10 and set(listed) <= set(late)
    assert "The newest 10 are listed" in body
    for number in listed:
        assert f"http://desk.test/agent/tickets/{number}" in text
    # A subject is the customer's text: shown as text, never markup, in the HTML part.
    if week_of_work["late"][0].number in listed:
        assert "&lt;b&gt;Down&lt;/b&gt;" in body
    assert "<b>Down</b>" not in body


def test_a_quiet_week_still_says_so(app, login, desk, inbox, clock):
    berlin_desk()
    clock.set(datetime(2026, 3, 18, 9, 0))
    assert ask(login(desk.admin)).status_code == 302
    clock.set(datetime(2026, 3, 23, 9, 0))
    assert weekly.send_due() == ["admin@example.com"]
    (mail,) = inbox.deliver().to("admin@example.com")
    assert "counting every ticket of the desk" in inbox.text(mail)
    assert "No target was missed." in inbox.text(mail) and cards_of_mail(inbox.html(mail))["created"][0] == "0"


# --- asking for it ------------------------------------------------------------------------------


def test_the_checkbox_is_for_managers_and_admins(login, desk):
    client = login(desk.tech)
    assert "Mail me a weekly summary" not in client.get("/account").get_data(as_text=True)
    refused = ask(client)
    assert refused.status_code == 403 and not stored(desk.tech).weekly_report
    for agent in (desk.manager, desk.admin):
        page = login(agent).get("/account").get_data(as_text=True)
        assert "Mail me a weekly summary of my departments&#39; reports" in page
        assert re.search(r'<input aria-describedby="weekly-report-help" id="weekly-weekly" name="weekly-weekly" '
                         r'type="checkbox" value="y">', page)  # not ticked


def test_the_checkbox_saves_and_shows_what_was_saved(login, desk, clock):
    client = login(desk.manager)
    audited = count(AuditEntry)
    response = ask(client)
    assert response.status_code == 302 and response.headers["Location"].endswith("/account#weekly-report")
    assert stored(desk.manager).weekly_report is True
    page = client.get("/account").get_data(as_text=True)
    assert "You will get the weekly summary by mail on Monday mornings." in page
    assert '<input aria-describedby="weekly-report-help" checked id="weekly-weekly"' in page
    response = ask(client, wanted=False)
    assert response.status_code == 302 and stored(desk.manager).weekly_report is False
    page = client.get("/account").get_data(as_text=True)
    assert "The weekly summary mail is off." in page and 'checked id="weekly-weekly"' not in page
    # One's own preferences are not the desk's configuration: the admin audit log has none of them.
    assert count(AuditEntry) == audited
