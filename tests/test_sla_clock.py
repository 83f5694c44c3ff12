"""The SLA clock on tickets, driven through the lifecycle with a controlled clock: due times
under business hours, pauses while awaiting the customer, plan changes, first response and
resolution met or breached, and what the agent sees."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from helpdesk import tickets
from helpdesk.extensions import db
from helpdesk.models import SLAPause, SLAPlan
from helpdesk.tickets import queues
from support.clock import berlin


def make_plan(name, hours, first=None, **kw) -> SLAPlan:
    values = dict(schedule="business", timezone="Europe/Berlin")
    values.update(kw)
    plan = SLAPlan(name=name, grace_hours=hours, first_response_hours=first, **values)
    db.session.add(plan)
    db.session.commit()
    return plan


@pytest.fixture
def office(desk):
    """An office-hours plan (Mon-Fri 09:00-17:00 Berlin, 16 business hours) on 'General inquiry'."""
    plan = make_plan("Office", 16)
    desk.topics["General inquiry"].sla = plan
    db.session.commit()
    return plan


def test_due_time_counts_business_hours_from_creation(clock, office, make_ticket):
    clock.set(berlin(2026, 3, 20, 16, 0))  # Friday 16:00
    t = make_ticket()
    # 1 h on Friday, 8 h on Monday, 7 h on Tuesday (the clocks change on the Sunday between).
    assert t.due_at == berlin(2026, 3, 24, 16, 0)
    assert t.first_response_due_at is None


def test_the_demo_standard_plan_is_48_business_hours(clock, desk, make_ticket):
    standard = desk.slas["Standard"]
    assert (standard.schedule, standard.opens_at, standard.closes_at, standard.business_days) == (
        "business", "09:00", "17:00", "0,1,2,3,4")
    clock.set(datetime(2026, 3, 20, 16, 0))  # Friday 16:00 in the desk's time zone (UTC in tests)
    t = make_ticket("Billing question")
    # 1 h Friday + 40 h the next week + 7 h on the Monday after.
    assert t.due_at == datetime(2026, 3, 30, 16, 0)
    assert desk.slas["Priority"].first_response_hours == 1


def test_several_pauses_while_awaiting_the_customer(clock, office, desk, make_ticket):
    clock.set(berlin(2026, 3, 23, 9, 0))  # Monday 09:00
    t = make_ticket()
    assert t.due_at == berlin(2026, 3, 24, 17, 0)

    clock.set(berlin(2026, 3, 23, 11, 0))
    tickets.request_info(desk.tech, t, "Which version do you run?")
    assert (t.status, t.due_at) == ("pending", None)  # 2 business hours used, 14 left

    clock.set(berlin(2026, 3, 23, 15, 0))
    tickets.customer_reply(t, "Version 4.2.")
    assert t.status == "open"
    assert t.due_at == berlin(2026, 3, 25, 13, 0)  # 14 h from Monday 15:00

    clock.set(berlin(2026, 3, 24, 10, 0))
    tickets.request_info(desk.tech, t, "And the exact error message?")
    assert t.due_at is None  # 3 more hours used: 11 left

    clock.set(berlin(2026, 3, 26, 9, 30))  # Thursday: the agent resumes without an answer
    tickets.resume(desk.tech, t)
    assert t.due_at == berlin(2026, 3, 27, 12, 30)  # 7.5 h Thursday, 3.5 h Friday

    pauses = db.session.execute(
        select(SLAPause.started_at, SLAPause.ended_at).where(SLAPause.ticket_id == t.id).order_by(SLAPause.id)
    ).all()
    assert [tuple(p) for p in pauses] == [
        (berlin(2026, 3, 23, 11, 0), berlin(2026, 3, 23, 15, 0)),
        (berlin(2026, 3, 24, 10, 0), berlin(2026, 3, 26, 9, 30)),
    ]

    clock.set(berlin(2026, 3, 27, 12, 0))
    tickets.resolve(desk.tech, t, "Fixed in 4.2.1.")
    assert (t.resolution_breached, t.is_overdue) == (False, False)
    assert t.due_at == berlin(2026, 3, 27, 12, 30)  # kept for reports


def test_a_paused_ticket_is_not_overdue_while_it_waits(clock, office, desk, make_ticket):
    clock.set(berlin(2026, 3, 23, 9, 0))
    t = make_ticket()
    clock.set(berlin(2026, 3, 23, 10, 0))
    tickets.request_info(desk.tech, t, "Which version?")
    a_week_later = berlin(2026, 3, 30, 10, 0)
    assert queues.counts(desk.manager, a_week_later)["overdue"] == 0
    assert tickets.check_overdue(a_week_later) == []
    clock.set(a_week_later)
    tickets.customer_reply(t, "4.2")
    assert t.due_at == berlin(2026, 3, 31, 17, 0)  # 15 h left from Monday 10:00: 7 h + 8 h


def test_resolving_late_records_the_breach_and_it_stays_after_reopening(clock, office, desk, make_ticket):
    clock.set(berlin(2026, 3, 23, 9, 0))
    t = make_ticket()
    clock.set(berlin(2026, 3, 25, 9, 0))  # past Tuesday 17:00
    tickets.resolve(desk.tech, t, "Done.")
    assert t.resolution_breached is True
    clock.set(berlin(2026, 3, 25, 10, 0))
    tickets.reopen(desk.tech, t)
    assert t.due_at == berlin(2026, 3, 27, 10, 0)  # 16 h from the reopening: 7 h + 8 h + 1 h
    tickets.resolve(desk.tech, t, "Done, really.")
    assert t.resolution_breached is True


def test_closing_an_active_ticket_stops_the_clock_too(clock, office, desk, make_ticket):
    clock.set(berlin(2026, 3, 23, 9, 0))
    t = make_ticket()
    clock.set(berlin(2026, 3, 23, 10, 0))
    tickets.request_info(desk.tech, t, "Still a problem?")
    clock.set(berlin(2026, 4, 6, 10, 0))
    tickets.close(desk.tech, t, "No answer.")
    # Closed while waiting on the customer: the target was not breached.
    assert t.resolution_breached is False
    assert db.session.scalar(select(SLAPause.ended_at).where(SLAPause.ticket_id == t.id)) == clock.now


def test_priority_changes_do_not_move_the_due_time(clock, office, desk, make_ticket):
    clock.set(berlin(2026, 3, 23, 9, 0))
    t = make_ticket()
    due = t.due_at
    clock.advance(hours=1)
    tickets.set_priority(desk.manager, t, desk.priorities["emergency"])
    assert t.due_at == due


def test_changing_the_plan_recomputes_from_the_start_minus_pauses(clock, desk, make_ticket):
    four_hours = make_plan("Four hours", 4, schedule="24x7")
    office = make_plan("Office day", 8)
    desk.topics["General inquiry"].sla = four_hours
    db.session.commit()
    clock.set(datetime(2026, 3, 23, 8, 0))  # Monday 09:00 in Berlin
    t = make_ticket()
    assert t.due_at == datetime(2026, 3, 23, 12, 0)
    clock.set(datetime(2026, 3, 23, 9, 0))
    tickets.request_info(desk.tech, t, "Which version?")
    clock.set(datetime(2026, 3, 23, 11, 0))
    tickets.customer_reply(t, "4.2")
    assert t.due_at == datetime(2026, 3, 23, 14, 0)  # two hours of waiting added

    clock.set(datetime(2026, 3, 23, 12, 0))
    tickets.set_sla(desk.manager, t, office)
    # Under office hours: 1 h used before the pause, 1 h after it (12:00-13:00 Berlin); 6 h
    # left from 13:00 Berlin: 4 h on Monday, 2 h on Tuesday.
    assert t.due_at == berlin(2026, 3, 24, 11, 0)


def test_changing_the_plan_while_paused_applies_on_resume(clock, office, desk, make_ticket):
    clock.set(berlin(2026, 3, 23, 9, 0))
    t = make_ticket()
    clock.set(berlin(2026, 3, 23, 10, 0))
    tickets.request_info(desk.tech, t, "Which version?")
    clock.set(berlin(2026, 3, 23, 12, 0))
    tickets.set_sla(desk.manager, t, desk.slas["Emergency"])  # 2 h, 24x7
    assert t.due_at is None
    clock.set(berlin(2026, 3, 23, 14, 0))
    tickets.customer_reply(t, "4.2")
    assert t.due_at == berlin(2026, 3, 23, 15, 0)  # 1 h used before the pause, 1 h left


# --- first response ---------------------------------------------------------------------------


@pytest.mark.parametrize("answer", ["reply", "request_info", "resolve"])
def test_first_response_in_time(clock, desk, make_ticket, answer):
    clock.set(datetime(2026, 3, 23, 8, 0))
    t = make_ticket("Password reset")  # the Priority plan: first response within 1 h
    assert t.first_response_due_at == datetime(2026, 3, 23, 9, 0)
    clock.set(datetime(2026, 3, 23, 8, 40))
    getattr(tickets, answer)(desk.sysadmin, t, "Done: the account is unlocked.")
    assert (t.first_responded_at, t.first_response_breached) == (datetime(2026, 3, 23, 8, 40), False)


def test_first_response_late_and_only_the_first_counts(clock, desk, make_ticket):
    clock.set(datetime(2026, 3, 23, 8, 0))
    t = make_ticket("Password reset")
    clock.set(datetime(2026, 3, 23, 8, 30))
    tickets.add_note(desk.sysadmin, t, "Looking into it.")  # internal: not a response
    assert t.first_responded_at is None
    clock.set(datetime(2026, 3, 23, 10, 0))
    tickets.reply(desk.sysadmin, t, "Sorry for the wait.")
    clock.set(datetime(2026, 3, 23, 10, 5))
    tickets.reply(desk.sysadmin, t, "And it is fixed.")
    assert (t.first_responded_at, t.first_response_breached) == (datetime(2026, 3, 23, 10, 0), True)


def test_without_a_first_response_target_the_answer_time_is_still_recorded(clock, office, desk, make_ticket):
    t = make_ticket()
    tickets.reply(desk.tech, t, "On it.")
    assert t.first_responded_at == clock.now
    assert t.first_response_breached is None and t.first_response_due_at is None


# --- the Overdue queue ------------------------------------------------------------------------


def test_overdue_queue_counts_a_ticket_past_due_before_any_check(clock, desk, make_ticket, login):
    clock.set(datetime(2026, 3, 23, 8, 0))
    outage = make_ticket("Business Critical Outage")  # Emergency: 2 h
    later = datetime(2026, 3, 23, 10, 1)
    assert not outage.is_overdue
    assert queues.counts(desk.manager, later)["overdue"] == 1
    assert queues.counts(desk.manager, datetime(2026, 3, 23, 9, 59))["overdue"] == 0


def test_overdue_queue_counts_a_missed_first_response(clock, desk, make_ticket, login):
    clock.set(datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(hours=2))
    t = make_ticket("Password reset")  # first response was due an hour ago; resolution in 6 h
    assert t.due_at > clock.now + timedelta(hours=7)
    clock.advance(hours=2)  # back to the present, where the first response is an hour late
    assert queues.counts(desk.manager)["overdue"] == 1
    client = login(desk.sysadmin)
    page = client.get("/agent/queue/overdue").get_data(as_text=True)
    assert t.number in page and "first response late" in page
    assert "1–1 of 1 ticket" in page
    page = client.get(f"/agent/tickets/{t.number}").get_data(as_text=True)
    assert "No first response in time" in page
    tickets.reply(desk.sysadmin, t, "Here we are.")
    assert queues.counts(desk.manager)["overdue"] == 0


# --- what the agent sees ----------------------------------------------------------------------


def test_ticket_page_shows_first_response_and_the_paused_clock(clock, desk, make_ticket, login):
    clock.set(datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(minutes=50))
    t = make_ticket("Password reset")
    client = login(desk.sysadmin)
    page = client.get(f"/agent/tickets/{t.number}").get_data(as_text=True)
    assert "First response" in page and "No first response in time" not in page
    clock.advance(minutes=20)
    tickets.request_info(desk.sysadmin, t, "Which account?")
    page = client.get(f"/agent/tickets/{t.number}").get_data(as_text=True)
    assert "In time (due" in page
    assert "Paused while awaiting the customer" in page
    assert "SLA clock paused" in page


def test_plan_due_from_uses_the_schedule(office):
    assert office.due_from(berlin(2026, 3, 20, 16, 0)) == berlin(2026, 3, 24, 16, 0)
    assert SLAPlan(name="x", grace_hours=2, schedule="24x7").due_from(datetime(2026, 3, 21)) == datetime(2026, 3, 21, 2)
