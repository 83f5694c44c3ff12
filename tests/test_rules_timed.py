"""Time rules: each wait fires after its time and not before (in business hours too), once per
wait and again for a new one, only when its conditions hold, through the lifecycle as the rule;
the desk's auto-close as one of them; and two schedulers at once acting on each ticket once."""
from __future__ import annotations

import json
import os
import threading
from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from helpdesk import jobs, tickets
from helpdesk.automations import timed
from helpdesk.extensions import db
from helpdesk.models import CannedResponse, Event, Rule, RuleRun, Ticket
from support.db import at_once

T0 = datetime(2026, 3, 23, 8, 0)  # the clock fixture's Monday morning


def time_rule(name, wait, minutes, actions, conditions=None, *, business_hours=False, match="all", position=0):
    rule = Rule(name=name, kind="time", wait=wait, wait_minutes=minutes, business_hours=business_hours,
                match=match, position=position, actions=json.dumps(actions),
                conditions=json.dumps(conditions or [{"field": "channel", "op": "in_list",
                                                      "value": ["web", "email", "api", "phone", "chat", "agent"]}]))
    db.session.add(rule)
    db.session.commit()
    return rule


def note(text="The wait is over."):
    return [{"type": "note", "value": text}]


def fresh(ticket):
    db.session.expire_all()
    return db.session.get(Ticket, ticket.id)


def by_rule(ticket, name=None):
    """The ticket's history lines a rule wrote: (action, new)."""
    return [(e.action, e.new) for e in db.session.scalars(
        select(Event).where(Event.ticket_id == ticket.id, Event.rule_name.is_not(None),
                            *([Event.rule_name == name] if name else [])).order_by(Event.id))]


def run_at(clock, moment):
    clock.set(moment)
    return [str(d) for d in timed.run_due()]


# --- each wait ---------------------------------------------------------------------------------


def test_pending_fires_after_its_time_and_not_before(clock, desk, make_ticket):
    ticket = make_ticket(status="pending")
    time_rule("Nudge", "pending", 60, note())
    assert run_at(clock, T0 + timedelta(minutes=59)) == []
    assert run_at(clock, T0 + timedelta(minutes=60)) == [f"#{ticket.number}: rule “Nudge”"]
    assert by_rule(fresh(ticket), "Nudge") == [("noted", None)]


def test_unassigned_fires_after_its_time_and_not_before(clock, desk, make_ticket):
    ticket = make_ticket()
    assert ticket.assignee_id is None
    time_rule("Nobody took it", "unassigned", 15, note())
    assert run_at(clock, T0 + timedelta(minutes=14)) == []
    assert len(run_at(clock, T0 + timedelta(minutes=15))) == 1
    claimed = make_ticket()
    tickets.claim(desk.tech, claimed)
    assert run_at(clock, T0 + timedelta(hours=5)) == []  # an assigned ticket waits for nobody


def test_unanswered_counts_from_the_first_message_the_agents_did_not_answer(clock, desk, make_ticket):
    ticket = make_ticket(status="open")  # claimed, never answered
    time_rule("No answer", "unanswered", 120, note())
    assert run_at(clock, T0 + timedelta(minutes=119)) == []
    assert len(run_at(clock, T0 + timedelta(minutes=120))) == 1
    clock.set(T0 + timedelta(hours=3))
    tickets.reply(desk.tech, fresh(ticket), "Looking at it.")
    assert run_at(clock, T0 + timedelta(hours=9)) == []  # answered
    clock.set(T0 + timedelta(hours=10))
    tickets.customer_reply(fresh(ticket), "Any news?")
    clock.set(T0 + timedelta(hours=11))
    tickets.customer_reply(fresh(ticket), "Hello?")  # a second message: the same wait
    assert run_at(clock, T0 + timedelta(hours=11, minutes=59)) == []
    assert len(run_at(clock, T0 + timedelta(hours=12))) == 1  # two hours after "Any news?"
    assert by_rule(fresh(ticket), "No answer") == [("noted", None), ("noted", None)]


def test_resolved_fires_after_its_days(clock, desk, make_ticket):
    ticket = make_ticket(status="resolved")
    time_rule("Resolved a while", "resolved", 3 * 1440, note())
    assert run_at(clock, T0 + timedelta(days=3, minutes=-1)) == []
    assert run_at(clock, T0 + timedelta(days=3)) == [f"#{ticket.number}: rule “Resolved a while”"]


def test_due_fires_the_wait_before_the_due_time_and_again_for_a_new_one(clock, desk, make_ticket):
    ticket = make_ticket("Business Critical Outage")  # Emergency plan: due two hours after opening
    assert ticket.due_at == T0 + timedelta(hours=2)
    time_rule("Almost late", "due", 30, note())
    assert run_at(clock, T0 + timedelta(minutes=89)) == []
    assert len(run_at(clock, T0 + timedelta(minutes=90))) == 1
    assert run_at(clock, T0 + timedelta(minutes=100)) == []  # the same due time: once
    tickets.reply(desk.tech, fresh(ticket), "On it.")  # answered: no first-response target to warn of
    tickets.set_sla(desk.manager, fresh(ticket), desk.slas["Priority"])  # 8 hours: a new due time
    assert fresh(ticket).due_at == T0 + timedelta(hours=8)
    assert run_at(clock, T0 + timedelta(hours=7, minutes=29)) == []
    assert len(run_at(clock, T0 + timedelta(hours=7, minutes=30))) == 1
    assert run_at(clock, T0 + timedelta(hours=9)) == []  # past due: overdue, no warning any more


# --- business hours ------------------------------------------------------------------------------


def test_a_business_hours_wait_counts_only_open_hours(clock, desk, make_ticket):
    clock.set(datetime(2026, 3, 27, 18, 0))  # Friday evening; Standard: Mon-Fri 09:00-17:00 (UTC desk)
    ticket = make_ticket(status="pending")  # General inquiry: the Standard plan
    ninety = make_ticket("Business Critical Outage", status="pending")  # Emergency plan: 24x7
    time_rule("Four business hours", "pending", 240, note(), business_hours=True)
    assert run_at(clock, datetime(2026, 3, 27, 22, 0)) == [f"#{ninety.number}: rule “Four business hours”"]
    assert run_at(clock, datetime(2026, 3, 28, 12, 0)) == []  # Saturday
    assert run_at(clock, datetime(2026, 3, 30, 12, 59)) == []  # Monday: three hours and 59 minutes
    assert run_at(clock, datetime(2026, 3, 30, 13, 0)) == [f"#{ticket.number}: rule “Four business hours”"]


def test_a_business_hours_due_warning_counts_open_hours_to_the_due_time(clock, desk, make_ticket):
    ticket = make_ticket()  # Standard: 48 business hours, from Monday 08:00 -> due Friday 17:00 next week
    due = fresh(ticket).due_at
    time_rule("Due within a business hour", "due", 60, note(), business_hours=True)
    before = due - timedelta(hours=1)
    assert run_at(clock, before - timedelta(minutes=1)) == []
    assert len(run_at(clock, before)) == 1


# --- the examples ---------------------------------------------------------------------------


def test_remind_after_three_days_pending_and_resolve_after_seven_with_a_mail(clock, desk, make_ticket, inbox):
    ticket = make_ticket(status="pending", email="ken@example.net")
    reminder = CannedResponse(title="Reminder", body="Hello {customer_name}, we still need your answer.")
    db.session.add(reminder)
    db.session.commit()
    time_rule("Remind after 3 days", "pending", 3 * 1440, [{"type": "canned_reply", "value": reminder.id}])
    time_rule("Resolve after 7 days", "pending", 7 * 1440,
              [{"type": "resolve", "value": "We resolve this for now; reply to open it again."}], position=1)
    inbox.deliver()
    inbox.clear()

    assert run_at(clock, T0 + timedelta(days=3, minutes=-1)) == []
    assert run_at(clock, T0 + timedelta(days=3)) == [f"#{ticket.number}: rule “Remind after 3 days”"]
    inbox.deliver()
    assert len(inbox.to("ken@example.net")) == 1
    assert "we still need your answer" in inbox.text(inbox.to("ken@example.net")[0])
    assert fresh(ticket).status == "pending"  # the desk's reminder is no answer: still waiting
    assert run_at(clock, T0 + timedelta(days=4)) == []  # the same wait: once

    assert run_at(clock, T0 + timedelta(days=7)) == [f"#{ticket.number}: rule “Resolve after 7 days”"]
    ticket = fresh(ticket)
    assert ticket.status == "resolved"
    assert ("status", "Resolved") in by_rule(ticket, "Resolve after 7 days")
    inbox.deliver()
    mails = inbox.to("ken@example.net")
    assert len(mails) == 2 and "reply to open it again" in inbox.text(mails[1])


def test_page_the_team_when_an_emergency_ticket_is_unassigned_for_15_minutes(clock, desk, make_ticket, inbox):
    urgent = make_ticket(subject="Everything is down", priority=desk.priorities["emergency"])
    calm = make_ticket(subject="A question", priority=desk.priorities["normal"])
    time_rule("Page the on-call", "unassigned", 15,
              [{"type": "mail", "to": ["sysadmin@example.com"], "subject": "Unassigned emergency {ticket_number}",
                "value": "Nobody has taken it yet."}],
              [{"field": "priority", "op": "is", "value": desk.priorities["emergency"].id}])
    inbox.deliver()
    inbox.clear()
    assert run_at(clock, T0 + timedelta(minutes=15)) == [f"#{urgent.number}: rule “Page the on-call”"]
    inbox.deliver()
    assert [s for s in inbox.subjects("sysadmin@example.com") if "Unassigned emergency" in s] == [
        f"[#{urgent.number}] Unassigned emergency {urgent.number}"]
    assert by_rule(fresh(calm)) == []  # its condition does not hold: nothing done, nothing recorded
    assert db.session.scalar(select(func.count(RuleRun.id)).where(RuleRun.ticket_id == calm.id)) == 0

    clock.set(T0 + timedelta(minutes=20))  # it becomes an emergency while still unassigned: it fires then
    tickets.set_priority(desk.manager, fresh(calm), desk.priorities["emergency"])
    assert run_at(clock, T0 + timedelta(minutes=21)) == [f"#{calm.number}: rule “Page the on-call”"]
    assert run_at(clock, T0 + timedelta(minutes=30)) == []


# --- once per wait -------------------------------------------------------------------------------------


def test_the_same_wait_fires_once_and_a_new_wait_again(clock, desk, make_ticket):
    ticket = make_ticket(status="pending")
    time_rule("Nudge", "pending", 60, note())
    assert len(run_at(clock, T0 + timedelta(hours=1))) == 1
    assert run_at(clock, T0 + timedelta(hours=2)) == []  # a second round
    clock.set(T0 + timedelta(hours=3))
    tickets.customer_reply(fresh(ticket), "Version 2.")
    assert run_at(clock, T0 + timedelta(hours=5)) == []  # no longer waiting
    clock.set(T0 + timedelta(hours=6))
    tickets.request_info(desk.tech, fresh(ticket), "And the build number?")
    assert run_at(clock, T0 + timedelta(hours=6, minutes=59)) == []
    assert len(run_at(clock, T0 + timedelta(hours=7))) == 1
    assert by_rule(fresh(ticket), "Nudge") == [("noted", None), ("noted", None)]
    runs = db.session.scalars(select(RuleRun.since).where(RuleRun.ticket_id == ticket.id).order_by(RuleRun.id)).all()
    assert runs == [T0, T0 + timedelta(hours=6)]


def test_conditions_that_do_not_hold_do_nothing(clock, desk, make_ticket):
    ticket = make_ticket(status="pending")
    time_rule("Only bank tickets", "pending", 60, note(),
              [{"field": "customer", "op": "ends_with", "value": "@bank.example"}])
    assert run_at(clock, T0 + timedelta(hours=2)) == []
    assert by_rule(fresh(ticket)) == []


def test_a_rules_actions_go_through_the_lifecycle_as_the_rule(clock, desk, make_ticket):
    ticket = make_ticket()
    time_rule("Raise the unassigned", "unassigned", 30,
              [{"type": "set_priority", "value": desk.priorities["high"].id},
               {"type": "set_team", "value": desk.teams["Senior Support"].id}])
    run_at(clock, T0 + timedelta(minutes=30))
    ticket = fresh(ticket)
    assert ticket.priority.key == "high" and ticket.team.name == "Senior Support"
    lines = db.session.scalars(select(Event).where(Event.ticket_id == ticket.id, Event.rule_name.is_not(None))).all()
    assert {(e.action, e.new) for e in lines} == {("priority", "High"), ("team", "Senior Support")}
    assert {e.actor_name for e in lines} == {"Rule “Raise the unassigned”"}


def test_event_rules_run_on_what_a_time_rule_changed(clock, desk, make_ticket):
    from test_rules_engine import make_rule

    high = desk.priorities["high"]
    make_rule("Note the raise", [{"field": "priority", "op": "is", "value": high.id}],
              [{"type": "note", "value": "Raised by the clock."}], triggers=("priority_changed",))
    ticket = make_ticket()
    time_rule("Raise the unassigned", "unassigned", 30, [{"type": "set_priority", "value": high.id}])
    run_at(clock, T0 + timedelta(minutes=30))
    lines = db.session.scalars(select(Event).where(Event.ticket_id == ticket.id, Event.rule_name.is_not(None))
                               .order_by(Event.id)).all()
    assert [(e.action, e.rule_name) for e in lines] == [("priority", "Raise the unassigned"),
                                                        ("noted", "Note the raise")]


def test_a_refused_action_is_in_the_history_and_the_others_run(clock, desk, make_ticket):
    ticket = make_ticket(status="resolved")
    time_rule("Late raise", "resolved", 60,
              [{"type": "set_priority", "value": desk.priorities["high"].id}, {"type": "note", "value": "Seen."}])
    run_at(clock, T0 + timedelta(hours=1))
    assert [a for a, _ in by_rule(fresh(ticket), "Late raise")] == ["rule_refused", "noted"]


def test_a_department_rule_acts_only_on_its_departments_tickets(clock, desk, make_ticket):
    support = make_ticket(status="pending")
    it = make_ticket("Password reset", status="pending")
    rule = time_rule("IT nudge", "pending", 60, note())
    rule.department_id = desk.departments["IT Operations"].id
    db.session.commit()
    assert run_at(clock, T0 + timedelta(hours=1)) == [f"#{it.number}: rule “IT nudge”"]
    assert by_rule(fresh(support)) == []


def test_a_round_reads_a_limited_page_and_the_next_round_goes_on(clock, desk, make_ticket):
    opened = [make_ticket(status="pending") for _ in range(5)]
    time_rule("Bank only", "pending", 60, note(), [{"field": "customer", "op": "ends_with", "value": "@bank.example"}])
    bank = make_ticket(status="pending", email="ops@bank.example")
    clock.set(T0 + timedelta(hours=1))
    found = [timed.run_due(limit=2) for _ in range(4)]  # pages of two: the bank ticket comes up in the third
    assert [len(f) for f in found] == [0, 0, 1, 0]
    assert by_rule(fresh(bank)) == [("noted", None)]
    assert all(by_rule(fresh(t)) == [] for t in opened)


# --- auto-close -------------------------------------------------------------------------------------


def auto_close_rule():
    return db.session.scalar(select(Rule).where(Rule.system == "auto_close"))


@pytest.fixture
def system_rules(desk):
    """The desk's own rules, as the migrations (or `flask seed-demo`) write them; the test desk,
    made with create_all, has none, like an empty rules page."""
    timed.ensure_system_rules()
    db.session.commit()


def test_the_desk_gets_the_auto_close_rule_switched_off_by_default(system_rules):
    rule = auto_close_rule()
    assert rule.name == "Close resolved tickets" and rule.kind == "time" and rule.wait == "resolved"
    assert rule.wait_minutes == 7 * 1440 and not rule.active  # HELPDESK_AUTO_CLOSE_DAYS defaults to 0: off
    assert json.loads(rule.actions) == [{"type": "close"}]
    timed.ensure_system_rules()  # idempotent
    assert db.session.scalar(select(func.count(Rule.id)).where(Rule.system == "auto_close")) == 1


def test_auto_close_closes_resolved_tickets_and_mails_the_customer(clock, system_rules, desk, make_ticket, inbox):
    rule = auto_close_rule()
    rule.active = True
    db.session.commit()
    old = make_ticket(status="resolved", email="ken@example.net")
    open_one = make_ticket(status="open")
    clock.set(T0 + timedelta(days=2))
    recent = make_ticket(status="resolved")
    inbox.deliver()
    inbox.clear()

    assert run_at(clock, T0 + timedelta(days=7, minutes=-1)) == []
    assert run_at(clock, T0 + timedelta(days=7)) == [f"#{old.number}: rule “Close resolved tickets”"]
    old = fresh(old)
    assert old.status == "closed" and old.closed_at == T0 + timedelta(days=7)
    status = db.session.scalar(select(Event).where(Event.ticket_id == old.id, Event.action == "status")
                               .order_by(Event.id.desc()))
    assert (status.new, status.rule_name, status.note) == ("Closed", "Close resolved tickets",
                                                           "Closed by the rule “Close resolved tickets”")
    inbox.deliver()
    assert len(inbox.to("ken@example.net")) == 1
    assert fresh(recent).status == "resolved" and fresh(open_one).status == "open"
    assert run_at(clock, T0 + timedelta(days=8)) == []
    assert len(run_at(clock, T0 + timedelta(days=9))) == 1  # the recent one, seven days on


def test_the_automations_job_and_command_run_the_time_rules(app, clock, desk, make_ticket):
    assert jobs.JOBS["automations"].interval == 60
    first, second = make_ticket(status="pending"), make_ticket(status="pending")
    time_rule("Nudge", "pending", 60, note())
    clock.set(T0 + timedelta(hours=1))
    result = app.test_cli_runner().invoke(args=["automations", "run"])
    assert result.exit_code == 0, result.output
    assert f"#{first.number}: rule “Nudge”" in result.output and "2 tickets acted on by time rules." in result.output

    third = make_ticket(status="pending")
    clock.set(T0 + timedelta(hours=2))
    stop, reported = threading.Event(), []

    def report(line):
        reported.append(line)
        stop.set()

    thread = threading.Thread(target=jobs.run_loop, args=(app, "automations", 0.05, stop, report), daemon=True)
    thread.start()
    thread.join(10)
    stop.set()
    assert not thread.is_alive()
    assert reported == [f"#{third.number}: rule “Nudge”"]
    assert len(by_rule(fresh(second))) == 1


# --- two schedulers at once -------------------------------------------------------------------------


@pytest.mark.parametrize("database", [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.postgres),
])
def test_two_schedulers_at_once_act_on_each_ticket_once(app, clock, desk, make_ticket, inbox, database,
                                                        monkeypatch):
    if db.engine.dialect.name != database:
        pytest.skip(f"this run uses {db.engine.dialect.name}" +
                    ("" if os.environ.get("HELPDESK_TEST_POSTGRES") or database != "postgresql"
                     else "; set HELPDESK_TEST_POSTGRES"))
    waiting = [make_ticket(status="pending", subject=f"Invoice {n}") for n in range(12)]
    reminder = CannedResponse(title="Reminder", body="We still need your answer.")
    db.session.add(reminder)
    db.session.commit()
    rule = time_rule("Remind", "pending", 60, [{"type": "canned_reply", "value": reminder.id},
                                               {"type": "mail", "to": ["manager@example.com"],
                                                "subject": "Reminded {ticket_number}", "value": "Reminded."}])
    inbox.deliver()
    inbox.clear()

    # Both read the same twelve candidates before either acts: then they race for every ticket.
    read, seen = threading.Barrier(2, timeout=30), []
    candidates = timed._candidates

    def read_then_wait(*args):
        found = candidates(*args)
        seen.append(len(found))
        read.wait()
        return found

    monkeypatch.setattr(timed, "_candidates", read_then_wait)
    results, errors = at_once(app, lambda: timed.run_due(T0 + timedelta(hours=1)))
    assert errors == []
    assert seen == [12, 12]
    done = sorted(d.number for result in results for d in result)
    assert done == sorted(t.number for t in waiting)  # between them, each ticket once

    db.session.expire_all()
    for t in waiting:
        assert db.session.scalar(select(func.count(RuleRun.id)).where(RuleRun.ticket_id == t.id)) == 1
        assert by_rule(t, "Remind") == [("replied", None), ("rule_mailed", "manager@example.com")]
    assert db.session.get(Rule, rule.id).matched_count == 12
    inbox.deliver()
    assert Counter(len(inbox.to(t.customer.email)) for t in waiting) == {1: 12}
    subjects = Counter(inbox.subjects("manager@example.com"))
    assert len(subjects) == 12 and set(subjects.values()) == {1}


@pytest.mark.parametrize("stored, active, days", [("5", True, 5), (None, False, 7), ("0", False, 7)])
def test_the_upgrade_turns_the_auto_close_setting_into_the_rule(tmp_path, stored, active, days):
    import flask_migrate
    from sqlalchemy import text

    from helpdesk import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'up.db'}",
                      "HELPDESK_UPLOAD_DIR": str(tmp_path / "uploads")})
    with app.app_context():
        flask_migrate.upgrade(revision="20261213_automations")
        if stored is not None:
            db.session.execute(text("INSERT INTO setting (key, value) VALUES ('auto_close_days', :v)"), {"v": stored})
            db.session.commit()
        flask_migrate.upgrade()
        rule = auto_close_rule()
        expected = timed.auto_close_rule(days if active else 0)
        assert (rule.name, rule.active, rule.wait_minutes) == ("Close resolved tickets", active, days * 1440)
        assert {k: getattr(rule, k) for k in expected} == expected  # what ensure_system_rules writes
        flask_migrate.downgrade(revision="20261213_automations")
        assert db.session.scalar(select(func.count(Rule.id))) == 0
        db.session.remove()
        db.engine.dispose()
