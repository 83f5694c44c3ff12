"""The report cells: kept by the database through every change to a ticket, equal to the tickets
they count whether folded or not, rebuilt when the desk's time zone changes, and every dashboard
read from them is the dashboard read from the tickets, for every viewer and filter.

The desk is the reports' fixed Berlin desk (tests/test_reports.py), read on the Monday after.
"""
from __future__ import annotations

from datetime import date

import pytest
from flask import current_app
from sqlalchemy import func, select

from helpdesk import settings, tickets
from helpdesk.extensions import db
from helpdesk.models import ReportCell, Ticket
from helpdesk.models import report_cell as model
from helpdesk.reports import cells, figures
from helpdesk.reports import period as periods
from helpdesk.reports.scope import Filters
from support.clock import berlin
from test_reports import scenario  # noqa: F401 - the fixed desk

FIELDS = [getattr(ReportCell, f) for f in model.FIELDS]


def contents() -> dict:
    """Each cell with its count (folded or not: the sum of its rows), those with none left out."""
    total = func.sum(ReportCell.n)
    return {tuple(row[:-1]): row[-1] for row in db.session.execute(
        select(*FIELDS, total).group_by(*FIELDS).having(total != 0))}


def rebuilt() -> dict:
    model.rebuild(settings.zone())
    return contents()


def dashboard(viewer, period, filters=Filters(), *, from_cells: bool):
    current_app.config["HELPDESK_REPORT_CELLS"] = from_cells
    try:
        report = figures.Report(viewer, period, filters, berlin(2026, 4, 6, 12, 0), str, str)
        used = report.cells.cut()
        board = report.build()
    finally:
        current_app.config.pop("HELPDESK_REPORT_CELLS")
    seen = {t.key: (t.rows, t.links) for t in board.all_tables()}
    return used, [(c.key, c.value, c.href, c.hint) for c in board.cards], seen


def period(zone=None):
    return periods.Period("custom", date(2026, 3, 23), date(2026, 4, 5), zone or settings.zone())


def test_the_cells_follow_every_change_and_equal_a_count_afresh(scenario, desk):  # noqa: F811
    kept = contents()
    assert kept and kept == rebuilt()
    finished = db.session.scalar(select(func.count()).select_from(Ticket).where(Ticket.finished_at.is_not(None)))
    assert sum(n for cell, n in kept.items() if cell[:2] == ("finished", "a")) == finished == 5  # A B D E F
    # Then tickets are assigned, changed outside the lifecycle and deleted.
    d = scenario["D"]
    tickets.assign(desk.admin, scenario["C"], agent=desk.manager, team=next(iter(desk.teams.values())))
    tickets.transfer(desk.admin, scenario["G"], desk.departments["IT Operations"])
    db.session.execute(Ticket.__table__.update().where(Ticket.id == d.id).values(priority_id=desk.priorities["high"].id))
    db.session.commit()
    assert contents() == rebuilt()
    # A ticket deleted with its replies (by the database's cascade) takes its replies along.
    replies = sum(n for cell, n in contents().items() if cell[0] == "replied")
    assert replies == 11  # A 2, B 3 (the question too), D 3, E 2, F 1: a resolution's message is a reply
    db.session.execute(Ticket.__table__.delete().where(Ticket.id.in_([scenario["K"].id, d.id])))
    db.session.commit()
    assert sum(n for cell, n in contents().items() if cell[0] == "replied") == 8
    assert contents() == rebuilt()


def test_folding_leaves_one_row_per_cell_and_every_count(scenario, desk, monkeypatch):  # noqa: F811
    tickets.resolve(desk.tech, scenario["C"], "Done.")
    before = contents()
    rows = db.session.scalar(select(func.count()).select_from(ReportCell))
    unfolded = select(ReportCell.cut, func.count()).where(ReportCell.folded.is_(False)).group_by(ReportCell.cut)
    # A month's change rows wait until they are many; the days' are folded every round.
    assert cells.fold()
    db.session.expire_all()
    assert contents() == before
    waiting = dict(db.session.execute(unfolded).all())
    assert waiting and set(waiting) <= set(model.MONTHLY)
    monkeypatch.setattr(cells, "FOLD_MONTHS_AFTER", 1)
    assert cells.fold()
    db.session.expire_all()
    assert contents() == before
    after = db.session.scalar(select(func.count()).select_from(ReportCell))
    assert after == len(before) < rows
    assert not db.session.execute(unfolded).all()


def viewers(desk):
    return {"admin": desk.admin, "manager": desk.manager, "agent": desk.tech}


FILTERS = [Filters(), Filters(channel="email"), Filters(priority="normal"), Filters(channel="email", priority="normal")]


@pytest.mark.parametrize("first, last", [(date(2026, 3, 23), date(2026, 4, 5)),  # days only
                                         (date(2026, 3, 15), date(2026, 4, 30))])  # and a whole month
@pytest.mark.parametrize("who", ["admin", "manager", "agent"])
def test_every_dashboard_is_the_same_read_from_the_cells_or_the_tickets(scenario, desk, who, first, last):  # noqa: F811
    viewer = viewers(desk)[who]
    when = periods.Period("custom", first, last, settings.zone())
    support = desk.departments["Support"].id
    wanted = [*FILTERS, Filters(department=support), Filters(department=support, priority="normal"),
              Filters(topic=desk.topics["General inquiry"].id), Filters(assignee=desk.tech.id),
              *[Filters(team=t.id) for t in desk.teams.values()]]
    if who == "agent":  # an agent's filters: their own tickets and teams
        wanted = [f for f in wanted if not f.department]
    for filters in wanted:
        used, *from_cells = dashboard(viewer, when, filters, from_cells=True)
        off, *from_tickets = dashboard(viewer, when, filters, from_cells=False)
        assert off is None
        assert from_cells == from_tickets, filters
    assert dashboard(viewer, when, from_cells=True)[0] == {"admin": "a", "manager": "a", "agent": "b"}[who]


def test_times_over_many_tickets_are_read_to_their_step(scenario, desk):  # noqa: F811
    exact = dashboard(desk.admin, period(), from_cells=True)[2]["times"][0]
    before = current_app.config["HELPDESK_REPORT_EXACT_UP_TO"]
    current_app.config["HELPDESK_REPORT_EXACT_UP_TO"] = 0
    try:
        report = figures.Report(desk.admin, period(), Filters(), berlin(2026, 4, 6, 12, 0), str, str)
        stepped = report.build()
    finally:
        current_app.config["HELPDESK_REPORT_EXACT_UP_TO"] = before
    for exact_row, row in zip(exact, stepped.tables["times"].rows):
        assert row[:2] == exact_row[:2]
        for want, got in zip(exact_row[2:], row[2:]):
            assert got == (None if want is None else model.bucket_floor(model.bucket_of(want)))
    assert "read to a step" in stepped.tables["times"].note


@pytest.mark.parametrize("first, last", [(date(2026, 3, 23), date(2026, 4, 5)), (date(2026, 3, 1), date(2026, 4, 30)),
                                         (date(2026, 3, 15), date(2026, 4, 30)), (date(2026, 2, 1), date(2026, 3, 31))])
def test_times_from_months_and_the_days_around_them(scenario, desk, first, last):  # noqa: F811
    """Over many tickets, times are counted by month: the months the period holds whole from the
    monthly cells, the days around them from the daily ones (or, for the agents' medians, kept
    only by month, from the tickets); each is the step of the exact value."""
    when = periods.Period("custom", first, last, settings.zone())
    measures = [(Ticket.first_response_work_secs, "answered", Ticket.assignee_id),
                (Ticket.first_response_work_secs, "answered", None), (Ticket.first_response_secs, "answered", None),
                (Ticket.resolution_work_secs, "finished", None), (Ticket.resolution_secs, "finished", None)]

    def read(exact_up_to):
        before = current_app.config["HELPDESK_REPORT_EXACT_UP_TO"]
        current_app.config["HELPDESK_REPORT_EXACT_UP_TO"] = exact_up_to
        try:
            report = figures.Report(desk.admin, when, Filters(), berlin(2026, 4, 6, 12, 0), str, str)
            return [report.percentiles(value, kind, group=group) for value, kind, group in measures], report.stepped
        finally:
            current_app.config["HELPDESK_REPORT_EXACT_UP_TO"] = before

    exact, stepped_exact = read(10**9)
    stepped, read_stepped = read(0)
    assert all(exact) and not stepped_exact and read_stepped
    for want, got in zip(exact, stepped):
        assert got == {k: [model.bucket_floor(model.bucket_of(v)) for v in values] for k, values in want.items()}


def test_a_new_time_zone_counts_the_days_afresh(scenario, desk, admin):  # noqa: F811
    # I was opened at 23:30 on Sunday 5 April in Berlin: 21:30 UTC, still the 5th in UTC; K at
    # 00:30 on Monday 23 March in Berlin is 23:30 on the 22nd in UTC, before the period.
    settings.save({"timezone": "UTC"})
    db.session.commit()
    assert model.stored_zone() == "UTC"
    assert contents() == rebuilt()
    utc = period(settings.zone())
    assert dashboard(desk.admin, utc, from_cells=True)[1:] == dashboard(desk.admin, utc, from_cells=False)[1:]


def test_cells_counted_in_another_zone_are_not_read_and_the_round_rebuilds_them(scenario, desk):  # noqa: F811
    current_app.config["HELPDESK_TIMEZONE"] = "America/New_York"
    db.session.execute(db.text("DELETE FROM setting WHERE key = 'timezone'"))
    db.session.commit()
    settings.clear_cache()
    zone = settings.zone()
    assert zone.key == "America/New_York" and model.stored_zone() == "Europe/Berlin"
    assert dashboard(desk.admin, period(zone), from_cells=True)[0] is None  # read from the tickets meanwhile
    cells.tidy(zone)
    assert model.stored_zone() == "America/New_York"
    assert dashboard(desk.admin, period(zone), from_cells=True)[0] == "a"
    assert contents() == rebuilt()


def test_the_histogram_buckets_are_steps_of_the_times(scenario):  # noqa: F811
    for seconds in (0, 59, 60, 3599, 3600, 3899, 14399, 14400, 86399, 86400, 7 * 86400, 45 * 86400 + 7):
        floor = model.bucket_floor(model.bucket_of(seconds))
        assert floor <= seconds and model.bucket_of(floor) == model.bucket_of(seconds)
    sql = db.session.scalar(select(db.text(model.bucket_sql("12345"))))
    assert sql == model.bucket_of(12345)


def test_a_new_time_zone_on_a_large_desk_waits_for_the_rebuild_command(scenario, desk, admin, monkeypatch, app):  # noqa: F811
    """Counting the cells afresh makes ticket changes wait, so on a large desk it is not done on
    saving the setting: the reports read the tickets (as exactly) until an admin runs the command."""
    from support.forms import settings_data

    monkeypatch.setattr(model, "REBUILD_AT_ONCE", 3)
    page = admin.post("/admin/settings", data=settings_data(timezone="Europe/Lisbon"), follow_redirects=True)
    assert "Settings saved." in page.get_data(as_text=True)
    assert "flask --app app reports rebuild" in page.get_data(as_text=True)
    assert model.stored_zone() is None
    lisbon = period(settings.zone())
    used, *from_tickets = dashboard(desk.admin, lisbon, from_cells=True)
    assert used is None
    cells.tidy(settings.zone())  # the overdue round leaves a large desk alone
    assert model.stored_zone() is None
    result = app.test_cli_runner().invoke(args=["reports", "rebuild"])
    assert result.exit_code == 0 and "Europe/Lisbon" in result.output
    used, *from_cells = dashboard(desk.admin, lisbon, from_cells=True)
    assert used == "a" and from_cells == from_tickets
    assert contents() == rebuilt()
