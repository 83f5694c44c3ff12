"""One ticket's life on a busy desk, for the reports seed (bench/seed_reports.py).

A script first draws when things happen (the first answer, a question and the customer's reply,
notes, an escalation, the resolution, a reopening, the closing); the ticket then lives through
them as the lifecycle would (helpdesk/tickets/rules.py: _set_status and the SLA clock), up to now,
or up to the moment a stalled ticket was left alone. What it leaves is the ticket's columns, its
thread, its history and its SLA pauses.

Work seconds are counted on the plan's own clock (helpdesk.sla's windows, see report_clock), so
a business-hours plan's first-response and resolution work times are exact for its schedule;
the times themselves are drawn from rough distributions (log-normal around a share of the
target), not from a model of each agent's queue.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

import report_texts as texts
from report_clock import DAY, HOUR, Clock, instant

from helpdesk.models import ACTIVE_STATUSES, DONE_STATUSES, STATUS_LABELS

TICKET_COLUMNS = (
    "id", "number", "subject", "status", "priority_id", "urgency", "topic_id", "department_id", "assignee_id",
    "team_id", "sla_id", "due_at", "source", "customer_id", "created_at", "updated_at", "resolved_at", "closed_at",
    "reopened_at", "is_overdue", "first_response_due_at", "first_responded_at", "first_response_breached",
    "resolution_breached", "is_answered", "access_nonce", "version", "finished_at", "first_response_secs",
    "first_response_work_secs", "resolution_secs", "resolution_work_secs", "reopen_count",
)
ENTRY_COLUMNS = ("ticket_id", "kind", "agent_id", "customer_id", "body", "body_html", "via", "purpose", "created_at")
EVENT_COLUMNS = ("ticket_id", "agent_id", "customer_id", "action", "old", "new", "note", "version", "created_at",
                 "rule_id", "rule_name")
PAUSE_COLUMNS = ("ticket_id", "started_at", "ended_at")

# The shares of a desk's tickets that take each way (the rest are worked to a resolution).
DIRECT_CLOSE = 0.05   # closed unanswered: a duplicate, spam
STALL = 0.13          # left alone somewhere along the way, still open today
ONE_TOUCH = 0.2       # resolved by the first answer
ASK = 0.22            # the agent asks the customer something: the ticket awaits them
NO_REPLY = 0.2        # ...and the customer never answers: closed after a week
ESCALATE = 0.06
REOPEN = 0.055
MANAGER_ASSIGNS = 0.25
SOURCES, SOURCE_WEIGHTS = ("web", "email", "phone", "api", "chat", "agent"), (45, 75, 85, 90, 97, 100)
RESPONSE_MEDIAN = {1: 3 * HOUR, 2: 1.5 * HOUR, 3: 0.75 * HOUR, 4: 0.3 * HOUR}  # staffed time, by urgency


@dataclass
class Plan:
    id: Optional[int]
    clock: Clock
    grace: Optional[float]      # resolution target, seconds of the plan's clock (None: no plan)
    first: Optional[float]      # first-response target


@dataclass
class Desk:
    """What every ticket's life reads: the desk's setup and the dice."""

    now: float
    rng: object
    stamp: Callable       # seconds -> what the database driver takes
    number: Callable      # ticket id -> ticket number
    staff: Clock
    plans: dict
    topics: list          # (id, name, department_id, priority (id, urgency) or None, sla_id)
    topic_weights: list
    priorities: list      # (id, urgency), a customer's choice when the topic lets them
    priority_weights: list
    agents: dict          # department_id -> (agent ids, cumulated weights)
    managers: dict        # department_id -> agent id
    teams: list           # (id, name, member ids)
    names: dict           # agent id -> name
    customers: tuple      # (first id, count)
    auto_close: Optional[tuple]  # (rule id, rule name, seconds) when the desk's rule is on
    pools: dict


def _opt(stamp, t):
    return None if t is None else stamp(t)


class Life:
    """One ticket as the lifecycle leaves it."""

    def __init__(self, desk: Desk, tid: int, created: float):
        rng = self.rng = desk.rng
        self.desk, self.tid, self.created = desk, tid, created
        topic = rng.choices(desk.topics, cum_weights=desk.topic_weights)[0]
        self.topic_id, self.topic_name, self.department_id, priority, sla_id = topic
        self.priority_id, self.urgency = priority or rng.choices(desk.priorities, cum_weights=desk.priority_weights)[0]
        self.plan = desk.plans[sla_id]
        self.subject = texts.subject(self.topic_name, rng)
        self.source = rng.choices(SOURCES, cum_weights=SOURCE_WEIGHTS)[0]
        if self.source in ("phone", "chat", "agent") and not desk.staff.is_open(created):
            self.source = "email"
        first, count = desk.customers
        self.customer = first + int(count * rng.random() ** 1.6)  # a few customers write often
        self.via = "email" if self.source == "email" else None
        self.status, self.assignee, self.team = "new", None, None
        self.version, self.updated = 1, created
        self.resolved = self.closed = self.reopened = self.finished = None
        self.responded = self.fr_breached = self.res_breached = None
        self.answered = self.flagged = False
        self.cycle_start, self.paused_secs, self.paused_at = created, 0.0, None
        self.work, self.reopens = None, 0  # worked seconds add up over the stretches reopenings start
        plan = self.plan
        self.fr_due = plan.clock.add(created, plan.first) if plan.first else None
        self.due = plan.clock.add(created, plan.grace) if plan.grace else None
        self.entries, self.events, self.pauses = [], [], []
        self.stalled, self.first_answer = False, created
        opener = self.pick_agent() if self.source in ("phone", "agent") else None
        self.entry(created, "message", rng.choice(desk.pools["first"]), customer=self.customer, via=self.via)
        self.event(created, "created", agent=opener, customer=None if opener else self.customer,
                   new=f"{self.topic_name} via {self.source}")

    # --- the rows ---------------------------------------------------------------------------

    def entry(self, t, kind, text, agent=None, customer=None, via=None, purpose=None):
        self.entries.append((self.tid, kind, agent, customer, text[0], text[1], via, purpose, self.desk.stamp(t)))

    def event(self, t, action, agent=None, customer=None, old=None, new=None, note=None, rule=(None, None)):
        self.events.append((self.tid, agent, customer, action, old, new, note, self.version, self.desk.stamp(t), *rule))

    def pick_agent(self) -> int:
        ids, weights = self.desk.agents[self.department_id]
        return self.rng.choices(ids, cum_weights=weights)[0]

    def ticket_row(self) -> tuple:
        s, created = self.desk.stamp, self.created
        clock = self.plan.clock
        done = self.finished is not None
        return (
            self.tid, self.desk.number(self.tid), self.subject, self.status, self.priority_id, self.urgency,
            self.topic_id, self.department_id, self.assignee, self.team, self.plan.id, _opt(s, self.due), self.source, self.customer, s(created),
            s(self.updated), _opt(s, self.resolved), _opt(s, self.closed), _opt(s, self.reopened),
            self.flagged and self.status in ACTIVE_STATUSES, _opt(s, self.fr_due), _opt(s, self.responded),
            self.fr_breached, self.res_breached, self.answered, f"{self.rng.getrandbits(64):016x}", self.version,
            _opt(s, self.finished),
            None if self.responded is None else max(round(self.responded - created), 0),
            None if self.responded is None else max(round(clock.between(created, self.responded)), 0),
            max(round(self.finished - created), 0) if done else None, self.work, self.reopens,
        )

    # --- the SLA clock, as helpdesk/tickets/deadlines.py keeps it -------------------------------

    def _restart_due(self, t):
        plan = self.plan
        if plan.grace:
            self.due = plan.clock.when(plan.clock.at(self.cycle_start) + plan.grace + self.paused_secs)
        self._clear_overdue(t)

    def _clear_overdue(self, t):
        """The flag goes once nothing is past due any more."""
        self.flagged = self.flagged and (
            (self.due is not None and self.due < t)
            or (self.responded is None and self.fr_due is not None and self.fr_due < t))

    def _worked(self, t) -> float:
        clock = self.plan.clock
        worked = clock.between(self.cycle_start, t) - self.paused_secs
        return worked - clock.between(self.paused_at, t) if self.paused_at is not None else worked

    def sweep(self, t):
        """The overdue check: flags a ticket still worked once a due time passed (one event)."""
        if self.flagged or self.status not in ACTIVE_STATUSES:
            return
        crossed = []
        if self.responded is None and self.fr_due is not None and self.fr_due < t:
            crossed.append((self.fr_due, "First response"))
        if self.due is not None and self.due < t:
            crossed.append((self.due, "Resolution"))
        if crossed:
            due, target = min(crossed)
            self.version += 1
            self.flagged = True
            self.event(min(due + 60, t), "overdue", new=target, note=f"Due {instant(due):%Y-%m-%d %H:%M} UTC, not met")

    def set_status(self, t, status, agent=None, customer=None, note=None, rule=(None, None)):
        old = self.status
        self.status = status
        if status == "resolved":
            self.resolved = self.finished = t
        elif status == "closed":
            self.closed = t
            if old in ACTIVE_STATUSES:
                self.finished = t
        elif old in DONE_STATUSES:
            self.reopened, self.resolved, self.closed, self.finished = t, None, None, None
            self.cycle_start, self.paused_secs, self.reopens = t, 0.0, self.reopens + 1
            self._restart_due(t)
        if old in ACTIVE_STATUSES and status in DONE_STATUSES:
            self.work = (self.work or 0) + max(round(self._worked(t)), 0)
            if self.paused_at is not None:
                self.pauses.append((self.tid, self.desk.stamp(self.paused_at), self.desk.stamp(t)))
                self.paused_at = None
            if self.plan.grace:
                self.res_breached = bool(self.res_breached) or (self.due is not None and self.due < t)
            self.flagged = False
        elif status == "pending":
            self.paused_at = t
            if self.plan.grace and self._worked(t) < self.plan.grace:
                self.due = None
                self._clear_overdue(t)
        elif old == "pending":
            self.pauses.append((self.tid, self.desk.stamp(self.paused_at), self.desk.stamp(t)))
            self.paused_secs += self.plan.clock.between(self.paused_at, t)
            if self.due is None:  # the target had not run out when the pause began
                self._restart_due(t)
            self.paused_at = None
        self.event(t, "status", agent=agent, customer=customer, old=STATUS_LABELS[old], new=STATUS_LABELS[status],
                   note=note, rule=rule)

    # --- what people do ---------------------------------------------------------------------

    def bump(self, t):
        self.version += 1
        self.updated = t

    def answer(self, t, agent, pool, purpose=None, event=None):
        self.bump(t)
        self.entry(t, "reply", self.rng.choice(self.desk.pools[pool]), agent=agent, purpose=purpose)
        self.answered = True
        if self.responded is None:
            self.responded = t
            if self.fr_due is not None:
                self.fr_breached = self.fr_due < t
            self._clear_overdue(t)
        if event:
            self.event(t, event, agent=agent)
        if self.assignee is None:
            self.assignee = agent
            self.event(t, "claimed", agent=agent, new=self.desk.names[agent])

    def reply(self, t, agent):
        self.answer(t, agent, "replies", event="replied")
        if self.status == "new":
            self.set_status(t, "open", agent=agent)

    def ask(self, t, agent):
        self.answer(t, agent, "questions", purpose="question")
        self.set_status(t, "pending", agent=agent)

    def resolve(self, t, agent):
        self.answer(t, agent, "resolutions", purpose="resolution")
        self.set_status(t, "resolved", agent=agent)

    def customer_writes(self, t, pool):
        self.bump(t)
        self.entry(t, "message", self.rng.choice(self.desk.pools[pool]), customer=self.customer, via=self.via)
        self.answered = False
        self.event(t, "customer_replied", customer=self.customer)
        if self.status in ("pending", "resolved", "closed"):
            reopened = self.status != "pending"
            self.set_status(t, "open", customer=self.customer,
                            note="Reopened by the customer's reply" if reopened else None)

    def note(self, t, agent):
        self.bump(t)
        self.entry(t, "note", self.rng.choice(self.desk.pools["notes"]), agent=agent)
        self.event(t, "note", agent=agent)

    def assign(self, t, manager, agent):
        if self.assignee is None:
            self.bump(t)
            self.assignee = agent
            self.event(t, "assigned", agent=manager, new=self.desk.names[agent])

    def escalate(self, t, agent, team):
        self.bump(t)
        why = self.rng.choice(texts.ESCALATIONS)
        self.entries.append((self.tid, "note", agent, None, f"Escalated to {team[1]}:\n\n{why}",
                             f"<p><strong>Escalated to {team[1]}:</strong></p>\n<p>{why}</p>", None, None,
                             self.desk.stamp(t)))
        self.team = team[0]
        self.event(t, "escalated", agent=agent, new=team[1], note=why)
        self.set_status(t, "escalated", agent=agent)

    def resume(self, t, agent):
        if self.status == "escalated":
            self.bump(t)
            self.set_status(t, "open", agent=agent)

    def close(self, t, agent=None, note=None, customer=None, rule=(None, None)):
        if self.status == "closed":
            return
        self.bump(t)
        if note and agent:
            self.entry(t, "note", (note, f"<p>{note}</p>"), agent=agent)
        self.set_status(t, "closed", agent=agent, customer=customer, note=note, rule=rule)


def _lognormal(rng, median: float, sigma: float) -> float:
    return rng.lognormvariate(math.log(median), sigma)


def _script(life: Life) -> list:
    """When what happens to this ticket: (time, order, action, arguments)."""
    desk, rng, c = life.desk, life.rng, life.created
    clock, grace = life.plan.clock, life.plan.grace or DAY
    acts = []

    def at(t, action, *args):
        acts.append((t, len(acts), action, args))

    agent = life.pick_agent()
    if rng.random() < MANAGER_ASSIGNS and life.department_id in desk.managers:
        at(desk.staff.add(c, rng.uniform(120, 2400)), life.assign, desk.managers[life.department_id], agent)
    if not life.stalled and rng.random() < DIRECT_CLOSE:
        at(desk.staff.add(c, _lognormal(rng, HOUR, 1.0)), life.close, agent, rng.choice(texts.CLOSE_NOTES))
        return acts
    if life.plan.clock.always:  # around the clock: on call, slower at night
        first = c + _lognormal(rng, 600 if life.urgency >= 4 else 1080, 0.8) * (1 if desk.staff.is_open(c) else 3)
    else:
        first = desk.staff.add(c, _lognormal(rng, RESPONSE_MEDIAN.get(life.urgency, HOUR), 1.0))
    responded = clock.between(c, first)
    work = max(grace * _lognormal(rng, 0.38, 0.9), responded)
    life.first_answer = first
    if not life.stalled and (rng.random() < ONE_TOUCH or work <= responded * 1.1):
        at(first, life.resolve, agent)
        return _after(life, acts, at, first, agent)
    start = c
    if rng.random() < ASK:
        asked_first = rng.random() < 0.5
        done = responded if asked_first else responded + (work - responded) * rng.random()
        asked = first if asked_first else clock.when(clock.at(c) + done)
        if not asked_first:
            at(first, life.reply, agent)
        at(asked, life.ask, agent)
        if rng.random() < NO_REPLY:
            at(asked + rng.uniform(5, 10) * DAY, life.close, agent, texts.NO_REPLY)
            return acts
        start = asked + _lognormal(rng, 20 * HOUR, 1.0)
        at(start, life.customer_writes, "follow_ups")
        work -= done
    else:
        at(first, life.reply, agent)
        if desk.teams and rng.random() < ESCALATE:
            team = rng.choice(desk.teams)
            span = clock.between(first, clock.add(c, work))
            at(clock.add(first, span * rng.uniform(0.2, 0.5)), life.escalate, agent, team)
            at(clock.add(first, span * rng.uniform(0.6, 0.9)), life.resume, rng.choice(team[2] or [agent]))
    finish = clock.add(start, work)
    for _ in range(rng.choices((0, 1, 2), cum_weights=(50, 85, 100))[0]):
        at(clock.when(clock.at(first) + (clock.at(finish) - clock.at(first)) * rng.random()), life.note, agent)
    at(finish, life.resolve, agent)
    return _after(life, acts, at, finish, agent)


def _after(life: Life, acts: list, at, resolved: float, agent: int) -> list:
    """The closing, or a reopening (and the work again) first."""
    desk, rng, clock = life.desk, life.rng, life.plan.clock
    for _ in range(2):
        if rng.random() >= REOPEN:
            break
        again = resolved + min(_lognormal(rng, 20 * HOUR, 1.0), 6 * DAY)
        at(again, life.customer_writes, "reopens")
        resolved = clock.add(again, (life.plan.grace or DAY) * _lognormal(rng, 0.12, 0.8))
        at(resolved, life.resolve, agent)
    confirm = 0.3 if desk.auto_close else 0.35
    roll = rng.random()
    if roll < confirm:
        at(resolved + _lognormal(rng, 4 * HOUR, 1.0), life.close, None, "The customer confirmed the resolution",
           life.customer)
    elif desk.auto_close:
        rule_id, name, wait = desk.auto_close
        at(resolved + wait + rng.uniform(0, 600), life.close, None, None, None, (rule_id, name))
    elif roll < 0.8:
        at(desk.staff.add(resolved, rng.uniform(1, 3) * 10 * HOUR), life.close, agent)
    return acts


def live(desk: Desk, tid: int, created: float) -> Life:
    """The ticket `tid`, created at `created`, as it stands now."""
    life = Life(desk, tid, created)
    life.stalled = desk.rng.random() < STALL
    acts = sorted(_script(life))
    horizon = desk.now
    if life.stalled:  # left alone before its work ended, mostly once answered
        ended = min((t for t, _, action, _ in acts if action in (life.resolve, life.close)), default=desk.now)
        begin = created if desk.rng.random() < 0.15 else life.first_answer
        horizon = min(horizon, begin + (ended - begin) * desk.rng.random())
    for t, _, action, args in acts:
        if t > horizon:
            break
        life.sweep(t)
        action(t, *args)
    life.sweep(desk.now)
    if life.paused_at is not None:  # still awaiting the customer
        life.pauses.append((tid, desk.stamp(life.paused_at), None))
    return life
