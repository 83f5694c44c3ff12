"""The weekly summary mail: last week's figures (Monday to Sunday in the desk's time zone), in the
reports' scope of each active manager and admin who asked for it on their account page: the
headline cards, the newest SLA breaches and a link to the whole dashboard of that week, each
figure a link to its tickets.

A week's summary falls due on the Monday after it, at 07:00 in the desk's time zone; a job
(`flask reports weekly --loop`, or the web process's background jobs) looks every quarter of an
hour. It goes out once per agent and week, however often and in however many places the job
runs: the mail is queued in the transaction that moves the agent's `weekly_report_sent_for` to
the week's Monday, by an UPDATE that succeeds only while it holds an earlier week, so of two
rounds at once one takes the week and the other finds it taken. A round that fails for one agent
leaves their week due for the next round; one the job missed (the desk was down on Monday) is
sent when it runs again. Asking for the summary counts the week due then as sent: the first mail
comes on the next Monday.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update

from .. import clock, settings
from ..extensions import db
from ..mail import notify
from ..mail.links import external_url
from ..models import ROLE_RANK, ROLES, Agent
from . import figures, scope
from . import period as periods
from .population import Drill
from .scope import Filters

log = logging.getLogger(__name__)

SEND_AT = time(7, 0)  # on Monday, in the desk's time zone
INTERVAL = 900.0  # seconds between the job's rounds
CARDS = ("created", "resolved", "open", "overdue", "fr_rate", "res_rate", "first_response", "resolution")
BREACHES = 10
ROLES_MAILED = tuple(r for r in ROLES if ROLE_RANK[r] >= ROLE_RANK["manager"])


def due_week(zone: ZoneInfo, now: datetime) -> date:
    """The Monday of the newest week whose summary is due at `now` (naive UTC)."""
    local = now.replace(tzinfo=timezone.utc).astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday())
    not_yet = local.weekday() == 0 and local.time() < SEND_AT
    return monday - timedelta(days=14 if not_yet else 7)


def week(monday: date, zone: ZoneInfo) -> periods.Period:
    """The week from `monday`, as the dashboard's custom range."""
    return periods.Period("custom", monday, monday + timedelta(days=6), zone)


def may_ask(agent: Agent) -> bool:
    return agent.is_manager


def subscribe(agent: Agent, wanted: bool, now: datetime) -> None:
    """Ask for the weekly summary (from the next week that falls due), or stop it."""
    agent.weekly_report = wanted
    if wanted:
        due = due_week(settings.zone(), now)
        if agent.weekly_report_sent_for is None or agent.weekly_report_sent_for < due:
            agent.weekly_report_sent_for = due
    db.session.commit()


def drill_link(drill: Drill) -> str:
    return external_url("agent.queue", name="all", **drill.args())


def ticket_link(number: str) -> str:
    return external_url("agent.ticket", number=number)


def summary(agent: Agent, period: periods.Period, now: datetime) -> dict:
    """What the agent's mail shows of the period: the dashboard's own figures, with absolute links."""
    board = figures.build(agent, period, Filters(), now, drill_link, ticket_link)
    cards = {card.key: card for card in board.cards}
    breaches = board.tables["breaches"]
    return {
        "scope": scope.label(agent),
        "written_at": now,
        "cards": [cards[key] for key in CARDS],
        "breaches": [{"number": row[0], "subject": row[1], "target": row[2], "assignee": row[3],
                      "link": breaches.link(i, 0)} for i, row in enumerate(breaches.rows[:BREACHES])],
        "report_link": external_url("agent.reports", **period.args()),
    }


def _not_sent(monday: date):
    return or_(Agent.weekly_report_sent_for.is_(None), Agent.weekly_report_sent_for < monday)


def _wanting(monday: date):
    return (Agent.active.is_(True), Agent.weekly_report.is_(True), Agent.role.in_(ROLES_MAILED), _not_sent(monday))


def _send(agent_id: int, period: periods.Period, now: datetime) -> str | None:
    """Queue one agent's summary unless another round already did; the address it goes to."""
    agent = db.session.get(Agent, agent_id)
    context = summary(agent, period, now)
    db.session.rollback()  # the figures are read; the claim and the mail get a short transaction of their own
    taken = db.session.execute(
        update(Agent).where(Agent.id == agent_id, *_wanting(period.first))
        .values(weekly_report_sent_for=period.first).execution_options(synchronize_session=False))
    if taken.rowcount != 1:
        db.session.rollback()
        return None
    notify.weekly_report(agent, period.label, **context)
    db.session.commit()
    return agent.email


def send_due(now: datetime | None = None) -> list[str]:
    """Queue every summary due now (none before Monday 07:00, none twice); the addresses mailed."""
    now = now or clock.utcnow()
    zone = settings.zone()
    period = week(due_week(zone, now), zone)
    waiting = db.session.scalars(select(Agent.id).where(*_wanting(period.first)).order_by(Agent.id)).all()
    mailed = []
    for agent_id in waiting:
        try:
            address = _send(agent_id, period, now)
        except Exception:  # one agent's figures failing never holds up the others'
            log.exception("the weekly summary for agent %s could not be queued", agent_id)
            db.session.rollback()
            continue
        if address:
            mailed.append(address)
    return mailed
