"""Overdue detection: a ticket that crosses a due time is flagged once, with one history event,
one alert to its assignee and its department manager (received by a real SMTP server) and
the plan's escalation applied once, even when checks run twice or at the same moment; the flag
clears when the ticket is resolved or its due time moves out."""
from __future__ import annotations

import os
import threading
from collections import Counter
from datetime import datetime, timedelta

import pytest

from helpdesk import jobs, tickets
from helpdesk.extensions import db
from helpdesk.models import SLAPlan
from support.db import at_once
from support.rows import events, fresh

T0 = datetime(2026, 3, 23, 8, 0)  # Monday; the desk's time zone is UTC in tests


@pytest.fixture
def escalating(desk):
    """The Emergency plan (2 h, 24x7) raises the priority and hands to Senior Support."""
    plan = desk.slas["Emergency"]
    plan.escalate_raise_priority = True
    plan.escalate_team = desk.teams["Senior Support"]
    db.session.commit()
    return plan


@pytest.fixture
def outage(clock, escalating, desk, make_ticket, inbox):
    """An outage ticket (High, Emergency plan) that Vic handles; the mails so far are delivered."""
    clock.set(T0)
    t = make_ticket("Business Critical Outage", subject="Mail server down")
    tickets.claim(desk.vendor, t)
    inbox.deliver()
    inbox.clear()
    return t


def test_an_overdue_ticket_is_flagged_alerted_and_escalated_once(outage, desk, inbox, clock):
    version = outage.version
    assert tickets.check_overdue(T0 + timedelta(hours=1, minutes=59)) == []

    later = T0 + timedelta(hours=2, minutes=1)
    done = tickets.check_overdue(later)
    assert [str(d) for d in done] == [
        f"#{outage.number} is overdue (resolution); priority raised to Emergency; handed to the team "
        f"Senior Support; alert mailed to vendor@example.com, manager@example.com"
    ]
    assert tickets.check_overdue(later) == []  # twice in a row
    assert tickets.check_overdue(later + timedelta(hours=5)) == []  # and later on

    t = fresh(outage)
    assert t.is_overdue
    assert t.version == version + 1
    assert (t.priority.key, t.urgency) == ("emergency", 4)
    assert t.team.name == "Senior Support"
    flagged = events(t, "overdue")
    assert len(flagged) == 1 and flagged[0].actor_name == "System" and flagged[0].new == "Resolution"
    assert [(e.old, e.new, e.actor_name) for e in events(t, "priority")] == [("High", "Emergency", "System")]
    assert [(e.new, e.actor_name) for e in events(t, "team")] == [("Senior Support", "System")]

    inbox.deliver()
    assert inbox.subjects("vendor@example.com") == [f"[#{t.number}] Overdue (resolution): Mail server down"]
    assert inbox.subjects("manager@example.com") == [f"[#{t.number}] Overdue (resolution): Mail server down"]
    alert = inbox.text(inbox.to("manager@example.com")[0])
    assert "it is not resolved, and it was due 23 Mar 2026, 10:00" in alert
    assert "- priority raised to Emergency" in alert and "- handed to the team Senior Support" in alert
    assert "it is not resolved" in inbox.html(inbox.to("vendor@example.com")[0])
    team_mail = inbox.to("tech@example.com")
    assert [str(m["Subject"]) for m in team_mail] == [f"[#{t.number}] Assigned to Senior Support: Mail server down"]
    assert "The SLA plan Emergency assigned this ticket to your team" in inbox.text(team_mail[0])

    # Nothing more on a second delivery: every mail went out once.
    inbox.clear()
    tickets.check_overdue(later + timedelta(hours=1))
    assert inbox.deliver().messages == []


def test_the_agent_page_shows_who_flagged_it(outage, desk, login):
    tickets.check_overdue(T0 + timedelta(hours=3))
    client = login(desk.vendor)
    page = client.get(f"/agent/tickets/{outage.number}").get_data(as_text=True)
    assert "marked it overdue" in page


def test_plan_without_alerts_flags_without_mail(outage, escalating, desk, inbox):
    escalating.overdue_alerts = False
    escalating.escalate_raise_priority = False
    escalating.escalate_team = None
    db.session.commit()
    done = tickets.check_overdue(T0 + timedelta(hours=3))
    assert [d.mailed for d in done] == [[]]
    t = fresh(outage)
    assert t.is_overdue and len(events(t, "overdue")) == 1
    assert (t.priority.key, t.team) == ("high", None)
    assert inbox.deliver().messages == []


def test_an_unassigned_ticket_alerts_the_department_manager(clock, desk, make_ticket, inbox):
    clock.set(T0)
    t = make_ticket("Business Critical Outage", subject="Down")
    inbox.deliver()
    inbox.clear()
    [done] = tickets.check_overdue(T0 + timedelta(hours=3))
    assert done.mailed == ["manager@example.com"]
    assert inbox.deliver().subjects("manager@example.com") == [f"[#{t.number}] Overdue (resolution): Down"]


def test_a_missed_first_response_is_flagged_then_clears_and_resolution_flags_again(clock, desk, make_ticket, inbox):
    clock.set(T0)
    t = make_ticket("Password reset", subject="Locked out")  # Priority: answer in 1 h, resolve in 8 h
    tickets.claim(desk.sysadmin, t)
    inbox.deliver()
    inbox.clear()
    [done] = tickets.check_overdue(T0 + timedelta(hours=1, minutes=1))
    assert (done.target, done.mailed) == ("first response", ["sysadmin@example.com", "manager@example.com"])
    clock.set(T0 + timedelta(hours=1, minutes=30))
    tickets.reply(desk.sysadmin, t, "Sorry, on it now.")
    t = fresh(t)
    assert (t.is_overdue, t.first_response_breached) == (False, True)  # answered: not overdue any more
    assert tickets.check_overdue(T0 + timedelta(hours=7)) == []
    [done] = tickets.check_overdue(T0 + timedelta(hours=8, minutes=1))
    assert done.target == "resolution"
    assert [e.new for e in events(t, "overdue")] == ["First response", "Resolution"]
    assert inbox.deliver().subjects("sysadmin@example.com") == [
        f"[#{t.number}] Overdue (first response): Locked out",
        f"[#{t.number}] Overdue (resolution): Locked out",
    ]


def test_the_flag_clears_on_resolve(outage, desk, clock):
    tickets.check_overdue(T0 + timedelta(hours=3))
    clock.set(T0 + timedelta(hours=3, minutes=5))
    t = fresh(outage)
    tickets.resolve(desk.vendor, t, "Restarted the mail server.")
    t = fresh(t)
    assert (t.is_overdue, t.resolution_breached) == (False, True)
    assert len(events(t, "overdue")) == 1  # the history keeps it


def test_the_flag_clears_when_a_plan_change_moves_the_due_time_out(outage, desk, clock):
    longer, short = SLAPlan(name="Eight hours", grace_hours=8), SLAPlan(name="One hour", grace_hours=1)
    db.session.add_all([longer, short])
    db.session.commit()
    tickets.check_overdue(T0 + timedelta(hours=3))
    clock.set(T0 + timedelta(hours=3))
    # A plan that leaves it past due keeps the flag, and no second alert follows.
    tickets.set_sla(desk.manager, fresh(outage), short)
    t = fresh(outage)
    assert (t.due_at, t.is_overdue) == (T0 + timedelta(hours=1), True)
    assert tickets.check_overdue(T0 + timedelta(hours=3)) == []
    # One that moves the due time out clears it.
    tickets.set_sla(desk.manager, t, longer)
    t = fresh(t)
    assert (t.due_at, t.is_overdue) == (T0 + timedelta(hours=8), False)
    assert tickets.check_overdue(T0 + timedelta(hours=7)) == []
    # When the new due time passes, the next check flags it again.
    assert len(tickets.check_overdue(T0 + timedelta(hours=8, minutes=1))) == 1
    assert len(events(t, "overdue")) == 2


def test_sla_check_command_prints_what_it_did(outage, app, clock):
    runner = app.test_cli_runner()
    clock.set(T0 + timedelta(hours=3))
    result = runner.invoke(args=["sla", "check"])
    assert result.exit_code == 0, result.output
    assert f"#{outage.number} is overdue (resolution)" in result.output
    assert "1 ticket newly overdue." in result.output
    result = runner.invoke(args=["sla", "check"])
    assert result.output.strip() == "0 tickets newly overdue."
    assert fresh(outage).is_overdue


def test_the_periodic_check_flags_in_the_background(outage, app, clock):
    clock.set(T0 + timedelta(hours=3))
    stop = threading.Event()
    reported = []

    def report(line):
        reported.append(line)
        stop.set()

    thread = threading.Thread(target=jobs.run_loop, args=(app, "overdue", 0.05, stop, report), daemon=True)
    thread.start()
    thread.join(10)
    stop.set()
    assert not thread.is_alive()
    assert reported and reported[0].startswith(f"#{outage.number} is overdue")
    assert fresh(outage).is_overdue


# --- two checks at the same moment --------------------------------------------------------------


def _two_checks(app, now) -> tuple[list, list[BaseException]]:
    """Run check_overdue in two threads at once; every ticket either of them flagged."""
    results, errors = at_once(app, lambda: tickets.check_overdue(now))
    return [flagged for result in results for flagged in result], errors


@pytest.mark.parametrize("database", [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.postgres),
])
def test_two_checks_at_once_flag_mail_and_escalate_each_ticket_once(
        app, clock, escalating, desk, make_ticket, inbox, database):
    if db.engine.dialect.name != database:
        pytest.skip(f"this run uses {db.engine.dialect.name}" +
                    ("" if os.environ.get("HELPDESK_TEST_POSTGRES") or database != "postgresql"
                     else "; set HELPDESK_TEST_POSTGRES"))
    desk.topics["Billing question"].sla = escalating  # Low priority: one raise makes it Normal
    db.session.commit()
    clock.set(T0)
    opened = [make_ticket("Billing question", subject=f"Invoice {n}") for n in range(12)]
    for t in opened:
        tickets.claim(desk.vendor, t)
    inbox.deliver()
    inbox.clear()

    results, errors = _two_checks(app, T0 + timedelta(hours=3))
    assert errors == []
    assert sorted(r.number for r in results) == sorted(t.number for t in opened)

    db.session.expire_all()
    for t in opened:
        t = fresh(t)
        assert t.is_overdue
        assert len(events(t, "overdue")) == 1
        assert t.priority.key == "normal", "raised twice"
        assert len(events(t, "team")) == 1
    inbox.deliver()
    for address in ("vendor@example.com", "manager@example.com"):
        subjects = Counter(inbox.subjects(address))
        assert len(subjects) == 12 and set(subjects.values()) == {1}, subjects
    assert len(inbox.to("tech@example.com")) == 12  # the team hand-over, once per ticket
