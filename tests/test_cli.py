"""The command-line tools an operator runs: seed-demo (and the demo desk it loads), create-user, mail send /
retry-failed."""
from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from helpdesk import demo, demo_tickets, tickets
from helpdesk.extensions import db
from helpdesk.models import (
    STATUS_LABELS,
    STATUSES,
    Agent,
    Collaborator,
    Department,
    HelpTopic,
    OutboxMail,
    Priority,
    Rule,
    Ticket,
)
from helpdesk.tickets import queues, tally
from support.net import free_port
from support.rows import count


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# --- seed-demo --------------------------------------------------------------------------------


def test_seed_demo_loads_the_desk_and_prints_the_logins(runner, clock):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    for email, _, role, password, _ in demo.DEMO_AGENTS:
        assert email in result.output and password in result.output
    assert count(Agent) == len(demo.DEMO_AGENTS)
    assert count(Department) == 2
    assert count(Priority) == 4
    assert {t.name for t in db.session.scalars(select(HelpTopic))} == {
        "Business Critical Outage", "Password reset", "Billing question", "General inquiry",
    }
    rules = {r.name: (r.system, r.active) for r in db.session.scalars(select(Rule))}
    assert rules.pop("Close resolved tickets")[0] == "auto_close"  # as the migrations write it
    # The demo's rules, added after its past: the event rule on, the time rules off (they would
    # mail the made-up customers); none acted on the demo tickets.
    assert rules == {"Bank outages": (None, True), "Remind after 3 days awaiting the customer": (None, False),
                     "Page the SysAdmins: Emergency unassigned for 15 minutes": (None, False)}
    assert db.session.scalar(select(func.sum(Rule.matched_count))) == 0
    # ... and what it says it made, which is what there is.
    assert ("35 tickets of the last three weeks (5 new, 8 open, 4 awaiting customer, 3 escalated, 7 resolved, "
            "8 closed; 4 overdue)") in result.output
    assert "No mail was sent" in result.output
    assert count(Ticket) == len(demo_tickets.STORIES) == 35


@pytest.fixture
def seeded(runner, clock):
    """The demo desk as `seed-demo --if-empty` loads it on an empty database, on the test clock's
    Monday morning."""
    result = runner.invoke(args=["seed-demo", "--if-empty"])
    assert result.exit_code == 0 and "Demo desk loaded" in result.output, result.output
    db.session.expire_all()
    return SimpleNamespace(output=result.output, now=clock.now,
                           tickets=list(db.session.scalars(select(Ticket).order_by(Ticket.id))))


def test_seed_demo_tickets_cover_the_desk(seeded):
    all_ = seeded.tickets
    assert {t.status for t in all_} == set(STATUSES)
    assert {t.source for t in all_} >= {"web", "email", "phone", "api"}
    assert {t.priority.key for t in all_} == {"low", "normal", "high", "emergency"}
    assert {t.topic.name for t in all_} == {"Business Critical Outage", "Password reset", "Billing question",
                                            "General inquiry"}
    assert {t.department.name for t in all_} == {"Support", "IT Operations"}
    assert {t.assignee.email for t in all_ if t.assignee} == {
        "tech@example.com", "sysadmin@example.com", "vendor@example.com", "manager@example.com"}
    assert any(t.assignee is None and t.is_active for t in all_)
    # Overdue now, and resolved in time as well as late.
    assert 3 <= sum(t.is_overdue for t in all_) <= 5
    assert all(t.is_active and t.overdue_at(seeded.now) for t in all_ if t.is_overdue)
    assert any(t.resolution_breached for t in all_ if t.status in ("resolved", "closed"))
    assert any(t.resolution_breached is False for t in all_ if t.status in ("resolved", "closed"))
    # Escalated to a team, with the note saying why; notes; a question answered; reopened; on copy.
    escalated = [t for t in all_ if t.status == "escalated"]
    assert escalated and all(t.team is not None for t in escalated)
    assert all(e.note for t in escalated for e in t.events if e.action == "escalated")
    assert any(e.kind == "note" and e.agent is not None for t in all_ for e in t.entries)
    assert any(e.action == "status" and e.new == "Awaiting customer" for t in all_ for e in t.events)
    assert any(t.reopened_at is not None and t.status == "open" for t in all_)
    assert any(e.note == "Reopened by the customer's reply" for t in all_ for e in t.events)
    on_copy = db.session.scalars(select(Collaborator)).all()
    assert len(on_copy) == 1 and any(e.collaborator_id == on_copy[0].id for e in on_copy[0].ticket.entries)
    # Three weeks of office days, the fresh mail of this morning aside.
    created = sorted(t.created_at for t in all_)
    assert seeded.now - timedelta(days=25) < created[0] < seeded.now - timedelta(days=18)
    assert created[-1] < seeded.now
    # Customers of many places, one with a name longer than most.
    assert len({t.customer.email for t in all_}) == len(all_)
    assert max(len(t.customer.name) for t in all_) > 50
    assert all(t.customer.email.endswith(".example") for t in all_)


def test_seed_demo_history_is_consistent(seeded):
    """Every ticket's history is what the lifecycle writes: created first, its version that of its
    last event, times in order and in the past, its status that of its last status change."""
    for t in seeded.tickets:
        history = sorted(t.events, key=lambda e: e.id)
        assert history[0].action == "created" and history[0].version == 1, t.subject
        assert [e.action for e in history].count("created") == 1
        assert t.version == max(e.version for e in history), t.subject
        assert [e.version for e in history] == sorted(e.version for e in history)
        times = [e.created_at for e in history]
        assert times == sorted(times) and times[0] == t.created_at and times[-1] <= seeded.now, t.subject
        thread = sorted(t.entries, key=lambda e: e.id)
        assert thread[0].kind == "message" and thread[0].created_at == t.created_at
        assert [e.created_at for e in thread] == sorted(e.created_at for e in thread)
        changes = [e for e in history if e.action == "status"]
        assert (changes[-1].new if changes else "New") == STATUS_LABELS[t.status], t.subject
        assert (t.closed_at is not None) == (t.status == "closed")
        reopened = [i for i, e in enumerate(changes) if e.old in ("Resolved", "Closed") and e.new == "Open"]
        since = changes[reopened[-1] + 1:] if reopened else changes
        assert (t.resolved_at is not None) == any(e.new == "Resolved" for e in since), t.subject
        assert (t.reopened_at is not None) == bool(reopened)
        if t.status != "pending":
            assert (t.due_at is not None) == (t.sla is not None)
    # The tally the queues count with agrees with the tickets.
    assert tally.by_status() == dict(Counter(t.status for t in seeded.tickets))


def test_seed_demo_mails_nobody(seeded, inbox):
    assert count(OutboxMail) == 0
    inbox.deliver()
    assert inbox.messages == []
    # The desk mails as ever afterwards.
    topic = db.session.scalar(select(HelpTopic).where(HelpTopic.name == "General inquiry"))
    tickets.open_ticket(name="Ken", email="ken@example.net", subject="Hello", body="Anyone there?", topic=topic)
    inbox.deliver()
    assert inbox.subjects("ken@example.net")


def _nav_counts(html: str) -> dict[str, int]:
    return {name or queues.DEFAULT_QUEUE: int(n) for name, n in re.findall(
        r'href="/agent/(?:queue/)?(\w*)"[^>]*>\s*<span>[^<]*</span>\s*<span class="count[^"]*">'
        r'<span class="visually-hidden">: </span>(\d+)<', html)}


def _listed(client, path: str) -> list[str]:
    """The ticket numbers of every page of a queue, following its "next" links."""
    numbers = []
    while path:
        html = client.get(path).get_data(as_text=True)
        numbers += re.findall(r'<td class="number"><a href="/agent/tickets/([A-Z0-9]+)"', html)
        following = re.search(r'<a class="button small" rel="next" href="([^"]+)"', html)
        path = following and following.group(1).replace("&amp;", "&")
    return numbers


@pytest.mark.parametrize("email, password", [("admin@example.com", "demo-admin-1"), ("tech@example.com", "demo-tech-1")])
def test_seed_demo_queues_count_what_they_list(seeded, client, email, password):
    assert client.post("/login", data={"email": email, "password": password}).status_code == 302
    counts = _nav_counts(client.get("/agent/").get_data(as_text=True))
    assert set(counts) == set(queues.LISTED)
    for name, n in counts.items():
        listed = _listed(client, "/agent/" if name == queues.DEFAULT_QUEUE else f"/agent/queue/{name}")
        assert len(listed) == len(set(listed)) == n, name
    assert counts["overdue"] > 0 and counts["unassigned"] > 0
    if email == "admin@example.com":
        assert sum(counts[q] for q in ("open", "pending", "closed")) == len(seeded.tickets)
    # The search index has them too.
    found = client.get("/agent/queue/closed?q=Schwarzenstein").get_data(as_text=True)
    assert "Custom domain shows a certificate warning" in found


def test_seed_demo_if_empty_twice_loads_once(runner, clock):
    first = runner.invoke(args=["seed-demo", "--if-empty"])
    assert first.exit_code == 0 and "Demo desk loaded" in first.output
    tickets_then = count(Ticket)
    second = runner.invoke(args=["seed-demo", "--if-empty"])
    assert second.exit_code == 0, second.output
    assert "already has data" in second.output and "demo-admin-1" not in second.output
    assert count(Agent) == len(demo.DEMO_AGENTS)
    assert count(Department) == 2
    assert count(HelpTopic) == 4
    assert count(Ticket) == tickets_then == 35


def test_seed_demo_never_loads_into_a_desk_in_use(runner, clock):
    assert runner.invoke(args=["create-user", "--email", "jo@example.org", "--name", "Jo",
                               "--password", "a long secret"]).exit_code == 0
    quiet = runner.invoke(args=["seed-demo", "--if-empty"])
    assert quiet.exit_code == 0 and "demo data not loaded" in quiet.output
    refused = runner.invoke(args=["seed-demo"])
    assert refused.exit_code == 1 and "already has data" in refused.output
    assert count(Agent) == 1 and count(Department) == 0 and count(Ticket) == 0


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/New_York", "Pacific/Auckland"])
def test_seed_demo_stories_happen_in_order_and_in_the_past_at_any_hour(zone):
    """Whatever the day and hour it is run (clocks changing included), every step of every story
    comes after the one before and before now, and the same hour gives the same times."""
    tz = ZoneInfo(zone)
    for start in (datetime(2026, 3, 23), datetime(2026, 3, 30), datetime(2026, 10, 26)):
        for hour in range(0, 7 * 24, 5):
            now = start + timedelta(hours=hour, minutes=17)
            plan = demo_tickets.timeline(demo_tickets.STORIES, now, tz)  # raises on a step out of order
            assert len(plan) == sum(1 + len(s.steps) for s in demo_tickets.STORIES)
            assert plan[-1][0] < now
            assert now - plan[0][0] < timedelta(days=26)
    assert demo_tickets.timeline(demo_tickets.STORIES, now, tz) == plan


# --- create-user ------------------------------------------------------------------------------


def test_create_user(runner):
    result = runner.invoke(args=["create-user", "--email", "Jo.Doe@Example.COM", "--name", " Jo Doe ",
                                 "--role", "manager", "--password", "a long secret"])
    assert result.exit_code == 0, result.output
    assert "Created manager Jo Doe" in result.output
    agent = db.session.scalar(select(Agent))
    assert (agent.email, agent.name, agent.role) == ("jo.doe@example.com", "Jo Doe", "manager")
    assert agent.check_password("a long secret") and not agent.check_password("wrong one")


def test_create_user_asks_for_the_password(runner):
    result = runner.invoke(args=["create-user", "--email", "sam@example.com", "--name", "Sam"],
                           input="s3cret-enough\ns3cret-enough\n")
    assert result.exit_code == 0, result.output
    agent = db.session.scalar(select(Agent))
    assert agent.role == "agent" and agent.check_password("s3cret-enough")


def test_create_user_refuses_a_duplicate_email(runner):
    args = ["create-user", "--email", "sam@example.com", "--name", "Sam", "--password", "password-1"]
    assert runner.invoke(args=args).exit_code == 0
    again = runner.invoke(args=["create-user", "--email", "SAM@example.com", "--name", "Other Sam",
                                "--password", "password-2"])
    assert again.exit_code != 0
    assert "exists already" in again.output
    assert count(Agent) == 1


@pytest.mark.parametrize("email", ["not-an-email", "sam@", "sam@@example.com"])
def test_create_user_refuses_a_bad_email(runner, email):
    result = runner.invoke(args=["create-user", "--email", email, "--name", "Sam", "--password", "password-1"])
    assert result.exit_code == 2
    assert "--email" in result.output
    assert count(Agent) == 0


def test_create_user_refuses_a_short_password(runner):
    result = runner.invoke(args=["create-user", "--email", "sam@example.com", "--name", "Sam",
                                 "--password", "short"])
    assert result.exit_code == 2
    assert "8 to 128 characters" in result.output
    assert count(Agent) == 0


def test_create_user_refuses_an_unknown_role(runner):
    result = runner.invoke(args=["create-user", "--email", "sam@example.com", "--name", "Sam",
                                 "--role", "root", "--password", "password-1"])
    assert result.exit_code == 2
    assert count(Agent) == 0


# --- mail -------------------------------------------------------------------------------------


def test_mail_send_delivers_the_outbox(runner, make_ticket, inbox):
    make_ticket(email="ken@example.net", subject="Screen is blank")
    queued = count(OutboxMail)
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 0, result.output
    assert f"Sent {queued}, not sent 0; 0 waiting." in result.output
    assert any("Screen is blank" in s for s in inbox.subjects("ken@example.net"))
    assert len(inbox.messages) == queued
    again = runner.invoke(args=["mail", "send"])
    assert "Sent 0, not sent 0; 0 waiting." in again.output
    assert len(inbox.messages) == queued


def test_mail_send_with_smtp_down_keeps_the_mail(app, runner, make_ticket, inbox):
    make_ticket(email="ken@example.net")
    queued = count(OutboxMail)
    app.extensions["mail"].port = free_port()
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 0, result.output
    assert f"Sent 0, not sent {queued}; {queued} waiting." in result.output
    assert inbox.messages == []


def test_mail_retry_failed(runner, make_ticket):
    make_ticket()
    db.session.execute(update(OutboxMail).values(status="failed", attempts=12))
    db.session.commit()
    queued = count(OutboxMail)
    result = runner.invoke(args=["mail", "retry-failed"])
    assert result.exit_code == 0
    assert f"{queued} mails queued again." in result.output
    db.session.expire_all()
    assert {(m.status, m.attempts) for m in db.session.scalars(select(OutboxMail))} == {("pending", 0)}


def test_create_user_refuses_an_empty_name(runner):
    result = runner.invoke(args=["create-user", "--email", "sam@example.com", "--name", "   ",
                                 "--password", "password-1"])
    assert result.exit_code == 2
    assert "--name" in result.output
    assert count(Agent) == 0
