"""Business-time arithmetic (helpdesk/sla.py) with fixed instants. All instants are naive UTC,
as the desk stores them; `berlin(...)` writes a Berlin wall time and converts it."""
from __future__ import annotations

import random
import time as clock
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from helpdesk import sla
from support.clock import berlin

BERLIN = ZoneInfo("Europe/Berlin")
H = 3600


def office(**kw) -> sla.Schedule:
    """Mon-Fri 09:00-17:00 in Berlin."""
    values = dict(always=False, tz=BERLIN, days=frozenset(range(5)), opens=9 * 60, closes=17 * 60)
    values.update(kw)
    return sla.Schedule(**values)


def add(schedule, start, hours):
    return sla.add_business_seconds(schedule, start, hours * H)


# --- 24x7 -------------------------------------------------------------------------------------


def test_24x7_is_plain_clock_arithmetic():
    always = sla.Schedule()
    start = datetime(2026, 3, 28, 23, 30)  # across the DST night and a weekend: no difference
    assert add(always, start, 2) == datetime(2026, 3, 29, 1, 30)
    assert sla.business_seconds_between(always, start, start + timedelta(days=3)) == 3 * 24 * H
    assert sla.business_seconds_between(always, start, start - timedelta(hours=1)) == 0


# --- business hours ---------------------------------------------------------------------------


def test_within_one_day():
    assert add(office(), berlin(2026, 3, 23, 10, 0), 3) == berlin(2026, 3, 23, 13, 0)


def test_due_exactly_at_closing_stays_at_closing():
    assert add(office(), berlin(2026, 3, 23, 9, 0), 8) == berlin(2026, 3, 23, 17, 0)


def test_due_that_would_fall_after_closing_moves_to_the_next_business_day():
    # Monday 16:00 + 3 business hours: 1 h on Monday, 2 h on Tuesday.
    assert add(office(), berlin(2026, 3, 23, 16, 0), 3) == berlin(2026, 3, 24, 11, 0)


def test_across_a_weekend():
    # Friday 15:00 + 4 h: 2 h on Friday, 2 h on Monday.
    assert add(office(), berlin(2026, 3, 20, 15, 0), 4) == berlin(2026, 3, 23, 11, 0)
    assert sla.business_seconds_between(office(), berlin(2026, 3, 20, 15, 0), berlin(2026, 3, 23, 11, 0)) == 4 * H


def test_forty_eight_business_hours_are_six_working_days():
    assert add(office(), berlin(2026, 3, 9, 9, 0), 48) == berlin(2026, 3, 16, 17, 0)


@pytest.mark.parametrize("start, label", [
    ((2026, 3, 23, 7, 0), "before opening"),
    ((2026, 3, 23, 0, 0), "at midnight"),
])
def test_start_before_opening_counts_from_the_opening(start, label):
    assert add(office(), berlin(*start), 1) == berlin(2026, 3, 23, 10, 0), label


def test_start_after_closing_counts_from_the_next_opening():
    assert add(office(), berlin(2026, 3, 23, 18, 0), 1) == berlin(2026, 3, 24, 10, 0)


def test_start_on_a_saturday_counts_from_monday():
    assert add(office(), berlin(2026, 3, 21, 12, 0), 1) == berlin(2026, 3, 23, 10, 0)
    # Friday after closing too.
    assert add(office(), berlin(2026, 3, 20, 17, 30), 1) == berlin(2026, 3, 23, 10, 0)


def test_holidays_are_skipped():
    easter = office(holidays=frozenset({date(2026, 4, 3), date(2026, 4, 6)}))  # Good Friday, Easter Monday
    # Thursday 16:00 + 2 h: 1 h on Thursday, then Tuesday (Friday and Monday are holidays).
    assert add(easter, berlin(2026, 4, 2, 16, 0), 2) == berlin(2026, 4, 7, 10, 0)
    assert add(office(), berlin(2026, 4, 2, 16, 0), 2) == berlin(2026, 4, 3, 10, 0)  # without them
    assert sla.business_seconds_between(easter, berlin(2026, 4, 2, 9, 0), berlin(2026, 4, 8, 9, 0)) == 16 * H


def test_spring_forward_berlin_2026_03_29():
    # Friday 16:00 CET (15:00 UTC) + 2 h -> Monday 10:00 CEST, which is 08:00 UTC, not 09:00.
    due = add(office(), berlin(2026, 3, 27, 16, 0), 2)
    assert due == datetime(2026, 3, 30, 8, 0)
    assert due == berlin(2026, 3, 30, 10, 0)


def test_fall_back_berlin_2026_10_25():
    # Friday 16:00 CEST (14:00 UTC) + 2 h -> Monday 10:00 CET, which is 09:00 UTC.
    assert add(office(), berlin(2026, 10, 23, 16, 0), 2) == datetime(2026, 10, 26, 9, 0)


def test_a_day_with_a_clock_change_counts_the_hours_that_really_pass():
    every_day = office(days=frozenset(range(7)), opens=0, closes=24 * 60)
    spring = sla.business_seconds_between(every_day, berlin(2026, 3, 29, 0, 0), berlin(2026, 3, 30, 0, 0))
    autumn = sla.business_seconds_between(every_day, berlin(2026, 10, 25, 0, 0), berlin(2026, 10, 26, 0, 0))
    assert (spring, autumn) == (23 * H, 25 * H)
    # Open 01:00-04:00 wall time on the night the clocks jump from 02:00 to 03:00: 2 real hours.
    night = office(days=frozenset({6}), opens=60, closes=4 * 60)
    assert sla.business_seconds_between(night, datetime(2026, 3, 28), datetime(2026, 3, 30)) == 2 * H
    assert add(night, datetime(2026, 3, 28), 2) == berlin(2026, 3, 29, 4, 0)


def test_overnight_shift_closes_the_next_morning():
    nights = office(days=frozenset(range(7)), opens=22 * 60, closes=6 * 60 + 24 * 60)
    assert add(nights, berlin(2026, 3, 23, 12, 0), 9) == berlin(2026, 3, 24, 23, 0)
    # A start inside yesterday's shift counts at once.
    assert add(nights, berlin(2026, 3, 24, 5, 0), 1) == berlin(2026, 3, 24, 6, 0)


def test_elapsed_outside_hours_is_zero():
    assert sla.business_seconds_between(office(), berlin(2026, 3, 21, 8, 0), berlin(2026, 3, 22, 20, 0)) == 0


def test_add_and_between_agree_on_random_instants():
    rng = random.Random(20260329)
    schedule = office(holidays=frozenset({date(2026, 4, 3), date(2026, 12, 25)}))
    base = datetime(2026, 1, 1)
    for _ in range(300):
        start = base + timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
        seconds = rng.randrange(0, 200 * H)
        due = sla.add_business_seconds(schedule, start, seconds)
        assert due >= start
        assert sla.business_seconds_between(schedule, start, due) == seconds
        if seconds:
            assert sla.is_open(schedule, due - timedelta(seconds=1))


def test_is_open():
    assert sla.is_open(office(), berlin(2026, 3, 23, 9, 0))
    assert not sla.is_open(office(), berlin(2026, 3, 23, 17, 0))
    assert not sla.is_open(office(), berlin(2026, 3, 21, 12, 0))


def test_a_year_of_business_hours_is_fast():
    started = clock.perf_counter()
    due = add(office(), berlin(2026, 1, 5, 9, 0), 8760)  # the largest target osTicket allows
    elapsed = sla.business_seconds_between(office(), berlin(2026, 1, 5, 9, 0), due)
    took = clock.perf_counter() - started
    assert elapsed == 8760 * H
    assert took < 0.5, f"{took:.3f} s"


# --- reading a plan ---------------------------------------------------------------------------


def plan(**kw):
    values = dict(schedule="business", business_days="0,1,2,3,4", opens_at="09:00", closes_at="17:00",
                  timezone="", holidays=[])
    values.update(kw)
    return SimpleNamespace(**values)


def test_schedule_for_a_plan_uses_the_desk_time_zone_when_blank():
    s = sla.schedule_for(plan(holidays=[SimpleNamespace(day=date(2026, 4, 3))]), "Europe/Berlin")
    assert s == office(holidays=frozenset({date(2026, 4, 3)}))
    assert sla.schedule_for(plan(timezone="America/New_York"), "Europe/Berlin").tz == ZoneInfo("America/New_York")
    assert sla.schedule_for(plan(schedule="24x7"), "Europe/Berlin").always
    assert sla.schedule_for(None).always


def test_schedule_for_midnight_to_midnight_is_the_whole_day():
    s = sla.schedule_for(plan(opens_at="00:00", closes_at="24:00"), "UTC")
    assert add(s, datetime(2026, 3, 23, 0, 0), 24) == datetime(2026, 3, 24, 0, 0)


@pytest.mark.parametrize("value", ["", "9", "9:5", "25:00", "12:60", "aa:bb", "24:01"])
def test_bad_times_of_day_are_refused(value):
    with pytest.raises(ValueError):
        sla.parse_hhmm(value)


def test_bad_weekdays_are_refused():
    assert sla.parse_days("0, 2,4") == frozenset({0, 2, 4})
    with pytest.raises(ValueError):
        sla.parse_days("1,7")


def test_a_schedule_that_never_opens_is_an_error_not_a_hang():
    with pytest.raises(ValueError):
        add(office(days=frozenset()), berlin(2026, 3, 23, 9, 0), 1)


# --- pauses -----------------------------------------------------------------------------------


def test_pauses_push_the_due_time_out_in_business_terms():
    s = office()
    start = berlin(2026, 3, 23, 9, 0)  # Monday
    target = 16 * H  # due Tuesday 17:00 without pauses
    assert sla.due_with_pauses(s, start, target, []) == (berlin(2026, 3, 24, 17, 0), target)
    first = (berlin(2026, 3, 23, 11, 0), berlin(2026, 3, 23, 15, 0))  # 4 business hours
    second = (berlin(2026, 3, 24, 10, 0), berlin(2026, 3, 26, 9, 30))  # 15 business hours
    due, _ = sla.due_with_pauses(s, start, target, [second, first])  # any order
    # Used: 2 h + 3 h = 5 h; 11 h left from Thursday 09:30: 7.5 h Thursday, 3.5 h Friday.
    assert due == berlin(2026, 3, 27, 12, 30)


def test_while_paused_there_is_no_due_time_but_the_time_left_is_known():
    due, left = sla.due_with_pauses(office(), berlin(2026, 3, 23, 9, 0), 16 * H, [(berlin(2026, 3, 23, 11, 0), None)])
    assert (due, left) == (None, 14 * H)


def test_a_pause_after_the_target_ran_out_does_not_move_it():
    start = berlin(2026, 3, 23, 9, 0)
    due, left = sla.due_with_pauses(office(), start, 2 * H, [(berlin(2026, 3, 23, 15, 0), None)])
    assert (due, left) == (berlin(2026, 3, 23, 11, 0), 0)


def test_pauses_before_the_clock_started_are_ignored():
    start = berlin(2026, 3, 24, 9, 0)
    old = (berlin(2026, 3, 23, 10, 0), berlin(2026, 3, 23, 12, 0))
    assert sla.due_with_pauses(office(), start, 2 * H, [old])[0] == berlin(2026, 3, 24, 11, 0)
